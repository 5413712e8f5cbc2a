import type { HandlerDeps } from '../handler-deps';
import type { CardActionHandler } from '../mailroom-bot';
import type { CommandInfo } from '../commands/catalogue';
import { sendHelp } from '../commands/help';

/** `help` (Show commands on the welcome card): the help card as a new message; the clicked card stays. */
export function helpAction(deps: Pick<HandlerDeps, 'cards'>, commands: () => readonly CommandInfo[]): CardActionHandler {
  return {
    verb: 'help',
    async handle(ctx, turn) {
      await sendHelp(ctx, deps, turn, commands());
      return undefined;
    },
  };
}
