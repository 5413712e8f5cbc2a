import type { HandlerDeps } from '../handler-deps';
import { actorOf, str } from '../handler-kit';
import type { GatedCardAction } from '../mailroom-bot';
import type { Role } from '../roles';
import { refusalCard, statusCard } from '../request-cards';

/**
 * Retry or Cancel on a status card: checked against the version the card showed; answers with the card updated, or
 * (for a request the actor may not see) with the neutral notice.
 */
export function runControlAction(
  { useCases, cards }: Pick<HandlerDeps, 'useCases' | 'cards'>,
  verb: string,
  action: 'retry' | 'cancel',
  refusedTitle: string,
  roles: readonly Role[],
): GatedCardAction {
  return {
    verb,
    name: action,
    roles,
    async handle(_ctx, turn, data) {
      const res = await useCases.runControl[action](actorOf(turn), str(data.reference).slice(0, 40), Number(data.version));
      return res.ok ? statusCard(cards, res.view) : refusalCard(cards, res, refusedTitle);
    },
  };
}
