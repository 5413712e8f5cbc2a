/**
 * How an AD step fails: the directory adapter's errors, a missing object and a faulty plan, as StepErrors.
 */
import type { ChangeOutcome } from '../../directory';
import { StepError, type StepResult } from './types';

/** The shape of the directory adapter's DirectoryError (matched structurally: the workflow depends on the port only). */
interface DirectoryFailure extends Error {
  readonly kind: string;
  readonly transient: boolean;
  readonly outcome: ChangeOutcome;
  readonly code?: number;
  readonly dn?: string;
  readonly serverMessage?: string;
}

export function isDirectoryFailure(err: unknown): err is DirectoryFailure {
  if (!(err instanceof Error)) return false;
  const e = err as Partial<DirectoryFailure>;
  return typeof e.kind === 'string' && typeof e.transient === 'boolean' && (e.outcome === 'unchanged' || e.outcome === 'unknown' || e.outcome === 'partial');
}

/** Whether the directory refused a create because the DN or a name is taken (someone was quicker than the look). */
export function isAlreadyExists(err: unknown): boolean {
  return isDirectoryFailure(err) && err.kind === 'already-exists';
}

/**
 * A StepError for anything an AD step threw. Transient: the adapter's transient kinds (busy, unavailable,
 * timeouts, connection lost), any write whose outcome is unknown (the retry looks first, so it is safe), and a
 * closed client (this instance is shutting down; another picks the step up). Everything else is permanent, with
 * the adapter's message, which says what failed and what was not changed.
 */
export function toStepError(err: unknown, doing: string): StepError {
  if (err instanceof StepError) return err;
  if (isDirectoryFailure(err)) {
    const transient = err.transient || err.outcome === 'unknown' || err.kind === 'closed';
    const detail: StepResult = { directoryError: err.kind, outcome: err.outcome };
    if (err.code !== undefined) detail.ldapCode = err.code;
    if (err.dn !== undefined) detail.dn = err.dn;
    if (err.serverMessage !== undefined) detail.serverMessage = err.serverMessage;
    return new StepError(err.message, transient, undefined, detail);
  }
  const message = err instanceof Error ? err.message : String(err);
  return new StepError(`Mailroom could not ${doing}: ${message}. This is a fault in Mailroom; it is not known what was changed in AD, so look before pressing Retry.`, false, undefined, {
    error: err instanceof Error ? err.name : typeof err,
  });
}

/** The object a step changes is not (or no longer) at its DN. `what`: e.g. "the account". */
export function missing(dn: string, what: string): StepError {
  const subject = what.length ? what[0]!.toUpperCase() + what.slice(1) : what;
  return new StepError(`${subject} '${dn}' does not exist in Active Directory (it may have been deleted, moved or renamed); nothing was changed.`, false, undefined, { dn });
}

/** A plan that asks for something an executor must not do (a bug in the planner, not in AD). */
export function badPlan(message: string): StepError {
  return new StepError(`${message} This is a fault in Mailroom's plan; nothing was changed in AD.`, false);
}
