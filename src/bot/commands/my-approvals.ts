import type { HandlerDeps } from '../handler-deps';
import { actorOf, sendCard } from '../handler-kit';
import type { CommandHandler } from '../mailroom-bot';
import { approvalCard } from '../request-cards';

/** How many of the waiting requests also get their approval card (the list shows them all). */
const CARDS_AT_MOST = 5;

/** `my approvals`: what waits for the actor's decision, as a list and the first few approval cards. */
export function myApprovalsCommand({ useCases, cards }: Pick<HandlerDeps, 'useCases' | 'cards'>): CommandHandler {
  return {
    name: 'my approvals',
    usage: 'my approvals',
    description: 'Lists the requests that wait for your decision.',
    roles: ['approver', 'admin'],
    group: 'Decide',
    pattern: /^my approvals?$/i,
    async handle(ctx, turn) {
      const items = await useCases.approvals.listAwaiting(actorOf(turn));
      await sendCard(ctx, cards.render('request-list', { title: 'Waiting for your decision', empty: 'Nothing waits for your decision.', items }));
      for (const v of items.slice(0, CARDS_AT_MOST)) await sendCard(ctx, approvalCard(cards, v));
    },
  };
}
