/**
 * The bulk requests' acceptance test, end to end over HTTP against a sandbox of its own: a person attaches a 500-row CSV
 * file of user mailboxes to "bulk new mailbox" (header from `bulk template`, as a person gets it; 500 rows are too long
 * to paste into one message) with 10 bad rows of the kinds real files have, at known lines of the file. The preview
 * names those 10 lines with a reason each and counts 490 valid; `file B-n valid` files the 490;
 * the approver gets one message for the batch and decides once; every request runs to done; the requester hears once.
 * Then everything is read back: the 490 users in AD (one paged search) with the attributes of their rows, their
 * mailboxes in Exchange Online (one paged Get-Mailbox, through Mailroom's own client), nothing made for the 10 bad rows,
 * and `export batch B-n`: 500 rows, the 490 done with their requests, the 10 invalid with their reasons, each done row's
 * request the one that made the user of that row.
 *
 * Its own sandbox: 490 licensed mailboxes need more licences than the shared tenant has, and sync runs on a short timer
 * (as Cloud Sync's cycle does, shortened), since on-demand provisioning allows only 5 objects per 10 s.
 * BATCH_ACCEPTANCE_STORE=postgres runs it on PostgreSQL; BATCH_ACCEPTANCE_TIMINGS=1 prints how long each phase took.
 */
import assert from 'node:assert/strict';
import type { Client } from 'ldapts';
import { projectRoot } from '../../src/paths';
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { SANDBOX_MAIL_DOMAIN } from '../../src/sandbox/people';
import type { UserMailboxRequest } from '../../src/requests';
import type { RequestRecord } from '../../src/store';
import { FILE_DOWNLOAD_INFO } from '../../src/bot/csv-attachment';
import { ConformanceSuite, type ExoMailbox } from '../harness/conformance';
import { visibleText, type Person, type RecordedCall } from '../harness/connector';
import { startFileServer, type FileServer } from '../harness/file-server';
import { TestMailroom } from '../harness/mailroom';
import { getPostgres } from '../harness/postgres';
import { ARNOLD, personalConversation, reEscape, RITA } from '../harness/requests';
import { onGlobalTeardown } from '../harness/root-hooks';
import { openSandboxLdap } from '../harness/sandbox';

const ROWS = 500;
const MINUTE = 60_000;

// 25 first names with 25 different initials (the naming policy's logon name is {f}{last}) × 20 last names: 500 people
// whose generated alias, logon name, UPN and address all differ. Accents, ø, ı and an apostrophe as real names have.
const FIRST = ['Anna', 'Björn', 'Clara', 'David', 'Elif', 'Fatima', 'Gustav', 'Ines', 'Jürgen', 'Karim', 'Luca', 'Marta', 'Noah', 'Olga', 'Pia', 'Quentin', 'Rosa', 'Søren', 'Tomás', 'Ute', 'Viktor', 'Wanda', 'Xenia', 'Yusuf', 'Zoë'];
const LAST = ['Keller', 'Schmidt', 'Özdemir', 'Nowak', 'Rossi', 'Dubois', 'Jansen', 'Lindqvist', 'García', 'Fischer', 'Brennan', 'Kowalski', 'Moreau', 'Ferreira', 'Andersson', 'Weber', 'Hoffmann', 'Yılmaz', "O'Brien", 'Novak'];
const DEPARTMENTS = ['Sales', 'Research', 'Finance', 'HR', 'IT', ''];
const TITLES = ['Analyst', 'Engineer', 'Consultant', 'Assistant', ''];

/** Row indexes (0-based) of the bad rows, spread through the file. */
const BAD_AT = [11, 58, 105, 152, 199, 246, 293, 340, 387, 434] as const;
/** The row whose typed alias the typed duplicate repeats, and the row whose names the generated duplicate repeats. */
const TYPED_ORIGINAL = 100;
const GENERATED_ORIGINAL = 151;

interface Row {
  readonly index: number;
  /** Column → value; what the person typed. */
  readonly cells: Readonly<Record<string, string>>;
  /** The serialized line(s), as in the file. */
  readonly text: string;
  /** The line of the file it starts on (the header is line 1), as a spreadsheet or editor shows it. */
  line: number;
  /** For a bad row: what it shows of the reason (every pattern must match), and what it is. */
  readonly bad?: { readonly what: string; readonly reason: readonly RegExp[] };
}

const ascii = (s: string): string => s.normalize('NFD').replace(/[^A-Za-z]/g, '').toLowerCase();

function csvCell(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** RFC 4180 records (quoted fields with "" and line breaks), for reading the export back. */
function readCsv(text: string): string[][] {
  const out: string[][] = [];
  let rec: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      rec.push(cell);
      cell = '';
    } else if (c === '\n') {
      rec.push(cell);
      out.push(rec);
      rec = [];
      cell = '';
    } else if (c !== '\r') cell += c;
  }
  if (cell !== '' || rec.length) out.push([...rec, cell]);
  return out;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : Array.isArray(v) ? String(v[0] ?? '') : v === undefined || v === null ? '' : JSON.stringify(v));

/** Get-Mailbox's row, with the usage location the emulator (and Exchange Online) shows. */
type MailboxRow = ExoMailbox & { UsageLocation: string | null };

describe('bulk acceptance: 500 user mailboxes with 10 bad rows, in the sandbox', function () {
  this.timeout(40 * MINUTE);
  let sandbox: Sandbox;
  let suite: ConformanceSuite;
  let m: TestMailroom;
  let ldap: Client;
  /** Stands in for the SharePoint download link Teams hands the bot for an attached file. */
  let files: FileServer;
  /** An AD user made before the file is attached (its logon name is typed in a bad row). */
  let existingSam = '';
  /** The address of a cloud-only shared mailbox (typed in a bad row). */
  const takenAddress = `front.desk@${SANDBOX_MAIL_DOMAIN}`;
  const timings: [string, number][] = [];
  let started = Date.now();
  const phase = (name: string): void => {
    const now = Date.now();
    timings.push([name, now - started]);
    started = now;
  };

  before(async function () {
    this.timeout(10 * MINUTE);
    started = Date.now();
    sandbox = await startSandbox({
      rootDir: projectRoot(),
      ephemeral: true,
      knobs: { syncMode: 'cloud', syncIntervalMs: 1500, mailboxDelayMs: 0, latencyMs: 0, rate429: 0, rate503: 0, exoLicences: ROWS + 100 },
    });
    onGlobalTeardown('batch-acceptance sandbox', () => sandbox.stop());
    const settings: Record<string, string> = {};
    if (process.env.BATCH_ACCEPTANCE_STORE === 'postgres') {
      settings.DATABASE_URL = await (await getPostgres()).createDatabase('batchacc');
      settings.SECRET_KEY = Buffer.alloc(32, 5).toString('base64');
    }
    suite = await ConformanceSuite.open(sandbox, 'bulkacc');
    existingSam = suite.name('taken');
    await suite.addUser(existingSam, { displayName: 'Taken Name' });
    sandbox.tenant.createCloudMailbox({ type: 'SharedMailbox', name: 'Front Desk', alias: 'front.desk', displayName: 'Front Desk', primarySmtpAddress: takenAddress });
    ldap = await openSandboxLdap(sandbox);
    files = await startFileServer();
    m = await TestMailroom.start({ sandbox, name: 'batch-acceptance', settings, logVariable: 'BATCH_ACCEPTANCE_LOG' });
    phase('sandbox and Mailroom started');
  });

  after(async function () {
    this.timeout(5 * MINUTE);
    if (process.env.BATCH_ACCEPTANCE_TIMINGS) {
      console.log([...timings.map(([n, ms]) => `  ${n}: ${(ms / 1000).toFixed(1)} s`), ...turns.map(([t, ms]) => `  turn "${t}": ${(ms / 1000).toFixed(1)} s`)].join('\n'));
    }
    await m?.close();
    await ldap?.unbind().catch(() => undefined);
    await files?.close();
    await suite?.close();
    await sandbox?.stop();
  });

  /** What Mailroom posted into a person's chat from `since` on (cards updated in place are not counted). */
  const said = (person: Person, since: number): RecordedCall[] =>
    m.connector.calls.slice(since).filter((c) => c.method === 'POST' && c.conversationId === personalConversation(person));

  /** How long each typed message's turn took (Mailroom's HTTP answer; Teams gives a bot about 15 s), for the timings. */
  const turns: [string, number][] = [];

  /**
   * Types a message and returns the visible text of the first answer posted in that chat that matches (not a card
   * updated in place). The answer is sent within the turn, so it is there when the HTTP call returns (a short wait
   * covers an answer sent just after).
   */
  async function say(person: 'rita' | 'arnold', text: string, match: RegExp, attachments?: readonly unknown[]): Promise<string> {
    const chat = m[person];
    const since = m.connector.calls.length;
    const t0 = Date.now();
    const res = await chat.client.post({ type: 'message', text, ...(attachments ? { attachments } : {}) });
    turns.push([text.split('\n')[0] ?? '', Date.now() - t0]);
    assert.ok(res.status >= 200 && res.status < 300, `the message was refused: ${res.status}`);
    const reply = await chat.waitFor((c) => c.method === 'POST' && match.test(visibleText(c.body)), since, 15_000).catch(() => {
      assert.fail(`"${text.split('\n')[0] ?? ''}" got no answer matching ${String(match)}; Mailroom said:\n${said(chat.person, since).map((c) => visibleText(c.body)).join('\n---\n') || 'nothing'}`);
    });
    return visibleText(reply.body);
  }

  /** The 500 rows under `header`: good rows of many shapes, and the 10 bad ones at BAD_AT. */
  function buildRows(header: readonly string[]): Row[] {
    const rows: Row[] = [];
    const serialize = (cells: Record<string, string>): string => {
      const values = header.map((h) => cells[h] ?? '');
      while (values.length > 0 && values[values.length - 1] === '' && cells.__short === 'yes') values.pop();
      return values.map(csvCell).join(',');
    };
    const person = (i: number): Record<string, string> => {
      const first = FIRST[i % FIRST.length] ?? '';
      const last = LAST[Math.floor(i / FIRST.length) % LAST.length] ?? '';
      const cells: Record<string, string> = { first, last, department: DEPARTMENTS[i % DEPARTMENTS.length] ?? '', title: i % 30 === 7 ? 'Head of Sales, EMEA' : (TITLES[i % TITLES.length] ?? '') };
      if (i % 7 === 3) cells.usage = 'GB';
      else if (i % 11 === 5) cells.usage = 'fr';
      if (i % 40 === 13) cells.display = `${last}, ${first}`;
      if (i % 50 === 0) cells.alias = `${ascii(first)}.${ascii(last).slice(0, 1)}${i}`;
      if (i % 75 === 0 && i % 50 !== 0) cells.email = `${ascii(first)}.${ascii(last)}.${i}@${SANDBOX_MAIL_DOMAIN}`;
      return cells;
    };
    let line = 2;
    for (let i = 0; i < ROWS; i++) {
      const k = BAD_AT.indexOf(i as (typeof BAD_AT)[number]);
      let cells = person(i);
      let bad: Row['bad'];
      switch (k) {
        case 0: // a missing required value, and fewer cells than the header (the export of a half-filled sheet)
          cells = { first: 'Hanna', __short: 'yes' };
          bad = { what: 'last name missing (one cell)', reason: [/last name/i, /required/i] };
          break;
        case 1: // a malformed sign-in name
          cells = { ...cells, upn: 'lena.koch' };
          bad = { what: 'UPN without a domain', reason: [/lena\.koch/, /UPN|sign-in/i] };
          break;
        case 2: // an alias with a character Exchange refuses
          cells = { ...cells, alias: 'tom(sales)' };
          bad = { what: 'alias with (', reason: [/tom\(sales\)/, /contains/] };
          break;
        case 3: { // the same typed alias as an earlier row (other case)
          const original = person(TYPED_ORIGINAL).alias ?? '';
          cells = { ...cells, alias: original.toUpperCase() };
          bad = { what: 'typed alias of an earlier row', reason: [/alias/i, new RegExp(`line ${rows[TYPED_ORIGINAL]?.line ?? -1}\\b`)] };
          break;
        }
        case 4: { // the same person as an earlier row: the generated names collide
          const o = person(GENERATED_ORIGINAL);
          cells = { first: o.first ?? '', last: o.last ?? '', department: 'Sales' };
          bad = { what: 'generated names of an earlier row', reason: [/naming policy/i, new RegExp(`line ${rows[GENERATED_ORIGINAL]?.line ?? -1}\\b`)] };
          break;
        }
        case 5: // a logon name an AD user has already
          cells = { ...cells, sam: existingSam };
          bad = { what: 'logon name taken in AD', reason: [new RegExp(reEscape(existingSam)), /already used/, /\bAD\b/] };
          break;
        case 6: // an address a cloud-only mailbox has already
          cells = { ...cells, email: takenAddress };
          bad = { what: 'address taken in Exchange Online', reason: [new RegExp(reEscape(takenAddress)), /already used/, /Exchange Online/] };
          break;
        case 7: // an optional field with a value that does not exist
          cells = { ...cells, usage: 'XX' };
          bad = { what: 'usage location XX', reason: [/usage location/i, /XX/] };
          break;
        case 8: // an address in a domain the tenant does not have
          cells = { ...cells, email: 'nina.roth@fabrikam.example' };
          bad = { what: 'address outside the accepted domains', reason: [/fabrikam\.example/, /accepted domain/] };
          break;
        case 9: // a cell with a line break (Alt+Enter in Excel): the row spans two lines
          cells = { ...cells, first: 'Paul\nJunior' };
          bad = { what: 'line break in the first name', reason: [/first name/i, /control character|line break/i] };
          break;
        default:
          break;
      }
      const text = serialize(cells);
      rows.push({ index: i, cells, text, line, ...(bad ? { bad } : {}) });
      line += text.split('\n').length;
    }
    return rows;
  }

  /** Polls the store until every request of the batch has ended; fails at once, with the errors, when one fails. */
  async function untilAllEnded(batchId: number, count: number, timeoutMs: number): Promise<RequestRecord[]> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const requests = await m.app.store.requests.listByBatch(batchId);
      const failed = requests.filter((r) => ['failed', 'cancelled', 'rejected', 'expired', 'rolled-back'].includes(r.status));
      if (failed.length) {
        const shown = await Promise.all(
          failed.slice(0, 5).map(async (r) => `${r.reference} ${r.status}: ${r.error ?? ''} [${(await m.app.store.runs.listByRequest(r.id)).filter((s) => s.error).map((s) => `${s.stepId}: ${s.error ?? ''}`).join(' | ')}]`),
        );
        assert.fail(`${failed.length} of the batch's requests did not end done:\n${shown.join('\n')}`);
      }
      const done = requests.filter((r) => r.status === 'done').length;
      if (requests.length === count && done === count) return requests;
      if (Date.now() > end) {
        const counts = new Map<string, number>();
        for (const r of requests) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
        assert.fail(`after ${timeoutMs / MINUTE} minutes ${done} of ${count} requests are done: ${[...counts].map(([s, n]) => `${n} ${s}`).join(', ')}`);
      }
      await new Promise((r) => setTimeout(r, 2000));
    }
  }

  it('preview names the 10 bad lines, the 490 are filed, approved once and done; AD, Exchange Online, the report and the export agree', async function () {
    // The header as a person gets it: `bulk template`, through the bot.
    const template = await say('rita', 'bulk template new mailbox', /^bulk /m);
    const templateLines = template.split('\n').filter((l) => l.trim() !== '');
    const headerIndex = templateLines.findIndex((l) => /^bulk /i.test(l)) + 1;
    const headerLine = templateLines[headerIndex] ?? '';
    const header = headerLine.split(',').map((h) => h.trim());
    for (const col of ['first', 'last', 'usage', 'display', 'department', 'title', 'alias', 'sam', 'upn', 'email']) assert.ok(header.includes(col), `the template's header has ${col}: ${headerLine}`);

    // The file as Excel saves "CSV UTF-8": a byte order mark, CRLF between rows, LF inside a cell.
    const rows = buildRows(header);
    const file = `\ufeff${[headerLine, ...rows.map((r) => r.text)].join('\r\n')}\r\n`;
    files.serve('/new-starters.csv', { body: file });
    const attached = [
      {
        contentType: FILE_DOWNLOAD_INFO,
        contentUrl: 'https://contoso-my.sharepoint.com/personal/rita/Documents/Microsoft Teams Chat Files/new-starters.csv',
        name: 'new-starters.csv',
        content: { downloadUrl: `${files.url}/new-starters.csv?UniqueId=5e1c&tempauth=acceptance`, uniqueId: '5e1c', fileType: 'csv', etag: '1' },
      },
      { contentType: 'text/html', content: '<p>bulk new mailbox</p>' },
    ];
    const badRows = rows.filter((r) => r.bad);
    const goodRows = rows.filter((r) => !r.bad);
    assert.equal(badRows.length, 10);
    phase('template read, file built');

    // Preview: the 10 bad lines, each with its reason; 490 valid.
    const preview = await say('rita', 'bulk new mailbox', /B-\d+/, attached);
    assert.ok(files.hits.some((h) => h.startsWith('/new-starters.csv?')), 'the file was downloaded');
    phase('preview of 500 rows');
    const ref = /(B-\d+)/.exec(preview)?.[1] ?? '';
    assert.ok(ref, preview);
    assert.match(preview, /\b490\b[^\n]{0,40}valid|valid\D{0,5}490\b/i, 'the preview counts 490 valid rows');
    assert.match(preview, /\b500\b/, 'the preview counts 500 rows');
    const named = new Map<number, string>();
    for (const l of preview.split('\n')) {
      const hit = /^\s*Line (\d+):\s*(.*)$/.exec(l);
      if (hit) named.set(Number(hit[1]), hit[2] ?? '');
    }
    const lines = [...named.keys()].sort((a, b) => a - b);
    const shifted = lines.length === badRows.length && lines.every((l, i) => l === (badRows[i]?.line ?? 0) + 1);
    assert.deepEqual(lines, badRows.map((r) => r.line), `the preview names exactly the bad lines of the file${shifted ? ' (it names each one line too far: it counts the message\'s "bulk" line as line 1 of the file)' : ''}:\n${preview}`);
    for (const r of badRows) {
      const reason = named.get(r.line) ?? '';
      for (const p of r.bad?.reason ?? []) assert.match(reason, p, `line ${r.line} (${r.bad?.what ?? ''}): ${reason}`);
    }
    const before = await adUsers();
    const mailboxesBefore = await mailboxes();

    // File the valid rows; the approver gets one message for the batch.
    const filedAt = m.connector.calls.length;
    const filed = await say('rita', `file ${ref} valid`, new RegExp(`${ref}[^\\n]*\\bfiled\\b|Not filed`));
    assert.match(filed, /\b490\b/, filed);
    assert.doesNotMatch(filed, /could not be filed/, filed);
    // filing 490 rows (each checked again) outlasts a turn's answer: the preview card says when they are filed
    await m.rita.waitFor((c) => /Filed by Rita Requester: 490 requests/.test(visibleText(c.body)), filedAt, 5 * MINUTE);
    phase('file 490 rows');
    const batch = await m.app.store.batches.get(ref);
    assert.ok(batch, `${ref} is stored`);
    const filedRequests = await m.app.store.requests.listByBatch(batch.id);
    assert.equal(filedRequests.length, 490);
    assert.ok(filedRequests.every((r) => r.status === 'pending-approval'), 'all 490 wait for the approval');
    await m.arnold.waitFor((c) => visibleText(c.body).includes(ref), filedAt, MINUTE);

    const approvedAt = m.connector.calls.length;
    const toArnold = said(ARNOLD, filedAt);
    assert.equal(toArnold.length, 1, `one message for the batch reached the approver, not one per row:\n${toArnold.map((c) => visibleText(c.body)).join('\n---\n')}`);
    assert.match(visibleText(toArnold[0]!.body), /\b490\b/);
    const perRow = m.connector.calls.slice(filedAt).filter((c) => /\bR-\d+\b/.test(visibleText(c.body)));
    assert.deepEqual(perRow.map((c) => `${c.conversationId}: ${visibleText(c.body).slice(0, 80)}`), [], 'no message names a single request of the batch');

    const decided = await say('arnold', `approve ${ref}`, new RegExp(`${ref}|Not decided`));
    phase('approve 490 requests');
    assert.match(decided, /\b490\b/, decided);

    const requests = await untilAllEnded(batch.id, 490, 30 * MINUTE);
    phase('run 490 requests to done');
    if (process.env.BATCH_ACCEPTANCE_TIMINGS) await stepTimings(requests);

    // One report to the requester, saying 490 done; no message per row.
    const report = await m.rita.waitFor((c) => visibleText(c.body).includes(ref) && /\b490 done\b|done\D{0,3}490\b/.test(visibleText(c.body)), approvedAt, 2 * MINUTE);
    assert.doesNotMatch(visibleText(report.body), /\bfailed\b/);

    // AD: one paged search; 490 new users, each with its row's attributes.
    const after = await adUsers();
    const created = new Map([...after].filter(([upn]) => !before.has(upn)));
    assert.equal(created.size, 490, 'exactly 490 users were created in AD');
    const exoAfter = await mailboxes();
    const newMailboxes = new Map([...exoAfter].filter(([upn]) => !mailboxesBefore.has(upn)));
    assert.equal(newMailboxes.size, 490, 'exactly 490 mailboxes were created in Exchange Online');
    phase('read back AD and Exchange Online');

    // The status and the export, typed as a person would.
    const statusAt = m.connector.calls.length;
    const status = await say('rita', `status ${ref}`, new RegExp(`${ref}|No such batch`));
    assert.match(status, /done\D{0,3}490\b/, status);
    assert.match(status, /\b500\b/, status);
    const exported = await say('rita', `export batch ${ref}`, new RegExp(`${ref}[^\\n]*CSV|No such batch`));
    const csvText = exported.slice(exported.indexOf('\n') + 1);
    assert.ok(!/\n…\s*$/.test(csvText), `the export is complete, not cut (${csvText.length} characters)`);
    const [exportHeader, ...exportRows] = readCsv(csvText).filter((r) => r.some((c) => c !== ''));
    const col = (name: string): number => {
      const i = (exportHeader ?? []).indexOf(name);
      assert.ok(i >= 0, `the export has a ${name} column: ${(exportHeader ?? []).join(',')}`);
      return i;
    };
    const [cLine, cRequest, cStatus, cError] = [col('line'), col('request'), col('status'), col('error')];
    assert.equal(exportRows.length, ROWS, 'the export has a line per row of the file');
    const byLine = new Map(exportRows.map((r) => [Number(r[cLine]), r]));
    assert.equal(byLine.size, ROWS, 'each line once');
    const byReference = new Map(requests.map((r) => [r.reference, r]));
    const mailboxByUpn = newMailboxes;
    const madeFor = new Set<string>();
    for (const row of rows) {
      const e = byLine.get(row.line);
      assert.ok(e, `the export has line ${row.line}`);
      if (row.bad) {
        assert.equal(e[cStatus], 'invalid', `line ${row.line} (${row.bad.what}) is invalid in the export`);
        assert.equal(e[cRequest], '', `line ${row.line} has no request`);
        for (const p of row.bad.reason) assert.match(e[cError] ?? '', p, `line ${row.line}'s reason in the export`);
        continue;
      }
      assert.equal(e[cStatus], 'done', `line ${row.line} is done in the export`);
      const record = byReference.get(e[cRequest] ?? '');
      assert.ok(record, `line ${row.line}'s request ${e[cRequest] ?? ''} is one of the batch`);
      // the request of this line is the one this row asked for, and it made this row's user and mailbox
      assert.equal(record.values.firstName, row.cells.first, `${record.reference} was filed from line ${row.line}`);
      assert.equal(record.values.lastName, row.cells.last, `${record.reference} was filed from line ${row.line}`);
      const q = record.request as UserMailboxRequest;
      madeFor.add(q.userPrincipalName.toLowerCase());
      const user = created.get(q.userPrincipalName.toLowerCase());
      assert.ok(user, `line ${row.line}: the AD user ${q.userPrincipalName} exists`);
      const display = row.cells.display || `${row.cells.first ?? ''} ${row.cells.last ?? ''}`;
      const expected: Record<string, string> = {
        givenName: row.cells.first ?? '', sn: row.cells.last ?? '', displayName: display, sAMAccountName: q.samAccountName,
        department: row.cells.department ?? '', title: row.cells.title ?? '',
      };
      for (const [attr, value] of Object.entries(expected)) assert.equal(str(user[attr]), value, `line ${row.line}: ${attr} of ${q.userPrincipalName}`);
      assert.match(str(user.dn), new RegExp(`^CN=${reEscape(display.replace(/([,\\#+<>;"=])/g, '\\$1'))},`, 'i'), `line ${row.line}: the user's CN is its display name`);
      if (row.cells.alias) assert.equal(q.alias, row.cells.alias, `line ${row.line}: the typed alias`);
      if (row.cells.email) assert.equal(q.primarySmtpAddress, row.cells.email, `line ${row.line}: the typed address`);
      const mailbox = mailboxByUpn.get(q.userPrincipalName.toLowerCase());
      assert.ok(mailbox, `line ${row.line}: ${q.userPrincipalName} has a mailbox`);
      assert.equal(mailbox.RecipientTypeDetails, 'UserMailbox', `line ${row.line}: a user mailbox`);
      assert.equal(mailbox.IsDirSynced, true, `line ${row.line}: the mailbox belongs to the synced AD user`);
      assert.equal(mailbox.SKUAssigned, true, `line ${row.line}: licensed`);
      assert.equal(mailbox.AccountDisabled, false, `line ${row.line}: a person's account, enabled`);
      assert.equal(mailbox.PrimarySmtpAddress.toLowerCase(), q.primarySmtpAddress.toLowerCase(), `line ${row.line}: primary address`);
      assert.equal(mailbox.Alias.toLowerCase(), q.alias.toLowerCase(), `line ${row.line}: alias`);
      assert.equal(mailbox.UsageLocation, (row.cells.usage || 'DE').toUpperCase(), `line ${row.line}: usage location`);
    }
    // the 490 done lines name 490 different requests: every request of the batch once
    const doneRefs = new Set(goodRows.map((r) => byLine.get(r.line)?.[cRequest]));
    assert.equal(doneRefs.size, 490);
    // nothing was made for the bad rows: every new user and mailbox is one of a done row, and the logon name and the
    // address the bad rows typed still belong only to who had them before
    assert.equal(madeFor.size, 490, 'the 490 done rows made 490 different users');
    assert.deepEqual([...created.keys()].filter((upn) => !madeFor.has(upn)), [], 'no AD user but those of the done rows');
    assert.deepEqual([...newMailboxes.keys()].filter((upn) => !madeFor.has(upn)), [], 'no mailbox but those of the done rows');
    assert.equal([...created.values()].filter((u) => str(u.sAMAccountName).toLowerCase() === existingSam.toLowerCase()).length, 0);
    assert.deepEqual([...exoAfter.values()].filter((x) => x.PrimarySmtpAddress.toLowerCase() === takenAddress).map((x) => x.RecipientTypeDetails), ['SharedMailbox'], 'the taken address is still only the shared mailbox\'s');
    assert.equal([...created.values()].filter((u) => str(u.givenName) === 'Hanna' || /Paul/.test(str(u.givenName))).length, 0, 'no user for the rows without a valid name');
    phase('status, export and their agreement');

    // The requester got exactly one report (before the two commands above), and no message about a single request;
    // after it, only the answers to the two commands.
    const reports = said(RITA, approvedAt).filter((c) => m.connector.calls.indexOf(c) < statusAt).map((c) => visibleText(c.body));
    assert.equal(reports.filter((t) => t.includes(ref) && /\b490 done\b|done\D{0,3}490\b/.test(t)).length, 1, `one report:\n${reports.join('\n---\n')}`);
    assert.equal(said(RITA, statusAt).length, 2, 'nothing but the answers to status and export after the report');
    assert.deepEqual(reports.filter((t) => /\bR-\d+\b/.test(t)).map((t) => t.slice(0, 120)), [], 'no message to the requester about a single request');
  });

  it('pasted lines with a cell too many on one line are refused as a whole, naming the line; nothing is kept or filed', async function () {
    const csv = ['bulk new mailbox', 'first,last,department', 'Ola,Extra,Sales', 'Per,Extra,Sales,Oslo', 'Rut,Extra,IT'].join('\n');
    const batches = async (): Promise<string[]> => (await Promise.all([1, 2, 3].map((n) => m.app.store.batches.get(`B-${n}`)))).flatMap((b) => (b ? [b.reference] : []));
    const before = await batches();
    const answer = await say('rita', csv, /Line \d+|B-\d+/);
    assert.match(answer, /Line 4\b/, answer);
    assert.match(answer, /Nothing was filed/, answer);
    assert.doesNotMatch(answer, /B-\d+/, 'no batch is kept');
    assert.deepEqual(await batches(), before, 'no batch was stored');
  });

  it('a row whose name was taken between preview and filing is not filed; the export still gives every other line its own request', async function () {
    const csv = ['bulk new mailbox', 'first,last,alias', 'Ann,Shift,ann.shift', 'Ben,Shift,ben.shift', 'Cai,Shift,cai.shift'].join('\n');
    const ref = /(B-\d+)/.exec(await say('rita', csv, /B-\d+/))?.[1] ?? '';
    assert.ok(ref);
    // between the preview and filing, someone makes a cloud-only mailbox with Ben's alias and address
    sandbox.tenant.createCloudMailbox({ type: 'SharedMailbox', name: 'Ben Shift Team', alias: 'ben.shift', primarySmtpAddress: `ben.shift@${SANDBOX_MAIL_DOMAIN}` });
    const filed = await say('rita', `file ${ref}`, new RegExp(`${ref}[^\\n]*\\bfiled\\b|Not filed`));
    assert.match(filed, /\b2\b[^\n]*filed/, filed);
    assert.match(filed, /line 4\b/i, `the refused row (the message's line 4) is named: ${filed}`);
    const exported = await say('rita', `export batch ${ref}`, new RegExp(`${ref}[^\\n]*CSV|No such batch`));
    const [head, ...body] = readCsv(exported.slice(exported.indexOf('\n') + 1)).filter((r) => r.some((c) => c !== ''));
    const [cLine, cRequest] = [(head ?? []).indexOf('line'), (head ?? []).indexOf('request')];
    const byLine = new Map(body.map((r) => [Number(r[cLine]), r[cRequest] ?? '']));
    const batch = await m.app.store.batches.get(ref);
    const requests = await m.app.store.requests.listByBatch(batch?.id ?? 0);
    const firstNameOf = async (reference: string | undefined): Promise<unknown> => (reference ? (await m.app.store.requests.get(reference))?.values.firstName : undefined);
    assert.equal(requests.length, 2);
    assert.equal(await firstNameOf(byLine.get(3)), 'Ann', `line 3's request is Ann's: ${exported}`);
    assert.equal(byLine.get(4), '', `line 4 (Ben, not filed) has no request: ${exported}`);
    assert.equal(await firstNameOf(byLine.get(5)), 'Cai', `line 5's request is Cai's: ${exported}`);
    await say('arnold', `reject ${ref} Test batch.`, new RegExp(`${ref}|Not decided`));
  });

  /** Where the run's time went, per step action: how many, how long each took (median, 90th percentile), the span. */
  async function stepTimings(requests: readonly RequestRecord[]): Promise<void> {
    const by = new Map<string, { ms: number[]; start: number; end: number; retried: number }>();
    for (const r of requests) {
      for (const st of await m.app.store.runs.listByRequest(r.id)) {
        if (!st.startedAt || !st.finishedAt) continue;
        const a = by.get(st.action) ?? { ms: [], start: Infinity, end: 0, retried: 0 };
        const [s0, s1] = [Date.parse(st.startedAt), Date.parse(st.finishedAt)];
        a.ms.push(s1 - s0);
        a.start = Math.min(a.start, s0);
        a.end = Math.max(a.end, s1);
        if (st.attempts > 1) a.retried++;
        by.set(st.action, a);
      }
    }
    for (const [action, a] of by) {
      const sorted = [...a.ms].sort((x, y) => x - y);
      const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
      timings.push([`  ${action}: ${sorted.length} steps, median ${at(0.5)} ms, p90 ${at(0.9)} ms, ${a.retried} tried again, span`, a.end - a.start]);
    }
  }

  /** The users in Mailroom's user OU by UPN (lower case): one paged search. */
  async function adUsers(): Promise<Map<string, Record<string, unknown>>> {
    const { searchEntries } = await ldap.search(sandbox.ous.users, {
      scope: 'sub',
      filter: '(&(objectCategory=person)(objectClass=user))',
      attributes: ['sAMAccountName', 'userPrincipalName', 'givenName', 'sn', 'displayName', 'department', 'title', 'mail'],
      paged: { pageSize: 200 },
    });
    return new Map(searchEntries.map((e) => [str(e.userPrincipalName).toLowerCase(), e as Record<string, unknown>]));
  }

  /** The user mailboxes of Exchange Online by UPN (lower case), read as Mailroom reads them (paged Get-Mailbox). */
  async function mailboxes(): Promise<Map<string, MailboxRow>> {
    const { value } = await m.cloud.exo.invoke<MailboxRow>('Get-Mailbox', { ResultSize: 'Unlimited' });
    return new Map(value.filter((x) => x.UserPrincipalName).map((x) => [x.UserPrincipalName.toLowerCase(), x]));
  }
});
