import { FIND_AT_MOST } from '../../workflow/recipient-view';
import type { HandlerDeps } from '../handler-deps';
import { actorOf, sendCard } from '../handler-kit';
import type { CommandHandler } from '../mailroom-bot';
import { recipientListCard } from '../recipient-cards';
import { notAvailableReply, noticeReply } from '../request-cards';

/** `find <text>`: the recipients whose name, alias or address starts with the text (at most twenty; says when there are more). */
export function findCommand({ useCases, cards }: Pick<HandlerDeps, 'useCases' | 'cards'>): CommandHandler {
  return {
    name: 'find',
    usage: 'find ada',
    description: `Lists the recipients whose name, alias or address starts with the text (at most ${FIND_AT_MOST}).`,
    roles: ['requester', 'approver', 'admin'],
    group: 'Look up',
    pattern: /^find(?:\s+(.*))?$/i,
    async handle(ctx, turn, m) {
      const recipients = useCases.recipients;
      if (!recipients) return void (await ctx.sendActivity(notAvailableReply(cards)));
      const text = (m[1] ?? '').trim();
      const result = await recipients.find(actorOf(turn), text);
      if (!result.ok) return void (await ctx.sendActivity(noticeReply(cards, 'Nothing was looked up', result.message, 'warning')));
      const n = result.items.length;
      const title = n === 0 ? `No recipient starts with "${text}"` : result.more ? `More than ${FIND_AT_MOST} recipients start with "${text}"` : `${n} ${n === 1 ? 'recipient starts' : 'recipients start'} with "${text}"`;
      const intro = result.more ? `The first ${FIND_AT_MOST} are listed; type more of the name or address to narrow it down.` : '';
      const footer = n ? 'Type show with an address to see the recipient.' : 'Mailroom searches names, aliases and addresses from their start.';
      await sendCard(ctx, recipientListCard(cards, title, intro, result.items, footer));
    },
  };
}
