import type { HandlerDeps } from '../handler-deps';
import { actorOf, str } from '../handler-kit';
import type { CardActionHandler } from '../mailroom-bot';
import { refusalCard, statusCard } from '../request-cards';

/** Retry or Cancel on a status card: checked against the version the card showed; answers with the card updated. */
export function runControlAction({ useCases, cards }: Pick<HandlerDeps, 'useCases' | 'cards'>, verb: string, action: 'retry' | 'cancel', refusedTitle: string): CardActionHandler {
  return {
    verb,
    async handle(_ctx, turn, data) {
      const res = await useCases.runControl[action](actorOf(turn), str(data.reference), Number(data.version));
      return res.ok ? statusCard(cards, res.view) : refusalCard(cards, res, refusedTitle);
    },
  };
}
