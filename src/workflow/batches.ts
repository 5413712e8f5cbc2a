/**
 * Bulk requests: a pasted CSV becomes a batch (B-n). Its preview is kept; `file B-n` files each valid row as an
 * ordinary request of the batch (checked again, as names may have been taken since); its approvers get one card for
 * the batch, and `approve B-n` / `reject B-n <reason>` decide every row at once; each row then runs, can be retried,
 * cancelled and rolled back as any request, and is audited. The requester is told once, when every row has ended,
 * with a report; `status B-n` and `export batch B-n` show where each row stands.
 */
import { KINDS, isKindId } from '../requests';
import type { BatchRecord, RequestRecord, RequestStatus, Store } from '../store';
import type { ApprovalAccess } from './approval-access';
import type { ApprovalService } from './approvals';
import type { RequestIntake } from './intake';
import type { Logger } from '../log';
import type { BatchAddress } from './ports';
import { actorEvent } from './use-case-deps';
import type { BulkPreview, RequestActor } from './use-cases';

/** What the batch keeps of its preview: the rows to file (as typed) and the ones that were invalid. */
interface BatchRows {
  readonly valid: readonly { readonly line: number; readonly values: Record<string, string> }[];
  readonly invalid: readonly { readonly line: number; readonly message: string }[];
}

export type BatchAnswer = { readonly ok: true; readonly message: string; readonly facts?: readonly { title: string; value: string }[] } | { readonly ok: false; readonly message: string };

/** How people hear about a batch (the Teams layer; see ports.ts). */
export interface BatchNotifications {
  batchApprovalNeeded(batch: BatchAddress, text: string, approverUserIds: readonly string[]): Promise<void>;
  batchMessage(batch: BatchAddress, text: string): Promise<void>;
}

export interface BatchServiceDeps {
  readonly store: Pick<Store, 'batches' | 'requests' | 'audit'>;
  readonly intake: Pick<RequestIntake, 'submit' | 'previewBulk'>;
  readonly approvals: Pick<ApprovalService, 'decide'>;
  readonly access: Pick<ApprovalAccess, 'approverUserIds' | 'maySee'>;
  readonly notifications: BatchNotifications;
  readonly log: Logger;
  readonly now: () => Date;
}

/** Statuses a row does not leave by itself. */
const ENDED: readonly RequestStatus[] = ['done', 'failed', 'rejected', 'expired', 'cancelled', 'rolled-back'];

const rowsOf = (b: BatchRecord): BatchRows => (b.rows ?? { valid: [], invalid: [] }) as BatchRows;

function csvCell(v: string): string {
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

export class BatchService {
  constructor(private readonly deps: BatchServiceDeps) {}

  private audit(actor: RequestActor, event: string, ref: string, data: Record<string, unknown>) {
    return this.deps.store.audit.append(actorEvent(actor, event, ref, data));
  }

  /** The batch if the actor may see it (its requester, an admin, or an approver of its kind); else undefined. */
  private async visible(actor: RequestActor, reference: string): Promise<BatchRecord | undefined> {
    const b = await this.deps.store.batches.get(reference);
    if (!b) return undefined;
    if (actor.isAdmin || b.requesterAadObjectId === actor.aadObjectId.toLowerCase()) return b;
    const first = (await this.deps.store.requests.listByBatch(b.id))[0];
    return first && (await this.deps.access.maySee(actor, first)) ? b : undefined;
  }

  private notVisible(reference: string): { readonly ok: false; readonly message: string } {
    return { ok: false, message: `There is no batch ${reference.slice(0, 20)} that you may see. Nothing was changed.` };
  }

  /** The preview, kept as a batch the requester can file. */
  async preview(actor: RequestActor, text: string): Promise<BulkPreview & { readonly reference?: string }> {
    const p = await this.deps.intake.previewBulk(actor, text);
    if (!p.ok || !p.rowsToFile) return p;
    const rows: BatchRows = { valid: p.rowsToFile, invalid: p.invalid };
    const b = await this.deps.store.batches.create({ kind: p.kind, requesterAadObjectId: actor.aadObjectId, requesterName: actor.name, tenantId: actor.tenantId, rows, summary: p.summary }, this.deps.now());
    await this.audit(actor, 'batch.previewed', b.reference, { kind: p.kind, valid: p.valid, invalid: p.invalid.length });
    return { ...p, reference: b.reference };
  }

  /** `file B-n` (`file B-n valid`: only the valid rows when some are not). */
  async file(actor: RequestActor, reference: string, validOnly: boolean): Promise<BatchAnswer> {
    const b = await this.deps.store.batches.get(reference);
    if (!b || b.requesterAadObjectId !== actor.aadObjectId.toLowerCase()) return this.notVisible(reference);
    if (b.status !== 'preview') return { ok: false, message: `${b.reference} was filed already (status ${b.status}). Nothing was changed.` };
    const rows = rowsOf(b);
    if (rows.invalid.length && !validOnly) {
      return { ok: false, message: `${b.reference} has ${rows.invalid.length} invalid row${rows.invalid.length === 1 ? '' : 's'}. Fix them and paste the file again, or type "file ${b.reference} valid" to file the ${rows.valid.length} valid ones. Nothing was filed.` };
    }
    if (!rows.valid.length) return { ok: false, message: `${b.reference} has no valid row to file. Nothing was filed.` };
    const moved = await this.deps.store.batches.transition(b.id, b.version, { status: 'filed', filedAt: this.deps.now().toISOString() }, this.deps.now());
    if (!moved.ok) return { ok: false, message: `${b.reference} changed meanwhile (it is ${moved.current?.status ?? 'gone'}). Nothing was changed.` };
    const refused: string[] = [];
    let filed = 0;
    for (const row of rows.valid) {
      const res = await this.deps.intake.submit(actor, b.kind, row.values, 'bulk', { id: b.id });
      if (res.ok) filed++;
      else refused.push(`line ${row.line}: ${res.refused ?? res.errors.map((e) => e.message).join(' ')}`);
    }
    await this.audit(actor, 'batch.filed', b.reference, { filed, refused: refused.length });
    const requests = await this.deps.store.requests.listByBatch(b.id);
    if (requests.length) await this.askApprovers(moved.record, requests);
    const title = isKindId(b.kind) ? KINDS[b.kind].title : b.kind;
    return {
      ok: true,
      message: `${b.reference}: ${filed} ${title} request${filed === 1 ? '' : 's'} filed; they wait for one approval of the batch.${refused.length ? ` ${refused.length} could not be filed now (names taken since the preview, or the tenant changed): ${refused.slice(0, 10).join('; ')}${refused.length > 10 ? ` … and ${refused.length - 10} more` : ''}.` : ''}`,
    };
  }

  /** One card for the rows that wait for a decision, to everyone who approves any of them now. */
  private async askApprovers(b: BatchRecord, requests: readonly RequestRecord[]): Promise<void> {
    const pending = requests.filter((r) => r.status === 'pending-approval');
    if (!pending.length) return;
    const ids = new Set<string>();
    for (const r of pending) for (const id of await this.deps.access.approverUserIds(r)) ids.add(id);
    const stage = pending[0]?.stage ?? 1;
    const text = `${b.requesterName} asks you to approve ${b.reference}: ${b.summary}${stage > 1 ? ` (stage ${stage})` : ''} Type "approve ${b.reference}" to approve all ${pending.length}, or "reject ${b.reference} <reason>"; "status ${b.reference}" lists them.`;
    await this.deps.notifications.batchApprovalNeeded(b, text, [...ids]);
  }

  /** `approve B-n` / `reject B-n <reason>`: the decision on every row that waits, each checked as a single decision is. */
  async decide(actor: RequestActor, reference: string, outcome: 'approve' | 'reject', reason: string | undefined): Promise<BatchAnswer> {
    const b = await this.visible(actor, reference);
    if (!b) return this.notVisible(reference);
    const requests = await this.deps.store.requests.listByBatch(b.id);
    const waiting = requests.filter((r) => r.status === 'pending-approval');
    if (!waiting.length) return { ok: false, message: `Nothing in ${b.reference} waits for a decision. Nothing was changed.` };
    let decided = 0;
    const refusals = new Map<string, number>();
    for (const r of waiting) {
      const res = await this.deps.approvals.decide(actor, r.reference, undefined, outcome, reason, { quiet: true });
      if (res.ok) decided++;
      else refusals.set(res.message, (refusals.get(res.message) ?? 0) + 1);
    }
    await this.audit(actor, outcome === 'approve' ? 'batch.approved' : 'batch.rejected', b.reference, { decided, refused: waiting.length - decided, ...(reason ? { reason } : {}) });
    if (decided) {
      const after = await this.deps.store.requests.listByBatch(b.id);
      await this.askApprovers(b, after);
      // rejected rows end here (approved ones end in their runs): the batch may be finished now
      const last = after[after.length - 1];
      if (last) await this.rowChanged(last);
      await this.deps.notifications.batchMessage(b, `${b.reference} was ${outcome === 'approve' ? 'approved' : `rejected (${(reason ?? '').trim()})`} by ${actor.name}: ${decided} request${decided === 1 ? '' : 's'}.`);
    }
    if (!decided) return { ok: false, message: [...refusals.keys()][0] ?? 'Nothing was decided.' };
    const notes = [...refusals.entries()].map(([m, n]) => `${n} not: ${m}`);
    return { ok: true, message: `${decided} of ${waiting.length} request${waiting.length === 1 ? '' : 's'} in ${b.reference} ${outcome === 'approve' ? 'approved' : 'rejected'}.${notes.length ? ` ${notes.join(' ')}` : ''}` };
  }

  /** `status B-n`: how many rows stand where, and the ones that failed with why. */
  async status(actor: RequestActor, reference: string): Promise<BatchAnswer> {
    const b = await this.visible(actor, reference);
    if (!b) return this.notVisible(reference);
    const requests = await this.deps.store.requests.listByBatch(b.id);
    const counts = new Map<string, number>();
    for (const r of requests) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
    const failed = requests.filter((r) => r.status === 'failed').slice(0, 10).map((r) => `${r.reference}: ${r.error ?? 'failed'}`);
    const rows = rowsOf(b);
    return {
      ok: true,
      message: `${b.reference} (${b.status}): ${b.summary}${failed.length ? `\nFailed: ${failed.join('\n')}` : ''}`,
      facts: [
        { title: 'Rows in the file', value: String(rows.valid.length + rows.invalid.length) },
        { title: 'Invalid rows (not filed)', value: String(rows.invalid.length) },
        ...[...counts.entries()].map(([status, n]) => ({ title: status, value: String(n) })),
      ],
    };
  }

  /** `export batch B-n`: one CSV line per row of the file: its line, request, status and error. */
  async export(actor: RequestActor, reference: string): Promise<{ ok: true; csv: string; reference: string } | { ok: false; message: string }> {
    const b = await this.visible(actor, reference);
    if (!b) return this.notVisible(reference);
    const requests = await this.deps.store.requests.listByBatch(b.id);
    const rows = rowsOf(b);
    const lines = ['line,request,status,error'];
    // the filed rows keep the order of the file (requests are filed in that order)
    rows.valid.forEach((row, i) => {
      const r = requests[i];
      lines.push([String(row.line), r?.reference ?? '', r?.status ?? 'not filed', r?.error ?? ''].map(csvCell).join(','));
    });
    for (const row of rows.invalid) lines.push([String(row.line), '', 'invalid', row.message].map(csvCell).join(','));
    await this.audit(actor, 'batch.exported', b.reference, { rows: lines.length - 1 });
    return { ok: true, csv: `${lines.join('\n')}\n`, reference: b.reference };
  }

  /**
   * A row of a batch changed (the notification outbox): once every row has ended, the batch is finished (once, across
   * instances) and its requester gets one report.
   */
  async rowChanged(row: RequestRecord): Promise<void> {
    if (row.batchId === null || !ENDED.includes(row.status)) return;
    const b = await this.deps.store.batches.get(row.batchId);
    if (!b || b.status !== 'filed') return;
    const requests = await this.deps.store.requests.listByBatch(b.id);
    if (!requests.every((r) => ENDED.includes(r.status))) return;
    const moved = await this.deps.store.batches.transition(b.id, b.version, { status: 'finished', finishedAt: this.deps.now().toISOString() }, this.deps.now());
    if (!moved.ok) return;
    const counts = new Map<string, number>();
    for (const r of requests) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
    const failed = requests.filter((r) => r.status === 'failed').slice(0, 10).map((r) => `${r.reference}: ${r.error ?? 'failed'}`);
    const text = `${b.reference} has finished: ${[...counts.entries()].map(([s, n]) => `${n} ${s}`).join(', ')}.${failed.length ? ` Failed: ${failed.join('; ')}` : ''} "export batch ${b.reference}" gives every row as CSV.`;
    await this.deps.store.audit.append({ actorAadObjectId: null, actorName: 'Mailroom', requestRef: b.reference, event: 'batch.finished', data: Object.fromEntries(counts) });
    await this.deps.notifications.batchMessage(moved.record, text);
  }
}
