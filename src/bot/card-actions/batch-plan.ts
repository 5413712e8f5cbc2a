import { batchPlanCard } from '../batch-cards';
import type { HandlerDeps } from '../handler-deps';
import { actorOf, sendCard, str } from '../handler-kit';
import type { GatedCardAction } from '../mailroom-bot';
import { noticeCard } from '../request-cards';

/**
 * `batch.plan` (Plan per row on a batch's preview card; Next rows on a plan card), like the `plan` command: one page
 * of each valid row's steps. From the preview it comes as a new message (the preview keeps its buttons); Next rows
 * replaces the page it was pressed on.
 */
export function batchPlanAction({ useCases, cards }: Pick<HandlerDeps, 'useCases' | 'cards'>): GatedCardAction {
  return {
    verb: 'batch.plan',
    name: 'plan of a batch',
    roles: ['requester', 'approver', 'admin'],
    async handle(ctx, turn, data) {
      const from = Number(str(data.from) || '0');
      const res = await useCases.batches.plan(actorOf(turn), str(data.reference).slice(0, 20), Number.isSafeInteger(from) && from >= 0 ? from : 0);
      const card = res.ok ? batchPlanCard(cards, res.plan) : noticeCard(cards, 'No such batch', res.message, 'warning');
      if (data.replace === true || data.replace === 'true') return card;
      await sendCard(ctx, card);
      return undefined;
    },
  };
}
