import type { Logger } from '../log';
import { plan as makePlan, PlanRefusedError, type Plan } from '../plans';
import {
  nameKeys,
  namesTaken,
  bulkSummary,
  expiresAt,
  isKindId,
  kindRefusal,
  KINDS,
  LookupUnavailableError,
  nextReminderAt,
  openApproval,
  parseBulkText,
  validateBulk,
  validateRequest,
  type BulkTextOptions,
  type RecipientLookup,
  type TenantProfile,
} from '../requests';
import type { AuditEventInput, RequestRecord, Store } from '../store';
import type { ApproverResolver } from './approver-resolution';
import type { ApprovalAccess } from './approval-access';
import type { RequestNotifications } from './ports';
import type { RequestViewService } from './request-views';
import { actorEvent } from './use-case-deps';
import type { BulkPreview, Intake, RequestActor, SubmitResult } from './use-cases';

export interface IntakeDeps {
  readonly store: Pick<Store, 'requests' | 'audit'>;
  readonly lookup: RecipientLookup;
  readonly profile: () => Promise<TenantProfile>;
  readonly access: ApprovalAccess;
  readonly views: RequestViewService;
  readonly notifications: RequestNotifications;
  readonly log: Logger;
  readonly now: () => Date;
  /** The organisation's time zone typed dates are read in (TIME_ZONE). Default UTC. */
  readonly timeZone?: string;
  /** Resolves the manager and owner approvers of a filed request (absent: only configured approvers). */
  readonly resolver?: Pick<ApproverResolver, 'resolve'> & Partial<Pick<ApproverResolver, 'escalate'>>;
}

/** Intake: validates (against AD and Exchange), plans and files a request, and sends it to its first approvers. */
export class RequestIntake implements Intake {
  constructor(private readonly deps: IntakeDeps) {}

  private audit(e: AuditEventInput) {
    return this.deps.store.audit.append(e);
  }

  /** Validates, plans and files a request; on bad input nothing is stored but the audit record of the failure. */
  async submit(actor: RequestActor, kind: string, rawValues: Record<string, unknown>, source: 'form' | 'command' | 'bulk', batch?: { readonly id: number; readonly line: number }): Promise<SubmitResult> {
    if (!isKindId(kind)) {
      await this.audit(actorEvent(actor, 'request.validation-failed', null, { kind: String(kind).slice(0, 60), source, errors: [{ field: 'kind', message: 'unknown kind' }] }));
      return { ok: false, errors: [{ field: 'kind', message: `Mailroom has no request kind "${String(kind).slice(0, 60)}".` }] };
    }
    const profile = await this.deps.profile();
    const refusal = kindRefusal(kind, profile);
    if (refusal) {
      await this.audit(actorEvent(actor, 'request.refused', null, { kind, source, reason: refusal }));
      return { ok: false, errors: [], refused: refusal };
    }
    let result;
    try {
      result = await validateRequest(kind, rawValues, { lookup: this.deps.lookup, profile, now: this.deps.now, timeZone: this.deps.timeZone ?? 'UTC' });
    } catch (err) {
      if (err instanceof LookupUnavailableError) {
        await this.audit(actorEvent(actor, 'request.validation-failed', null, { kind, source, unavailable: err.check }));
        return { ok: false, errors: [], refused: err.message };
      }
      throw err;
    }
    if (!result.ok) {
      await this.audit(actorEvent(actor, 'request.validation-failed', null, { kind, source, errors: result.errors.map((e) => ({ field: e.field, message: e.message })) }));
      return { ok: false, errors: result.errors };
    }
    let thePlan: Plan;
    try {
      thePlan = makePlan(result.request, profile);
    } catch (err) {
      if (err instanceof PlanRefusedError) {
        await this.audit(actorEvent(actor, 'request.refused', null, { kind, source, reason: err.message }));
        return { ok: false, errors: [], refused: err.message };
      }
      throw err;
    }
    const now = this.deps.now();
    const policy = this.deps.access.policy;
    const opened = openApproval({ requestId: 'new', kind, requesterId: actor.aadObjectId, now }, policy);
    if (!opened.ok) {
      await this.audit(actorEvent(actor, 'request.refused', null, { kind, source, reason: opened.reason }));
      return { ok: false, errors: [], refused: opened.reason };
    }
    const record = await this.deps.store.requests.create({
      kind,
      requesterAadObjectId: actor.aadObjectId,
      requesterName: actor.name,
      tenantId: actor.tenantId,
      values: stringValues(rawValues),
      request: result.request,
      plan: thePlan,
      status: 'pending-approval',
      stage: 1,
      remindAt: nextReminderAt(opened.state, policy, now),
      expiresAt: expiresAt(opened.state, policy),
      ...(batch ? { batchId: batch.id, batchLine: batch.line } : {}),
    });
    // From now on the request holds the names it takes when it runs: a request filed meanwhile picks others. The
    // request is filed either way: without its names held, a second request for them meets them at its AD step.
    await this.deps.store.requests.holdNames(record.id, nameKeys(namesTaken(result.request, profile))).catch((err: unknown) => {
      this.deps.log.warn('the names of a filed request could not be held', { reference: record.reference, err: err instanceof Error ? err.message : String(err) });
    });
    await this.audit(actorEvent(actor, 'request.created', record.reference, { kind, source, version: record.version, steps: thePlan.steps.map((s) => s.action) }));
    const notes = await this.resolveApprovers(record);
    if (notes.length) await this.audit({ actorAadObjectId: null, actorName: 'Mailroom', requestRef: record.reference, event: 'request.approvers-resolved', data: { notes: notes.map((n) => ({ stage: n.stage, text: n.text })) } });
    const view = this.deps.views.view(record, []);
    // A row of a batch is approved with its batch: one card for all of them (batches.ts), none per row.
    if (batch) return { ok: true, reference: record.reference, view };
    await this.deps.notifications.approvalNeeded(record, view, await this.deps.access.approverUserIds(record));
    if (notes.length) await this.deps.notifications.requestChanged(record, view, `Who decides ${record.reference}: ${notes.map((n) => n.text).join(' ')}`);
    this.deps.log.info('request filed', { reference: record.reference, kind, requester: actor.aadObjectId });
    return { ok: true, reference: record.reference, view };
  }

  /**
   * The preview of a bulk request: the CSV read (header, quoting, limits), every row validated against AD and Exchange
   * Online as a single request would be, duplicates inside the file found. Nothing is filed; the preview is audited
   * (kind and counts, never the rows).
   */
  async previewBulk(actor: RequestActor, text: string, options?: BulkTextOptions): Promise<BulkPreview> {
    const parsed = parseBulkText(text, options);
    if (!parsed.ok) {
      await this.audit(actorEvent(actor, 'bulk.preview-refused', null, { errors: parsed.errors.length }));
      return { ok: false, errors: parsed.errors };
    }
    const profile = await this.deps.profile();
    const refusal = kindRefusal(parsed.kind, profile);
    if (refusal) {
      await this.audit(actorEvent(actor, 'bulk.preview-refused', null, { kind: parsed.kind, reason: refusal }));
      return { ok: false, errors: [], refused: refusal };
    }
    let checked;
    try {
      checked = await validateBulk(parsed.kind, parsed.rows, { lookup: this.deps.lookup, profile, now: this.deps.now, timeZone: this.deps.timeZone ?? 'UTC' });
    } catch (err) {
      if (err instanceof LookupUnavailableError) return { ok: false, errors: [], refused: err.message };
      throw err;
    }
    // A row the planner refuses in this tenant is as invalid as one that failed validation.
    const valid: { line: number; request: (typeof checked.valid)[number]['request'] }[] = [];
    const invalid = checked.invalid.map((r) => ({ line: r.line, message: r.errors.map((e) => e.message).join(' ') }));
    for (const v of checked.valid) {
      try {
        makePlan(v.request, profile);
        valid.push(v);
      } catch (err) {
        if (!(err instanceof PlanRefusedError)) throw err;
        invalid.push({ line: v.line, message: err.message });
      }
    }
    invalid.sort((a, b) => a.line - b.line);
    await this.audit(actorEvent(actor, 'bulk.previewed', null, { kind: parsed.kind, rows: parsed.rows.length, valid: valid.length, invalid: invalid.length }));
    const validLines = new Set(valid.map((v) => v.line));
    const rowsToFile = parsed.rows.filter((r) => validLines.has(r.line)).map((r) => ({ line: r.line, values: r.values }));
    return { ok: true, kind: parsed.kind, kindTitle: KINDS[parsed.kind].title, rows: parsed.rows.length, valid: valid.length, invalid, summary: bulkSummary(parsed.kind, valid), rowsToFile };
  }

  /**
   * The manager and owner approvers of a filed request. A look-up that fails (Graph or Exchange Online down) does not
   * lose the request: it is filed already, the failure is logged and said, and the stage goes to the escalation
   * approvers so that someone can decide it.
   */
  private async resolveApprovers(record: RequestRecord): Promise<{ stage: number; text: string }[]> {
    const resolver = this.deps.resolver;
    if (!resolver) return [];
    try {
      return await resolver.resolve(record);
    } catch (err) {
      this.deps.log.warn('approvers could not be resolved', { reference: record.reference, err: err instanceof Error ? err.message : String(err) });
      const escalated = resolver.escalate ? await resolver.escalate(record).catch(() => []) : [];
      return [{ stage: record.stage, text: `Mailroom could not look up who decides (the manager or the group's owners) just now${escalated.length ? '; the administrators decide instead' : ''}.` }];
    }
  }

  async refused(actor: RequestActor, kind: string, reason: string): Promise<void> {
    await this.audit(actorEvent(actor, 'request.refused', null, { kind: String(kind).slice(0, 60), reason }));
  }
}

function stringValues(raw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = v;
  return out;
}
