import type { HandlerDeps } from '../handler-deps';
import type { GatedCardAction } from '../mailroom-bot';
import { runControlAction } from './run-control';

/** `request.retry` (Retry on a stopped request's status card): runs the request again from the failed step; its requester or an admin. */
export const retryAction = (deps: Pick<HandlerDeps, 'useCases' | 'cards'>): GatedCardAction => runControlAction(deps, 'request.retry', 'retry', 'Not retried', ['requester', 'admin']);
