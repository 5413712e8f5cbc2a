/**
 * compiledOnce (src/store/dialect.ts), on both engines: a query compiled once answers every call with that call's
 * values, as the same query built with Kysely answers; a write tells how many rows it changed and gives back what it
 * returns; a statement that fails rejects the call's promise (it never throws where the caller does not await); an
 * argument that is not a parameter of the query is refused at once. On SQLite the statement runs straight from the
 * store's statement cache, not through Kysely's driver: these tests hold the two paths to the same answers.
 */
import assert from 'node:assert/strict';
import { compiledOnce, keptByShape } from '../../src/store/dialect';
import type { RequestInput } from '../../src/store';
import { ENGINES, engineFixture } from './helpers';

const requestInput = (requesterName: string): RequestInput => ({ kind: 'user-mailbox', requesterAadObjectId: 'aad-rita', requesterName, tenantId: 'tenant-a', values: { n: 1 }, request: {} });

for (const engine of ENGINES) {
  describe(`compiledOnce (${engine})`, function () {
    const fx = engineFixture(engine, 'compiled-once');

    it('answers each call with its own values, as the query built with Kysely does', async function () {
      const store = await fx.open(await fx.freshOptions());
      const { db } = store;
      const a = await store.requests.create(requestInput('Rita'));
      const b = await store.requests.create(requestInput('Rolf'));
      const byRequester = compiledOnce(db, (arg) => db.selectFrom('requests').selectAll().where('requester_name', '=', arg<string>(0)).where('kind', '=', arg<string>(1)).orderBy('id'));
      for (const name of ['Rita', 'Rolf', 'nobody']) {
        const built = await db.selectFrom('requests').selectAll().where('requester_name', '=', name).where('kind', '=', 'user-mailbox').orderBy('id').execute();
        assert.deepEqual((await byRequester(name, 'user-mailbox')).rows, built);
      }
      assert.deepEqual(
        (await byRequester('Rita', 'user-mailbox')).rows.map((r) => Number(r.id)),
        [a.id],
      );
      assert.deepEqual(
        (await byRequester('Rolf', 'user-mailbox')).rows.map((r) => Number(r.id)),
        [b.id],
      );
    });

    it('a write tells how many rows it changed, and one with RETURNING gives them back', async function () {
      const store = await fx.open(await fx.freshOptions());
      const { db } = store;
      const a = await store.requests.create(requestInput('Rita'));
      await store.requests.create(requestInput('Rita'));
      const rename = compiledOnce(db, (arg) => db.updateTable('requests').set({ requester_name: arg<string>(0) }).where('requester_name', '=', arg<string>(1)));
      assert.equal((await rename('Ruth', 'Rita')).numAffectedRows, 2n);
      assert.equal((await rename('Ruth', 'Rita')).numAffectedRows, 0n);
      const renameOne = compiledOnce(db, (arg) => db.updateTable('requests').set({ requester_name: arg<string>(0) }).where('id', '=', arg<number>(1)).returning(['id', 'requester_name']));
      const { rows } = await renameOne('Rosa', a.id);
      assert.deepEqual(
        rows.map((r) => [Number(r.id), r.requester_name]),
        [[a.id, 'Rosa']],
      );
      assert.equal((await store.requests.get(a.id))?.requesterName, 'Rosa');
    });

    it('a statement that fails rejects the promise of its call; an argument the query does not use is refused', async function () {
      const store = await fx.open(await fx.freshOptions());
      const { db } = store;
      const a = await store.requests.create(requestInput('Rita'));
      // a reference must name its own id (a check constraint): giving another row this one's fails
      const sameReference = compiledOnce(db, (arg) => db.updateTable('requests').set({ reference: arg<string>(0) }).where('id', '!=', arg<number>(1)));
      await store.requests.create(requestInput('Rolf'));
      let answer: Promise<unknown> | undefined;
      assert.doesNotThrow(() => {
        answer = sameReference(a.reference, a.id);
      }, 'the failure is in the promise, not thrown');
      await assert.rejects(answer!, /requests_reference_is_id/);
      assert.equal((await store.requests.get(a.id))?.reference, a.reference, 'the failed statement changed nothing');
      const unused = compiledOnce(db, (arg) => db.selectFrom('requests').selectAll().where('id', '=', 1 + 0 * Number(arg<number>(0))));
      await assert.rejects(async () => unused(1), /not a parameter of the query/);
    });
  });
}

describe('keptByShape', function () {
  it('compiles a shape once and keeps it; beyond the cap, a new shape is compiled at each call and the kept ones stay', function () {
    const made: string[] = [];
    const kept = keptByShape<{ shape: string }>(2);
    const get = (shape: string) =>
      kept(shape, () => {
        made.push(shape);
        return { shape };
      });
    const a = get('a');
    assert.equal(get('a'), a, 'the kept query for the same shape');
    assert.equal(get('b').shape, 'b');
    assert.equal(get('c').shape, 'c');
    assert.equal(get('c').shape, 'c');
    assert.equal(get('a'), a);
    assert.deepEqual(made, ['a', 'b', 'c', 'c'], 'a and b once, c (past the cap of two) at each call');
  });
});
