import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ConfigError } from '../../src/config/config';
import { checkSandboxKnobs, DEFAULT_SANDBOX_KNOBS, resolveSandboxKnobs, sandboxKnobsFrom, scaledSandboxDelays, STRICT_SANDBOX_KNOBS } from '../../src/sandbox/knobs';
import { projectRoot } from '../../src/paths';

describe('sandbox knobs (SANDBOX_* variables)', function () {
  it('defaults to Cloud Sync, a 30 s cycle, a 60 s mailbox delay, no faults and 25 licences', function () {
    assert.deepEqual(sandboxKnobsFrom({}), {
      syncMode: 'cloud',
      syncIntervalMs: 30_000,
      mailboxDelayMs: 60_000,
      latencyMs: 0,
      rate429: 0,
      rate503: 0,
      retryAfterS: 1,
      exoLicences: 25,
      seed: 1,
      realism: 'default',
      usageLocationLagS: 0,
      advancedQueryLagS: 0,
      exchangeLagS: 0,
      batchItemRate429: 0,
      timeScale: 1,
    });
    assert.deepEqual(sandboxKnobsFrom({ SANDBOX_SYNC_MODE: '  ', SANDBOX_SEED: '' }), DEFAULT_SANDBOX_KNOBS);
  });

  it('reads every knob', function () {
    assert.deepEqual(
      sandboxKnobsFrom({
        SANDBOX_SYNC_MODE: 'Connect',
        SANDBOX_SYNC_INTERVAL_MS: '0',
        SANDBOX_MAILBOX_DELAY_MS: '1500',
        SANDBOX_LATENCY_MS: '20',
        SANDBOX_RATE_429: '0.25',
        SANDBOX_RATE_503: '1',
        SANDBOX_RETRY_AFTER_S: '3',
        SANDBOX_EXO_LICENCES: '2',
        SANDBOX_SEED: '42',
        SANDBOX_REALISM: 'Strict',
        SANDBOX_USAGE_LOCATION_LAG_S: '5',
        SANDBOX_ADVANCED_QUERY_LAG_S: '6',
        SANDBOX_EXCHANGE_LAG_S: '7',
        SANDBOX_BATCH_ITEM_RATE_429: '0.5',
        SANDBOX_TIME_SCALE: '0.25',
      }),
      {
        syncMode: 'connect', syncIntervalMs: 0, mailboxDelayMs: 1500, latencyMs: 20, rate429: 0.25, rate503: 1, retryAfterS: 3, exoLicences: 2, seed: 42,
        realism: 'strict', usageLocationLagS: 5, advancedQueryLagS: 6, exchangeLagS: 7, batchItemRate429: 0.5, timeScale: 0.25,
      },
    );
  });

  it('SANDBOX_REALISM=strict turns realistic delays, lags and faults on; a knob set explicitly wins', function () {
    const strict = sandboxKnobsFrom({ SANDBOX_REALISM: 'strict' });
    assert.deepEqual(strict, STRICT_SANDBOX_KNOBS);
    assert.equal(strict.syncIntervalMs, 120_000, 'Cloud Sync runs every two minutes');
    assert.ok(strict.mailboxDelayMs > 0 && strict.latencyMs > 0 && strict.rate429 > 0 && strict.rate503 > 0 && strict.batchItemRate429 > 0);
    assert.ok(strict.usageLocationLagS > 0 && strict.advancedQueryLagS > 0 && strict.exchangeLagS > 0, 'every lag is on');
    const mine = sandboxKnobsFrom({ SANDBOX_REALISM: 'strict', SANDBOX_EXCHANGE_LAG_S: '0', SANDBOX_SYNC_INTERVAL_MS: '5000' });
    assert.equal(mine.exchangeLagS, 0);
    assert.equal(mine.syncIntervalMs, 5000);
    assert.equal(mine.usageLocationLagS, STRICT_SANDBOX_KNOBS.usageLocationLagS);
    assert.deepEqual(resolveSandboxKnobs({ realism: 'strict', timeScale: 0.1 }), { ...STRICT_SANDBOX_KNOBS, timeScale: 0.1 });
    assert.deepEqual(resolveSandboxKnobs({}), DEFAULT_SANDBOX_KNOBS);
  });

  it('SANDBOX_TIME_SCALE shortens the interval, the mailbox delay, the latency and every lag, and never turns a lag off', function () {
    const k = resolveSandboxKnobs({ realism: 'strict', timeScale: 0.01 });
    assert.deepEqual(scaledSandboxDelays(k), { syncIntervalMs: 1200, mailboxDelayMs: 3000, latencyMs: 2, usageLocationLagMs: 200, advancedQueryLagMs: 100, exchangeLagMs: 1200 });
    assert.equal(scaledSandboxDelays(resolveSandboxKnobs({ usageLocationLagS: 1, timeScale: 0.0001 })).usageLocationLagMs, 1);
    assert.equal(scaledSandboxDelays(DEFAULT_SANDBOX_KNOBS).exchangeLagMs, 0);
  });

  it('throws one ConfigError naming every bad knob, in Mailroom’s message style', function () {
    let error: unknown;
    try {
      sandboxKnobsFrom({ SANDBOX_SYNC_MODE: 'azure', SANDBOX_RATE_429: '1.5', SANDBOX_SYNC_INTERVAL_MS: '-1', SANDBOX_EXO_LICENCES: 'many', SANDBOX_REALISM: 'harsh', SANDBOX_TIME_SCALE: '0' });
    } catch (err) {
      error = err;
    }
    assert.ok(error instanceof ConfigError);
    assert.deepEqual(
      error.problems.map((p) => p.variable),
      ['SANDBOX_REALISM', 'SANDBOX_SYNC_MODE', 'SANDBOX_SYNC_INTERVAL_MS', 'SANDBOX_RATE_429', 'SANDBOX_EXO_LICENCES', 'SANDBOX_TIME_SCALE'],
    );
    assert.match(error.message, /^Mailroom cannot start: 6 configuration values are wrong/);
    assert.match(error.message, /SANDBOX_TIME_SCALE: "0" is not a factor above 0 and at most 1/);
    assert.match(error.message, /SANDBOX_RATE_429: "1\.5" is not a share from 0 to 1\. Example of a good value: SANDBOX_RATE_429=0\.05/);
  });

  it('checks knobs given in code', function () {
    assert.throws(() => checkSandboxKnobs({ ...DEFAULT_SANDBOX_KNOBS, rate503: 2, syncIntervalMs: 1.5 }), /rate503 2 .*|syncIntervalMs 1\.5/);
    assert.doesNotThrow(() => checkSandboxKnobs({ ...DEFAULT_SANDBOX_KNOBS, rate429: 1e-3 }));
  });

  it('npm run sandbox exits with 78 and the ConfigError message on a bad knob', function () {
    this.timeout(60_000);
    const root = projectRoot();
    const tsx = path.join(root, 'node_modules', '.bin', 'tsx');
    const r = spawnSync(tsx, [path.join(root, 'src', 'cli', 'sandbox.ts')], {
      cwd: root,
      env: { ...process.env, SANDBOX_SYNC_MODE: 'dirsync' },
      encoding: 'utf8',
      timeout: 50_000,
    });
    assert.equal(r.status, 78, r.stderr);
    assert.match(r.stderr, /SANDBOX_SYNC_MODE: "dirsync" is not one of connect/);
    assert.match(r.stderr, /env\/\.env\.sandbox/, 'the message names the env files it read');
  });
});
