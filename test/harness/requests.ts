/**
 * Helpers for tests that make and decide requests over HTTP, as Teams would: the people of the sandbox as the
 * Bot Connector stand-in sees them, a chat with one of them, and readers for the cards Mailroom sends
 * (buttons, form inputs with their values and errors, the data a form submits).
 */
import assert from 'node:assert/strict';
import { SANDBOX_PEOPLE, SANDBOX_TENANT_ID } from '../../src/sandbox/people';
import type { DecisionRecord, RequestRecord, Store } from '../../src/store';
import { unescaped, visibleText, type Connector, type Person, type RecordedCall, TeamsClient } from './connector';

export type Card = Record<string, unknown>;

const personOf = (p: { aadObjectId: string; name: string; key: string }): Person => ({ id: p.key, aadObjectId: p.aadObjectId, name: p.name });
export const RITA = personOf(SANDBOX_PEOPLE.requester);
export const ARNOLD = personOf(SANDBOX_PEOPLE.approver);
export const ADA = personOf(SANDBOX_PEOPLE.admin);

/** The personal conversation of a person with Mailroom, as the connector stand-in names it. */
export const personalConversation = (p: Person): string => `a:personal-${p.id}`;

/** The first Adaptive Card of a recorded activity ({} when it has none). */
export function cardOf(call: RecordedCall): Card {
  const a = (call.body.attachments as { content: Card }[] | undefined)?.[0];
  return a?.content ?? {};
}

/** What a person sees of a card: every TextBlock, fact and button title. */
export const cardText = (card: unknown): string => visibleText({ attachments: [{ content: card }] });

/** The card of an Action.Execute invoke response (asserting that it is one). */
export function invokeCard(res: { status: number; body: unknown }): Card {
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const body = res.body as { statusCode: number; type: string; value: Card };
  assert.equal(body.type, 'application/vnd.microsoft.card.adaptive', JSON.stringify(body));
  return body.value;
}

/** A card property as text: strings and numbers only, anything else is ''. */
const textOf = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '');

export interface CardAction {
  readonly title: string;
  readonly verb: string;
  readonly data: Record<string, unknown>;
}

/** Every Action.Execute of a card, in order (body ActionSets and the card's actions). */
export function actionsOf(card: unknown): CardAction[] {
  const out: CardAction[] = [];
  const walk = (n: unknown): void => {
    if (!n || typeof n !== 'object') return;
    if (Array.isArray(n)) return n.forEach(walk);
    const o = n as Record<string, unknown>;
    if (o.type === 'Action.Execute') out.push({ title: textOf(o.title), verb: textOf(o.verb), data: (o.data ?? {}) as Record<string, unknown> });
    Object.values(o).forEach(walk);
  };
  walk(card);
  return out;
}

/** The Action.Execute data of the first button with this title, or undefined. */
export function buttonData(card: unknown, title: string): Record<string, unknown> | undefined {
  return actionsOf(card).find((a) => a.title === title)?.data;
}

export interface FormInput {
  readonly id: string;
  /** Input.Text, Input.Number, Input.ChoiceSet, Input.Toggle … */
  readonly type: string;
  /** The value the card shows (what the client submits when the person changes nothing). */
  readonly value: string;
  /** The error shown beside the input (a red TextBlock next to it) as it reads, '' when none. */
  readonly error: string;
}

const isInput = (o: Record<string, unknown>): boolean => typeof o.type === 'string' && o.type.startsWith('Input.') && typeof o.id === 'string';

/**
 * The inputs of a card by id, each with the error text shown beside it: an input and the TextBlocks with
 * colour Attention in the same container belong together.
 */
export function formInputs(card: unknown): Map<string, FormInput> {
  const out = new Map<string, FormInput>();
  const walkItems = (items: unknown[]): void => {
    const inputs = items.filter((i): i is Record<string, unknown> => !!i && typeof i === 'object' && isInput(i as Record<string, unknown>));
    const errors = items
      .filter((i): i is Record<string, unknown> => !!i && typeof i === 'object' && (i as Record<string, unknown>).type === 'TextBlock' && (i as Record<string, unknown>).color === 'Attention')
      .map((t) => unescaped(textOf(t.text)));
    for (const i of inputs) {
      const id = textOf(i.id);
      assert.ok(!out.has(id), `the card has two inputs with the id ${id}`);
      out.set(id, { id, type: textOf(i.type), value: textOf(i.value), error: inputs.length === 1 ? errors.join(' ') : '' });
    }
  };
  const walk = (n: unknown): void => {
    if (!n || typeof n !== 'object') return;
    if (Array.isArray(n)) {
      walkItems(n);
      return n.forEach(walk);
    }
    Object.values(n as Record<string, unknown>).forEach(walk);
  };
  walk(card);
  return out;
}

/**
 * The data Teams sends when the person fills in `typed` and presses the button: the action's own data plus
 * every input's value (as text), the shown value where the person typed nothing.
 */
export function formSubmission(card: Card, typed: Readonly<Record<string, string>>, button = 'Submit request'): Record<string, unknown> {
  const inputs = formInputs(card);
  for (const id of Object.keys(typed)) assert.ok(inputs.has(id), `the form has no input ${id}; it has ${[...inputs.keys()].join(', ')}`);
  const action = actionsOf(card).find((a) => a.title === button);
  assert.ok(action, `the form has no "${button}" button`);
  const values: Record<string, unknown> = {};
  for (const input of inputs.values()) values[input.id] = typed[input.id] ?? input.value;
  return { ...values, ...action.data };
}

/** One person's personal chat with Mailroom. */
export class Chat {
  readonly client: TeamsClient;
  readonly conversationId: string;

  constructor(
    botUrl: string,
    private readonly connector: Connector,
    readonly person: Person,
    tenantId = SANDBOX_TENANT_ID,
  ) {
    this.client = new TeamsClient(botUrl, connector.serviceUrl, person, tenantId);
    this.conversationId = personalConversation(person);
  }

  /** Types a message; resolves with what Mailroom posted into this chat during the turn. */
  async say(text: string): Promise<RecordedCall[]> {
    const since = this.connector.calls.length;
    const res = await this.client.say(text);
    assert.ok(res.status >= 200 && res.status < 300, `the message was refused: ${res.status} ${JSON.stringify(res.body)}`);
    return this.connector.calls.slice(since).filter((c) => c.method === 'POST' && c.conversationId === this.conversationId);
  }

  /** Types a message and returns the one card Mailroom answered with whose text matches. */
  async sayForCard(text: string, match: RegExp): Promise<Card> {
    const posted = await this.say(text);
    const hit = posted.find((c) => match.test(visibleText(c.body)));
    assert.ok(hit, `"${text}" got no card matching ${String(match)}; it got:\n${posted.map((c) => visibleText(c.body)).join('\n---\n') || 'nothing'}`);
    return cardOf(hit);
  }

  /**
   * Presses an Action.Execute button; `replyToId` is the id of the message that holds the card (Teams sets
   * it on the invoke). Resolves with the card of the invoke response.
   */
  async press(verb: string, data: Record<string, unknown>, replyToId?: string): Promise<Card> {
    const res = await this.client.post({
      type: 'invoke',
      name: 'adaptiveCard/action',
      ...(replyToId ? { replyToId } : {}),
      value: { action: { type: 'Action.Execute', verb, data }, trigger: 'manual' },
    });
    return invokeCard(res);
  }

  /** Waits for a call into this chat (from `since` on) that matches. */
  waitFor(pred: (c: RecordedCall) => boolean, since: number, timeoutMs = 10_000): Promise<RecordedCall> {
    return this.connector.waitFor((c) => c.conversationId === this.conversationId && pred(c), timeoutMs, since);
  }
}

/** Escapes a text for use inside a RegExp. */
export const reEscape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A request as stored, with its decisions (undefined when there is none). */
export async function storedRequest(store: Store, reference: string): Promise<{ record: RequestRecord; decisions: DecisionRecord[] } | undefined> {
  const record = await store.requests.get(reference);
  return record ? { record, decisions: await store.decisions.list(record.id) } : undefined;
}
