import type { HandlerDeps } from '../handler-deps';
import { actorOf, str } from '../handler-kit';
import type { CardActionHandler } from '../mailroom-bot';
import { approvalCard, noticeCard } from '../request-cards';

/** Approve or Reject on an approval card: decides on the version the card showed; answers with the card updated. */
export function decisionAction({ useCases, cards }: Pick<HandlerDeps, 'useCases' | 'cards'>, verb: string, outcome: 'approve' | 'reject'): CardActionHandler {
  return {
    verb,
    async handle(_ctx, turn, data) {
      const reason = typeof data.reason === 'string' ? data.reason : undefined;
      const res = await useCases.approvals.decide(actorOf(turn), str(data.reference).slice(0, 40), Number(data.version), outcome, reason);
      if (res.ok) return approvalCard(cards, res.view);
      if (res.view) return approvalCard(cards, res.view, res.message);
      return noticeCard(cards, 'Nothing was changed', res.message, 'warning');
    },
  };
}
