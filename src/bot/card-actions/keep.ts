import type { HandlerDeps } from '../handler-deps';
import { actorOf, str } from '../handler-kit';
import type { GatedCardAction } from '../mailroom-bot';
import { notFoundCard, statusCard } from '../request-cards';

/** `request.keep` ("Keep" on the roll-back confirmation): back to the status card, nothing changed. */
export function keepAction({ useCases, cards }: Pick<HandlerDeps, 'useCases' | 'cards'>): GatedCardAction {
  return {
    verb: 'request.keep',
    name: 'keep',
    // Like the `status` command: whoever may see the request, checked per request.
    roles: 'anyone',
    async handle(_ctx, turn, data) {
      const reference = str(data.reference).slice(0, 40);
      const view = await useCases.views.find(actorOf(turn), reference);
      if (!view) return notFoundCard(cards, reference);
      return statusCard(cards, view, 'Kept as it is: nothing was rolled back.');
    },
  };
}
