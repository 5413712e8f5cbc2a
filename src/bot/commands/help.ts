import type { TurnContext } from 'botbuilder';
import type { HandlerDeps } from '../handler-deps';
import type { CommandHandler } from '../mailroom-bot';
import type { TurnInfo } from '../turn';
import { groupedFor, type CommandInfo } from './catalogue';

/**
 * Sends the help card: the commands the actor's roles allow, under their group headings (fixed order, none empty).
 * Also the answer to the `help` card button.
 */
export async function sendHelp(ctx: TurnContext, { cards }: Pick<HandlerDeps, 'cards'>, turn: TurnInfo, commands: readonly CommandInfo[]): Promise<void> {
  await ctx.sendActivity({
    attachments: [
      cards.attachment('help', {
        name: turn.actor.name,
        roles: turn.roles,
        groups: groupedFor(commands, turn.roles).map((g) => ({ title: g.title, commands: g.commands.map((c) => ({ usage: c.usage, description: c.description })) })),
      }),
    ],
  });
}

/** `help`: the commands you can use. `commands` lists every registered command (the bot's, in order). */
export function helpCommand(deps: Pick<HandlerDeps, 'cards'>, commands: () => readonly CommandInfo[]): CommandHandler {
  return {
    name: 'help',
    usage: 'help',
    description: 'Shows the commands you can use.',
    roles: 'anyone',
    group: 'Help',
    pattern: /^(help|\?|commands)$/i,
    handle: (ctx, turn) => sendHelp(ctx, deps, turn, commands()),
  };
}
