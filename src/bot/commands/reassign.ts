import type { HandlerDeps } from '../handler-deps';
import { actorOf, REF } from '../handler-kit';
import type { CommandHandler } from '../mailroom-bot';
import { noticeReply } from '../request-cards';

/** `reassign R-12 to grace@contoso.com`: an approver of the current stage asks someone else to decide it. */
export function reassignCommand({ useCases, cards }: Pick<HandlerDeps, 'useCases' | 'cards'>): CommandHandler {
  return {
    name: 'reassign',
    usage: 'reassign R-12 to grace@contoso.com',
    description: 'Asks someone else to decide a request that waits for you: they get the approval card and may decide it.',
    roles: ['approver', 'admin'],
    group: 'Decide',
    pattern: new RegExp(`^reassign\\s+${REF}\\s+to\\s+(\\S+)$`, 'i'),
    async handle(ctx, turn, m) {
      const res = await useCases.approvals.reassign(actorOf(turn), m[1] ?? '', m[2] ?? '');
      await ctx.sendActivity(noticeReply(cards, res.ok ? 'Reassigned' : 'Not reassigned', res.message, res.ok ? 'good' : 'warning'));
    },
  };
}
