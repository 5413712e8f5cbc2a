/**
 * The names open requests hold (migration 0012), on both engines: a request's names are recorded once (idempotent);
 * only requests that may still run hold them (pending, approved, queued, running, waiting, failed), not those that
 * ended (done, rejected, expired, cancelled, rolled back); one entry per name held; bad input is refused with what was
 * wrong and writes nothing; names of a request that does not exist are refused as `not-found`.
 */
import assert from 'node:assert/strict';
import type { RequestInput, RequestStatus, Store } from '../../src/store';
import { ENGINES, engineFixture, expectStoreError } from './helpers';

const requestInput = (status: RequestStatus = 'pending-approval'): RequestInput => ({ kind: 'user-mailbox', requesterAadObjectId: 'aad-rita', requesterName: 'Rita', tenantId: 'tenant-a', values: {}, request: {}, status });

async function nameRows(store: Store): Promise<number> {
  return Number((await store.db.selectFrom('request_names').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
}

for (const engine of ENGINES) {
  describe(`names held by open requests (${engine})`, function () {
    const fx = engineFixture(engine, 'request-names');
    const fresh = async (): Promise<Store> => fx.open(await fx.freshOptions());

    it('an open request holds its names; one that ended holds none; each name held is listed once per request', async function () {
      const store = await fresh();
      const a = await store.requests.create(requestInput());
      const b = await store.requests.create(requestInput());
      await store.requests.holdNames(a.id, ['sam:mtwin', 'upn:mtwin@contoso.example', 'address:maria.twin@contoso.example']);
      await store.requests.holdNames(a.id, ['sam:mtwin']); // again: idempotent
      await store.requests.holdNames(b.id, ['sam:mtwin2', 'address:maria.twin@contoso.example']);
      assert.equal(await nameRows(store), 5);
      assert.deepEqual(await store.requests.holdersOfNames(['sam:mtwin', 'sam:nobody']), [{ key: 'sam:mtwin', reference: a.reference, kind: 'user-mailbox', status: 'pending-approval', requesterName: 'Rita' }]);
      assert.deepEqual(
        (await store.requests.holdersOfNames(['address:maria.twin@contoso.example', 'sam:mtwin2'])).map((h) => [h.reference, h.key]),
        [
          [a.reference, 'address:maria.twin@contoso.example'],
          [b.reference, 'address:maria.twin@contoso.example'],
          [b.reference, 'sam:mtwin2'],
        ],
      );
      assert.deepEqual(await store.requests.holdersOfNames([]), []);

      // every status but the ended ones holds
      const holds: Record<RequestStatus, boolean> = { 'pending-approval': true, approved: true, queued: true, running: true, waiting: true, failed: true, done: false, rejected: false, expired: false, cancelled: false, 'rolled-back': false };
      for (const [status, held] of Object.entries(holds) as [RequestStatus, boolean][]) {
        const r = await store.requests.create(requestInput(status));
        await store.requests.holdNames(r.id, [`sam:s-${status}`]);
        assert.equal((await store.requests.holdersOfNames([`sam:s-${status}`])).length, held ? 1 : 0, `${status} ${held ? 'holds' : 'holds nothing'}`);
      }
      // a request that moves on to done lets go
      const moved = await store.requests.transition(a.id, a.version, { status: 'done' });
      assert.ok(moved.ok);
      assert.deepEqual(await store.requests.holdersOfNames(['sam:mtwin']), []);
    });

    it('refuses bad names and unknown requests with what was wrong, writing nothing', async function () {
      const store = await fresh();
      const a = await store.requests.create(requestInput());
      await expectStoreError(store.requests.holdNames(a.id, ['Sam:MTwin']), 'invalid-record', /nothing was changed: a name key must be "<kind>:<value>" in lower case/);
      await expectStoreError(store.requests.holdNames(a.id, ['mtwin']), 'invalid-record', /a name key must be/);
      await expectStoreError(store.requests.holdNames(a.id, ['sam:ok', 7 as unknown as string]), 'invalid-record', /got 7/);
      await expectStoreError(store.requests.holdNames(0, ['sam:x']), 'invalid-record', /id must be an integer/);
      await expectStoreError(store.requests.holdNames(a.id, Array.from({ length: 501 }, (_, i) => `sam:x${i}`)), 'invalid-record', /at most 500 names \(got 501\)/);
      await expectStoreError(store.requests.holdNames(999_999, ['sam:x']), 'not-found', /does not exist/);
      await expectStoreError(store.requests.holdersOfNames('sam:x' as unknown as string[]), 'invalid-record', /keys must be a list/);
      assert.equal(await nameRows(store), 0);
    });
  });
}
