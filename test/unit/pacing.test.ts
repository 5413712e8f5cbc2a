/**
 * The Teams pacer (src/bot/pacing.ts), a unit test of one module on a clock the test moves: the per-conversation
 * windows (7 in 1 s, 8 in 2 s, 60 in 30 s) and the per-tenant one (30 a second) hold for any burst, conversations do
 * not wait for each other beyond the tenant's limit, and calls of one conversation keep their order. Updates of one
 * card coalesce: at most one in flight and one waiting, the newest wins and the superseded ones are never sent.
 */
import assert from 'node:assert/strict';
import { LatestWins, TEAMS_PER_CONVERSATION, TEAMS_PER_TENANT, TeamsPacer, type PacerClock, type RateWindow } from '../../src/bot/pacing';

/** A clock that only moves when somebody sleeps (all sleepers wake in order of their wake-up time). */
class VirtualClock implements PacerClock {
  private t = 0;
  private sleepers: { at: number; wake: () => void }[] = [];
  now(): number {
    return this.t;
  }
  sleep(ms: number): Promise<void> {
    return new Promise((wake) => this.sleepers.push({ at: this.t + ms, wake }));
  }
  /** Runs until nobody sleeps any more. */
  async run(): Promise<void> {
    for (;;) {
      await new Promise((r) => setImmediate(r));
      if (!this.sleepers.length) return;
      this.sleepers.sort((a, b) => a.at - b.at);
      const next = this.sleepers.shift()!;
      this.t = Math.max(this.t, next.at);
      next.wake();
    }
  }
}

/** The largest number of calls in any window of `ms` among `times`. */
function peak(times: readonly number[], ms: number): number {
  let best = 0;
  for (const start of times) best = Math.max(best, times.filter((t) => t >= start && t < start + ms).length);
  return best;
}

const holds = (times: readonly number[], windows: readonly RateWindow[]): void => {
  for (const w of windows) assert.ok(peak(times, w.ms) <= w.count, `${peak(times, w.ms)} calls in ${w.ms} ms (limit ${w.count})`);
};

describe('Teams pacer: the documented rate limits per conversation and per tenant', function () {
  it('a burst of 100 card updates to one conversation keeps 7/1 s, 8/2 s and 60/30 s, in order', async function () {
    const clock = new VirtualClock();
    const pacer = new TeamsPacer(clock);
    const times: number[] = [];
    const order: number[] = [];
    const all = Array.from({ length: 100 }, (_, i) => pacer.slot('conv-a', 'tenant').then(() => {
      times.push(clock.now());
      order.push(i);
    }));
    await clock.run();
    await Promise.all(all);
    holds(times, TEAMS_PER_CONVERSATION);
    assert.deepEqual(order, [...order].sort((a, b) => a - b), 'calls of one conversation keep their order');
    // 60 in the first 30 s at most, so the 100th waits past a minute; the first 7 go at once
    assert.equal(times.filter((t) => t === 0).length, 7);
    assert.ok((times.at(-1) ?? 0) >= 30_000);
  });

  it('many conversations at once: each within its own limits, all of them within the tenant\'s 30 a second', async function () {
    const clock = new VirtualClock();
    const pacer = new TeamsPacer(clock);
    const times = new Map<string, number[]>();
    const all: Promise<void>[] = [];
    for (let c = 0; c < 20; c++) {
      for (let i = 0; i < 5; i++) {
        const id = `conv-${c}`;
        all.push(pacer.slot(id, 'Tenant').then(() => {
          times.set(id, [...(times.get(id) ?? []), clock.now()]);
        }));
      }
    }
    await clock.run();
    await Promise.all(all);
    for (const t of times.values()) holds(t, TEAMS_PER_CONVERSATION);
    holds([...times.values()].flat(), TEAMS_PER_TENANT);
    assert.equal([...times.values()].flat().length, 100);
  });
});

describe('latest update wins: updates of one card in place, paced', function () {
  it('100 progress updates of one card while Teams is slow: the first and the last go out, the 98 between are dropped; submit never waits', async function () {
    const clock = new VirtualClock();
    const pacer = new TeamsPacer(clock);
    const coalescer = new LatestWins();
    const sent: { n: number; at: number }[] = [];
    // the conversation's window is full already: the first update waits for a slot
    for (let i = 0; i < 7; i++) await pacer.slot('conv-a', 'tenant');
    for (let n = 1; n <= 100; n++) {
      const returned: unknown = coalescer.submit('conv-a card-1', async () => {
        await pacer.slot('conv-a', 'tenant');
        sent.push({ n, at: clock.now() });
      });
      assert.equal(returned, undefined, 'submit hands the update over and returns');
    }
    assert.equal(sent.length, 0, 'nothing was sent while submitting');
    await clock.run();
    await coalescer.idle();
    assert.deepEqual(sent.map((s) => s.n), [1, 100], 'the one in flight, then only the newest');
    assert.equal(coalescer.droppedCount, 98);
    assert.ok((sent[0]?.at ?? 0) > 0, 'the first waited for its slot');
  });

  it('an update given after the card went quiet goes out; other cards are not held up or dropped; a failed update does not stop the next', async function () {
    const clock = new VirtualClock();
    const pacer = new TeamsPacer(clock);
    const errors: string[] = [];
    const coalescer = new LatestWins((key) => errors.push(key));
    const sent: string[] = [];
    const update = (what: string, fail = false) => async () => {
      await pacer.slot(what.split(':')[0] ?? '', 'tenant');
      if (fail) throw new Error('Teams said no');
      sent.push(what);
    };
    coalescer.submit('a', update('a:1', true));
    coalescer.submit('a', update('a:2'));
    coalescer.submit('a', update('a:3'));
    coalescer.submit('b', update('b:1'));
    coalescer.submit('b', update('b:2'));
    await clock.run();
    await coalescer.idle();
    assert.deepEqual(errors, ['a']);
    assert.deepEqual(sent.sort(), ['a:3', 'b:1', 'b:2']);
    coalescer.submit('a', update('a:4'));
    await clock.run();
    await coalescer.idle('a');
    assert.deepEqual(sent.filter((s) => s.startsWith('a')), ['a:3', 'a:4']);
    assert.equal(coalescer.droppedCount, 1);
  });
});
