import type { HandlerDeps } from '../handler-deps';
import type { CommandHandler } from '../mailroom-bot';
import { noticeReply } from '../request-cards';

/**
 * `check audit` (admins): verifies every hash (HMAC with the audit key) and link of the audit log. `check audit <n>
 * <hash>` also checks that event n still has the hash a daily head report published for it: a log rewritten by
 * someone with database access but without the key does not.
 */
export function checkAuditCommand({ useCases, cards }: Pick<HandlerDeps, 'useCases' | 'cards'>): CommandHandler {
  return {
    name: 'check audit',
    usage: 'check audit [<event> <hash>]',
    description: 'Verifies the audit log (and, given one, a published head).',
    roles: ['admin'],
    group: 'Audit & admin',
    pattern: /^(?:check|verify) audit(?: log)?(?:\s+(\d{1,12})\s+([0-9a-fA-F]{64}))?$/i,
    async handle(ctx, _turn, m) {
      const expect = m[1] !== undefined && m[2] !== undefined ? { seq: Number(m[1]), hash: m[2].toLowerCase() } : undefined;
      if (expect !== undefined && expect.seq < 1) {
        return void (await ctx.sendActivity(noticeReply(cards, 'Nothing checked', 'The event number must be 1 or more, as the head report gave it. Nothing was checked.', 'warning')));
      }
      const check = await useCases.audit.verify(expect);
      const keyed = check.ok && check.keyed === false ? ' The log is not keyed: no audit key is configured, so anyone with database access could rewrite it.' : '';
      const legacy = check.ok && (check.legacyEvents ?? 0) > 0 ? ` The first ${check.legacyEvents} events are from before the log was keyed (unkeyed SHA-256, sealed by the re-anchor event after them).` : '';
      const published = expect !== undefined && check.ok ? ` Event ${expect.seq} still has the published hash.` : '';
      await ctx.sendActivity(
        check.ok
          ? noticeReply(cards, 'Audit chain verified', `${check.count} events; every hash and link checks out.${published}${legacy}${keyed} Last hash: ${check.lastHash}`, check.keyed === false ? 'warning' : 'good')
          : noticeReply(cards, 'Audit chain broken', `The chain breaks at event ${check.brokenAtSeq}: ${check.reason}`, 'error'),
      );
    },
  };
}
