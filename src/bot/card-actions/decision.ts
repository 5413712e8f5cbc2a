import type { HandlerDeps } from '../handler-deps';
import { actorOf, str } from '../handler-kit';
import type { GatedCardAction } from '../mailroom-bot';
import { approvalCard, noticeCard } from '../request-cards';

/**
 * Approve or Reject on an approval card, for approvers and admins (like the `approve` and `reject` commands): decides
 * on the version the card showed; answers with the card updated. A request the actor may not see gets the neutral
 * notice (no card of it).
 */
export function decisionAction({ useCases, cards }: Pick<HandlerDeps, 'useCases' | 'cards'>, verb: string, outcome: 'approve' | 'reject'): GatedCardAction {
  return {
    verb,
    name: outcome,
    roles: ['approver', 'admin'],
    async handle(_ctx, turn, data) {
      const reason = typeof data.reason === 'string' ? data.reason : undefined;
      const res = await useCases.approvals.decide(actorOf(turn), str(data.reference).slice(0, 40), Number(data.version), outcome, reason);
      if (res.ok) return approvalCard(cards, res.view);
      if (res.view) return approvalCard(cards, res.view, res.message);
      return noticeCard(cards, 'Nothing was changed', res.message, 'warning');
    },
  };
}
