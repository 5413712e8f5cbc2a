import type { HandlerDeps } from '../handler-deps';
import { actorOf } from '../handler-kit';
import type { CommandHandler } from '../mailroom-bot';
import { noticeReply } from '../request-cards';

/** What tells `approve` and `reject` apart: the words, the pattern (group 1 the reference, group 2 a reason). */
interface DecisionCommandInfo extends Pick<CommandHandler, 'name' | 'usage' | 'description' | 'pattern'> {
  readonly outcome: 'approve' | 'reject';
  /** The notice's title when the decision was taken, and when it was refused. */
  readonly titles: readonly [done: string, refused: string];
}

/** Approve or reject from chat, for approvers and admins: decides on the request as it stands now (no card version). */
export function decisionCommand({ useCases, cards }: Pick<HandlerDeps, 'useCases' | 'cards'>, { outcome, titles, ...info }: DecisionCommandInfo): CommandHandler {
  return {
    ...info,
    roles: ['approver', 'admin'],
    group: 'Decide',
    async handle(ctx, turn, m) {
      const res = await useCases.approvals.decide(actorOf(turn), m[1] ?? '', undefined, outcome, m[2]);
      await ctx.sendActivity(res.ok ? noticeReply(cards, titles[0], `${res.reference}: ${res.view.statusText}`, 'good') : noticeReply(cards, titles[1], res.message, 'warning'));
    },
  };
}
