import { isUndoStepId } from '../plans';
import type { RequestRecord } from '../store';
import type { RunStep } from './run-ports';
import { keptText, rollbackOf } from './rollback-info';

const SECRET_HINT = /pass(word|wd|phrase)|secret|token|pwd$|apikey|privatekey|authorization/i;

/** A step's input or result as the audit log keeps it: secret-looking keys left out. */
export function maskInput(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(maskInput);
  if (!value || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  // the audit log refuses secret-looking keys outright, so they are left out (a password is never in a step's input)
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) if (!SECRET_HINT.test(k)) out[k] = maskInput(v);
  return out;
}

/** What a finished run's steps found or made, for the request's result. */
export function summarise(steps: readonly RunStep[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const s of steps) if (s.result && typeof s.result === 'object') Object.assign(out, s.result as Record<string, unknown>);
  delete out.changed; // per step, not for the request
  delete out.assignedByEarlierTry; // per step (roll back reads it from the step), not for the request
  delete out.addedByEarlierTry; // (the same, for an AD group membership)
  return out;
}

/** Every compensation step is done: what was removed, what was already gone and what stays, for the audit and the requester. */
export function rolledBackReport(record: RequestRecord, steps: readonly RunStep[]): { audit: Record<string, unknown>; message: string } {
  const info = rollbackOf(record);
  const undo = steps.filter((s) => isUndoStepId(s.stepId));
  const whatOf = (s: RunStep) => info?.steps.find((c) => c.id === s.stepId)?.what ?? s.action;
  const gone = (s: RunStep) => (s.result as { changed?: unknown } | null)?.changed === false;
  const removed = undo.filter((s) => !gone(s));
  const already = undo.filter(gone);
  const parts = [
    `${record.reference} was rolled back.`,
    removed.length ? `Removed: ${removed.map(whatOf).join('; ')}.` : '',
    already.length ? `Already gone: ${already.map(whatOf).join('; ')}.` : '',
    info?.kept.length ? `Stays: ${keptText(info.kept)}` : 'Nothing else that Mailroom did stays.',
    ...(info?.notes ?? []),
  ];
  return {
    audit: { removed: removed.map((s) => s.stepId), alreadyGone: already.map((s) => s.stepId), kept: (info?.kept ?? []).map((k) => k.stepId) },
    message: parts.filter(Boolean).join(' '),
  };
}
