/**
 * Two-stage approvals: the person who approved stage 1 never approves stage 2. A decision and the move it causes
 * are one transaction, so a decision that cannot be stored (a crash or a full disk between the two writes) leaves
 * the request at stage 1; and the "decided before" check is read inside that transaction, so an approver whose
 * view of the decisions is stale (read before another decision committed) is still refused.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { silentLogger } from '../../src/log';
import type { ApprovalPolicyConfig } from '../../src/requests';
import { openStore, type Store } from '../../src/store';
import { ApprovalAccess } from '../../src/workflow/approval-access';
import { ApprovalService } from '../../src/workflow/approvals';
import { RequestLifecycle } from '../../src/workflow/lifecycle';
import type { RequestNotifications } from '../../src/workflow/ports';
import { RequestViewService } from '../../src/workflow/request-views';
import type { RequestActor } from '../../src/workflow/use-cases';

const actor = (aadObjectId: string, name: string, isAdmin = false): RequestActor => ({ aadObjectId, name, tenantId: 't', isAdmin });
const RITA = actor('aad-rita', 'Rita Requester');
const ARNOLD = actor('aad-arnold', 'Arnold Approver');
const ADA = actor('aad-ada', 'Ada Admin', true);

/** Arnold approves both stages of a shared mailbox; Ada the second one too. */
const POLICY: ApprovalPolicyConfig = {
  kinds: { 'shared-mailbox': { approvers: [{ kind: 'user', id: ARNOLD.aadObjectId }], secondStage: [{ kind: 'user', id: ARNOLD.aadObjectId }, { kind: 'user', id: ADA.aadObjectId }] } },
  expiresAfterMs: 3 * 86_400_000,
  remindAfterMs: [],
};

/** Nobody is messaged in these tests: the approvals alone are under test. */
const quiet: RequestNotifications = {
  approvalNeeded: () => Promise.resolve(),
  requestChanged: () => Promise.resolve(),
  remind: () => Promise.resolve(),
  sweepReported: () => Promise.resolve(),
};

describe('two-stage approval: one person never decides two stages', function () {
  let dir = '';
  let file = '';
  let store: Store;

  beforeEach(async function () {
    dir = mkdtempSync(path.join(os.tmpdir(), 'mailroom-decide-'));
    file = path.join(dir, 'm.db');
    store = await openStore({ sqliteFile: file });
  });
  afterEach(async function () {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The approvals use case over `s` (by default the real store). */
  function approvals(s: Store = store): ApprovalService {
    const access = new ApprovalAccess(POLICY, undefined);
    return new ApprovalService({
      store: s,
      lifecycle: new RequestLifecycle(s.requests),
      access,
      views: new RequestViewService(s, access),
      notifications: quiet,
      runs: undefined,
      log: silentLogger,
      now: () => new Date(),
    });
  }

  const file1 = () =>
    store.requests.create({ kind: 'shared-mailbox', requesterAadObjectId: RITA.aadObjectId, requesterName: RITA.name, tenantId: 't', values: {}, request: {}, stage: 1 });

  /** Runs SQL on the database file through another connection, as an outside event would. */
  function raw(sqlText: string): void {
    const db = new BetterSqlite3(file);
    try {
      db.exec(sqlText);
    } finally {
      db.close();
    }
  }

  it('a decision that cannot be stored leaves the request at stage 1; its approver then cannot pass stage 2', async function () {
    const r = await file1();
    raw(`CREATE TRIGGER fail_decisions BEFORE INSERT ON request_decisions BEGIN SELECT RAISE(ABORT, 'the disk is full'); END;`);
    await assert.rejects(approvals().decide(ARNOLD, r.reference, 1, 'approve', undefined), /the disk is full/);
    const after = await store.requests.get(r.id);
    assert.deepEqual([after?.status, after?.stage, after?.version], ['pending-approval', 1, 1], 'nothing was written: the request is still at stage 1');
    assert.deepEqual(await store.decisions.list(r.id), []);
    raw('DROP TRIGGER fail_decisions;');

    // Arnold approves stage 1 for real, then tries stage 2: refused, nothing changed.
    const first = await approvals().decide(ARNOLD, r.reference, 1, 'approve', undefined);
    assert.ok(first.ok && first.effect === 'next-stage');
    const second = await approvals().decide(ARNOLD, r.reference, 2, 'approve', undefined);
    assert.ok(!second.ok);
    assert.match(second.message, /already approved an earlier stage/);
    assert.deepEqual([(await store.requests.get(r.id))?.status, (await store.decisions.list(r.id)).length], ['pending-approval', 1]);

    const ada = await approvals().decide(ADA, r.reference, 2, 'approve', undefined);
    assert.ok(ada.ok && ada.effect === 'approved');
    assert.deepEqual((await store.decisions.list(r.id)).map((d) => [d.stage, d.approverName]), [[1, 'Arnold Approver'], [2, 'Ada Admin']]);
  });

  it('the "decided before" check is read inside the transaction: a stale read of the decisions does not let stage 1 approve stage 2', async function () {
    const r = await file1();
    assert.ok((await approvals().decide(ARNOLD, r.reference, 1, 'approve', undefined)).ok);
    // Arnold's second click was read before his first decision committed: the decisions it saw were none.
    const staleRead: Store = { ...store, decisions: { ...store.decisions, list: () => Promise.resolve([]) } };
    const second = await approvals(staleRead).decide(ARNOLD, r.reference, 2, 'approve', undefined);
    assert.ok(!second.ok, 'refused');
    assert.equal(second.code, 'decided-earlier-stage');
    assert.match(second.message, new RegExp(`You already approved stage 1 of ${r.reference}; the next stage needs somebody else\\. Nothing was changed\\.`));
    const after = await store.requests.get(r.id);
    assert.deepEqual([after?.status, after?.stage, after?.version], ['pending-approval', 2, 2], 'nothing was written');
    assert.equal((await store.decisions.list(r.id)).length, 1);
    const refusals = (await store.audit.list({ requestRef: r.reference, limit: 50 })).filter((e) => e.event === 'request.decision-refused');
    assert.deepEqual(refusals.map((e) => e.data.code), ['decided-earlier-stage']);
  });
});
