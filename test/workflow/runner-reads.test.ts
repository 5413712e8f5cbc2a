/**
 * What a run step costs the store, through the real runner and the real store (SQLite): the request's steps are read
 * once per step (for its context) and once more when the run ends, not again after every step; the request is read
 * when the step starts and when its outcome is recorded, not a third time to learn that it is still running. A row of
 * a batch leaves a notice in the outbox only when its status moves: its steps refresh no card of its own (it has
 * none; its batch counts rows by status). Any other request's cards are refreshed after each step.
 * A step whose request is cancelled after the runner read it, before its move to running, does not run.
 * A wait poll checks every due waiting step, fifty at a time (the requests a check reads stay in memory until its
 * answers are recorded).
 * The executor is a stand-in that is done at once: what is under test is the runner.
 */
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { silentLogger } from '../../src/log';
import type { Plan, StepAction } from '../../src/plans';
import type { RequestRecord, Store } from '../../src/store';
import type { BatchWaiter, StepExecutor } from '../../src/workflow/executors/types';
import { RequestLifecycle } from '../../src/workflow/lifecycle';
import { WorkflowRunner } from '../../src/workflow/runner';
import { engineFixture } from '../store/helpers';

const ACTION = 'test.step' as StepAction;
const STEPS = 4;

const plan = {
  kind: 'shared-mailbox',
  title: 'A stand-in run',
  steps: Array.from({ length: STEPS }, (_, i) => ({ id: `s${i}`, action: ACTION, system: 'test', input: { n: i }, summary: `Step ${i}`, waits: false })),
} as unknown as Plan;

const done: StepExecutor = { action: ACTION, run: () => Promise.resolve({ kind: 'done', changed: true, result: { ok: true } }) };

/** The store with its request and step reads counted (the runner and the lifecycle both read through it). */
function counted(store: Store): { store: Store; reads: { requests: number; versions: number; steps: number } } {
  const reads = { requests: 0, versions: 0, steps: 0 };
  const requests = Object.create(store.requests) as Store['requests'];
  requests.get = (idOrRef) => {
    reads.requests++;
    return store.requests.get(idOrRef);
  };
  requests.versionOf = (id) => {
    reads.versions++;
    return store.requests.versionOf(id);
  };
  const runs = Object.create(store.runs) as Store['runs'];
  runs.listByRequest = (id) => {
    reads.steps++;
    return store.runs.listByRequest(id);
  };
  return { store: { ...store, requests, runs }, reads };
}

describe('the runner reads a step once and refreshes only cards someone sees', function () {
  this.timeout(60_000);
  const fx = engineFixture('sqlite', 'runner-reads');

  async function approved(store: Store, batchId?: number): Promise<RequestRecord> {
    return store.requests.create({
      kind: 'shared-mailbox',
      requesterAadObjectId: 'aad-rita',
      requesterName: 'Rita',
      tenantId: 't',
      values: {},
      request: {},
      plan,
      status: 'approved',
      ...(batchId !== undefined ? { batchId } : {}),
    });
  }

  async function run(store: Store, record: RequestRecord): Promise<{ reads: { requests: number; versions: number; steps: number }; notices: number }> {
    const c = counted(store);
    const runner = new WorkflowRunner({ store: c.store, executors: [done], waiters: [], lifecycle: new RequestLifecycle(c.store.requests), outbox: store.outbox, log: silentLogger, owner: 'runner-1' });
    await runner.enqueue(record, { aadObjectId: 'aad-admin', name: 'Ada Admin' });
    // enqueue starts a pass of its own: run until the request is done, whichever pass takes its steps
    for (let i = 0; i < 100 && (await store.requests.get(record.id))?.status !== 'done'; i++) {
      await runner.runUntilIdle();
      await delay(10);
    }
    await runner.stop();
    assert.equal((await store.requests.get(record.id))?.status, 'done');
    const notices = (await store.outbox.claim('reader', 60_000, 1_000)).filter((e) => e.requestId === record.id).length;
    return { reads: c.reads, notices };
  }

  it(`a run of ${STEPS} steps reads the steps ${STEPS} + 1 times and the whole request about once a step`, async function () {
    const store = await fx.open(await fx.freshOptions());
    const { reads } = await run(store, await approved(store));
    assert.equal(reads.steps, STEPS + 1, `the steps were read ${reads.steps} times`);
    // read whole once per step, when it starts (its move to running uses that read, as the queuing and the move to
    // done use the record the caller holds); when its outcome is recorded only its version is read, to see it was not
    // cancelled meanwhile
    assert.equal(reads.requests, STEPS, `the request was read ${reads.requests} times`);
    assert.equal(reads.versions, STEPS, `its version was read ${reads.versions} times`);
  });

  it('a request of its own has its cards refreshed after every step; a row of a batch only when its status moves', async function () {
    const store = await fx.open(await fx.freshOptions());
    const alone = await run(store, await approved(store));
    const batch = await store.batches.create({ kind: 'user-mailbox', requesterAadObjectId: 'aad-rita', requesterName: 'Rita', tenantId: 't', rows: null, summary: 'rows' }, new Date());
    const row = await run(store, await approved(store, batch.id));
    // the move to done leaves its notice (the message); a request alone gets one more per step that leaves later
    // steps to run (its status card shows the steps)
    assert.equal(row.notices, 1, `the row left ${row.notices} notices`);
    assert.equal(alone.notices, 1 + (STEPS - 1), `the request alone left ${alone.notices} notices`);
  });

  it('a request cancelled after its step was claimed and read, before the move to running: the step does not run', async function () {
    const store = await fx.open(await fx.freshOptions());
    const record = await approved(store);
    let ran = 0;
    const counting: StepExecutor = { action: ACTION, run: () => ((ran += 1), Promise.resolve({ kind: 'done', changed: true, result: { ok: true } })) };
    // the person cancels right after the runner read the request for its first step (as run-control does it)
    const requests = Object.create(store.requests) as Store['requests'];
    let cancelled = false;
    requests.get = async (idOrRef) => {
      const read = await store.requests.get(idOrRef);
      if (!cancelled && read?.status === 'queued') {
        cancelled = true;
        assert.ok((await store.requests.transition(read.id, read.version, { status: 'cancelled' })).ok);
        await store.runs.cancelPending(read.id, new Date());
      }
      return read;
    };
    const cut = { ...store, requests };
    const runner = new WorkflowRunner({ store: cut, executors: [counting], waiters: [], lifecycle: new RequestLifecycle(requests), outbox: store.outbox, log: silentLogger, owner: 'runner-1' });
    await runner.enqueue(record, { aadObjectId: 'aad-admin', name: 'Ada Admin' });
    await runner.runUntilIdle();
    await runner.stop();
    assert.ok(cancelled, 'the request was cancelled between the read and the move');
    assert.equal(ran, 0, 'no step of the cancelled request ran');
    assert.equal((await store.requests.get(record.id))?.status, 'cancelled');
    const steps = await store.runs.listByRequest(record.id);
    assert.deepEqual([...new Set(steps.map((s) => s.status))], ['cancelled'], `the steps are ${steps.map((s) => s.status).join(', ')}`);
  });

  it('a wait poll checks all of 250 due waiting steps, at most 50 in one look-up', async function () {
    const store = await fx.open(await fx.freshOptions());
    const WAIT = 'test.wait' as StepAction;
    const waitPlan = { kind: 'shared-mailbox', title: 'A wait', steps: [{ id: 'w', action: WAIT, system: 'test', input: {}, summary: 'Wait', waits: true }] } as unknown as Plan;
    let holds = false;
    const asked: number[] = [];
    const waiter: BatchWaiter = {
      action: WAIT,
      checkAll: (waiting) => {
        if (holds) asked.push(waiting.length);
        // not yet when the step starts (due again at once); done at the poll under test
        return Promise.resolve(new Map(waiting.map((w) => [w.key, holds ? { kind: 'done' as const, changed: false, result: {} } : { kind: 'wait' as const, until: new Date(0), reason: 'not yet' }])));
      },
    };
    const runner = new WorkflowRunner({ store, executors: [], waiters: [waiter], lifecycle: new RequestLifecycle(store.requests), outbox: store.outbox, log: silentLogger, owner: 'runner-1' });
    const records: RequestRecord[] = [];
    for (let i = 0; i < 250; i++) {
      const r = await store.requests.create({ kind: 'shared-mailbox', requesterAadObjectId: 'aad-rita', requesterName: 'Rita', tenantId: 't', values: {}, request: {}, plan: waitPlan, status: 'approved' });
      await runner.enqueue(r, { aadObjectId: 'aad-admin', name: 'Ada Admin' });
      records.push(r);
    }
    await runner.runUntilIdle();
    const waiting = (await Promise.all(records.map((r) => store.runs.listByRequest(r.id)))).flat().filter((s) => s.status === 'waiting').length;
    assert.equal(waiting, 250, 'every step waits');
    holds = true;
    assert.equal(await runner.pollWaiting(), true);
    await runner.stop();
    assert.deepEqual(asked, [50, 50, 50, 50, 50]);
    const statuses = await Promise.all(records.map(async (r) => (await store.requests.get(r.id))?.status));
    assert.deepEqual([...new Set(statuses)], ['done'], 'one poll moved every request on');
  });
});
