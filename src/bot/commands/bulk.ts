import { CardFactory } from 'botbuilder';
import { bulkKindOf, bulkTemplate, BULK_MAX_ROWS, KIND_IDS } from '../../requests';
import { batchPreviewCard, PREVIEW_INVALID_LISTED as LISTED } from '../batch-cards';
import type { HandlerDeps } from '../handler-deps';
import { actorOf } from '../handler-kit';
import type { CommandHandler } from '../mailroom-bot';
import { bulkRequestText } from '../csv-attachment';
import { noticeReply } from '../request-cards';

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", apos: "'", nbsp: ' ' };

/**
 * The lines of a pasted message: Teams sends what people paste as plain text lines or as HTML paragraphs and line
 * breaks, depending on the client; both become the same lines here.
 */
export function pastedLines(text: string): string {
  if (!/<(?:p|br|div)\b/i.test(text)) return text;
  return text
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<\/(?:p|div)>/gi, '\n')
    .replace(/<[^>]*>/g, '')
    .replace(/&(amp|lt|gt|quot|#39|apos|nbsp);/g, (_m, e: string) => ENTITIES[e] ?? '');
}

/**
 * `bulk <kind>` followed by CSV lines (header first, the one-liners' keys): the preview of a bulk request. Every row is
 * checked against AD and Exchange Online as a single request would be, with duplicates inside the file; the card
 * names each invalid row's line and reason, and sums up what the valid ones would make. Nothing is filed.
 */
export function bulkCommand({ useCases, cards, log }: Pick<HandlerDeps, 'useCases' | 'cards' | 'log'>): CommandHandler {
  return {
    name: 'bulk',
    usage: 'bulk new mailbox (then CSV lines, header first)',
    description: `Checks many requests of one kind at once, pasted as CSV under the first line or attached as a .csv file in this personal chat (at most ${BULK_MAX_ROWS} rows): each invalid row with its line and why; nothing is filed until you press File. "bulk template <kind>" gives the header and an example row.`,
    roles: ['requester', 'admin'],
    group: 'Request',
    pattern: /^bulk(?!\s+template\b)(?:[ \t]+[^\n]*)?(?:\r?\n[\s\S]*)?$/i,
    async handle(ctx, turn) {
      const input = await bulkRequestText(ctx, pastedLines(ctx.activity.text ?? ''), { cards, log }); // pasted lines, or an attached CSV file
      if (input === undefined) return;
      const res = await useCases.batches.preview(actorOf(turn), input.text, input.options);
      if (!res.ok) {
        const text = res.refused ?? res.errors.map((e) => (e.line !== undefined ? `Line ${e.line}: ${e.message}` : e.message)).join('\n');
        return void (await ctx.sendActivity(noticeReply(cards, 'Nothing was checked', text, 'warning')));
      }
      if (res.view && res.reference) {
        // the preview card, with its File and Plan per row buttons; kept so that filing updates it in place
        const sent = await ctx.sendActivity({ attachments: [CardFactory.adaptiveCard(batchPreviewCard(cards, res.view))] });
        if (sent?.id) await useCases.batches.trackPreview(actorOf(turn), res.reference, { aadObjectId: turn.actor.aadObjectId, conversationId: ctx.activity.conversation.id, activityId: sent.id });
        return;
      }
      const listed = res.invalid.slice(0, LISTED).map((r) => `Line ${r.line}: ${r.message}`);
      const more = res.invalid.length > LISTED ? [`… and ${res.invalid.length - LISTED} more invalid rows.`] : [];
      const text = [res.summary, ...(res.invalid.length ? ['', `Invalid rows (${res.invalid.length}):`, ...listed, ...more] : []), '', 'Nothing was filed.'].join('\n');
      await ctx.sendActivity({
        attachments: [
          cards.notice({
            title: `Bulk ${res.kindTitle}: ${res.valid} of ${res.rows} rows valid`,
            text,
            tone: res.invalid.length ? 'warning' : 'good',
            facts: [
              { title: 'Rows', value: String(res.rows) },
              { title: 'Valid', value: String(res.valid) },
              { title: 'Invalid', value: String(res.invalid.length) },
            ],
          }),
        ],
      });
    },
  };
}

/** `bulk template <kind>`: the CSV header (the one-liners' keys, required first) and one example row. */
export function bulkTemplateCommand({ cards }: Pick<HandlerDeps, 'cards'>): CommandHandler {
  return {
    name: 'bulk template',
    usage: 'bulk template new mailbox',
    description: 'The CSV header and an example row for a bulk request of one kind.',
    roles: ['requester', 'admin'],
    group: 'Request',
    pattern: /^bulk\s+template\s+(.+)$/i,
    async handle(ctx, _turn, m) {
      const found = bulkKindOf(m[1] ?? '');
      if (!found) return void (await ctx.sendActivity(noticeReply(cards, 'No such kind', `"${(m[1] ?? '').slice(0, 60)}" is not a request kind. Kinds: ${KIND_IDS.join(', ')}.`, 'warning')));
      await ctx.sendActivity({ type: 'message', textFormat: 'plain', text: `bulk ${m[1]?.trim() ?? found.kind}\n${bulkTemplate(found.kind)}` });
    },
  };
}
