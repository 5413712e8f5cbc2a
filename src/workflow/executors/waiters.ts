/**
 * The waits of a plan, served by the one poller: `sync.awaitUser`, `sync.awaitContact`, `sync.awaitGroup`,
 * `exo.awaitMailbox` and `exo.awaitRecipient`. Each `checkAll` answers for every waiting step of its action with
 * a number of calls that hardly grows with the number of steps:
 *
 * - Entra ID through Graph `$batch`: one sub-request per 15 names (`in (…)` filters; advanced queries carry
 *   `ConsistencyLevel: eventual` and `$count=true`), 20 sub-requests per batch, so up to 300 waiting objects cost one
 *   HTTP request per cycle.
 * - Exchange Online through one `Get-Mailbox` / `Get-Recipient -Filter` per 50 identities (`-or` of their clauses).
 *
 * Entra Cloud Sync on demand: for a wait whose `SyncWait` asks for it, Graph `provisionOnDemand` is called for the
 * DN once per step and attempt, before the lookup. The limit (5 calls per 10 s per job, plus a safety margin) is
 * kept by an {@link OnDemandLimiter} keyed by the job: Mailroom passes the store's, so every instance on one database
 * shares one window; triggers that do not fit wait for a later cycle; a 429 blocks the job for every instance until
 * its Retry-After.
 *
 * State between polls lives in the outcome's result: `{ attempt, waitingSince, provisionOnDemand? }`. The runner is
 * expected to pass a waiting step's latest result back as `ctx.results[ctx.stepId]`; the waiters also remember it in
 * memory (per key and attempt), so a re-poll never triggers twice within a process. State of another attempt (the
 * Retry button) is ignored: a Retry starts a fresh wait and triggers provisioning again.
 *
 * Every still-waiting step is answered with `wait` (its next poll: `until`, never past its deadline); a step past
 * `timeoutMinutes` (counted from `waitingSince`) fails permanently, saying what did not appear and what to check.
 * A lookup that failed transiently leaves its steps waiting (no timeout is declared on a failed lookup); one that
 * failed permanently (permissions, a refused query) fails its steps.
 */
import type { Logger } from '../../log';
import type { RecipientExpectation, StepAction, StepInputs, SyncWait } from '../../plans';
import { opathString } from '../recipient-lookup';
import { GRAPH_USER_SNAPSHOT, graphUserSnapshot, StepError, type BatchWaiter, type StepContext, type StepOutcome, type StepResult } from './types';

// ---------------------------------------------------------------------------------------------
// Ports
// ---------------------------------------------------------------------------------------------

export interface WaiterBatchRequest {
  readonly id: string;
  readonly method: 'GET';
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface WaiterBatchResponse {
  readonly id: string;
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: unknown;
}

/** The Graph calls of the waiters (`GraphDirectory` implements them). */
export interface WaiterGraphPort {
  /** POST /$batch with ≤ 20 sub-requests; answers in the order asked. */
  batch(requests: readonly WaiterBatchRequest[]): Promise<WaiterBatchResponse[]>;
  provisionOnDemand(
    servicePrincipalId: string,
    jobId: string,
    subject: { readonly ruleId: string; readonly objectId: string; readonly objectTypeName: 'user' | 'group' | 'contact' },
  ): Promise<{ readonly status: string; readonly reason?: string; readonly errorCode?: string }>;
}

/** Exchange Online cmdlets (`ExoClient` implements it). */
export interface WaiterExoPort {
  invoke<T = Record<string, unknown>>(cmdlet: string, parameters?: Record<string, unknown>): Promise<{ readonly value: T[] }>;
}

/**
 * The rule of Microsoft's AD-to-Entra-ID Cloud Sync job used in Microsoft's provisionOnDemand example. The rule id
 * is defined in the job's schema (`GET …/jobs/{id}/schema`, `synchronizationRules`): configure it when it differs.
 */
export const DEFAULT_CLOUD_SYNC_RULE_ID = '6c409270-f78a-4bc6-af23-7cf3ab6482fe';

/**
 * Where the provisionOnDemand window is kept (`RateLimitRepository` of the store implements it; times are the
 * caller's clock). Both calls are atomic for their key, across every instance that shares the limiter.
 */
export interface OnDemandLimiter {
  /** Takes one of `limit` slots of the `windowMs` up to `now`; false when the window is full or the key blocked. */
  take(key: string, limit: number, windowMs: number, now: Date): Promise<boolean>;
  /** No slot of `key` is given before `until` (a 429's Retry-After); never shortens a block. */
  block(key: string, until: Date, now: Date): Promise<void>;
}

/** An {@link OnDemandLimiter} in this process's memory: right for tests and a single instance only. */
export class InMemoryOnDemandLimiter implements OnDemandLimiter {
  private readonly keys = new Map<string, { slots: number[]; blockedUntil: number }>();

  take(key: string, limit: number, windowMs: number, now: Date): Promise<boolean> {
    const t = now.getTime();
    const k = this.keys.get(key) ?? { slots: [], blockedUntil: 0 };
    k.slots = k.slots.filter((x) => x > t - windowMs);
    this.keys.set(key, k);
    if (t < k.blockedUntil || k.slots.length >= limit) return Promise.resolve(false);
    k.slots.push(t);
    return Promise.resolve(true);
  }

  block(key: string, until: Date, _now: Date): Promise<void> {
    const k = this.keys.get(key) ?? { slots: [], blockedUntil: 0 };
    k.blockedUntil = Math.max(k.blockedUntil, until.getTime());
    this.keys.set(key, k);
    return Promise.resolve();
  }
}

export interface WaiterDeps {
  readonly graph: WaiterGraphPort;
  readonly exo: WaiterExoPort;
  /** The Entra Cloud Sync job for provisionOnDemand (none with Connect Sync). */
  readonly sync: { readonly servicePrincipalId?: string; readonly jobId?: string; readonly ruleId?: string };
  /**
   * Where the provisionOnDemand window is kept. Mailroom passes the store's `rateLimits`, shared by every instance
   * on the database; an {@link InMemoryOnDemandLimiter} holds for one process only (unit tests). Required, so that
   * no caller gets a per-process limit without saying so.
   */
  readonly limiter: OnDemandLimiter;
  /** The clock of the provisionOnDemand limiter (ms). Default Date.now. */
  readonly now?: () => number;
  /** Graph's provisionOnDemand limit per job, and a margin added to the window. Default 5 per 10 000 ms, margin 1000 ms. */
  readonly provisionOnDemandLimit?: { readonly requests: number; readonly windowMs: number; readonly marginMs?: number };
  /** Identities per Exchange `-Filter` query. Default 50. */
  readonly identitiesPerExoCall?: number;
  /** Next poll of a waiting step (ms), by kind of wait. */
  readonly pollIntervalMs?: Partial<Record<'cloudSync' | 'connectSync' | 'mailbox' | 'recipient', number>>;
  /** Cycle-level warnings (a failed lookup); default the first step's ctx.log. */
  readonly log?: Logger;
}

export type WaitAction = Extract<StepAction, 'sync.awaitUser' | 'sync.awaitContact' | 'sync.awaitGroup' | 'exo.awaitMailbox' | 'exo.awaitRecipient'>;

type Waiting<A extends WaitAction> = { readonly key: string; readonly input: StepInputs[A]; readonly ctx: StepContext };

// ---------------------------------------------------------------------------------------------
// State kept in the wait's result
// ---------------------------------------------------------------------------------------------

/** What provisionOnDemand answered for a step (or why it was not called). */
export interface OnDemandRecord {
  readonly at: string;
  /** Success, Failure, Skipped, Warning, Unknown; `Error` when Graph refused the call; `NotConfigured` without a job. */
  readonly status: string;
  readonly reason?: string;
}

interface WaitState {
  attempt: number;
  waitingSince: string;
  provisionOnDemand?: OnDemandRecord;
}

interface Probe<A extends WaitAction> {
  readonly w: Waiting<A>;
  readonly state: WaitState;
}

function parseState(raw: unknown, attempt: number): WaitState | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  if (r.attempt !== attempt || typeof r.waitingSince !== 'string' || Number.isNaN(Date.parse(r.waitingSince))) return undefined;
  const state: WaitState = { attempt, waitingSince: r.waitingSince };
  const pod = r.provisionOnDemand;
  if (typeof pod === 'object' && pod !== null && typeof (pod as OnDemandRecord).at === 'string' && typeof (pod as OnDemandRecord).status === 'string') {
    const p = pod as OnDemandRecord;
    state.provisionOnDemand = { at: p.at, status: p.status, ...(typeof p.reason === 'string' ? { reason: p.reason } : {}) };
  }
  return state;
}

function stateResult(s: WaitState): StepResult {
  return { attempt: s.attempt, waitingSince: s.waitingSince, ...(s.provisionOnDemand ? { provisionOnDemand: { ...s.provisionOnDemand } } : {}) };
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const same = (a: unknown, b: string | null | undefined): boolean => typeof a === 'string' && a.toLowerCase() === (b ?? '').toLowerCase();
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** DNs compared as AD compares them: case-insensitively, ignoring blanks around `,` and `=`. */
export function normaliseDn(dn: string): string {
  return dn.trim().replace(/\s*([,=])\s*/g, '$1').toLowerCase();
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** OData string literal: single quotes doubled. */
function odataString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

function bare(proxy: string | null | undefined): string {
  const s = (proxy ?? '').trim();
  return /^smtp:/i.test(s) ? s.slice(5) : s;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Whether an error from Graph or Exchange is worth another try: throttling, 5xx, no answer. */
function isTransient(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { statusCode?: unknown; transient?: unknown; code?: unknown; message?: unknown };
  if (typeof e.transient === 'boolean') return e.transient;
  if (typeof e.statusCode === 'number') return e.statusCode <= 0 || [408, 429, 500, 502, 503, 504].includes(e.statusCode);
  return typeof e.message === 'string' && /ECONNRESET|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN|socket hang up|timed out|did not answer in time/i.test(e.message);
}

function retryAfterOf(err: unknown): number | undefined {
  const h = (err as { headers?: { get?: (n: string) => string | null } } | null)?.headers;
  const v = typeof h?.get === 'function' ? h.get('retry-after') : undefined;
  const n = Number(v);
  return v !== null && v !== undefined && v !== '' && Number.isFinite(n) && n >= 0 ? n * 1000 : undefined;
}

function minutes(n: number): string {
  return `${n} minute${n === 1 ? '' : 's'}`;
}

function syncEngineText(sync: SyncWait | undefined): string {
  if (!sync) return 'sync';
  return sync.engine === 'cloud' ? 'Entra Cloud Sync (its provisioning agent and configuration)' : 'Entra Connect Sync (its scheduler runs a cycle every 30 minutes)';
}

function podText(s: WaitState): string {
  const p = s.provisionOnDemand;
  if (!p) return '';
  return ` On-demand provisioning answered ${p.status}${p.reason ? `: ${p.reason}` : ''}.`;
}

/** The OU part of a DN, for messages. */
function parentOf(dn: string): string {
  const i = dn.search(/(?<!\\),/);
  return i < 0 ? dn : dn.slice(i + 1);
}

// ---------------------------------------------------------------------------------------------
// provisionOnDemand: once per step and attempt, within the job's limit
// ---------------------------------------------------------------------------------------------

/** The limiter key of a Cloud Sync job: Graph's limit is per job. */
export function onDemandLimitKey(servicePrincipalId: string, jobId: string): string {
  return `graph.provisionOnDemand:${servicePrincipalId}/${jobId}`.toLowerCase();
}

/**
 * The trigger of Graph provisionOnDemand (one per set of waiters, i.e. per poller). Its window lives in the
 * {@link OnDemandLimiter} it is given, keyed by the job, so pollers of several instances sharing one limiter (the
 * store) make at most the job's limit of calls per window together, and all honour a 429's Retry-After.
 */
export class OnDemandTrigger {
  private readonly requests: number;
  private readonly windowMs: number;

  constructor(
    private readonly graph: WaiterGraphPort,
    private readonly sync: WaiterDeps['sync'],
    private readonly now: () => number,
    limit: WaiterDeps['provisionOnDemandLimit'],
    private readonly limiter: OnDemandLimiter,
  ) {
    this.requests = Math.max(1, limit?.requests ?? 5);
    this.windowMs = (limit?.windowMs ?? 10_000) + (limit?.marginMs ?? 1_000);
  }

  /** Takes a slot of the job's window, or answers false (no call may be made now, or the limiter failed). */
  private async take(key: string, log: Logger): Promise<boolean> {
    try {
      return await this.limiter.take(key, this.requests, this.windowMs, new Date(this.now()));
    } catch (err) {
      log.warn('provisionOnDemand limiter failed; triggers wait for a later cycle', { error: errorText(err) });
      return false;
    }
  }

  /** Blocks the job's window until `until` for every instance sharing the limiter. */
  private async block(key: string, until: number, log: Logger): Promise<void> {
    try {
      await this.limiter.block(key, new Date(until), new Date(this.now()));
    } catch (err) {
      log.warn('provisionOnDemand limiter failed to record a Retry-After', { error: errorText(err) });
    }
  }

  /** Calls provisionOnDemand for the probes that ask for it and have not had it (in order, until the limit). */
  async run<A extends WaitAction>(probes: readonly Probe<A>[], syncOf: (input: StepInputs[A]) => SyncWait | undefined): Promise<void> {
    for (const p of probes) {
      const sync = syncOf(p.w.input);
      if (!sync?.provisionOnDemand || p.state.provisionOnDemand) continue;
      const at = p.w.ctx.now.toISOString();
      const { servicePrincipalId, jobId } = this.sync;
      if (!servicePrincipalId || !jobId) {
        p.state.provisionOnDemand = { at, status: 'NotConfigured', reason: 'Mailroom has no Entra Cloud Sync job configured (service principal and job id), so it waits for the next sync cycle' };
        continue;
      }
      const key = onDemandLimitKey(servicePrincipalId, jobId);
      if (!(await this.take(key, p.w.ctx.log))) return; // the window is full: later steps wait for a later cycle
      try {
        const res = await this.graph.provisionOnDemand(servicePrincipalId, jobId, { ruleId: this.sync.ruleId ?? DEFAULT_CLOUD_SYNC_RULE_ID, objectId: sync.dn, objectTypeName: sync.objectType });
        p.state.provisionOnDemand = { at, status: res.status, ...(res.reason ? { reason: res.reason } : {}) };
        p.w.ctx.log.info('provisionOnDemand', { dn: sync.dn, status: res.status, reason: res.reason, errorCode: res.errorCode });
      } catch (err) {
        const status = (err as { statusCode?: unknown }).statusCode;
        if (status === 429) {
          await this.block(key, this.now() + (retryAfterOf(err) ?? this.windowMs), p.w.ctx.log);
          p.w.ctx.log.warn('provisionOnDemand throttled; the rest waits for a later cycle', { dn: sync.dn });
          return;
        }
        if (isTransient(err)) {
          p.w.ctx.log.warn('provisionOnDemand failed for now; a later cycle tries again', { dn: sync.dn, error: errorText(err) });
          return;
        }
        // Refused (no such job, no permission): recorded, not repeated; the wait goes on for a regular cycle.
        p.state.provisionOnDemand = { at, status: 'Error', reason: errorText(err) };
        p.w.ctx.log.warn('provisionOnDemand refused', { dn: sync.dn, error: errorText(err) });
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The shared cycle: state, trigger, lookup, answer
// ---------------------------------------------------------------------------------------------

/** What a lookup found for one step. */
type Found =
  /** The desired state holds. */
  | { readonly kind: 'ok'; readonly result: StepResult }
  /** Not (yet): `why` says what is missing, for the timeout message. */
  | { readonly kind: 'missing'; readonly why: string; readonly seen: boolean }
  /** The lookup failed for now: no answer this cycle. */
  | { readonly kind: 'unknown' }
  | { readonly kind: 'error'; readonly error: StepError };

interface WaitKind<A extends WaitAction> {
  readonly action: A;
  syncOf(input: StepInputs[A]): SyncWait | undefined;
  pollMs(input: StepInputs[A]): number;
  reason(input: StepInputs[A]): string;
  lookup(probes: readonly Probe<A>[]): Promise<Map<string, Found>>;
  timeout(input: StepInputs[A], found: Extract<Found, { kind: 'missing' }> | undefined, state: WaitState): string;
}

class Memory {
  private readonly states = new Map<string, WaitState>();

  get(key: string, attempt: number): WaitState | undefined {
    return this.states.get(`${key}#${attempt}`);
  }

  set(key: string, s: WaitState): void {
    if (this.states.size > 20_000) this.states.delete(this.states.keys().next().value as string);
    this.states.set(`${key}#${s.attempt}`, s);
  }

  forget(key: string, attempt: number): void {
    this.states.delete(`${key}#${attempt}`);
  }
}

class Waiter<A extends WaitAction> implements BatchWaiter<A> {
  readonly action: A;

  constructor(
    private readonly kind: WaitKind<A>,
    private readonly trigger: OnDemandTrigger,
    private readonly memory: Memory,
  ) {
    this.action = kind.action;
  }

  async checkAll(waiting: readonly Waiting<A>[]): Promise<Map<string, StepOutcome | StepError>> {
    const out = new Map<string, StepOutcome | StepError>();
    if (waiting.length === 0) return out;
    const probes: Probe<A>[] = waiting.map((w) => {
      const prior = parseState(w.ctx.results[w.ctx.stepId], w.ctx.attempt) ?? this.memory.get(w.key, w.ctx.attempt);
      const state: WaitState = prior ? { ...prior } : { attempt: w.ctx.attempt, waitingSince: w.ctx.now.toISOString() };
      return { w, state };
    });
    await this.trigger.run(probes, (i) => this.kind.syncOf(i));
    const found = await this.kind.lookup(probes);
    for (const p of probes) {
      const { key, input, ctx } = p.w;
      const f = found.get(key) ?? { kind: 'unknown' as const };
      if (f.kind === 'ok') {
        this.memory.forget(key, ctx.attempt);
        const waited = Math.max(0, Math.round((ctx.now.getTime() - Date.parse(p.state.waitingSince)) / 1000));
        // changed: Mailroom made a provisionOnDemand call for it (a wait writes nothing else).
        const pod = p.state.provisionOnDemand?.status;
        const changed = pod !== undefined && pod !== 'NotConfigured' && pod !== 'Error';
        out.set(key, { kind: 'done', changed, result: { ...f.result, ...stateResult(p.state), waitedSeconds: waited } });
        continue;
      }
      if (f.kind === 'error') {
        this.memory.forget(key, ctx.attempt);
        out.set(key, f.error);
        continue;
      }
      const deadline = Date.parse(p.state.waitingSince) + input.timeoutMinutes * 60_000;
      if (f.kind === 'missing' && ctx.now.getTime() >= deadline) {
        this.memory.forget(key, ctx.attempt);
        out.set(key, new StepError(this.kind.timeout(input, f, p.state), false, undefined, { ...stateResult(p.state), timeoutMinutes: input.timeoutMinutes }));
        continue;
      }
      this.memory.set(key, p.state);
      const next = Math.min(ctx.now.getTime() + this.kind.pollMs(input), Math.max(deadline, ctx.now.getTime() + 1000));
      out.set(key, { kind: 'wait', until: new Date(next), reason: this.kind.reason(input), result: stateResult(p.state) });
    }
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// Entra ID lookups through $batch
// ---------------------------------------------------------------------------------------------

type Entity = 'users' | 'groups' | 'contacts';

/** One question to Entra ID: objects of `entity` whose `property` is `value`. */
interface GraphAsk {
  readonly key: string;
  readonly entity: Entity;
  readonly property: string;
  readonly value: string;
}

const SELECT: Record<Entity, string> = {
  // usage location and licences too: the Entra steps after the wait start from this look instead of asking again
  users: 'id,userPrincipalName,accountEnabled,onPremisesSamAccountName,onPremisesDistinguishedName,onPremisesSyncEnabled,usageLocation,assignedLicenses,licenseAssignmentStates',
  groups: 'id,displayName,mail,onPremisesSamAccountName,onPremisesSyncEnabled',
  contacts: 'id,displayName,mail,onPremisesSyncEnabled',
};

/** Properties Graph filters only in advanced queries (ConsistencyLevel: eventual + $count=true). */
const ADVANCED = new Set(['onPremisesSamAccountName']);
const VALUES_PER_FILTER = 15;
const BATCH_SIZE = 20;

type GraphRow = Record<string, unknown>;

/**
 * Runs the asks as few `$batch` requests as possible; answers the rows found per ask key, `unknown` for asks whose
 * query failed for now, or a StepError for asks whose query was refused.
 */
async function graphLookup(graph: WaiterGraphPort, asks: readonly GraphAsk[], log: Logger): Promise<Map<string, GraphRow[] | 'unknown' | StepError>> {
  const out = new Map<string, GraphRow[] | 'unknown' | StepError>();
  const groups = new Map<string, GraphAsk[]>();
  for (const a of asks) {
    const g = `${a.entity}|${a.property}`;
    groups.set(g, [...(groups.get(g) ?? []), a]);
  }
  const subs: { req: WaiterBatchRequest; asks: GraphAsk[] }[] = [];
  for (const list of groups.values()) {
    const first = list[0]!;
    const values = [...new Map(list.map((a) => [a.value.toLowerCase(), a.value])).values()];
    for (const part of chunk(values, VALUES_PER_FILTER)) {
      const filter = part.length === 1 ? `${first.property} eq ${odataString(part[0]!)}` : `${first.property} in (${part.map(odataString).join(',')})`;
      const advanced = ADVANCED.has(first.property);
      const url = `/${first.entity}?$filter=${encodeURIComponent(filter)}&$select=${SELECT[first.entity]}&$top=999${advanced ? '&$count=true' : ''}`;
      const lower = new Set(part.map((v) => v.toLowerCase()));
      subs.push({
        req: { id: String(subs.length + 1), method: 'GET', url, ...(advanced ? { headers: { ConsistencyLevel: 'eventual' } } : {}) },
        asks: list.filter((a) => lower.has(a.value.toLowerCase())),
      });
    }
  }
  const rowsOf = (body: unknown): GraphRow[] => {
    const v = (body as { value?: unknown } | undefined)?.value;
    return Array.isArray(v) ? v.filter((x): x is GraphRow => typeof x === 'object' && x !== null) : [];
  };
  for (const part of chunk(subs, BATCH_SIZE)) {
    let responses: WaiterBatchResponse[];
    try {
      responses = await graph.batch(part.map((s) => s.req));
    } catch (err) {
      if (isTransient(err)) {
        log.warn('Entra ID lookup failed for now; the steps stay waiting', { error: errorText(err) });
        for (const s of part) for (const a of s.asks) out.set(a.key, 'unknown');
      } else {
        const e = new StepError(
          `Mailroom could not look up objects in Entra ID (${errorText(err)}). Nothing was changed. Check that Mailroom's app has the Graph permissions User.Read.All, Group.Read.All and OrgContact.Read.All, then press Retry.`,
          false,
          undefined,
          { error: errorText(err) },
        );
        for (const s of part) for (const a of s.asks) out.set(a.key, e);
      }
      continue;
    }
    part.forEach((s, i) => {
      const res = responses[i];
      const status = res?.status ?? 0;
      if (status >= 200 && status < 300) {
        const rows = rowsOf(res?.body);
        for (const a of s.asks) out.set(a.key, rows);
      } else if (status === 0 || status === 408 || status === 429 || status >= 500) {
        for (const a of s.asks) out.set(a.key, 'unknown');
      } else {
        const m = (res?.body as { error?: { code?: string; message?: string } } | undefined)?.error;
        const e = new StepError(
          `Entra ID refused Mailroom's lookup (HTTP ${status}${m?.code ? `, ${m.code}` : ''}: ${m?.message ?? 'no message'}). Nothing was changed. Check Mailroom's Graph permissions, then press Retry.`,
          false,
          undefined,
          { status, code: m?.code ?? null },
        );
        for (const a of s.asks) out.set(a.key, e);
      }
    });
  }
  return out;
}

function fromGraph<A extends WaitAction>(
  answers: Map<string, GraphRow[] | 'unknown' | StepError>,
  probes: readonly Probe<A>[],
  decide: (p: Probe<A>, rows: GraphRow[]) => Found,
): Map<string, Found> {
  const out = new Map<string, Found>();
  for (const p of probes) {
    if (out.has(p.w.key)) continue;
    const a = answers.get(p.w.key);
    if (a === undefined || a === 'unknown') out.set(p.w.key, { kind: 'unknown' });
    else if (a instanceof StepError) out.set(p.w.key, { kind: 'error', error: a });
    else out.set(p.w.key, decide(p, a));
  }
  return out;
}

function logOf(deps: WaiterDeps, probes: readonly Probe<WaitAction>[]): Logger {
  return deps.log ?? probes[0]!.w.ctx.log;
}

function syncPoll(deps: WaiterDeps, s: SyncWait): number {
  return s.engine === 'cloud' ? (deps.pollIntervalMs?.cloudSync ?? 10_000) : (deps.pollIntervalMs?.connectSync ?? 60_000);
}

function dnMatches(row: GraphRow, dn: string): boolean {
  const seen = row.onPremisesDistinguishedName;
  return typeof seen !== 'string' || seen === '' || normaliseDn(seen) === normaliseDn(dn);
}

function userKind(deps: WaiterDeps): WaitKind<'sync.awaitUser'> {
  const name = (i: StepInputs['sync.awaitUser']): string => i.userPrincipalName ?? i.samAccountName ?? i.dn;
  return {
    action: 'sync.awaitUser',
    syncOf: (i) => i,
    pollMs: (i) => syncPoll(deps, i),
    reason: (i) =>
      i.expectAccountEnabled === undefined
        ? `Waiting until ${i.engine === 'cloud' ? 'Entra Cloud Sync' : 'Entra Connect Sync'} has created the user ${name(i)} in Entra ID`
        : `Waiting until Entra ID shows the account of ${name(i)} as ${i.expectAccountEnabled ? 'enabled' : 'disabled'}`,
    async lookup(probes) {
      const asks: GraphAsk[] = [];
      const errors = new Map<string, Found>();
      for (const p of probes) {
        const i = p.w.input;
        if (i.samAccountName) asks.push({ key: p.w.key, entity: 'users', property: 'onPremisesSamAccountName', value: i.samAccountName });
        else if (i.userPrincipalName) asks.push({ key: p.w.key, entity: 'users', property: 'userPrincipalName', value: i.userPrincipalName });
        else {
          errors.set(p.w.key, {
            kind: 'error',
            error: new StepError(`Mailroom cannot wait for the user ${i.dn} in Entra ID: the plan names neither its logon name nor its sign-in name, and Entra ID cannot be searched by DN. Nothing was changed. Ask again once the user's sign-in name is known.`, false),
          });
        }
      }
      const answers = asks.length ? await graphLookup(deps.graph, asks, logOf(deps, probes)) : new Map<string, GraphRow[] | 'unknown' | StepError>();
      const found = fromGraph(answers, probes.filter((p) => !errors.has(p.w.key)), (p, rows) => {
        const i = p.w.input;
        const hits = rows.filter((r) => (i.samAccountName ? same(r.onPremisesSamAccountName, i.samAccountName) : same(r.userPrincipalName, i.userPrincipalName)) && dnMatches(r, i.dn));
        const u = hits[0];
        if (!u) return { kind: 'missing', why: 'not in Entra ID', seen: false };
        if (i.expectAccountEnabled !== undefined && u.accountEnabled !== i.expectAccountEnabled) {
          return { kind: 'missing', why: `the account is still ${u.accountEnabled === true ? 'enabled' : 'disabled'}`, seen: true };
        }
        return {
          kind: 'ok',
          result: {
            entraId: u.id,
            userPrincipalName: u.userPrincipalName ?? null,
            accountEnabled: u.accountEnabled ?? null,
            [GRAPH_USER_SNAPSHOT]: graphUserSnapshot(u, p.w.ctx.now),
          },
        };
      });
      for (const [k, v] of errors) found.set(k, v);
      return found;
    },
    timeout(i, f, s) {
      if (f?.seen) {
        return (
          `Entra ID still shows the account of ${name(i)} as ${i.expectAccountEnabled ? 'disabled' : 'enabled'} ${minutes(i.timeoutMinutes)} after the change in AD (${i.dn}): ${i.expectAccountEnabled ? 'the person cannot sign in yet' : 'sign-in is not blocked yet'}. ` +
          `Nothing else was changed after the AD step. Check that ${syncEngineText(i)} is running.${podText(s)} Then press Retry.`
        );
      }
      return (
        `The user ${name(i)} (${i.dn}) did not appear in Entra ID within ${minutes(i.timeoutMinutes)}. Nothing else was changed after the AD step. ` +
        `Check that ${syncEngineText(i)} is running and has ${parentOf(i.dn)} in its scope.${podText(s)} Then press Retry.`
      );
    },
  };
}

function contactKind(deps: WaiterDeps): WaitKind<'sync.awaitContact'> {
  return {
    action: 'sync.awaitContact',
    syncOf: (i) => i,
    pollMs: (i) => syncPoll(deps, i),
    reason: (i) => `Waiting until ${i.engine === 'cloud' ? 'Entra Cloud Sync' : 'Entra Connect Sync'} has created the contact ${i.mail} in Entra ID`,
    async lookup(probes) {
      const asks = probes.map((p): GraphAsk => ({ key: p.w.key, entity: 'contacts', property: 'mail', value: p.w.input.mail }));
      const answers = await graphLookup(deps.graph, asks, logOf(deps, probes));
      return fromGraph(answers, probes, (p, rows) => {
        const c = rows.find((r) => same(r.mail, p.w.input.mail) && r.onPremisesSyncEnabled !== false);
        return c ? { kind: 'ok', result: { entraId: c.id, mail: p.w.input.mail } } : { kind: 'missing', why: 'not in Entra ID', seen: false };
      });
    },
    timeout: (i, _f, s) =>
      `The contact ${i.mail} (${i.dn}) did not appear in Entra ID within ${minutes(i.timeoutMinutes)}. Nothing else was changed after the AD step. ` +
      `Check that ${syncEngineText(i)} is running and has ${parentOf(i.dn)} in its scope, and that the contact has mail set in AD.${podText(s)} Then press Retry.`,
  };
}

function groupKind(deps: WaiterDeps): WaitKind<'sync.awaitGroup'> {
  return {
    action: 'sync.awaitGroup',
    syncOf: (i) => i,
    pollMs: (i) => syncPoll(deps, i),
    reason: (i) => `Waiting until ${i.engine === 'cloud' ? 'Entra Cloud Sync' : 'Entra Connect Sync'} has created the group ${i.samAccountName} in Entra ID`,
    async lookup(probes) {
      const asks = probes.map((p): GraphAsk => ({ key: p.w.key, entity: 'groups', property: 'onPremisesSamAccountName', value: p.w.input.samAccountName }));
      const answers = await graphLookup(deps.graph, asks, logOf(deps, probes));
      return fromGraph(answers, probes, (p, rows) => {
        const g = rows.find((r) => same(r.onPremisesSamAccountName, p.w.input.samAccountName) && r.onPremisesSyncEnabled !== false);
        return g
          ? { kind: 'ok', result: { entraId: g.id, displayName: g.displayName ?? null, mail: g.mail ?? null } }
          : { kind: 'missing', why: 'not in Entra ID', seen: false };
      });
    },
    timeout: (i, _f, s) =>
      `The group ${i.samAccountName} (${i.dn}) did not appear in Entra ID within ${minutes(i.timeoutMinutes)}. Nothing else was changed after the AD step. ` +
      `Check that ${syncEngineText(i)} is running and has ${parentOf(i.dn)} in its scope.${podText(s)} Then press Retry.`,
  };
}

// ---------------------------------------------------------------------------------------------
// Exchange Online lookups: one -Filter query per 50 identities
// ---------------------------------------------------------------------------------------------

interface ExoRow {
  Name?: string;
  Alias?: string;
  Guid?: string;
  ExchangeObjectId?: string;
  ExchangeGuid?: string;
  ExternalDirectoryObjectId?: string;
  UserPrincipalName?: string;
  RecipientTypeDetails?: string;
  PrimarySmtpAddress?: string;
  WindowsEmailAddress?: string;
  EmailAddresses?: string[];
  ExternalEmailAddress?: string | null;
  HiddenFromAddressListsEnabled?: boolean;
}

/** The OPATH clauses that find one identity: GUIDs by object ids, addresses by UPN and proxy, else alias or name. */
export function identityFilter(identity: string): string {
  const id = identity.trim();
  if (GUID.test(id)) return `(ExternalDirectoryObjectId -eq ${opathString(id)} -or Guid -eq ${opathString(id)} -or ExchangeGuid -eq ${opathString(id)})`;
  if (id.includes('@')) {
    const address = bare(id);
    return `(UserPrincipalName -eq ${opathString(address)} -or EmailAddresses -eq ${opathString(`smtp:${address}`)})`;
  }
  return `(Alias -eq ${opathString(id)} -or Name -eq ${opathString(id)})`;
}

/** Whether a row is the recipient an identity names (as {@link identityFilter} finds it). */
export function rowIsIdentity(row: ExoRow, identity: string): boolean {
  const id = identity.trim();
  if (GUID.test(id)) return [row.Guid, row.ExchangeObjectId, row.ExternalDirectoryObjectId, row.ExchangeGuid].some((g) => same(g, id));
  if (id.includes('@')) {
    const address = bare(id);
    return (
      same(row.UserPrincipalName, address) ||
      same(row.PrimarySmtpAddress, address) ||
      (row.EmailAddresses ?? []).some((p) => /^smtp:/i.test(p) && same(bare(p), address))
    );
  }
  return same(row.Alias, id) || same(row.Name, id);
}

/**
 * Finds the recipients for many identities with as few calls as possible: one `-Filter` per `perCall` identities.
 * A chunk whose query Exchange refuses is asked again identity by identity, so one odd identity fails alone.
 */
async function exoLookup(
  exo: WaiterExoPort,
  cmdlet: 'Get-Mailbox' | 'Get-Recipient',
  identities: readonly { key: string; identity: string }[],
  perCall: number,
  log: Logger,
): Promise<Map<string, ExoRow[] | 'unknown' | StepError>> {
  const out = new Map<string, ExoRow[] | 'unknown' | StepError>();
  const ask = async (part: readonly { key: string; identity: string }[]): Promise<void> => {
    const unique = [...new Map(part.map((p) => [p.identity.toLowerCase(), p.identity])).values()];
    const filter = unique.map(identityFilter).join(' -or ');
    try {
      const { value } = await exo.invoke<ExoRow>(cmdlet, { Filter: filter, ResultSize: 'Unlimited' });
      for (const p of part) out.set(p.key, value.filter((r) => rowIsIdentity(r, p.identity)));
    } catch (err) {
      if (isTransient(err)) {
        log.warn('Exchange Online lookup failed for now; the steps stay waiting', { cmdlet, error: errorText(err) });
        for (const p of part) out.set(p.key, 'unknown');
        return;
      }
      if (unique.length > 1) {
        for (const one of unique) await ask(part.filter((p) => p.identity.toLowerCase() === one.toLowerCase()));
        return;
      }
      const e = new StepError(
        `Exchange Online refused Mailroom's lookup of ${unique[0] ?? 'a recipient'} (${errorText(err)}). Nothing was changed. Check the address and Mailroom's Exchange permissions, then press Retry.`,
        false,
        undefined,
        { cmdlet, error: errorText(err) },
      );
      for (const p of part) out.set(p.key, e);
    }
  };
  for (const part of chunk(identities, perCall)) await ask(part);
  return out;
}

function fromExo<A extends WaitAction>(answers: Map<string, ExoRow[] | 'unknown' | StepError>, probes: readonly Probe<A>[], decide: (p: Probe<A>, rows: ExoRow[]) => Found): Map<string, Found> {
  const out = new Map<string, Found>();
  for (const p of probes) {
    const a = answers.get(p.w.key);
    if (a === undefined || a === 'unknown') out.set(p.w.key, { kind: 'unknown' });
    else if (a instanceof StepError) out.set(p.w.key, { kind: 'error', error: a });
    else out.set(p.w.key, decide(p, a));
  }
  return out;
}

function mailboxKind(deps: WaiterDeps): WaitKind<'exo.awaitMailbox'> {
  return {
    action: 'exo.awaitMailbox',
    syncOf: () => undefined,
    pollMs: () => deps.pollIntervalMs?.mailbox ?? 60_000,
    reason: (i) => `Waiting until Exchange Online has created the mailbox of ${i.identity} (minutes; up to an hour observed)`,
    async lookup(probes) {
      const answers = await exoLookup(deps.exo, 'Get-Mailbox', probes.map((p) => ({ key: p.w.key, identity: p.w.input.identity })), deps.identitiesPerExoCall ?? 50, logOf(deps, probes));
      return fromExo(answers, probes, (_p, rows) => {
        const m = rows[0];
        return m
          ? { kind: 'ok', result: { recipientTypeDetails: m.RecipientTypeDetails ?? null, primarySmtpAddress: m.PrimarySmtpAddress ?? null, exchangeGuid: m.ExchangeGuid ?? null } }
          : { kind: 'missing', why: 'no mailbox', seen: false };
      });
    },
    timeout: (i) =>
      `No mailbox for ${i.identity} appeared in Exchange Online within ${minutes(i.timeoutMinutes)} of the licence. Nothing else was changed after the licence. ` +
      'Check in the Microsoft 365 admin centre that the user holds an Exchange Online licence without errors (usage location set, a free licence, no conflicting plan), then press Retry.',
  };
}

/** What differs between a recipient and the expectation (empty when it holds). */
export function differences(row: ExoRow, expect: RecipientExpectation): string[] {
  const out: string[] = [];
  if (expect.recipientTypeDetails !== undefined && row.RecipientTypeDetails !== expect.recipientTypeDetails) {
    out.push(`it is a ${row.RecipientTypeDetails ?? 'recipient of unknown type'}, not a ${expect.recipientTypeDetails}`);
  }
  if (expect.primarySmtpAddress !== undefined && !same(bare(row.PrimarySmtpAddress), expect.primarySmtpAddress)) {
    out.push(`its primary address is ${row.PrimarySmtpAddress || 'empty'}, not ${expect.primarySmtpAddress}`);
  }
  const has = (proxy: string): boolean => (row.EmailAddresses ?? []).some((p) => /^smtp:/i.test(p) && same(bare(p), bare(proxy)));
  for (const p of expect.emailAddressesInclude ?? []) if (!has(p)) out.push(`${bare(p)} is not among its addresses`);
  for (const p of expect.emailAddressesExclude ?? []) if (has(p)) out.push(`${bare(p)} is still among its addresses`);
  if (expect.externalEmailAddress !== undefined && !same(bare(row.ExternalEmailAddress), expect.externalEmailAddress)) {
    out.push(`its external address is ${bare(row.ExternalEmailAddress) || 'empty'}, not ${expect.externalEmailAddress}`);
  }
  if (expect.hiddenFromAddressListsEnabled !== undefined && row.HiddenFromAddressListsEnabled !== expect.hiddenFromAddressListsEnabled) {
    out.push(`it is ${row.HiddenFromAddressListsEnabled ? 'hidden from' : 'shown in'} address lists`);
  }
  return out;
}

function recipientKind(deps: WaiterDeps): WaitKind<'exo.awaitRecipient'> {
  return {
    action: 'exo.awaitRecipient',
    syncOf: (i) => i.sync,
    pollMs: (i) => (i.sync ? Math.min(syncPoll(deps, i.sync), deps.pollIntervalMs?.recipient ?? 30_000) : (deps.pollIntervalMs?.recipient ?? 30_000)),
    reason: (i) => `Waiting until ${i.identity} shows in Exchange Online as expected${i.sync ? ` (after ${i.sync.engine === 'cloud' ? 'Entra Cloud Sync' : 'Entra Connect Sync'})` : ''}`,
    async lookup(probes) {
      const answers = await exoLookup(deps.exo, 'Get-Recipient', probes.map((p) => ({ key: p.w.key, identity: p.w.input.identity })), deps.identitiesPerExoCall ?? 50, logOf(deps, probes));
      return fromExo(answers, probes, (p, rows) => {
        if (rows.length === 0) return { kind: 'missing', why: 'it is not in Exchange Online', seen: false };
        let best: string[] | undefined;
        for (const r of rows) {
          const diff = differences(r, p.w.input.expect);
          if (diff.length === 0) {
            return {
              kind: 'ok',
              result: { recipientTypeDetails: r.RecipientTypeDetails ?? null, primarySmtpAddress: r.PrimarySmtpAddress ?? null, exoId: r.ExchangeObjectId ?? r.Guid ?? null },
            };
          }
          if (!best || diff.length < best.length) best = diff;
        }
        return { kind: 'missing', why: (best ?? []).join('; '), seen: true };
      });
    },
    timeout(i, f, s) {
      const check = i.sync
        ? `Check that ${syncEngineText(i.sync)} is running and carried the change of ${i.sync.dn}, and that the AD object has mail set.`
        : 'Check that sync is running and that the AD object has mail set.';
      const what = f?.seen ? `${i.identity} shows in Exchange Online, but ${f.why}, ${minutes(i.timeoutMinutes)} later.` : `${i.identity} did not appear in Exchange Online within ${minutes(i.timeoutMinutes)}.`;
      return `${what} Nothing else was changed after the step before. ${check}${podText(s)} Then press Retry.`;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Entry point
// ---------------------------------------------------------------------------------------------

/**
 * The five waiters, sharing one provisionOnDemand trigger and its limiter (make one set per poller; pass the store's
 * `rateLimits` as `limiter` so that several instances share the job's limit). Their `checkAll` answers
 * every waiting step: `done`, `wait` (next poll at `until`) or a StepError.
 */
export function cloudWaiters(deps: WaiterDeps): BatchWaiter[] {
  const trigger = new OnDemandTrigger(deps.graph, deps.sync, deps.now ?? Date.now, deps.provisionOnDemandLimit, deps.limiter);
  const memory = new Memory();
  return [
    new Waiter(userKind(deps), trigger, memory),
    new Waiter(contactKind(deps), trigger, memory),
    new Waiter(groupKind(deps), trigger, memory),
    new Waiter(mailboxKind(deps), trigger, memory),
    new Waiter(recipientKind(deps), trigger, memory),
  ];
}
