import type { HandlerDeps } from '../handler-deps';
import { REF } from '../handler-kit';
import type { CommandHandler } from '../mailroom-bot';
import { decisionCommand } from './decision';

/** `approve R-12`: approves the request as it stands now (the card buttons carry the version they showed). */
export const approveCommand = (deps: Pick<HandlerDeps, 'useCases' | 'cards'>): CommandHandler =>
  decisionCommand(deps, {
    name: 'approve',
    usage: 'approve R-12',
    description: 'Approves a request that waits for you.',
    pattern: new RegExp(`^approve\\s+${REF}$`, 'i'),
    outcome: 'approve',
    titles: ['Approved', 'Not approved'],
  });
