import type { Logger } from '../log';
import type { ReadinessReport } from '../server/readiness';
import type { UseCases } from '../workflow/use-cases';
import type { CardRenderer } from './cards';

/** What every command and card-action handler may use: the workflow's use cases, never the store. */
export interface HandlerDeps {
  readonly useCases: UseCases;
  readonly cards: CardRenderer;
  readonly log: Logger;
  /** The store and back-end checks behind the `health` command. */
  readonly readiness: () => Promise<ReadinessReport>;
}
