/**
 * What the mailbox wait (`exo.awaitMailbox`, waits.ts) needs to stay true while it waits: Exchange Online creates a
 * mailbox only for a user who holds an Exchange licence, and Entra gives no licence without a usage location. The
 * plan's earlier steps (`entra.usage-location`, `entra.assign-licence`) put both in place and read them back; if either
 * is gone while the wait goes on (an admin took the licence back, a licence clean-up ran, a licensing group changed),
 * no mailbox will ever appear, and waiting out the timeout (hours) helps nobody.
 *
 * So the wait checks them once it has waited `graceMs` without a mailbox (Entra's reads may lag a write by moments,
 * never by minutes): when one is gone, the wait fails at once, naming what is missing, and says that Retry puts it back.
 * On a new attempt of the wait (Retry, or a restart that took the step over) that finds them gone, the wait runs the
 * plan's steps that put them in place again ({@link StepRerunPort}: their own executors, with their approved inputs,
 * audited), then waits for the mailbox.
 *
 * Why not put the licence back silently at once: Entra does not lose a licence on its own; someone or something took
 * it, perhaps on purpose. The helpdesk hears it at once and decides (Retry, Cancel or Roll back); Retry needs no admin
 * centre and no admin rights. Why not re-queue the licence step: a `done` step is final in the store (the claim rule
 * of run-repository.ts relies on it), so the wait runs the step's executor itself.
 */
import { sameIgnoringCase } from './cloud-compare';
import type { GraphAnswers, GraphAsk, GraphRow } from './graph-batch';
import { StepError, type StepContext, type StepResult, type WaitingStep } from './types';
import type { Found, Probe } from './wait-cycle';

/** The plan's step ids that put the preconditions in place (planner.ts, newMailboxUser). */
export const USAGE_LOCATION_STEP = 'entra.usage-location';
export const LICENCE_STEP = 'entra.assign-licence';

/** Runs done steps of the waiting step's request again (their executors, their stored inputs), audited; throws a StepError. */
export interface StepRerunPort {
  rerun(ctx: StepContext, stepIds: readonly string[]): Promise<StepResult[]>;
}

/** One thing the mailbox needs that is gone, and the earlier step that puts it back. */
export interface MissingPrecondition {
  readonly what: string;
  readonly stepId: string;
}

type Results = StepContext['results'];

/** What the earlier steps of the plan put in place (nothing when the plan has no such steps, e.g. licences through an AD group). */
function expectations(results: Results): { usageLocation?: string; skuId?: string; groupId?: string } {
  const out: { usageLocation?: string; skuId?: string; groupId?: string } = {};
  const ul = results[USAGE_LOCATION_STEP]?.usageLocation;
  if (typeof ul === 'string' && ul) out.usageLocation = ul;
  const lic = results[LICENCE_STEP];
  if (typeof lic?.skuId === 'string') out.skuId = lic.skuId;
  else if (typeof lic?.groupId === 'string') out.groupId = lic.groupId;
  return out;
}

/** The Entra object id of the user, as the earlier steps saw it (Entra may have given it another UPN than AD's). */
export function userIdOf(results: Results): string | undefined {
  for (const id of [LICENCE_STEP, USAGE_LOCATION_STEP]) {
    const u = results[id]?.userId;
    if (typeof u === 'string' && u) return u;
  }
  return undefined;
}

/** Whether there is anything to check for this wait. */
export function hasPreconditions(results: Results): boolean {
  return Object.keys(expectations(results)).length > 0;
}

interface LicenceState {
  skuId?: unknown;
  assignedByGroup?: unknown;
  state?: unknown;
  error?: unknown;
}

/** The user as the check found it: the object the earlier steps saw, another one with its sign-in name, or none. */
export type UserLook =
  | { readonly kind: 'same'; readonly row: GraphRow }
  | { readonly kind: 'replaced'; readonly row: GraphRow; readonly was: string }
  | { readonly kind: 'gone' };

/** What is gone on the Entra user `row` of what the earlier steps put in place. */
export function missingPreconditions(results: Results, row: GraphRow): MissingPrecondition[] {
  const e = expectations(results);
  const out: MissingPrecondition[] = [];
  if (e.usageLocation && !(typeof row.usageLocation === 'string' && row.usageLocation)) {
    out.push({ what: `its usage location (${e.usageLocation} was set)`, stepId: USAGE_LOCATION_STEP });
  }
  const states = Array.isArray(row.licenseAssignmentStates) ? (row.licenseAssignmentStates as LicenceState[]) : undefined;
  if (e.skuId) {
    const active = states
      ? states.some((s) => sameIgnoringCase(s.skuId, e.skuId) && (s.state ?? 'Active') === 'Active')
      : Array.isArray(row.assignedLicenses) && (row.assignedLicenses as { skuId?: unknown }[]).some((l) => sameIgnoringCase(l.skuId, e.skuId));
    if (!active) out.push({ what: `its Exchange licence (SKU ${e.skuId})`, stepId: LICENCE_STEP });
  } else if (e.groupId) {
    // a group's licence may take a while to be processed: only an error counts
    const s = states?.find((x) => sameIgnoringCase(x.assignedByGroup, e.groupId));
    if (s?.state === 'Error') out.push({ what: `its licence from the licensing group ${e.groupId} (Entra ID reports ${typeof s.error === 'string' ? s.error : 'an error'})`, stepId: LICENCE_STEP });
  }
  return out;
}

function duration(seconds: number): string {
  return seconds < 90 ? `${Math.max(1, Math.round(seconds))} seconds` : `${Math.round(seconds / 60)} minutes`;
}

/** The wait's permanent failure when the user, or something the mailbox needs, is gone. */
export function preconditionFailure(upn: string, user: UserLook, missing: readonly MissingPrecondition[], waitedSeconds: number): StepError {
  const after = `No mailbox for ${upn} appeared after ${duration(waitedSeconds)}, and none will:`;
  const detail = { user: user.kind, missing: missing.map((m) => m.what), rerunOnRetry: missing.map((m) => m.stepId) };
  if (user.kind === 'gone') {
    return new StepError(
      `${after} Entra ID has no user ${upn} any more. Nothing else was changed. Check whether the AD account was deleted or moved out of sync's scope; Roll back or Cancel the request if it is no longer wanted.`,
      false,
      undefined,
      detail,
    );
  }
  const them = missing.length > 1 ? 'them' : 'it';
  const who =
    user.kind === 'replaced'
      ? `Entra ID has deleted the user and created it again (${upn} is now the object ${String(user.row.id)}, not ${user.was}), and the new one is`
      : 'Entra ID shows the user';
  const message =
    `${after} ${who} without ${missing.map((m) => m.what).join(' and ')}, although the earlier steps put ${them} in place and read ${them} back. ` +
    `Exchange Online creates a mailbox only for a licensed user, so someone or something has ${user.kind === 'replaced' ? 'replaced the user' : `removed ${them}`} since ` +
    `(an admin, a licence clean-up, a licensing group${user.kind === 'replaced' ? ', sync' : ''}). Nothing else was changed. ` +
    `Press Retry and Mailroom puts back ${missing.length > 1 ? 'both' : 'it'} as approved, then waits for the mailbox again; Cancel or Roll back the request instead if ${user.kind === 'replaced' ? 'this was' : `${them} ${missing.length > 1 ? 'were' : 'was'} removed`} on purpose.`;
  return new StepError(message, false, undefined, detail);
}

/**
 * On a new attempt: runs the steps that put back what is missing, in plan order. Answers the error to give the step
 * when they could not (their own StepError: no free licence, no rights…), else undefined (the wait goes on).
 */
export async function putBack(rerun: StepRerunPort, step: WaitingStep<'exo.awaitMailbox'>, missing: readonly MissingPrecondition[]): Promise<StepError | undefined> {
  const ids = [USAGE_LOCATION_STEP, LICENCE_STEP].filter((id) => missing.some((m) => m.stepId === id));
  if (ids.length === 0) return undefined;
  // the licence needs the usage location: when the licence is gone, its step runs after the usage location's (a no-op if it is there)
  const steps = ids.includes(LICENCE_STEP) && step.ctx.results[USAGE_LOCATION_STEP] ? [USAGE_LOCATION_STEP, LICENCE_STEP] : ids;
  try {
    await rerun.rerun(step.ctx, steps);
    return undefined;
  } catch (err) {
    return err instanceof StepError ? err : new StepError(err instanceof Error ? err.message : String(err), true);
  }
}

/**
 * The mailbox wait's check, for the steps still without a mailbox (`found` missing): those that waited `graceMs`, and
 * those on the first check of a new attempt (attempt > 1: a Retry, or a restart that took the step over), are looked up
 * in Entra ID in one go (`lookUsers`, by object id). A new attempt puts back what is gone (`rerun`) and waits on; any
 * other finds its failure in `found`.
 */
export async function checkMailboxPreconditions(
  probes: readonly Probe<'exo.awaitMailbox'>[],
  found: Map<string, Found>,
  lookUsers: (asks: GraphAsk[]) => Promise<GraphAnswers>,
  options: { readonly graceMs: number; readonly rerun?: StepRerunPort },
): Promise<Map<string, Found>> {
  const firstOfRetry = (p: Probe<'exo.awaitMailbox'>): boolean => p.step.ctx.attempt > 1 && p.state.waitingSince === p.step.ctx.now.toISOString();
  const waited = (p: Probe<'exo.awaitMailbox'>): number => p.step.ctx.now.getTime() - Date.parse(p.state.waitingSince);
  const due = probes.filter((p) => found.get(p.step.key)?.kind === 'missing' && hasPreconditions(p.step.ctx.results) && (firstOfRetry(p) || waited(p) >= options.graceMs));
  if (due.length === 0) return found;
  // by the object id the earlier steps saw, and by sign-in name (a user deleted and created again has a new id)
  const byUpn = (key: string): string => `${key}#upn`;
  const asks = due.flatMap((p): GraphAsk[] => {
    const id = userIdOf(p.step.ctx.results);
    const upn: GraphAsk = { key: byUpn(p.step.key), entity: 'users', property: 'userPrincipalName', value: p.step.input.identity };
    return id ? [{ key: p.step.key, entity: 'users', property: 'id', value: id }, upn] : [upn];
  });
  const users = await lookUsers(asks);
  for (const p of due) {
    const id = userIdOf(p.step.ctx.results);
    const idRows = id ? users.get(p.step.key) : [];
    const upnRows = users.get(byUpn(p.step.key));
    if (!Array.isArray(idRows) || !Array.isArray(upnRows)) continue; // a look-up failed for now (or was refused): the wait goes on as before
    const seen = id ? idRows.find((r) => sameIgnoringCase(r.id, id)) : undefined;
    const now = upnRows.find((r) => sameIgnoringCase(r.userPrincipalName, p.step.input.identity));
    const user: UserLook = seen ? { kind: 'same', row: seen } : now ? (id ? { kind: 'replaced', row: now, was: id } : { kind: 'same', row: now }) : { kind: 'gone' };
    const missing = user.kind === 'gone' ? [] : missingPreconditions(p.step.ctx.results, user.row);
    if (user.kind === 'same' && missing.length === 0) continue;
    if (user.kind !== 'gone' && missing.length > 0 && firstOfRetry(p) && options.rerun) {
      const failed = await putBack(options.rerun, p.step, missing);
      if (failed) found.set(p.step.key, { kind: 'error', error: failed });
      continue; // put back: the mailbox follows the licence
    }
    if (user.kind === 'replaced' && missing.length === 0) continue; // a new object, but licensed: its mailbox will come
    found.set(p.step.key, { kind: 'error', error: preconditionFailure(p.step.input.identity, user, missing, waited(p) / 1000) });
  }
  return found;
}
