import type { HandlerDeps } from '../handler-deps';
import { actorOf, str } from '../handler-kit';
import type { GatedCardAction } from '../mailroom-bot';
import { approvalCard, noticeCard } from '../request-cards';

/**
 * Approve or Reject on an approval card, for approvers and admins (like the `approve` and `reject` commands): decides
 * on the version the card showed; answers with the card updated. A request the actor may not see gets the neutral
 * notice (no card of it). In a personal chat the answer is the card's update (Teams shows it in the card's place, and
 * nobody else sees that chat), so the decision does not update that card a second time; in a group chat or channel
 * the others see the card too, and it is updated for them as every other copy.
 */
export function decisionAction({ useCases, cards }: Pick<HandlerDeps, 'useCases' | 'cards'>, verb: string, outcome: 'approve' | 'reject'): GatedCardAction {
  return {
    verb,
    name: outcome,
    roles: ['approver', 'admin'],
    async handle(ctx, turn, data) {
      const reason = typeof data.reason === 'string' ? data.reason : undefined;
      const conversation = ctx.activity.conversation;
      const activityId = ctx.activity.replyToId;
      const answered = conversation?.conversationType === 'personal' && conversation.id && activityId ? { conversationId: conversation.id, activityId } : undefined;
      const res = await useCases.approvals.decide(actorOf(turn), str(data.reference).slice(0, 40), Number(data.version), outcome, reason, answered ? { answered } : {});
      if (res.ok) return approvalCard(cards, res.view);
      if (res.view) return approvalCard(cards, res.view, res.message);
      return noticeCard(cards, 'Nothing was changed', res.message, 'warning');
    },
  };
}
