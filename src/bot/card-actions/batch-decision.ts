import { batchApprovalCard } from '../batch-cards';
import type { HandlerDeps } from '../handler-deps';
import { actorOf, str } from '../handler-kit';
import type { GatedCardAction } from '../mailroom-bot';
import { noticeCard } from '../request-cards';

/**
 * Approve or Reject on a batch's approval card (`batch.approve`, `batch.reject` with the reason typed on it), for
 * approvers and admins like the `approve B-n` and `reject B-n` commands. Every row is decided through the same checks
 * as a single decision (who may decide, a reason to reject). Answers with the card as it stands: who decided, or why
 * nothing was. A batch the actor may not see gets the neutral notice.
 */
export function batchDecisionAction({ useCases, cards }: Pick<HandlerDeps, 'useCases' | 'cards'>, outcome: 'approve' | 'reject'): GatedCardAction {
  return {
    verb: outcome === 'approve' ? 'batch.approve' : 'batch.reject',
    name: outcome,
    roles: ['approver', 'admin'],
    async handle(_ctx, turn, data) {
      const reason = outcome === 'reject' ? str(data.reason).slice(0, 1000) : undefined;
      const res = await useCases.batches.decide(actorOf(turn), str(data.reference).slice(0, 20), outcome, reason);
      if (res.approval) return batchApprovalCard(cards, res.approval, res.ok ? '' : res.message);
      return noticeCard(cards, 'Nothing was changed', res.message, 'warning');
    },
  };
}
