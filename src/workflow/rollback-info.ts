/**
 * What the request record keeps about a cancel and a roll back (in its `result`), and the sentences people read
 * about them. Shared by the request service (cancel, roll back, cards) and the runner (final messages).
 */
import { createHash } from 'node:crypto';
import { KINDS, isKindId } from '../requests';
import { isUndoStepId, keptLine, planRollback, type CompensationStep, type KeptStep, type Plan, type RollbackPlan, type RunStepFacts } from '../plans';

/**
 * Whether a request in this status may be rolled back: a run that stopped or was cancelled; and a finished change to
 * something that existed (an offboarding, a permission, forwarding …), whose roll back puts back what it found. A
 * finished creation is not rolled back: deleting what people may already use is a request of its own.
 */
export function rollbackAllowed(record: { readonly status: string; readonly kind: string }): boolean {
  if (record.status === 'failed' || record.status === 'cancelled') return true;
  return record.status === 'done' && isKindId(record.kind) && !KINDS[record.kind].creates;
}

/** Kept in the request's `result.cancelled` when it is cancelled. */
export interface CancelInfo {
  readonly by: string;
  readonly byId: string;
  readonly at: string;
  /** The status it had: pending-approval, approved, queued, running, waiting or failed. */
  readonly from: string;
}

/** Kept in the request's `result.rollback` when a roll back is asked for. */
export interface RollbackInfo {
  readonly by: string;
  readonly byId: string;
  readonly at: string;
  /** The status it had when the roll back was asked for (failed, cancelled, or done for a change). */
  readonly from: string;
  /** step_index of the first compensation step. */
  readonly firstIndex: number;
  readonly steps: readonly CompensationStep[];
  readonly kept: readonly KeptStep[];
  readonly notes: readonly string[];
  readonly digest: string;
}

const objectOf = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

export function cancelOf(record: { result: unknown }): CancelInfo | undefined {
  const c = objectOf(record.result).cancelled;
  return c && typeof c === 'object' && typeof (c as CancelInfo).by === 'string' ? (c as CancelInfo) : undefined;
}

export function rollbackOf(record: { result: unknown }): RollbackInfo | undefined {
  const r = objectOf(record.result).rollback;
  return r && typeof r === 'object' && Array.isArray((r as RollbackInfo).steps) && typeof (r as RollbackInfo).firstIndex === 'number' ? (r as RollbackInfo) : undefined;
}

/** The request's result with one more key. */
export function withResult(record: { result: unknown }, key: 'cancelled' | 'rollback', value: CancelInfo | RollbackInfo): Record<string, unknown> {
  return { ...objectOf(record.result), [key]: value };
}

/** A short fingerprint of exactly what a roll back removes and keeps (the confirmation card carries it). */
export function digestOf(plan: RollbackPlan): string {
  const what = JSON.stringify({ steps: plan.steps.map((s) => [s.id, s.action, s.input]), kept: plan.kept.map((k) => [k.stepId, k.reason]) });
  return createHash('sha256').update(what).digest('hex').slice(0, 16);
}

/** The roll back of a request's run as it stands (steps as stored, `undo.*` ignored). */
export function rollbackFor(record: { plan: unknown; reference: string }, steps: readonly RunStepFacts[]): RollbackPlan {
  const plan = record.plan as Plan | null;
  if (!plan || !Array.isArray(plan.steps)) return { steps: [], kept: [], notes: [] };
  return planRollback(plan, steps, record.reference);
}

/** "1. Create …; 4. Assign …" — the plan steps in a state, numbered as on the card. */
export function stepList(record: { plan: unknown }, steps: readonly RunStepFacts[], status: string, max = 8): string {
  const plan = record.plan as Plan | null;
  const out = steps
    .map((s, i) => ({ s, i }))
    .filter(({ s }) => !isUndoStepId(s.stepId) && s.status === status)
    .map(({ s, i }) => `${i + 1}. ${(plan?.steps.find((p) => p.id === s.stepId)?.summary ?? s.action).replace(/[.\s]+$/, '')}`);
  return out.length > max ? `${out.slice(0, max).join('; ')}; and ${out.length - max} more` : out.join('; ');
}

/** "Roll back can remove …" for messages, or '' when there is nothing to undo. */
export function rollbackOffer(reference: string, plan: RollbackPlan): string {
  if (!plan.steps.length) return '';
  return ` Roll back can remove what Mailroom created: ${plan.steps.map((s) => s.what).join('; ')}. Press Roll back on the status card or type "rollback ${reference}".`;
}

/** What stays, as sentences. */
export function keptText(kept: readonly KeptStep[]): string {
  return kept.map(keptLine).join(' ');
}
