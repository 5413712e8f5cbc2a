/**
 * Bulk requests, first part, over HTTP through the bot against the sandbox: `bulk template <kind>` gives the CSV
 * header and an example row; `bulk <kind>` with pasted CSV lines (plain lines, or the HTML paragraphs some Teams
 * clients send) previews every row checked against AD and Exchange Online, naming each invalid row by its line with
 * why (duplicates inside the file included), and files nothing.
 */
import assert from 'node:assert/strict';
import { SANDBOX_MAIL_DOMAIN } from '../../src/sandbox/people';
import { visibleText } from '../harness/connector';
import { TestMailroom } from '../harness/mailroom';
import { RITA } from '../harness/requests';
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
});
