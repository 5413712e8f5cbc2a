/**
 * The step executors and waiters the durable runner (../runner.ts) runs, by external system:
 *
 * - Active Directory: {@link adExecutors} (ad.ts; creating objects: ad-create.ts, changing them: ad-change.ts);
 * - Entra ID and Exchange Online: {@link cloudExecutors} (cloud.ts; entra.ts, exchange.ts);
 * - the waits for sync and Exchange Online: {@link cloudWaiters} (waits.ts; one polling cycle: wait-cycle.ts);
 * - the wait for a moment (a leave date): {@link scheduleWaiter} (schedule.ts).
 *
 * The contract between them and the runner is types.ts.
 */
export { adExecutors } from './ad';
export { INITIAL_PASSWORD_ENTRY } from './ad-create';
export type { AdDirectoryPort, AdExecutorDeps } from './ad-port';
export { cloudExecutors, type CloudExecutorDeps } from './cloud';
export { InMemoryOnDemandLimiter, onDemandLimitKey, type OnDemandLimiter } from './on-demand-limiter';
export { scheduleWaiter } from './schedule';
export { cloudWaiters, type WaiterDeps } from './waits';
