import { isKindId } from '../../requests';
import { bulkCommand } from '../commands/bulk';
import { BULK_FORM_TEXT } from '../csv-attachment';
import type { HandlerDeps } from '../handler-deps';
import { str } from '../handler-kit';
import type { GatedCardAction } from '../mailroom-bot';
import { noticeReply } from '../request-cards';

/**
 * `bulk.check` (the bulk form's Check): the form's kind and CSV lines go through the `bulk` command exactly as if
 * `bulk <kind>` and the lines had been typed (the same use case, the same preview), posted as a new message; the form
 * stays, to fix a line and check again.
 */
export function bulkCheckAction(deps: Pick<HandlerDeps, 'useCases' | 'cards' | 'log'>): GatedCardAction {
  const command = bulkCommand(deps);
  return {
    verb: 'bulk.check',
    name: 'bulk',
    roles: command.roles,
    async handle(ctx, turn, data) {
      const kind = str(data.kind).trim();
      const csv = str(data.csv);
      const problem = !kind
        ? 'Pick the kind of the requests in the form.'
        : !isKindId(kind)
          ? 'The kind the form sent is not a request kind; type "bulk" for a new form.'
          : !csv.trim()
            ? 'Paste the CSV lines, header first, in the form.'
            : undefined;
      const match = command.pattern.exec(`bulk ${kind}`);
      if (problem || !match) {
        await ctx.sendActivity(noticeReply(deps.cards, 'Nothing was checked', `${problem ?? 'The form could not be read.'} Nothing was checked or filed.`, 'warning'));
        return undefined;
      }
      ctx.turnState.set(BULK_FORM_TEXT, `bulk ${kind}\n${csv}`);
      await command.handle(ctx, turn, match);
      return undefined;
    },
  };
}
