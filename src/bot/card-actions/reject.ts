import type { HandlerDeps } from '../handler-deps';
import type { GatedCardAction } from '../mailroom-bot';
import { decisionAction } from './decision';

/** `request.reject` (Reject on an approval card, with the reason typed on it). */
export const rejectAction = (deps: Pick<HandlerDeps, 'useCases' | 'cards'>): GatedCardAction => decisionAction(deps, 'request.reject', 'reject');
