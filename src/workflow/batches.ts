/**
 * Bulk requests: a pasted CSV becomes a batch (B-n). Its preview is kept (and its card, to update it in place);
 * `file B-n` or the card's File button files each valid row as an ordinary request of the batch (checked again, as
 * names may have been taken since; only its requester files it); its approvers get one approval card for the batch,
 * and Approve / Reject on any copy (or `approve B-n` / `reject B-n <reason>`) decide every row at once, each through
 * the checks of a single decision, after which every copy says who decided. Each row then runs, can be retried,
 * cancelled and rolled back as any request, and is audited. The requester's one progress card is updated in place as
 * rows move on (latest state wins, never waited for), and they are told once, when every row has ended, with a
 * report; `status B-n`, `plan B-n` and `export batch B-n` show where each row stands and what it runs.
 */
import { plan as makePlan, PlanRefusedError } from '../plans';
import { KINDS, LookupUnavailableError, isKindId, validateRequest, type BulkTextOptions, type RecipientLookup, type TenantProfile } from '../requests';
import { REQUEST_STATUSES, StoreError, type BatchCardAudience, type BatchCounts, type BatchRecord, type RequestRecord, type RequestStatus, type Store } from '../store';
import type { ApprovalAccess } from './approval-access';
import type { ApprovalService } from './approvals';
import type { RequestIntake } from './intake';
import type { Logger } from '../log';
import type { BatchAddress, BatchApprovalView, BatchCardContent, BatchPlace, BatchPreviewView, BatchProgressView } from './ports';
import { actorEvent } from './use-case-deps';
import type { BulkPreview, RequestActor } from './use-cases';

/** What the batch keeps of its preview: the rows to file (as typed) and the ones that were invalid. */
interface BatchRows {
  readonly valid: readonly { readonly line: number; readonly values: Record<string, string> }[];
  readonly invalid: readonly { readonly line: number; readonly message: string }[];
}

export type BatchAnswer = { readonly ok: true; readonly message: string; readonly facts?: readonly { title: string; value: string }[] } | { readonly ok: false; readonly message: string };

/** The answer to `file B-n` (and File on the preview card): the preview as it stands after, when the actor may see it. */
export type FileAnswer = { readonly ok: boolean; readonly message: string; readonly preview?: BatchPreviewView };

/** The answer to a decision on a batch: its approval card as it stands after, when the actor may see it. */
export type DecideAnswer = { readonly ok: boolean; readonly message: string; readonly approval?: BatchApprovalView };

/** One row's plan: the steps it runs, or why it cannot be planned now. */
export type RowPlan = { readonly line: number; readonly steps: readonly string[] } | { readonly line: number; readonly problem: string };

/** `plan B-n` and Plan per row: one page of the valid rows' plans, cut to fit in one Teams message. */
export interface BatchPlanView {
  readonly reference: string;
  readonly kindTitle: string;
  readonly rows: readonly RowPlan[];
  /** Valid rows in the batch. */
  readonly total: number;
  /** Index (0-based, among the valid rows) of the first row shown. */
  readonly from: number;
  /** Where the next page starts; undefined on the last page. */
  readonly nextFrom: number | undefined;
  /** Rows not shown on this page (before and after it). */
  readonly leftOut: number;
}

export type PlanAnswer = { readonly ok: true; readonly plan: BatchPlanView } | { readonly ok: false; readonly message: string };

/** How people hear about a batch (the Teams layer; see ports.ts). */
export interface BatchNotifications {
  batchApprovalNeeded(batch: BatchAddress, view: BatchApprovalView, approverUserIds: readonly string[]): Promise<readonly BatchPlace[]>;
  batchCardsChanged(places: readonly BatchPlace[], card: BatchCardContent): Promise<void>;
  batchProgress(batch: BatchAddress, view: BatchProgressView, place: BatchPlace | undefined): Promise<BatchPlace | undefined>;
  batchMessage(batch: BatchAddress, text: string): Promise<void>;
}

/** What planning one row of a previewed batch needs (validation against the tenant, then the planner). */
export interface RowPlanning {
  readonly lookup: RecipientLookup;
  readonly profile: () => Promise<TenantProfile>;
  readonly now: () => Date;
  readonly timeZone?: string;
}

export interface BatchServiceDeps {
  readonly store: Pick<Store, 'batches' | 'requests' | 'audit'>;
  readonly intake: Pick<RequestIntake, 'submit' | 'previewBulk'>;
  readonly approvals: Pick<ApprovalService, 'decide'>;
  readonly access: Pick<ApprovalAccess, 'approverUserIds' | 'visibleAmong'>;
  readonly notifications: BatchNotifications;
  /** Plans rows of a batch that is not filed yet (Plan per row); absent: only filed rows show their plans. */
  readonly planning?: RowPlanning;
  readonly log: Logger;
  readonly now: () => Date;
  /**
   * How long an answer (a button's invoke, a command's turn) waits for filing or deciding a batch; longer work goes on
   * and the cards show its end. Teams gives a bot about 15 s to answer; default 5 s.
   */
  readonly answerWithinMs?: number;
}

/** At most this many rows, and this many characters of steps, on one page of plans (Teams: ~28 KB a card, 16,000 characters a message). */
export const PLAN_PAGE_ROWS = 40;
export const PLAN_PAGE_CHARS = 9_000;
/** Failed rows listed on the progress card and in the report. */
const FAILED_LISTED = 10;
/** While a batch is being filed or decided, that says so this often (ms): one that stops saying so was interrupted. */
const BEAT_MS = 15_000;
/** How long a filing or a decision may stand still (ms) before it counts as interrupted and is taken up again. */
export const STALE_AFTER_MS = 120_000;
/** How many times a decision on a batch runs at most (pressed, then taken up again after interruptions). */
const DECISION_RUNS = 3;

/** The steps of a stored plan (`plan_json`) as their sentences. */
function stepsOf(plan: unknown): string[] {
  const steps = (plan as { steps?: unknown } | null)?.steps;
  return Array.isArray(steps) ? steps.map((st) => (st as { summary?: unknown }).summary).filter((x): x is string => typeof x === 'string') : [];
}

/** Counts in the order of the request statuses. */
function countList(counts: BatchCounts): { status: string; n: number }[] {
  return REQUEST_STATUSES.flatMap((status) => (counts.byStatus[status] ? [{ status, n: counts.byStatus[status] }] : []));
}

/** The counts of some rows of a batch (an approver's), as countByBatch answers for all of them. */
function countsOf(rows: readonly RequestRecord[]): BatchCounts {
  const byStatus: Partial<Record<RequestStatus, number>> = {};
  for (const r of rows) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
  const failed = rows.filter((r) => r.status === 'failed').slice(0, FAILED_LISTED).map((r) => ({ reference: r.reference, error: r.error }));
  return { total: rows.length, byStatus, failed };
}

const endedCount = (counts: BatchCounts): number => ENDED.reduce((n, s) => n + (counts.byStatus[s] ?? 0), 0);
const kindTitleOf = (kind: string): string => (isKindId(kind) ? KINDS[kind].title : kind);

/** Statuses a row does not leave by itself. */
const ENDED: readonly RequestStatus[] = ['done', 'failed', 'rejected', 'expired', 'cancelled', 'rolled-back'];

const rowsOf = (b: BatchRecord): BatchRows => (b.rows ?? { valid: [], invalid: [] }) as BatchRows;

/** A row's values as one comparable string (keys sorted). */
const valuesKey = (values: Readonly<Record<string, unknown>>): string =>
  JSON.stringify(Object.keys(values).sort().map((k) => [k, String(values[k])]));

/**
 * The request each valid row of the file was filed as, by line. A filed request keeps its row's values exactly, and no
 * two valid rows of a batch have the same values (the preview refuses duplicates), so a row is found by its values —
 * not by position, which a row that could not be filed (a name taken since the preview) would shift.
 */
function requestsByLine(valid: BatchRows['valid'], requests: readonly RequestRecord[]): Map<number, RequestRecord> {
  const byValues = new Map<string, RequestRecord>();
  for (const r of requests) byValues.set(valuesKey(r.values), r);
  const out = new Map<number, RequestRecord>();
  for (const row of valid) {
    const r = byValues.get(valuesKey(row.values));
    if (r) out.set(row.line, r);
  }
  return out;
}

/** A refusal as a clause of a longer sentence (no closing full stop). */
const clause = (text: string): string => text.trim().replace(/\.+$/, '');

function csvCell(v: string): string {
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

export class BatchService {
  /** Filing and deciding that outlasted their answer, still going on. */
  private readonly background = new Set<Promise<unknown>>();

  constructor(private readonly deps: BatchServiceDeps) {}

  /**
   * Runs `work`; answers with its result if it ends within the answer time, else with `meanwhile()` while it goes on
   * (its end shows on the cards; a failure then is logged).
   */
  private async answerWithin<T>(what: string, work: Promise<T>, meanwhile: () => Promise<T>): Promise<T> {
    const tracked: Promise<unknown> = work.then(
      () => this.background.delete(tracked),
      (err: unknown) => {
        this.background.delete(tracked);
        this.deps.log.error('batch work failed', { what, err: err instanceof Error ? err.message : String(err) });
      },
    );
    this.background.add(tracked);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), this.deps.answerWithinMs ?? 5_000);
    });
    try {
      const first = await Promise.race([work.then((value) => ({ value })), late]);
      return first === 'late' ? await meanwhile() : first.value;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves when no filing or deciding is going on (shutdown, tests). */
  async settled(): Promise<void> {
    while (this.background.size) await Promise.allSettled([...this.background]);
  }

  private audit(actor: RequestActor, event: string, ref: string, data: Record<string, unknown>) {
    return this.deps.store.audit.append(actorEvent(actor, event, ref, data));
  }

  /**
   * The batch as the actor may see it: all of it for its requester and an admin; for anyone else the rows they may see
   * (`only`: they approve them, or someone who delegated to them does), and nothing when there are none. A batch of
   * group changes asks the owners of each group: each sees, decides and exports their groups' rows only.
   */
  private async visible(actor: RequestActor, reference: string): Promise<{ readonly b: BatchRecord; readonly only?: ReadonlySet<number>; readonly requests?: readonly RequestRecord[] } | undefined> {
    const b = await this.deps.store.batches.get(reference);
    if (!b) return undefined;
    if (actor.isAdmin || b.requesterAadObjectId === actor.aadObjectId.toLowerCase()) return { b };
    const requests = await this.deps.store.requests.listByBatch(b.id);
    const seen = await this.deps.access.visibleAmong(actor, requests);
    return seen.length ? { b, only: new Set(seen.map((r) => r.id)), requests } : undefined;
  }

  /** The batch's requests: as `visible` read them, else read now. */
  private requestsOf(v: { readonly b: BatchRecord; readonly requests?: readonly RequestRecord[] }): Promise<readonly RequestRecord[]> {
    return v.requests ? Promise.resolve(v.requests) : this.deps.store.requests.listByBatch(v.b.id);
  }

  private notVisible(reference: string): { readonly ok: false; readonly message: string } {
    return { ok: false, message: `There is no batch ${reference.slice(0, 20)} that you may see. Nothing was changed.` };
  }

  private places(batchId: number, audience: BatchCardAudience): Promise<BatchPlace[]> {
    return this.deps.store.batches.cards(batchId, audience);
  }

  private async remember(batchId: number, audience: BatchCardAudience, places: readonly BatchPlace[]): Promise<void> {
    for (const p of places) await this.deps.store.batches.addCard({ batchId, audience, ...p }, this.deps.now());
  }

  /** The preview card's content: the check of every row and, once filed, by whom and how many. */
  private async previewView(b: BatchRecord): Promise<BatchPreviewView> {
    const rows = rowsOf(b);
    const filed = b.status === 'preview' ? undefined : { byName: b.requesterName, count: (await this.deps.store.requests.countByBatch(b.id, 0)).total };
    return { reference: b.reference, kind: b.kind, kindTitle: kindTitleOf(b.kind), rows: rows.valid.length + rows.invalid.length, valid: rows.valid.length, invalid: rows.invalid, summary: b.summary, ...(filed ? { filed } : {}) };
  }

  /** The preview, kept as a batch the requester can file. */
  async preview(actor: RequestActor, text: string, options?: BulkTextOptions): Promise<BulkPreview & { readonly reference?: string; readonly view?: BatchPreviewView }> {
    const p = await this.deps.intake.previewBulk(actor, text, options);
    if (!p.ok || !p.rowsToFile) return p;
    const rows: BatchRows = { valid: p.rowsToFile, invalid: p.invalid };
    const b = await this.deps.store.batches.create({ kind: p.kind, requesterAadObjectId: actor.aadObjectId, requesterName: actor.name, tenantId: actor.tenantId, rows, summary: p.summary }, this.deps.now());
    await this.audit(actor, 'batch.previewed', b.reference, { kind: p.kind, valid: p.valid, invalid: p.invalid.length });
    return { ...p, reference: b.reference, view: await this.previewView(b) };
  }

  /** Where the requester's preview card of a batch was posted (so that filing updates it in place). Only the requester's. */
  async trackPreview(actor: RequestActor, reference: string, place: BatchPlace): Promise<void> {
    const b = await this.deps.store.batches.get(reference);
    if (!b || b.requesterAadObjectId !== actor.aadObjectId.toLowerCase()) return;
    await this.remember(b.id, 'preview', [place]);
  }

  /** `file B-n` (`file B-n valid`: only the valid rows when some are not); the File buttons of the preview card. */
  async file(actor: RequestActor, reference: string, validOnly: boolean): Promise<FileAnswer> {
    const b = await this.deps.store.batches.get(reference);
    // Only the requester files: anyone else hears that there is no such batch, and nothing is filed.
    if (!b || b.requesterAadObjectId !== actor.aadObjectId.toLowerCase()) {
      if (b) await this.audit(actor, 'batch.file-refused', b.reference, { reason: 'not the requester' });
      return this.notVisible(reference);
    }
    if (b.status !== 'preview') return { ok: false, message: `${b.reference} was filed already (status ${b.status}). Nothing was changed.`, preview: await this.previewView(b) };
    const rows = rowsOf(b);
    if (rows.invalid.length && !validOnly) {
      return { ok: false, preview: await this.previewView(b), message: `${b.reference} has ${rows.invalid.length} invalid row${rows.invalid.length === 1 ? '' : 's'}. Fix them and send the file or lines again, or type "file ${b.reference} valid" to file the ${rows.valid.length} valid ones. Nothing was filed.` };
    }
    if (!rows.valid.length) return { ok: false, message: `${b.reference} has no valid row to file. Nothing was filed.`, preview: await this.previewView(b) };
    const moved = await this.deps.store.batches.transition(b.id, b.version, { status: 'filed', filedAt: this.deps.now().toISOString() }, this.deps.now());
    if (!moved.ok) return { ok: false, message: `${b.reference} changed meanwhile (it is ${moved.current?.status ?? 'gone'}). Nothing was changed.`, ...(moved.current ? { preview: await this.previewView(moved.current) } : {}) };
    return this.answerWithin(`file ${b.reference}`, this.fileRows(actor, b, moved.record, rows), async () => ({
      ok: true,
      preview: await this.previewView(moved.record),
      message: `${b.reference}: filing ${rows.valid.length} ${kindTitleOf(b.kind)} requests, each checked again; this card says when they are filed, and a progress card follows.`,
    }));
  }

  /**
   * Files each valid row not filed yet as a request of the batch (checked again), then asks the approvers and posts the
   * progress card (each unless it was posted already), then marks the filing done. Safe to run again after it was
   * interrupted, and beside another run of it: a line is filed once (the store refuses a second request for it).
   */
  private async fileRows(actor: RequestActor, b: BatchRecord, filedBatch: BatchRecord, rows: BatchRows, resumed = false): Promise<FileAnswer> {
    const moved = { record: filedBatch };
    const refused: string[] = [];
    const before = new Set((await this.deps.store.requests.listByBatch(b.id)).flatMap((r) => (r.batchLine === null ? [] : [r.batchLine])));
    let filed = 0;
    let beat = this.deps.now().getTime();
    for (const row of rows.valid) {
      if (before.has(row.line)) continue;
      if (this.deps.now().getTime() - beat >= BEAT_MS) {
        beat = this.deps.now().getTime();
        await this.deps.store.batches.filingGoesOn(b.id, this.deps.now());
      }
      let res;
      try {
        res = await this.deps.intake.submit(actor, b.kind, row.values, 'bulk', { id: b.id, line: row.line });
      } catch (err) {
        // filed meanwhile by another run of this filing (one that took it up after it seemed to stand still)
        if (err instanceof StoreError && err.code === 'conflict') continue;
        throw err;
      }
      if (res.ok) filed++;
      else refused.push(`line ${row.line}: ${clause(res.refused ?? res.errors.map((e) => e.message).join(' '))}`);
    }
    await this.audit(actor, 'batch.filed', b.reference, { filed, refused: refused.length, ...(resumed ? { resumed: true, filedBefore: before.size } : {}) });
    const preview = await this.previewView(moved.record);
    await this.deps.notifications.batchCardsChanged(await this.places(b.id, 'preview'), { type: 'preview', view: preview });
    const requests = await this.deps.store.requests.listByBatch(b.id);
    if (requests.length) {
      // an interrupted filing may have asked and posted already
      if (!resumed || !(await this.places(b.id, 'approver')).length) await this.askApprovers(moved.record, requests);
      if (!resumed || !(await this.places(b.id, 'progress')).length) {
        const place = await this.deps.notifications.batchProgress(moved.record, this.progressView(moved.record, false, await this.deps.store.requests.countByBatch(b.id, FAILED_LISTED)), undefined);
        if (place) await this.remember(b.id, 'progress', [place]);
      }
    }
    await this.deps.store.batches.filingDone(b.id, this.deps.now());
    const title = kindTitleOf(b.kind);
    const all = requests.length;
    const refusedText = refused.length ? ` ${refused.length} could not be filed now (names taken since the preview, or the tenant changed): ${refused.slice(0, 10).join('; ')}${refused.length > 10 ? ` … and ${refused.length - 10} more` : ''}.` : '';
    return {
      ok: true,
      preview,
      message: resumed
        ? `${b.reference}: filing was interrupted (Mailroom stopped) and has been finished: ${all} ${title} request${all === 1 ? '' : 's'} filed in all, ${filed} of them now; they wait for one approval of the batch.${refusedText}`
        : `${b.reference}: ${filed} ${title} request${filed === 1 ? '' : 's'} filed; they wait for one approval of the batch.${refusedText}`,
    };
  }

  /**
   * Takes up filings that stopped moving for {@link STALE_AFTER_MS} (Mailroom stopped while filing a batch): the
   * rows not filed yet are filed for the batch's requester, the approvers asked, and the requester told. Several
   * instances may look at once: one takes each batch up. Returns how many were taken up.
   */
  async resumeFilings(): Promise<number> {
    const now = this.deps.now();
    const stale = new Date(now.getTime() - STALE_AFTER_MS);
    let taken = 0;
    for (const b of await this.deps.store.batches.interruptedFilings(stale, 10)) {
      if (!(await this.deps.store.batches.filingGoesOn(b.id, this.deps.now(), stale))) continue; // another instance took it up
      taken++;
      const actor: RequestActor = { aadObjectId: b.requesterAadObjectId, name: b.requesterName, tenantId: b.tenantId, isAdmin: false };
      await this.deps.store.audit.append({ actorAadObjectId: null, actorName: 'Mailroom', requestRef: b.reference, event: 'batch.filing-resumed', data: { requester: b.requesterAadObjectId, since: b.updatedAt } });
      this.deps.log.warn('taking up the interrupted filing of a batch', { batch: b.reference, since: b.updatedAt });
      const work = this.fileRows(actor, b, b, rowsOf(b), true);
      this.background.add(work);
      try {
        const answer = await work;
        await this.deps.notifications.batchMessage(b, answer.message);
      } finally {
        this.background.delete(work);
      }
    }
    return taken;
  }

  /** The approval card's content, from the batch's requests as they stand. */
  private approvalView(b: BatchRecord, requests: readonly RequestRecord[]): BatchApprovalView {
    const pending = requests.filter((r) => r.status === 'pending-approval');
    const counts = new Map<string, number>();
    for (const r of requests) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
    const example = pending[0] ?? requests[0];
    const exampleLine = example ? [...requestsByLine(rowsOf(b).valid, [example]).keys()][0] : undefined;
    const decidedRow = pending.length ? undefined : requests.find((r) => r.decidedByName);
    return {
      reference: b.reference,
      requesterName: b.requesterName,
      kindTitle: kindTitleOf(b.kind),
      stage: pending[0]?.stage ?? example?.stage ?? 1,
      waiting: pending.length,
      total: requests.length,
      summary: b.summary,
      steps: example ? stepsOf(example.plan) : [],
      stepsOfLine: exampleLine,
      counts: REQUEST_STATUSES.flatMap((status) => (counts.get(status) ? [{ status, n: counts.get(status) ?? 0 }] : [])),
      ...(decidedRow?.decidedByName
        ? { decided: decidedRow.status === 'rejected' ? { outcome: 'reject' as const, byName: decidedRow.decidedByName, reason: decidedRow.decisionReason ?? '' } : { outcome: 'approve' as const, byName: decidedRow.decidedByName } }
        : {}),
    };
  }

  /** One card for the rows that wait for a decision, to everyone who approves any of them now. */
  private async askApprovers(b: BatchRecord, requests: readonly RequestRecord[]): Promise<void> {
    const pending = requests.filter((r) => r.status === 'pending-approval');
    if (!pending.length) return;
    const ids = new Set<string>();
    for (const r of pending) for (const id of await this.deps.access.approverUserIds(r)) ids.add(id);
    const posted = await this.deps.notifications.batchApprovalNeeded(b, this.approvalView(b, requests), [...ids]);
    await this.remember(b.id, 'approver', posted);
  }

  /**
   * `approve B-n` / `reject B-n <reason>` and the approval card's buttons: the decision on every row that waits,
   * each checked as a single decision is. Every copy of the approval card then says who decided.
   */
  async decide(actor: RequestActor, reference: string, outcome: 'approve' | 'reject', reason: string | undefined): Promise<DecideAnswer> {
    const v = await this.visible(actor, reference);
    if (!v) return this.notVisible(reference);
    const { b, only } = v;
    const requests = await this.requestsOf(v);
    // the rows this actor may see: an owner of one group decides that group's rows
    const waiting = requests.filter((r) => r.status === 'pending-approval' && (!only || only.has(r.id)));
    if (!waiting.length) return { ok: false, message: `Nothing in ${b.reference} waits for a decision. Nothing was changed.`, approval: this.approvalView(b, requests) };
    // kept while the rows are decided, so that a stop half-way is finished by itself (resumeDecisions)
    let decision;
    try {
      decision = await this.deps.store.batches.decisionStarted(
        { batchId: b.id, actorAadObjectId: actor.aadObjectId, actorName: actor.name, tenantId: actor.tenantId, isAdmin: actor.isAdmin, outcome, reason: reason ?? null },
        this.deps.now(),
      );
    } catch (err) {
      // a reason longer than any decision may give: said as such, nothing decided
      if (err instanceof StoreError && err.code === 'invalid-record') return { ok: false, message: err.message, approval: this.approvalView(b, requests) };
      throw err;
    }
    return this.answerWithin(`${outcome} ${b.reference}`, this.decideRows(actor, b, requests, waiting, outcome, reason, decision.id), () =>
      Promise.resolve({
        ok: true,
        approval: this.approvalView(b, requests),
        message: `${outcome === 'approve' ? 'Approving' : 'Rejecting'} the ${waiting.length} requests of ${b.reference}, each checked as a single decision; every copy of this card says so when they are decided.`,
      }),
    );
  }

  /**
   * Decides each waiting row as a single decision, then updates the approval cards, asks the next stage, tells the
   * requester and marks the decision done. `decisionId`: the decision as kept (it says it goes on while it runs).
   */
  private async decideRows(
    actor: RequestActor,
    b: BatchRecord,
    requests: readonly RequestRecord[],
    waiting: readonly RequestRecord[],
    outcome: 'approve' | 'reject',
    reason: string | undefined,
    decisionId: number,
    resumed = false,
  ): Promise<DecideAnswer> {
    let decided = 0;
    const refusals = new Map<string, number>();
    let beat = this.deps.now().getTime();
    for (const r of waiting) {
      if (this.deps.now().getTime() - beat >= BEAT_MS) {
        beat = this.deps.now().getTime();
        await this.deps.store.batches.decisionGoesOn(decisionId, this.deps.now());
      }
      const res = await this.deps.approvals.decide(actor, r.reference, undefined, outcome, reason, { quiet: true });
      if (res.ok) decided++;
      else refusals.set(res.message, (refusals.get(res.message) ?? 0) + 1);
    }
    await this.audit(actor, outcome === 'approve' ? 'batch.approved' : 'batch.rejected', b.reference, { decided, refused: waiting.length - decided, ...(reason ? { reason } : {}), ...(resumed ? { resumed: true } : {}) });
    const after = decided ? await this.deps.store.requests.listByBatch(b.id) : requests;
    const view = this.approvalView(b, after);
    if (decided) {
      // every copy of the approval card says who decided (the cards of a next stage are posted after this)
      const stageView: BatchApprovalView = { ...view, decided: outcome === 'approve' ? { outcome, byName: actor.name } : { outcome, byName: actor.name, reason: (reason ?? '').trim() } };
      await this.deps.notifications.batchCardsChanged(await this.places(b.id, 'approver'), { type: 'approval', view: stageView });
      await this.askApprovers(b, after);
      // rejected rows end here (approved ones end in their runs): the batch may be finished now
      const last = after[after.length - 1];
      if (last) await this.rowChanged(last);
      await this.deps.notifications.batchMessage(b, `${b.reference} was ${outcome === 'approve' ? 'approved' : `rejected (${(reason ?? '').trim()})`} by ${actor.name}: ${decided} request${decided === 1 ? '' : 's'}.`);
      await this.deps.store.batches.decisionDone(decisionId, this.deps.now());
      return this.decidedAnswer(b, stageView, decided, waiting.length, outcome, refusals);
    }
    await this.deps.store.batches.decisionDone(decisionId, this.deps.now());
    return { ok: false, message: [...refusals.keys()][0] ?? 'Nothing was decided.', approval: view };
  }

  /**
   * Takes up decisions on batches that stopped moving for {@link STALE_AFTER_MS} (Mailroom stopped while it decided
   * the rows): the rows that still wait and that the decider may decide are decided as they pressed it, each checked
   * again as a single decision (their rights as they are now, their admin role as it was when they pressed), and
   * everyone is told as after any decision. One instance takes each up; a decision runs {@link DECISION_RUNS} times at
   * most. Returns how many were taken up.
   */
  async resumeDecisions(): Promise<number> {
    const stale = new Date(this.deps.now().getTime() - STALE_AFTER_MS);
    let taken = 0;
    for (const d of await this.deps.store.batches.interruptedDecisions(stale, DECISION_RUNS, 10)) {
      if (!(await this.deps.store.batches.decisionGoesOn(d.id, this.deps.now(), stale))) continue; // another instance took it up
      taken++;
      const b = await this.deps.store.batches.get(d.batchId);
      if (!b) continue;
      const actor: RequestActor = { aadObjectId: d.actorAadObjectId, name: d.actorName, tenantId: d.tenantId, isAdmin: d.isAdmin };
      await this.deps.store.audit.append({ actorAadObjectId: null, actorName: 'Mailroom', requestRef: b.reference, event: 'batch.decision-resumed', data: { decider: d.actorAadObjectId, outcome: d.outcome, since: d.goingOnAt, run: d.attempts + 1 } });
      this.deps.log.warn('taking up the interrupted decision on a batch', { batch: b.reference, outcome: d.outcome, since: d.goingOnAt });
      const v = await this.visible(actor, b.reference);
      const requests = v ? await this.requestsOf(v) : [];
      const waiting = requests.filter((r) => r.status === 'pending-approval' && (!v?.only || v.only.has(r.id)));
      if (!v || !waiting.length) {
        // every row was decided before the stop (or the decider may see none now): the approval cards are brought up
        // to date and the batch finishes if its rows have ended (both safe to repeat; a message may have gone out)
        if (v) {
          await this.deps.notifications.batchCardsChanged(await this.places(b.id, 'approver'), { type: 'approval', view: this.approvalView(v.b, requests) });
          const last = requests[requests.length - 1];
          if (last) await this.rowChanged(last);
        }
        await this.deps.store.batches.decisionDone(d.id, this.deps.now());
        continue;
      }
      const work = this.decideRows(actor, v.b, requests, waiting, d.outcome, d.reason ?? undefined, d.id, true);
      this.background.add(work);
      try {
        await work;
      } finally {
        this.background.delete(work);
      }
    }
    return taken;
  }

  private decidedAnswer(b: BatchRecord, approval: BatchApprovalView, decided: number, of: number, outcome: 'approve' | 'reject', refusals: ReadonlyMap<string, number>): DecideAnswer {
    const notes = [...refusals.entries()].map(([m, n]) => `${n} not: ${m}`);
    return { ok: true, approval, message: `${decided} of ${of} request${of === 1 ? '' : 's'} in ${b.reference} ${outcome === 'approve' ? 'approved' : 'rejected'}.${notes.length ? ` ${notes.join(' ')}` : ''}` };
  }

  /** `plan B-n` and Plan per row: each valid row's line and the steps it runs, one page from `from` on. */
  async plan(actor: RequestActor, reference: string, from = 0): Promise<PlanAnswer> {
    const v = await this.visible(actor, reference);
    if (!v) return this.notVisible(reference);
    const { b, only } = v;
    const filed = b.status === 'preview' ? new Map<number, RequestRecord>() : requestsByLine(rowsOf(b).valid, await this.requestsOf(v));
    const valid = only ? rowsOf(b).valid.filter((row) => only.has(filed.get(row.line)?.id ?? 0)) : rowsOf(b).valid;
    const start = Number.isSafeInteger(from) && from > 0 && from < valid.length ? from : 0;
    const rows: RowPlan[] = [];
    let chars = 0;
    let i = start;
    for (; i < valid.length && rows.length < PLAN_PAGE_ROWS; i++) {
      const row = valid[i];
      if (!row) break;
      const request = filed.get(row.line);
      const r = b.status === 'preview' ? await this.planRow(b.kind, row.line, row.values) : request ? { line: row.line, steps: stepsOf(request.plan) } : { line: row.line, problem: 'not filed (see "export batch")' };
      const size = 'steps' in r ? r.steps.reduce((n, x) => n + x.length + 4, 16) : r.problem.length + 16;
      if (rows.length && chars + size > PLAN_PAGE_CHARS) break;
      chars += size;
      rows.push(r);
    }
    await this.audit(actor, 'batch.plan-shown', b.reference, { from: start, rows: rows.length });
    return { ok: true, plan: { reference: b.reference, kindTitle: kindTitleOf(b.kind), rows, total: valid.length, from: start, nextFrom: i < valid.length ? i : undefined, leftOut: valid.length - rows.length } };
  }

  /** The steps one previewed row would run: checked against the tenant again (names may have been taken since), then planned. */
  private async planRow(kind: string, line: number, values: Record<string, string>): Promise<RowPlan> {
    const planning = this.deps.planning;
    if (!planning) return { line, problem: 'its plan is made when the batch is filed' };
    const profile = await planning.profile();
    try {
      const res = await validateRequest(kind, values, { lookup: planning.lookup, profile, now: planning.now, timeZone: planning.timeZone ?? 'UTC' });
      if (!res.ok) return { line, problem: res.errors.map((e) => e.message).join(' ') };
      return { line, steps: makePlan(res.request, profile).steps.map((st) => st.summary) };
    } catch (err) {
      if (err instanceof LookupUnavailableError || err instanceof PlanRefusedError) return { line, problem: err.message };
      throw err;
    }
  }

  /** `status B-n`: how many rows stand where, and the ones that failed with why. */
  async status(actor: RequestActor, reference: string): Promise<BatchAnswer> {
    const v = await this.visible(actor, reference);
    if (!v) return this.notVisible(reference);
    const { b, only } = v;
    const counts = only ? countsOf((await this.requestsOf(v)).filter((r) => only.has(r.id))) : await this.deps.store.requests.countByBatch(b.id, FAILED_LISTED);
    const failed = counts.failed.map((r) => `${r.reference}: ${r.error ?? 'failed'}`);
    const rows = rowsOf(b);
    return {
      ok: true,
      message: `${b.reference} (${b.status}): ${only ? `the ${counts.total} request${counts.total === 1 ? '' : 's'} of it you approve` : b.summary}${failed.length ? `\nFailed: ${failed.join('\n')}` : ''}`,
      facts: [
        ...(only
          ? []
          : [
              { title: 'Rows in the file', value: String(rows.valid.length + rows.invalid.length) },
              { title: 'Invalid rows (not filed)', value: String(rows.invalid.length) },
            ]),
        ...countList(counts).map(({ status, n }) => ({ title: status, value: String(n) })),
      ],
    };
  }

  /** `export batch B-n`: one CSV line per row of the file: its line, request, status and error. */
  async export(actor: RequestActor, reference: string): Promise<{ ok: true; csv: string; reference: string } | { ok: false; message: string }> {
    const v = await this.visible(actor, reference);
    if (!v) return this.notVisible(reference);
    const { b, only } = v;
    const requests = await this.requestsOf(v);
    const all = rowsOf(b);
    const byLine = requestsByLine(all.valid, requests);
    // an approver of some rows gets those rows (not the invalid ones, nor the rows not filed)
    const rows: BatchRows = only ? { valid: all.valid.filter((row) => only.has(byLine.get(row.line)?.id ?? 0)), invalid: [] } : all;
    const lines = ['line,request,status,error'];
    for (const row of rows.valid) {
      const r = byLine.get(row.line);
      lines.push([String(row.line), r?.reference ?? '', r?.status ?? 'not filed', r?.error ?? ''].map(csvCell).join(','));
    }
    for (const row of rows.invalid) lines.push([String(row.line), '', 'invalid', row.message].map(csvCell).join(','));
    await this.audit(actor, 'batch.exported', b.reference, { rows: lines.length - 1 });
    return { ok: true, csv: `${lines.join('\n')}\n`, reference: b.reference };
  }

  private progressView(b: Pick<BatchRecord, 'reference' | 'kind'>, finished: boolean, counts: BatchCounts): BatchProgressView {
    return {
      reference: b.reference,
      kindTitle: kindTitleOf(b.kind),
      finished,
      total: counts.total,
      counts: countList(counts),
      failed: counts.failed.map((f) => ({ reference: f.reference, error: f.error ?? 'failed' })),
      failedMore: Math.max(0, (counts.byStatus.failed ?? 0) - counts.failed.length),
    };
  }

  /**
   * A row of a batch changed (the notification outbox): the progress card is updated (latest state wins, never
   * waited for); once every row has ended, the batch is finished (once, across instances), the card shows the end
   * and its requester gets one report. One grouped count per change, not a listing of the batch.
   */
  async rowChanged(row: RequestRecord): Promise<void> {
    if (row.batchId === null) return;
    const counts = await this.deps.store.requests.countByBatch(row.batchId, FAILED_LISTED);
    const b = await this.deps.store.batches.head(row.batchId);
    if (!b || b.status !== 'filed') return;
    const progress = (await this.places(b.id, 'progress'))[0];
    const ended = counts.total > 0 && endedCount(counts) === counts.total;
    if (!ended) {
      if (progress) await this.deps.notifications.batchProgress(b, this.progressView(b, false, counts), progress);
      return;
    }
    const moved = await this.deps.store.batches.transition(b.id, b.version, { status: 'finished', finishedAt: this.deps.now().toISOString() }, this.deps.now());
    if (!moved.ok) return;
    const view = this.progressView(moved.record, true, counts);
    if (progress) await this.deps.notifications.batchProgress(moved.record, view, progress);
    const failed = view.failed.map((r) => `${r.reference}: ${r.error}`);
    const text = `${b.reference} has finished: ${view.counts.map(({ status, n }) => `${n} ${status}`).join(', ')}.${failed.length ? ` Failed: ${failed.join('; ')}${view.failedMore ? ` … and ${view.failedMore} more` : ''}` : ''} "export batch ${b.reference}" gives every row as CSV.`;
    await this.deps.store.audit.append({ actorAadObjectId: null, actorName: 'Mailroom', requestRef: b.reference, event: 'batch.finished', data: Object.fromEntries(view.counts.map(({ status, n }) => [status, n])) });
    await this.deps.notifications.batchMessage(moved.record, text);
  }
}
