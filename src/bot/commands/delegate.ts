import type { HandlerDeps } from '../handler-deps';
import { actorOf } from '../handler-kit';
import type { CommandHandler } from '../mailroom-bot';
import { noticeReply } from '../request-cards';

/**
 * `delegate approvals to grace@contoso.com until 2026-12-31` (out of office): until then the delegate gets the
 * approver's cards and may decide for them; `delegate approvals off` ends it.
 */
export function delegateCommand({ useCases, cards }: Pick<HandlerDeps, 'useCases' | 'cards'>): CommandHandler {
  return {
    name: 'delegate approvals',
    usage: 'delegate approvals to grace@contoso.com until 2026-12-31',
    description: 'While you are away, someone else gets your approval cards and decides for you (each decision names you both); "delegate approvals off" ends it.',
    roles: ['approver', 'admin'],
    group: 'Decide',
    pattern: /^delegate\s+approvals\s+(?:(off|stop|end)|to\s+(\S+)\s+until\s+(.+))$/i,
    async handle(ctx, turn, m) {
      const res = m[1] ? await useCases.approvals.undelegate(actorOf(turn)) : await useCases.approvals.delegate(actorOf(turn), m[2] ?? '', (m[3] ?? '').replace(/^"|"$/g, '').trim());
      await ctx.sendActivity(noticeReply(cards, res.ok ? 'Delegation' : 'Not delegated', res.message, res.ok ? 'good' : 'warning'));
    },
  };
}
