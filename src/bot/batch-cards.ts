/**
 * The cards of a batch (a bulk request), built from the workflow's views through the templates in `cards/`: its
 * preview (with File and Plan per row), one page of each row's plan, the approvers' card (Approve, Reject with a
 * reason) and the requester's progress card. Every value reaches the card escaped (see cards.ts); the markdown
 * written here goes through `md`.
 */
import type { BatchPlanView } from '../workflow/batches';
import type { BatchApprovalView, BatchPreviewView, BatchProgressView } from '../workflow/ports';
import type { CardRenderer } from './cards';
import { bulletList, md } from './markdown';

type Card = Record<string, unknown>;

/** At most this many invalid rows are listed on the preview (the rest are counted). */
export const PREVIEW_INVALID_LISTED = 25;

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** The button that files a batch: every row when all are valid, else only the valid ones (never a plain "file"). */
export function fileButtonTitle(view: Pick<BatchPreviewView, 'valid' | 'invalid'>): string {
  return view.invalid.length ? `File the ${view.valid} valid one${view.valid === 1 ? '' : 's'}` : `File all ${view.valid}`;
}

/** The preview of a batch: every row checked, the invalid ones by line; File (all, or the valid ones) and Plan per row until it is filed. */
export function batchPreviewCard(cards: CardRenderer, view: BatchPreviewView, notice = ''): Card {
  const invalid = view.invalid.slice(0, PREVIEW_INVALID_LISTED);
  const more = view.invalid.length - invalid.length;
  const open = !view.filed && view.valid > 0;
  const next = view.filed
    ? `"status ${view.reference}" says where its requests stand.`
    : !view.valid
      ? 'Nothing was filed: no row is valid.'
      : view.invalid.length
        ? `Nothing was filed. Fix the invalid rows and send the file or lines again, or file only the ${plural(view.valid, 'valid one')} (or type "file ${view.reference} valid").`
        : `Nothing was filed yet: file all ${view.valid} here (or type "file ${view.reference}").`;
  return cards.render('batch-preview', {
    reference: view.reference,
    title: `${view.reference} · Bulk ${view.kindTitle}: ${view.valid} of ${view.rows} rows valid`,
    filedText: view.filed ? `Filed by ${view.filed.byName}: ${plural(view.filed.count, 'request')}.` : '',
    notice,
    facts: [
      { title: 'Rows', value: String(view.rows) },
      { title: 'Valid', value: String(view.valid) },
      { title: 'Invalid', value: String(view.invalid.length) },
    ],
    summary: view.summary,
    invalidTitle: `Invalid rows (${view.invalid.length}):`,
    invalid: invalid.map((r) => ({ line: r.line, message: r.message })),
    more: more > 0 ? `… and ${more} more invalid row${more === 1 ? '' : 's'}.` : '',
    next,
    canFileAll: open && view.invalid.length === 0,
    canFileValid: open && view.invalid.length > 0,
    canPlan: view.valid > 0,
    fileTitle: fileButtonTitle(view),
  });
}

/** One page of the rows' plans: each valid row's line and its steps; how many were left out, and where to see them. */
export function batchPlanCard(cards: CardRenderer, plan: BatchPlanView): Card {
  const shown = plan.rows.length;
  const first = plan.from + 1;
  return cards.render('batch-plan', {
    reference: plan.reference,
    title: `${plan.reference} · Plan per row (${plan.kindTitle})`,
    intro: shown ? `Rows ${first} to ${plan.from + shown} of the ${plural(plan.total, 'valid row')}: the steps each one runs.` : 'No valid row to show.',
    rows: plan.rows.map((r) => ({ text: 'steps' in r ? md`**Line ${r.line}**\n${bulletList(r.steps)}` : md`**Line ${r.line}**: ${r.problem}` })),
    leftOutText: plan.leftOut > 0 ? `${plural(plan.leftOut, 'row')} left out here, so that the message fits in Teams${plan.nextFrom !== undefined ? ' (Next rows shows more)' : ''}; "export batch ${plan.reference}" or a smaller file shows them.` : '',
    hasNext: plan.nextFrom !== undefined,
    nextFrom: plan.nextFrom ?? 0,
    nextTitle: 'Next rows',
  });
}

/** The approvers' card of a batch: what is asked, the steps one row runs, counts; Approve and Reject while it waits, else who decided. */
export function batchApprovalCard(cards: CardRenderer, view: BatchApprovalView, notice = ''): Card {
  const d = view.decided;
  const canDecide = !d && view.waiting > 0;
  const statusText = d ? (d.outcome === 'approve' ? `Approved by ${d.byName}` : `Rejected by ${d.byName}: ${d.reason ?? ''}`) : view.waiting ? `Waits for approval: ${plural(view.waiting, 'request')}` : 'Nothing waits for a decision.';
  return cards.render('batch-approval', {
    reference: view.reference,
    title: `${view.reference} · Bulk ${view.kindTitle}`,
    notice,
    statusText,
    statusColor: d ? (d.outcome === 'approve' ? 'Good' : 'Attention') : 'Accent',
    facts: [
      { title: 'Requested by', value: view.requesterName },
      { title: 'Kind', value: view.kindTitle },
      { title: 'Requests', value: String(view.total) },
      { title: 'Stage', value: String(view.stage) },
      ...view.counts.map((c) => ({ title: c.status, value: String(c.n) })),
    ],
    summary: view.summary,
    planTitle: view.stepsOfLine !== undefined ? `Plan of each row (as for line ${view.stepsOfLine}; ${plural(view.steps.length, 'step')})` : `Plan of each row (${plural(view.steps.length, 'step')})`,
    steps: view.steps.length ? bulletList(view.steps) : '',
    hint: canDecide ? `Or type "approve ${view.reference}", or "reject ${view.reference} <reason>"; "status ${view.reference}" lists them.` : '',
    canDecide,
  });
}

/** The requester's progress card of a batch: counts per status, the failed rows with why (the first few), and the end. */
export function batchProgressCard(cards: CardRenderer, view: BatchProgressView): Card {
  const failed = view.counts.find((c) => c.status === 'failed')?.n ?? 0;
  return cards.render('batch-progress', {
    title: `${view.reference} · Bulk ${view.kindTitle}: progress`,
    statusText: view.finished ? `Finished: ${view.counts.map((c) => `${c.n} ${c.status}`).join(', ')}` : `In progress: ${plural(view.total, 'request')}`,
    statusColor: view.finished ? (failed ? 'Attention' : 'Good') : 'Accent',
    facts: [{ title: 'Requests', value: String(view.total) }, ...view.counts.map((c) => ({ title: c.status, value: String(c.n) }))],
    failed: view.failed.map((f) => ({ reference: f.reference, error: f.error })),
    failedMore: view.failedMore ? `… and ${view.failedMore} more failed.` : '',
    hint: `"status ${view.reference}" and "export batch ${view.reference}" show every row.`,
  });
}
