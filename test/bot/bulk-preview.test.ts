/**
 * Bulk requests, first part, over HTTP through the bot against the sandbox: `bulk template <kind>` gives the CSV
 * header and an example row; `bulk <kind>` with pasted CSV lines (plain lines, or the HTML paragraphs some Teams
 * clients send) previews every row checked against AD and Exchange Online, naming each invalid row by its line with
 * why (duplicates inside the file included), and files nothing. The preview is an Adaptive Card: the first 25
 * invalid rows and a count of the rest, File the N valid ones / Plan per row, every value escaped; the plans of many
 * rows come a page at a time, each page within Teams' size limits, saying how many rows were left out.
 */
import assert from 'node:assert/strict';
import { SANDBOX_MAIL_DOMAIN } from '../../src/sandbox/people';
import { visibleText } from '../harness/connector';
import { TestMailroom } from '../harness/mailroom';
import { actionsOf, buttonData, cardOf, cardText, RITA } from '../harness/requests';
import { getSharedSandbox } from '../harness/sandbox';

const suffix = Date.now().toString(36).slice(-5);

describe('bulk requests over HTTP: the template and the preview (nothing is filed)', function () {
  this.timeout(60_000);
  let m: TestMailroom;

  before(async function () {
    m = await TestMailroom.start({ sandbox: await getSharedSandbox(), name: 'bulk-preview', options: { runRequests: false } });
  });

  after(async function () {
    await m?.close();
  });

  async function say(text: string, match: RegExp): Promise<string> {
    const since = m.connector.calls.length;
    await m.rita.client.say(text);
    const reply = await m.connector.waitFor((c) => c.conversationId === `a:personal-${RITA.id}` && match.test(visibleText(c.body)), 20_000, since);
    return visibleText(reply.body);
  }

  it('bulk template: the header (the one-liners\' keys) and an example row', async function () {
    const text = await say('bulk template new mailbox', /^bulk new mailbox/);
    const [first, header, example] = text.split('\n');
    assert.equal(first, 'bulk new mailbox');
    assert.match(header ?? '', /^first,last,usage/);
    assert.ok((example ?? '').split(',').length >= 3, example);
  });

  it('previews pasted rows: the valid ones summed up, each invalid one by its line and why, duplicates inside the file too; nothing filed', async function () {
    const before = (await m.app.store.requests.listByRequester(RITA.aadObjectId, { limit: 1000 })).length;
    const lines = [
      'bulk new mailbox',
      'first,last,department,usage',
      `Bea,Bulk${suffix},Research,DE`,
      `Carl,Bulk${suffix},Research,XX`,
      `"Dora, Jr.",Bulk${suffix},"Sales; EMEA",GB`,
      `Bea,Bulk${suffix},Research,DE`,
    ];
    const text = await say(lines.join('\n'), /Bulk User mailbox: \d+ of \d+ rows valid/);
    assert.match(text, /Bulk User mailbox: 2 of 4 rows valid/);
    assert.match(text, /Line 4: .*XX/);
    assert.match(text, /Line 6: .*line 3/i, 'the duplicate names the row it repeats');
    assert.match(text, new RegExp(`bea\\.bulk${suffix}@${SANDBOX_MAIL_DOMAIN.replace(/\./g, '\\.')}`, 'i'));
    assert.match(text, /Nothing was filed\./);
    assert.equal((await m.app.store.requests.listByRequester(RITA.aadObjectId, { limit: 1000 })).length, before, 'nothing filed');
    const audit = (await m.app.store.audit.list({ limit: 20 })).find((e) => e.event === 'bulk.previewed');
    assert.deepEqual(audit?.data, { kind: 'user-mailbox', rows: 4, valid: 2, invalid: 2 });
  });

  it('the same rows as HTML paragraphs (as some Teams clients send a paste) give the same preview', async function () {
    const html = `<p>bulk new mailbox</p><p>first,last</p><p>Eva,Html${suffix}</p><p>Finn,Html${suffix}</p>`;
    const text = await say(html, /Bulk User mailbox: \d+ of \d+ rows valid/);
    assert.match(text, /Bulk User mailbox: 2 of 2 rows valid/);
  });

  it('a bad header is named, with the keys that are accepted; an unknown kind lists the kinds', async function () {
    assert.match(await say('bulk new mailbox\nfirst,surnameX\nAda,X', /Nothing was checked/), /surnameX/i);
    assert.match(await say('bulk new spaceship\nname\nx', /Nothing was checked/), /spaceship/);
  });

  it('a large file: the card lists the first 25 invalid rows and counts the rest, offers only the valid ones, escapes values; plans come a page at a time within Teams\' limits', async function () {
    this.timeout(120_000);
    // distinct names (the naming policy makes logon names of the first initial and the last name)
    const tag = (i: number): string => `${String.fromCharCode(97 + Math.floor(i / 26))}${String.fromCharCode(97 + (i % 26))}`;
    const valid = Array.from({ length: 45 }, (_, i) => `Pat,Page${suffix}${tag(i)},Research,DE`);
    const invalid = Array.from({ length: 30 }, (_, i) => `Quinn,Bad${suffix}${tag(i)},Research,[x](https://evil.example)`);
    const since = m.connector.calls.length;
    await m.rita.client.say(['bulk new mailbox', 'first,last,department,usage', ...valid, ...invalid].join('\n'));
    const call = await m.connector.waitFor((c) => c.conversationId === `a:personal-${RITA.id}` && /B-\d+ · Bulk User mailbox/.test(visibleText(c.body)), 60_000, since);
    const card = cardOf(call);
    const text = cardText(card);
    const ref = /(B-\d+)/.exec(text)?.[1] ?? '';
    assert.match(text, /45 of 75 rows valid/);
    assert.match(text, /Invalid rows \(30\):/);
    assert.equal(text.match(/^Line \d+: /gm)?.length, 25, 'the first 25 invalid rows');
    assert.match(text, /Line 48: /);
    assert.match(text, /… and 5 more invalid rows\./);
    assert.deepEqual(actionsOf(card).map((a) => a.title), ['File the 45 valid ones', 'Plan per row']);
    assert.match(text, /Line 48: .*\[x\]\(https:\/\/evil\.example\)/, 'the value reads as typed');
    assert.ok(!JSON.stringify(card).includes('[x](https'), 'a value never reads as a link');

    // Plan per row as a command and as the button: a page that fits, how many are left out, Next rows for more
    const pageAt = m.connector.calls.length;
    await m.rita.client.say(`plan ${ref}`);
    const first = cardOf(await m.connector.waitFor((c) => c.conversationId === `a:personal-${RITA.id}` && /Plan per row/.test(visibleText(c.body)), 60_000, pageAt));
    const firstText = cardText(first);
    const shown = firstText.match(/^\*\*Line \d+\*\*$/gm)?.length ?? 0;
    assert.ok(shown >= 1 && shown < 45, `one page, not all 45 rows (${shown})`);
    assert.match(firstText, new RegExp(`Rows 1 to ${shown} of the 45 valid rows`));
    assert.match(firstText, new RegExp(`${45 - shown} rows left out here, so that the message fits in Teams \\(Next rows shows more\\); "export batch ${ref}" or a smaller file shows them\\.`));
    assert.ok(JSON.stringify(first).length < 28_000, `the card is ${JSON.stringify(first).length} bytes`);
    assert.ok(firstText.length < 16_000);
    const next = buttonData(first, 'Next rows');
    assert.ok(next, 'a Next rows button');
    const second = cardText(await m.rita.press('batch.plan', next));
    assert.match(second, new RegExp(`Rows ${shown + 1} to \\d+ of the 45 valid rows`));
    assert.match(second, new RegExp(`\\*\\*Line ${shown + 3}\\*\\*\\n- Create the AD user`), 'the page starts with the next row (row 1 is on line 3)');
    assert.equal((await m.app.store.requests.listByRequester(RITA.aadObjectId, { limit: 1000 })).filter((r) => r.batchId !== null).length, 0, 'nothing filed');
  });
});
