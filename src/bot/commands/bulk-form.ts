import { BULK_MAX_BYTES, BULK_MAX_ROWS, KIND_IDS, KINDS } from '../../requests';
import { MAX_BODY_BYTES } from '../../server/http';
import type { HandlerDeps } from '../handler-deps';
import { sendCard } from '../handler-kit';
import type { CommandHandler } from '../mailroom-bot';

/**
 * The most characters the bulk form's CSV field takes. The pressed button's invoke carries the whole text and must fit
 * Mailroom's HTTP body limit (MAX_BODY_BYTES) with room for the activity around it; a character takes at most three
 * bytes there (UTF-8; JSON writes a line break or a quote in two). Never more than the bulk byte limit.
 */
export const BULK_FORM_MAX_CHARS = Math.min(BULK_MAX_BYTES, Math.floor((MAX_BODY_BYTES - 16 * 1024) / 3));

/** The bulk form: a kind (every kind that can be filed singly) and a multi-line field for the CSV; Check (`bulk.check`) previews. */
export function bulkFormCard(cards: HandlerDeps['cards']): Record<string, unknown> {
  const kinds = KIND_IDS.map((k) => ({ id: k, title: KINDS[k].title }));
  return cards.render('bulk-form', {
    kinds,
    maxLength: BULK_FORM_MAX_CHARS,
    placeholder: 'first,last,department\nAda,Lovelace,Research\nGrace,Hopper,Engineering',
    rows: BULK_MAX_ROWS.toLocaleString('en-US'),
    characters: BULK_FORM_MAX_CHARS.toLocaleString('en-US'),
  });
}

/** `bulk` alone: the bulk form (`bulk <kind>` with lines or an attached file is the `bulk` command). */
export function bulkFormCommand({ cards }: Pick<HandlerDeps, 'cards'>): CommandHandler {
  return {
    name: 'bulk form',
    usage: 'bulk',
    description: 'A form to paste the CSV lines of a bulk request in, with the kind to pick; Check previews them (nothing is filed).',
    roles: ['requester', 'admin'],
    group: 'Request',
    pattern: /^bulk$/i,
    async handle(ctx) {
      await sendCard(ctx, bulkFormCard(cards));
    },
  };
}
