import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { AuditHead, AuditVerifyResult, Store } from '../store';
import type { ApprovalAccess } from './approval-access';
import type { AuditExport, AuditTrail, AuditTrailView, RequestActor } from './use-cases';

/** What the daily report of the chain head says, for the admins' chat or the log. */
export interface AuditHeadReport {
  readonly head: AuditHead;
  readonly chain: AuditVerifyResult;
  /** One paragraph for people: the head, whether the chain verifies, and what to do with it. */
  readonly text: string;
}

/**
 * The audit log for people: one request's trail (to whoever may see the request, checked from that request's events
 * alone), the CSV export, the chain check, and the chain head to publish outside the database.
 */
export class AuditTrailService implements AuditTrail {
  constructor(
    private readonly store: Pick<Store, 'requests' | 'audit'>,
    private readonly access: ApprovalAccess,
    /** Folder on the Mailroom server where exports are saved. */
    private readonly exportDir: string,
    private readonly now: () => Date,
  ) {}

  async trail(actor: RequestActor, reference: string): Promise<AuditTrailView | undefined> {
    const record = await this.store.requests.get(reference);
    if (!record || !(await this.access.maySee(actor, record))) return undefined;
    // Only this request's events are read and checked: never the whole log, and nothing of its size is shown.
    const { events, check } = await this.store.audit.verifyRequest(record.reference);
    const shown = events.slice(-200);
    const first = events.length - shown.length;
    return {
      reference: record.reference,
      chain: check,
      events: shown.map((e, i) => ({ n: first + i + 1, at: e.at.replace('T', ' ').slice(0, 19), event: e.event, actor: e.actorName, detail: detailOf(e.data) })),
    };
  }

  async exportAll(actor: RequestActor): Promise<AuditExport> {
    let csv = '';
    const rows = await this.store.audit.exportCsv((chunk) => {
      csv += chunk;
    });
    const chain = await this.store.audit.verify();
    mkdirSync(this.exportDir, { recursive: true });
    const file = path.join(this.exportDir, `audit-${this.now().toISOString().replace(/[:.]/g, '-')}.csv`);
    writeFileSync(file, csv, { mode: 0o600 });
    await this.store.audit.append({ actorAadObjectId: actor.aadObjectId, actorName: actor.name, event: 'audit.exported', data: { rows, file: path.basename(file) } });
    return { rows, file, csv, chain };
  }

  verify(expect?: { seq: number; hash: string }) {
    return this.store.audit.verify(expect === undefined ? {} : { expect });
  }

  /**
   * The chain head with the whole chain checked, as the daily report to the admins (or the log) says it. Kept outside
   * the database, the head makes a rewrite detectable: whoever rewrites events cannot make event N's hash match
   * the one published for it without the audit key (`check audit N <hash>`).
   */
  async headReport(): Promise<AuditHeadReport> {
    const chain = await this.store.audit.verify();
    const head = await this.store.audit.head();
    const state = chain.ok ? `The chain verifies${chain.keyed === false ? ' (unkeyed: no audit key is configured)' : ' (HMAC-SHA256 with the audit key)'}.` : `The chain is BROKEN at event ${chain.brokenAtSeq}: ${chain.reason}.`;
    const text =
      head.seq === 0
        ? `Audit log head: the log is empty. ${state}`
        : `Audit log head: event ${head.seq}, hash ${head.hash}${head.at ? ` (written ${head.at})` : ''}. ${state} ` +
          `Keep this message: \`check audit ${head.seq} ${head.hash}\` shows whether that event is still the one recorded now; a rewritten log does not match.`;
    return { head, chain, text };
  }
}

function detailOf(data: Record<string, unknown>): string {
  const parts = Object.entries(data)
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  const s = parts.join(' · ');
  return s.length > 300 ? `${s.slice(0, 299)}…` : s;
}
