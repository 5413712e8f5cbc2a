import assert from 'node:assert/strict';
import { backoffMs, retryAfterMs } from '../../src/retry-timing';

describe('retry timing: back-off and Retry-After (RFC 9110 §10.2.3: delay-seconds or an HTTP-date)', function () {
  it('backs off exponentially from the base, with jitter between half and all of it, up to the cap', function () {
    assert.equal(backoffMs(1, 1000, 60_000, undefined, () => 0), 500);
    assert.equal(backoffMs(1, 1000, 60_000, undefined, () => 1), 1000);
    assert.equal(backoffMs(3, 1000, 60_000, undefined, () => 1), 4000);
    assert.equal(backoffMs(20, 1000, 60_000, undefined, () => 1), 60_000);
    assert.equal(backoffMs(20, 1000, 60_000, undefined, () => 0), 30_000);
    assert.equal(backoffMs(0, 1000, 60_000, undefined, () => 1), 1000, 'attempt 0 counts as the first');
  });

  it('lets a longer Retry-After win, and a shorter one not shorten the back-off', function () {
    assert.equal(backoffMs(1, 1000, 60_000, 5000, () => 1), 5000);
    assert.equal(backoffMs(3, 1000, 60_000, 100, () => 1), 4000);
  });

  it('reads Retry-After as seconds or as an HTTP date; a past date is 0; anything else is no answer', function () {
    const now = Date.parse('2026-12-06T12:00:00Z');
    assert.equal(retryAfterMs('7', now), 7000);
    assert.equal(retryAfterMs(2, now), 2000);
    assert.equal(retryAfterMs('0.5', now), 500);
    assert.equal(retryAfterMs('Sun, 06 Dec 2026 12:00:30 GMT', now), 30_000);
    assert.equal(retryAfterMs('Sun, 06 Dec 2026 11:59:00 GMT', now), 0);
    for (const v of [undefined, null, '', 'soon']) assert.equal(retryAfterMs(v, now), undefined, String(v));
  });
});
