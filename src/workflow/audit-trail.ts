import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Store } from '../store';
import type { ApprovalAccess } from './approval-access';
import type { AuditExport, AuditTrail, AuditTrailView, RequestActor } from './use-cases';

/** The audit log for people: one request's trail (to whoever may see the request), the CSV export, the chain check. */
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
    const events = await this.store.audit.list({ requestRef: record.reference, limit: 200 });
    return {
      reference: record.reference,
      chain: await this.store.audit.verify(),
      events: events.map((e) => ({ seq: e.seq, at: e.at.replace('T', ' ').slice(0, 19), event: e.event, actor: e.actorName, detail: detailOf(e.data) })),
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

  verify() {
    return this.store.audit.verify();
  }
}

function detailOf(data: Record<string, unknown>): string {
  const parts = Object.entries(data)
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  const s = parts.join(' · ');
  return s.length > 300 ? `${s.slice(0, 299)}…` : s;
}
