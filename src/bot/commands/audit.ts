import type { HandlerDeps } from '../handler-deps';
import { actorOf, REF, sendCard } from '../handler-kit';
import type { CommandHandler } from '../mailroom-bot';
import { notFoundReply } from '../request-cards';

/**
 * `audit R-12`: the request's audit trail, checked from the request's own events (each HMAC, and each event's link
 * to the request's previous one). It reads nothing else of the log and says nothing of its size: events are
 * numbered within the trail.
 */
export function auditCommand({ useCases, cards }: Pick<HandlerDeps, 'useCases' | 'cards'>): CommandHandler {
  return {
    name: 'audit',
    usage: 'audit R-12',
    description: "Shows a request's audit trail.",
    roles: 'anyone',
    group: 'Audit & admin',
    pattern: new RegExp(`^audit\\s+${REF}$`, 'i'),
    async handle(ctx, turn, m) {
      const reference = m[1] ?? '';
      const trail = await useCases.audit.trail(actorOf(turn), reference);
      if (!trail) return void (await ctx.sendActivity(notFoundReply(cards, reference)));
      const { chain } = trail;
      const chainText = chain.ok
        ? `This trail verifies: ${chain.events} event${chain.events === 1 ? '' : 's'}, ${
            chain.legacy === 0 ? 'each authenticated with the audit key and linked to the one before' : `${chain.keyed} authenticated with the audit key, ${chain.legacy} from before the log was keyed (checked as unkeyed SHA-256)`
          }.`
        : `This trail is BROKEN at its event ${chain.brokenAt}: ${chain.reason}.`;
      await sendCard(ctx, cards.render('audit-trail', { reference: trail.reference, chainText, events: trail.events }));
    },
  };
}
