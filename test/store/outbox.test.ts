/**
 * The notification outbox on both engines: entries come back oldest first, a claim is the claimer's until its lease
 * ends on the database's clock (then another instance may take it), whatever the senders' own clocks say, two stores
 * racing claim every entry exactly once, and removal is by the claimer only.
 */
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { StoreError, type OutboxEntry, type Store } from '../../src/store';
import { ENGINES, engineFixture } from './helpers';

const T0 = Date.parse('2025-03-01T09:00:00.000Z');
const at = (ms: number): Date => new Date(T0 + ms);
const MINUTE = 60_000;

/** Ends these claims in the database, as time passing would (a caller's clock cannot end one). */
async function endClaims(store: Store, ids: readonly number[]): Promise<void> {
  if (ids.length === 0) return; // (PostgreSQL refuses an empty IN list)
  await store.db.updateTable('outbox').set({ claimed_until: '2000-01-01T00:00:00.000Z' }).where('id', 'in', [...ids]).execute();
}

/**
 * Runs `work` while this process's clock (`Date`, `Date.now`) reads `offsetMs` off the real time: a sender on a host
 * whose clock is wrong. The database's clock (the host's for SQLite, the server's for PostgreSQL) is not moved.
 */
async function withJsClockOff<T>(offsetMs: number, work: () => Promise<T>): Promise<T> {
  const RealDate = Date;
  const skewed = function (this: unknown, ...args: unknown[]): Date | string {
    if (!new.target) return new RealDate(RealDate.now() + offsetMs).toString();
    return args.length === 0 ? new RealDate(RealDate.now() + offsetMs) : new (RealDate as unknown as new (...a: unknown[]) => Date)(...args);
  } as unknown as DateConstructor;
  Object.setPrototypeOf(skewed, RealDate);
  Object.defineProperty(skewed, 'prototype', { value: RealDate.prototype });
  Object.defineProperty(skewed, 'now', { value: () => RealDate.now() + offsetMs });
  globalThis.Date = skewed;
  try {
    return await work();
  } finally {
    globalThis.Date = RealDate;
  }
}

/** The stored claim of an entry: its owner and until when (ISO text), read without the store's logic. */
async function claimOf(store: Store, id: number): Promise<{ by: string | null; until: string | null }> {
  const row = await store.db.selectFrom('outbox').select(['claimed_by', 'claimed_until']).where('id', '=', id).executeTakeFirstOrThrow();
  return { by: row.claimed_by, until: row.claimed_until };
}

const summary = (entries: readonly OutboxEntry[]): [string | null, number][] => entries.map((e) => [e.message, e.attempts]);

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
      const claimed = await store.outbox.claim('a', 30_000, 10);
      assert.deepEqual(claimed.map((e) => [e.requestId, e.message, e.attempts]), [[id, null, 1], [id, 'R-1 is done.', 1]]);
      assert.equal(await store.outbox.remove(claimed.map((e) => e.id), 'b'), 0, 'only the claimer removes');
      assert.equal(await store.outbox.remove(claimed.map((e) => e.id), 'a'), 2);
      assert.equal(await store.outbox.count(), 0);
    });

    it('settledBefore: card changes of a request still moving wait; a message, or a change old enough, brings all of its entries', async function () {
      const { store, id: moving } = await withRequest();
      const waiting = (await store.requests.create({ kind: 'user-mailbox', requesterAadObjectId: 'aad-1', requesterName: 'Rita', tenantId: 't', values: {}, request: {} })).id;
      const old = (await store.requests.create({ kind: 'user-mailbox', requesterAadObjectId: 'aad-1', requesterName: 'Rita', tenantId: 't', values: {}, request: {} })).id;
      await store.outbox.add(old, null, at(0)); // changed long ago
      await store.outbox.add(old, null, at(5_000));
      await store.outbox.add(waiting, null, at(4_000)); // changed just now
      await store.outbox.add(moving, null, at(4_500));
      await store.outbox.add(moving, 'R-1 is done.', at(4_600)); // its message goes at once, with its card change
      const settled = await store.outbox.claim('a', 30_000, 10, { settledBefore: at(1_000) });
      assert.deepEqual(
        settled.map((e) => [e.requestId, e.message]),
        [[old, null], [old, null], [moving, null], [moving, 'R-1 is done.']],
      );
      assert.deepEqual((await store.outbox.claim('a', 30_000, 10, { settledBefore: at(1_000) })).map((e) => e.requestId), [], 'the recent card change waits');
      assert.deepEqual((await store.outbox.claim('a', 30_000, 10, { settledBefore: at(4_000) })).map((e) => e.requestId), [waiting], 'once old enough, it goes');
      await assert.rejects(store.outbox.claim('a', 30_000, 10, { settledBefore: 'yesterday' }), (err: unknown) => err instanceof StoreError && /settledBefore/.test(err.message));
    });

    it('a claim holds until its lease ends; then another sender takes the entry and the attempt is counted', async function () {
      const { store, id } = await withRequest();
      await store.outbox.add(id, 'hello', at(0));
      const [mine] = await store.outbox.claim('a', 10_000, 10);
      assert.ok(mine);
      assert.deepEqual(await store.outbox.claim('b', 10_000, 10), [], 'still held by a');
      await endClaims(store, [mine.id]);
      const again = await store.outbox.claim('b', 10_000, 10);
      assert.deepEqual(summary(again), [['hello', 2]]);
      assert.equal(await store.outbox.remove([again[0]!.id], 'a'), 0, 'a lost it to b');
      assert.equal(await store.outbox.remove([again[0]!.id], 'b'), 1);
    });

    it('claims with another lease length (compiled apart) each hold for their own lease', async function () {
      const { store, id } = await withRequest();
      await store.outbox.add(id, 'first', at(0));
      const [short] = await store.outbox.claim('a', 10_000, 1);
      await store.outbox.add(id, 'second', at(1));
      const [long] = await store.outbox.claim('a', 600_000, 1);
      await store.outbox.add(id, 'third', at(2));
      const [shortAgain] = await store.outbox.claim('a', 10_000, 1);
      const left = async (e: { id: number } | undefined) => Date.parse((await claimOf(store, e?.id ?? 0)).until ?? '') - Date.now();
      assert.deepEqual([short?.message, long?.message, shortAgain?.message], ['first', 'second', 'third']);
      for (const [e, lease] of [[short, 10_000], [long, 600_000], [shortAgain, 10_000]] as const) {
        const ms = await left(e);
        assert.ok(ms > lease - 5_000 && ms <= lease, `${e?.message ?? ''}: held ${ms} ms from now, for a lease of ${lease}`);
      }
    });

    it('two senders whose clocks disagree by minutes never both hold one entry: the claim is timed by the database', async function () {
      const opts = await fx.freshOptions();
      const behind = await fx.open({ ...opts, clock: () => new Date(Date.now() - 10 * MINUTE) });
      const ahead = await fx.open({ ...opts, clock: () => new Date(Date.now() + 10 * MINUTE) });
      const r = await behind.requests.create({ kind: 'user-mailbox', requesterAadObjectId: 'aad-1', requesterName: 'Rita', tenantId: 't', values: {}, request: {} });
      await behind.outbox.add(r.id, 'R-1 is done.', new Date());

      // The sender whose clock is 10 minutes behind claims it for 30 seconds …
      const first = await withJsClockOff(-10 * MINUTE, () => behind.outbox.claim('behind', 30_000, 10));
      assert.deepEqual(summary(first), [['R-1 is done.', 1]]);
      const held = await claimOf(behind, first[0]!.id);
      assert.equal(held.by, 'behind');
      const left = Date.parse(held.until ?? '') - Date.now();
      assert.ok(left > 0 && left <= 30_000, `the claim ends 30 s from the database's now, not the sender's (${String(held.until)}: ${left} ms left)`);
      assert.match(held.until ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'the stored form: ISO 8601 UTC with milliseconds');

      // … and the sender 10 minutes ahead, to whom that claim looks 20 minutes old, does not get it.
      assert.deepEqual(await withJsClockOff(10 * MINUTE, () => ahead.outbox.claim('ahead', 30_000, 10)), [], 'a live claim is not taken, whatever the claimer\'s clock says');
      assert.deepEqual(await claimOf(ahead, first[0]!.id), held, 'the claim is unchanged');
      assert.equal(await ahead.outbox.remove([first[0]!.id], 'ahead'), 0);
      assert.equal(await behind.outbox.remove([first[0]!.id], 'behind'), 1, 'delivered once, by the sender that holds it');
      assert.equal(await ahead.outbox.count(), 0);
    });

    it('the claim of a sender that died ends on time on the database clock, even if that sender\'s clock ran ahead', async function () {
      const opts = await fx.freshOptions();
      const dead = await fx.open(opts);
      const alive = await fx.open(opts);
      const r = await dead.requests.create({ kind: 'user-mailbox', requesterAadObjectId: 'aad-1', requesterName: 'Rita', tenantId: 't', values: {}, request: {} });
      await dead.outbox.add(r.id, 'R-1 is done.', new Date());

      // A sender whose clock runs 10 minutes ahead claims it for 300 ms, then dies (it never delivers or removes it).
      const claimed = await withJsClockOff(10 * MINUTE, () => dead.outbox.claim('dead', 300, 10));
      assert.equal(claimed.length, 1);
      const held = await claimOf(alive, claimed[0]!.id);
      assert.ok(Date.parse(held.until ?? '') - Date.now() <= 300, `the claim ends 300 ms after the database's now (${String(held.until)})`);

      // A sender whose clock runs 10 minutes behind gets the entry once that claim has ended: within moments, not after
      // the 20 minutes the two clocks would make it (a live claim not being taken is the test above).
      let taken: OutboxEntry[] = [];
      for (let i = 0; i < 100 && taken.length === 0; i++) {
        await delay(100);
        taken = await withJsClockOff(-10 * MINUTE, () => alive.outbox.claim('alive', 30_000, 10));
      }
      assert.deepEqual(summary(taken), [['R-1 is done.', 2]], 'the entry is claimed again once the dead sender\'s claim ended');
      assert.equal((await claimOf(alive, claimed[0]!.id)).by, 'alive');
      assert.equal(await dead.outbox.remove([claimed[0]!.id], 'dead'), 0, 'the dead sender lost it');
    });

    it('two stores on one database claiming at once get every entry exactly once', async function () {
      const opts = await fx.freshOptions();
      const one = await fx.open(opts);
      const two = await fx.open(opts);
      const r = await one.requests.create({ kind: 'user-mailbox', requesterAadObjectId: 'aad-1', requesterName: 'Rita', tenantId: 't', values: {}, request: {} });
      for (let i = 0; i < 40; i++) await one.outbox.add(r.id, `m${i}`, at(i));
      const rounds = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? two : one).outbox.claim(`s${i}`, 30_000, 7)));
      const ids = rounds.flat().map((e) => e.id);
      assert.equal(new Set(ids).size, ids.length, 'no entry was claimed twice');
      const rest = await one.outbox.claim('late', 30_000, 100);
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
      assert.deepEqual((await store.outbox.claim('s', 1000, 10)).map((e) => e.message), [won]);
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
