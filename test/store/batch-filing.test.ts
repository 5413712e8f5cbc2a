/**
 * The store parts of filing a batch that survives a crash (migration 0011), on both engines: a line of a batch's file
 * is filed once (a second request for it is refused as `conflict` and nothing is stored); a filed batch says its
 * filing goes on, and one whose filing stood still is listed as interrupted until it is marked done; of two callers
 * taking up the same interrupted filing exactly one gets it; bad input is refused and writes nothing; a database at
 * 0010 migrates to 0011 with its filed batches counted as filed to the end.
 */
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import type { RequestInput, Store } from '../../src/store';
import { ENGINES, engineFixture, expectStoreError, storesUpgradedFrom } from './helpers';

const T0 = Date.parse('2025-03-01T09:00:00.000Z');
const at = (ms: number): Date => new Date(T0 + ms);

const batchInput = { kind: 'user-mailbox', requesterAadObjectId: 'AAD-Rita', requesterName: 'Rita Requester', tenantId: 'tenant-a', rows: { valid: [], invalid: [] }, summary: '3 user mailboxes' };
const requestInput = (extra: Partial<RequestInput> = {}): RequestInput => ({ kind: 'user-mailbox', requesterAadObjectId: 'aad-rita', requesterName: 'Rita', tenantId: 'tenant-a', values: {}, request: {}, ...extra });

async function requestCount(store: Store): Promise<number> {
  return Number((await store.db.selectFrom('requests').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
}

for (const engine of ENGINES) {
  describe(`batch filing that survives a crash (${engine})`, function () {
    const fx = engineFixture(engine, 'batch-filing');
    const fresh = async (): Promise<Store> => fx.open(await fx.freshOptions());

    it('files a line of a batch once: a second request for it is a conflict and stores nothing; other lines, other batches and single requests are not affected', async function () {
      const store = await fresh();
      const b = await store.batches.create(batchInput, at(0));
      const other = await store.batches.create(batchInput, at(0));
      const first = await store.requests.create(requestInput({ batchId: b.id, batchLine: 2 }));
      assert.equal(first.batchId, b.id);
      assert.equal(first.batchLine, 2);
      assert.equal((await store.requests.get(first.id))?.batchLine, 2, 'read back');
      const n = await requestCount(store);
      await expectStoreError(store.requests.create(requestInput({ batchId: b.id, batchLine: 2 })), 'conflict', new RegExp(`^Line 2 of batch B-${b.id} was filed already; the request was not stored\\.$`));
      assert.equal(await requestCount(store), n, 'nothing stored');
      assert.equal((await store.requests.create(requestInput({ batchId: b.id, batchLine: 3 }))).batchLine, 3);
      assert.equal((await store.requests.create(requestInput({ batchId: other.id, batchLine: 2 }))).batchLine, 2, 'the same line of another batch');
      const single = await store.requests.create(requestInput());
      assert.equal(single.batchLine, null);
      assert.equal((await store.requests.create(requestInput())).batchLine, null, 'requests outside a batch have no line');
      assert.deepEqual((await store.requests.listByBatch(b.id)).map((r) => r.batchLine), [2, 3]);
    });

    it('refuses a bad line with what was wrong, writing nothing', async function () {
      const store = await fresh();
      const b = await store.batches.create(batchInput, at(0));
      const n = await requestCount(store);
      await expectStoreError(store.requests.create(requestInput({ batchLine: 2 })), 'invalid-record', /batchLine needs a batchId/);
      await expectStoreError(store.requests.create(requestInput({ batchId: b.id, batchLine: 0 })), 'invalid-record', /batchLine/);
      await expectStoreError(store.requests.create(requestInput({ batchId: b.id, batchLine: 1.5 })), 'invalid-record', /batchLine/);
      assert.equal(await requestCount(store), n);
    });

    it('a filing that stands still is interrupted until it is done; of two callers taking it up, one gets it', async function () {
      const store = await fresh();
      const preview = await store.batches.create(batchInput, at(0));
      const b = await store.batches.create(batchInput, at(0));
      const filed = await store.batches.transition(b.id, b.version, { status: 'filed', filedAt: at(1).toISOString() }, at(1));
      assert.ok(filed.ok);
      assert.equal(filed.record.filingDoneAt, null);
      assert.deepEqual(await store.batches.interruptedFilings(at(1), 10), [], 'not before it stood still');
      assert.deepEqual((await store.batches.interruptedFilings(at(2), 10)).map((x) => x.id), [b.id], 'a preview is never listed');

      // it goes on: not interrupted as seen from just after
      assert.equal(await store.batches.filingGoesOn(b.id, at(5)), true);
      assert.deepEqual(await store.batches.interruptedFilings(at(5), 10), []);
      assert.equal((await store.batches.get(b.id))?.updatedAt, at(5).toISOString());
      assert.equal(await store.batches.filingGoesOn(preview.id, at(5)), false, 'a preview is not being filed');

      // two callers take it up at once, each only if it still stands still since at(6): one wins
      const taken = await Promise.all([store.batches.filingGoesOn(b.id, at(9), at(6)), store.batches.filingGoesOn(b.id, at(9), at(6))]);
      assert.deepEqual(taken.sort(), [false, true]);
      assert.equal(await store.batches.filingGoesOn(b.id, at(10), at(6)), false, 'it moved since');

      assert.equal(await store.batches.filingDone(b.id, at(12)), true);
      assert.equal(await store.batches.filingDone(b.id, at(13)), false, 'once');
      assert.equal((await store.batches.get(b.id))?.filingDoneAt, at(12).toISOString());
      assert.equal((await store.batches.head(b.id))?.filingDoneAt, at(12).toISOString());
      assert.deepEqual(await store.batches.interruptedFilings(at(100), 10), [], 'done is never interrupted');
      assert.equal(await store.batches.filingGoesOn(b.id, at(14)), false, 'nor does it go on');
      assert.equal(await store.batches.filingDone(preview.id, at(14)), false, 'a preview is not filed');
    });

    it('refuses bad input to the filing calls, changing nothing', async function () {
      const store = await fresh();
      const b = await store.batches.create(batchInput, at(0));
      await expectStoreError(store.batches.filingGoesOn(0, at(1)), 'invalid-record', /id must be an integer/);
      await expectStoreError(store.batches.filingDone(b.id, new Date(Number.NaN)), 'invalid-record', /nothing was changed/);
      await expectStoreError(store.batches.interruptedFilings(at(1), 0), 'invalid-record', /limit must be an integer from 1 to 1000 \(got 0\)/);
      assert.equal((await store.batches.get(b.id))?.updatedAt, at(0).toISOString());
    });

    it('a database at 0010 migrates to 0011: filed batches count as filed to the end, a preview does not', async function () {
      const [a, c] = await storesUpgradedFrom(fx, engine, '0010_batch_cards', async (old) => {
        for (const [status, filedAt] of [
          ['filed', "'2025-03-01T09:00:01.000Z'"],
          ['preview', 'null'],
          ['finished', "'2025-03-01T09:00:02.000Z'"],
        ] as const) {
          await sql`insert into batches (kind, requester_aad_object_id, requester_name, tenant_id, status, version, rows_json, summary, created_at, updated_at, filed_at) values ('user-mailbox', 'aad-rita', 'Rita', 'tenant-a', ${status}, 2, '{}', 's', '2025-03-01T09:00:00.000Z', '2025-03-01T09:00:03.000Z', ${sql.raw(filedAt)})`.execute(old);
        }
        await sql`insert into requests (id, reference, kind, status, version, stage, requester_aad_object_id, requester_name, tenant_id, values_json, request_json, created_at, updated_at, batch_id) values (1000, 'R-1000', 'user-mailbox', 'pending-approval', 1, 1, 'aad-rita', 'Rita', 'tenant-a', '{}', '{}', '2025-03-01T09:00:00.000Z', '2025-03-01T09:00:00.000Z', 1)`.execute(old);
      });
      try {
        assert.equal((await a.batches.get('B-1'))?.filingDoneAt, '2025-03-01T09:00:01.000Z');
        assert.equal((await a.batches.get('B-2'))?.filingDoneAt, null);
        assert.equal((await a.batches.get('B-3'))?.filingDoneAt, '2025-03-01T09:00:02.000Z');
        assert.deepEqual(await a.batches.interruptedFilings(at(3_600_000), 10), [], 'nothing to take up');
        const old = (await a.requests.listByBatch(1))[0];
        assert.equal(old?.batchLine, null, 'a request filed before has no line');
        assert.equal((await c.requests.create(requestInput({ batchId: 1, batchLine: 2 }))).batchLine, 2);
      } finally {
        await Promise.all([a.close(), c.close()]);
      }
    });
  });
}
