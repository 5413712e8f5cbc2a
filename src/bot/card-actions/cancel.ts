import type { HandlerDeps } from '../handler-deps';
import type { GatedCardAction } from '../mailroom-bot';
import { runControlAction } from './run-control';

/** `request.cancel` (Cancel request on a card): stops a request that has not finished; the roles of the `cancel` command. */
export const cancelAction = (deps: Pick<HandlerDeps, 'useCases' | 'cards'>): GatedCardAction => runControlAction(deps, 'request.cancel', 'cancel', 'Not cancelled', ['requester', 'approver', 'admin']);
