import assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../src/paths';
import { Browser, launchBrowser, PlaygroundPage } from '../harness/browser';
import { freePorts } from '../harness/ports';

describe('npm start in sandbox mode: the bot and two Agents Playgrounds, driven in headless Chromium', function () {
  this.timeout(180000);
  const root = projectRoot();
  let dataDir: string;
  let child: ChildProcess;
  let output = '';
  let exited: Promise<number | null>;
  let browser: Browser;
  let urls: { requester: string; approver: string };

  before(async function () {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'mailroom-start-'));
    const base = await freePorts(2);
    child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src/cli/start.ts')], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', PORT: '0', DATA_DIR: dataDir, PLAYGROUND_PORT: String(base) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    const deadline = Date.now() + 60000;
    while (!/approver \(Arnold Approver\): (http:\/\/\S+)/.test(output)) {
      if (child.exitCode !== null) throw new Error(`npm start exited early:\n${output}`);
      if (Date.now() > deadline) throw new Error(`npm start did not print the Playground URLs:\n${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    urls = {
      requester: /requester \(Rita Requester\):\s+(http:\/\/\S+)/.exec(output)?.[1] ?? '',
      approver: /approver \(Arnold Approver\):\s+(http:\/\/\S+)/.exec(output)?.[1] ?? '',
    };
    browser = await launchBrowser();
  });

  after(async function () {
    await browser?.close();
    if (child && child.exitCode === null) {
      child.kill('SIGINT');
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('prints loopback URLs for both Playgrounds', function () {
    assert.match(urls.requester, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(urls.approver, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(output, /bot endpoint:\s+http:\/\/127\.0\.0\.1:\d+\/api\/messages/);
  });

  it('the requester is welcomed and "help" renders her commands', async function () {
    const pg = await PlaygroundPage.open(browser, urls.requester);
    const welcome = await pg.waitForCard('Welcome to Mailroom');
    assert.match(await welcome.innerText(), /Your roles: requester/);
    await pg.send('help');
    const help = await pg.waitForCard('Mailroom commands');
    const text = await help.innerText();
    assert.match(text, /signed in as Rita Requester with the roles: requester/);
    assert.doesNotMatch(text, /health/, 'the admin command is not offered to a requester');
    const shot = await pg.screenshot('npm-start-requester-help');
    assert.ok(existsSync(shot) && statSync(shot).size > 10_000);

    // the welcome card's button is an Action.Execute: the bot answers with the help card again
    await welcome.getByRole('button', { name: 'Show commands' }).click();
    await pg.page.locator('.ac-adaptiveCard', { hasText: 'Mailroom commands' }).nth(1).waitFor({ state: 'visible', timeout: 20000 });
  });

  it('the approver, in the second Playground, gets his own roles in "help"', async function () {
    const pg = await PlaygroundPage.open(browser, urls.approver);
    await pg.send('help');
    const help = await pg.waitForCard('Mailroom commands');
    assert.match(await help.innerText(), /signed in as Arnold Approver with the roles: approver/);
    await pg.screenshot('npm-start-approver-help');
  });

  it('Ctrl-C stops the bot and both Playgrounds', async function () {
    child.kill('SIGINT');
    assert.equal(await exited, 0);
    for (const url of [urls.requester, urls.approver]) {
      await assert.rejects(fetch(`${url}/_debug/ping`), `${url} no longer answers`);
    }
  });
});

describe('npm start in sandbox mode refuses a bad start setting before it starts anything', function () {
  this.timeout(60000);

  it('PLAYGROUND_PORT that is not a port: exit 78, the setting and a good value named, no sandbox started', async function () {
    const root = projectRoot();
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'mailroom-start-bad-'));
    try {
      for (const bad of ['abc', '80', '65535', '5615O']) {
        const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src/cli/start.ts')], {
          cwd: root,
          env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', PORT: '0', DATA_DIR: dataDir, SANDBOX_STATE_DIR: path.join(dataDir, 'sandbox'), PLAYGROUND_PORT: bad },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
        const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
        assert.equal(code, 78, out);
        assert.match(out, new RegExp(`PLAYGROUND_PORT: "${bad}" is not a port from 1024 to 65534 \\(the approver's Playground takes the next one\\)\\. Example of a good value: PLAYGROUND_PORT=\\d+`));
        assert.doesNotMatch(out, /starting the sandbox/);
        assert.equal(existsSync(path.join(dataDir, 'sandbox')), false, 'no sandbox state was written');
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
