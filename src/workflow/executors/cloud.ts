/**
 * The Entra ID (Graph) and Exchange Online step executors: every `entra.*` and `exo.set*` action of a plan.
 *
 * Each one is idempotent: it reads the current state, writes only when the desired state is missing, and then
 * **reads back** (docs/hybrid-behaviour.md: one observed Exchange call reported success and wrote nothing). A
 * write that the read-back does not show is retried: the read-back itself is repeated once after a short pause
 * (`readBack.pauseMs`, replication), then the step fails as a transient error for the runner to try again
 * (`readBack.retryAfterMs`, growing with the attempt) while `ctx.attempt < readBack.attempts` (3), and as a
 * permanent error from the third attempt on. A later try that finds the state in place reports `changed: false`.
 *
 * Errors: throttling and unavailability (Graph 408/429/5xx, Exchange's transient answers, network failures) are
 * transient and carry `retryAfterMs` from `Retry-After` when the answer had one; everything else (not found, no
 * usage location, no free licence, AD-mastered objects: the write-scope and dual-write refusals, missing
 * permissions) is permanent, with a message saying what failed, what was not changed and what to do.
 *
 * Ports: `graph` is the part of `GraphDirectory` (src/cloud/graph.ts) these executors use and `exo` the part of
 * `ExoClient` (src/cloud/exo.ts); both fit as they are. The workflow imports no adapter code.
 */
import type { LicenceInput, StepAction, StepInputs } from '../../plans';
import { GRAPH_USER_SNAPSHOT, graphUserSnapshot, StepError, type StepContext, type StepExecutor, type StepOutcome, type StepResult } from './types';

// ---------------------------------------------------------------------------------------------
// Ports
// ---------------------------------------------------------------------------------------------

/** The Graph calls the Entra executors make (`GraphDirectory` implements them). Errors are the Graph SDK's. */
export interface CloudGraphPort {
  /** GET /users/{id or UPN}?$select=…; null on 404. */
  user<T = Record<string, unknown>>(idOrUpn: string, select: readonly string[]): Promise<T | null>;
  setUsageLocation(userId: string, usageLocation: string): Promise<void>;
  assignLicense(userId: string, addSkuIds: readonly string[], removeSkuIds: readonly string[]): Promise<void>;
  addGroupMember(groupId: string, memberId: string): Promise<void>;
  removeGroupMember(groupId: string, memberId: string): Promise<void>;
  /** Ids of the groups the user is a direct member of. */
  memberOfIds(userId: string): Promise<string[]>;
}

/** Exchange Online cmdlets (`ExoClient` implements it). Errors are `ExoCommandError`s (read structurally). */
export interface CloudExoPort {
  invoke<T = Record<string, unknown>>(cmdlet: string, parameters?: Record<string, unknown>): Promise<{ readonly value: T[]; readonly warnings?: readonly string[] }>;
}

export interface ReadBackOptions {
  /** Reads after a write within one try (the first at once, the others after `pauseMs`). Default 2. */
  readonly reads?: number;
  /** Pause before a repeated read (ms). Default 2000. */
  readonly pauseMs?: number;
  /** From this attempt on a write that did not take is a permanent error; before it, a transient one. Default 3. */
  readonly attempts?: number;
  /** retryAfterMs of the transient error, times the attempt. Default 60 000. */
  readonly retryAfterMs?: number;
}

export interface CloudExecutorDeps {
  readonly graph: CloudGraphPort;
  readonly exo: CloudExoPort;
  /**
   * The Cloud Sync job. The executors trigger no sync themselves (the waiters do: waiters.ts); it is named in
   * messages about users that Entra ID does not have yet.
   */
  readonly sync: { readonly servicePrincipalId?: string; readonly jobId?: string };
  readonly readBack?: ReadBackOptions;
  /** How old a look at a user by an earlier step of the run may be to stand in for a new one (ms). Default 30 000. */
  readonly lookAgeMs?: number;
}

export type CloudAction = Extract<
  StepAction,
  | 'entra.ensureUsageLocation'
  | 'entra.assignLicence'
  | 'entra.removeLicence'
  | 'exo.setMailboxType'
  | 'exo.setCloudManaged'
  | 'exo.setPrimaryAddress'
  | 'exo.setAlias'
  | 'exo.setEmailAddresses'
  | 'exo.setHiddenFromAddressLists'
  | 'exo.setResourceCapacity'
>;

// ---------------------------------------------------------------------------------------------
// Error mapping
// ---------------------------------------------------------------------------------------------

interface GraphLikeError {
  statusCode: number;
  code?: string | null;
  message: string;
  headers?: { get(name: string): string | null } | Record<string, string | undefined>;
}

interface ExoLikeError {
  cmdlet: string;
  status: number;
  code: string;
  exceptionType: string;
  detail: string;
  transient: boolean;
  notFound: boolean;
  message: string;
  retryAfterMs?: number;
  retryAfter?: string | number;
}

function asGraphError(err: unknown): GraphLikeError | null {
  if (typeof err !== 'object' || err === null) return null;
  const e = err as { statusCode?: unknown; message?: unknown };
  return typeof e.statusCode === 'number' && typeof e.message === 'string' ? (err as GraphLikeError) : null;
}

function asExoError(err: unknown): ExoLikeError | null {
  if (typeof err !== 'object' || err === null) return null;
  const e = err as Partial<ExoLikeError>;
  return typeof e.transient === 'boolean' && typeof e.notFound === 'boolean' && typeof e.detail === 'string' && typeof e.cmdlet === 'string' ? (err as ExoLikeError) : null;
}

/** Retry-After as ms: seconds, or an HTTP date. */
export function retryAfterMs(value: string | number | null | undefined, nowMs = Date.now()): number | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  const n = Number(value);
  if (Number.isFinite(n) && n >= 0) return Math.round(n * 1000);
  const at = Date.parse(String(value));
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

function headerOf(headers: GraphLikeError['headers'], name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof (headers as { get?: unknown }).get === 'function') return (headers as { get(n: string): string | null }).get(name) ?? undefined;
  const rec = headers as Record<string, string | undefined>;
  const key = Object.keys(rec).find((k) => k.toLowerCase() === name.toLowerCase());
  return key ? rec[key] : undefined;
}

const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);

/** Connection failures and timeouts: worth another try. */
export function isNetworkError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
  const message = (err as { message?: unknown }).message;
  return typeof message === 'string' && /socket hang up|did not answer in time|timed out|network|ECONNRESET|ETIMEDOUT/i.test(message);
}

const GRAPH_TRANSIENT = new Set([408, 429, 500, 502, 503, 504]);

/** Whether a Graph error is worth another try (throttling, service trouble, no answer). */
export function isTransientGraphError(err: unknown): boolean {
  const g = asGraphError(err);
  if (g) return GRAPH_TRANSIENT.has(g.statusCode) || g.statusCode <= 0;
  return isNetworkError(err);
}

/** What a failing step was doing, for its message: "assign the Exchange Online (Plan 1) licence to x@y". */
interface Doing {
  /** e.g. "assign the Exchange Online (Plan 1) licence to a@b". */
  readonly what: string;
  /** e.g. "No licence was assigned." */
  readonly unchanged: string;
  /** The object the step is about, for "not found". */
  readonly subject: string;
  /** Extra advice for "not found" (e.g. wait for sync). */
  readonly notFoundAdvice?: string;
  readonly detail?: StepResult;
}

/** A transient StepError for an error worth retrying (or null). */
function transientOf(err: unknown, doing: Doing, system: 'Microsoft Graph' | 'Exchange Online'): StepError | null {
  const g = asGraphError(err);
  if (g && isTransientGraphError(err)) {
    const ms = retryAfterMs(headerOf(g.headers, 'retry-after'));
    const why = g.statusCode === 429 ? 'is throttling Mailroom' : g.statusCode <= 0 ? 'did not answer' : `is busy (HTTP ${g.statusCode})`;
    return new StepError(`${system} ${why} while Mailroom tried to ${doing.what}. ${doing.unchanged} Mailroom tries again by itself.`, true, ms, {
      ...doing.detail,
      status: g.statusCode,
      code: g.code ?? null,
    });
  }
  const x = asExoError(err);
  if (x?.transient) {
    const ms = typeof x.retryAfterMs === 'number' ? x.retryAfterMs : retryAfterMs(x.retryAfter);
    return new StepError(`${system} is busy or throttling (HTTP ${x.status}) while Mailroom tried to ${doing.what}. ${doing.unchanged} Mailroom tries again by itself.`, true, ms, {
      ...doing.detail,
      cmdlet: x.cmdlet,
      status: x.status,
    });
  }
  if (!g && !x && isNetworkError(err)) {
    return new StepError(`${system} could not be reached while Mailroom tried to ${doing.what}. ${doing.unchanged} Mailroom tries again by itself.`, true, undefined, {
      ...doing.detail,
      error: errorText(err),
    });
  }
  return null;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function permanent(message: string, detail?: StepResult): StepError {
  return new StepError(message, false, undefined, detail);
}

const SYNCED_READ_ONLY = /on-premises mastered Directory Sync objects|undergoing migration/i;

/** A Graph failure as a StepError. `licence` names the licence for the "none free" message. */
function graphFailure(err: unknown, doing: Doing, licence?: string): StepError {
  if (err instanceof StepError) return err;
  const t = transientOf(err, doing, 'Microsoft Graph');
  if (t) return t;
  const g = asGraphError(err);
  const detail = { ...doing.detail, ...(g ? { status: g.statusCode, code: g.code ?? null, graphMessage: g.message } : { error: errorText(err) }) };
  if (!g) return permanent(`Mailroom could not ${doing.what}: ${errorText(err)}. ${doing.unchanged} Check Mailroom's log for the cause, then press Retry.`, detail);
  const m = g.message;
  if (g.statusCode === 404) {
    return permanent(`Mailroom could not ${doing.what}: Entra ID has no ${doing.subject}. ${doing.unchanged} ${doing.notFoundAdvice ?? 'Check the name, then press Retry.'}`, detail);
  }
  if (g.statusCode === 401 || g.statusCode === 403) {
    return permanent(
      `Microsoft Graph refused to let Mailroom ${doing.what} (HTTP ${g.statusCode}: ${m}). ${doing.unchanged} An administrator must grant Mailroom's app the Graph permission for this (User.ReadWrite.All, LicenseAssignment.ReadWrite.All or GroupMember.ReadWrite.All), then press Retry.`,
      detail,
    );
  }
  if (/invalid usage location/i.test(m)) {
    return permanent(`Mailroom could not ${doing.what}: the user has no usage location, and licences need one. ${doing.unchanged} Set the usage location (a two-letter country) in the Entra admin centre, then press Retry.`, detail);
  }
  if (/does not have any available licenses|no available licen/i.test(m)) {
    return permanent(`No ${licence ?? 'such'} licence is free: buy one or free one, then press Retry. (Mailroom tried to ${doing.what}. ${doing.unchanged})`, detail);
  }
  if (/does not correspond to a valid company License/i.test(m)) {
    return permanent(`The tenant has no ${licence ?? 'such'} licence (${m}). ${doing.unchanged} Check the licence Mailroom is configured with (its skuId), then press Retry.`, detail);
  }
  if (/usageLocation/i.test(m) && /invalid value/i.test(m)) {
    return permanent(`Entra ID does not accept that usage location (${m}). ${doing.unchanged} Usage locations are two-letter country codes such as DE or GB: correct the request, then ask again.`, detail);
  }
  if (SYNCED_READ_ONLY.test(m)) {
    return permanent(
      `Entra ID refused to ${doing.what}: the object is synced from AD, so this must be changed in AD (${m}). ${doing.unchanged} Change it in AD (for a licensing group: configure it as an AD group in Mailroom's tenant settings), then press Retry.`,
      detail,
    );
  }
  return permanent(`Microsoft Graph refused to ${doing.what} (HTTP ${g.statusCode}${g.code ? `, ${g.code}` : ''}: ${m}). ${doing.unchanged} Fix the cause, then press Retry.`, detail);
}

/** An Exchange Online failure as a StepError. */
function exoFailure(err: unknown, doing: Doing): StepError {
  if (err instanceof StepError) return err;
  const t = transientOf(err, doing, 'Exchange Online');
  if (t) return t;
  const x = asExoError(err);
  const detail = { ...doing.detail, ...(x ? { cmdlet: x.cmdlet, status: x.status, exceptionType: x.exceptionType, exoMessage: x.detail } : { error: errorText(err) }) };
  if (!x) return permanent(`Mailroom could not ${doing.what}: ${errorText(err)}. ${doing.unchanged} Check Mailroom's log for the cause, then press Retry.`, detail);
  if (x.notFound) {
    return permanent(`Mailroom could not ${doing.what}: Exchange Online has no ${doing.subject}. ${doing.unchanged} ${doing.notFoundAdvice ?? 'Check the address, then press Retry.'}`, detail);
  }
  if (/DualWrite/i.test(x.exceptionType) || /DualWrite/i.test(x.detail)) {
    return permanent(
      `Exchange Online refused to ${doing.what}: the recipient is synced from AD and Entra ID does not let Exchange change this (the "dual write" error). ${doing.unchanged} Change it in AD, then press Retry.`,
      detail,
    );
  }
  if (/write scope|synchroni[sz]ed from your on-premises/i.test(x.detail)) {
    return permanent(
      `Exchange Online refused to ${doing.what}: the recipient is synced from AD and its Exchange attributes are managed there (not cloud-managed). ${doing.unchanged} Change it in AD, or make the mailbox cloud-managed first (IsExchangeCloudManaged), then press Retry.`,
      detail,
    );
  }
  if (x.status === 401 || x.status === 403) {
    return permanent(
      `Exchange Online refused to let Mailroom ${doing.what} (HTTP ${x.status}). ${doing.unchanged} An administrator must give Mailroom's app Exchange.ManageAsApp and the Exchange Recipient Administrator role, then press Retry.`,
      detail,
    );
  }
  return permanent(`Exchange Online refused to ${doing.what}: ${x.detail}. ${doing.unchanged} Fix the cause, then press Retry.`, detail);
}

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

const sleep = (ms: number): Promise<void> => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());
const same = (a: string | null | undefined, b: string | null | undefined): boolean => (a ?? '').toLowerCase() === (b ?? '').toLowerCase();

/** `SMTP:a@b` → `a@b`. */
export function bareAddress(proxyOrAddress: string | null | undefined): string {
  const s = (proxyOrAddress ?? '').trim();
  return /^smtp:/i.test(s) ? s.slice(5) : s;
}

/** The key a proxy address is compared by: its type (lower case) and address (lower case); `SMTP:` and `smtp:` are one type. */
export function proxyKey(proxy: string): string {
  const s = proxy.trim();
  const i = s.indexOf(':');
  if (i <= 0) return `smtp:${s.toLowerCase()}`;
  return `${s.slice(0, i).toLowerCase()}:${s.slice(i + 1).toLowerCase()}`;
}

const MAILBOX_TYPES = ['UserMailbox', 'SharedMailbox', 'RoomMailbox', 'EquipmentMailbox', 'LinkedMailbox', 'SchedulingMailbox'];
const GROUP_TYPES = ['MailUniversalDistributionGroup', 'MailUniversalSecurityGroup', 'MailNonUniversalGroup', 'RoomList'];

type SetCmdlet = 'Set-Mailbox' | 'Set-MailUser' | 'Set-MailContact' | 'Set-DistributionGroup';

/** The Set-* cmdlet for a recipient type, or null when Mailroom does not change such recipients. */
export function setCmdletFor(recipientTypeDetails: string): SetCmdlet | null {
  if (MAILBOX_TYPES.includes(recipientTypeDetails)) return 'Set-Mailbox';
  if (recipientTypeDetails === 'MailUser' || recipientTypeDetails === 'GuestMailUser') return 'Set-MailUser';
  if (recipientTypeDetails === 'MailContact') return 'Set-MailContact';
  if (GROUP_TYPES.includes(recipientTypeDetails)) return 'Set-DistributionGroup';
  return null;
}

const MAILBOX_TYPE_OF: Record<StepInputs['exo.setMailboxType']['type'], string> = {
  Regular: 'UserMailbox',
  Shared: 'SharedMailbox',
  Room: 'RoomMailbox',
  Equipment: 'EquipmentMailbox',
};

/** The properties of Get-Recipient / Get-Mailbox the executors read. */
interface ExoRow {
  Identity?: string;
  Name?: string;
  Guid?: string;
  ExchangeObjectId?: string;
  RecipientTypeDetails?: string;
  PrimarySmtpAddress?: string;
  WindowsEmailAddress?: string;
  EmailAddresses?: string[];
  ExternalEmailAddress?: string | null;
  Alias?: string;
  HiddenFromAddressListsEnabled?: boolean;
  IsDirSynced?: boolean;
  IsExchangeCloudManaged?: boolean;
  ResourceCapacity?: number | string | null;
}

interface GraphUserRow {
  id: string;
  userPrincipalName?: string;
  usageLocation?: string | null;
  assignedLicenses?: { skuId: string }[];
  licenseAssignmentStates?: { skuId: string; assignedByGroup?: string | null; state?: string; error?: string }[];
}

const USER_SELECT = ['id', 'userPrincipalName', 'usageLocation', 'assignedLicenses', 'licenseAssignmentStates'];

/** The most recent look at this user among the results of the run's earlier steps. */
function latestLook(ctx: StepContext, upn: string): { user: GraphUserRow; seenAt: string } | undefined {
  let best: { user: GraphUserRow; seenAt: string } | undefined;
  for (const r of Object.values(ctx.results)) {
    const s = r[GRAPH_USER_SNAPSHOT] as (GraphUserRow & { seenAt?: unknown }) | undefined;
    if (!s || typeof s.id !== 'string' || typeof s.seenAt !== 'string' || !same(s.userPrincipalName, upn)) continue;
    if (!best || s.seenAt >= best.seenAt) {
      // on a tie the later step wins: it saw (or wrote) after the earlier one
      const { seenAt, ...user } = s;
      best = { user, seenAt };
    }
  }
  return best;
}

/** The executors' shared machinery: reads with error mapping and the read-back policy. */
class Kit {
  readonly reads: number;
  readonly pauseMs: number;
  readonly attempts: number;
  readonly retryMs: number;

  constructor(readonly deps: CloudExecutorDeps) {
    const r = deps.readBack ?? {};
    this.reads = Math.max(1, r.reads ?? 2);
    this.pauseMs = r.pauseMs ?? 2000;
    this.attempts = Math.max(1, r.attempts ?? 3);
    this.retryMs = r.retryAfterMs ?? 60_000;
  }

  /** Reads until `ok` holds or the reads are used up; answers the last value read. */
  async confirm<T>(read: () => Promise<T>, ok: (v: T) => boolean): Promise<{ ok: boolean; value: T }> {
    let value = await read();
    for (let i = 1; i < this.reads && !ok(value); i++) {
      await sleep(this.pauseMs);
      value = await read();
    }
    return { ok: ok(value), value };
  }

  /** The write was accepted but the read-back does not show it: transient for the first tries, then permanent. */
  notTaken(ctx: StepContext, system: string, accepted: string, shows: string, advice: string, detail: StepResult): StepError {
    const facts = { ...detail, readBackAttempt: ctx.attempt };
    if (ctx.attempt < this.attempts) {
      return new StepError(
        `${system} accepted the change (${accepted}) but still shows ${shows}. Mailroom looks again shortly (try ${ctx.attempt} of ${this.attempts}).`,
        true,
        this.retryMs * Math.max(1, ctx.attempt),
        facts,
      );
    }
    return permanent(
      `${system} accepted the change (${accepted}) but still shows ${shows}, also after ${ctx.attempt} tries: the change did not take. Nothing else was changed. ${advice} Then press Retry.`,
      facts,
    );
  }

  /**
   * The user as an earlier step of this run saw it moments ago (the user wait, or the read-back of the step before),
   * else a fresh GET. The earlier look stands in only on a step's first try and while it is younger than
   * `lookAgeMs`: a retry, or a step run long after (a crash, a queue), always looks again.
   */
  async lookUser(upn: string, ctx: StepContext, doing: Doing): Promise<{ user: GraphUserRow; seenAt: Date; earlier: boolean }> {
    const seen = ctx.attempt <= 1 ? latestLook(ctx, upn) : undefined;
    if (seen && ctx.now.getTime() - Date.parse(seen.seenAt) <= (this.deps.lookAgeMs ?? 30_000)) return { user: seen.user, seenAt: new Date(seen.seenAt), earlier: true };
    return { user: await this.graphUser(upn, doing), seenAt: ctx.now, earlier: false };
  }

  async graphUser(upn: string, doing: Doing): Promise<GraphUserRow> {
    let u: GraphUserRow | null;
    try {
      u = await this.deps.graph.user<GraphUserRow>(upn, USER_SELECT);
    } catch (err) {
      throw graphFailure(err, doing);
    }
    if (!u) {
      throw permanent(
        `Mailroom could not ${doing.what}: Entra ID has no user ${upn}. ${doing.unchanged} ${doing.notFoundAdvice ?? 'Check that sync has created the user, then press Retry.'}`,
        { ...doing.detail, userPrincipalName: upn },
      );
    }
    return u;
  }

  async exoRead(cmdlet: 'Get-Recipient' | 'Get-Mailbox', identity: string, doing: Doing): Promise<ExoRow> {
    let rows: ExoRow[];
    try {
      rows = (await this.deps.exo.invoke<ExoRow>(cmdlet, { Identity: identity })).value;
    } catch (err) {
      throw exoFailure(err, doing);
    }
    const row = rows[0];
    if (!row) {
      throw permanent(`Mailroom could not ${doing.what}: Exchange Online has no ${doing.subject}. ${doing.unchanged} ${doing.notFoundAdvice ?? 'Check the address, then press Retry.'}`, {
        ...doing.detail,
        identity,
      });
    }
    return row;
  }

  async exoWrite(cmdlet: string, parameters: Record<string, unknown>, doing: Doing): Promise<readonly string[]> {
    try {
      const res = await this.deps.exo.invoke(cmdlet, parameters);
      return res.warnings ?? [];
    } catch (err) {
      throw exoFailure(err, doing);
    }
  }
}

/** A stable identity for writes after a read: the object's ExchangeObjectId/Guid, else what the plan named. */
function stableIdentity(row: ExoRow, identity: string): string {
  return row.ExchangeObjectId || row.Guid || identity;
}

function done(changed: boolean, result: StepResult): StepOutcome {
  return { kind: 'done', changed, result };
}

// ---------------------------------------------------------------------------------------------
// Entra ID
// ---------------------------------------------------------------------------------------------

function ensureUsageLocation(kit: Kit): StepExecutor<'entra.ensureUsageLocation'> {
  return {
    action: 'entra.ensureUsageLocation',
    async run(input, ctx) {
      const wanted = input.usageLocation.toUpperCase();
      const doing: Doing = {
        what: `set the usage location of ${input.userPrincipalName} to ${wanted}`,
        unchanged: 'The usage location was not changed.',
        subject: `user ${input.userPrincipalName}`,
        notFoundAdvice: 'Check that sync has created the user (the wait before this step), then press Retry.',
        detail: { userPrincipalName: input.userPrincipalName, usageLocation: wanted },
      };
      const look = await kit.lookUser(input.userPrincipalName, ctx, doing);
      const u = look.user;
      const before = u.usageLocation ?? null;
      if (before && (input.onlyIfMissing || same(before, wanted))) {
        // what this step saw goes on to the next ones (a re-run after a crash found the location it had written)
        return done(false, { userId: u.id, usageLocation: before, ...(same(before, wanted) ? {} : { kept: true }), [GRAPH_USER_SNAPSHOT]: graphUserSnapshot(u, look.seenAt) });
      }
      try {
        await kit.deps.graph.setUsageLocation(u.id, wanted);
      } catch (err) {
        throw graphFailure(err, doing);
      }
      if (input.confirmedBy) {
        // The licence step right after reads the user back; Entra gives no licence without a usage location.
        // What the next steps start from is what was just written; the licence step's read-back shows whether it took.
        return done(true, { userId: u.id, usageLocation: wanted, previous: before, confirmedBy: input.confirmedBy, [GRAPH_USER_SNAPSHOT]: graphUserSnapshot({ ...u, usageLocation: wanted }, ctx.now) });
      }
      const check = await kit.confirm(
        () => kit.graphUser(u.id, doing),
        (x) => same(x.usageLocation, wanted),
      );
      if (!check.ok) {
        throw kit.notTaken(ctx, 'Entra ID', `usage location ${wanted} for ${input.userPrincipalName}`, `${check.value.usageLocation ?? 'none'}`, 'Set it in the Entra admin centre.', {
          userId: u.id,
          usageLocation: check.value.usageLocation ?? null,
        });
      }
      return done(true, { userId: u.id, usageLocation: wanted, previous: before, [GRAPH_USER_SNAPSHOT]: graphUserSnapshot(check.value, ctx.now) });
    },
  };
}

/** Active assignments of a SKU, direct (`assignedByGroup` null) and through groups. */
function skuAssignments(u: GraphUserRow, skuId: string): { direct: boolean; groups: string[]; active: boolean } {
  const states = u.licenseAssignmentStates;
  if (!states) {
    const has = (u.assignedLicenses ?? []).some((l) => same(l.skuId, skuId));
    return { direct: has, groups: [], active: has };
  }
  const mine = states.filter((l) => same(l.skuId, skuId));
  const active = mine.filter((l) => (l.state ?? 'Active') === 'Active');
  return {
    direct: mine.some((l) => !l.assignedByGroup),
    groups: active.filter((l) => l.assignedByGroup).map((l) => l.assignedByGroup as string),
    active: active.length > 0,
  };
}

/** The assignment state a licensing group gave the user, if Entra has processed it yet. */
function groupAssignment(u: GraphUserRow, groupId: string): { state: string; error: string } | null {
  const s = (u.licenseAssignmentStates ?? []).find((l) => same(l.assignedByGroup, groupId));
  return s ? { state: s.state ?? 'Active', error: s.error ?? 'None' } : null;
}

async function memberOf(kit: Kit, userId: string, doing: Doing): Promise<string[]> {
  try {
    return await kit.deps.graph.memberOfIds(userId);
  } catch (err) {
    throw graphFailure(err, doing);
  }
}

function groupLicenceError(input: Extract<LicenceInput, { via: 'group' }>, a: { state: string; error: string }, userId: string): StepError | null {
  if (a.state !== 'Error') return null;
  const free = /CountViolation/i.test(a.error);
  return permanent(
    free
      ? `No licence of the group ${input.groupName} is free: ${input.userPrincipalName} is now a member of the group, but Entra ID could not give the licence (CountViolation). Buy one or free one, then press Retry; the membership stays.`
      : `${input.userPrincipalName} is now a member of the licensing group ${input.groupName}, but Entra ID reports a licence error (${a.error}). Fix it in the Entra admin centre (Licenses, then the group's errors), then press Retry; the membership stays.`,
    { userId, groupId: input.groupId, licenceState: a.state, licenceError: a.error },
  );
}

function assignLicence(kit: Kit): StepExecutor<'entra.assignLicence'> {
  return {
    action: 'entra.assignLicence',
    async run(input, ctx) {
      const upn = input.userPrincipalName;
      if (input.via === 'direct') {
        const doing: Doing = {
          what: `assign the ${input.skuName} licence to ${upn}`,
          unchanged: 'No licence was assigned.',
          subject: `user ${upn}`,
          notFoundAdvice: 'Check that sync has created the user (the wait before this step), then press Retry.',
          detail: { userPrincipalName: upn, skuId: input.skuId },
        };
        const look = await kit.lookUser(upn, ctx, doing);
        // An earlier look may skip work, never stop the step: a refusal is decided on a fresh read.
        const u = look.earlier && !look.user.usageLocation && !skuAssignments(look.user, input.skuId).active ? await kit.graphUser(upn, doing) : look.user;
        const now = skuAssignments(u, input.skuId);
        if (now.active) return done(false, { userId: u.id, skuId: input.skuId, ...(now.direct ? {} : { throughGroups: now.groups }) });
        if (!u.usageLocation) {
          throw permanent(
            `Mailroom could not assign the ${input.skuName} licence to ${upn}: the user has no usage location, and licences need one. No licence was assigned. Set the usage location (a two-letter country) in the Entra admin centre, then press Retry.`,
            { userId: u.id, skuId: input.skuId },
          );
        }
        try {
          await kit.deps.graph.assignLicense(u.id, [input.skuId], []);
        } catch (err) {
          throw graphFailure(err, doing, input.skuName);
        }
        const check = await kit.confirm(
          () => kit.graphUser(u.id, doing),
          (x) => skuAssignments(x, input.skuId).active && !!x.usageLocation,
        );
        if (!check.ok) {
          throw kit.notTaken(ctx, 'Entra ID', `the ${input.skuName} licence for ${upn}`, 'no such licence on the user', 'Check the user\'s licences in the Microsoft 365 admin centre.', {
            userId: u.id,
            skuId: input.skuId,
          });
        }
        return done(true, { userId: u.id, skuId: input.skuId, [GRAPH_USER_SNAPSHOT]: graphUserSnapshot(check.value, ctx.now) });
      }
      const doing: Doing = {
        what: `add ${upn} to the licensing group ${input.groupName}`,
        unchanged: 'The group membership was not changed.',
        subject: `user ${upn} or group ${input.groupName} (${input.groupId})`,
        notFoundAdvice: 'Check that sync has created the user and that the licensing group in Mailroom\'s tenant settings still exists, then press Retry.',
        detail: { userPrincipalName: upn, groupId: input.groupId },
      };
      const u = await kit.graphUser(upn, doing);
      const groups = await memberOf(kit, u.id, doing);
      let changed = false;
      if (!groups.some((g) => same(g, input.groupId))) {
        try {
          await kit.deps.graph.addGroupMember(input.groupId, u.id);
          changed = true;
        } catch (err) {
          const g = asGraphError(err);
          // Added by an earlier try whose answer was lost: the membership is there.
          if (!(g && g.statusCode === 400 && /already exist/i.test(g.message))) throw graphFailure(err, doing);
        }
        const check = await kit.confirm(
          () => memberOf(kit, u.id, doing),
          (ids) => ids.some((g) => same(g, input.groupId)),
        );
        if (!check.ok) {
          throw kit.notTaken(ctx, 'Entra ID', `${upn} as a member of ${input.groupName}`, 'the user outside the group', 'Add the user to the group in the Entra admin centre.', {
            userId: u.id,
            groupId: input.groupId,
          });
        }
      }
      const after = changed ? await kit.graphUser(u.id, doing) : u;
      const a = groupAssignment(after, input.groupId);
      if (a) {
        const failure = groupLicenceError(input, a, u.id);
        if (failure) throw failure;
      }
      return done(changed, { userId: u.id, groupId: input.groupId, licenceState: a?.state ?? 'processing' });
    },
  };
}

function removeLicence(kit: Kit): StepExecutor<'entra.removeLicence'> {
  return {
    action: 'entra.removeLicence',
    async run(input, ctx) {
      const upn = input.userPrincipalName;
      if (input.via === 'direct') {
        const doing: Doing = {
          what: `remove the ${input.skuName} licence from ${upn}`,
          unchanged: 'The licence was not removed.',
          subject: `user ${upn}`,
          detail: { userPrincipalName: upn, skuId: input.skuId },
        };
        const u = await kit.graphUser(upn, doing);
        const now = skuAssignments(u, input.skuId);
        if (!now.direct) {
          if (now.groups.length > 0) {
            throw permanent(
              `${upn} has the ${input.skuName} licence through a licensing group (${now.groups.join(', ')}), not directly, so Mailroom removed nothing. Remove the user from that group (or drop this step's licence another way), then press Retry.`,
              { userId: u.id, skuId: input.skuId, throughGroups: now.groups },
            );
          }
          return done(false, { userId: u.id, skuId: input.skuId });
        }
        try {
          await kit.deps.graph.assignLicense(u.id, [], [input.skuId]);
        } catch (err) {
          const g = asGraphError(err);
          // Removed by an earlier try whose answer was lost.
          if (!(g && g.statusCode === 400 && /does not have a corresponding license/i.test(g.message))) throw graphFailure(err, doing, input.skuName);
        }
        const check = await kit.confirm(
          () => kit.graphUser(u.id, doing),
          (x) => !skuAssignments(x, input.skuId).direct,
        );
        if (!check.ok) {
          throw kit.notTaken(ctx, 'Entra ID', `removal of the ${input.skuName} licence from ${upn}`, 'the licence still assigned', 'Remove it in the Microsoft 365 admin centre.', {
            userId: u.id,
            skuId: input.skuId,
          });
        }
        const left = skuAssignments(check.value, input.skuId).groups;
        return done(true, { userId: u.id, skuId: input.skuId, ...(left.length ? { stillThroughGroups: left } : {}) });
      }
      const doing: Doing = {
        what: `remove ${upn} from the licensing group ${input.groupName}`,
        unchanged: 'The group membership was not changed.',
        subject: `user ${upn} or group ${input.groupName} (${input.groupId})`,
        detail: { userPrincipalName: upn, groupId: input.groupId },
      };
      const u = await kit.graphUser(upn, doing);
      const groups = await memberOf(kit, u.id, doing);
      if (!groups.some((g) => same(g, input.groupId))) return done(false, { userId: u.id, groupId: input.groupId });
      try {
        await kit.deps.graph.removeGroupMember(input.groupId, u.id);
      } catch (err) {
        const g = asGraphError(err);
        // Removed by an earlier try whose answer was lost: the read-back decides.
        if (!(g && g.statusCode === 404)) throw graphFailure(err, doing);
      }
      const check = await kit.confirm(
        () => memberOf(kit, u.id, doing),
        (ids) => !ids.some((g) => same(g, input.groupId)),
      );
      if (!check.ok) {
        throw kit.notTaken(ctx, 'Entra ID', `removal of ${upn} from ${input.groupName}`, 'the user still in the group', 'Remove the user from the group in the Entra admin centre.', {
          userId: u.id,
          groupId: input.groupId,
        });
      }
      return done(true, { userId: u.id, groupId: input.groupId });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Exchange Online
// ---------------------------------------------------------------------------------------------

const EXO = 'Exchange Online';

function mailboxDoing(identity: string, what: string, unchanged: string, detail: StepResult): Doing {
  return {
    what,
    unchanged,
    subject: `mailbox ${identity}`,
    notFoundAdvice: 'Check the address; if the mailbox is new, wait until Exchange Online has created it, then press Retry.',
    detail: { identity, ...detail },
  };
}

function recipientDoing(identity: string, what: string, unchanged: string, detail: StepResult): Doing {
  return {
    what,
    unchanged,
    subject: `recipient ${identity}`,
    notFoundAdvice: 'Check the address (it may have changed since the request was made), then press Retry.',
    detail: { identity, ...detail },
  };
}

function setMailboxType(kit: Kit): StepExecutor<'exo.setMailboxType'> {
  return {
    action: 'exo.setMailboxType',
    async run(input, ctx) {
      const target = MAILBOX_TYPE_OF[input.type];
      const doing = mailboxDoing(input.identity, `convert the mailbox of ${input.identity} to ${input.type}`, 'The mailbox type was not changed.', { type: input.type });
      const before = await kit.exoRead('Get-Mailbox', input.identity, doing);
      if (before.RecipientTypeDetails === target) return done(false, { recipientTypeDetails: target });
      const id = stableIdentity(before, input.identity);
      await kit.exoWrite('Set-Mailbox', { Identity: id, Type: input.type }, doing);
      const check = await kit.confirm(
        () => kit.exoRead('Get-Mailbox', id, doing),
        (r) => r.RecipientTypeDetails === target,
      );
      if (!check.ok) {
        throw kit.notTaken(ctx, EXO, `Set-Mailbox -Type ${input.type} on ${input.identity}`, `${check.value.RecipientTypeDetails ?? 'another type'}`, 'Check the mailbox in the Exchange admin centre.', {
          identity: input.identity,
          recipientTypeDetails: check.value.RecipientTypeDetails ?? null,
        });
      }
      return done(true, { recipientTypeDetails: target, previous: before.RecipientTypeDetails ?? null });
    },
  };
}

function setCloudManaged(kit: Kit): StepExecutor<'exo.setCloudManaged'> {
  return {
    action: 'exo.setCloudManaged',
    async run(input, ctx) {
      const flag = `IsExchangeCloudManaged=${input.enabled ? 'True' : 'False'}`;
      const doing: Doing = {
        what: `set ${flag} on the mailbox ${input.identity}`,
        unchanged: 'The flag was not changed.',
        subject: `mailbox ${input.identity}`,
        notFoundAdvice: 'Check the address, then press Retry.',
        detail: { identity: input.identity, enabled: input.enabled },
      };
      const before = await kit.exoRead('Get-Mailbox', input.identity, doing);
      if (before.IsDirSynced === false) {
        // A cloud-only mailbox is managed in Exchange Online anyway; the flag does not apply to it.
        return done(false, { isExchangeCloudManaged: before.IsExchangeCloudManaged ?? null, cloudOnly: true });
      }
      if (before.IsExchangeCloudManaged === input.enabled) return done(false, { isExchangeCloudManaged: input.enabled });
      const id = stableIdentity(before, input.identity);
      await kit.exoWrite('Set-Mailbox', { Identity: id, IsExchangeCloudManaged: input.enabled }, doing);
      const check = await kit.confirm(
        () => kit.exoRead('Get-Mailbox', id, doing),
        (r) => r.IsExchangeCloudManaged === input.enabled,
      );
      if (!check.ok) {
        throw kit.notTaken(ctx, EXO, `${flag} on ${input.identity}`, `IsExchangeCloudManaged=${String(check.value.IsExchangeCloudManaged)}`, 'Check the mailbox with Get-Mailbox in Exchange Online PowerShell.', {
          identity: input.identity,
        });
      }
      return done(true, { isExchangeCloudManaged: input.enabled });
    },
  };
}

/** Reads a recipient and picks the Set-* cmdlet for its actual type (the plan's type may be out of date). */
async function recipientForWrite(kit: Kit, identity: string, doing: Doing): Promise<{ row: ExoRow; cmdlet: SetCmdlet; id: string }> {
  const row = await kit.exoRead('Get-Recipient', identity, doing);
  const type = row.RecipientTypeDetails ?? '';
  const cmdlet = setCmdletFor(type);
  if (!cmdlet) {
    throw permanent(`Mailroom could not ${doing.what}: it is a ${type || 'recipient of unknown type'}, which Mailroom does not change. ${doing.unchanged} Change it in the Exchange admin centre.`, {
      ...doing.detail,
      recipientTypeDetails: type,
    });
  }
  return { row, cmdlet, id: stableIdentity(row, identity) };
}

function primaryOf(row: ExoRow, cmdlet: SetCmdlet): string {
  return cmdlet === 'Set-MailContact' || cmdlet === 'Set-MailUser' ? bareAddress(row.ExternalEmailAddress) : bareAddress(row.PrimarySmtpAddress);
}

/** The parameter that sets the primary address: mailboxes -WindowsEmailAddress, groups -PrimarySmtpAddress, contacts and mail users -ExternalEmailAddress. */
function primaryParameter(cmdlet: SetCmdlet): string {
  switch (cmdlet) {
    case 'Set-Mailbox':
      return 'WindowsEmailAddress';
    case 'Set-DistributionGroup':
      return 'PrimarySmtpAddress';
    case 'Set-MailContact':
    case 'Set-MailUser':
      return 'ExternalEmailAddress';
  }
}

const SYNCED_ADVICE = 'Check the recipient in the Exchange admin centre (synced contacts, groups and mail users can only be changed in AD).';

function setPrimaryAddress(kit: Kit): StepExecutor<'exo.setPrimaryAddress'> {
  return {
    action: 'exo.setPrimaryAddress',
    async run(input, ctx) {
      const doing = recipientDoing(input.identity, `make ${input.address} the primary address of ${input.identity}`, 'The addresses were not changed.', { address: input.address });
      const { row, cmdlet, id } = await recipientForWrite(kit, input.identity, doing);
      const before = primaryOf(row, cmdlet);
      const type = row.RecipientTypeDetails ?? input.recipientType;
      if (same(before, input.address)) return done(false, { primarySmtpAddress: before, recipientTypeDetails: type });
      const parameter = primaryParameter(cmdlet);
      await kit.exoWrite(cmdlet, { Identity: id, [parameter]: input.address }, doing);
      const check = await kit.confirm(
        () => kit.exoRead('Get-Recipient', id, doing),
        (r) => same(primaryOf(r, cmdlet), input.address),
      );
      if (!check.ok) {
        throw kit.notTaken(ctx, EXO, `${cmdlet} -${parameter} ${input.address}`, `${primaryOf(check.value, cmdlet) || 'no address'} as the ${parameter === 'ExternalEmailAddress' ? 'external' : 'primary'} address`, SYNCED_ADVICE, {
          identity: input.identity,
          cmdlet,
          address: input.address,
        });
      }
      return done(true, { primarySmtpAddress: input.address, previous: before || null, recipientTypeDetails: type, cmdlet, parameter });
    },
  };
}

function setAlias(kit: Kit): StepExecutor<'exo.setAlias'> {
  return {
    action: 'exo.setAlias',
    async run(input, ctx) {
      const doing = recipientDoing(input.identity, `set the alias of ${input.identity} to ${input.alias}`, 'The alias was not changed.', { alias: input.alias });
      const { row, cmdlet, id } = await recipientForWrite(kit, input.identity, doing);
      if (same(row.Alias, input.alias)) return done(false, { alias: row.Alias ?? input.alias });
      await kit.exoWrite(cmdlet, { Identity: id, Alias: input.alias }, doing);
      const check = await kit.confirm(
        () => kit.exoRead('Get-Recipient', id, doing),
        (r) => same(r.Alias, input.alias),
      );
      if (!check.ok) {
        throw kit.notTaken(ctx, EXO, `${cmdlet} -Alias ${input.alias}`, `the alias ${check.value.Alias ?? '(none)'}`, SYNCED_ADVICE, { identity: input.identity, cmdlet });
      }
      return done(true, { alias: input.alias, previous: row.Alias ?? null, cmdlet });
    },
  };
}

function setEmailAddresses(kit: Kit): StepExecutor<'exo.setEmailAddresses'> {
  return {
    action: 'exo.setEmailAddresses',
    async run(input, ctx) {
      const listed = [...input.add.map((a) => `add ${a}`), ...input.remove.map((r) => `remove ${r}`)].join(', ');
      const doing = recipientDoing(input.identity, `change the addresses of ${input.identity} (${listed})`, 'The addresses were not changed.', { add: [...input.add], remove: [...input.remove] });
      const { row, cmdlet, id } = await recipientForWrite(kit, input.identity, doing);
      const has = (r: ExoRow, proxy: string): boolean => (r.EmailAddresses ?? []).some((p) => proxyKey(p) === proxyKey(proxy));
      const primary = bareAddress(row.PrimarySmtpAddress);
      const primaryRemoval = input.remove.find((r) => proxyKey(r) === proxyKey(`smtp:${primary}`));
      if (primaryRemoval !== undefined) {
        throw permanent(
          `${bareAddress(primaryRemoval)} is the primary address of ${input.identity}, so Mailroom cannot remove it. The addresses were not changed. Make another address primary first, then ask again.`,
          { identity: input.identity, primarySmtpAddress: primary },
        );
      }
      const toAdd = input.add.filter((a) => !has(row, a));
      const toRemove = input.remove.filter((r) => has(row, r));
      if (toAdd.length === 0 && toRemove.length === 0) return done(false, { emailAddresses: row.EmailAddresses ?? [] });
      const change: Record<string, unknown> = { '@odata.type': '#Exchange.GenericHashTable' };
      if (toAdd.length > 0) change.Add = toAdd;
      if (toRemove.length > 0) change.Remove = toRemove;
      await kit.exoWrite(cmdlet, { Identity: id, EmailAddresses: change }, doing);
      const holds = (r: ExoRow): boolean => input.add.every((a) => has(r, a)) && input.remove.every((x) => !has(r, x));
      const check = await kit.confirm(() => kit.exoRead('Get-Recipient', id, doing), holds);
      if (!check.ok) {
        const missing = input.add.filter((a) => !has(check.value, a));
        const still = input.remove.filter((x) => has(check.value, x));
        const shows = [missing.length ? `${missing.join(', ')} missing` : '', still.length ? `${still.join(', ')} still there` : ''].filter(Boolean).join(' and ');
        throw kit.notTaken(ctx, EXO, `${cmdlet} -EmailAddresses @{${toAdd.length ? `Add=${toAdd.join(',')}` : ''}${toAdd.length && toRemove.length ? '; ' : ''}${toRemove.length ? `Remove=${toRemove.join(',')}` : ''}}`, shows, SYNCED_ADVICE, {
          identity: input.identity,
          cmdlet,
        });
      }
      return done(true, { added: toAdd, removed: toRemove, emailAddresses: check.value.EmailAddresses ?? [], cmdlet });
    },
  };
}

function setHidden(kit: Kit): StepExecutor<'exo.setHiddenFromAddressLists'> {
  return {
    action: 'exo.setHiddenFromAddressLists',
    async run(input, ctx) {
      const doing = recipientDoing(input.identity, `${input.hidden ? 'hide' : 'show'} ${input.identity} ${input.hidden ? 'from' : 'in'} address lists`, 'Address list visibility was not changed.', { hidden: input.hidden });
      const { row, cmdlet, id } = await recipientForWrite(kit, input.identity, doing);
      if (row.HiddenFromAddressListsEnabled === input.hidden) return done(false, { hiddenFromAddressListsEnabled: input.hidden });
      await kit.exoWrite(cmdlet, { Identity: id, HiddenFromAddressListsEnabled: input.hidden }, doing);
      const check = await kit.confirm(
        () => kit.exoRead('Get-Recipient', id, doing),
        (r) => r.HiddenFromAddressListsEnabled === input.hidden,
      );
      if (!check.ok) {
        throw kit.notTaken(ctx, EXO, `${cmdlet} -HiddenFromAddressListsEnabled ${String(input.hidden)}`, `HiddenFromAddressListsEnabled=${String(check.value.HiddenFromAddressListsEnabled)}`, SYNCED_ADVICE, {
          identity: input.identity,
          cmdlet,
        });
      }
      return done(true, { hiddenFromAddressListsEnabled: input.hidden, cmdlet });
    },
  };
}

function setResourceCapacity(kit: Kit): StepExecutor<'exo.setResourceCapacity'> {
  return {
    action: 'exo.setResourceCapacity',
    async run(input, ctx) {
      const doing: Doing = {
        what: `set the capacity of ${input.identity} to ${input.capacity}`,
        unchanged: 'The capacity was not changed.',
        subject: `mailbox ${input.identity}`,
        notFoundAdvice: 'Check the address; if the room is new, wait until Exchange Online has created its mailbox, then press Retry.',
        detail: { identity: input.identity, capacity: input.capacity },
      };
      const before = await kit.exoRead('Get-Mailbox', input.identity, doing);
      const type = before.RecipientTypeDetails ?? '';
      if (type !== 'RoomMailbox' && type !== 'EquipmentMailbox') {
        throw permanent(`${input.identity} is a ${type || 'mailbox of unknown type'}, not a room or equipment mailbox, so it has no capacity. The capacity was not changed. Convert it to a room first, then press Retry.`, {
          identity: input.identity,
          recipientTypeDetails: type,
        });
      }
      const capacityOf = (r: ExoRow): number | null => (r.ResourceCapacity === null || r.ResourceCapacity === undefined || r.ResourceCapacity === '' ? null : Number(r.ResourceCapacity));
      if (capacityOf(before) === input.capacity) return done(false, { resourceCapacity: input.capacity });
      const id = stableIdentity(before, input.identity);
      await kit.exoWrite('Set-Mailbox', { Identity: id, ResourceCapacity: input.capacity }, doing);
      const check = await kit.confirm(
        () => kit.exoRead('Get-Mailbox', id, doing),
        (r) => capacityOf(r) === input.capacity,
      );
      if (!check.ok) {
        throw kit.notTaken(ctx, EXO, `Set-Mailbox -ResourceCapacity ${input.capacity}`, `the capacity ${String(capacityOf(check.value) ?? 'unset')}`, 'Check the room in the Exchange admin centre.', {
          identity: input.identity,
        });
      }
      return done(true, { resourceCapacity: input.capacity, previous: capacityOf(before) });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Entry point
// ---------------------------------------------------------------------------------------------

/** The executors of every `entra.*` and `exo.set*` action. */
export function cloudExecutors(deps: CloudExecutorDeps): StepExecutor[] {
  const kit = new Kit(deps);
  const list: { [A in CloudAction]: StepExecutor<A> } = {
    'entra.ensureUsageLocation': ensureUsageLocation(kit),
    'entra.assignLicence': assignLicence(kit),
    'entra.removeLicence': removeLicence(kit),
    'exo.setMailboxType': setMailboxType(kit),
    'exo.setCloudManaged': setCloudManaged(kit),
    'exo.setPrimaryAddress': setPrimaryAddress(kit),
    'exo.setAlias': setAlias(kit),
    'exo.setEmailAddresses': setEmailAddresses(kit),
    'exo.setHiddenFromAddressLists': setHidden(kit),
    'exo.setResourceCapacity': setResourceCapacity(kit),
  };
  return Object.values(list);
}

/** The actions {@link cloudExecutors} serves. */
export const CLOUD_ACTIONS: readonly CloudAction[] = [
  'entra.ensureUsageLocation',
  'entra.assignLicence',
  'entra.removeLicence',
  'exo.setMailboxType',
  'exo.setCloudManaged',
  'exo.setPrimaryAddress',
  'exo.setAlias',
  'exo.setEmailAddresses',
  'exo.setHiddenFromAddressLists',
  'exo.setResourceCapacity',
];
