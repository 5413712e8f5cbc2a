import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startMailroom, Mailroom } from '../../src/app';
import { loadConfig } from '../../src/config/config';
import { silentLogger } from '../../src/log';
import { projectRoot } from '../../src/paths';
import { SANDBOX_PEOPLE } from '../../src/sandbox/people';
import { Playground, startPlayground } from '../../src/sandbox/playground/playground';
import { Browser, launchBrowser, PlaygroundPage } from '../harness/browser';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

describe('in a real Teams client: the Agents Playground in headless Chromium', function () {
  this.timeout(120000);
  let dataDir: string;
  let app: Mailroom;
  let playground: Playground;
  let browser: Browser;
  let pg: PlaygroundPage;

  before(async function () {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'mailroom-e2e-'));
    app = await startMailroom(loadConfig({ rootDir: projectRoot(), envName: 'sandbox', env: {}, overrides: { PORT: '0', DATA_DIR: dataDir } }), silentLogger);
    playground = await startPlayground({
      person: SANDBOX_PEOPLE.requester,
      port: await freePort(),
      botEndpoint: `${app.url}/api/messages`,
      workDir: path.join(dataDir, 'playground-requester'),
    });
    browser = await launchBrowser();
  });

  after(async function () {
    await browser?.close();
    await playground?.stop();
    await app?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('welcomes the requester, and "help" renders the help card with her commands', async function () {
    pg = await PlaygroundPage.open(browser, playground.url);
    const welcome = await pg.waitForCard('Welcome to Mailroom');
    assert.match(await welcome.innerText(), /Your roles: requester/);
    await pg.send('help');
    const help = await pg.waitForCard('Mailroom commands');
    const text = await help.innerText();
    assert.match(text, /Rita Requester/);
    assert.match(text, /whoami/);
    assert.doesNotMatch(text, /health/, 'the admin command is not offered to a requester');
    const shot = await pg.screenshot('e2e-help-card');
    assert.ok(existsSync(shot) && statSync(shot).size > 10_000, 'the screenshot was saved');
  });

  it('the welcome card button (Action.Execute) shows the commands too', async function () {
    const before = await pg.page.locator('.ac-adaptiveCard', { hasText: 'Mailroom commands' }).count();
    await pg.card('Welcome to Mailroom').getByRole('button', { name: 'Show commands' }).click();
    await pg.page.locator('.ac-adaptiveCard', { hasText: 'Mailroom commands' }).nth(before).waitFor({ state: 'visible', timeout: 20000 });
    await pg.screenshot('e2e-welcome-button');
  });
});
