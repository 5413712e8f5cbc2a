import type { HandlerDeps } from '../handler-deps';
import type { CardActionHandler } from '../mailroom-bot';
import { runControlAction } from './run-control';

/** `request.cancel` (Cancel request on a card): stops a request that has not finished. */
export const cancelAction = (deps: Pick<HandlerDeps, 'useCases' | 'cards'>): CardActionHandler => runControlAction(deps, 'request.cancel', 'cancel', 'Not cancelled');
