import type { HandlerDeps } from '../handler-deps';
import type { GatedCardAction } from '../mailroom-bot';
import { decisionAction } from './decision';

/** `request.approve` (Approve on an approval card). */
export const approveAction = (deps: Pick<HandlerDeps, 'useCases' | 'cards'>): GatedCardAction => decisionAction(deps, 'request.approve', 'approve');
