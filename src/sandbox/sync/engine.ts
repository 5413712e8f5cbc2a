/**
 * The sandbox's sync engine: reads AD over LDAPS and drives the simulated tenant's sync API, like Entra
 * Connect Sync (`connect`: a cycle every interval, nothing can trigger it remotely) or Entra Cloud Sync
 * (`cloud`: cycles too, plus Graph's `provisionOnDemand` for one object at once).
 *
 * A cycle:
 * 1. reads `highestCommittedUSN` (the new watermark) before searching, so changes made during the search
 *    are read again by the next cycle;
 * 2. the first cycle (and `runCycle({ full: true })`) imports every in-scope object and removes synced
 *    objects that AD no longer has in scope; later cycles read objects with `uSNChanged` above the
 *    watermark plus tombstones (Show Deleted control) of objects deleted since;
 * 3. removes first (so a UPN or address freed in AD can be reused in the same cycle), then exports users and
 *    contacts, then groups; an object whose input did not change since its last export is not exported
 *    again (it counts as unchanged);
 * 4. reads back `IsExchangeCloudManaged` (as Entra Connect does): a mailbox set back to False is exported
 *    again, so AD's Exchange attributes are re-applied;
 * 5. records per-object export errors (a {@link SyncConflictError} is a conflict) without stopping, and
 *    retries those objects in every following cycle until they export, as real sync does.
 *
 * Cycles, on-demand calls and timers never overlap: all run one after another. Interval 0 means no timer
 * (cycles run only when asked: deterministic tests).
 *
 * The LDAPS connection is kept between cycles that follow within `keepConnectionMs` (a TLS handshake and a bind
 * cost the DC more than a delta cycle's searches); a kept connection that fails (the DC closed it, restarted) is
 * dropped and the reads are made once more on a new one. Each report says which it used.
 */
import { SyncConflictError, type AdContactInput, type AdGroupInput, type AdUserInput, type ExoRecipient, type SyncOutcome, type Tenant } from '../cloud/tenant';
import type { ProvisionOnDemandHook, ProvisionOnDemandRequest, ProvisionOnDemandResult, ProvisioningStep } from '../cloud/context';
import { AdSession, type DirectoryConnection } from './directory';
import { classifyEntry, EntryView, anchorOf, kindOf, outOfScopeReason, immutableIdFromGuidBytes, plainDn, type AdObjectKind, type ClassifiedEntry, type LdapEntry } from './mapping';

export type SyncMode = 'connect' | 'cloud';

/** The Cloud Sync job the engine answers provisionOnDemand for. */
export interface SyncJob {
  servicePrincipalId: string;
  jobId: string;
}

export interface SyncEngineOptions {
  tenant: Tenant;
  directory: DirectoryConnection;
  mode: SyncMode;
  /** Milliseconds between cycles; 0 = no timer, cycles run only through runCycle()/syncNow(). */
  intervalMs: number;
  /** Where provisionOnDemand calls arrive (the cloud emulator). Needed for `cloud` mode. */
  cloud?: { setProvisionOnDemandHook(hook: ProvisionOnDemandHook | null): void };
  /** The Cloud Sync job; on-demand calls for another service principal or job fail. */
  job?: SyncJob;
  /** One line per cycle that changed something (and per on-demand call and failure). */
  log?: (message: string) => void;
  /** How many reports to keep. Default 50. */
  historySize?: number;
  /**
   * How long Exchange Online lags Entra ID (ms, tenant clock): an object this engine creates or changes reaches
   * Exchange's view that much later (Tenant.holdBackFromExchange). Default 0. Settable later: `exchangeLagMs`.
   */
  exchangeLagMs?: number;
  /** How long the LDAPS connection is kept after a cycle or on-demand call for the next one (ms). Default 30 s; 0 closes it after each. */
  keepConnectionMs?: number;
}

export type SyncAction = 'added' | 'updated' | 'removed';

export interface SyncChange {
  action: SyncAction;
  kind: AdObjectKind | null;
  /** The AD DN (null for a removal found only in the tenant). */
  dn: string | null;
  immutableId: string;
  /** The Entra object id (not for removals). */
  entraId?: string;
  /** The object's EXO type after the export, null when not in EXO (not for removals). */
  exo?: SyncOutcome['exo'];
  /** The tenant's notes (e.g. AD changes EXO ignored), or why an object was removed. */
  notes: string[];
}

/** An export that failed because an attribute value is already used by another object. */
export interface SyncConflict {
  dn: string;
  kind: AdObjectKind;
  immutableId: string;
  attribute: string;
  value: string;
  conflictsWith: string;
  message: string;
}

/** Any other export that failed. */
export interface SyncObjectError {
  dn: string;
  kind: AdObjectKind | null;
  immutableId: string | null;
  message: string;
}

export interface SyncReport {
  /** 1, 2, … per engine. */
  id: number;
  kind: 'full' | 'delta' | 'on-demand';
  trigger: 'timer' | 'manual' | 'on-demand';
  mode: SyncMode;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  /** The watermark before and after (null before the first cycle; unchanged by on-demand calls). */
  usnFrom: number | null;
  usnTo: number | null;
  counts: { added: number; updated: number; unchanged: number; removed: number; conflicts: number; errors: number };
  changes: SyncChange[];
  conflicts: SyncConflict[];
  errors: SyncObjectError[];
  /** Set when the cycle failed as a whole (e.g. AD unreachable); nothing after the failure was done. */
  error: string | null;
  /** Whether AD was read on the connection kept from an earlier cycle or on one opened for this one (null: not reached). */
  connection: 'kept' | 'opened' | null;
}

/** What `provisionOnDemand` did (also returned to Graph as its result). */
export interface OnDemandReport extends SyncReport {
  kind: 'on-demand';
  result: ProvisionOnDemandResult;
}

/** Thrown by runCycle()/syncNow() when a cycle fails as a whole; the report is kept in history too. */
export class SyncCycleError extends Error {
  override readonly name = 'SyncCycleError';
  constructor(
    readonly report: SyncReport,
    override readonly cause: unknown,
  ) {
    super(`sync cycle #${report.id} failed: ${report.error ?? 'unknown error'}`);
  }
}

interface Known {
  immutableId: string;
  kind: AdObjectKind;
  dn: string;
}

interface Exported {
  fingerprint: string;
  input: AdUserInput | AdContactInput | AdGroupInput;
  kind: AdObjectKind;
}

interface Queued {
  full: boolean;
  trigger: SyncReport['trigger'];
  promise: Promise<SyncReport>;
}

function fingerprint(input: AdUserInput | AdContactInput | AdGroupInput): string {
  const copy: Record<string, unknown> = { ...input };
  if (Array.isArray(copy.proxyAddresses)) copy.proxyAddresses = [...(copy.proxyAddresses as string[])].sort();
  return JSON.stringify(copy);
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The sync engine. See the file comment. */
export class SyncEngine {
  readonly mode: SyncMode;
  readonly intervalMs: number;
  /** See {@link SyncEngineOptions.exchangeLagMs}; takes effect with the next export. */
  exchangeLagMs: number;
  private readonly tenant: Tenant;
  private readonly directory: DirectoryConnection;
  private readonly options: SyncEngineOptions;
  private readonly log: (message: string) => void;
  private readonly historySize: number;

  private watermark: number | null = null;
  /** In-scope AD objects by objectGUID (base64). */
  private known = new Map<string, Known>();
  /** The last successful export per immutable id. */
  private exported = new Map<string, Exported>();
  /** IsExchangeCloudManaged as last read back, per immutable id. */
  private cloudManaged = new Map<string, boolean>();
  /** Objects whose export failed, by objectGUID (base64): retried every cycle. */
  private retry = new Map<string, string>();
  private readonly reports: SyncReport[] = [];
  private nextId = 1;

  private lock: Promise<unknown> = Promise.resolve();
  private queued: Queued | null = null;
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  private stopped = false;
  /** The connection kept for the next cycle, and the timer that closes it when none comes. */
  private kept: { session: AdSession; idle: NodeJS.Timeout } | undefined;

  constructor(options: SyncEngineOptions) {
    if (!Number.isSafeInteger(options.intervalMs) || options.intervalMs < 0) throw new Error(`intervalMs must be a whole number ≥ 0, not ${options.intervalMs}`);
    if (options.mode === 'cloud' && !options.cloud) throw new Error('cloud mode needs the emulator (options.cloud) to answer provisionOnDemand');
    this.options = options;
    this.mode = options.mode;
    this.intervalMs = options.intervalMs;
    this.tenant = options.tenant;
    this.directory = options.directory;
    this.log = options.log ?? (() => undefined);
    this.historySize = options.historySize ?? 50;
    this.exchangeLagMs = options.exchangeLagMs ?? 0;
  }

  /** The USN watermark: changes up to it are synced (null before the first cycle). */
  get highestUsn(): number | null {
    return this.watermark;
  }

  /** Reports of recent cycles and on-demand calls, oldest first. */
  get history(): readonly SyncReport[] {
    return this.reports;
  }

  /** The newest report, if any. */
  get lastReport(): SyncReport | undefined {
    return this.reports[this.reports.length - 1];
  }

  /** Objects whose last export failed and that every cycle retries (DNs). */
  get pendingRetries(): string[] {
    return [...this.retry.values()];
  }

  /**
   * Starts the timer (interval > 0; the first cycle runs at once if none has run yet) and, in `cloud` mode,
   * answers provisionOnDemand. In `connect` mode the emulator has no hook, so provisionOnDemand answers 404.
   */
  start(): void {
    if (this.stopped) throw new Error('the sync engine was stopped; make a new one');
    if (this.started) return;
    this.started = true;
    this.options.cloud?.setProvisionOnDemandHook(this.mode === 'cloud' ? this.hook : null);
    this.schedule(this.watermark === null ? 0 : this.intervalMs);
  }

  /** Stops the timer and the on-demand hook, and waits for a running cycle. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.started) this.options.cloud?.setProvisionOnDemandHook(null);
    await this.lock.catch(() => undefined);
    await this.take()?.close();
  }

  /**
   * Runs one cycle after any running one (a delta, or a full import when asked or when none has run yet)
   * and resolves with its report. Calls made while a cycle is waiting share it. Rejects with
   * {@link SyncCycleError} when the cycle fails as a whole.
   */
  runCycle(options: { full?: boolean } = {}): Promise<SyncReport> {
    return this.enqueue(options.full === true, 'manual');
  }

  /** Like `Start-ADSyncSyncCycle`: a cycle now, and the interval timer starts again after it. */
  async syncNow(options: { full?: boolean } = {}): Promise<SyncReport> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    try {
      return await this.enqueue(options.full === true, 'manual');
    } finally {
      this.schedule(this.intervalMs);
    }
  }

  /**
   * Syncs the one AD object `dn` at once (Cloud Sync's provisionOnDemand), after any running cycle.
   * Used by the emulator's hook; callable directly in tests.
   */
  provisionOnDemand(dn: string, objectTypeName?: string): Promise<OnDemandReport> {
    const run = this.lock.then(
      () => this.onDemand(dn, objectTypeName),
      () => this.onDemand(dn, objectTypeName),
    );
    this.lock = run.catch(() => undefined);
    return run;
  }

  private readonly hook: ProvisionOnDemandHook = async (dn: string, request: ProvisionOnDemandRequest): Promise<ProvisionOnDemandResult> => {
    const job = this.options.job;
    if (job && (request.servicePrincipalId.toLowerCase() !== job.servicePrincipalId.toLowerCase() || request.jobId.toLowerCase() !== job.jobId.toLowerCase())) {
      return {
        status: 'Failure',
        errorCode: 'SynchronizationJobNotFound',
        reason: `The sandbox's Cloud Sync job is servicePrincipals/${job.servicePrincipalId}/synchronization/jobs/${job.jobId}, not servicePrincipals/${request.servicePrincipalId}/synchronization/jobs/${request.jobId}.`,
      };
    }
    const report = await this.provisionOnDemand(dn, request.objectTypeName);
    return report.result;
  };

  private schedule(delayMs: number): void {
    if (!this.started || this.stopped || this.intervalMs <= 0) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.enqueue(false, 'timer')
        .catch(() => undefined) // already in the report and the log
        .then(() => this.schedule(this.intervalMs));
    }, delayMs);
    this.timer.unref();
  }

  private enqueue(full: boolean, trigger: SyncReport['trigger']): Promise<SyncReport> {
    if (this.queued) {
      if (full) this.queued.full = true;
      return this.queued.promise;
    }
    const q: Queued = { full, trigger, promise: Promise.resolve(undefined as unknown as SyncReport) };
    const start = async (): Promise<SyncReport> => {
      if (this.queued === q) this.queued = null;
      return this.cycle(q.full, q.trigger);
    };
    q.promise = this.lock.then(start, start);
    this.lock = q.promise.catch(() => undefined);
    this.queued = q;
    return q.promise;
  }

  private newReport(kind: SyncReport['kind'], trigger: SyncReport['trigger']): SyncReport {
    return {
      id: this.nextId++,
      kind,
      trigger,
      mode: this.mode,
      startedAt: new Date().toISOString(),
      finishedAt: '',
      durationMs: 0,
      usnFrom: this.watermark,
      usnTo: this.watermark,
      counts: { added: 0, updated: 0, unchanged: 0, removed: 0, conflicts: 0, errors: 0 },
      changes: [],
      conflicts: [],
      errors: [],
      error: null,
      connection: null,
    };
  }

  private finish<T extends SyncReport>(report: T): T {
    report.finishedAt = new Date().toISOString();
    report.durationMs = Date.parse(report.finishedAt) - Date.parse(report.startedAt);
    report.counts.conflicts = report.conflicts.length;
    report.counts.errors = report.errors.length;
    this.reports.push(report);
    if (this.reports.length > this.historySize) this.reports.splice(0, this.reports.length - this.historySize);
    const c = report.counts;
    const changed = c.added + c.updated + c.removed + c.conflicts + c.errors > 0;
    if (report.error) {
      this.log(`sync ${report.kind} #${report.id} failed: ${report.error}`);
    } else if (changed || report.kind !== 'delta') {
      const usn = report.kind === 'on-demand' ? '' : ` (USN ${report.usnFrom ?? '-'}→${report.usnTo ?? '-'})`;
      this.log(
        `sync ${report.kind} #${report.id}${usn}: ${c.added} added, ${c.updated} updated, ${c.removed} removed, ` +
          `${c.unchanged} unchanged, ${c.conflicts} conflicts, ${c.errors} errors in ${report.durationMs} ms`,
      );
    }
    return report;
  }

  private async cycle(forceFull: boolean, trigger: SyncReport['trigger']): Promise<SyncReport> {
    const full = forceFull || this.watermark === null;
    const report = this.newReport(full ? 'full' : 'delta', trigger);
    try {
      const { usnTo, entries, tombstones, gone } = await this.read(report, async (session) => {
        const usnTo = await session.highestCommittedUsn();
        const entries = await session.objects(full ? null : this.watermark);
        const seenGuids = new Set(entries.map((e) => guidOf(e)).filter((g): g is string => g !== null));
        const gone: string[] = [];
        for (const [guid] of this.retry) {
          if (seenGuids.has(guid)) continue;
          const entry = await session.objectByGuid(Buffer.from(guid, 'base64'));
          if (entry) entries.push(entry);
          else gone.push(guid);
        }
        const tombstones = full || this.watermark === null ? [] : await session.deletedSince(this.watermark);
        return { usnTo, entries, tombstones, gone };
      });
      for (const guid of gone) this.retry.delete(guid);
      this.apply(report, entries, tombstones, full);
      this.readBackCloudManaged(report);
      this.watermark = usnTo;
      report.usnTo = usnTo;
    } catch (err) {
      report.error = message(err);
      this.finish(report);
      throw new SyncCycleError(report, err);
    }
    return this.finish(report);
  }

  /**
   * AD's side of a cycle or an on-demand call: `reads` on the kept connection, else (or when that fails) on a new
   * one, which is then kept. The reads change nothing, so making them again on a new connection is safe.
   */
  private async read<T>(report: SyncReport, reads: (session: AdSession) => Promise<T>): Promise<T> {
    const kept = this.take();
    if (kept?.connected) {
      try {
        const out = await reads(kept);
        report.connection = 'kept';
        this.keep(kept);
        return out;
      } catch {
        // The DC may have closed it (idle, restarted): a new connection answers for itself.
      }
    }
    await kept?.close();
    const session = await AdSession.open(this.directory);
    try {
      const out = await reads(session);
      report.connection = 'opened';
      this.keep(session);
      return out;
    } catch (err) {
      await session.close();
      throw err;
    }
  }

  /** The kept connection, no longer kept (the caller uses or closes it). */
  private take(): AdSession | undefined {
    const kept = this.kept;
    this.kept = undefined;
    if (kept) clearTimeout(kept.idle);
    return kept?.session;
  }

  private keep(session: AdSession): void {
    const ms = this.options.keepConnectionMs ?? 30_000;
    if (this.stopped || ms <= 0) {
      void session.close();
      return;
    }
    const idle = setTimeout(() => {
      if (this.kept?.session === session) void this.take()?.close();
    }, ms);
    idle.unref();
    this.kept = { session, idle };
  }

  /** Removals, then users and contacts, then groups. */
  private apply(report: SyncReport, entries: LdapEntry[], tombstones: LdapEntry[], full: boolean): void {
    // Anchors first: group members resolve through them, including objects of this same cycle.
    const outOfScope: { guid: string | null; immutableId: string | null; dn: string; kind: AdObjectKind | null; reason: string }[] = [];
    const inScope = new Map<string, LdapEntry>();
    for (const entry of entries) {
      const view = new EntryView(entry);
      const guid = guidOf(entry);
      const kind = kindOf(view);
      const anchor = anchorOf(view);
      const dn = plainDn(entry.dn);
      const reason = !kind ? 'not a user, contact or group' : !anchor ? 'no objectGUID' : outOfScopeReason(view, kind);
      if (reason || !kind || !anchor || !guid) {
        outOfScope.push({ guid, immutableId: anchor?.immutableId ?? null, dn, kind, reason: reason ?? 'no objectGUID' });
        continue;
      }
      inScope.set(guid, entry);
      this.known.set(guid, { immutableId: anchor.immutableId, kind, dn });
    }

    // Removals.
    if (full) {
      const keep = new Set([...inScope.keys()].map((g) => this.known.get(g)!.immutableId));
      for (const guid of [...this.known.keys()]) if (!inScope.has(guid)) this.known.delete(guid);
      for (const id of this.tenant.syncedImmutableIds()) {
        if (!keep.has(id)) this.remove(report, id, null, null, 'not in Active Directory (or out of sync scope) at a full import');
      }
    } else {
      for (const t of tombstones) {
        const guid = guidOf(t);
        if (!guid) continue;
        const k = this.known.get(guid);
        this.known.delete(guid);
        this.retry.delete(guid);
        const id = k?.immutableId ?? guid;
        if (this.tenant.syncedObject(id)) this.remove(report, id, k?.dn ?? plainDn(t.dn), k?.kind ?? null, 'deleted in Active Directory');
      }
      for (const o of outOfScope) {
        const k = o.guid ? this.known.get(o.guid) : undefined;
        if (o.guid) {
          this.known.delete(o.guid);
          this.retry.delete(o.guid);
        }
        const id = k?.immutableId ?? o.immutableId;
        if (id && this.tenant.syncedObject(id)) this.remove(report, id, o.dn, o.kind, `out of sync scope: ${o.reason}`);
      }
    }

    // Exports: users and contacts before groups.
    const anchorOfGuid = (g: string): string => this.known.get(g)?.immutableId ?? g;
    const classified = [...inScope.entries()].map(([guid, entry]) => ({ guid, c: classifyEntry(entry, anchorOfGuid) }));
    const order = (c: ClassifiedEntry): number => (c.kind === 'group' ? 1 : 0);
    classified.sort((a, b) => order(a.c) - order(b.c));
    for (const { guid, c } of classified) {
      if (!c.inScope) continue;
      try {
        this.export(report, guid, c, false);
      } catch (err) {
        if (!(err instanceof ExportFailed)) throw err; // recorded in the report; the cycle goes on
      }
    }
  }

  /** Exports one in-scope object unless its input is unchanged (and the tenant still has it). */
  private export(report: SyncReport, guid: string, c: Extract<ClassifiedEntry, { inScope: true }>, force: boolean): SyncOutcome | null {
    const fp = fingerprint(c.input);
    const before = this.exported.get(c.immutableId);
    const inTenant = this.tenant.syncedObject(c.immutableId);
    if (!force && before?.fingerprint === fp && inTenant) {
      report.counts.unchanged += 1;
      this.retry.delete(guid);
      return null;
    }
    try {
      const exoBefore = inTenant ? this.tenant.recipientOf(inTenant.entraId) : undefined;
      const exoBeforeJson = exoBefore ? JSON.stringify(exoBefore) : null;
      const out =
        c.kind === 'user'
          ? this.tenant.upsertSyncedUser(c.input as AdUserInput)
          : c.kind === 'contact'
            ? this.tenant.upsertSyncedContact(c.input)
            : this.tenant.upsertSyncedGroup(c.input as AdGroupInput);
      this.lagExchange(out.entraId, exoBeforeJson);
      this.exported.set(c.immutableId, { fingerprint: fp, input: c.input, kind: c.kind });
      this.retry.delete(guid);
      const action: SyncAction = out.created ? 'added' : 'updated';
      report.counts[action] += 1;
      report.changes.push({ action, kind: c.kind, dn: c.dn, immutableId: c.immutableId, entraId: out.entraId, exo: out.exo, notes: out.notes });
      const state = this.tenant.syncedObject(c.immutableId);
      if (state) this.cloudManaged.set(c.immutableId, state.isExchangeCloudManaged);
      return out;
    } catch (err) {
      this.undoFailedExport(c, inTenant !== null, before);
      this.retry.set(guid, c.dn);
      if (err instanceof SyncConflictError) {
        report.conflicts.push({
          dn: c.dn,
          kind: c.kind,
          immutableId: c.immutableId,
          attribute: err.attribute,
          value: err.value,
          conflictsWith: err.conflictsWith,
          message: err.message,
        });
      } else {
        report.errors.push({ dn: c.dn, kind: c.kind, immutableId: c.immutableId, message: message(err) });
      }
      throw new ExportFailed(err);
    }
  }

  /**
   * Exchange Online gets directory changes by its own sync, after Entra ID: a recipient this export created, or
   * changed, stays out of Exchange's view (or shows as it was) for `exchangeLagMs`.
   */
  private lagExchange(entraId: string, beforeJson: string | null): void {
    if (this.exchangeLagMs <= 0) return;
    const after = this.tenant.recipientOf(entraId);
    if (!after || (beforeJson !== null && JSON.stringify(after) === beforeJson)) return;
    const until = this.tenant.clock.now() + this.exchangeLagMs;
    this.tenant.holdBackFromExchange(after.guid, beforeJson === null ? null : (JSON.parse(beforeJson) as ExoRecipient), until);
  }

  /**
   * A failed export must leave the tenant as it was (Entra refuses the whole object). The tenant applies an
   * upsert before it finds an address conflict and keeps what it applied, and a retry would then pass its
   * uniqueness check; so a new object is removed again and an existing one gets its last good input back.
   */
  private undoFailedExport(c: Extract<ClassifiedEntry, { inScope: true }>, existed: boolean, before: Exported | undefined): void {
    try {
      if (!existed) {
        this.tenant.removeSynced(c.immutableId);
        this.exported.delete(c.immutableId);
      } else if (before) {
        if (before.kind === 'user') this.tenant.upsertSyncedUser(before.input as AdUserInput);
        else if (before.kind === 'contact') this.tenant.upsertSyncedContact(before.input);
        else this.tenant.upsertSyncedGroup(before.input as AdGroupInput);
      } else {
        this.exported.delete(c.immutableId);
      }
    } catch {
      this.exported.delete(c.immutableId); // could not restore: export in full next time
    }
  }

  private remove(report: SyncReport, immutableId: string, dn: string | null, kind: AdObjectKind | null, why: string): void {
    const state = this.tenant.syncedObject(immutableId);
    if (!this.tenant.removeSynced(immutableId)) return;
    this.exported.delete(immutableId);
    this.cloudManaged.delete(immutableId);
    report.counts.removed += 1;
    report.changes.push({ action: 'removed', kind: kind ?? state?.kind ?? null, dn, immutableId, notes: [why] });
  }

  /**
   * Entra Connect imports IsExchangeCloudManaged from the cloud: a mailbox set back to False gets AD's
   * Exchange attributes exported again.
   */
  private readBackCloudManaged(report: SyncReport): void {
    for (const [id, last] of this.exported) {
      const state = this.tenant.syncedObject(id);
      if (!state) continue;
      const was = this.cloudManaged.get(id);
      this.cloudManaged.set(id, state.isExchangeCloudManaged);
      if (was === true && !state.isExchangeCloudManaged && last.kind === 'user') {
        const guidEntry = [...this.known.entries()].find(([, k]) => k.immutableId === id);
        const dn = last.input.distinguishedName;
        try {
          this.export(report, guidEntry?.[0] ?? id, { inScope: true, kind: last.kind, dn, objectGuidB64: guidEntry?.[0] ?? id, immutableId: id, input: last.input }, true);
        } catch (err) {
          if (!(err instanceof ExportFailed)) throw err;
        }
      }
    }
  }

  private async onDemand(dn: string, objectTypeName: string | undefined): Promise<OnDemandReport> {
    const report: OnDemandReport = {
      ...this.newReport('on-demand', 'on-demand'),
      kind: 'on-demand',
      result: { status: 'Success' },
    };
    const steps: ProvisioningStep[] = [];
    const fail = (errorCode: string, reason: string, step: ProvisioningStep): OnDemandReport => {
      steps.push(step);
      report.result = { status: 'Failure', errorCode, reason, steps };
      return this.finish(report);
    };
    try {
      const entry = await this.read(report, (session) => session.objectByDn(dn));
      if (!entry) {
        return fail('ObjectNotFound', `The object '${dn}' was not found in Active Directory.`, {
          name: 'EntryImport',
          type: 'Import',
          status: 'Failure',
          description: `No object with the distinguished name '${dn}' exists in Active Directory.`,
        });
      }
      const guid = guidOf(entry);
      const anchorOfGuid = (g: string): string => this.known.get(g)?.immutableId ?? g;
      const c = classifyEntry(entry, anchorOfGuid);
      steps.push({
        name: 'EntryImport',
        type: 'Import',
        status: 'Success',
        description: `Retrieved ${c.dn} from Active Directory.`,
        details: { objectGUID: guid ?? '', objectClass: c.kind ?? 'unknown' },
      });
      const wanted = objectTypeName?.toLowerCase();
      if (c.kind && wanted && wanted !== c.kind) {
        return fail('ObjectTypeMismatch', `The object '${c.dn}' is a ${c.kind}, not a ${objectTypeName}.`, {
          name: 'EntryScoping',
          type: 'Scoping',
          status: 'Failure',
          description: `objectTypeName '${objectTypeName}' does not match the object's class (${c.kind}).`,
        });
      }
      if (!c.inScope) {
        if (guid) {
          this.known.delete(guid);
          this.retry.delete(guid);
        }
        const id = c.immutableId;
        if (id && this.tenant.syncedObject(id)) {
          this.remove(report, id, c.dn, c.kind, `out of sync scope: ${c.reason}`);
          steps.push({ name: 'EntryScoping', type: 'Scoping', status: 'Success', description: `The object is out of scope (${c.reason}).` });
          steps.push({ name: 'EntryExport', type: 'Export', status: 'Success', description: 'Deleted the object from Microsoft Entra ID.' });
          report.result = { status: 'Success', steps, action: 'Delete' };
          return this.finish(report);
        }
        steps.push({ name: 'EntryScoping', type: 'Scoping', status: 'Skipped', description: `The object is out of scope: ${c.reason}.` });
        report.result = { status: 'Skipped', reason: `The object is not in scope of the configuration: ${c.reason}.`, steps, action: 'Other' };
        return this.finish(report);
      }
      steps.push({ name: 'EntryScoping', type: 'Scoping', status: 'Success', description: 'The object is in scope of the configuration.' });
      if (guid) this.known.set(guid, { immutableId: c.immutableId, kind: c.kind, dn: c.dn });
      const existing = this.tenant.syncedObject(c.immutableId);
      steps.push({
        name: 'EntryMatching',
        type: 'Matching',
        status: 'Success',
        description: existing
          ? `Matched the object in Microsoft Entra ID by its source anchor ${c.immutableId}.`
          : `No object in Microsoft Entra ID has the source anchor ${c.immutableId}: it will be created.`,
        details: existing ? { entraId: existing.entraId } : {},
      });
      let out: SyncOutcome | null;
      try {
        out = this.export(report, guid ?? c.immutableId, c, true);
      } catch (err) {
        if (!(err instanceof ExportFailed)) throw err;
        const cause = err.cause;
        const code = cause instanceof SyncConflictError ? 'AttributeValueMustBeUnique' : 'SandboxExportError';
        return fail(code, message(cause), { name: 'EntryExport', type: 'Export', status: 'Failure', description: `Export failed: ${message(cause)}` });
      }
      steps.push({
        name: 'EntrySynchronization',
        type: 'Processing',
        status: 'Success',
        description: out?.created ? 'Determined the attributes of a new object.' : 'Determined the changed attributes.',
        details: { notes: (out?.notes ?? []).join(' | ') },
      });
      steps.push({
        name: 'EntryExport',
        type: 'Export',
        status: 'Success',
        description: out?.created ? 'Created the object in Microsoft Entra ID.' : 'Updated the object in Microsoft Entra ID.',
        details: { entraId: out?.entraId ?? '', exchangeRecipientType: out?.exo ?? '' },
      });
      report.result = { status: 'Success', steps, action: out?.created ? 'Create' : 'Update' };
      return this.finish(report);
    } catch (err) {
      report.error = message(err);
      report.result = { status: 'Failure', errorCode: 'SandboxSyncEngineError', reason: message(err), steps };
      return this.finish(report);
    }
  }
}

/** Wraps an export failure that is already in the report. */
class ExportFailed extends Error {
  constructor(override readonly cause: unknown) {
    super(message(cause));
  }
}

function guidOf(entry: LdapEntry): string | null {
  const raw = new EntryView(entry).binary('objectGUID');
  return raw && raw.length === 16 ? immutableIdFromGuidBytes(raw) : null;
}
