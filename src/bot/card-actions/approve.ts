import type { HandlerDeps } from '../handler-deps';
import type { CardActionHandler } from '../mailroom-bot';
import { decisionAction } from './decision';

/** `request.approve` (Approve on an approval card). */
export const approveAction = (deps: Pick<HandlerDeps, 'useCases' | 'cards'>): CardActionHandler => decisionAction(deps, 'request.approve', 'approve');
