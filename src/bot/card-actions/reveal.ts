import type { HandlerDeps } from '../handler-deps';
import { actorOf, str } from '../handler-kit';
import type { CardActionHandler } from '../mailroom-bot';
import { noticeCard, statusCard } from '../request-cards';

/** `request.reveal` (Reveal password): the generated password of the account Mailroom created, once, to the requester. */
export function revealAction({ useCases, cards }: Pick<HandlerDeps, 'useCases' | 'cards'>): CardActionHandler {
  return {
    verb: 'request.reveal',
    async handle(_ctx, turn, data) {
      const res = await useCases.passwords.reveal(actorOf(turn), str(data.reference));
      if (!res.ok) return noticeCard(cards, 'Not allowed', res.message, 'warning');
      if (!res.secret) return statusCard(cards, res.view, 'The password was revealed already (it is shown once) or none was generated. An admin can reset it in Active Directory.');
      return statusCard(cards, res.view, '', { secret: `Initial password (shown once; the user must change it at first sign-in): ${res.secret}` });
    },
  };
}
