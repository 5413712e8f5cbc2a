import assert from 'node:assert/strict';
import { formatCommand, parseCommand, type ParseResult } from '../../src/requests/command-line';

function ok(line: string): { kind: string; values: Record<string, string> } {
  const r = parseCommand(line);
  assert.ok(r.ok, `${line}: ${JSON.stringify(r)}`);
  return { kind: r.kind, values: r.values };
}
function errors(line: string): { field: string; message: string }[] {
  const r: ParseResult = parseCommand(line);
  assert.ok(!r.ok, `${line} parsed`);
  return r.errors;
}

describe('command line: parsing', function () {
  it('reads the examples', function () {
    assert.deepEqual(ok('new mailbox first=Ada last=Lovelace department=Research'), { kind: 'user-mailbox', values: { firstName: 'Ada', lastName: 'Lovelace', department: 'Research' } });
    assert.deepEqual(ok('new shared mailbox name="Team Sales" alias=sales'), { kind: 'shared-mailbox', values: { displayName: 'Team Sales', alias: 'sales' } });
    assert.deepEqual(ok('new room name="Board Room" capacity=12'), { kind: 'room-mailbox', values: { displayName: 'Board Room', capacity: '12' } });
    assert.deepEqual(ok('new contact name="Ada Partner" email=ada@partner.example'), { kind: 'mail-contact', values: { displayName: 'Ada Partner', externalAddress: 'ada@partner.example' } });
    assert.deepEqual(ok('new mail user first=Ada last=Partner email=ada@partner.example'), { kind: 'mail-user', values: { firstName: 'Ada', lastName: 'Partner', externalAddress: 'ada@partner.example' } });
    assert.deepEqual(ok('new group name="Sales Team" scope=universal security=yes'), { kind: 'distribution-group', values: { displayName: 'Sales Team', scope: 'universal', securityEnabled: 'yes' } });
    assert.deepEqual(ok('change primary ada.lovelace@contoso.example new=ada@contoso.example'), { kind: 'primary-address', values: { identity: 'ada.lovelace@contoso.example', newAddress: 'ada@contoso.example' } });
    assert.deepEqual(ok('add address ada@contoso.example address=a.l@contoso.example'), { kind: 'secondary-address-add', values: { identity: 'ada@contoso.example', address: 'a.l@contoso.example' } });
    assert.deepEqual(ok('remove address ada@contoso.example a.l@contoso.example'), { kind: 'secondary-address-remove', values: { identity: 'ada@contoso.example', address: 'a.l@contoso.example' } });
    assert.deepEqual(ok('cloud-managed ada@contoso.example on'), { kind: 'cloud-managed', values: { identity: 'ada@contoso.example', state: 'on' } });
    assert.deepEqual(ok('cloud managed ada@contoso.example off'), { kind: 'cloud-managed', values: { identity: 'ada@contoso.example', state: 'off' } });
    assert.deepEqual(ok('convert ada@contoso.example to shared'), { kind: 'mailbox-type', values: { identity: 'ada@contoso.example', type: 'shared' } });
    assert.deepEqual(ok('convert ada@contoso.example room'), { kind: 'mailbox-type', values: { identity: 'ada@contoso.example', type: 'room' } });
    assert.deepEqual(ok('offboard ada@contoso.example hide=no'), { kind: 'offboarding', values: { identity: 'ada@contoso.example', hideFromAddressLists: 'no' } });
  });

  it('reads the new kinds: booking, automatic replies, a scheduled offboarding', function () {
    assert.deepEqual(ok('booking room@contoso.example processing=accept window=90 bookers=everyone'), { kind: 'booking', values: { identity: 'room@contoso.example', processing: 'accept', bookingWindow: '90', bookers: 'everyone' } });
    assert.deepEqual(ok('auto reply ada@contoso.example on message="Away." until=2027-01-03'), { kind: 'auto-reply', values: { identity: 'ada@contoso.example', state: 'on', message: 'Away.', end: '2027-01-03' } });
    assert.deepEqual(ok('out of office ada@contoso.example off'), { kind: 'auto-reply', values: { identity: 'ada@contoso.example', state: 'off' } });
    assert.deepEqual(ok('offboard ada@contoso.example when="2026-12-31 17:00" fullaccess=none'), { kind: 'offboarding', values: { identity: 'ada@contoso.example', when: '2026-12-31 17:00', fullAccessFor: 'none' } });
  });

  it('a key=value list that ends with a comma goes on with the next values', function () {
    assert.deepEqual(ok('booking room@contoso.example bookers=ada@contoso.example, grace@contoso.example, team@contoso.example window=30').values, {
      identity: 'room@contoso.example', bookers: 'ada@contoso.example, grace@contoso.example, team@contoso.example', bookingWindow: '30',
    });
    // without the comma, a second value is still unexpected (nothing is guessed)
    assert.match(errors('booking room@contoso.example bookers=ada@contoso.example grace@contoso.example')[0]?.message ?? '', /Unexpected "grace@contoso.example"/);
  });

  it('takes keys in any case and by any alias', function () {
    const a = ok('New Mailbox FIRST=Ada Last=Lovelace');
    const b = ok('new mailbox firstname=Ada surname=Lovelace');
    const c = ok('new user given=Ada sn=Lovelace');
    assert.deepEqual(a, b);
    assert.deepEqual(b, c);
    assert.deepEqual(ok('new mailbox firstName=Ada').values, { firstName: 'Ada' });
  });

  it('reads quoted values: double, single, typographic; escapes; spaces and = inside', function () {
    assert.equal(ok('new shared name="Team \\"A\\" = B"').values.displayName, 'Team "A" = B');
    assert.equal(ok("new shared name='Team B'").values.displayName, 'Team B');
    assert.equal(ok('new shared name=“Team C”').values.displayName, 'Team C');
    assert.equal(ok('new shared name=„Team D“').values.displayName, 'Team D');
    assert.equal(ok('new shared name=‘Team E’').values.displayName, 'Team E');
    assert.equal(ok('new shared name="a\\\\b"').values.displayName, 'a\\b');
    assert.equal(ok('new shared name="" alias=x').values.displayName, '');
    assert.equal(ok('new mailbox first=Ada last=O\'Brien').values.lastName, "O'Brien");
    assert.equal(ok('new mailbox\u00a0first=Ada').values.firstName, 'Ada');
  });

  it('passes injection-like text through as a value (validation judges it)', function () {
    assert.equal(ok('offboard "*)(cn=*"').values.identity, '*)(cn=*');
    assert.equal(ok('new mailbox first=*)(cn=*').values.firstName, '*)(cn=*');
  });

  it('says which kinds exist when the kind is missing or unknown', function () {
    const [e] = errors('new');
    assert.equal(e?.field, 'kind');
    assert.match(e?.message ?? '', /Say which kind to create: new mailbox, new shared mailbox, new room mailbox, new equipment mailbox, new mail user, new contact, new group/);
    assert.match(errors('new printer name=x')[0]?.message ?? '', /There is no kind "new printer"/);
    assert.match(errors('ofboard ada@contoso.example')[0]?.message ?? '', /Did you mean "offboard"\?.*Requests: new mailbox/);
    assert.match(errors('')[0]?.message ?? '', /empty/);
  });

  it('lists the accepted keys for an unknown key, with a suggestion', function () {
    const [e] = errors('new mailbox frist=Ada last=Lovelace');
    assert.equal(e?.field, 'command');
    assert.equal(e?.message, 'Unknown key "frist" for "new mailbox". Did you mean first? Accepted keys: first, last, display, department, title, usage, alias, sam, upn, email.');
  });

  it('refuses a value given twice, stray words and broken quotes', function () {
    assert.match(errors('new mailbox first=Ada given=Ada')[0]?.message ?? '', /First name is given twice/);
    assert.match(errors('cloud-managed ada@contoso.example on identity=x')[0]?.message ?? '', /given twice/);
    assert.match(errors('new mailbox Ada Lovelace')[0]?.message ?? '', /Unexpected "Ada"\. Give values as key=value/);
    assert.match(errors('new shared name="Team')[0]?.message ?? '', /not closed/);
    assert.match(errors('new shared name="Team"x')[0]?.message ?? '', /space after the closing quote/);
    assert.match(errors('cloud-managed a@b.example on extra')[0]?.message ?? '', /Unexpected "extra"/);
  });

  it('reports at most ten problems of a long command, counting the rest', function () {
    const errs = errors(`new mailbox ${Array.from({ length: 25 }, (_, i) => `w${i}`).join(' ')}`);
    assert.equal(errs.length, 11);
    assert.equal(errs[10]?.message, '… and 15 more problems in the command.');
  });
});

describe('command line: formatting', function () {
  it('writes a line that parses back to the same values', function () {
    const values = { displayName: 'Team "Sales" \\ Nord', alias: '', capacity: '12' };
    const line = formatCommand('room-mailbox', values);
    assert.equal(line, 'new room mailbox name="Team \\"Sales\\" \\\\ Nord" capacity=12 alias=""');
    assert.deepEqual(ok(line), { kind: 'room-mailbox', values });
  });
});
