/**
 * The notification outbox on both engines: entries come back oldest first, a claim is the claimer's until its lease
 * ends (then another instance may take it), two stores racing claim every entry exactly once, and removal is by
 * the claimer only.
 */
import assert from 'node:assert/strict';
import { StoreError, type Store } from '../../src/store';
import { ENGINES, engineFixture } from './helpers';

const T0 = Date.parse('2025-03-01T09:00:00.000Z');
const at = (ms: number): Date => new Date(T0 + ms);

for (const engine of ENGINES) {
  describe(`notification outbox (${engine})`, function () {
    const fx = engineFixture(engine, 'outbox');

    async function withRequest(): Promise<{ store: Store; id: number }> {
      const store = await fx.open(await fx.freshOptions());
      const r = await store.requests.create({ kind: 'user-mailbox', requesterAadObjectId: 'aad-1', requesterName: 'Rita', tenantId: 't', values: {}, request: {} });
      return { store, id: r.id };
    }

    it('hands out entries oldest first, with their messages, and forgets them once removed', async function () {
      const { store, id } = await withRequest();
      await store.outbox.add(id, null, at(0));
      await store.outbox.add(id, 'R-1 is done.', at(1));
      assert.equal(await store.outbox.count(), 2);
      const claimed = await store.outbox.claim('a', at(2), 30_000, 10);
      assert.deepEqual(claimed.map((e) => [e.requestId, e.message, e.attempts]), [[id, null, 1], [id, 'R-1 is done.', 1]]);
      assert.equal(await store.outbox.remove(claimed.map((e) => e.id), 'b'), 0, 'only the claimer removes');
      assert.equal(await store.outbox.remove(claimed.map((e) => e.id), 'a'), 2);
      assert.equal(await store.outbox.count(), 0);
    });

    it('a claim holds until its lease ends; then another sender takes the entry and the attempt is counted', async function () {
      const { store, id } = await withRequest();
      await store.outbox.add(id, 'hello', at(0));
      assert.equal((await store.outbox.claim('a', at(1), 10_000, 10)).length, 1);
      assert.deepEqual(await store.outbox.claim('b', at(5_000), 10_000, 10), [], 'still held by a');
      const again = await store.outbox.claim('b', at(11_001), 10_000, 10);
      assert.deepEqual(again.map((e) => [e.message, e.attempts]), [['hello', 2]]);
      assert.equal(await store.outbox.remove([again[0]!.id], 'a'), 0, 'a lost it to b');
    });

    it('two stores on one database claiming at once get every entry exactly once', async function () {
      const opts = await fx.freshOptions();
      const one = await fx.open(opts);
      const two = await fx.open(opts);
      const r = await one.requests.create({ kind: 'user-mailbox', requesterAadObjectId: 'aad-1', requesterName: 'Rita', tenantId: 't', values: {}, request: {} });
      for (let i = 0; i < 40; i++) await one.outbox.add(r.id, `m${i}`, at(i));
      const rounds = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? two : one).outbox.claim(`s${i}`, at(100), 30_000, 7)));
      const ids = rounds.flat().map((e) => e.id);
      assert.equal(new Set(ids).size, ids.length, 'no entry was claimed twice');
      const rest = await one.outbox.claim('late', at(100), 30_000, 100);
      assert.equal(ids.length + rest.length, 40, 'every entry was claimed');
    });

    it('a request change and its notice are written together: the winner of a race is told, the loser is not', async function () {
      const { store, id } = await withRequest();
      const r = await store.requests.get(id);
      const [a, b] = await Promise.all([
        store.requests.transition(id, r!.version, { status: 'approved' }, { message: 'approved' }),
        store.requests.transition(id, r!.version, { status: 'rejected' }, { message: 'rejected' }),
      ]);
      assert.equal([a.ok, b.ok].filter(Boolean).length, 1);
      const won = a.ok ? a.record.status : b.ok ? b.record.status : '';
      assert.deepEqual((await store.outbox.claim('s', at(0), 1000, 10)).map((e) => e.message), [won]);
      const bad = await store.requests.transition(id, r!.version + 1, { status: 'cancelled' }, { message: 'x'.repeat(8_001) }).then(
        () => assert.fail('expected a refusal'),
        (e: unknown) => e,
      );
      assert.ok(bad instanceof StoreError && bad.code === 'invalid-record', String(bad));
      assert.equal((await store.requests.get(id))?.status, won, 'a refused change changes nothing');
    });

    it('refuses a bad entry with a clear error and stores nothing', async function () {
      const { store, id } = await withRequest();
      const err = await store.outbox.add(id, 'x'.repeat(8_001), at(0)).then(
        () => assert.fail('expected a refusal'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof StoreError && err.code === 'invalid-record');
      assert.match(err.message, /The notification was not recorded \(nothing was stored\): message must be null or text of at most 8000 characters\./);
      assert.equal(await store.outbox.count(), 0);
    });
  });
}
