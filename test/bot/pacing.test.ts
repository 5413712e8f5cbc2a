/**
 * Teams' rate limits kept over HTTP (TEAMS_PACING on, as in a real tenant): a burst of requests sends the approver
 * one approval card each, and the Bot Connector receives them all, never more than 7 in a second or 8 in two seconds
 * for that conversation (Microsoft's rate limits per bot and conversation). The windows themselves are unit-tested
 * on a moved clock in test/unit/pacing.test.ts.
 */
import assert from 'node:assert/strict';
import { visibleText } from '../harness/connector';
import { TestMailroom } from '../harness/mailroom';
import { ARNOLD } from '../harness/requests';
import { getSharedSandbox } from '../harness/sandbox';

const suffix = Date.now().toString(36).slice(-5);

/** The most calls at `times` within any span of `ms`. */
function peak(times: readonly number[], ms: number): number {
  let best = 0;
  for (const start of times) best = Math.max(best, times.filter((t) => t >= start && t < start + ms).length);
  return best;
}

describe('Teams pacing over HTTP: a burst of approval cards to one approver stays within 7 a second and 8 in two', function () {
  this.timeout(60_000);
  let m: TestMailroom;

  before(async function () {
    m = await TestMailroom.start({ sandbox: await getSharedSandbox(), name: 'pacing', settings: { TEAMS_PACING: 'true' }, options: { runRequests: false } });
  });

  after(async function () {
    await m?.close();
  });

  it('12 requests filed at once: 12 cards reach the approver, paced', async function () {
    const since = m.connector.calls.length;
    await Promise.all(Array.from({ length: 12 }, (_, i) => m.rita.client.say(`new shared mailbox name="Paced ${i} ${suffix}" alias=paced-${i}-${suffix}`)));
    const deadline = Date.now() + 30_000;
    const cards = () => m.connector.calls.slice(since).filter((c) => c.conversationId === `a:personal-${ARNOLD.id}` && c.method === 'POST' && /R-\d+ · Shared mailbox/.test(visibleText(c.body)));
    while (cards().length < 12 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const times = cards().map((c) => c.at);
    assert.equal(times.length, 12, 'every approval card arrived');
    assert.ok(peak(times, 1000) <= 7, `${peak(times, 1000)} cards within a second`);
    assert.ok(peak(times, 2000) <= 8, `${peak(times, 2000)} cards within two seconds`);
  });
});
