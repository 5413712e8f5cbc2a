/**
 * No value can bring markup onto a card. Teams renders TextBlocks and facts as markdown; whatever a person typed
 * (names, department, a reason) or the directory returned reaches the cards escaped, so that it reads as the text
 * it is: `[Approve here](https://evil.example/phish)` is not a link on the approver's card, `**Bold**` is not bold.
 * Over HTTP as Teams sends it, against the sandbox; the cards are also drawn by the Adaptive Cards renderer in
 * Chromium (with Teams' markdown subset) to prove that no link or markup survives and the values read literally.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startMailroom, type Mailroom } from '../../src/app';
import { loadConfig } from '../../src/config/config';
import { silentLogger } from '../../src/log';
import { projectRoot } from '../../src/paths';
import type { Sandbox } from '../../src/sandbox';
import { sandboxOverrides } from '../../src/sandbox/overrides';
import { CardPage } from '../harness/card-render';
import { startConnector, visibleText, type Connector, type RecordedCall } from '../harness/connector';
import { ADA, ARNOLD, buttonData, cardOf, Chat, formInputs, formSubmission, personalConversation, RITA, type Card } from '../harness/requests';
import { getSharedSandbox } from '../harness/sandbox';

/** What Rita types: every value tries another piece of markup. */
const TYPED = {
  firstName: '**Bold**',
  lastName: "O'Brien a_b*c",
  department: '[Approve here](https://evil.example/phish)',
  jobTitle: '# Heading <at>Arnold Approver</at> \\ ~~gone~~ `code` - list',
  usageLocation: 'DE',
};
const DISPLAY_NAME = `${TYPED.firstName} ${TYPED.lastName}`;
const REASON = '[Click to appeal](https://evil.example/appeal) _now_ <https://evil.example/auto> www.evil.example';

/** Every markdown text of a card: TextBlock texts and fact titles and values. */
function markdownTexts(card: unknown): string[] {
  const out: string[] = [];
  const walk = (n: unknown): void => {
    if (Array.isArray(n)) return n.forEach(walk);
    if (!n || typeof n !== 'object') return;
    const o = n as Record<string, unknown>;
    if (o.type === 'TextBlock' && typeof o.text === 'string') out.push(o.text);
    if (o.type === 'FactSet' && Array.isArray(o.facts)) for (const f of o.facts as Record<string, unknown>[]) out.push(String(f.title), String(f.value));
    Object.values(o).forEach(walk);
  };
  walk(card);
  return out;
}

/** The markup characters of a markdown text that are not backslash-escaped (link, emphasis, code, HTML, heading). */
function unescapedMarkup(text: string): string[] {
  const found: string[] = [];
  for (const line of text.split('\n')) {
    if (/^\s*#/.test(line)) found.push(`heading: ${line}`);
    for (let i = 0; i < line.length; i++) {
      if (line[i] === '\\') i++;
      else if ('[]*_<`~'.includes(line[i] ?? '')) found.push(`${line[i]} in ${JSON.stringify(line)}`);
    }
  }
  return found;
}

describe('card markdown: values never become markup', function () {
  this.timeout(180_000);
  let sandbox: Sandbox;
  let connector: Connector;
  let app: Mailroom;
  let dataDir: string;
  let page: CardPage;
  let rita: Chat, arnold: Chat;
  let reference = '';
  let approval: Card = {};

  before(async function () {
    sandbox = await getSharedSandbox();
    connector = await startConnector();
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'mailroom-card-markdown-'));
    const config = loadConfig({ rootDir: projectRoot(), envName: 'sandbox', env: {}, overrides: { ...sandboxOverrides(sandbox.endpoints), PORT: '0', DATA_DIR: dataDir } });
    app = await startMailroom(config, silentLogger, { runRequests: false });
    rita = new Chat(app.url, connector, RITA);
    arnold = new Chat(app.url, connector, ARNOLD);
    for (const p of [RITA, ARNOLD, ADA]) await new Chat(app.url, connector, p).client.install();
    page = await CardPage.open();
  });

  after(async function () {
    await page?.close();
    await app?.stop();
    await connector?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Draws the card: no link anywhere, no bold/italic/code/heading markup from values, and these texts read as typed. */
  async function assertRendersLiterally(card: Card, name: string, ...literal: string[]): Promise<void> {
    const seen = await page.render(card);
    await page.screenshot(`security-markdown-${name}`);
    assert.deepEqual(seen.links, [], `links on the ${name} card`);
    assert.equal(await page.page.locator('#card em, #card del, #card code, #card [class^="heading-"]').count(), 0, `markup on the ${name} card`);
    for (const t of literal) assert.ok(seen.text.includes(t), `the ${name} card does not show ${JSON.stringify(t)} as typed:\n${seen.text}`);
  }

  /** No unescaped markup on the card but the product's own (`own`: markup Mailroom writes itself, such as **help**). */
  function assertEscaped(card: Card, name: string, own: readonly string[] = []): void {
    const problems = markdownTexts(card)
      .map((t) => own.reduce((text, markup) => text.split(markup).join(''), t))
      .flatMap(unescapedMarkup);
    assert.deepEqual(problems, [], `unescaped markup on the ${name} card`);
  }

  it("the approver's card shows every typed value literally: no link, no bold, no heading", async function () {
    const form = await rita.press('request.form', { kind: 'user-mailbox' });
    const since = connector.calls.length;
    const status = await rita.press('request.submit', formSubmission(form, TYPED), 'markdown-form-1');
    reference = /R-\d+/.exec(visibleText({ attachments: [{ content: status }] }))?.[0] ?? '';
    assert.match(reference, /^R-\d+$/, JSON.stringify(status));
    const call = await arnold.waitFor((c) => c.method === 'POST' && visibleText(c.body).includes(reference), since);
    approval = cardOf(call);
    assert.ok(buttonData(approval, 'Approve'), 'the approval card');

    assertEscaped(approval, 'approval');
    await assertRendersLiterally(approval, 'approval', TYPED.department, DISPLAY_NAME, TYPED.jobTitle);
    const seen = await page.render(approval);
    const shownFacts = new Map(seen.blocks.flatMap((b) => (b.kind === 'facts' ? b.facts.map((f) => [f.title, f.value] as const) : [])));
    assert.equal(shownFacts.get('Department'), TYPED.department);
    assert.equal(shownFacts.get('Display name'), DISPLAY_NAME);
    assert.equal(shownFacts.get('Job title'), TYPED.jobTitle);
    assert.equal(shownFacts.get('Last name'), TYPED.lastName);

    // Rita's own status card, the same values.
    assertEscaped(status, 'status');
    await assertRendersLiterally(status, 'status', TYPED.department, DISPLAY_NAME);
  });

  it('a rejection reason is shown literally on both cards; the message to the requester is plain text', async function () {
    const since = connector.calls.length;
    const rejected = await arnold.press('request.reject', { ...buttonData(approval, 'Reject')!, reason: REASON });
    assertEscaped(rejected, 'rejected');
    await assertRendersLiterally(rejected, 'rejected', `Rejected by Arnold Approver`, REASON);

    const update = await rita.waitFor((c) => c.method === 'PUT' && visibleText(c.body).includes(reference), since);
    assertEscaped(cardOf(update), 'requester-update');
    await assertRendersLiterally(cardOf(update), 'requester-update', REASON);

    const message: RecordedCall = await rita.waitFor((c) => c.method === 'POST' && typeof c.body.text === 'string' && c.body.text.includes(reference), since);
    assert.ok(String(message.body.text).includes(REASON), String(message.body.text));
    assert.equal(message.body.textFormat, 'plain', 'Teams shows the text as written');
  });

  it('a form sent back with errors keeps the typed values in its inputs as they are (inputs are not markdown)', async function () {
    const form = await rita.press('request.form', { kind: 'user-mailbox' });
    const back = await rita.press('request.submit', formSubmission(form, { ...TYPED, samAccountName: 'bad*sam' }), 'markdown-form-2');
    const inputs = formInputs(back);
    assert.equal(inputs.get('department')?.value, TYPED.department);
    assert.equal(inputs.get('firstName')?.value, TYPED.firstName);
    assert.equal(inputs.get('jobTitle')?.value, TYPED.jobTitle);
    assert.match(inputs.get('samAccountName')?.error ?? '', /"bad\*sam" contains "\*"/, 'the error beside the field');
    assert.ok(markdownTexts(back).some((t) => t.includes('"bad\\*sam" contains "\\*"')), 'the error quotes the value escaped');
    assertEscaped(back, 'form');
    await assertRendersLiterally(back, 'form', '"bad*sam" contains "*"');
  });

  it('a message that is no command is echoed literally', async function () {
    const posted = await rita.say(TYPED.department);
    const reply = posted.map(cardOf).find((c) => visibleText({ attachments: [{ content: c }] }).includes('is not a Mailroom command'));
    assert.ok(reply, JSON.stringify(posted.map((c) => c.body)));
    assertEscaped(reply, 'unknown-command-reply', ['**help**']);
    await assertRendersLiterally(reply, 'unknown-command', `"${TYPED.department}" is not a Mailroom command.`);
  });

  it('the conversation of the approver got nothing else with a live link', function () {
    for (const c of connector.calls.filter((x) => x.conversationId === personalConversation(ARNOLD))) {
      for (const t of markdownTexts(cardOf(c))) assert.ok(!/\]\(https?:/.test(t.replace(/\\./g, '')), t);
    }
  });
});
