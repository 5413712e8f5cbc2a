/**
 * How a Microsoft Graph or Exchange Online failure becomes a StepError, for the Entra and Exchange steps and the waits.
 *
 * Throttling and unavailability (Graph 408/429/5xx, Exchange's transient answers, network failures) are transient
 * and carry `retryAfterMs` from `Retry-After` when the answer had one; everything else (not found, no usage
 * location, no free licence, AD-mastered objects: the write-scope and dual-write refusals, missing permissions) is
 * permanent, with a message saying what failed, what was not changed and what to do.
 *
 * Errors are read structurally: Graph SDK errors by `statusCode`, `ExoCommandError`s (src/cloud/exo.ts) by their
 * `transient`/`notFound` flags. The workflow imports no adapter code.
 */
import { retryAfterMs } from '../../retry-timing';
import { StepError, type StepResult } from './types';

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

/** The error as a Graph error (status code, code, message), or null when it is none. */
export function asGraphError(err: unknown): GraphLikeError | null {
  if (typeof err !== 'object' || err === null) return null;
  const e = err as { statusCode?: unknown; message?: unknown };
  return typeof e.statusCode === 'number' && typeof e.message === 'string' ? (err as GraphLikeError) : null;
}

function asExoError(err: unknown): ExoLikeError | null {
  if (typeof err !== 'object' || err === null) return null;
  const e = err as Partial<ExoLikeError>;
  return typeof e.transient === 'boolean' && typeof e.notFound === 'boolean' && typeof e.detail === 'string' && typeof e.cmdlet === 'string' ? (err as ExoLikeError) : null;
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function headerOf(headers: GraphLikeError['headers'], name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof (headers as { get?: unknown }).get === 'function') return (headers as { get(n: string): string | null }).get(name) ?? undefined;
  const rec = headers as Record<string, string | undefined>;
  const key = Object.keys(rec).find((k) => k.toLowerCase() === name.toLowerCase());
  return key ? rec[key] : undefined;
}

/** How long a Graph or Exchange answer asked Mailroom to wait (its Retry-After), in ms. */
export function retryAfterOf(err: unknown): number | undefined {
  const x = asExoError(err);
  if (x) return typeof x.retryAfterMs === 'number' ? x.retryAfterMs : retryAfterMs(x.retryAfter);
  const g = asGraphError(err);
  return g ? retryAfterMs(headerOf(g.headers, 'retry-after')) : undefined;
}

const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);
const NETWORK_MESSAGE = /socket hang up|did not answer in time|timed out|network|ECONNRESET|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN/i;
const GRAPH_TRANSIENT = new Set([408, 429, 500, 502, 503, 504]);

/** Connection failures and timeouts: worth another try. */
function isNetworkError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
  const message = (err as { message?: unknown }).message;
  return typeof message === 'string' && NETWORK_MESSAGE.test(message);
}

/** Whether a Graph or Exchange failure is worth another try: throttling, service trouble, no answer. */
export function isTransient(err: unknown): boolean {
  const x = asExoError(err);
  if (x) return x.transient;
  const g = asGraphError(err);
  if (g) return GRAPH_TRANSIENT.has(g.statusCode) || g.statusCode <= 0;
  return isNetworkError(err);
}

/** What a failing step was doing, for its message: "assign the Exchange Online (Plan 1) licence to x@y". */
export interface Doing {
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

export function permanent(message: string, detail?: StepResult): StepError {
  return new StepError(message, false, undefined, detail);
}

/** A transient StepError for an error worth retrying (or null). */
function transientOf(err: unknown, doing: Doing, system: 'Microsoft Graph' | 'Exchange Online'): StepError | null {
  if (!isTransient(err)) return null;
  const again = `${doing.unchanged} Mailroom tries again by itself.`;
  const g = asGraphError(err);
  if (g) {
    const why = g.statusCode === 429 ? 'is throttling Mailroom' : g.statusCode <= 0 ? 'did not answer' : `is busy (HTTP ${g.statusCode})`;
    return new StepError(`${system} ${why} while Mailroom tried to ${doing.what}. ${again}`, true, retryAfterOf(err), { ...doing.detail, status: g.statusCode, code: g.code ?? null });
  }
  const x = asExoError(err);
  if (x) {
    return new StepError(`${system} is busy or throttling (HTTP ${x.status}) while Mailroom tried to ${doing.what}. ${again}`, true, retryAfterOf(err), { ...doing.detail, cmdlet: x.cmdlet, status: x.status });
  }
  return new StepError(`${system} could not be reached while Mailroom tried to ${doing.what}. ${again}`, true, undefined, { ...doing.detail, error: errorText(err) });
}

/** Not a Graph or Exchange answer at all (a fault in Mailroom or its client): the message says where to look. */
function unexpected(err: unknown, doing: Doing, detail: StepResult): StepError {
  return permanent(`Mailroom could not ${doing.what}: ${errorText(err)}. ${doing.unchanged} Check Mailroom's log for the cause, then press Retry.`, detail);
}

const SYNCED_READ_ONLY = /on-premises mastered Directory Sync objects|undergoing migration/i;

/** A Graph failure as a StepError. `licence` names the licence for the "none free" message. */
export function graphFailure(err: unknown, doing: Doing, licence?: string): StepError {
  if (err instanceof StepError) return err;
  const t = transientOf(err, doing, 'Microsoft Graph');
  if (t) return t;
  const g = asGraphError(err);
  const detail = { ...doing.detail, ...(g ? { status: g.statusCode, code: g.code ?? null, graphMessage: g.message } : { error: errorText(err) }) };
  if (!g) return unexpected(err, doing, detail);
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
export function exoFailure(err: unknown, doing: Doing): StepError {
  if (err instanceof StepError) return err;
  const t = transientOf(err, doing, 'Exchange Online');
  if (t) return t;
  const x = asExoError(err);
  const detail = { ...doing.detail, ...(x ? { cmdlet: x.cmdlet, status: x.status, exceptionType: x.exceptionType, exoMessage: x.detail } : { error: errorText(err) }) };
  if (!x) return unexpected(err, doing, detail);
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
