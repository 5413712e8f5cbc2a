import type { HandlerDeps } from '../handler-deps';
import { sendCard } from '../handler-kit';
import type { CommandHandler } from '../mailroom-bot';
import { notAvailableReply, sweepCard } from '../request-cards';

/** `sweep cloud-managed` (admins): makes every dir-synced mailbox cloud-managed now, and reports. */
export function sweepCommand({ useCases, cards }: Pick<HandlerDeps, 'useCases' | 'cards'>): CommandHandler {
  return {
    name: 'sweep cloud-managed',
    usage: 'sweep cloud-managed',
    description: 'Makes every dir-synced mailbox that is not yet cloud-managed cloud-managed, and reports.',
    roles: ['admin'],
    group: 'Audit & admin',
    pattern: /^sweep( cloud-?managed)?$/i,
    async handle(ctx, turn) {
      if (!useCases.cloudManaged) return void (await ctx.sendActivity(notAvailableReply(cards)));
      const report = await useCases.cloudManaged.sweep({ aadObjectId: turn.actor.aadObjectId, name: turn.actor.name });
      await sendCard(ctx, sweepCard(cards, report));
    },
  };
}
