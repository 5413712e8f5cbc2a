/**
 * A step behind unfinished ones is not due (migration 0013), on both engines: it becomes due when the step before it
 * ends (done or skipped), as of when it was added (a started request keeps its place in line), a failed step holds the later ones back, compensation steps appended behind
 * ended steps are due at once, the claim's walk stays short with many requests in flight, and a database at 0012 is
 * upgraded with its waiting steps marked not due and run in turn.
 */
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { RUN_STEP_NOT_DUE, type RunStepInput, type Store } from '../../src/store';
import { ENGINES, engineFixture, storesUpgradedFrom } from './helpers';

const T0 = Date.parse('2025-03-01T09:00:00.000Z');
const at = (s: number): Date => new Date(T0 + s * 1000);
const iso = (s: number): string => at(s).toISOString();
const LEASE = 30_000;

const steps = (n: number, prefix = 'step'): RunStepInput[] => Array.from({ length: n }, (_, i) => ({ stepId: `${prefix}-${i}`, action: 'ad.createUser', system: 'ad', input: { i } }));

async function request(store: Store): Promise<number> {
  return (await store.requests.create({ kind: 'user-mailbox', requesterAadObjectId: 'aad-1', requesterName: 'Helpdesk', tenantId: 't', values: {}, request: {}, status: 'approved' })).id;
}

const due = async (store: Store, id: number): Promise<string[]> => (await store.runs.listByRequest(id)).map((s) => `${s.stepId}:${s.status}:${s.nextAt === RUN_STEP_NOT_DUE ? 'not due' : s.nextAt}`);

for (const engine of ENGINES) {
  describe(`run steps are due in turn (${engine})`, function () {
    const fx = engineFixture(engine, 'due');
    const fresh = async (): Promise<Store> => fx.open(await fx.freshOptions());

    it('a step becomes due when the one before it is done, as of when it was added; not before', async function () {
      const store = await fresh();
      const id = await request(store);
      await store.runs.createSteps(id, steps(3), at(0));
      assert.deepEqual(await due(store, id), [`step-0:pending:${iso(0)}`, 'step-1:pending:not due', 'step-2:pending:not due']);
      const [s0] = await store.runs.claimNext('a', at(1), LEASE, 10);
      assert.equal(s0?.stepId, 'step-0');
      assert.deepEqual(await due(store, id), [`step-0:running:${iso(0)}`, 'step-1:pending:not due', 'step-2:pending:not due'], 'a running step holds the next back');
      assert.equal(await store.runs.wait(s0.id, 'a', at(5), null, at(2)), true);
      assert.deepEqual((await due(store, id)).slice(1), ['step-1:pending:not due', 'step-2:pending:not due'], 'a waiting step too');
      const [w] = await store.runs.claimWaiting('a', at(5), LEASE, 10);
      assert.equal(await store.runs.complete(w!.id, 'a', { changed: true }, at(6)), true);
      assert.deepEqual((await due(store, id)).slice(1), [`step-1:pending:${iso(0)}`, 'step-2:pending:not due'], 'due when step-0 was done, as of when it was added');
      const [s1] = await store.runs.claimNext('a', at(7), LEASE, 10);
      assert.equal(s1?.stepId, 'step-1');
      assert.equal(await store.runs.complete(s1.id, 'a', {}, at(8)), true);
      const [s2] = await store.runs.claimNext('a', at(8), LEASE, 10);
      assert.equal(s2?.stepId, 'step-2', 'claimable at the very moment the step before it ended');
    });

    it('a request that has started goes on before requests that were filed after it', async function () {
      const store = await fresh();
      const first = await request(store);
      await store.runs.createSteps(first, steps(2), at(0));
      const [s0] = await store.runs.claimNext('a', at(1), LEASE, 1);
      const later: number[] = [];
      for (let i = 0; i < 3; i++) {
        const id = await request(store);
        later.push(id);
        await store.runs.createSteps(id, steps(2), at(2 + i));
      }
      assert.equal(await store.runs.complete(s0!.id, 'a', {}, at(10)), true);
      const next = await store.runs.claimNext('a', at(10), LEASE, 2);
      assert.deepEqual(
        next.map((s) => `${s.requestId}:${s.stepId}`),
        [`${first}:step-1`, `${later[0]}:step-0`],
        'the started request\'s next step is due as of when it was added, before the requests filed after it',
      );
    });

    it('a failed step keeps the later ones not due; Retry makes it due again, and the rest follow in turn', async function () {
      const store = await fresh();
      const id = await request(store);
      await store.runs.createSteps(id, steps(3), at(0));
      const [s0] = await store.runs.claimNext('a', at(1), LEASE, 10);
      assert.equal(await store.runs.fail(s0!.id, 'a', 'it went wrong', at(2)), true);
      assert.deepEqual((await due(store, id)).slice(1), ['step-1:pending:not due', 'step-2:pending:not due']);
      assert.deepEqual(await store.runs.claimNext('a', at(3), LEASE, 10), []);
      assert.equal(await store.runs.resetFailed(id, at(4)), 1);
      const [again] = await store.runs.claimNext('a', at(4), LEASE, 10);
      assert.equal(again?.stepId, 'step-0');
      assert.equal(await store.runs.complete(again.id, 'a', {}, at(5)), true);
      assert.equal((await store.runs.claimNext('a', at(5), LEASE, 10))[0]?.stepId, 'step-1');
    });

    it('steps skipped by a roll back make its first compensation step due at the moment of the skip', async function () {
      const store = await fresh();
      const id = await request(store);
      await store.runs.createSteps(id, steps(3), at(0));
      const [s0] = await store.runs.claimNext('a', at(1), LEASE, 10);
      assert.equal(await store.runs.complete(s0!.id, 'a', { changed: true }, at(2)), true);
      await store.runs.appendSteps(id, [{ stepId: 'undo.1.step-0', action: 'ad.deleteObject', system: 'ad', input: {} }, { stepId: 'undo.2.step-x', action: 'ad.deleteObject', system: 'ad', input: {} }], at(3), { skipUnfinished: true });
      // (an ended step's next_at says nothing: SQLite may mark a step due on its way to being skipped)
      assert.deepEqual((await due(store, id)).slice(3), [`undo.1.step-0:pending:${iso(3)}`, 'undo.2.step-x:pending:not due']);
      assert.deepEqual((await store.runs.listByRequest(id)).slice(0, 3).map((s) => s.status), ['done', 'skipped', 'skipped']);
      assert.equal((await store.runs.claimNext('a', at(3), LEASE, 10))[0]?.stepId, 'undo.1.step-0');
    });

    it('steps appended behind ended ones are due at once', async function () {
      const store = await fresh();
      const id = await request(store);
      await store.runs.createSteps(id, steps(1), at(0));
      const [s0] = await store.runs.claimNext('a', at(1), LEASE, 10);
      assert.equal(await store.runs.complete(s0!.id, 'a', { changed: true }, at(2)), true);
      await store.runs.appendSteps(id, steps(2, 'undo'), at(3));
      assert.deepEqual((await due(store, id)).slice(1), [`undo-0:pending:${iso(3)}`, 'undo-1:pending:not due']);
    });

    it('with many requests in flight, each claim gets the first step of each request and no other', async function () {
      const store = await fresh();
      const ids: number[] = [];
      for (let i = 0; i < 40; i++) {
        const id = await request(store);
        ids.push(id);
        await store.runs.createSteps(id, steps(4), at(0));
      }
      const firsts = await store.runs.claimNext('a', at(1), LEASE, 1000);
      assert.deepEqual(
        firsts.map((s) => s.stepId),
        ids.map(() => 'step-0'),
      );
      assert.deepEqual(await store.runs.claimNext('a', at(1), LEASE, 1000), [], 'the later steps are not due');
      for (const s of firsts.slice(0, 10)) assert.equal(await store.runs.complete(s.id, 'a', {}, at(2)), true);
      const seconds = await store.runs.claimNext('a', at(2), LEASE, 1000);
      assert.deepEqual(
        seconds.map((s) => `${s.requestId}:${s.stepId}`),
        ids.slice(0, 10).map((id) => `${id}:step-1`),
      );
    });

    it('a database at 0012 is upgraded: its pending steps behind unfinished ones are marked not due and run in turn', async function () {
      const [a, b] = await storesUpgradedFrom(fx, engine, '0012_request_names', async (old) => {
        await sql`insert into requests (id, reference, kind, status, version, stage, requester_aad_object_id, requester_name, tenant_id, values_json, request_json, created_at, updated_at) values (7, 'R-7', 'user-mailbox', 'running', 1, 1, 'aad-1', 'Helpdesk', 't', '{}', '{}', ${iso(0)}, ${iso(0)})`.execute(old);
        const row = (i: number, status: string, finished: string | null) =>
          sql`insert into run_steps (request_id, step_index, step_id, action, system, input_json, status, attempts, next_at, updated_at, finished_at) values (7, ${i}, ${`step-${i}`}, 'ad.createUser', 'ad', '{}', ${status}, 0, ${iso(0)}, ${iso(0)}, ${finished})`.execute(old);
        await row(0, 'done', iso(1));
        await row(1, 'pending', null);
        await row(2, 'pending', null);
      });
      try {
        assert.deepEqual(await due(a, 7), [`step-0:done:${iso(0)}`, `step-1:pending:${iso(0)}`, 'step-2:pending:not due']);
        const [s1] = await b.runs.claimNext('b', at(2), LEASE, 10);
        assert.equal(s1?.stepId, 'step-1');
        assert.deepEqual(await b.runs.claimNext('b', at(2), LEASE, 10), []);
        assert.equal(await b.runs.complete(s1.id, 'b', {}, at(3)), true);
        assert.equal((await due(a, 7))[2], `step-2:pending:${iso(0)}`, 'the upgraded table has the triggers');
        assert.equal((await a.runs.claimNext('a', at(3), LEASE, 10))[0]?.stepId, 'step-2');
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });
  });
}
