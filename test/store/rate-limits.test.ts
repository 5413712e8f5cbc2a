/**
 * Rate limits shared through the store (Graph provisionOnDemand's 5 calls per 10 s per job): the same behaviour
 * from SQLite and PostgreSQL, and exactly `limit` slots per window when two store instances (two connections,
 * as two Mailroom instances have) race for one key.
 */
import assert from 'node:assert/strict';
import { StoreError, type Store } from '../../src/store';
import type { OnDemandLimiter } from '../../src/workflow/executors';
import { ENGINES, engineFixture } from './helpers';

const T0 = Date.parse('2025-03-01T09:00:00.000Z');
/** T0 + `ms` milliseconds. */
const at = (ms: number): Date => new Date(T0 + ms);
const WINDOW = 10_000;
const LIMIT = 5;

async function expectInvalid(p: Promise<unknown>, message: RegExp): Promise<void> {
  const err = await p.then(
    () => assert.fail('expected a StoreError invalid-record'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof StoreError, `expected a StoreError, got ${String(err)}`);
  assert.equal(err.code, 'invalid-record', err.message);
  assert.match(err.message, message);
}

/** Takes at each time (ms after T0) in order; the answers. */
async function takes(store: Store, key: string, times: readonly number[], limit = LIMIT, windowMs = WINDOW): Promise<boolean[]> {
  const out: boolean[] = [];
  for (const t of times) out.push(await store.rateLimits.take(key, limit, windowMs, at(t)));
  return out;
}

for (const engine of ENGINES) {
  describe(`rate limits (${engine})`, function () {
    const fx = engineFixture(engine, 'ratelimits');

    async function fresh(): Promise<Store> {
      return fx.open(await fx.freshOptions());
    }

    it('is what the provisionOnDemand trigger is written against', async function () {
      const store = await fresh();
      // Checked by the compiler: the repository satisfies the waiters' port as it is.
      const port: OnDemandLimiter = store.rateLimits;
      assert.equal(typeof port.take, 'function');
    });

    it('honours the limit per key: 5 slots in a window, the 6th refused; other keys are independent', async function () {
      const store = await fresh();
      assert.deepEqual(await takes(store, 'job-a', [0, 100, 200, 300, 400, 500, 9_000]), [true, true, true, true, true, false, false]);
      assert.deepEqual(await takes(store, 'job-b', [600, 700]), [true, true], 'another key has its own window');
      const state = await store.rateLimits.get('job-a');
      assert.deepEqual(state, { slots: [0, 100, 200, 300, 400].map((t) => at(t).toISOString()), blockedUntil: null }, 'a refused take records nothing');
      assert.equal(await store.rateLimits.get('job-c'), undefined);
      // Another limit on the same key counts the same slots.
      assert.equal(await store.rateLimits.take('job-a', 6, WINDOW, at(9_500)), true);
      assert.equal(await store.rateLimits.take('job-a', 6, WINDOW, at(9_600)), false);
    });

    it('slides the window: a slot frees exactly windowMs after it was taken, and the row never holds more than the limit', async function () {
      const store = await fresh();
      assert.deepEqual(await takes(store, 'k', [0, 2_000, 4_000, 6_000, 8_000]), [true, true, true, true, true]);
      assert.equal(await store.rateLimits.take('k', LIMIT, WINDOW, at(9_999)), false, 'the slot of 0 s is still in the window');
      assert.equal(await store.rateLimits.take('k', LIMIT, WINDOW, at(10_000)), true, 'the slot of 0 s has left the window');
      assert.equal(await store.rateLimits.take('k', LIMIT, WINDOW, at(11_000)), false);
      assert.equal(await store.rateLimits.take('k', LIMIT, WINDOW, at(12_000)), true);
      assert.deepEqual((await store.rateLimits.get('k'))?.slots, [4_000, 6_000, 8_000, 10_000, 12_000].map((t) => at(t).toISOString()));

      // 300 takes over 10 minutes, one every 2 s: every one fits (5 per 10 s), and old slots are dropped.
      const many = Array.from({ length: 300 }, (_, i) => 30_000 + i * 2_000);
      assert.ok((await takes(store, 'k', many)).every((x) => x));
      const state = await store.rateLimits.get('k');
      assert.equal(state?.slots.length, LIMIT, 'bounded: only the slots of the last window are kept');
      assert.equal(state?.slots.at(-1), at(many.at(-1)!).toISOString());

      // A clock that runs ahead on another instance: its slot counts until it leaves the window.
      assert.equal(await store.rateLimits.take('skew', 1, WINDOW, at(5_000)), true);
      assert.equal(await store.rateLimits.take('skew', 1, WINDOW, at(0)), false, 'a slot from the future still counts');
      assert.equal(await store.rateLimits.take('skew', 1, WINDOW, at(15_000)), true);
    });

    it('honours a block until its end, shared by every instance; a block is only ever extended', async function () {
      const opts = await fx.freshOptions();
      const a = await fx.open(opts);
      const b = await fx.open(opts);
      assert.equal(await a.rateLimits.take('job', LIMIT, WINDOW, at(0)), true);
      await a.rateLimits.block('job', at(30_000), at(1_000));
      assert.equal(await b.rateLimits.take('job', LIMIT, WINDOW, at(1_000)), false, 'the other instance sees the block');
      assert.equal(await b.rateLimits.take('job', LIMIT, WINDOW, at(29_999)), false, 'blocked past the window');
      await b.rateLimits.block('job', at(20_000), at(2_000));
      assert.equal((await a.rateLimits.get('job'))?.blockedUntil, at(30_000).toISOString(), 'an earlier end does not shorten it');
      assert.equal(await b.rateLimits.take('job', LIMIT, WINDOW, at(30_000)), true, 'free again at its end');
      await b.rateLimits.block('job', at(45_000), at(31_000));
      assert.equal(await a.rateLimits.take('job', LIMIT, WINDOW, at(44_000)), false, 'a later end extends it');
      assert.equal(await a.rateLimits.take('job', LIMIT, WINDOW, at(45_000)), true);

      // A key blocked before any slot was taken.
      await a.rateLimits.block('new', at(5_000), at(0));
      assert.deepEqual(await b.rateLimits.get('new'), { slots: [], blockedUntil: at(5_000).toISOString() });
      assert.equal(await b.rateLimits.take('new', LIMIT, WINDOW, at(4_999)), false);
      assert.equal(await b.rateLimits.take('new', LIMIT, WINDOW, at(5_000)), true);
    });

    it('refuses a bad key, limit, window or time with a plain message and stores nothing', async function () {
      const store = await fresh();
      await expectInvalid(store.rateLimits.take('', LIMIT, WINDOW, at(0)), /take: key must be a non-empty string/);
      await expectInvalid(store.rateLimits.take('x'.repeat(501), LIMIT, WINDOW, at(0)), /at most 500 characters/);
      await expectInvalid(store.rateLimits.take('k', 0, WINDOW, at(0)), /limit must be an integer from 1 to 1000 \(got 0\)/);
      await expectInvalid(store.rateLimits.take('k', 2.5, WINDOW, at(0)), /limit must be an integer/);
      await expectInvalid(store.rateLimits.take('k', LIMIT, -1, at(0)), /windowMs must be an integer from 1 to 86400000/);
      await expectInvalid(store.rateLimits.take('k', LIMIT, WINDOW, 'yesterday'), /now must be a valid time/);
      await expectInvalid(store.rateLimits.block('k', new Date(Number.NaN), at(0)), /block: until must be a valid time/);
      assert.equal(await store.rateLimits.get('k'), undefined);
    });

    it('two instances racing 50 takes on one key within one window: exactly the limit succeed, window after window', async function () {
      this.timeout(60_000);
      const opts = await fx.freshOptions();
      const a = await fx.open(opts);
      const b = await fx.open(opts);
      const stores = [a, b];
      // Window 1 starts on a key nobody has used yet (the row is created in the race); windows 2 and 3 reuse it.
      for (const [round, start, limit] of [[1, 0, LIMIT], [2, 20_000, LIMIT], [3, 40_000, 7]] as const) {
        const results = await Promise.all(
          Array.from({ length: 50 }, async (_, i) => {
            const store = stores[i % 2]!;
            return { by: i % 2, ok: await store.rateLimits.take('provisionOnDemand:sp/job', limit, WINDOW, at(start + (i % 10) * 100)) };
          }),
        );
        const granted = results.filter((r) => r.ok);
        assert.equal(granted.length, limit, `window ${round}: ${granted.length} of 50 takes succeeded`);
        const state = await b.rateLimits.get('provisionOnDemand:sp/job');
        assert.equal(state?.slots.length, limit, `window ${round}: slots stored`);
        assert.ok(state?.slots.every((s) => Date.parse(s) >= T0 + start), `window ${round}: only this window's slots are kept`);
      }
    });
  });
}
