import type { HandlerDeps } from '../handler-deps';
import type { GatedCardAction } from '../mailroom-bot';
import type { CommandInfo } from '../commands/catalogue';
import { sendHelp } from '../commands/help';

/** `help` (Show commands on the welcome card): the help card as a new message; the clicked card stays. */
export function helpAction(deps: Pick<HandlerDeps, 'cards'>, commands: () => readonly CommandInfo[]): GatedCardAction {
  return {
    verb: 'help',
    name: 'help',
    roles: 'anyone',
    async handle(ctx, turn) {
      await sendHelp(ctx, deps, turn, commands());
      return undefined;
    },
  };
}
