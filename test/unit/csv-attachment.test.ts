/**
 * The attached-CSV reader on its own: where a download link may point (SharePoint Online with a bot registration, this
 * machine in the sandbox), which attachments count as a CSV file, how a turn tells its mode, and the download itself
 * against a loopback server (no redirect, a hard byte cap while streaming, UTF-8 with or without a byte order mark,
 * the link never in the log).
 */
import assert from 'node:assert/strict';
import type { Activity, TurnContext } from 'botbuilder';
import {
  attachedFiles,
  bulkRequestText,
  downloadCsv,
  downloadUrlRefusal,
  FILE_DOWNLOAD_INFO,
  fileSourceModeOf,
  isCsvFile,
  unexpectedFileNotice,
  type AttachedFile,
} from '../../src/bot/csv-attachment';
import { CardRenderer } from '../../src/bot/cards';
import { createLogger } from '../../src/log';
import { projectRoot } from '../../src/paths';
import { BULK_MAX_BYTES, parseBulkText } from '../../src/requests';
import { startFileServer, type FileServer } from '../harness/file-server';
import path from 'node:path';

const fileOf = (downloadUrl: string, name = 'people.csv', fileType = 'csv'): AttachedFile => ({ name, fileType, downloadUrl });

describe('attached CSV files: host rules', function () {
  it('with a bot registration, only https SharePoint Online hosts on the default port', function () {
    const ok = [
      'https://contoso-my.sharepoint.com/personal/ada_contoso_com/_layouts/15/download.aspx?UniqueId=1&tempauth=x',
      'https://contoso.sharepoint.com/sites/it/file.csv',
      'https://CONTOSO-MY.SharePoint.com/x',
      'https://contoso.sharepoint.com:443/x',
    ];
    for (const u of ok) assert.equal(downloadUrlRefusal(u, 'tenant'), undefined, u);
    const refused = [
      'http://contoso-my.sharepoint.com/x', // not https
      'https://contoso.sharepoint.com:8443/x', // another port
      'https://sharepoint.com/x', // no tenant
      'https://contoso.sharepoint.com.evil.example/x',
      'https://evilsharepoint.com/x',
      'https://contoso.sharepoint.com./x', // trailing dot: another name to a resolver, not to this rule
      'https://contoso.sharepoint.us/x', // GCC High / DoD: Teams hands bots no files there
      'https://contoso.sharepoint.de/x',
      'https://contoso.sharepoint.cn/x',
      'https://user:pw@contoso.sharepoint.com/x',
      'https://127.0.0.1/x',
      'http://localhost:8080/x',
      'https://169.254.169.254/metadata',
      'file:///etc/passwd',
      'not a url',
      '',
    ];
    for (const u of refused) assert.ok(downloadUrlRefusal(u, 'tenant'), `${u} must be refused`);
    assert.match(downloadUrlRefusal('https://files.example.com/x', 'tenant') ?? '', /SharePoint Online/);
  });

  it('in the sandbox (no bot registration), only loopback http(s)', function () {
    for (const u of ['http://127.0.0.1:1234/a.csv', 'https://localhost/a.csv', 'http://[::1]:9/a.csv', 'http://127.8.9.10/x']) assert.equal(downloadUrlRefusal(u, 'sandbox'), undefined, u);
    for (const u of ['https://contoso.sharepoint.com/x', 'http://10.0.0.1/x', 'ftp://127.0.0.1/x', 'http://u:p@127.0.0.1/x', 'http://localhost.evil.example/x']) {
      assert.match(downloadUrlRefusal(u, 'sandbox') ?? '', /this machine|user name/, u);
    }
  });

  it('the mode comes from the turn: no token claims (the anonymous sandbox bot) or a registration', function () {
    const key = Symbol('BotIdentity');
    const ctx = (identity: unknown) => ({ adapter: { BotIdentityKey: key }, turnState: new Map([[key, identity]]) }) as unknown as TurnContext;
    assert.equal(fileSourceModeOf(ctx({ claims: [] })), 'sandbox');
    assert.equal(fileSourceModeOf(ctx({ claims: [{ type: 'aud', value: 'x' }] })), 'tenant');
    assert.equal(fileSourceModeOf(ctx(undefined)), 'tenant', 'no identity: the narrower rule');
  });
});

describe('attached CSV files: which attachments', function () {
  const activity = (attachments: unknown[], text = 'bulk new mailbox') => ({ type: 'message', text, attachments }) as unknown as Partial<Activity>;
  const info = (name: string, fileType: string) => ({ contentType: FILE_DOWNLOAD_INFO, name, contentUrl: 'https://contoso.sharepoint.com/x', content: { downloadUrl: 'https://contoso-my.sharepoint.com/d', uniqueId: 'u', fileType } });

  it('reads file download infos only (not the HTML copy of the message), CSV by type or by name', function () {
    const files = attachedFiles(activity([{ contentType: 'text/html', content: '<p>bulk</p>' }, info('a.csv', 'csv'), info('b.CSV', ''), info('c.xlsx', 'xlsx')]));
    assert.deepEqual(files.map((f) => [f.name, f.fileType, isCsvFile(f)]), [['a.csv', 'csv', true], ['b.CSV', '', true], ['c.xlsx', 'xlsx', false]]);
    assert.equal(files[0]?.downloadUrl, 'https://contoso-my.sharepoint.com/d');
  });

  it('a file with anything but "bulk <kind>" gets a notice on how to use it; "bulk <kind>" with a file gets none', function () {
    const csv = [info('a.csv', 'csv')];
    for (const text of ['', 'hello', 'bulk', 'bulk template new mailbox']) assert.match(String(unexpectedFileNotice(activity(csv, text), text)?.text.toString()), /bulk new mailbox/, text);
    assert.equal(unexpectedFileNotice(activity(csv), 'bulk new mailbox'), undefined);
    assert.equal(unexpectedFileNotice(activity([]), 'hello'), undefined);
    assert.match(unexpectedFileNotice(activity([info('c.xlsx', 'xlsx')], ''), '')?.title ?? '', /CSV files only/);
  });
});

describe('attached CSV files: the download', function () {
  let files: FileServer;

  before(async function () {
    files = await startFileServer();
  });

  after(async function () {
    await files?.close();
  });

  it('reads UTF-8 with or without a byte order mark, and gives the byte count', async function () {
    files.serve('/plain.csv', { body: 'first,last\nJürgen,Müller\n' });
    files.serve('/bom.csv', { body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('first,last\nJürgen,Müller\n')]), withLength: true });
    const plain = await downloadCsv(fileOf(`${files.url}/plain.csv`), 'sandbox');
    const bom = await downloadCsv(fileOf(`${files.url}/bom.csv`), 'sandbox');
    assert.deepEqual(plain, { ok: true, text: 'first,last\nJürgen,Müller\n', bytes: 27 });
    assert.deepEqual(bom, { ok: true, text: 'first,last\nJürgen,Müller\n', bytes: 30 });
  });

  it('refuses Windows-1252 and UTF-16 with the way to save CSV UTF-8 in Excel', async function () {
    files.serve('/ansi.csv', { body: Buffer.from('first,last\nJ\xfcrgen,M\xfcller\n', 'latin1') });
    files.serve('/utf16.csv', { body: Buffer.from('first,last\n', 'utf16le') });
    for (const p of ['/ansi.csv', '/utf16.csv']) {
      const got = await downloadCsv(fileOf(`${files.url}${p}`), 'sandbox');
      assert.equal(got.ok, false);
      assert.match(got.ok ? '' : got.message, /not UTF-8 text.*CSV UTF-8 \(Comma delimited\).*Nothing was checked or filed\.$/);
    }
  });

  it('stops reading beyond the limit, with or without a declared length', async function () {
    const big = Buffer.alloc(BULK_MAX_BYTES + 64 * 1024, 'a');
    files.serve('/big-chunked.csv', { body: big });
    files.serve('/big-declared.csv', { body: big, withLength: true });
    for (const p of ['/big-chunked.csv', '/big-declared.csv']) {
      const got = await downloadCsv(fileOf(`${files.url}${p}`), 'sandbox');
      assert.deepEqual(got.ok ? undefined : [got.reason, /larger than 512 KiB/.test(got.message)], ['too-large', true], p);
    }
    // exactly the limit (and a byte order mark) is read
    files.serve('/limit.csv', { body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.alloc(BULK_MAX_BYTES, 'a')]) });
    const at = await downloadCsv(fileOf(`${files.url}/limit.csv`), 'sandbox');
    assert.equal(at.ok && at.text.length, BULK_MAX_BYTES);
  });

  it('follows no redirect and says an error status; a link elsewhere is not even asked', async function () {
    files.serve('/moved.csv', { status: 302, headers: { location: '/plain.csv' } });
    files.serve('/gone.csv', { status: 403 });
    const before = files.hits.length;
    const moved = await downloadCsv(fileOf(`${files.url}/moved.csv`), 'sandbox');
    assert.deepEqual(moved.ok ? undefined : [moved.reason, /redirect \(HTTP 302\)/.test(moved.message)], ['redirect', true]);
    assert.deepEqual(files.hits.slice(before), ['/moved.csv'], 'the redirect target was not fetched');
    const gone = await downloadCsv(fileOf(`${files.url}/gone.csv`), 'sandbox');
    assert.match(gone.ok ? '' : gone.message, /could not be downloaded \(HTTP 403\).*attach the file again/);
    const asked = files.hits.length;
    const elsewhere = await downloadCsv(fileOf(`${files.url}/plain.csv`), 'tenant');
    assert.equal(elsewhere.ok ? '' : elsewhere.reason, 'host');
    assert.equal(files.hits.length, asked, 'nothing was fetched for a link the rules refuse');
  });

  it('a connection that fails, or a server that does not answer within the timeout, is a message, not an exception', async function () {
    const closed = await startFileServer();
    const url = closed.url;
    await closed.close();
    const refused = await downloadCsv(fileOf(`${url}/x.csv`), 'sandbox');
    assert.equal(refused.ok ? '' : refused.reason, 'network');
    // a server that accepts the connection and never answers
    const net = await import('node:net');
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    try {
      const timedOut = await downloadCsv(fileOf(`http://127.0.0.1:${port}/x.csv`), 'sandbox', { timeoutMs: 200 });
      assert.deepEqual(timedOut.ok ? undefined : [timedOut.reason, /did not download within/.test(timedOut.message)], ['timeout', true]);
    } finally {
      silent.close();
    }
  });

  it('bulkRequestText: "bulk <kind>" and the file\'s lines; the log names the file and its size, never the link', async function () {
    files.serve('/log.csv', { body: 'first,last\nAda,Lovelace\n' });
    const lines: string[] = [];
    const log = createLogger('debug', {}, (line) => void lines.push(line));
    const sent: unknown[] = [];
    const key = Symbol('BotIdentity');
    const ctx = (attachments: unknown[], text: string) =>
      ({
        activity: { type: 'message', text, attachments },
        adapter: { BotIdentityKey: key },
        turnState: new Map([[key, { claims: [] }]]),
        sendActivity: (a: unknown) => (sent.push(a), Promise.resolve(undefined)),
      }) as unknown as TurnContext;
    const secret = `${files.url}/log.csv?tempauth=SECRET-TOKEN`;
    const attach = (name: string, url: string, fileType = 'csv') => ({ contentType: FILE_DOWNLOAD_INFO, name, content: { downloadUrl: url, uniqueId: 'u', fileType } });
    const cards = new CardRenderer(path.join(projectRoot(), 'cards'));
    assert.deepEqual(await bulkRequestText(ctx([attach('people.csv', secret)], 'bulk new mailbox'), 'bulk new mailbox', { cards, log }), {
      text: 'bulk new mailbox\nfirst,last\nAda,Lovelace\n',
      options: { numberFromHeader: true },
    });
    assert.deepEqual(await bulkRequestText(ctx([], 'x'), 'bulk new mailbox\na\nb', { cards, log }), { text: 'bulk new mailbox\na\nb', options: {} }, 'no file: the pasted lines, numbered as in the message');
    assert.equal(await bulkRequestText(ctx([attach('people.csv', secret)], 'x'), 'bulk new mailbox\nfirst\nAda', { cards, log }), undefined, 'lines and a file');
    assert.equal(await bulkRequestText(ctx([attach('a.csv', secret), attach('b.csv', secret)], 'x'), 'bulk new mailbox', { cards, log }), undefined, 'two files');
    assert.equal(await bulkRequestText(ctx([attach('gone.csv', `${files.url}/gone.csv?tempauth=SECRET-TOKEN`)], 'x'), 'bulk new mailbox', { cards, log }), undefined, 'a refused download');
    assert.equal(sent.length, 3);
    assert.ok(lines.some((l) => /"msg":"attached CSV read".*"file":"people.csv".*"bytes":24/.test(l)), lines.join('\n'));
    assert.ok(lines.some((l) => /"msg":"attached CSV refused".*"reason":"http"/.test(l)), lines.join('\n'));
    assert.ok(!lines.some((l) => /SECRET|tempauth|127\.0\.0\.1/.test(l)), `the link is not logged:\n${lines.join('\n')}`);
  });
});

describe('bulk text from a file or the form: lines numbered from the header', function () {
  it('the header is line 1 (leading blank lines and the "bulk" line do not count); implied values stay', function () {
    const text = '\n\nbulk grant full access\r\nmailbox,user\r\nshared@contoso.com,ada@contoso.com\r\n\r\nnot-an-address,ada@contoso.com\r\n';
    const asFile = parseBulkText(text, { numberFromHeader: true });
    const asMessage = parseBulkText(text);
    assert.ok(asFile.ok && asMessage.ok);
    assert.deepEqual(asFile.rows.map((r) => r.line), [2, 4]);
    assert.deepEqual(asMessage.rows.map((r) => r.line), [5, 7]);
    assert.deepEqual(asFile.rows.map((r) => r.values), asMessage.rows.map((r) => r.values));
    assert.ok(asFile.rows.every((r) => Object.values(r.values).includes('FullAccess')), JSON.stringify(asFile.rows));
    const broken = parseBulkText('bulk new mailbox\nfirst,last\n"Ada,Lovelace\n', { numberFromHeader: true });
    assert.match(broken.ok ? '' : JSON.stringify(broken.errors), /"line":2/);
  });
});
