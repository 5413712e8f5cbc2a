/**
 * The durable workflow's run steps and the secret vault: the same behaviour from SQLite and PostgreSQL,
 * with two store instances on one database and a second process claiming at the same time.
 */
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { RUN_STEP_NOT_DUE, RUN_STEP_STATUSES, type RunStepInput, type RunStepRecord, type Store, type StoreOptions } from '../../src/store';
import type { RunStorePort } from '../../src/workflow/run-ports';
import { EncryptedSecretVault, SECRET_KEY_BYTES, type SecretStore } from '../../src/workflow/secret-vault';
import { ENGINES, engineFixture, expectStoreError } from './helpers';

const T0 = Date.parse('2025-03-01T09:00:00.000Z');
/** T0 + `s` seconds. */
const at = (s: number): Date => new Date(T0 + s * 1000);
const iso = (s: number): string => at(s).toISOString();
const LEASE = 30_000;

function plan(n: number, prefix = 'step'): RunStepInput[] {
  return Array.from({ length: n }, (_, i) => ({
    stepId: `${prefix}-${i}`,
    action: i % 2 === 0 ? 'ad.createUser' : 'exo.awaitMailbox',
    system: i % 2 === 0 ? 'ad' : 'wait',
    input: { i, name: 'Zoë Ångström', nested: { b: 1, a: [true, null] } },
  }));
}

async function approvedRequest(store: Store, i = 0): Promise<number> {
  const r = await store.requests.create({
    kind: 'user-mailbox',
    requesterAadObjectId: `aad-${i}`,
    requesterName: 'Helpdesk',
    tenantId: 't',
    values: {},
    request: { i },
    status: 'approved',
  });
  return r.id;
}

const ids = (steps: readonly RunStepRecord[]): number[] => steps.map((s) => s.id);

/**
 * The leases of `stepIds` run out: the database's clock passes them, as it does when their holder stops renewing.
 * Leases are set and compared on the database's clock, so no caller's `now` can make one expire.
 */
async function runOut(store: Store, stepIds: readonly number[]): Promise<void> {
  if (stepIds.length === 0) return; // (PostgreSQL refuses an empty IN list)
  await store.db.updateTable('run_steps').set({ lease_until: '2000-01-01T00:00:00.000Z' }).where('id', 'in', [...stepIds]).execute();
}

/** A lease of `ms` taken just now on the database's clock (the host's clock in these tests), give or take 10 s. */
function assertLeaseFor(leaseUntil: string | null, ms: number): void {
  const left = Date.parse(leaseUntil ?? '') - Date.now();
  assert.ok(Math.abs(left - ms) < 10_000, `lease until ${String(leaseUntil)}: ${left} ms left, not about ${ms}`);
  assert.match(leaseUntil ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'the stored form: ISO 8601 UTC with milliseconds');
}

/** Start run-worker.ts on the database behind `opts`; resolves once it is ready. */
async function startWorker(
  opts: StoreOptions,
  job: { owner: string; now: string; leaseMs: number; total: number },
): Promise<{ child: ChildProcess; messages: unknown[]; exited: Promise<number | null>; progress(n: number): Promise<void> }> {
  const child = fork(path.join(__dirname, 'fixtures', 'run-worker.ts'), {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, MAILROOM_WORKER: JSON.stringify({ sqliteFile: opts.sqliteFile, databaseUrl: opts.databaseUrl, ...job }) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const messages: unknown[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = new Promise<void>((resolve, reject) => {
    child.on('message', (m: unknown) => {
      if (m === 'ready') return resolve();
      messages.push(m);
      const done = (m as { progress?: number }).progress;
      if (done !== undefined) for (const w of waiters.filter((x) => x.n <= done)) w.resolve();
    });
    child.once('exit', (code) => reject(new Error(`the worker exited (${code}) before it was ready`)));
  });
  await ready;
  return {
    child,
    messages,
    exited,
    progress: (n) => new Promise<void>((resolve, reject) => {
      waiters.push({ n, resolve });
      void exited.then((code) => reject(new Error(`the worker exited (${code}) before completing ${n} steps`)));
    }),
  };
}

/**
 * Claim and complete as `owner` at the fixed time `now` until `total` steps are done, `loops` claimers
 * in parallel; calls `onClaim` for every step claimed. Returns the ids claimed.
 */
async function drain(store: Store, owner: string, now: Date, total: number, loops: number, onClaim?: (s: RunStepRecord) => void, onComplete?: (s: RunStepRecord) => void): Promise<number[]> {
  const claimed: number[] = [];
  const deadline = Date.now() + 60_000;
  const loop = async (n: number): Promise<void> => {
    for (let round = 0; ; round++) {
      if (Date.now() > deadline) throw new Error(`${owner}: steps still not done after 60 s`);
      const steps = await store.runs.claimNext(owner, now, LEASE, 1 + ((n + round) % 4));
      if (steps.length === 0) {
        if ((await store.runs.countByStatus()).done >= total) return;
        await delay(1);
        continue;
      }
      for (const s of steps) {
        claimed.push(s.id);
        onClaim?.(s);
      }
      for (const s of steps) {
        onComplete?.(s);
        assert.equal(await store.runs.complete(s.id, owner, { by: owner, attempt: s.attempts }, now), true, `complete of ${s.id} by ${owner}`);
      }
    }
  };
  await Promise.all(Array.from({ length: loops }, (_, n) => loop(n)));
  return claimed;
}

for (const engine of ENGINES) {
  describe(`run steps and secrets (${engine})`, function () {
    const fx = engineFixture(engine, 'runs');

    async function fresh(): Promise<Store> {
      return fx.open(await fx.freshOptions());
    }

    it('is what the workflow runner and the secret vault are written against', async function () {
      const store = await fresh();
      // Checked by the compiler: the store satisfies both ports as it is.
      const ports: [RunStorePort, SecretStore] = [store, store.secrets];
      assert.equal(ports.length, 2);
    });

    it('createSteps stores the plan in order, pending, the first due now and the rest not due until the one before ends; a second call creates nothing', async function () {
      const store = await fresh();
      const r = await approvedRequest(store);
      const first = await store.runs.createSteps(r, plan(3), at(0));
      assert.equal(first.created, true);
      assert.equal(first.steps.length, 3);
      first.steps.forEach((s, i) => {
        assert.equal(s.requestId, r);
        assert.equal(s.stepIndex, i);
        assert.equal(s.stepId, `step-${i}`);
        assert.equal(s.status, 'pending');
        assert.equal(s.attempts, 0);
        assert.equal(s.nextAt, i === 0 ? iso(0) : RUN_STEP_NOT_DUE);
        assert.equal(s.updatedAt, iso(0));
        for (const k of ['leaseOwner', 'leaseUntil', 'result', 'error', 'startedAt', 'finishedAt'] as const) assert.equal(s[k], null, k);
        assert.equal(JSON.stringify(s.input), JSON.stringify(plan(3)[i]?.input));
      });
      assert.equal(first.steps[1]?.action, 'exo.awaitMailbox');
      assert.equal(first.steps[1]?.system, 'wait');

      const again = await store.runs.createSteps(r, plan(5, 'other'), at(10));
      assert.equal(again.created, false);
      assert.deepEqual(again.steps, first.steps);
      assert.deepEqual(await store.runs.listByRequest(r), first.steps);
      assert.deepEqual(await store.runs.listByRequest(r + 1), []);
    });

    it('refuses an empty plan, a repeated stepId, a non-JSON input and an unknown request, storing nothing', async function () {
      const store = await fresh();
      const r = await approvedRequest(store);
      await expectStoreError(store.runs.createSteps(r, [], at(0)), 'invalid-record', /steps must be a list of 1 to/);
      await expectStoreError(store.runs.createSteps(r, [...plan(2), plan(1)[0]!], at(0)), 'invalid-record', /step 2: stepId "step-0" is repeated/);
      await expectStoreError(store.runs.createSteps(r, [{ stepId: 'a', action: '', system: 'ad', input: () => 1 }], at(0)), 'invalid-record', /step 0: action must be.*step 0: input must be a JSON value/);
      await expectStoreError(store.runs.createSteps(r, plan(1), 'yesterday'), 'invalid-record', /now must be a valid time/);
      await expectStoreError(store.runs.createSteps(999, plan(1), at(0)), 'not-found', /R-999 does not exist/);
      assert.deepEqual(await store.runs.listByRequest(r), []);
      await expectStoreError(store.runs.claimNext('', at(0), LEASE, 1), 'invalid-record', /owner/);
      await expectStoreError(store.runs.claimNext('a', at(0), 0, 1), 'invalid-record', /leaseMs/);
      await expectStoreError(store.runs.claimNext('a', at(0), LEASE, 0), 'invalid-record', /limit/);
    });

    it('runs a request’s steps in order, one at a time, across requests', async function () {
      const store = await fresh();
      const r1 = await approvedRequest(store, 1);
      const r2 = await approvedRequest(store, 2);
      const s1 = (await store.runs.createSteps(r1, plan(3), at(0))).steps;
      const s2 = (await store.runs.createSteps(r2, plan(2), at(1))).steps;

      const claimed = await store.runs.claimNext('a', at(5), LEASE, 10);
      assert.deepEqual(ids(claimed), [s1[0]!.id, s2[0]!.id], 'the first step of each request, earliest due first');
      assert.deepEqual(await store.runs.claimNext('b', at(5), LEASE, 10), [], 'nothing more while the first steps run');

      assert.equal(await store.runs.complete(s1[0]!.id, 'a', { dn: 'CN=Zoë' }, at(6)), true);
      assert.deepEqual(ids(await store.runs.claimNext('b', at(7), LEASE, 10)), [s1[1]!.id]);
      assert.deepEqual(await store.runs.claimNext('b', at(7), LEASE, 10), []);
      assert.equal(await store.runs.complete(s1[1]!.id, 'b', undefined, at(8)), true);
      assert.equal(await store.runs.complete(s2[0]!.id, 'a', null, at(8)), true);
      assert.deepEqual(ids(await store.runs.claimNext('a', at(9), LEASE, 1)), [s1[2]!.id], 'limit 1: the earliest due');
      assert.deepEqual(ids(await store.runs.claimNext('a', at(9), LEASE, 1)), [s2[1]!.id]);
      for (const s of [s1[2]!, s2[1]!]) assert.equal(await store.runs.complete(s.id, 'a', { ok: true }, at(10)), true);
      assert.deepEqual(await store.runs.claimNext('a', at(11), LEASE, 10), []);

      const done = await store.runs.listByRequest(r1);
      assert.deepEqual(
        done.map((s) => [s.status, s.attempts, s.leaseOwner, s.leaseUntil]),
        [
          ['done', 1, null, null],
          ['done', 1, null, null],
          ['done', 1, null, null],
        ],
      );
      assert.deepEqual(done[0]!.result, { dn: 'CN=Zoë' });
      assert.equal(done[1]!.result, null);
      assert.equal(done[0]!.startedAt, iso(5));
      assert.equal(done[0]!.finishedAt, iso(6));
      assert.equal(done[2]!.updatedAt, iso(10));
    });

    it('counts the attempt at claim; retryLater brings the step back at nextAt; fail holds the request until resetFailed', async function () {
      const store = await fresh();
      const r = await approvedRequest(store);
      const [first, second] = (await store.runs.createSteps(r, plan(2), at(0))).steps;

      const [c1] = await store.runs.claimNext('a', at(1), LEASE, 5);
      assert.equal(c1?.id, first!.id);
      assert.equal(c1.status, 'running');
      assert.equal(c1.attempts, 1);
      assert.equal(c1.leaseOwner, 'a');
      assertLeaseFor(c1.leaseUntil, LEASE);
      assert.equal(c1.startedAt, iso(1));

      assert.equal(await store.runs.retryLater(first!.id, 'a', at(60), 'LDAP busy', at(2)), true);
      let [row] = await store.runs.listByRequest(r);
      assert.deepEqual([row?.status, row?.attempts, row?.nextAt, row?.error, row?.leaseOwner], ['pending', 1, iso(60), 'LDAP busy', null]);
      assert.deepEqual(await store.runs.claimNext('a', at(59), LEASE, 5), [], 'not before nextAt');

      const [c2] = await store.runs.claimNext('b', at(60), LEASE, 5);
      assert.deepEqual([c2?.id, c2?.attempts, c2?.leaseOwner, c2?.startedAt], [first!.id, 2, 'b', iso(1)]);
      assert.equal(await store.runs.fail(first!.id, 'b', 'The OU does not exist', at(61)), true);
      [row] = await store.runs.listByRequest(r);
      assert.deepEqual([row?.status, row?.error, row?.finishedAt, row?.leaseOwner], ['failed', 'The OU does not exist', iso(61), null]);
      assert.deepEqual(await store.runs.claimNext('a', at(1000), LEASE, 5), [], 'a failed step holds the request back');
      assert.equal((await store.runs.listByRequest(r))[1]?.status, 'pending', 'the later step was never claimed');

      assert.equal(await store.runs.resetFailed(r, at(2000)), 1);
      assert.equal(await store.runs.resetFailed(r, at(2000)), 0);
      [row] = await store.runs.listByRequest(r);
      assert.deepEqual([row?.status, row?.attempts, row?.nextAt, row?.finishedAt, row?.error], ['pending', 2, iso(2000), null, 'The OU does not exist']);
      const [c3] = await store.runs.claimNext('a', at(2000), LEASE, 5);
      assert.deepEqual([c3?.id, c3?.attempts], [first!.id, 3]);
      assert.equal(await store.runs.complete(first!.id, 'a', { created: true }, at(2001)), true);
      [row] = await store.runs.listByRequest(r);
      assert.equal(row?.error, null, 'a successful try clears the error');
      assert.deepEqual(ids(await store.runs.claimNext('a', at(2002), LEASE, 5)), [second!.id]);
    });

    it('reclaims a step whose lease expired (crashed owner) and refuses the old owner’s late finish', async function () {
      const store = await fresh();
      const r = await approvedRequest(store);
      const [step] = (await store.runs.createSteps(r, plan(2), at(0))).steps;
      assert.deepEqual(ids(await store.runs.claimNext('crashed', at(0), LEASE, 1)), [step!.id]);
      assert.deepEqual(await store.runs.claimNext('b', at(3600), LEASE, 1), [], 'the lease still holds, whatever time the caller says it is');
      await runOut(store, [step!.id]);
      const [taken] = await store.runs.claimNext('b', at(30), LEASE, 1);
      assert.deepEqual([taken?.id, taken?.attempts, taken?.abandoned, taken?.leaseOwner], [step!.id, 2, 1, 'b'], 'taken over: the crashed try counts as abandoned');
      assertLeaseFor(taken!.leaseUntil, LEASE);
      for (const late of [
        store.runs.complete(step!.id, 'crashed', { dup: true }, at(31)),
        store.runs.wait(step!.id, 'crashed', at(100), null, at(31)),
        store.runs.retryLater(step!.id, 'crashed', at(100), 'late', at(31)),
        store.runs.fail(step!.id, 'crashed', 'late', at(31)),
        store.runs.heartbeat([step!.id], 'crashed', LEASE, at(31)).then((held) => held.length > 0),
      ]) {
        assert.equal(await late, false);
      }
      let [row] = await store.runs.listByRequest(r);
      assert.deepEqual([row?.status, row?.leaseOwner, row?.result, row?.error], ['running', 'b', null, null], 'the late owner changed nothing');

      await runOut(store, [step!.id]);
      assert.equal(await store.runs.complete(step!.id, 'b', { by: 'b' }, at(31)), false, 'a lease is valid only before leaseUntil, even if nobody took over (and whatever time the caller says it is)');
      assert.deepEqual(ids(await store.runs.claimNext('c', at(60), LEASE, 1)), [step!.id]);
      assert.equal(await store.runs.complete(step!.id, 'c', { by: 'c' }, at(61)), true);
      [row] = await store.runs.listByRequest(r);
      assert.deepEqual([row?.status, row?.attempts, row?.abandoned, row?.result], ['done', 3, 2, { by: 'c' }]);
      assert.equal(await store.runs.complete(step!.id, 'c', { again: true }, at(62)), false, 'a finished step cannot be finished again');
      assert.equal(await store.runs.complete(999_999, 'c', null, at(62)), false);
    });

    it('heartbeat extends only the leases the owner still holds', async function () {
      const store = await fresh();
      const [r1, r2, r3] = [await approvedRequest(store, 1), await approvedRequest(store, 2), await approvedRequest(store, 3)];
      for (const r of [r1, r2, r3]) await store.runs.createSteps(r, plan(1), at(0));
      const mine = await store.runs.claimNext('a', at(0), LEASE, 2);
      const theirs = await store.runs.claimNext('b', at(0), LEASE, 2);
      assert.equal(mine.length, 2);
      assert.equal(theirs.length, 1);
      await store.db.updateTable('run_steps').set({ lease_until: '2999-01-01T00:00:00.000Z' }).where('id', 'in', ids(mine)).execute();
      assert.deepEqual(await store.runs.heartbeat([...ids(mine), ...ids(theirs), 424242], 'a', LEASE, at(20)), ids(mine).sort((x, y) => x - y));
      assert.deepEqual(await store.runs.heartbeat([], 'a', LEASE, at(20)), []);
      for (const s of (await Promise.all([r1, r2, r3].map((r) => store.runs.listByRequest(r)))).flat()) {
        if (ids(mine).includes(s.id)) assertLeaseFor(s.leaseUntil, LEASE); // renewed from the database's time now
      }
      await runOut(store, ids(theirs));
      assert.deepEqual(await store.runs.heartbeat(ids(theirs), 'b', LEASE, at(20)), [], 'a lease that ran out is not renewed');
      assert.deepEqual(await store.runs.claimNext('c', at(45), LEASE, 5).then(ids), ids(theirs), 'only the lease that was not extended expired');
      for (const s of mine) assert.equal(await store.runs.complete(s.id, 'a', null, at(49)), true, 'still held');
    });

    it('waiting steps come back to the poller at nextAt, leased in one claim, never to claimNext', async function () {
      const store = await fresh();
      const requests = [await approvedRequest(store, 1), await approvedRequest(store, 2), await approvedRequest(store, 3)];
      const steps: RunStepRecord[][] = [];
      for (const r of requests) steps.push((await store.runs.createSteps(r, plan(2), at(0))).steps);
      const claimed = await store.runs.claimNext('runner', at(0), LEASE, 10);
      assert.equal(claimed.length, 3);
      for (const [i, s] of claimed.entries()) {
        assert.equal(await store.runs.wait(s.id, 'runner', at(60 + i), { syncRequested: true }, at(1)), true);
      }
      let row = (await store.runs.listByRequest(requests[0]!))[0];
      assert.deepEqual([row?.status, row?.nextAt, row?.leaseOwner, row?.result, row?.attempts], ['waiting', iso(60), null, { syncRequested: true }, 1]);
      assert.deepEqual(await store.runs.claimNext('runner', at(1000), LEASE, 10), [], 'claimNext never takes a waiting step or the steps after it');
      assert.deepEqual(await store.runs.claimWaiting('poller', at(59), LEASE, 10), []);

      const due = await store.runs.claimWaiting('poller', at(61), LEASE, 10);
      assert.deepEqual(ids(due), [steps[0]![0]!.id, steps[1]![0]!.id], 'the due ones, earliest first');
      for (const s of due) assert.deepEqual([s.status, s.leaseOwner, s.attempts, s.abandoned], ['waiting', 'poller', 1, 0]);
      for (const s of due) assertLeaseFor(s.leaseUntil, LEASE);
      assert.deepEqual(await store.runs.claimWaiting('other-poller', at(62), LEASE, 10).then(ids), [steps[2]![0]!.id], 'a leased waiting step is not claimed twice');

      // One is done, one still waits, one poll failed transiently.
      assert.equal(await store.runs.complete(due[0]!.id, 'poller', { mailbox: true }, at(63)), true);
      assert.equal(await store.runs.wait(due[1]!.id, 'poller', at(120), { polls: 2 }, at(63)), true);
      assert.equal(await store.runs.retryLater(steps[2]![0]!.id, 'other-poller', at(200), 'Graph 503', at(63)), true);
      row = (await store.runs.listByRequest(requests[2]!))[0];
      assert.deepEqual([row?.status, row?.nextAt, row?.error, row?.leaseOwner], ['waiting', iso(200), 'Graph 503', null], 'a failed poll keeps the step waiting');

      assert.deepEqual(await store.runs.claimNext('runner', at(64), LEASE, 10).then(ids), [steps[0]![1]!.id], 'the next step of the request whose wait is over');
      // A poller that crashed: its lease expires and the step is polled again.
      assert.deepEqual(await store.runs.claimWaiting('crashed-poller', at(120), LEASE, 10).then(ids), [steps[1]![0]!.id]);
      assert.deepEqual(await store.runs.claimWaiting('poller', at(149), LEASE, 10), []);
      await runOut(store, [steps[1]![0]!.id]);
      const repolled = await store.runs.claimWaiting('poller', at(150), LEASE, 10);
      assert.deepEqual(repolled.map((s) => [s.id, s.abandoned]), [[steps[1]![0]!.id, 1]], 'polled again; the poll that never ended counts as abandoned');
      assert.equal(await store.runs.complete(steps[1]![0]!.id, 'crashed-poller', null, at(151)), false);
    });

    it('cancelPending cancels what has not started and leaves a running step to finish', async function () {
      const store = await fresh();
      const [running, crashed, waiting] = [await approvedRequest(store, 1), await approvedRequest(store, 2), await approvedRequest(store, 3)];
      for (const r of [running, crashed, waiting]) await store.runs.createSteps(r, plan(3), at(0));
      const claimed = await store.runs.claimNext('a', at(0), LEASE, 3);
      assert.equal(await store.runs.wait(claimed[2]!.id, 'a', at(100), null, at(1)), true);
      await store.runs.heartbeat([claimed[0]!.id], 'a', LEASE, at(20));
      await runOut(store, [claimed[1]!.id]);
      const statuses = async (r: number): Promise<string[]> => (await store.runs.listByRequest(r)).map((s) => s.status);

      assert.equal(await store.runs.cancelPending(running, at(40)), 2);
      assert.deepEqual(await statuses(running), ['running', 'cancelled', 'cancelled']);
      assert.equal(await store.runs.cancelPending(crashed, at(40)), 3, 'a running step whose lease expired is cancelled too');
      assert.deepEqual(await statuses(crashed), ['cancelled', 'cancelled', 'cancelled']);
      const [poll] = await store.runs.claimWaiting('poller', at(100), LEASE, 5);
      assert.equal(poll?.id, claimed[2]!.id);
      assert.equal(await store.runs.cancelPending(waiting, at(101)), 3);
      assert.equal(await store.runs.complete(poll.id, 'poller', null, at(102)), false, 'the poller of a cancelled step is refused');
      assert.equal(await store.runs.cancelPending(waiting), 0, 'defaults to the store clock; nothing left');

      assert.equal(await store.runs.complete(claimed[0]!.id, 'a', { ok: true }, at(45)), true, 'the running step finishes');
      assert.deepEqual(await statuses(running), ['done', 'cancelled', 'cancelled']);
      assert.deepEqual(await store.runs.claimNext('a', at(1000), LEASE, 10), []);
      const cancelled = (await store.runs.listByRequest(running))[1];
      assert.deepEqual([cancelled?.finishedAt, cancelled?.leaseOwner], [iso(40), null]);
    });

    it('countByStatus counts every status', async function () {
      const store = await fresh();
      const zero = Object.fromEntries(RUN_STEP_STATUSES.map((s) => [s, 0]));
      assert.deepEqual(await store.runs.countByStatus(), zero);
      for (let i = 0; i < 3; i++) await store.runs.createSteps(await approvedRequest(store, i), plan(4), at(0));
      const [a, b, c] = await store.runs.claimNext('a', at(0), LEASE, 3);
      await store.runs.complete(a!.id, 'a', null, at(1));
      await store.runs.fail(b!.id, 'a', 'no', at(1));
      await store.runs.wait(c!.id, 'a', at(9), null, at(1));
      assert.deepEqual(await store.runs.countByStatus(), { ...zero, pending: 9, done: 1, failed: 1, waiting: 1 });
    });

    it('concurrent createSteps from two instances store each run once', async function () {
      const opts = await fx.freshOptions();
      const a = await fx.open(opts);
      const b = await fx.open(opts);
      const requests = await Promise.all(Array.from({ length: 5 }, (_, i) => approvedRequest(a, i)));
      const results = await Promise.all(requests.flatMap((r) => Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? a : b).runs.createSteps(r, plan(3), at(i)))));
      for (const r of requests) {
        const mine = results.filter((x) => x.steps[0]?.requestId === r);
        assert.equal(mine.length, 8);
        assert.equal(mine.filter((x) => x.created).length, 1, `request ${r} created once`);
        const stored = await b.runs.listByRequest(r);
        assert.equal(stored.length, 3);
        for (const x of mine) assert.deepEqual(x.steps, stored);
      }
      assert.equal((await a.runs.countByStatus()).pending, 15);
    });

    it('two instances claiming concurrently never get the same step over 500 claims, and keep every request in order', async function () {
      this.timeout(120_000);
      const opts = await fx.freshOptions();
      const a = await fx.open(opts);
      const b = await fx.open(opts);
      const requests = await Promise.all(Array.from({ length: 100 }, (_, i) => approvedRequest(a, i)));
      const byId = new Map<number, RunStepRecord>();
      for (const r of requests) for (const s of (await a.runs.createSteps(r, plan(5), at(0))).steps) byId.set(s.id, s);

      // What each request is running, as seen here: set at claim, cleared before complete is called.
      const active = new Map<number, number>();
      const completing = new Set<string>();
      const violations: string[] = [];
      const onClaim = (s: RunStepRecord): void => {
        if (active.has(s.requestId)) violations.push(`request ${s.requestId}: step ${s.stepIndex} claimed while step ${byId.get(active.get(s.requestId)!)?.stepIndex} ran`);
        if (s.stepIndex > 0 && !completing.has(`${s.requestId}/${s.stepIndex - 1}`)) violations.push(`request ${s.requestId}: step ${s.stepIndex} claimed before step ${s.stepIndex - 1} was completed`);
        active.set(s.requestId, s.id);
      };
      const onComplete = (s: RunStepRecord): void => {
        active.delete(s.requestId);
        completing.add(`${s.requestId}/${s.stepIndex}`);
      };
      const [fromA, fromB] = await Promise.all([drain(a, 'instance-a', at(1), 500, 4, onClaim, onComplete), drain(b, 'instance-b', at(1), 500, 4, onClaim, onComplete)]);

      assert.deepEqual(violations, []);
      const all = [...fromA, ...fromB];
      assert.equal(all.length, 500, 'every step claimed once');
      assert.equal(new Set(all).size, 500, 'no step claimed twice');
      assert.ok(fromA.length > 0 && fromB.length > 0, `both instances claimed (a ${fromA.length}, b ${fromB.length})`);
      const counts = await b.runs.countByStatus();
      assert.equal(counts.done, 500);
      for (const r of requests) for (const s of await a.runs.listByRequest(r)) assert.equal(s.attempts, 1, `step ${s.id} attempts`);
    });

    it('a second process claiming at the same time never gets the same step over 500 claims', async function () {
      this.timeout(120_000);
      const opts = await fx.freshOptions();
      const store = await fx.open(opts);
      const requests = await Promise.all(Array.from({ length: 100 }, (_, i) => approvedRequest(store, i)));
      for (const r of requests) await store.runs.createSteps(r, plan(5), at(0));
      const worker = await startWorker(opts, { owner: 'process-2', now: iso(1), leaseMs: LEASE, total: 500 });
      try {
        worker.child.send('go');
        // the other process is under way (it may take longer to get going than this one takes for all 500)
        await worker.progress(10);
        const mine = await drain(store, 'process-1', at(1), 500, 4);
        assert.equal(await worker.exited, 0);
        const theirs = (worker.messages.find((m) => (m as { claimed?: number[] }).claimed !== undefined) as { claimed: number[] }).claimed;
        assert.ok(mine.length > 0 && theirs.length > 0, `both processes claimed (${mine.length}, ${theirs.length})`);
        const all = [...mine, ...theirs];
        assert.equal(all.length, 500);
        assert.equal(new Set(all).size, 500, 'no step claimed twice');
        for (const r of requests) {
          const steps = await store.runs.listByRequest(r);
          assert.deepEqual(
            steps.map((s) => [s.status, s.attempts]),
            steps.map(() => ['done', 1]),
          );
          const theirsSet = new Set(theirs);
          for (const s of steps) assert.equal((s.result as { by: string }).by, theirsSet.has(s.id) ? 'process-2' : 'process-1');
        }
      } finally {
        if (worker.child.exitCode === null) worker.child.kill();
      }
    });

    it('after a claimer is killed (SIGKILL) mid-run, its claimed steps are reclaimed once its leases expire: nothing lost, nothing run twice', async function () {
      this.timeout(120_000);
      const opts = await fx.freshOptions();
      const store = await fx.open(opts);
      const requests = await Promise.all(Array.from({ length: 60 }, (_, i) => approvedRequest(store, i)));
      for (const r of requests) await store.runs.createSteps(r, plan(5), at(0));
      const worker = await startWorker(opts, { owner: 'killed', now: iso(1), leaseMs: LEASE, total: 300 });
      try {
        worker.child.send('go');
        await worker.progress(30);
        worker.child.kill('SIGKILL');
        assert.equal(await worker.exited, null);
      } finally {
        if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
      }
      const before = await store.runs.countByStatus();
      assert.ok(before.done >= 30 && before.done < 300, `the worker completed ${before.done} steps`);
      const stranded = (await Promise.all(requests.map((r) => store.runs.listByRequest(r)))).flat().filter((s) => s.status === 'running');
      assert.ok(stranded.every((s) => s.leaseOwner === 'killed' && s.attempts === 1));
      const early = await store.runs.claimNext('survivor', at(30), LEASE, 500);
      const strandedIds = new Set(ids(stranded));
      assert.deepEqual(early.filter((s) => strandedIds.has(s.id)), [], 'the dead owner’s leases hold until they expire');
      for (const s of early) assert.equal(await store.runs.complete(s.id, 'survivor', { by: 'survivor', attempt: s.attempts }, at(30)), true);
      await runOut(store, ids(stranded));

      await drain(store, 'survivor', at(31), 300, 3);
      const steps = (await Promise.all(requests.map((r) => store.runs.listByRequest(r)))).flat();
      assert.equal(steps.length, 300);
      for (const s of steps) {
        assert.equal(s.status, 'done');
        const result = s.result as { by: string; attempt: number };
        if (strandedIds.has(s.id)) assert.deepEqual([s.attempts, result.by, result.attempt], [2, 'survivor', 2], `stranded step ${s.id}`);
        else assert.equal(s.attempts, 1, `step ${s.id} ran once (by ${result.by})`);
      }
      assert.equal(steps.filter((s) => (s.result as { by: string }).by === 'killed').length, before.done);
    });

    describe('secrets', function () {
      it('puts ciphertext and takes it once; put again replaces; unknown requests and bad input are refused', async function () {
        const store = await fresh();
        const r = await approvedRequest(store);
        await store.secrets.put(r, 'initial-password', 'c2VjcmV0LTE=');
        await store.secrets.put(r, 'initial-password', 'c2VjcmV0LTI=');
        await store.secrets.put(r, 'other', 'AAAA');
        assert.equal(await store.secrets.take(r, 'initial-password'), 'c2VjcmV0LTI=');
        assert.equal(await store.secrets.take(r, 'initial-password'), undefined);
        assert.equal(await store.secrets.take(r, 'other'), 'AAAA');
        assert.equal(await store.secrets.take(r, 'never'), undefined);
        await expectStoreError(store.secrets.put(999, 'p', 'AAAA'), 'not-found', /R-999 does not exist/);
        await expectStoreError(store.secrets.put(r, 'p', 'not base64!'), 'invalid-record', /ciphertext must be non-empty base64/);
        await expectStoreError(store.secrets.put(r, '', 'AAAA'), 'invalid-record', /name must be/);
        await expectStoreError(store.secrets.take(0, 'p'), 'invalid-record', /requestId/);
      });

      it('of two concurrent takes from two instances exactly one gets the secret', async function () {
        const opts = await fx.freshOptions();
        const a = await fx.open(opts);
        const b = await fx.open(opts);
        const r = await approvedRequest(a);
        const names = Array.from({ length: 30 }, (_, i) => `secret-${i}`);
        for (const name of names) await a.secrets.put(r, name, Buffer.from(name).toString('base64'));
        const results = await Promise.all(names.map((name) => Promise.all([a.secrets.take(r, name), b.secrets.take(r, name)])));
        results.forEach(([x, y], i) => {
          assert.equal([x, y].filter((t) => t !== undefined).length, 1, names[i]);
          assert.equal(x ?? y, Buffer.from(names[i]!).toString('base64'));
        });
      });

      it('purgeOlderThan deletes only what was put before the cutoff', async function () {
        const opts = await fx.freshOptions(() => clockNow);
        let clockNow = at(0);
        const store = await fx.open(opts);
        const r = await approvedRequest(store);
        await store.secrets.put(r, 'old', 'AAAA');
        clockNow = at(3600);
        await store.secrets.put(r, 'new', 'BBBB');
        assert.equal(await store.secrets.purgeOlderThan(at(3600)), 1);
        assert.equal(await store.secrets.take(r, 'old'), undefined);
        assert.equal(await store.secrets.take(r, 'new'), 'BBBB');
        await expectStoreError(store.secrets.purgeOlderThan('soon'), 'invalid-record', /cutoff/);
      });

      it('backs the encrypted vault: a password put by one instance is revealed once, to one of two concurrent reveals', async function () {
        const opts = await fx.freshOptions();
        const a = await fx.open(opts);
        const b = await fx.open(opts);
        const key = randomBytes(SECRET_KEY_BYTES);
        const [va, vb] = [new EncryptedSecretVault(key, a.secrets), new EncryptedSecretVault(key, b.secrets)];
        const r = await approvedRequest(a);
        await va.put(r, 'initial-password', 'Zoë-P@ssw0rd!');
        const stored = await a.db.selectFrom('secrets').select('ciphertext').executeTakeFirstOrThrow();
        assert.ok(!Buffer.from(stored.ciphertext, 'base64').toString('latin1').includes('P@ssw0rd'), 'only ciphertext is stored');
        const reveals = await Promise.all([va.takeOnce(r, 'initial-password'), vb.takeOnce(r, 'initial-password')]);
        assert.deepEqual(reveals.filter((x) => x !== undefined), ['Zoë-P@ssw0rd!']);
        assert.equal(await va.takeOnce(r, 'initial-password'), undefined);
      });
    });
  });
}
