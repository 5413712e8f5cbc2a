import type { HandlerDeps } from '../handler-deps';
import { REF } from '../handler-kit';
import type { CommandHandler } from '../mailroom-bot';
import { decisionCommand } from './decision';

/** `reject R-12 <reason>`: rejects the request as it stands now; the reason goes to the requester. */
export const rejectCommand = (deps: Pick<HandlerDeps, 'useCases' | 'cards'>): CommandHandler =>
  decisionCommand(deps, {
    name: 'reject',
    usage: 'reject R-12 <reason>',
    description: 'Rejects a request that waits for you; the reason goes to the requester.',
    pattern: new RegExp(`^reject\\s+${REF}(?:\\s+(.*))?$`, 'is'),
    outcome: 'reject',
    titles: ['Rejected', 'Not rejected'],
  });
