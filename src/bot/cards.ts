import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Template } from 'adaptivecards-templating';
import { Attachment, CardFactory } from 'botbuilder';

/** Card templates live in `cards/<name>.json`; data is bound with adaptivecards-templating. */
export type CardName = 'welcome' | 'help' | 'notice' | 'request-form' | 'kind-picker' | 'request-approval' | 'request-status' | 'request-rollback' | 'request-list' | 'audit-trail';

export interface NoticeData {
  title: string;
  text: string;
  tone?: 'info' | 'good' | 'warning' | 'error';
  facts?: { title: string; value: string }[];
}

export class CardRenderer {
  private readonly cache = new Map<CardName, Template>();

  constructor(private readonly cardsDir: string) {}

  private template(name: CardName): Template {
    let t = this.cache.get(name);
    if (!t) {
      const json = JSON.parse(readFileSync(path.join(this.cardsDir, `${name}.json`), 'utf8')) as object;
      t = new Template(json);
      this.cache.set(name, t);
    }
    return t;
  }

  /** Expands a template to card JSON. */
  render(name: CardName, data: object): Record<string, unknown> {
    return this.template(name).expand({ $root: data }) as Record<string, unknown>;
  }

  attachment(name: CardName, data: object): Attachment {
    return CardFactory.adaptiveCard(this.render(name, data));
  }

  notice(data: NoticeData): Attachment {
    return this.attachment('notice', { tone: 'info', facts: [], ...data });
  }
}
