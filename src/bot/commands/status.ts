import type { HandlerDeps } from '../handler-deps';
import { actorOf, REF, sendCard } from '../handler-kit';
import type { CommandHandler } from '../mailroom-bot';
import { notFoundReply, statusCard } from '../request-cards';

/** `status R-12`: the request's status card, for whoever may see it. */
export function statusCommand({ useCases, cards }: Pick<HandlerDeps, 'useCases' | 'cards'>): CommandHandler {
  return {
    name: 'status',
    usage: 'status R-12',
    description: 'Shows a request, its plan and where it stands.',
    roles: 'anyone',
    group: 'Look up',
    pattern: new RegExp(`^status\\s+${REF}$`, 'i'),
    async handle(ctx, turn, m) {
      const reference = m[1] ?? '';
      const view = await useCases.views.find(actorOf(turn), reference);
      if (!view) return void (await ctx.sendActivity(notFoundReply(cards, reference)));
      await sendCard(ctx, statusCard(cards, view));
    },
  };
}
