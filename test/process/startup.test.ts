import assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../src/paths';
import { startConnector, TeamsClient, visibleText } from '../harness/connector';

const ROOT = projectRoot();
const TENANT = 'c0ffee00-0000-4000-8000-000000000001';

interface Started {
  child: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
}

/** Runs the production entry point (src/cli/main.ts) as its own process, as a host would. */
function runMain(env: Record<string, string>): Started {
  let out = '';
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', MAILROOM_ENV: 'sandbox', ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exit };
}

function ready(s: Started): Promise<string> {
  return new Promise((resolve, reject) => {
    s.child.on('message', (m: { type?: string; url?: string }) => {
      if (m.type === 'ready' && m.url) resolve(m.url);
    });
    void s.exit.then((code) => reject(new Error(`exited with ${code} before it was ready:\n${s.output()}`)));
  });
}

describe('the Mailroom process', function () {
  this.timeout(60000);
  let dataDir: string;
  before(function () {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'mailroom-proc-'));
  });
  after(function () {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('stops start-up on a bad value, naming the variable, the problem and an example', async function () {
    const s = runMain({ PORT: 'http', DATA_DIR: dataDir });
    const code = await s.exit;
    assert.equal(code, 78);
    assert.match(s.output(), /PORT: "http" is not a whole number from 0 to 65535\. Example of a good value: PORT=3978/);
    assert.match(s.output(), /Nothing was started/);
  });

  it('refuses a second instance on the same SQLite file, naming it; starts once the first has stopped', async function () {
    const env = { PORT: '0', DATA_DIR: dataDir, ALLOWED_TENANT_IDS: TENANT };
    const first = runMain(env);
    await ready(first);
    let firstStopped = false;
    try {
      const second = runMain(env);
      assert.equal(await second.exit, 1);
      const file = path.join(dataDir, 'mailroom-sandbox.db');
      assert.ok(second.output().includes(`Mailroom failed to start: Another Mailroom is using the SQLite database ${file}: it holds the lock ${file}.lock.`), second.output());
      first.child.kill('SIGTERM');
      assert.equal(await first.exit, 0);
      firstStopped = true;
      const third = runMain(env);
      await ready(third);
      third.child.kill('SIGTERM');
      assert.equal(await third.exit, 0);
    } finally {
      if (!firstStopped) first.child.kill('SIGKILL');
    }
  });

  it('finishes the turn in flight on SIGTERM, then exits cleanly', async function () {
    const connector = await startConnector();
    try {
      const s = runMain({ PORT: '0', DATA_DIR: dataDir, ALLOWED_TENANT_IDS: TENANT });
      const url = await ready(s);
      const rita = new TeamsClient(url, connector.serviceUrl, { id: 'rita', aadObjectId: 'c0ffee00-0000-4000-8000-0000000000a1', name: 'Rita Requester' }, TENANT);
      const release = connector.hold();
      const turn = rita.say('help');
      await connector.waitFor((c) => visibleText(c.body).includes('Mailroom commands'), 10000);
      s.child.kill('SIGTERM'); // the help reply is still on its way to the connector: a turn in flight
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(s.child.exitCode, null, 'the process waits for the turn in flight');
      const refused = await fetch(`${url}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }).catch(() => undefined);
      assert.ok(!refused || refused.status === 503, 'no new turns are accepted while stopping');
      release();
      const res = await turn;
      assert.equal(res.status, 200, 'the turn in flight finished');
      assert.equal(await s.exit, 0);
      assert.match(s.output(), /"msg":"Mailroom stopped"/);
      assert.doesNotMatch(s.output(), /DeprecationWarning|\(node:\d+\) \[DEP/, `Node prints no deprecation warning (${process.version})`);
      await assert.rejects(fetch(`${url}/healthz`), 'nothing listens after the stop');
    } finally {
      await connector.close();
    }
  });
});
