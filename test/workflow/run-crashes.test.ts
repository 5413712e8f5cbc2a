/**
 * What crashes and clocks do to runs, through the real runner and the real store, on SQLite and PostgreSQL:
 * - leases are the database's clock: two runners whose clocks are 10 minutes apart never both run a step, and the
 *   lease of a runner whose clock runs ahead ends on time when it dies;
 * - a step whose tries never end (its process dies each time) stops after MAX_ABANDONED with a clear error; Retry
 *   resets the count, and the audit says so.
 * The executors here are stand-ins (a step that blocks until released, one that counts its runs): what is under test
 * is the runner and the store.
 */
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { silentLogger } from '../../src/log';
import type { Plan, StepAction } from '../../src/plans';
import type { RequestRecord, Store } from '../../src/store';
import type { StepContext, StepExecutor, StepOutcome } from '../../src/workflow/executors/types';
import { RequestLifecycle } from '../../src/workflow/lifecycle';
import { MAX_ABANDONED, WorkflowRunner } from '../../src/workflow/runner';
import { ENGINES, engineFixture } from '../store/helpers';

const MINUTE = 60_000;
/** A stand-in action: the runner only needs an executor registered under the step's action. */
const ACTION = 'test.step' as StepAction;

/** A step that runs until `release` is called; `runs` counts how often it was started. */
function blockingExecutor(): { executor: StepExecutor; runs: StepContext[]; release(outcome?: StepOutcome): void; started: Promise<void> } {
  const runs: StepContext[] = [];
  let release!: (o: StepOutcome) => void;
  const gate = new Promise<StepOutcome>((r) => (release = r));
  let started!: () => void;
  const startedP = new Promise<void>((r) => (started = r));
  return {
    runs,
    started: startedP,
    release: (o = { kind: 'done', changed: true, result: { ok: true } }) => release(o),
    executor: {
      action: ACTION,
      run: (_input, ctx) => {
        runs.push(ctx);
        started();
        return gate;
      },
    },
  };
}

/** A step that is done at once; `runs` counts how often it was started. */
function quickExecutor(): { executor: StepExecutor; runs: StepContext[] } {
  const runs: StepContext[] = [];
  return {
    runs,
    executor: {
      action: ACTION,
      run: (_input, ctx) => {
        runs.push(ctx);
        return Promise.resolve({ kind: 'done', changed: true, result: { ok: true } });
      },
    },
  };
}

const plan: Plan = {
  kind: 'shared-mailbox',
  title: 'A stand-in run',
  steps: [{ id: 'only', action: ACTION, system: 'test', input: { n: 1 }, summary: 'Do the one thing', waits: false }],
} as unknown as Plan;

/**
 * An approved request whose one step is stored, due at `dueAt`, the request queued: what enqueue does, without its
 * kick (a runner's background pass would race the passes the tests run themselves).
 */
async function queued(store: Store, dueAt = new Date()): Promise<RequestRecord> {
  const record = await store.requests.create({ kind: 'shared-mailbox', requesterAadObjectId: 'aad-rita', requesterName: 'Rita', tenantId: 't', values: {}, request: {}, plan, status: 'approved' });
  await store.runs.createSteps(record.id, [{ stepId: 'only', action: ACTION, system: 'test', input: { n: 1 } }], dueAt);
  await store.requests.transition(record.id, record.version, { status: 'queued' });
  return record;
}

function runner(store: Store, executor: StepExecutor, o: { owner: string; skewMs?: number; leaseMs?: number }): WorkflowRunner {
  return new WorkflowRunner({
    store,
    executors: [executor],
    waiters: [],
    lifecycle: new RequestLifecycle(store.requests),
    outbox: store.outbox,
    log: silentLogger,
    owner: o.owner,
    now: () => new Date(Date.now() + (o.skewMs ?? 0)),
    leaseMs: o.leaseMs ?? MINUTE,
    backoffBaseMs: 10,
    backoffCapMs: 10,
  });
}

const actor = { aadObjectId: 'aad-admin', name: 'Ada Admin' };

for (const engine of ENGINES) {
  describe(`run steps after crashes and with skewed clocks (${engine})`, function () {
    this.timeout(60_000);
    const fx = engineFixture(engine, 'crashes');

    it('a runner whose clock is 10 minutes ahead cannot take the live lease of one whose clock is 10 minutes behind', async function () {
      const store = await fx.open(await fx.freshOptions());
      const record = await queued(store, new Date(Date.now() - 10 * MINUTE));
      const slow = blockingExecutor();
      const behind = runner(store, slow.executor, { owner: 'behind', skewMs: -10 * MINUTE });
      const other = quickExecutor();
      const ahead = runner(store, other.executor, { owner: 'ahead', skewMs: 10 * MINUTE });
      const first = behind.runUntilIdle();
      await slow.started;
      // On the runners' own clocks the lease of `behind` ended 19 minutes ago for `ahead`: it must still hold.
      await ahead.runUntilIdle(3);
      assert.equal(other.runs.length, 0, 'the runner with the clock ahead did not run the step');
      const [step] = await store.runs.listByRequest(record.id);
      assert.deepEqual([step?.status, step?.leaseOwner, step?.attempts], ['running', 'behind', 1]);
      slow.release();
      await first;
      assert.equal((await store.requests.get(record.id))?.status, 'done');
      const [after] = await store.runs.listByRequest(record.id);
      assert.deepEqual([after?.status, after?.attempts, after?.abandoned], ['done', 1, 0], 'run once, by the lease holder');
      await Promise.all([behind.stop(), ahead.stop()]);
    });

    it('the lease of a runner whose clock is 10 minutes ahead ends on time when it dies; its late outcome is refused', async function () {
      const store = await fx.open(await fx.freshOptions());
      const record = await queued(store);
      const doomed = blockingExecutor();
      // A short lease: the dead runner's first renewal (after 1 s) would come after it ended.
      const dead = runner(store, doomed.executor, { owner: 'dead', skewMs: 10 * MINUTE, leaseMs: 300 });
      const lost = dead.runUntilIdle(1);
      await doomed.started;
      const heir = quickExecutor();
      const next = runner(store, heir.executor, { owner: 'heir' });
      // On its own clock the dead runner's lease would hold for 10 more minutes; on the database's it ends in 300 ms.
      const deadline = Date.now() + 20_000;
      while (heir.runs.length === 0 && Date.now() < deadline) {
        await next.runUntilIdle(1);
        await delay(50);
      }
      assert.equal(heir.runs.length, 1, 'the step was taken over once the lease ended on the database clock');
      let [step] = await store.runs.listByRequest(record.id);
      assert.deepEqual([step?.status, step?.attempts, step?.abandoned, (step?.result as { ok?: boolean } | null)?.ok], ['done', 2, 1, true]);
      // The dead runner wakes up and reports: refused, nothing changes.
      doomed.release({ kind: 'done', changed: true, result: { late: true } });
      await lost;
      [step] = await store.runs.listByRequest(record.id);
      assert.deepEqual(step?.result, { ok: true, changed: true }, 'the late outcome was dropped');
      await Promise.all([dead.stop(), next.stop()]);
    });

    it(`a step whose tries never end stops after ${MAX_ABANDONED} with a clear error; Retry resets the count, audited`, async function () {
      const store = await fx.open(await fx.freshOptions());
      const record = await queued(store);
      const quick = quickExecutor();
      const r = runner(store, quick.executor, { owner: 'survivor' });
      // Each try's process dies: the step is claimed and its lease is abandoned (it runs out on the database clock).
      for (let i = 1; i <= MAX_ABANDONED; i++) {
        const [claimed] = await store.runs.claimNext(`crashed-${i}`, new Date(), 1_000, 1);
        assert.equal(claimed?.abandoned, i - 1);
        await store.db.updateTable('run_steps').set({ lease_until: '2000-01-01T00:00:00.000Z' }).where('id', '=', claimed.id).execute();
      }
      await r.runUntilIdle();
      assert.equal(quick.runs.length, 0, 'the step was not started again');
      const failed = await store.requests.get(record.id);
      assert.equal(failed?.status, 'failed');
      assert.match(failed?.error ?? '', new RegExp(`Mailroom stopped the step "Do the one thing": it was started ${MAX_ABANDONED} times and never finished\\..*press Retry\\.$`));
      let [step] = await store.runs.listByRequest(record.id);
      assert.deepEqual([step?.status, step?.abandoned, step?.attempts], ['failed', MAX_ABANDONED, MAX_ABANDONED + 1]);
      const events = await store.audit.list({ requestRef: record.reference, limit: 100 });
      const stop = events.find((e) => e.event === 'operation.failed');
      assert.equal(stop?.data.abandoned, MAX_ABANDONED);

      // A restart does not start it either: the count is in the store.
      const again = runner(store, quick.executor, { owner: 'restarted' });
      await again.runUntilIdle();
      assert.equal(quick.runs.length, 0);

      await again.retry((await store.requests.get(record.id))!, actor);
      await again.runUntilIdle();
      await again.stop(); // Retry's own pass (its kick) ends too
      assert.equal(quick.runs.length, 1, 'Retry ran it, once');
      [step] = await store.runs.listByRequest(record.id);
      assert.deepEqual([step?.status, step?.abandoned], ['done', 0]);
      assert.equal((await store.requests.get(record.id))?.status, 'done');
      const retried = (await store.audit.list({ requestRef: record.reference, limit: 100 })).find((e) => e.event === 'run.retried');
      assert.deepEqual(retried?.data, { reset: [{ step: 'only', attempts: MAX_ABANDONED + 1, abandoned: MAX_ABANDONED }] });
      assert.equal(retried?.actorName, 'Ada Admin');
      await r.stop();
    });
  });
}
