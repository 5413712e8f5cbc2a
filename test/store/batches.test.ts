/**
 * Batches (migration 0009) on both engines: a batch is created as a preview and found by id and by every reference
 * form, its moves are version-guarded (a stale version is refused with the current batch; of two concurrent moves
 * from one version exactly one wins), requests filed with a batchId are listed by their batch in id order, bad input
 * is refused with a clear message and writes nothing, and a database at 0008 migrates to 0009 keeping its requests.
 */
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { LATEST_MIGRATION, MIGRATION_NAMES, batchReference, parseBatchId, type BatchRecord, type RequestInput, type Store } from '../../src/store';
import { ENGINES, engineFixture, expectStoreError, storesUpgradedFrom } from './helpers';

const T0 = Date.parse('2025-03-01T09:00:00.000Z');
const at = (ms: number): Date => new Date(T0 + ms);

const ROWS = [
  { line: 2, values: { displayName: 'Ann Adams', alias: 'ann' } },
  { line: 3, values: { displayName: 'Bo "B" Berg', alias: 'bo', note: 'Å\n' } },
];

function batchInput(overrides: Record<string, unknown> = {}) {
  return { kind: 'user-mailbox', requesterAadObjectId: 'AAD-Rita', requesterName: 'Rita Requester', tenantId: 'tenant-a', rows: ROWS, summary: '2 user mailboxes', ...overrides };
}

function requestInput(batchId?: number): RequestInput {
  return { kind: 'user-mailbox', requesterAadObjectId: 'aad-rita', requesterName: 'Rita', tenantId: 'tenant-a', values: {}, request: {}, ...(batchId === undefined ? {} : { batchId }) };
}

async function count(store: Store, table: 'batches' | 'requests'): Promise<number> {
  const row = await store.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('batch references', function () {
  it('batchReference and parseBatchId: B-12, b12, b-12, 12 and 12 as a number are batch 12; anything else is none', function () {
    assert.equal(batchReference(12), 'B-12');
    for (const ref of ['B-12', 'b12', 'b-12', 'B12', '12', ' B-12 ', 12]) assert.equal(parseBatchId(ref), 12, String(ref));
    for (const ref of ['R-12', 'B-', 'B-0', '0', '-1', 'B--12', 'B-1.5', '', 0, 1.5, -3, 2_147_483_648, 'B-99999999999']) assert.equal(parseBatchId(ref), undefined, String(ref));
  });
});

for (const engine of ENGINES) {
  describe(`batches (${engine})`, function () {
    const fx = engineFixture(engine, 'batches');

    async function fresh(): Promise<Store> {
      return fx.open(await fx.freshOptions());
    }

    it('creates a preview at version 1 (requester lower-cased, rows kept exactly) and gets it by id and by every reference form', async function () {
      const store = await fresh();
      const created = await store.batches.create(batchInput(), at(0));
      const expected: BatchRecord = {
        id: created.id,
        reference: `B-${created.id}`,
        kind: 'user-mailbox',
        requesterAadObjectId: 'aad-rita',
        requesterName: 'Rita Requester',
        tenantId: 'tenant-a',
        status: 'preview',
        version: 1,
        rows: ROWS,
        summary: '2 user mailboxes',
        createdAt: at(0).toISOString(),
        updatedAt: at(0).toISOString(),
        filedAt: null,
        finishedAt: null,
        filingDoneAt: null,
      };
      assert.deepEqual(created, expected);
      assert.equal(JSON.stringify(created.rows), JSON.stringify(ROWS), 'key order kept');
      const second = await store.batches.create(batchInput({ rows: null, summary: '' }), at(1));
      assert.equal(second.id, created.id + 1);
      assert.equal(second.rows, null);

      for (const ref of [created.id, `B-${created.id}`, `b${created.id}`, `b-${created.id}`, String(created.id)]) {
        assert.deepEqual(await store.batches.get(ref), expected, String(ref));
      }
      assert.equal(await store.batches.get(9999), undefined);
      assert.equal(await store.batches.get('B-9999'), undefined);
      assert.equal(await store.batches.get('R-1'), undefined);
      assert.equal(await store.batches.get('nonsense'), undefined);
    });

    it('transition moves the batch one version on; a stale version gets ok:false with the current batch and changes nothing', async function () {
      const store = await fresh();
      const b = await store.batches.create(batchInput(), at(0));
      const filed = await store.batches.transition(b.id, 1, { status: 'filed', filedAt: at(5).toISOString() }, at(10));
      assert.equal(filed.ok, true);
      assert.ok(filed.ok);
      assert.deepEqual(filed.record, { ...b, status: 'filed', version: 2, filedAt: at(5).toISOString(), updatedAt: at(10).toISOString() });

      const stale = await store.batches.transition(b.id, 1, { status: 'cancelled' }, at(20));
      assert.deepEqual(stale, { ok: false, current: filed.record });
      assert.deepEqual(await store.batches.get(b.id), filed.record);

      const finished = await store.batches.transition(b.id, 2, { status: 'finished', finishedAt: '2025-03-01T12:00:00+02:00' }, at(30));
      assert.ok(finished.ok);
      assert.equal(finished.record.version, 3);
      assert.equal(finished.record.status, 'finished');
      assert.equal(finished.record.filedAt, at(5).toISOString(), 'a time left out is kept');
      assert.equal(finished.record.finishedAt, '2025-03-01T10:00:00.000Z');

      assert.deepEqual(await store.batches.transition(9999, 1, { status: 'filed' }, at(0)), { ok: false, current: undefined });
    });

    it('of 10 concurrent transitions from the same version, on two store instances, exactly one wins', async function () {
      const opts = await fx.freshOptions();
      const a = await fx.open(opts);
      const b = await fx.open(opts);
      const batch = await a.batches.create(batchInput(), at(0));
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).batches.transition(batch.id, 1, i % 3 === 0 ? { status: 'cancelled' } : { status: 'filed', filedAt: at(i).toISOString() }, at(i))),
      );
      const winners = results.filter((r) => r.ok);
      assert.equal(winners.length, 1);
      const now = await b.batches.get(batch.id);
      assert.equal(now?.version, 2);
      assert.ok(winners[0]?.ok);
      assert.deepEqual(now, winners[0].record);
      for (const r of results) if (!r.ok) assert.equal(r.current?.version, 2);
    });

    it('requests created with a batchId are listed by listByBatch in id order; others are not; existing requests have batchId null', async function () {
      const store = await fresh();
      const b1 = await store.batches.create(batchInput(), at(0));
      const b2 = await store.batches.create(batchInput(), at(0));
      const alone = await store.requests.create(requestInput());
      assert.equal(alone.batchId, null);
      const r1 = await store.requests.create(requestInput(b1.id));
      const other = await store.requests.create(requestInput(b2.id));
      const r2 = await store.requests.create(requestInput(b1.id));
      assert.equal(r1.batchId, b1.id);
      assert.equal((await store.requests.get(r2.reference))?.batchId, b1.id);
      assert.equal((await store.requests.get(alone.id))?.batchId, null);

      assert.deepEqual(await store.requests.listByBatch(b1.id), [r1, r2]);
      assert.deepEqual(
        (await store.requests.listByBatch(b2.id)).map((r) => r.id),
        [other.id],
      );
      assert.deepEqual(await store.requests.listByBatch(9999), []);
      // A transition keeps the batch.
      const moved = await store.requests.transition(r1.id, 1, { status: 'approved' });
      assert.ok(moved.ok);
      assert.equal(moved.record.batchId, b1.id);
    });

    it('refuses bad input with a clear message and writes nothing', async function () {
      const store = await fresh();
      await expectStoreError(store.batches.create(batchInput({ kind: '' }), at(0)), 'invalid-record', /^The batch was not stored, nothing was changed: kind must be a non-empty string/);
      await expectStoreError(store.batches.create(batchInput({ requesterAadObjectId: ' ' }), at(0)), 'invalid-record', /requesterAadObjectId must be a non-empty string/);
      await expectStoreError(store.batches.create(batchInput({ requesterName: 5 }), at(0)), 'invalid-record', /requesterName must be a non-empty string/);
      await expectStoreError(store.batches.create(batchInput({ tenantId: undefined }), at(0)), 'invalid-record', /tenantId must be a non-empty string/);
      await expectStoreError(store.batches.create(batchInput({ rows: undefined }), at(0)), 'invalid-record', /rows must be a JSON value \(got undefined\)/);
      await expectStoreError(store.batches.create(batchInput({ rows: [1n] }), at(0)), 'invalid-record', /rows cannot be stored as JSON/);
      await expectStoreError(store.batches.create(batchInput({ summary: null }), at(0)), 'invalid-record', /summary must be a string \(got null\)/);
      await expectStoreError(store.batches.create(batchInput(), new Date(NaN)), 'invalid-record', /now must be a valid time/);
      assert.equal(await count(store, 'batches'), 0);

      const b = await store.batches.create(batchInput(), at(0));
      await expectStoreError(
        store.batches.transition(b.id, 1, { status: 'done' as never }, at(1)),
        'invalid-record',
        /^The change to batch B-\d+ was not made, nothing was changed: status must be one of preview, filed, finished, cancelled \(got "done"\)/,
      );
      await expectStoreError(store.batches.transition(b.id, 0, { status: 'filed' }, at(1)), 'invalid-record', /version must be an integer from 1/);
      await expectStoreError(store.batches.transition(0, 1, { status: 'filed' }, at(1)), 'invalid-record', /id must be an integer from 1/);
      await expectStoreError(store.batches.transition(b.id, 1, { status: 'filed', filedAt: 'yesterday' }, at(1)), 'invalid-record', /filedAt must be a valid time/);
      await expectStoreError(store.batches.transition(b.id, 1, { status: 'filed', version: 7 } as never, at(1)), 'invalid-record', /unknown field version/);
      await expectStoreError(store.batches.transition(b.id, 1, { status: 'filed' }, new Date(NaN)), 'invalid-record', /now must be a valid time/);
      assert.deepEqual(await store.batches.get(b.id), b);

      await expectStoreError(store.requests.create(requestInput(0)), 'invalid-record', /batchId must be a positive integer \(got 0\)/);
      await expectStoreError(store.requests.create(requestInput(9999)), 'not-found', /^Batch B-9999 does not exist; the request was not stored\.$/);
      await expectStoreError(store.requests.listByBatch(1.5), 'invalid-record', /batchId must be an integer from 1/);
      assert.equal(await count(store, 'requests'), 0);
    });

    it('the table constraints refuse what the repository refuses', async function () {
      const opts = await fx.freshOptions();
      const store = await fx.open(opts);
      const insert = (status: string, kind: string) =>
        fx.rawExec(
          opts,
          `insert into batches (kind, requester_aad_object_id, requester_name, tenant_id, status, rows_json, summary, created_at, updated_at)
           values ('${kind}', 'aad-x', 'X', 't', '${status}', '[]', 's', '2025-01-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z')`,
        );
      await assert.rejects(insert('done', 'user-mailbox'));
      await assert.rejects(insert('preview', ''));
      assert.equal(await count(store, 'batches'), 0);
      await insert('preview', 'user-mailbox');
      const row = await store.db.selectFrom('batches').select(['id', 'version']).executeTakeFirstOrThrow();
      assert.equal(row.version, 1, 'version defaults to 1');
      assert.equal((await store.batches.get(`B-${row.id}`))?.status, 'preview');
    });

    it('upgrades a database at 0008 to 0009 (two instances at once), keeping its requests (batchId null)', async function () {
      assert.ok(MIGRATION_NAMES.includes('0009_batches') && MIGRATION_NAMES.indexOf('0009_batches') <= MIGRATION_NAMES.indexOf(LATEST_MIGRATION));
      const stores = await storesUpgradedFrom(fx, engine, '0008_approvals_reach', async (old) => {
        await sql`insert into requests (id, reference, kind, status, version, stage, requester_aad_object_id, requester_name, tenant_id, values_json, request_json, created_at, updated_at)
                  values (1, 'R-1', 'user-mailbox', 'approved', 3, 1, 'aad-old', 'Olga', 'tenant-a', '{"a":1}', '{}', '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z')`.execute(old);
        // The id was given: move PostgreSQL's sequence past it, as the store's own inserts do.
        if (engine === 'postgres') await sql`select setval(pg_get_serial_sequence('requests', 'id'), 1)`.execute(old);
      });
      const kept = await stores[1].requests.get('R-1');
      assert.equal(kept?.status, 'approved');
      assert.equal(kept.version, 3);
      assert.deepEqual(kept.values, { a: 1 });
      assert.equal(kept.batchId, null);
      const b = await stores[0].batches.create(batchInput(), at(0));
      const r = await stores[1].requests.create(requestInput(b.id));
      assert.deepEqual(
        (await stores[0].requests.listByBatch(b.id)).map((x) => x.id),
        [r.id],
      );
    });
  });
}
