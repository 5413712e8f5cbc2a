import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { launchPlayground, startPlayground } from '../../src/sandbox/playground/playground';
import { SANDBOX_PEOPLE } from '../../src/sandbox/people';
import { freePorts } from '../harness/ports';

function listenOn(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
}

/** Whether anything accepts a connection at host:port. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect({ host, port });
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

describe('the Agents Playground as the sandbox Teams client: start on the given port, or fail saying so', function () {
  this.timeout(60000);
  let workDir: string;
  before(() => {
    workDir = mkdtempSync(path.join(os.tmpdir(), 'mailroom-playground-'));
  });
  after(() => rmSync(workDir, { recursive: true, force: true }));

  it('starts on the given port, answers there on loopback only, and writes its log', async function () {
    const port = await freePorts();
    const pg = await startPlayground({ person: SANDBOX_PEOPLE.requester, port, botEndpoint: 'http://127.0.0.1:9/api/messages', workDir: path.join(workDir, 'ok') });
    try {
      assert.equal(pg.url, `http://127.0.0.1:${port}`);
      const res = await fetch(`${pg.url}/_debug/ping`);
      assert.equal(res.status, 200);
      assert.equal(await accepts('127.0.0.2', port), false, 'the Playground must not listen beyond 127.0.0.1');
      assert.match(readFileSync(pg.logFile, 'utf8'), new RegExp(`Listening on ${port}\\b`));
    } finally {
      await pg.stop();
    }
    assert.equal(await accepts('127.0.0.1', port), false, 'stopped: nothing listens on the port any more');
  });

  it('refuses a port already in use before starting anything', async function () {
    const port = await freePorts();
    const holder = await listenOn(port);
    try {
      await assert.rejects(
        startPlayground({ person: SANDBOX_PEOPLE.requester, port, botEndpoint: 'http://127.0.0.1:9/api/messages', workDir: path.join(workDir, 'busy') }),
        (err: Error) => err.message.startsWith(`port ${port} on 127.0.0.1 is already in use`),
      );
    } finally {
      holder.close();
    }
  });

  // The Playground (m365agentsplayground's findAvailablePort) moves to a free port of its own when the one it is
  // given is taken, and the bot's replies, sent to the service URL on the given port, would never reach it.
  it('fails, naming both ports, when the port is taken after the check and the Playground moves elsewhere', async function () {
    const port = await freePorts();
    const holder = await listenOn(port);
    const logDir = path.join(workDir, 'moved');
    try {
      const err = await launchPlayground({ person: SANDBOX_PEOPLE.approver, port, botEndpoint: 'http://127.0.0.1:9/api/messages', workDir: logDir }).then(
        () => assert.fail('a Playground that moved to another port must not count as started'),
        (e: Error) => e,
      );
      const m = new RegExp(`^port ${port} was taken by another program after it was checked: the Agents Playground moved to port (\\d+), where the bot's replies would not reach it; choose another port; see (.+)$`).exec(err.message);
      assert.ok(m, err.message);
      const moved = Number(m[1]);
      assert.notEqual(moved, port);
      assert.equal(m[2], path.join(logDir, 'playground.log'));
      // it was stopped: nothing answers on the port it moved to
      let gone = false;
      for (let i = 0; i < 50 && !gone; i++) {
        gone = !(await accepts('127.0.0.1', moved));
        if (!gone) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(gone, `the moved Playground still listens on ${moved}`);
    } finally {
      holder.close();
    }
  });
});
