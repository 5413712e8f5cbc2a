import type { HandlerDeps } from '../handler-deps';
import { actorOf, REF, sendCard } from '../handler-kit';
import type { CommandHandler } from '../mailroom-bot';
import { noticeReply, statusCard } from '../request-cards';

/** `cancel R-12`: stops a request that has not finished; while it runs, its status card follows the stop. */
export function cancelCommand({ useCases, cards }: Pick<HandlerDeps, 'useCases' | 'cards'>): CommandHandler {
  return {
    name: 'cancel',
    usage: 'cancel R-12',
    description: 'Cancels a request that has not finished: before it runs, or while it runs (the step under way finishes, nothing after it runs).',
    roles: ['requester', 'approver', 'admin'],
    group: 'Run',
    pattern: new RegExp(`^cancel\\s+${REF}$`, 'i'),
    async handle(ctx, turn, m) {
      const res = await useCases.runControl.cancel(actorOf(turn), m[1] ?? '', undefined);
      if (!res.ok) return void (await ctx.sendActivity(noticeReply(cards, 'Not cancelled', res.message, 'warning')));
      await ctx.sendActivity(noticeReply(cards, 'Cancelled', `${res.reference} was cancelled.`, 'good'));
      if (res.view.running) await sendCard(ctx, statusCard(cards, res.view));
    },
  };
}
