/**
 * An identity names one recipient exactly: no wildcards (refused by syntax, before any look-up), and an identity
 * that matches several recipients is an error listing them, never a pick of one. Unit tests of validation with
 * the in-memory FakeLookup.
 */
import assert from 'node:assert/strict';
import { parseCommand } from '../../src/requests/command-line';
import type { FieldError } from '../../src/requests/kinds';
import type { FoundRecipient, RecipientMatch } from '../../src/requests/lookup';
import { identityProblem, identityWildcardProblem } from '../../src/requests/syntax';
import { validateRequest } from '../../src/requests/validate';
import { BASE, FakeLookup, PROFILE, sampleObjects, type FakeObject } from './fixtures';

/** The FakeLookup, counting the identities it was asked to find. */
class CountingLookup extends FakeLookup {
  readonly asked: string[] = [];
  override findRecipient(identity: string): Promise<RecipientMatch> {
    this.asked.push(identity);
    return super.findRecipient(identity);
  }
}

const mailbox = (name: string, alias: string, address: string): FakeObject => {
  const recipient: FoundRecipient = {
    name, type: 'SharedMailbox', primarySmtpAddress: address, isDirSynced: true, isExchangeCloudManaged: false, adDn: `CN=${name},OU=Shared,${BASE}`,
  };
  return { name, where: 'ad', alias, addresses: [address], recipient };
};

async function errorsOf(kind: string, values: Record<string, unknown>, lookup: FakeLookup): Promise<FieldError[]> {
  const r = await validateRequest(kind, values, { lookup, profile: PROFILE });
  assert.ok(!r.ok, `expected errors: ${JSON.stringify(r)}`);
  return r.errors;
}

describe('identities: no wildcards', function () {
  it('the syntax check names the wildcard', function () {
    assert.match(identityWildcardProblem('ada*') ?? '', /^contains "\*", which Exchange reads as a wildcard/);
    assert.match(identityWildcardProblem('a?a*@contoso.example') ?? '', /^contains "\*" and "\?"/);
    assert.equal(identityWildcardProblem('ada.byron@contoso.example'), null);
    assert.match(identityProblem('sales*') ?? '', /wildcard/);
    assert.match(identityProblem('s?les@contoso.example') ?? '', /"\?".*wildcard/);
  });

  for (const identity of ['ada*', '*', 'ada.b*@contoso.example', 'gr?ce.hopper@contoso.example', '*@contoso.example']) {
    it(`a change refuses the identity ${identity}, names the field and the character, and looks nothing up`, async function () {
      const lookup = new CountingLookup(sampleObjects());
      const errors = await errorsOf('offboarding', { identity, disableAccount: 'true' }, lookup);
      const e = errors.find((x) => x.field === 'identity');
      assert.ok(e, JSON.stringify(errors));
      const ch = identity.includes('*') ? '*' : '?';
      assert.ok(e.message.startsWith(`Recipient: "${identity}" contains "${ch}"`), e.message);
      assert.match(e.message, /wildcard that can match other recipients\. Use the recipient's email address/);
      assert.deepEqual(lookup.asked, [], 'no look-up');
    });
  }

  it('the one-line command gets the same error for its identity', async function () {
    const parsed = parseCommand('offboard grace*');
    assert.ok(parsed.ok, JSON.stringify(parsed));
    const lookup = new CountingLookup(sampleObjects());
    const errors = await errorsOf(parsed.kind, parsed.values, lookup);
    assert.match(errors.map((x) => x.message).join('\n'), /^Recipient: "grace\*" contains "\*", which Exchange reads as a wildcard/m);
    assert.deepEqual(lookup.asked, []);
  });

  it('group members with wildcards are refused by name, with no look-up of any member', async function () {
    const lookup = new CountingLookup(sampleObjects());
    const errors = await errorsOf('distribution-group', { displayName: 'Wild Group', scope: 'global', members: 'ada.byron@contoso.example, gr*, a?a@contoso.example' }, lookup);
    const e = errors.find((x) => x.field === 'members');
    assert.ok(e, JSON.stringify(errors));
    assert.equal(e.message, 'Initial members: "gr*", "a?a@contoso.example" contain "*" and "?", which Exchange reads as a wildcard that can match other recipients. Give each member\'s exact email address.');
    assert.deepEqual(lookup.asked, []);
  });
});

describe('identities: several matches are an error that lists them', function () {
  const twins = (): FakeObject[] => [
    ...sampleObjects(),
    mailbox('Sales EMEA', 'sales-emea', 'sales-emea@contoso.example'),
    // A second recipient that also answers to "sales": its alias.
    { ...mailbox('Sales [Approve here](https://evil.example/phish)', 'sales', 'sales.team@contoso.example') },
  ];

  it('a change: both recipients by name and primary address, and nothing picked', async function () {
    const errors = await errorsOf('mailbox-type', { identity: 'sales', type: 'Regular' }, new FakeLookup(twins()));
    assert.deepEqual(
      errors.map((e) => [e.field, e.message]),
      [['identity', 'Recipient: "sales" matches 2 recipients: "Sales [Approve here](https://evil.example/phish)" (sales.team@contoso.example), "Team Sales" (sales@contoso.example). Use the exact primary email address of the one you mean.']],
    );
  });

  it('the exact primary address of either one is found', async function () {
    for (const address of ['sales@contoso.example', 'sales.team@contoso.example']) {
      const r = await validateRequest('cloud-managed', { identity: address, state: 'on' }, { lookup: new FakeLookup(twins()), profile: PROFILE });
      if (r.ok) assert.equal((r.request as { target: { primarySmtpAddress: string } }).target.primarySmtpAddress, address);
      else assert.ok(!r.errors.some((e) => /matches/.test(e.message)), JSON.stringify(r.errors));
    }
  });

  it('lists at most ten, sorted by name, then says how many more', async function () {
    const many = Array.from({ length: 13 }, (_, i) => mailbox(`Pool ${String(i).padStart(2, '0')}`, 'pool', `pool${i}@contoso.example`));
    const errors = await errorsOf('offboarding', { identity: 'pool', disableAccount: 'true' }, new FakeLookup([...sampleObjects(), ...many]));
    const message = errors.find((e) => e.field === 'identity')?.message ?? '';
    assert.match(message, /^Recipient: "pool" matches 13 recipients: "Pool 00" \(pool0@contoso\.example\), "Pool 01"/);
    assert.match(message, /"Pool 09" \(pool9@contoso\.example\) and 3 more\. Use the exact primary email address/);
    assert.ok(!message.includes('Pool 10'), message);
  });

  it('a group member that matches several recipients is an error naming them', async function () {
    const errors = await errorsOf('distribution-group', { displayName: 'Twin Group', scope: 'global', members: 'ada.byron@contoso.example, sales' }, new FakeLookup(twins()));
    const e = errors.find((x) => x.field === 'members');
    assert.ok(e, JSON.stringify(errors));
    assert.match(e.message, /"sales" matches 2 recipients: .*\(sales\.team@contoso\.example\), "Team Sales" \(sales@contoso\.example\)\. Give the exact primary email address of the one you mean\./);
  });
});
