/**
 * The store parts of batch cards and progress, on both engines: where a batch's cards were posted (migration 0010) is
 * remembered per audience in the order posted, idempotently, and bad input is refused with a clear message and
 * writes nothing; `requests.countByBatch` answers the status counts of a batch with one grouped query and its first
 * failed requests with their errors; `batches.head` reads a batch without its rows; a database at 0009 with a batch migrates to 0010 and keeps it.
 */
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import type { RequestInput, Store } from '../../src/store';
import { ENGINES, engineFixture, expectStoreError, storesUpgradedFrom } from './helpers';

const T0 = Date.parse('2025-03-01T09:00:00.000Z');
const at = (ms: number): Date => new Date(T0 + ms);

const batchInput = { kind: 'user-mailbox', requesterAadObjectId: 'AAD-Rita', requesterName: 'Rita Requester', tenantId: 'tenant-a', rows: { valid: [], invalid: [] }, summary: '3 user mailboxes' };
const requestInput = (batchId: number, status: RequestInput['status'] = 'pending-approval'): RequestInput => ({ kind: 'user-mailbox', requesterAadObjectId: 'aad-rita', requesterName: 'Rita', tenantId: 'tenant-a', values: {}, request: {}, status, batchId });

async function cardCount(store: Store): Promise<number> {
  return Number((await store.db.selectFrom('batch_cards').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
}

for (const engine of ENGINES) {
  describe(`batch cards and counts (${engine})`, function () {
    const fx = engineFixture(engine, 'batch-cards');
    const fresh = async (): Promise<Store> => fx.open(await fx.freshOptions());

    it('remembers each posted card per audience, in order, once (the same place again is the same record)', async function () {
      const store = await fresh();
      const b = await store.batches.create(batchInput, at(0));
      const other = await store.batches.create(batchInput, at(0));
      const preview = await store.batches.addCard({ batchId: b.id, audience: 'preview', aadObjectId: 'AAD-Rita', conversationId: 'conv-rita', activityId: 'act-1' }, at(1));
      assert.deepEqual(preview, { id: preview.id, batchId: b.id, audience: 'preview', aadObjectId: 'aad-rita', conversationId: 'conv-rita', activityId: 'act-1', createdAt: '2025-03-01T09:00:00.001Z' });
      const a1 = await store.batches.addCard({ batchId: b.id, audience: 'approver', aadObjectId: 'aad-arnold', conversationId: 'conv-arnold', activityId: 'act-2' }, at(2));
      const a2 = await store.batches.addCard({ batchId: b.id, audience: 'approver', aadObjectId: null, conversationId: 'channel', activityId: 'act-3' }, at(3));
      await store.batches.addCard({ batchId: other.id, audience: 'approver', aadObjectId: 'aad-arnold', conversationId: 'conv-arnold', activityId: 'act-9' }, at(3));
      const again = await store.batches.addCard({ batchId: b.id, audience: 'approver', aadObjectId: 'aad-arnold', conversationId: 'conv-arnold', activityId: 'act-2' }, at(9));
      assert.deepEqual(again, a1, 'idempotent');
      assert.deepEqual(await store.batches.cards(b.id, 'approver'), [a1, a2]);
      assert.deepEqual(await store.batches.cards(b.id), [preview, a1, a2]);
      assert.deepEqual(await store.batches.cards(b.id, 'progress'), []);
      assert.deepEqual(await store.batches.cards(999_999), []);
    });

    it('head: the batch as get has it, without its rows; undefined for none', async function () {
      const store = await fresh();
      const b = await store.batches.create({ ...batchInput, rows: { valid: [{ line: 2, values: { first: 'Bo' } }], invalid: [] } }, at(0));
      const { rows, ...rest } = b;
      assert.ok(rows, 'get has the rows');
      assert.deepEqual(await store.batches.head(b.reference), rest);
      assert.equal(await store.batches.head('B-999999'), undefined);
      assert.equal(await store.batches.head('R-1'), undefined);
    });

    it('refuses bad cards with what was wrong, writing nothing', async function () {
      const store = await fresh();
      const b = await store.batches.create(batchInput, at(0));
      const good = { batchId: b.id, audience: 'progress' as const, aadObjectId: 'aad-rita', conversationId: 'conv', activityId: 'act' };
      await expectStoreError(store.batches.addCard({ ...good, audience: 'requester' as never }, at(1)), 'invalid-record', /nothing was changed: audience must be one of preview, approver, progress \(got "requester"\)/);
      await expectStoreError(store.batches.addCard({ ...good, batchId: 0 }, at(1)), 'invalid-record', /batchId must be an integer/);
      await expectStoreError(store.batches.addCard({ ...good, activityId: '' }, at(1)), 'invalid-record', /activityId must be a non-empty string/);
      await expectStoreError(store.batches.addCard({ ...good, aadObjectId: '' }, at(1)), 'invalid-record', /aadObjectId must be a non-empty string or null/);
      await expectStoreError(store.batches.cards(-1), 'invalid-record', /batchId must be an integer/);
      assert.equal(await cardCount(store), 0);
    });

    it('countByBatch: the counts per status of one batch only, and its first failed requests with their errors', async function () {
      const store = await fresh();
      const b = await store.batches.create(batchInput, at(0));
      const other = await store.batches.create(batchInput, at(0));
      assert.deepEqual(await store.requests.countByBatch(b.id), { total: 0, byStatus: {}, failed: [] });
      const made = [];
      for (const status of ['done', 'done', 'failed', 'running', 'failed', 'failed'] as const) made.push(await store.requests.create(requestInput(b.id, status)));
      await store.requests.create(requestInput(other.id, 'failed'));
      for (const r of made.filter((x) => x.status === 'failed')) {
        await store.requests.transition(r.id, r.version, { error: `broke ${r.reference}` });
      }
      const counts = await store.requests.countByBatch(b.id, 2);
      assert.deepEqual(counts.byStatus, { done: 2, failed: 3, running: 1 });
      assert.equal(counts.total, 6);
      const failed = made.filter((x) => x.status === 'failed');
      assert.deepEqual(counts.failed, failed.slice(0, 2).map((r) => ({ reference: r.reference, error: `broke ${r.reference}` })));
      assert.deepEqual((await store.requests.countByBatch(b.id, 0)).failed, []);
      await expectStoreError(store.requests.countByBatch(b.id, -1), 'invalid-record', /failedListed must be an integer from 0 to 1000/);
      await expectStoreError(store.requests.countByBatch(0), 'invalid-record', /batchId must be an integer/);
    });

    it('a database at 0009 with a batch migrates to 0010: the batch is kept and its cards can be remembered', async function () {
      const [a, b] = await storesUpgradedFrom(fx, engine, '0009_batches', async (old) => {
        await sql`insert into batches (kind, requester_aad_object_id, requester_name, tenant_id, status, version, rows_json, summary, created_at, updated_at) values ('user-mailbox', 'aad-rita', 'Rita', 'tenant-a', 'filed', 2, '{}', 's', '2025-03-01T09:00:00.000Z', '2025-03-01T09:00:00.000Z')`.execute(old);
      });
      try {
        const batch = await a.batches.get('B-1');
        assert.equal(batch?.status, 'filed');
        await b.batches.addCard({ batchId: 1, audience: 'progress', aadObjectId: 'aad-rita', conversationId: 'conv', activityId: 'act' }, at(0));
        assert.equal((await a.batches.cards(1, 'progress')).length, 1);
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });
  });
}
