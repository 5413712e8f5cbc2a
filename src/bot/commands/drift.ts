import type { HandlerDeps } from '../handler-deps';
import { sendCard } from '../handler-kit';
import type { CommandHandler } from '../mailroom-bot';
import { notAvailableReply } from '../request-cards';

/** `drift report` (admins): cloud-managed mailboxes whose Exchange attributes differ between AD and Exchange Online. */
export function driftCommand({ useCases, cards }: Pick<HandlerDeps, 'useCases' | 'cards'>): CommandHandler {
  return {
    name: 'drift report',
    usage: 'drift report',
    description: 'Lists cloud-managed mailboxes whose Exchange attributes differ between AD and Exchange Online.',
    roles: ['admin'],
    group: 'Audit & admin',
    pattern: /^drift( report)?$/i,
    async handle(ctx, turn) {
      if (!useCases.cloudManaged) return void (await ctx.sendActivity(notAvailableReply(cards)));
      const { checked, items } = await useCases.cloudManaged.drift({ aadObjectId: turn.actor.aadObjectId, name: turn.actor.name });
      await sendCard(
        ctx,
        cards.render('notice', {
          title: 'Drift report',
          text: items.length ? `${items.length} of ${checked} cloud-managed mailboxes differ between AD and Exchange Online.` : `All ${checked} cloud-managed mailboxes agree between AD and Exchange Online.`,
          tone: items.length ? 'warning' : 'good',
          facts: items.slice(0, 40).map((i) => ({ title: i.address, value: i.differences.join('; ') })),
        }),
      );
    },
  };
}
