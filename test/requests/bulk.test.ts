import assert from 'node:assert/strict';
import {
  BULK_MAX_BYTES, BULK_MAX_ROWS, bulkKindOf, bulkSummary, bulkTemplate, parseBulkText, parseCsv, validateBulk, type BulkParse, type BulkValidation,
} from '../../src/requests/bulk';
import { KIND_IDS, type FieldError, type KindId } from '../../src/requests/kinds';
import { LookupUnavailableError } from '../../src/requests/lookup';
import { FakeLookup, PROFILE, sampleObjects } from './fixtures';

const ctx = { lookup: new FakeLookup(sampleObjects()), profile: PROFILE };

function ok(p: BulkParse): Extract<BulkParse, { ok: true }> {
  assert.ok(p.ok, `expected a parse: ${JSON.stringify(p)}`);
  return p;
}
function errorsOf(p: BulkParse): string {
  assert.ok(!p.ok, `expected errors: ${JSON.stringify(p)}`);
  assert.ok(p.errors.length > 0);
  for (const e of p.errors) assert.match(e.message, /Nothing was filed\.$/);
  return p.errors.map((e) => `${e.line ?? '-'}: ${e.message}`).join('\n');
}
const lines = (p: BulkParse): number[] => ok(p).rows.map((r) => r.line);
const messages = (errors: readonly FieldError[]): string => errors.map((e) => `${e.field}: ${e.message}`).join('\n');

/** A name of letters only for row i (aa, ab, …), so every row gets its own generated alias. */
function letters(i: number): string {
  let s = '';
  let n = i;
  do {
    s = String.fromCharCode(97 + (n % 26)) + s;
    n = Math.floor(n / 26);
  } while (n > 0);
  return `Q${s}`;
}

describe('bulk: CSV parsing', function () {
  it('reads comma and semicolon files alike, by the header line', function () {
    const comma = ok(parseCsv('user-mailbox', 'first,last,department\nAda,Lovelace,Research\nGrace,Hopper,'));
    const semi = ok(parseCsv('user-mailbox', 'first;last;department\nAda;Lovelace;Research\nGrace;Hopper;'));
    assert.deepEqual(comma.rows, [
      { line: 2, values: { firstName: 'Ada', lastName: 'Lovelace', department: 'Research' } },
      { line: 3, values: { firstName: 'Grace', lastName: 'Hopper' } },
    ]);
    assert.deepEqual(semi.rows, comma.rows);
    // A comma inside a semicolon file is part of the value.
    const members = ok(parseCsv('shared-mailbox', 'name;members\nTeam Sales;ada@contoso.example, grace@contoso.example'));
    assert.equal(members.rows[0]?.values.members, 'ada@contoso.example, grace@contoso.example');
  });

  it('reads quoted fields with separators, "" escapes and line breaks, and counts the lines they span', function () {
    const text = 'name,description\n"Sales, North","The ""north"" team"\n"Two\r\nline group","a;b"\nLast,"x"\n';
    const p = ok(parseCsv('distribution-group', text));
    assert.deepEqual(p.rows, [
      { line: 2, values: { displayName: 'Sales, North', description: 'The "north" team' } },
      { line: 3, values: { displayName: 'Two\nline group', description: 'a;b' } },
      { line: 5, values: { displayName: 'Last', description: 'x' } },
    ]);
  });

  it('drops a BOM, takes CRLF, skips blank lines (also ;;; lines) and trims spaces', function () {
    const text = '\ufeffFirst ; LAST \r\n\r\n Ada ;Lovelace  \r\n;\r\n   \r\nGrace; "Hopper" \r\n';
    const p = ok(parseCsv('user-mailbox', text));
    assert.deepEqual(p.rows, [
      { line: 3, values: { firstName: 'Ada', lastName: 'Lovelace' } },
      { line: 6, values: { firstName: 'Grace', lastName: 'Hopper' } },
    ]);
    assert.deepEqual(lines(parseCsv('user-mailbox', '\n\nfirst,last\nA,B')), [4]);
  });

  it('takes any command key or the field id as a header, in any case', function () {
    const p = ok(parseCsv('user-mailbox', 'GivenName,surname,userPrincipalName,SMTP,sam\nAda,Lovelace,ada@contoso.example,ada@contoso.example,alove'));
    assert.deepEqual(p.rows[0]?.values, { firstName: 'Ada', lastName: 'Lovelace', userPrincipalName: 'ada@contoso.example', emailAddress: 'ada@contoso.example', samAccountName: 'alove' });
  });

  it('names an unknown header and lists the accepted ones', function () {
    const e = errorsOf(parseCsv('user-mailbox', 'first,lsat,phone\nAda,Lovelace,123'));
    assert.match(e, /^1: Line 1: unknown column "lsat" for User mailbox\. Did you mean last\? Accepted columns: first, last, display, department, title, usage, alias, sam, upn, email/m);
    assert.match(e, /unknown column "phone"/);
  });

  it('refuses a header given twice, also under two of its names', function () {
    assert.match(errorsOf(parseCsv('user-mailbox', 'first,last,first\nA,B,C')), /columns "first" and "first" both give First name/);
    assert.match(errorsOf(parseCsv('user-mailbox', 'first,last,givenname\nA,B,C')), /columns "first" and "givenname" both give First name/);
  });

  it('reports an unclosed quote, text after a quote and a row with too many values, by line', function () {
    assert.match(errorsOf(parseCsv('user-mailbox', 'first,last\nAda,Lovelace\n"Grace,Hopper\nX,Y')), /^3: Line 3: a quote \(""?\) is not closed after "Grace,Hopper\\nX,Y"/);
    assert.match(errorsOf(parseCsv('user-mailbox', 'first,last\n"Ada"x,Lovelace')), /^2: Line 2: text after the closing quote of "Ada"/);
    assert.match(errorsOf(parseCsv('user-mailbox', 'first,last\nAda,Lovelace\nGrace,Hopper,Navy')), /^3: Line 3: 3 values, but the header has 2 columns \("Navy" has no column\)/);
    // Trailing empty cells (spreadsheets write them) are fine.
    assert.deepEqual(lines(parseCsv('user-mailbox', 'first,last\nAda,Lovelace,,')), [2]);
  });

  it('refuses an empty file and a header without rows', function () {
    assert.match(errorsOf(parseCsv('user-mailbox', '\ufeff\r\n  \n')), /There is no CSV: put a header line \(first, last,/);
    assert.match(errorsOf(parseCsv('user-mailbox', 'first,last\n\n')), /no rows below the header \(line 1\)/);
  });

  it(`allows ${BULK_MAX_ROWS} rows and ${BULK_MAX_BYTES / 1024} KiB, and says so with the count when over`, function () {
    const rows = (n: number): string => ['first,last', ...Array.from({ length: n }, (_, i) => `${letters(i)},Row`)].join('\n');
    assert.equal(ok(parseCsv('user-mailbox', rows(BULK_MAX_ROWS))).rows.length, BULK_MAX_ROWS);
    const over = errorsOf(parseCsv('user-mailbox', rows(BULK_MAX_ROWS + 1)));
    assert.equal(over, '-: The CSV has 1,001 rows; a bulk request may have at most 1,000. Split it into smaller files. Nothing was filed.');
    const big = `first,last,department\n${'Ada,Lovelace,Research\n'.repeat(30000)}`;
    assert.ok(big.length > BULK_MAX_BYTES);
    assert.match(errorsOf(parseCsv('user-mailbox', big)), /^-: The CSV is 645 KiB \(660,022 bytes\); a bulk request may have at most 512 KiB\./);
    // Bytes, not characters: 200,000 "ü" are 400,000 bytes (fine), 300,000 are 600,000 (over).
    assert.ok(parseCsv('user-mailbox', `first,last\nA,${'ü'.repeat(200000)}`).ok);
    assert.match(errorsOf(parseCsv('user-mailbox', `first,last\nA,${'ü'.repeat(300000)}`)), /600,013 bytes/);
  });
});

describe('bulk: the message and its kind phrase', function () {
  it('finds the kind by a command phrase or its id, and numbers lines as in the message', function () {
    const p = ok(parseBulkText('bulk new mailbox\nfirst;last\nAda;Lovelace'));
    assert.equal(p.kind, 'user-mailbox');
    assert.deepEqual(p.rows, [{ line: 3, values: { firstName: 'Ada', lastName: 'Lovelace' } }]);
    assert.equal(ok(parseBulkText('  BULK   User-Mailbox \r\nfirst,last\r\nA,B')).kind, 'user-mailbox');
    assert.equal(ok(parseBulkText('bulk new room\nname,capacity\nBoard Room 2,12')).kind, 'room-mailbox');
    for (const kind of KIND_IDS) assert.equal(bulkKindOf(kind)?.kind, kind);
  });

  it('applies the values a phrase implies to every row, and refuses a column for them', function () {
    const p = ok(parseBulkText('bulk grant full access\nmailbox,users\nsales@contoso.example,ada.byron@contoso.example\nboardroom@contoso.example,grace.hopper@contoso.example'));
    assert.equal(p.kind, 'mailbox-permission-grant');
    assert.deepEqual(p.implied, { permission: 'FullAccess' });
    assert.deepEqual(p.rows.map((r) => r.values.permission), ['FullAccess', 'FullAccess']);
    assert.match(errorsOf(parseBulkText('bulk grant send as\nmailbox,users,permission\nsales@contoso.example,ada@contoso.example,FullAccess')),
      /^2: Line 2: column "permission" gives Permission, which the first line already says \(permission=SendAs\)/);
    // Without an implying phrase the column is fine.
    assert.equal(ok(parseBulkText('bulk grant permission\nmailbox,permission,users\nsales@contoso.example,SendAs,ada@contoso.example')).rows[0]?.values.permission, 'SendAs');
  });

  it('explains a missing or unknown kind and a message that does not start with bulk', function () {
    assert.match(errorsOf(parseBulkText('bulk new mailbx\nfirst,last\nA,B')), /^1: Line 1: "new mailbx" is not a request kind\. Did you mean "new mailbox"\? Kinds: new mailbox, new shared mailbox/);
    assert.match(errorsOf(parseBulkText('bulk\nfirst,last')), /say which kind after "bulk"/);
    assert.match(errorsOf(parseBulkText('new mailbox\nfirst,last\nA,B')), /starts with "bulk" and the kind/);
    assert.match(errorsOf(parseBulkText('bulk new mailbox')), /There is no CSV/);
    assert.match(errorsOf(parseBulkText('bulk new mailbox\nfirst,last\n"Ada,Lovelace')), /^3: Line 3: a quote/);
  });
});

describe('bulk: template', function () {
  it('has the canonical keys, required first, and an example row from the placeholders (quoted where needed)', function () {
    assert.equal(bulkTemplate('user-mailbox'), [
      'first,last,usage,display,department,title,alias,sam,upn,email',
      'Ada,Lovelace,DE,Ada Lovelace,Research,Analyst,ada.lovelace,alovelace,ada.lovelace@contoso.com,ada.lovelace@contoso.com',
    ].join('\n'));
    assert.equal(bulkTemplate('shared-mailbox', 'contoso.example'), [
      'name,alias,sam,upn,email,members',
      'Team Sales,ada.lovelace,alovelace,ada.lovelace@contoso.example,ada.lovelace@contoso.example,"ada.lovelace@contoso.example, grace.hopper@contoso.example"',
    ].join('\n'));
    assert.equal(ok(parseCsv('shared-mailbox', bulkTemplate('shared-mailbox'))).rows[0]?.values.members, 'ada.lovelace@contoso.com, grace.hopper@contoso.com');
  });

  it('parses back to one row for every kind; for a user mailbox in the tenant\'s domain that row validates', async function () {
    for (const kind of KIND_IDS) {
      const p = ok(parseCsv(kind, bulkTemplate(kind)));
      assert.equal(p.rows.length, 1, kind);
    }
    const p = ok(parseCsv('user-mailbox', bulkTemplate('user-mailbox', PROFILE.mailDomain)));
    const v = await validateBulk('user-mailbox', p.rows, ctx);
    assert.deepEqual(v.invalid, []);
    assert.deepEqual(v.valid.map((x) => [x.line, x.request.kind, 'primarySmtpAddress' in x.request ? x.request.primarySmtpAddress : '']), [[2, 'user-mailbox', 'ada.lovelace@contoso.example']]);
  });
});

describe('bulk: validation', function () {
  it('validates every row, keeping the lines and reasons of the bad ones', async function () {
    const p = ok(parseBulkText([
      'bulk new mailbox',
      'first;last;usage;alias',
      'Ada;Lovelace;;',
      ';Nolast;;',
      'Grace;Hopper;XX;',
      'Alan;Turing;GB;ada',
      'Katherine;Johnson;US;',
    ].join('\n')));
    const v = await validateBulk(p.kind, p.rows, ctx);
    assert.deepEqual(v.valid.map((x) => x.line), [3, 7]);
    assert.deepEqual(v.invalid.map((x) => x.line), [4, 5, 6]);
    assert.match(messages(v.invalid[0]?.errors ?? []), /firstName: First name is required/);
    assert.match(messages(v.invalid[1]?.errors ?? []), /usageLocation: Usage location: "XX" is not one of the choices/);
    assert.match(messages(v.invalid[2]?.errors ?? []), /alias: Alias: "ada" is already used by Ada Byron/);
  });

  it('reports two rows that would create the same names, typed or from the naming policy', async function () {
    const p = ok(parseCsv('user-mailbox', [
      'first,last,alias,upn',
      'Ada,Lovelace,,',
      'Grace,Hopper,gh,',
      'Ada,Lovelace,,',
      'Grace,Brewster,GH,',
      'Alan,Turing,,grace.brewster@contoso.example',
    ].join('\n')));
    const v = await validateBulk('user-mailbox', p.rows, ctx);
    assert.deepEqual(v.valid.map((x) => x.line), [2, 3, 6]);
    assert.deepEqual(v.invalid.map((x) => x.line), [4, 5]);
    const generated = messages(v.invalid[0]?.errors ?? []);
    assert.match(generated, /^alias: The alias "ada\.lovelace" \(from the naming policy\) is the same as on line 2: two rows cannot create the same alias\./m);
    assert.match(generated, /^samAccountName: The logon name \(sAMAccountName\) "alovelace" \(from the naming policy\) is the same as on line 2/m);
    assert.match(generated, /^userPrincipalName: .* "ada\.lovelace@contoso\.example" \(from the naming policy\) is the same as on line 2/m);
    assert.match(generated, /^emailAddress: The email address "ada\.lovelace@contoso\.example" \(from the naming policy\) is the same as on line 2/m);
    // Typed, in another case: still the same alias.
    assert.match(messages(v.invalid[1]?.errors ?? []), /^alias: The alias "GH" is the same as on line 3: two rows cannot create the same alias\. Give this row its own alias/m);
  });

  it('reports a change asked for twice (other case, other order of users) but not a different one', async function () {
    const p = ok(parseBulkText([
      'bulk grant full access',
      'mailbox,users',
      'sales@contoso.example,"ada.byron@contoso.example, grace.hopper@contoso.example"',
      'SALES@contoso.example,"grace@contoso.example, ada.byron@contoso.example"',
      'sales@contoso.example,ada.byron@contoso.example',
      'boardroom@contoso.example,ada.byron@contoso.example',
    ].join('\n')));
    const v = await validateBulk(p.kind, p.rows, ctx);
    assert.deepEqual(v.valid.map((x) => x.line), [3, 5, 6]);
    assert.deepEqual(v.invalid, [{ line: 4, errors: [{ field: 'request', message: 'This row asks for exactly the same as line 3. Remove one of them.' }] }]);
  });

  it('re-throws a look-up outage', async function () {
    const down = new FakeLookup(sampleObjects());
    down.failWith = new Error('LDAP server is down');
    const p = ok(parseCsv('user-mailbox', 'first,last\nAda,Lovelace'));
    await assert.rejects(validateBulk('user-mailbox', p.rows, { lookup: down, profile: PROFILE }), LookupUnavailableError);
  });

  it('checks a 500-row file and names its 10 bad rows by line', async function () {
    const bad = new Set([7, 50, 99, 100, 201, 250, 333, 404, 480, 501]);
    const text = ['first;last;department;usage', ...Array.from({ length: 500 }, (_, i) => {
      const line = i + 2;
      if (!bad.has(line)) return `Pat;${letters(i)};Dept ${i};DE`;
      return line % 2 === 0 ? `;${letters(i)};Dept;DE` : `Pat;${letters(i)};Dept;Nowhere`;
    })].join('\r\n');
    const p = ok(parseCsv('user-mailbox', text));
    assert.equal(p.rows.length, 500);
    const v = await validateBulk('user-mailbox', p.rows, ctx);
    assert.equal(v.valid.length, 490);
    assert.deepEqual(v.invalid.map((x) => x.line), [...bad].sort((a, b) => a - b));
    for (const x of v.invalid) assert.match(messages(x.errors), x.line % 2 === 0 ? /firstName: First name is required/ : /usageLocation: .*"Nowhere"/);
    assert.equal(bulkSummary('user-mailbox', v.valid),
      `490 user mailboxes: ${v.valid.slice(0, 10).map((x) => `pat.${letters(x.line - 2).toLowerCase()}@contoso.example`).join(', ')} and 480 more.`);
  });
});

describe('bulk: summary', function () {
  const rowsOf = (kind: KindId, csv: string): Promise<BulkValidation> => validateBulk(kind, ok(parseCsv(kind, csv)).rows, ctx);

  it('counts per kind title and lists the addresses (one, several, none)', async function () {
    assert.equal(bulkSummary('user-mailbox', (await rowsOf('user-mailbox', 'first,last\nAda,Lovelace')).valid), '1 user mailbox: ada.lovelace@contoso.example.');
    assert.equal(bulkSummary('mail-contact', (await rowsOf('mail-contact', 'name,email\nAda Partner,ada@partner.example\nBob Partner,bob@partner.example')).valid),
      '2 mail contacts: ada@partner.example, bob@partner.example.');
    assert.equal(bulkSummary('forwarding-off', (await rowsOf('forwarding-off', 'mailbox\nada.byron@contoso.example\ngrace.hopper@contoso.example')).valid),
      '2 × Stop forwarding: on ada.byron@contoso.example, grace.hopper@contoso.example.');
    assert.equal(bulkSummary('user-mailbox', []), 'No user mailboxes to file.');
  });
});
