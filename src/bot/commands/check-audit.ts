import type { HandlerDeps } from '../handler-deps';
import type { CommandHandler } from '../mailroom-bot';
import { noticeReply } from '../request-cards';

/** `check audit` (admins): verifies every hash and link of the audit log. */
export function checkAuditCommand({ useCases, cards }: Pick<HandlerDeps, 'useCases' | 'cards'>): CommandHandler {
  return {
    name: 'check audit',
    usage: 'check audit',
    description: 'Verifies the hash chain of the audit log.',
    roles: ['admin'],
    pattern: /^(check|verify) audit( log)?$/i,
    async handle(ctx) {
      const check = await useCases.audit.verify();
      await ctx.sendActivity(
        check.ok
          ? noticeReply(cards, 'Audit chain verified', `${check.count} events; every hash and link checks out. Last hash: ${check.lastHash}`, 'good')
          : noticeReply(cards, 'Audit chain broken', `The chain breaks at event ${check.brokenAtSeq}: ${check.reason}`, 'error'),
      );
    },
  };
}
