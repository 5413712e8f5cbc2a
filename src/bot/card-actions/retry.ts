import type { HandlerDeps } from '../handler-deps';
import type { CardActionHandler } from '../mailroom-bot';
import { runControlAction } from './run-control';

/** `request.retry` (Retry on a stopped request's status card): runs the request again from the failed step. */
export const retryAction = (deps: Pick<HandlerDeps, 'useCases' | 'cards'>): CardActionHandler => runControlAction(deps, 'request.retry', 'retry', 'Not retried');
