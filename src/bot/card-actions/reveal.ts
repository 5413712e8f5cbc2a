import type { HandlerDeps } from '../handler-deps';
import { actorOf, str } from '../handler-kit';
import type { CardActionHandler } from '../mailroom-bot';
import { noticeCard, notFoundCard, statusCard } from '../request-cards';
import { cardTime } from '../../workflow/password-reveal';

/** The data of the refresh action on a card that showed a password: asks for the card after the reveal. */
const AFTER_REVEAL = 'after-reveal';

/**
 * `request.reveal` (Reveal password): the generated password of the account Mailroom created, once, to the requester.
 *
 * The password travels only in the answer to the requester's own click, which Teams shows to that person's client
 * alone (the message everyone sees is not changed and never holds it). That card carries a `refresh` for the
 * requester only (`userIds`): when Teams re-fetches it (the chat reopened, another device), Mailroom answers with the
 * card after the reveal, never the password again. After a short time (PASSWORD_SHOWN_FOR_MS) the workflow updates
 * the message itself (`updateActivity`, from a durable timer) to say when and by whom the password was revealed, so
 * every client, the requester's included, stops showing it.
 */
export function revealAction({ useCases, cards }: Pick<HandlerDeps, 'useCases' | 'cards'>): CardActionHandler {
  return {
    verb: 'request.reveal',
    async handle(ctx, turn, data) {
      const reference = str(data.reference).slice(0, 40);
      const actor = actorOf(turn);
      if (data.view === AFTER_REVEAL) {
        const view = await useCases.passwords.afterReveal(actor, reference);
        if (!view) return notFoundCard(cards, reference);
        return statusCard(cards, view, 'The password was revealed to the requester; it is not shown again.', { canReveal: false });
      }
      const conversationId = ctx.activity.conversation?.id;
      const activityId = ctx.activity.replyToId;
      const res = await useCases.passwords.reveal(actor, reference, conversationId && activityId ? { conversationId, activityId } : undefined);
      if (!res.ok) return noticeCard(cards, res.title ?? 'Not allowed', res.message, 'warning');
      if (!res.secret) return statusCard(cards, res.view, 'The password was revealed already (it is shown once) or none was generated. An admin can reset it in Active Directory.');
      const until = res.shownUntil ? ` until ${cardTime(res.shownUntil)}` : '';
      const card = statusCard(cards, res.view, `Only you see this password, and only${until}: copy it now. Nobody else in this chat sees it, and it is not shown again.`, {
        secret: `Initial password (shown once; the user must change it at first sign-in): ${res.secret}`,
      });
      const requesterMri = ctx.activity.from?.id;
      return {
        ...card,
        // Teams asks for this card again only for the requester; the answer never holds the password.
        ...(requesterMri ? { refresh: { action: { type: 'Action.Execute', title: 'Refresh', verb: 'request.reveal', data: { reference: res.view.reference, view: AFTER_REVEAL } }, userIds: [requesterMri] } } : {}),
      };
    },
  };
}
