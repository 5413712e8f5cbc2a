import { keptLine, type RollbackPlan } from '../plans';
import { isKindId, KINDS } from '../requests';
import type { DecisionRecord, RequestRecord } from '../store';
import { cancelOf, rollbackAllowed, rollbackOf } from './rollback-info';

/** Everything a card or a list needs to show a request, computed in one place. */
export interface RequestView {
  readonly reference: string;
  readonly kind: string;
  readonly kindTitle: string;
  readonly status: string;
  /** `pending` while waiting for a decision, else the store status. */
  readonly approvalStatus: 'pending' | 'approved' | 'rejected' | 'cancelled' | 'expired' | 'other';
  readonly statusText: string;
  /** The colour of the status line: Good (approved, done), Accent (waiting for a decision, under way), else Attention. */
  readonly statusColor: 'Good' | 'Accent' | 'Attention';
  readonly stageText: string;
  readonly requesterName: string;
  readonly requesterAadObjectId: string;
  readonly createdAt: string;
  readonly version: number;
  readonly facts: { title: string; value: string }[];
  /** A step's line is bold (`weight`) while it runs or waits. */
  readonly steps: { n: number; summary: string; system: string; state: string; icon: string; weight: StepWeight; detail: string }[];
  /** The run has started: the cards show each step's state. */
  readonly running: boolean;
  /** A failed run can be retried after the cause is fixed. */
  readonly canRetry: boolean;
  /** The card offers Cancel: the request has not finished and is not being rolled back. */
  readonly canCancel: boolean;
  /** The card offers Roll back: the request stopped or was cancelled and Mailroom created something it can remove. */
  readonly canRollBack: boolean;
  /** A roll back was asked for (it runs, stopped or is done). */
  readonly rollingBack: boolean;
  /** The roll back's steps and their states (empty until one is asked for). */
  readonly undoSteps: { n: number; summary: string; state: string; icon: string; weight: StepWeight; detail: string }[];
  /** What the roll back leaves as it is, one sentence each (empty until one is asked for). */
  readonly kept: { text: string }[];
  readonly rollbackNotes: { text: string }[];
  readonly notes: string[];
  readonly summary: string;
}

function factValue(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return v.length ? v.map(factValue).join(', ') : 'none';
  if (v && typeof v === 'object') {
    const o = v as { name?: unknown; text?: unknown; person?: unknown; as?: unknown; recipient?: unknown; smtpAddress?: unknown };
    if (typeof o.name === 'string') return o.name;
    // a moment (a leave date, an automatic reply's end) as people read it
    if (typeof o.text === 'string') return o.text;
    // full access for the manager or a named person; forwarding to a recipient or an outside address
    if (o.person !== undefined) return `${factValue(o.person)}${o.as === 'manager' ? ' (the manager)' : ''}`;
    if (o.recipient !== undefined) return factValue(o.recipient);
    if (typeof o.smtpAddress === 'string') return o.smtpAddress;
  }
  return JSON.stringify(v) ?? '';
}

/** A step's run state as the cards show it. */
export interface StepState {
  readonly stepIndex: number;
  readonly status: string;
  readonly error: string | null;
}

type StepWeight = 'Bolder' | 'Default';
/**
 * The colours and weights are the view's, not bindings of the templates: `${if(…)}` in a template is evaluated by
 * adaptive-expressions for every card and every step, and these cards are expanded several times per request.
 */
const stepWeight = (state: string): StepWeight => (state === 'running' || state === 'waiting' ? 'Bolder' : 'Default');
function statusColorOf(status: string, approvalStatus: RequestView['approvalStatus']): RequestView['statusColor'] {
  if (approvalStatus === 'approved' || status === 'done') return 'Good';
  if (approvalStatus === 'pending' || status === 'queued' || status === 'running' || status === 'waiting') return 'Accent';
  return 'Attention';
}

const STATE_ICONS: Record<string, string> = { pending: '○', running: '▶', waiting: '⏳', done: '✔', failed: '✖', skipped: '–', cancelled: '–' };

/** "2025-03-03 09:14 UTC" */
export function shortTime(iso: string | null | undefined): string {
  return iso ? iso.replace('T', ' ').slice(0, 16) + ' UTC' : '?';
}

/**
 * Everything a card shows of a request. `possible`: what a roll back would remove now (given when the request
 * stopped or was cancelled and no step is still running); the card offers Roll back when it removes anything.
 */
export function buildView(record: RequestRecord, decisions: readonly DecisionRecord[], stageCount: number, run: readonly StepState[] = [], possible?: RollbackPlan): RequestView {
  const kindTitle = isKindId(record.kind) ? KINDS[record.kind].title : record.kind;
  const fields = isKindId(record.kind) ? KINDS[record.kind].fields : [];
  const facts: { title: string; value: string }[] = [];
  const req = (record.request ?? {}) as Record<string, unknown>;
  for (const f of fields) {
    const v = req[f.id] ?? record.values[f.id];
    if (v === undefined || v === null || v === '') continue;
    facts.push({ title: f.label, value: factValue(v) });
  }
  const p = (record.plan ?? { steps: [], notes: [] }) as { steps?: { summary: string; system: string }[]; notes?: string[]; warnings?: string[] };
  const states = new Map(run.map((r) => [r.stepIndex, r]));
  const detailOf = (st: StepState | undefined): string => (st && st.error && ['failed', 'cancelled', 'skipped'].includes(st.status) ? st.error : '');
  const steps = (p.steps ?? []).map((s, i) => {
    const st = states.get(i);
    const state = st?.status ?? (run.length ? 'pending' : '');
    return { n: i + 1, summary: s.summary, system: s.system, state, icon: state ? `${STATE_ICONS[state] ?? ''} ` : '', weight: stepWeight(state), detail: detailOf(st) };
  });
  const rollback = rollbackOf(record);
  const undoSteps = (rollback?.steps ?? []).map((s, i) => {
    const st = states.get(rollback!.firstIndex + i);
    const state = st?.status ?? 'pending';
    return { n: i + 1, summary: s.summary, state, icon: `${STATE_ICONS[state] ?? ''} `, weight: stepWeight(state), detail: detailOf(st) };
  });
  const cancelled = cancelOf(record);
  const planned = steps.length;
  const doneCount = steps.filter((x) => x.state === 'done').length;
  const last = decisions[decisions.length - 1];
  const approvalStatus: RequestView['approvalStatus'] =
    record.status === 'pending-approval' ? 'pending' : (['approved', 'rejected', 'cancelled', 'expired'] as const).find((s) => s === record.status) ?? 'other';
  const at = shortTime;
  let statusText: string;
  switch (record.status) {
    case 'pending-approval':
      statusText = `Waiting for approval${stageCount > 1 ? ` (stage ${record.stage} of ${stageCount})` : ''}${last ? `; stage ${last.stage} approved by ${last.approverName}` : ''}.`;
      break;
    case 'approved':
      statusText = `Approved by ${record.decidedByName ?? last?.approverName ?? '?'} at ${at(record.decidedAt)}.`;
      break;
    case 'rejected':
      statusText = `Rejected by ${record.decidedByName ?? '?'} at ${at(record.decidedAt)}: ${record.decisionReason ?? ''}`;
      break;
    case 'cancelled':
      statusText = cancelled
        ? `Cancelled by ${cancelled.by} at ${at(cancelled.at)}` +
          (run.length
            ? `: ${doneCount} of ${planned} steps were done before the cancel${steps.some((x) => x.state === 'running') ? '; the step that was running is finishing' : ''}.`
            : '.')
        : `Cancelled at ${at(record.updatedAt)}.`;
      break;
    case 'expired':
      statusText = `Expired at ${at(record.decidedAt ?? record.updatedAt)} without a decision.`;
      break;
    case 'queued':
      statusText = `Approved by ${record.decidedByName ?? '?'} at ${at(record.decidedAt)}; queued to run.`;
      break;
    case 'running':
      statusText = rollback
        ? `Rolling back (asked by ${rollback.by} at ${at(rollback.at)}): ${undoSteps.filter((x) => x.state === 'done').length} of ${undoSteps.length} removal steps done.`
        : `Approved by ${record.decidedByName ?? '?'} at ${at(record.decidedAt)}; running.`;
      break;
    case 'waiting':
      statusText = rollback
        ? `Rolling back (asked by ${rollback.by} at ${at(rollback.at)}); waiting: ${undoSteps.find((x) => x.state === 'waiting')?.summary ?? 'for the next step'}`
        : `Approved by ${record.decidedByName ?? '?'} at ${at(record.decidedAt)}; waiting: ${steps.find((x) => x.state === 'waiting')?.summary ?? 'for the next step'}`;
      break;
    case 'done':
      statusText = `Done at ${at(record.updatedAt)} (approved by ${record.decidedByName ?? '?'} at ${at(record.decidedAt)}).`;
      break;
    case 'failed':
      statusText = rollback ? `Roll back stopped: ${record.error ?? 'a step failed'}` : `Stopped: ${record.error ?? 'a step failed'}`;
      break;
    case 'rolled-back':
      statusText = `Rolled back at ${at(record.updatedAt)} (asked by ${rollback?.by ?? '?'}): ${undoSteps.length} removal step${undoSteps.length === 1 ? '' : 's'} done${rollback?.kept.length ? `; ${rollback.kept.length === 1 ? '1 change stays' : `${rollback.kept.length} changes stay`}` : ''}.`;
      break;
    default:
      statusText = `Status: ${record.status as string}.`;
  }
  const first = facts[0];
  return {
    reference: record.reference,
    kind: record.kind,
    kindTitle,
    status: record.status,
    approvalStatus,
    statusText,
    statusColor: statusColorOf(record.status, approvalStatus),
    stageText: stageCount > 1 ? `Approval in ${stageCount} stages.` : '',
    requesterName: record.requesterName,
    requesterAadObjectId: record.requesterAadObjectId,
    createdAt: at(record.createdAt),
    version: record.version,
    facts,
    steps,
    running: run.length > 0,
    canRetry: record.status === 'failed',
    canCancel: ['pending-approval', 'approved', 'queued', 'running', 'waiting'].includes(record.status) && !rollback,
    canRollBack: !rollback && rollbackAllowed(record) && (possible?.steps.length ?? 0) > 0,
    rollingBack: rollback !== undefined,
    undoSteps,
    kept: (rollback?.kept ?? []).map((k) => ({ text: keptLine(k) })),
    rollbackNotes: (rollback?.notes ?? []).map((text) => ({ text })),
    notes: [...(p.notes ?? []), ...(p.warnings ?? [])],
    summary: first ? first.value : '',
  };
}
