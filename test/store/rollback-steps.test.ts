/**
 * Run steps for cancel and roll back, on SQLite and PostgreSQL: compensation steps appended after a request's
 * steps (idempotently, serialized per request), unfinished original steps skipped so the claim rule reaches the
 * appended ones, and a lease holder giving its step up when the request was cancelled.
 */
import assert from 'node:assert/strict';
import { RUN_STEP_NOT_DUE, StoreError, type RunStepInput, type Store } from '../../src/store';
import { ENGINES, engineFixture } from './helpers';

const T0 = Date.parse('2025-03-01T09:00:00.000Z');
const at = (s: number): Date => new Date(T0 + s * 1000);
const LEASE = 30_000;

const steps = (n: number, prefix: string): RunStepInput[] =>
  Array.from({ length: n }, (_, i) => ({ stepId: `${prefix}-${i}`, action: 'ad.createUser', system: 'ad', input: { i } }));
const undo = (n: number): RunStepInput[] =>
  Array.from({ length: n }, (_, i) => ({ stepId: `undo.${i + 1}.step-${n - 1 - i}`, action: 'ad.deleteObject', system: 'ad', input: { dn: `CN=${i}`, expectStamp: 'Created by Mailroom for R-1' } }));

async function request(store: Store): Promise<number> {
  return (await store.requests.create({ kind: 'user-mailbox', requesterAadObjectId: 'aad-1', requesterName: 'Helpdesk', tenantId: 't', values: {}, request: {}, status: 'approved' })).id;
}

const statuses = async (store: Store, id: number): Promise<string[]> => (await store.runs.listByRequest(id)).map((s) => `${s.stepId}:${s.status}`);

for (const engine of ENGINES) {
  describe(`run steps for cancel and roll back (${engine})`, function () {
    const fx = engineFixture(engine, 'rollback');
    const fresh = async (): Promise<Store> => fx.open(await fx.freshOptions());

    it('appendSteps puts the steps after the existing ones; a second call appends nothing', async function () {
      const store = await fresh();
      const id = await request(store);
      await store.runs.createSteps(id, steps(3, 'step'), at(0));
      const first = await store.runs.appendSteps(id, undo(2), at(5));
      assert.equal(first.appended, true);
      assert.deepEqual(first.steps.map((s) => [s.stepIndex, s.stepId, s.status, s.nextAt]), [
        // behind unfinished steps, the appended ones are not due
        [0, 'step-0', 'pending', at(0).toISOString()],
        [1, 'step-1', 'pending', RUN_STEP_NOT_DUE],
        [2, 'step-2', 'pending', RUN_STEP_NOT_DUE],
        [3, 'undo.1.step-1', 'pending', RUN_STEP_NOT_DUE],
        [4, 'undo.2.step-0', 'pending', RUN_STEP_NOT_DUE],
      ]);
      assert.deepEqual(first.steps[3]!.input, { dn: 'CN=0', expectStamp: 'Created by Mailroom for R-1' });
      const again = await store.runs.appendSteps(id, undo(2), at(6));
      assert.equal(again.appended, false);
      assert.equal(again.steps.length, 5);
    });

    it('with skipUnfinished, the originals that will not run are skipped and the claim rule reaches the appended steps', async function () {
      const store = await fresh();
      const id = await request(store);
      await store.runs.createSteps(id, steps(4, 'step'), at(0));
      const [s0] = await store.runs.claimNext('a', at(1), LEASE, 10);
      assert.equal(await store.runs.complete(s0!.id, 'a', { changed: true }, at(2)), true);
      const [s1] = await store.runs.claimNext('a', at(3), LEASE, 10);
      assert.equal(await store.runs.fail(s1!.id, 'a', 'it went wrong', at(4)), true);
      assert.deepEqual(await store.runs.claimNext('a', at(5), LEASE, 10), [], 'the failed step holds the request');
      await store.runs.appendSteps(id, undo(1), at(6), { skipUnfinished: true });
      assert.deepEqual(await statuses(store, id), ['step-0:done', 'step-1:skipped', 'step-2:skipped', 'step-3:skipped', 'undo.1.step-0:pending']);
      const skipped = (await store.runs.listByRequest(id))[1]!;
      assert.equal(skipped.error, 'it went wrong', 'the error of the failed step is kept');
      assert.equal(skipped.finishedAt, at(4).toISOString(), 'its finish time too');
      const [u] = await store.runs.claimNext('a', at(7), LEASE, 10);
      assert.equal(u?.stepId, 'undo.1.step-0');
      assert.equal(await store.runs.complete(u.id, 'a', { deleted: true, changed: true }, at(8)), true);
      assert.deepEqual(await store.runs.claimNext('a', at(9), LEASE, 10), []);
      // resetFailed (Retry) of the roll back touches only failed steps: the skipped originals stay skipped
      assert.equal(await store.runs.resetFailed(id, at(10)), 0);
    });

    it('a step running under a valid lease is not skipped: it finishes first and holds the appended steps back', async function () {
      const store = await fresh();
      const id = await request(store);
      await store.runs.createSteps(id, steps(2, 'step'), at(0));
      const [s0] = await store.runs.claimNext('a', at(1), LEASE, 10);
      await store.runs.appendSteps(id, undo(1), at(2), { skipUnfinished: true });
      assert.deepEqual(await statuses(store, id), ['step-0:running', 'step-1:skipped', 'undo.1.step-0:pending']);
      assert.deepEqual(await store.runs.claimNext('b', at(3), LEASE, 10), [], 'held back by the running step');
      assert.equal(await store.runs.complete(s0!.id, 'a', {}, at(4)), true, 'the running step records its outcome');
      assert.equal((await store.runs.claimNext('b', at(5), LEASE, 10))[0]?.stepId, 'undo.1.step-0');
    });

    it('a repeated call completes an interrupted one: append already done, skip done now; skipUnfinished alone too', async function () {
      const store = await fresh();
      const id = await request(store);
      await store.runs.createSteps(id, steps(2, 'step'), at(0));
      await store.runs.appendSteps(id, undo(1), at(1));
      assert.deepEqual(await statuses(store, id), ['step-0:pending', 'step-1:pending', 'undo.1.step-0:pending']);
      const again = await store.runs.appendSteps(id, undo(1), at(2), { skipUnfinished: true });
      assert.equal(again.appended, false);
      assert.deepEqual(await statuses(store, id), ['step-0:skipped', 'step-1:skipped', 'undo.1.step-0:pending'], 'only the steps before the appended ones are skipped');

      const other = await request(store);
      await store.runs.createSteps(other, steps(3, 'step'), at(0));
      const [c] = await store.runs.claimNext('crashed', at(1), 1000, 10);
      // Its lease runs out on the database's clock (leases are never the caller's clock).
      await store.db.updateTable('run_steps').set({ lease_until: '2000-01-01T00:00:00.000Z' }).where('id', '=', c!.id).execute();
      assert.equal(await store.runs.skipUnfinished(other, 3, at(2)), 3, 'a running step whose lease expired (crashed owner) is skipped too');
      assert.deepEqual(await statuses(store, other), ['step-0:skipped', 'step-1:skipped', 'step-2:skipped']);
      assert.equal(await store.runs.complete(c!.id, 'crashed', {}, at(2)), false, 'the crashed owner cannot finish it any more');
    });

    it('two instances appending at the same time store the steps once', async function () {
      const opts = await fx.freshOptions();
      const a = await fx.open(opts);
      const b = await fx.open(opts);
      const id = await request(a);
      await a.runs.createSteps(id, steps(3, 'step'), at(0));
      const results = await Promise.all([a.runs.appendSteps(id, undo(3), at(1), { skipUnfinished: true }), b.runs.appendSteps(id, undo(3), at(1), { skipUnfinished: true })]);
      assert.deepEqual(results.map((r) => r.appended).sort(), [false, true]);
      const stored = await a.runs.listByRequest(id);
      assert.equal(stored.length, 6);
      assert.deepEqual(stored.map((s) => s.stepIndex), [0, 1, 2, 3, 4, 5]);
    });

    it('refuses an unknown request, an empty list and a repeated id, storing nothing', async function () {
      const store = await fresh();
      const id = await request(store);
      await store.runs.createSteps(id, steps(1, 'step'), at(0));
      for (const [call, code] of [
        [() => store.runs.appendSteps(99_999, undo(1), at(1)), 'not-found'],
        [() => store.runs.appendSteps(id, [], at(1)), 'invalid-record'],
        [() => store.runs.appendSteps(id, [...undo(1), ...undo(1)], at(1)), 'invalid-record'],
      ] as const) {
        const err = await call().then(() => undefined, (e: unknown) => e);
        assert.ok(err instanceof StoreError && err.code === code, `expected ${code}, got ${String(err)}`);
      }
      assert.equal((await store.runs.listByRequest(id)).length, 1);
    });

    it('cancelClaimed: the lease holder gives up its step (cancelled, with a note); a late or foreign owner is refused', async function () {
      const store = await fresh();
      const id = await request(store);
      await store.runs.createSteps(id, steps(2, 'step'), at(0));
      const [s0] = await store.runs.claimNext('a', at(1), LEASE, 10);
      assert.equal(await store.runs.cancelClaimed(s0!.id, 'b', at(2)), false, 'not the owner');
      assert.equal(await store.runs.cancelClaimed(s0!.id, 'a', at(2), 'LDAP timed out'), true);
      const row = (await store.runs.listByRequest(id))[0]!;
      assert.deepEqual([row.status, row.error, row.leaseOwner, row.finishedAt], ['cancelled', 'LDAP timed out', null, at(2).toISOString()]);
      assert.deepEqual(await store.runs.claimNext('a', at(3), LEASE, 10), [], 'a cancelled step holds the later ones');
      // cancelPending then leaves nothing claimable; the poller's step is refused the same way
      assert.equal(await store.runs.cancelPending(id, at(4)), 1);
      assert.deepEqual(await statuses(store, id), ['step-0:cancelled', 'step-1:cancelled']);
    });
  });
}
