import type { HandlerDeps } from '../handler-deps';
import { actorOf, REF, sendCard } from '../handler-kit';
import type { CommandHandler } from '../mailroom-bot';
import { notFoundReply } from '../request-cards';

/** `audit R-12`: the request's audit trail, and whether the whole chain verifies. */
export function auditCommand({ useCases, cards }: Pick<HandlerDeps, 'useCases' | 'cards'>): CommandHandler {
  return {
    name: 'audit',
    usage: 'audit R-12',
    description: "Shows a request's audit trail.",
    roles: 'anyone',
    pattern: new RegExp(`^audit\\s+${REF}$`, 'i'),
    async handle(ctx, turn, m) {
      const reference = m[1] ?? '';
      const trail = await useCases.audit.trail(actorOf(turn), reference);
      if (!trail) return void (await ctx.sendActivity(notFoundReply(cards, reference)));
      const { chain } = trail;
      await sendCard(
        ctx,
        cards.render('audit-trail', {
          reference: trail.reference,
          chainText: chain.ok ? `The audit chain verifies (${chain.count} events in all).` : `The audit chain is BROKEN at event ${chain.brokenAtSeq}: ${chain.reason}`,
          events: trail.events,
        }),
      );
    },
  };
}
