import type { HandlerDeps } from '../handler-deps';
import { actorOf, sendCard } from '../handler-kit';
import type { CommandHandler } from '../mailroom-bot';
import { md } from '../markdown';
import { recipientCard, recipientListCard } from '../recipient-cards';
import { notAvailableReply, noticeReply } from '../request-cards';

/**
 * `show <address, UPN, alias or name>`: one recipient across AD, Entra ID and Exchange Online on one card, with buttons
 * that open change requests pre-filled with it. A name several recipients have lists them; none says so. A read: no
 * approval, nothing changed, the look-up audited.
 */
export function showCommand({ useCases, cards }: Pick<HandlerDeps, 'useCases' | 'cards'>): CommandHandler {
  return {
    name: 'show',
    usage: 'show ada.lovelace@contoso.com',
    description: 'Shows one recipient across AD, Entra ID and Exchange Online: addresses, licences, permissions, groups, drift.',
    roles: ['requester', 'approver', 'admin'],
    group: 'Look up',
    pattern: /^show(?:\s+(.*))?$/i,
    async handle(ctx, turn, m) {
      const recipients = useCases.recipients;
      if (!recipients) return void (await ctx.sendActivity(notAvailableReply(cards)));
      const identity = (m[1] ?? '').trim();
      const result = await recipients.show(actorOf(turn), identity);
      switch (result.found) {
        case 'one':
          await sendCard(ctx, recipientCard(cards, result.recipient, turn.roles.includes('requester')));
          return;
        case 'several':
          await sendCard(
            ctx,
            recipientListCard(
              cards,
              `"${identity}" names ${result.candidates.length || 'several'} recipients`,
              result.note ?? 'Mailroom shows one recipient only when the identity names exactly one. Nothing was changed.',
              result.candidates,
              'Type show with one of the addresses above.',
            ),
          );
          return;
        case 'none':
          await ctx.sendActivity(noticeReply(cards, 'No recipient', md`No recipient in Exchange Online or Active Directory has the address, UPN, alias or name "${identity}". Nothing was changed. Type **find** and the start of a name to search.`, 'warning'));
          return;
        case 'invalid':
          await ctx.sendActivity(noticeReply(cards, 'Nothing was looked up', result.message, 'warning'));
          return;
        case 'failed':
          await ctx.sendActivity(noticeReply(cards, 'Could not look it up', result.message, 'error'));
      }
    },
  };
}
