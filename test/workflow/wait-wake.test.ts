/**
 * A wait is looked at again when it falls due, not at the runner's next regular wait poll: the runner sets a timer for
 * the earliest due wait it recorded. Here the regular poll is a minute apart, so only that timer can move the waits on.
 * The store is the real one (SQLite); the waiter is a stand-in that holds from a given time on.
 */
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { silentLogger } from '../../src/log';
import type { Plan, StepAction } from '../../src/plans';
import type { RequestRecord } from '../../src/store';
import type { BatchWaiter, StepOutcome } from '../../src/workflow/executors/types';
import { RequestLifecycle } from '../../src/workflow/lifecycle';
import { WorkflowRunner } from '../../src/workflow/runner';
import { engineFixture } from '../store/helpers';

const WAIT = 'test.wait' as StepAction;
const plan = { kind: 'shared-mailbox', title: 'A wait', steps: [{ id: 'w', action: WAIT, system: 'test', input: {}, summary: 'Wait', waits: true }] } as unknown as Plan;

describe('the runner looks at a wait when it falls due', function () {
  this.timeout(60_000);
  const fx = engineFixture('sqlite', 'wait-wake');

  it('waits due 300 and 600 ms after they began are checked then, with the regular wait poll a minute apart', async function () {
    const store = await fx.open(await fx.freshOptions());
    const checks: { key: string; at: number }[] = [];
    /** When each wait began, and at which look it holds: the first request's at its second, the second's at its third. */
    const began = new Map<string, number>();
    const holdsAt = new Map<string, number>();
    const waiter: BatchWaiter = {
      action: WAIT,
      checkAll: (waiting) => {
        const now = Date.now();
        const answers = new Map<string, StepOutcome>();
        for (const w of waiting) {
          checks.push({ key: w.key, at: now });
          if (!began.has(w.key)) {
            began.set(w.key, now);
            holdsAt.set(w.key, began.size === 1 ? 2 : 3);
          }
          const looks = checks.filter((c) => c.key === w.key).length;
          answers.set(w.key, looks >= holdsAt.get(w.key)! ? { kind: 'done', changed: false, result: {} } : { kind: 'wait', until: new Date(began.get(w.key)! + 300 * looks), reason: 'not yet' });
        }
        return Promise.resolve(answers);
      },
    };
    const runner = new WorkflowRunner({
      store,
      executors: [],
      waiters: [waiter],
      lifecycle: new RequestLifecycle(store.requests),
      outbox: store.outbox,
      log: silentLogger,
      owner: 'runner-1',
      pollMs: 50,
      waitPollMs: 60_000,
    });
    runner.start();
    try {
      const records: RequestRecord[] = [];
      for (let i = 0; i < 2; i++) {
        const r = await store.requests.create({ kind: 'shared-mailbox', requesterAadObjectId: 'aad-rita', requesterName: 'Rita', tenantId: 't', values: {}, request: {}, plan, status: 'approved' });
        await runner.enqueue(r, { aadObjectId: 'aad-admin', name: 'Ada Admin' });
        records.push(r);
      }
      for (let i = 0; i < 200; i++) {
        const statuses = await Promise.all(records.map(async (r) => (await store.requests.get(r.id))?.status));
        if (statuses.every((s) => s === 'done')) break;
        await delay(50);
      }
      const statuses = await Promise.all(records.map(async (r) => (await store.requests.get(r.id))?.status));
      assert.deepEqual(statuses, ['done', 'done'], `checks: ${JSON.stringify(checks)}`);
      // each look after the first came when it was due (never before), not a minute later
      for (const [key, first] of began) {
        const looks = checks.filter((c) => c.key === key).map((c) => c.at - first);
        for (let n = 1; n < looks.length; n++) assert.ok(looks[n]! >= 300 * n - 5, `${key}: look ${n} at ${looks[n]} ms, before it was due (${300 * n} ms)`);
      }
      assert.equal(checks.length, 2 + 3);
    } finally {
      await runner.stop();
    }
  });
});
