import type { HandlerDeps } from '../handler-deps';
import type { CommandHandler } from '../mailroom-bot';

/** `whoami`: who Mailroom thinks you are, and your roles. */
export function whoamiCommand({ cards }: Pick<HandlerDeps, 'cards'>): CommandHandler {
  return {
    name: 'whoami',
    usage: 'whoami',
    description: 'Shows who Mailroom thinks you are and your roles.',
    roles: 'anyone',
    group: 'Help',
    pattern: /^who ?am ?i$/i,
    async handle(ctx, turn) {
      await ctx.sendActivity({
        attachments: [
          cards.notice({
            title: turn.actor.name,
            text: turn.roles.length ? `Your Mailroom roles: ${turn.roles.join(', ')}.` : 'You have no Mailroom role yet. Ask your Mailroom admin for one.',
            facts: [
              { title: 'Entra object id', value: turn.actor.aadObjectId },
              { title: 'Tenant', value: turn.actor.tenantId },
            ],
          }),
        ],
      });
    },
  };
}
