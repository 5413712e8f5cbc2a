import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BrowserContext, chromium, Locator, Page } from 'playwright-core';
import { projectRoot } from '../../src/paths';
import { SANDBOX_PEOPLE } from '../../src/sandbox/people';
import { startPlayground } from '../../src/sandbox/playground/playground';
import { freePorts } from './ports';

/**
 * Headless Debian Chromium driving the Agents Playground's web UI. Everything that is not loopback is refused
 * at once (the UI asks a CDN for fonts), so the tests run offline.
 */
export const SHOTS_DIR = path.join(projectRoot(), 'test-output', 'screenshots');

export interface Browser {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<Browser> {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'mailroom-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1400, height: 1200 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  await context.route('**/*', (route) =>
    /^(https?|wss?):\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])[:/]/.test(route.request().url()) ? route.continue() : route.abort(),
  );
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export class PlaygroundPage {
  private constructor(readonly page: Page) {}

  static async open(browser: Browser, url: string): Promise<PlaygroundPage> {
    const page = browser.context.pages().find((p) => p.url() === 'about:blank') ?? (await browser.context.newPage());
    await page.goto(url, { waitUntil: 'networkidle' });
    const p = new PlaygroundPage(page);
    await p.openChat('Personal Chat');
    return p;
  }

  async openChat(name: string): Promise<void> {
    await this.page.getByRole('treeitem', { name }).first().click();
    await this.box().waitFor();
  }

  private box(): Locator {
    return this.page.locator('[data-lexical-editor="true"][role="textbox"][spellcheck="true"]').last();
  }

  async send(text: string): Promise<void> {
    await this.box().click();
    await this.box().pressSequentially(text);
    await this.page.keyboard.press('Enter');
  }

  /** The last rendered Adaptive Card containing the text. */
  card(text: string | RegExp): Locator {
    return this.page.locator('.ac-adaptiveCard', { hasText: text }).last();
  }

  async waitForCard(text: string | RegExp, timeout = 20000): Promise<Locator> {
    const c = this.card(text);
    await c.waitFor({ state: 'visible', timeout });
    return c;
  }

  async screenshot(name: string): Promise<string> {
    mkdirSync(SHOTS_DIR, { recursive: true });
    const file = path.join(SHOTS_DIR, `${name}.png`);
    await this.page.waitForTimeout(300);
    await this.page.screenshot({ path: file });
    return file;
  }
}

export interface TwoPeople {
  readonly browser: Browser;
  readonly requester: PlaygroundPage;
  readonly approver: PlaygroundPage;
  stop(): Promise<void>;
}

/**
 * The sandbox requester and approver, each in their own Agents Playground against the bot at `botUrl`, in one
 * headless Chromium. The approver's chat opens first, so Mailroom knows his conversation before any request.
 */
export async function openTwoPlaygrounds(botUrl: string, workDir: string): Promise<TwoPeople> {
  const botEndpoint = `${botUrl}/api/messages`;
  const requesterPg = await startPlayground({ person: SANDBOX_PEOPLE.requester, port: await freePorts(), botEndpoint, workDir: path.join(workDir, 'requester') });
  const approverPg = await startPlayground({ person: SANDBOX_PEOPLE.approver, port: await freePorts(), botEndpoint, workDir: path.join(workDir, 'approver') });
  const browser = await launchBrowser();
  const approver = await PlaygroundPage.open(browser, approverPg.url);
  await approver.waitForCard('Welcome to Mailroom');
  const requester = await PlaygroundPage.open(browser, requesterPg.url);
  await requester.waitForCard('Welcome to Mailroom');
  return {
    browser,
    requester,
    approver,
    async stop() {
      await browser.close();
      await requesterPg.stop();
      await approverPg.stop();
    },
  };
}
