import type { HandlerDeps } from '../handler-deps';
import { actorOf } from '../handler-kit';
import type { CommandHandler } from '../mailroom-bot';
import { noticeReply } from '../request-cards';

/** `approvals here` (or `approvals here for offboarding`) in a team's channel: that channel gets the approval cards. */
export function approvalsHereCommand({ useCases, cards }: Pick<HandlerDeps, 'useCases' | 'cards'>): CommandHandler {
  return {
    name: 'approvals here',
    usage: 'approvals here [for <kind>]',
    description: 'In a team\'s channel: that channel gets a copy of every approval card (or of one kind\'s); "approvals channel" shows where they go.',
    roles: ['admin'],
    group: 'Audit & admin',
    pattern: /^approvals\s+here(?:\s+for\s+(.+))?$/i,
    async handle(ctx, turn, m) {
      const c = ctx.activity.conversation;
      const res = await useCases.channels.setHere(actorOf(turn), c.id, c.conversationType ?? '', m[1]);
      await ctx.sendActivity(noticeReply(cards, res.ok ? 'Approvals channel' : 'Not changed', res.message, res.ok ? 'good' : 'warning'));
    },
  };
}

/** `approvals channel`: where approval cards go. */
export function approvalsChannelCommand({ useCases, cards }: Pick<HandlerDeps, 'useCases' | 'cards'>): CommandHandler {
  return {
    name: 'approvals channel',
    usage: 'approvals channel',
    description: 'Shows which Teams channels get the approval cards.',
    roles: ['approver', 'admin'],
    group: 'Audit & admin',
    pattern: /^approvals\s+channels?$/i,
    async handle(ctx) {
      await ctx.sendActivity(noticeReply(cards, 'Approvals channel', await useCases.channels.describe()));
    },
  };
}
