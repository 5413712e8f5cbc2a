/**
 * The store parts of a decision on a batch that survives a crash (migration 0014), on both engines: a decision is kept
 * as pressed (the decider lower-cased, approve or reject, the reason) and listed as interrupted once it stood still,
 * until it is marked done; of two callers taking up the same one exactly one gets it, and each take-up counts, so one
 * that keeps failing stops being listed; bad input is refused and writes nothing; a database at 0013 migrates.
 */
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import type { BatchDecisionInput, Store } from '../../src/store';
import { ENGINES, engineFixture, expectStoreError, storesUpgradedFrom } from './helpers';

const T0 = Date.parse('2025-03-01T09:00:00.000Z');
const at = (ms: number): Date => new Date(T0 + ms);
const MIN = 60_000;

const batchInput = { kind: 'user-mailbox', requesterAadObjectId: 'aad-rita', requesterName: 'Rita Requester', tenantId: 'tenant-a', rows: { valid: [], invalid: [] }, summary: '3 user mailboxes' };
const decision = (batchId: number, extra: Partial<BatchDecisionInput> = {}): BatchDecisionInput => ({
  batchId,
  actorAadObjectId: 'AAD-Arnold',
  actorName: 'Arnold Approver',
  tenantId: 'tenant-a',
  isAdmin: false,
  outcome: 'reject',
  reason: 'Not this term.',
  ...extra,
});

async function decisionCount(store: Store): Promise<number> {
  return Number((await store.db.selectFrom('batch_decisions').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
}

for (const engine of ENGINES) {
  describe(`batch decisions that survive a crash (${engine})`, function () {
    const fx = engineFixture(engine, 'batch-decisions');
    const fresh = async (): Promise<Store> => fx.open(await fx.freshOptions());

    it('keeps a decision as pressed; it is interrupted once it stood still, not while it goes on, and not once done', async function () {
      const store = await fresh();
      const b = await store.batches.create(batchInput, at(0));
      const d = await store.batches.decisionStarted(decision(b.id, { isAdmin: true }), at(0));
      assert.deepEqual(
        { ...d, id: 0 },
        { id: 0, batchId: b.id, actorAadObjectId: 'aad-arnold', actorName: 'Arnold Approver', tenantId: 'tenant-a', isAdmin: true, outcome: 'reject', reason: 'Not this term.', attempts: 1, startedAt: at(0).toISOString(), goingOnAt: at(0).toISOString(), doneAt: null },
      );
      assert.deepEqual(await store.batches.interruptedDecisions(at(0), 3, 10), [], 'it has not stood still since it began');
      assert.equal(await store.batches.decisionGoesOn(d.id, at(1 * MIN)), true, 'it goes on');
      assert.deepEqual(await store.batches.interruptedDecisions(at(1 * MIN), 3, 10), [], 'moved at 1 min');
      assert.deepEqual(
        (await store.batches.interruptedDecisions(at(3 * MIN), 3, 10)).map((x) => [x.id, x.goingOnAt]),
        [[d.id, at(1 * MIN).toISOString()]],
      );
      assert.equal(await store.batches.decisionDone(d.id, at(4 * MIN)), true);
      assert.equal(await store.batches.decisionDone(d.id, at(5 * MIN)), false, 'done once');
      assert.equal(await store.batches.decisionGoesOn(d.id, at(6 * MIN)), false, 'a done decision does not go on');
      assert.deepEqual(await store.batches.interruptedDecisions(at(60 * MIN), 3, 10), []);
    });

    it('of two callers taking up the same interrupted decision, one gets it; each take-up counts, and after the last run it is no longer listed', async function () {
      const store = await fresh();
      const b = await store.batches.create(batchInput, at(0));
      const d = await store.batches.decisionStarted(decision(b.id, { outcome: 'approve', reason: null }), at(0));
      const stale = at(3 * MIN);
      const got = await Promise.all([store.batches.decisionGoesOn(d.id, at(5 * MIN), stale), store.batches.decisionGoesOn(d.id, at(5 * MIN), stale)]);
      assert.deepEqual(got.sort(), [false, true]);
      assert.equal((await store.batches.interruptedDecisions(at(60 * MIN), 3, 10))[0]?.attempts, 2, 'taken up once: its second run');
      assert.equal(await store.batches.decisionGoesOn(d.id, at(10 * MIN), at(8 * MIN)), true, 'taken up again');
      assert.deepEqual(await store.batches.interruptedDecisions(at(60 * MIN), 3, 10), [], 'three runs: not listed any more');
      assert.equal((await store.batches.interruptedDecisions(at(60 * MIN), 4, 10))[0]?.attempts, 3);
    });

    it('refuses bad input with a clear message and writes nothing', async function () {
      const store = await fresh();
      const b = await store.batches.create(batchInput, at(0));
      await expectStoreError(store.batches.decisionStarted(decision(b.id, { outcome: 'maybe' as never }), at(0)), 'invalid-record', /^The decision on the batch was not recorded, nothing was changed: outcome must be approve or reject \(got "maybe"\)\.$/);
      await expectStoreError(store.batches.decisionStarted(decision(b.id, { reason: 'x'.repeat(1001) }), at(0)), 'invalid-record', /the reason must be at most 1000 characters\.$/);
      await expectStoreError(store.batches.decisionStarted(decision(0), at(0)), 'invalid-record', /batchId must be an integer/);
      await expectStoreError(store.batches.decisionStarted(decision(b.id, { actorName: '' }), at(0)), 'invalid-record', /actorName must be a non-empty string/);
      await expectStoreError(store.batches.interruptedDecisions(at(0), 0, 10), 'invalid-record', /maxAttempts must be a positive integer/);
      assert.equal(await decisionCount(store), 0, 'nothing written');
    });

    it('a database at 0013 migrates to 0014 with its batches kept', async function () {
      const [a, c] = await storesUpgradedFrom(fx, engine, '0013_steps_due_in_turn', async (old) => {
        await sql`insert into batches (kind, requester_aad_object_id, requester_name, tenant_id, status, version, rows_json, summary, created_at, updated_at, filed_at, filing_done_at) values ('user-mailbox', 'aad-rita', 'Rita', 'tenant-a', 'filed', 2, '{}', 's', ${at(0).toISOString()}, ${at(0).toISOString()}, ${at(0).toISOString()}, ${at(0).toISOString()})`.execute(old);
      });
      try {
        const b = await a.batches.get('B-1');
        assert.equal(b?.status, 'filed');
        const d = await c.batches.decisionStarted(decision(1), at(1));
        assert.equal((await a.batches.interruptedDecisions(at(10 * MIN), 3, 10))[0]?.id, d.id);
      } finally {
        await Promise.all([a.close(), c.close()]);
      }
    });
  });
}
