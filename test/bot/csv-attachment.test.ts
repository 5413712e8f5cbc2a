/**
 * Bulk requests from an attached CSV file and from the bulk form, over HTTP through the bot against the sandbox. Teams
 * hands a bot a file sent in the personal chat as a `file.download.info` attachment with a pre-authenticated download
 * link; here a loopback server stands in for SharePoint (the sandbox bot runs without a registration, so it downloads
 * only from this machine). The file gives the same preview as the same lines pasted, and so does the form; a file
 * Mailroom cannot use is refused with why, and nothing is checked, kept or filed.
 */
import assert from 'node:assert/strict';
import { FILE_DOWNLOAD_INFO } from '../../src/bot/csv-attachment';
import { BULK_MAX_BYTES } from '../../src/requests';
import { visibleText } from '../harness/connector';
import { startFileServer, type FileServer } from '../harness/file-server';
import { TestMailroom } from '../harness/mailroom';
import { cardOf, formInputs, formSubmission, RITA } from '../harness/requests';
import { getSharedSandbox } from '../harness/sandbox';

const suffix = Date.now().toString(36).slice(-5);

/** Rows of a user-mailbox CSV: two valid, one with an unknown usage location (XX), one repeating the first. */
const CSV = ['first,last,department,usage', `Ida,File${suffix},Research,DE`, `Jon,File${suffix},Research,XX`, `"Kim, Jr.",File${suffix},"Sales; EMEA",GB`, `Ida,File${suffix},Research,DE`].join('\r\n');

describe('bulk requests from an attached CSV file and from the bulk form (over HTTP)', function () {
  this.timeout(90_000);
  let m: TestMailroom;
  let files: FileServer;

  before(async function () {
    files = await startFileServer();
    m = await TestMailroom.start({ sandbox: await getSharedSandbox(), name: 'csv-attachment', options: { runRequests: false } });
  });

  after(async function () {
    await m?.close();
    await files?.close();
  });

  const attachment = (name: string, path: string, fileType = 'csv') => ({
    contentType: FILE_DOWNLOAD_INFO,
    contentUrl: `https://contoso-my.sharepoint.com/personal/rita/Documents/Microsoft Teams Chat Files/${name}`,
    name,
    content: { downloadUrl: path.startsWith('http') ? path : `${files.url}${path}?UniqueId=1&tempauth=secret-${suffix}`, uniqueId: 'f1a2', fileType, etag: '1' },
  });

  /** Posts an activity into Rita's personal chat; the texts Mailroom answered with during the turn. */
  async function send(extra: Record<string, unknown>): Promise<string[]> {
    const since = m.connector.calls.length;
    const res = await m.rita.client.post(extra);
    assert.ok(res.status >= 200 && res.status < 300, `refused: ${res.status} ${JSON.stringify(res.body)}`);
    return m.connector.calls.slice(since).filter((c) => c.method === 'POST' && c.conversationId === m.rita.conversationId).map((c) => visibleText(c.body));
  }

  async function one(extra: Record<string, unknown>): Promise<string> {
    const texts = await send(extra);
    assert.equal(texts.length, 1, `one answer, got:\n${texts.join('\n---\n')}`);
    return texts[0] ?? '';
  }

  /** How many previews were made or refused so far (the audit). */
  async function previews(): Promise<number> {
    const events = await m.app.store.audit.list({ limit: 10_000 });
    return events.filter((e) => /^(batch|bulk)\.preview/.test(e.event)).length;
  }

  /** The id of the latest batch (0: none yet). */
  async function latestBatch(): Promise<number> {
    let n = 0;
    while (await m.app.store.batches.get(n + 1)) n++;
    return n;
  }

  /** The preview with its batch reference (B-n) left out, to compare previews of the same rows. */
  const sameRows = (text: string) => text.replace(/\bB-\d+\b/g, 'B-?');
  /** A preview of pasted lines numbered as a file's: the message's `bulk` line is not a line of the file. */
  const asFile = (text: string) => sameRows(text).replace(/\b([Ll]ine) (\d+)/g, (_m, w: string, n: string) => `${w} ${Number(n) - 1}`);

  let fileRows = '';

  it('"bulk new mailbox" with a CSV file attached previews the file like the same lines pasted: invalid rows by line and why, a batch kept, nothing filed', async function () {
    files.serve('/people.csv', { body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(CSV, 'utf8')]) });
    const requestsBefore = (await m.app.store.requests.listByRequester(RITA.aadObjectId, { limit: 1000 })).length;
    const fromFile = await one({ type: 'message', text: 'bulk new mailbox', attachments: [attachment('people.csv', '/people.csv')] });
    assert.ok(files.hits.some((h) => h.startsWith('/people.csv?')), 'the file was downloaded');
    assert.match(fromFile, /2 of 4 rows valid/);
    // lines as the file has them: the header is line 1
    assert.match(fromFile, /Line 3: .*XX/, 'the invalid usage location, by its line in the file');
    assert.match(fromFile, /Line 5: .*line 2\b/, 'the repeated row names the one it repeats');
    assert.match(fromFile, /Nothing was filed/);
    const ref = /\bB-(\d+)\b/.exec(fromFile);
    assert.ok(ref, `the preview is kept as a batch:\n${fromFile}`);
    const batch = await m.app.store.batches.get(Number(ref[1]));
    const kept = batch?.rows as { valid: { line: number; values: Record<string, string> }[] } | undefined;
    assert.deepEqual(
      kept?.valid.map((r) => [r.values.firstName, r.values.department]),
      [['Ida', 'Research'], ['Kim, Jr.', 'Sales; EMEA']],
      'the valid rows are kept, quoted values with their separators read as one value',
    );
    assert.equal((await m.app.store.requests.listByRequester(RITA.aadObjectId, { limit: 1000 })).length, requestsBefore, 'nothing filed');

    const pasted = await one({ type: 'message', text: `bulk new mailbox\n${CSV}` });
    assert.match(pasted, /Line 4: .*XX/, 'pasted lines are numbered as in the message ("bulk" is line 1)');
    assert.equal(sameRows(fromFile), asFile(pasted), 'the file and the pasted lines give the same preview, each numbering lines as the person sees them');
    fileRows = sameRows(fromFile);
  });

  it('"bulk" alone gives the bulk form; its Check gives the same preview as the pasted lines, and the form stays', async function () {
    const answers = m.connector.calls.length;
    await send({ type: 'message', text: 'bulk' });
    const posted = m.connector.calls.slice(answers).find((c) => c.conversationId === m.rita.conversationId && /Bulk request/.test(visibleText(c.body)));
    assert.ok(posted, 'the form was posted');
    const form = cardOf(posted);
    const inputs = formInputs(form);
    assert.deepEqual([inputs.get('kind')?.type, inputs.get('csv')?.type], ['Input.ChoiceSet', 'Input.Text']);
    const csvInput = JSON.stringify(form).match(/"id":"csv"[^}]*/)?.[0] ?? '';
    assert.match(csvInput, /"isMultiline":true/);
    const maxLength = Number(/"maxLength":(\d+)/.exec(csvInput)?.[1]);
    assert.ok(maxLength > 50_000 && maxLength <= BULK_MAX_BYTES, `maxLength ${maxLength}`);
    assert.match(visibleText(posted.body), /bulk template new mailbox/);

    const since = m.connector.calls.length;
    const res = await m.rita.client.post({ type: 'invoke', name: 'adaptiveCard/action', value: { action: { type: 'Action.Execute', verb: 'bulk.check', data: formSubmission(form, { kind: 'user-mailbox', csv: CSV }, 'Check') }, trigger: 'manual' } });
    assert.equal(res.status, 200);
    assert.equal((res.body as { type?: string }).type, 'application/vnd.microsoft.activity.message', 'the form stays as it is');
    const preview = m.connector.calls.slice(since).filter((c) => c.conversationId === m.rita.conversationId).map((c) => visibleText(c.body));
    assert.equal(preview.length, 1);
    const pasted = await one({ type: 'message', text: `bulk new mailbox\n${CSV}` });
    assert.equal(sameRows(preview[0] ?? ''), asFile(pasted), 'the form and the pasted lines give the same preview (the form\'s lines numbered from its header)');
    assert.equal(sameRows(preview[0] ?? ''), fileRows, 'and the same as the file');

    // a form without a kind or without lines: said, nothing checked
    const before = await previews();
    for (const [data, why] of [[{ kind: '', csv: CSV }, /Pick the kind/], [{ kind: 'user-mailbox', csv: '  ' }, /Paste the CSV lines/], [{ kind: 'spaceship', csv: CSV }, /not a request kind/]] as const) {
      const s = m.connector.calls.length;
      await m.rita.client.post({ type: 'invoke', name: 'adaptiveCard/action', value: { action: { type: 'Action.Execute', verb: 'bulk.check', data }, trigger: 'manual' } });
      const said = m.connector.calls.slice(s).map((c) => visibleText(c.body)).join('\n');
      assert.match(said, why);
      assert.match(said, /Nothing was checked or filed/);
    }
    assert.equal(await previews(), before);
  });

  describe('a file Mailroom cannot use is refused with why; nothing is downloaded beyond it, checked, kept or filed', function () {
    const refusals: [string, () => Record<string, unknown>, RegExp, string?][] = [
      ['a link that is not on this machine (the sandbox has no bot registration)', () => attachment('people.csv', `https://contoso-my.sharepoint.com/personal/rita/people.csv?tempauth=secret-${suffix}`), /only downloads files from this machine/],
      ['a link that redirects', () => (files.serve('/moved.csv', { status: 302, headers: { location: '/people.csv?moved' } }), attachment('people.csv', '/moved.csv')), /redirect \(HTTP 302\)/, '/people.csv?moved'],
      ['a file over the limit', () => (files.serve('/big.csv', { body: Buffer.alloc(BULK_MAX_BYTES + 100_000, 'a') }), attachment('big.csv', '/big.csv')), /larger than 512 KiB/],
      ['a file that is not UTF-8 (Excel\'s plain CSV)', () => (files.serve('/ansi.csv', { body: Buffer.from(`first,last\nJ\xfcrgen,M\xfcller${suffix}\n`, 'latin1') }), attachment('ansi.csv', '/ansi.csv')), /not UTF-8 text.*CSV UTF-8/],
      ['a file that is not CSV', () => (files.serve('/people.xlsx', { body: 'PK' }), attachment('people.xlsx', '/people.xlsx', 'xlsx')), /"people\.xlsx" is not a CSV file \(it is xlsx\)/, '/people.xlsx'],
      ['an expired link', () => (files.serve('/expired.csv', { status: 403 }), attachment('expired.csv', '/expired.csv')), /could not be downloaded \(HTTP 403\)/],
    ];
    for (const [what, make, why, notFetched] of refusals) {
      it(what, async function () {
        const before = await previews();
        const lastBatch = await latestBatch();
        const text = await one({ type: 'message', text: 'bulk new mailbox', attachments: [make()] });
        assert.match(text, /Nothing was checked/);
        assert.match(text, why);
        assert.match(text, /Nothing was checked or filed\./);
        assert.doesNotMatch(text, /tempauth|secret-/, 'the link is not shown');
        if (notFetched) assert.ok(!files.hits.some((h) => h.startsWith(notFetched)), `${notFetched} was not fetched`);
        assert.equal(await previews(), before, 'no preview was made');
        assert.equal(await m.app.store.batches.get(lastBatch + 1), undefined, 'no batch was kept');
      });
    }

    it('two files, or pasted lines with a file', async function () {
      files.serve('/people.csv', { body: CSV });
      const before = await previews();
      const lastBatch = await latestBatch();
      assert.match(await one({ type: 'message', text: 'bulk new mailbox', attachments: [attachment('a.csv', '/people.csv'), attachment('b.csv', '/people.csv')] }), /2 files attached.*one CSV file.*Nothing was checked or filed/);
      assert.match(await one({ type: 'message', text: `bulk new mailbox\n${CSV}`, attachments: [attachment('a.csv', '/people.csv')] }), /CSV lines and an attached file.*Nothing was checked or filed/);
      assert.equal(await previews(), before);
      assert.equal(await m.app.store.batches.get(lastBatch + 1), undefined);
    });

    it('a CSV file with no text, or with other text, gets how to use it (and is not downloaded)', async function () {
      const hits = files.hits.length;
      const lastBatch = await latestBatch();
      for (const text of [undefined, '', 'here is my list', 'bulk']) {
        const answer = await one({ type: 'message', ...(text === undefined ? {} : { text }), attachments: [attachment('people.csv', '/people.csv'), { contentType: 'text/html', content: '<p>here</p>' }] });
        assert.match(answer, /What should I do with this file\?/);
        assert.match(answer, /bulk new mailbox/);
        assert.match(answer, /Nothing was checked or filed/);
      }
      assert.equal(files.hits.length, hits, 'nothing was downloaded');
      assert.equal(await m.app.store.batches.get(lastBatch + 1), undefined);
    });
  });
});
