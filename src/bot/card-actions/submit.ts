import { COMMAND_FIELD, isKindId, KINDS } from '../../requests';
import type { HandlerDeps } from '../handler-deps';
import { actorOf, str } from '../handler-kit';
import type { GatedCardAction } from '../mailroom-bot';
import { formCard, noticeCard, statusCard } from '../request-cards';

/**
 * `request.submit` (the form's Submit): files the request and turns the form into its status card, or shows the
 * form again with the problems. Only the kind's own fields are taken from the card data.
 */
export function submitAction({ useCases, cards }: Pick<HandlerDeps, 'useCases' | 'cards'>): GatedCardAction {
  return {
    verb: 'request.submit',
    name: 'new request',
    roles: ['requester'],
    async handle(ctx, turn, data) {
      const kind = str(data.kind);
      if (!isKindId(kind)) return noticeCard(cards, 'Unknown request kind', 'This card is out of date. Nothing was requested.', 'warning');
      const values: Record<string, unknown> = {};
      for (const f of KINDS[kind].fields) if (data[f.id] !== undefined) values[f.id] = data[f.id];
      const actor = actorOf(turn);
      if (!turn.roles.includes('requester')) {
        await useCases.intake.refused(actor, kind, 'not a requester');
        return formCard(cards, kind, values, [{ field: COMMAND_FIELD, message: 'Making requests needs the requester role; ask your Mailroom admin.' }]);
      }
      const result = await useCases.intake.submit(actor, kind, values, 'form');
      if (!result.ok) return formCard(cards, kind, values, result.refused ? [{ field: COMMAND_FIELD, message: result.refused }] : result.errors);
      const activityId = ctx.activity.replyToId;
      if (activityId) {
        await useCases.views.trackCard(result.reference, { audience: 'requester', aadObjectId: turn.actor.aadObjectId, conversationId: ctx.activity.conversation.id, activityId });
      }
      return statusCard(cards, result.view);
    },
  };
}
