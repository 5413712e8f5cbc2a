import type { HandlerDeps } from '../handler-deps';
import { actorOf, str } from '../handler-kit';
import type { CardActionHandler } from '../mailroom-bot';
import { noticeCard, statusCard } from '../request-cards';

/** `request.keep` ("Keep" on the roll-back confirmation): back to the status card, nothing changed. */
export function keepAction({ useCases, cards }: Pick<HandlerDeps, 'useCases' | 'cards'>): CardActionHandler {
  return {
    verb: 'request.keep',
    async handle(_ctx, turn, data) {
      const reference = str(data.reference).slice(0, 40);
      const view = await useCases.views.find(actorOf(turn), reference);
      if (!view) return noticeCard(cards, 'Nothing was changed', `There is no request ${reference} that you may see.`, 'info');
      return statusCard(cards, view, 'Kept as it is: nothing was rolled back.');
    },
  };
}
