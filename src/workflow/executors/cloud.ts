/**
 * The Entra ID (Graph) and Exchange Online step executors: every `entra.*` and `exo.set*` action of a plan.
 *
 * - entra.ts: usage location and licences (direct, or through a cloud licensing group), through Graph;
 * - exchange.ts: mailbox type, IsExchangeCloudManaged, addresses, alias, visibility and capacity, through cmdlets;
 * - entra-sessions.ts: revoking a user's sign-in sessions (offboarding);
 * - exo-permissions.ts: FullAccess, Send As and Send on behalf, and the members of cloud-only groups;
 * - exo-mailbox-settings.ts: booking (calendar processing) and automatic replies;
 * - read-back.ts: every write is read back (one observed Exchange call reported success and wrote nothing);
 * - cloud-errors.ts: Graph and Exchange failures become transient or permanent StepErrors.
 *
 * Ports: `graph` is the part of `GraphDirectory` (src/cloud/graph.ts) these executors use and `exo` the part of
 * `ExoClient` (src/cloud/exo.ts); both fit as they are. The workflow imports no adapter code.
 */
import { entraExecutors, type EntraGraphPort, type UsageLocationPatience } from './entra';
import { revokeSessions, type SessionsGraphPort } from './entra-sessions';
import { exchangeExecutors } from './exchange';
import { mailboxSettingExecutors } from './exo-mailbox-settings';
import { exoPermissionExecutors } from './exo-permissions';
import type { ExchangePort } from './exchange-port';
import { ReadBack, type ReadBackOptions } from './read-back';
import type { StepExecutor } from './types';

export interface CloudExecutorDeps {
  readonly graph: EntraGraphPort & SessionsGraphPort;
  readonly exo: ExchangePort;
  /**
   * The Cloud Sync job. The executors trigger no sync themselves (the waits do: waits.ts); it is named in
   * messages about users that Entra ID does not have yet.
   */
  readonly sync: { readonly servicePrincipalId?: string; readonly jobId?: string };
  readonly readBack?: ReadBackOptions;
  /** How old a look at a user by an earlier step of the run may be to stand in for a new one (ms). Default 30 000. */
  readonly lookAgeMs?: number;
  /** Patience with "invalid usage location" right after the usage location was set (entra.ts). */
  readonly usageLocation?: UsageLocationPatience;
}

/** The executors of every `entra.*` and Exchange Online write action. */
export function cloudExecutors(deps: CloudExecutorDeps): StepExecutor[] {
  const readBack = new ReadBack(deps.readBack);
  return [
    ...entraExecutors(deps.graph, readBack, deps.lookAgeMs ?? 30_000, deps.usageLocation),
    ...exchangeExecutors(deps.exo, readBack),
    revokeSessions(deps.graph, readBack),
    ...exoPermissionExecutors(deps.exo, readBack),
    ...mailboxSettingExecutors(deps.exo, readBack),
  ];
}
