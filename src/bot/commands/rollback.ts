import type { HandlerDeps } from '../handler-deps';
import { actorOf, REF, sendCard } from '../handler-kit';
import type { CommandHandler } from '../mailroom-bot';
import { noticeReply, rollbackCard, statusCard } from '../request-cards';

/** `rollback R-12`: the confirmation card (what goes, what stays); `rollback R-12 now` starts the roll back. */
export function rollbackCommand({ useCases, cards }: Pick<HandlerDeps, 'useCases' | 'cards'>): CommandHandler {
  return {
    name: 'rollback',
    usage: 'rollback R-12',
    description: 'Shows what a roll back of a stopped or cancelled request removes (what Mailroom created) and what stays, to confirm; "rollback R-12 now" starts it.',
    // The request's requester, its kind's approvers and admins: checked (and refusals audited) per request.
    roles: 'anyone',
    group: 'Run',
    pattern: new RegExp(`^roll\\s?-?back\\s+${REF}(\\s+now)?$`, 'i'),
    async handle(ctx, turn, m) {
      const reference = m[1] ?? '';
      if (m[2]) {
        const res = await useCases.runControl.rollback(actorOf(turn), reference, undefined);
        if (!res.ok) return void (await ctx.sendActivity(noticeReply(cards, 'Not rolled back', res.message, 'warning')));
        await ctx.sendActivity(noticeReply(cards, 'Rolling back', `${res.reference} is being rolled back; its status card follows the steps.`, 'good'));
        await sendCard(ctx, statusCard(cards, res.view));
        return;
      }
      const preview = await useCases.runControl.rollbackPreview(actorOf(turn), reference, undefined);
      if (!preview.ok) return void (await ctx.sendActivity(noticeReply(cards, 'Not rolled back', preview.message, 'warning')));
      await sendCard(ctx, rollbackCard(cards, preview.view, preview.plan, preview.digest));
    },
  };
}
