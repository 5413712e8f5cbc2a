/**
 * An approver's decision and the move it causes, on both engines: written together or not at all (a decision that
 * cannot be stored leaves the request as it was), refused with nothing written for an approver who decided on the
 * request before (read inside the same transaction), refused for a stale version, and one winner when two approvers
 * decide the same version at once from two connections.
 */
import assert from 'node:assert/strict';
import type { Store, StoreOptions } from '../../src/store';
import { ENGINES, engineFixture, expectStoreError } from './helpers';

const ARNOLD = { approverAadObjectId: 'aad-arnold', approverName: 'Arnold Approver' };
const ADA = { approverAadObjectId: 'aad-ada', approverName: 'Ada Admin' };
const NEXT_STAGE = { stage: 2 };

/** SQL that makes every decision insert fail, as a full disk or a dropped connection would between two writes. */
const FAIL_DECISIONS = {
  sqlite: `CREATE TRIGGER fail_decisions BEFORE INSERT ON request_decisions BEGIN SELECT RAISE(ABORT, 'the disk is full'); END;`,
  postgres: `CREATE FUNCTION fail_decisions() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'the disk is full'; END $$ LANGUAGE plpgsql;
             CREATE TRIGGER fail_decisions BEFORE INSERT ON request_decisions FOR EACH ROW EXECUTE FUNCTION fail_decisions();`,
};
const HEAL_DECISIONS = { sqlite: 'DROP TRIGGER fail_decisions;', postgres: 'DROP TRIGGER fail_decisions ON request_decisions; DROP FUNCTION fail_decisions();' };

for (const engine of ENGINES) {
  describe(`a decision and its move in one transaction (${engine})`, function () {
    const fx = engineFixture(engine, 'decide');

    async function withRequest(): Promise<{ store: Store; opts: StoreOptions; id: number }> {
      const opts = await fx.freshOptions();
      const store = await fx.open(opts);
      const r = await store.requests.create({ kind: 'shared-mailbox', requesterAadObjectId: 'aad-rita', requesterName: 'Rita', tenantId: 't', values: {}, request: {} });
      return { store, opts, id: r.id };
    }

    it('writes the move and the decision together, the decision at the version it was made on', async function () {
      const { store, id } = await withRequest();
      const res = await store.requests.decide(id, 1, NEXT_STAGE, { ...ARNOLD, stage: 1, decision: 'approve' });
      assert.ok(res.ok);
      assert.deepEqual([res.record.version, res.record.stage], [2, 2]);
      assert.deepEqual([res.decision.stage, res.decision.requestVersion, res.decision.approverAadObjectId], [1, 1, ARNOLD.approverAadObjectId]);
      assert.deepEqual((await store.decisions.list(id)).map((d) => [d.stage, d.requestVersion, d.approverName]), [[1, 1, 'Arnold Approver']]);
    });

    it('refuses an approver who decided on the request before, and writes nothing', async function () {
      const { store, id } = await withRequest();
      assert.ok((await store.requests.decide(id, 1, NEXT_STAGE, { ...ARNOLD, stage: 1, decision: 'approve' })).ok);
      const again = await store.requests.decide(id, 2, { status: 'approved', decidedBy: ARNOLD.approverAadObjectId }, { ...ARNOLD, stage: 2, decision: 'approve' });
      assert.ok(!again.ok);
      assert.equal(again.code, 'decided-before');
      assert.ok(again.code === 'decided-before' && again.earlier.stage === 1);
      const after = await store.requests.get(id);
      assert.deepEqual([after?.status, after?.version, after?.stage], ['pending-approval', 2, 2], 'the request did not move');
      assert.equal((await store.decisions.list(id)).length, 1, 'no second decision');
      // somebody else may decide stage 2
      const other = await store.requests.decide(id, 2, { status: 'approved', decidedBy: ADA.approverAadObjectId }, { ...ADA, stage: 2, decision: 'approve' });
      assert.ok(other.ok);
      assert.equal(other.record.status, 'approved');
    });

    it('when the decision cannot be stored, the request does not move either', async function () {
      const { store, opts, id } = await withRequest();
      await fx.rawExec(opts, FAIL_DECISIONS[engine]);
      await assert.rejects(store.requests.decide(id, 1, NEXT_STAGE, { ...ARNOLD, stage: 1, decision: 'approve' }), /the disk is full/);
      const after = await store.requests.get(id);
      assert.deepEqual([after?.status, after?.version, after?.stage], ['pending-approval', 1, 1], 'nothing was written');
      assert.deepEqual(await store.decisions.list(id), []);
      await fx.rawExec(opts, HEAL_DECISIONS[engine]);
      const retried = await store.requests.decide(id, 1, NEXT_STAGE, { ...ARNOLD, stage: 1, decision: 'approve' });
      assert.ok(retried.ok, 'the same decision succeeds once it can be stored');
    });

    it('refuses a stale version (someone decided first) and reports the request as it is now', async function () {
      const { store, id } = await withRequest();
      assert.ok((await store.requests.decide(id, 1, NEXT_STAGE, { ...ARNOLD, stage: 1, decision: 'approve' })).ok);
      const late = await store.requests.decide(id, 1, { status: 'rejected' }, { ...ADA, stage: 1, decision: 'reject', reason: 'no' });
      assert.ok(!late.ok);
      assert.equal(late.code, 'changed');
      assert.equal(late.current.version, 2);
      assert.equal((await store.decisions.list(id)).length, 1);
    });

    it('two approvers deciding the same version at once from two connections: one wins, one decision is stored', async function () {
      const { store, opts, id } = await withRequest();
      const second = await fx.open(opts);
      const results = await Promise.all([
        store.requests.decide(id, 1, NEXT_STAGE, { ...ARNOLD, stage: 1, decision: 'approve' }),
        second.requests.decide(id, 1, { status: 'rejected' }, { ...ADA, stage: 1, decision: 'reject', reason: 'no' }),
      ]);
      assert.equal(results.filter((r) => r.ok).length, 1);
      assert.equal((await store.decisions.list(id)).length, 1);
      assert.equal((await store.requests.get(id))?.version, 2);
    });

    it('checks its input: a bad decision or an unknown request writes nothing', async function () {
      const { store, id } = await withRequest();
      await expectStoreError(store.requests.decide(id, 1, NEXT_STAGE, { ...ARNOLD, approverAadObjectId: '', stage: 1, decision: 'approve' }), 'invalid-record', /approverAadObjectId must be a non-empty string/);
      await expectStoreError(store.requests.decide(id + 100, 1, NEXT_STAGE, { ...ARNOLD, stage: 1, decision: 'approve' }), 'not-found', /does not exist; nothing was changed/);
      assert.equal((await store.requests.get(id))?.version, 1);
    });
  });
}
