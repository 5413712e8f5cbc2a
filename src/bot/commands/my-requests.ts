import type { HandlerDeps } from '../handler-deps';
import { actorOf, sendCard } from '../handler-kit';
import type { CommandHandler } from '../mailroom-bot';
import { md } from '../markdown';

/** `my requests`: the requester's own requests, newest first. */
export function myRequestsCommand({ useCases, cards }: Pick<HandlerDeps, 'useCases' | 'cards'>): CommandHandler {
  return {
    name: 'my requests',
    usage: 'my requests',
    description: 'Lists your requests, newest first.',
    roles: ['requester'],
    group: 'Look up',
    pattern: /^my requests?$/i,
    async handle(ctx, turn) {
      const items = await useCases.views.listMine(actorOf(turn));
      await sendCard(ctx, cards.render('request-list', { title: 'Your requests', empty: md`You have made no requests yet. Type **new** to make one.`, items }));
    },
  };
}
