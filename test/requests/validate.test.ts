import assert from 'node:assert/strict';
import type { FieldError } from '../../src/requests/kinds';
import { LookupUnavailableError } from '../../src/requests/lookup';
import type { TenantProfile } from '../../src/requests/tenant-profile';
import { validateRequest, type ValidationResult } from '../../src/requests/validate';
import { plan } from '../../src/plans/planner';
import { CLOUD_DEFAULT, FakeLookup, PROFILE, sampleObjects } from './fixtures';

const lookup = new FakeLookup(sampleObjects());
const ctx = { lookup, profile: PROFILE };

async function valid(kind: string, values: Record<string, unknown>, profile: TenantProfile = PROFILE): Promise<Record<string, unknown>> {
  const r: ValidationResult = await validateRequest(kind, values, { lookup, profile });
  assert.ok(r.ok, `expected valid: ${JSON.stringify(r)}`);
  return r.request as unknown as Record<string, unknown>;
}
async function invalid(kind: string, values: unknown, profile: TenantProfile = PROFILE): Promise<FieldError[]> {
  const r = await validateRequest(kind, values, { lookup, profile });
  assert.ok(!r.ok, `expected errors: ${JSON.stringify(r)}`);
  assert.ok(r.errors.length > 0);
  return r.errors;
}
const messages = (errors: FieldError[]): string => errors.map((e) => `${e.field}: ${e.message}`).join('\n');

describe('validate: user mailbox', function () {
  it('fills alias, logon name, UPN and address from the naming policy', async function () {
    assert.deepEqual(await valid('user-mailbox', { firstName: ' Ada ', lastName: 'Lovelace', department: 'Research' }), {
      kind: 'user-mailbox', firstName: 'Ada', lastName: 'Lovelace', displayName: 'Ada Lovelace', alias: 'ada.lovelace', samAccountName: 'alovelace',
      userPrincipalName: 'ada.lovelace@contoso.example', primarySmtpAddress: 'ada.lovelace@contoso.example', usageLocation: 'DE', department: 'Research',
    });
  });

  it('numbers derived names that are taken, keeping one number for all', async function () {
    const r = await valid('user-mailbox', { firstName: 'Ada', lastName: 'Byron' });
    assert.deepEqual([r.alias, r.samAccountName, r.userPrincipalName, r.primarySmtpAddress], ['ada.byron2', 'abyron2', 'ada.byron2@contoso.example', 'ada.byron2@contoso.example']);
  });

  it("names the AD object '<display name> (<logon name>)' when AD has an object of the display name in the OU (two Maria Garcias)", async function () {
    const taken = new FakeLookup([
      { name: 'Maria Garcia', where: 'ad', sam: 'mgarcia', upn: 'maria.garcia@contoso.example', alias: 'maria.garcia', addresses: ['maria.garcia@contoso.example'], dn: `CN=Maria Garcia,${PROFILE.ous.users}` },
    ]);
    const r = await validateRequest('user-mailbox', { firstName: 'Maria', lastName: 'Garcia' }, { lookup: taken, profile: PROFILE });
    assert.ok(r.ok, JSON.stringify(r));
    const request = r.request as unknown as Record<string, unknown>;
    assert.equal(request.displayName, 'Maria Garcia', 'the display name stays as requested');
    assert.equal(request.samAccountName, 'mgarcia2');
    assert.equal(request.cn, 'Maria Garcia (mgarcia2)');
    const create = plan(r.request, PROFILE).steps.find((s) => s.action === 'ad.createUser');
    assert.equal((create?.input as { dn?: string } | undefined)?.dn, `CN=Maria Garcia (mgarcia2),${PROFILE.ous.users}`);
    assert.match(create?.summary ?? '', /Create the AD user CN=Maria Garcia \(mgarcia2\),OU=Users/);

    // a name is unique within its OU only: the same name in another OU leaves the CN alone
    const elsewhere = new FakeLookup([{ name: 'Maria Garcia', where: 'ad', sam: 'mgarcia', dn: `CN=Maria Garcia,${PROFILE.ous.mailUsers}` }]);
    const other = await validateRequest('user-mailbox', { firstName: 'Maria', lastName: 'Garcia' }, { lookup: elsewhere, profile: PROFILE });
    assert.ok(other.ok);
    assert.equal((other.request as unknown as Record<string, unknown>).cn, undefined);
  });

  it('refuses a display name whose plain and distinguished AD names are both taken in the OU, saying so; nothing is requested', async function () {
    const both = new FakeLookup([
      { name: 'Maria Garcia', where: 'ad', sam: 'mgarcia', dn: `CN=Maria Garcia,${PROFILE.ous.users}` },
      { name: 'Maria Garcia', where: 'ad', dn: `CN=Maria Garcia (mgarcia2),${PROFILE.ous.users}` },
    ]);
    const r = await validateRequest('user-mailbox', { firstName: 'Maria', lastName: 'Garcia' }, { lookup: both, profile: PROFILE });
    assert.ok(!r.ok);
    assert.match(messages(r.errors), /displayName: .*AD already has objects named "Maria Garcia" and "Maria Garcia \(mgarcia2\)" in OU=Users,OU=Mailroom,DC=corp,DC=example\. Give a display name that tells this one apart/);
  });

  it('applies the same to groups and shared mailboxes, each in its own OU', async function () {
    const taken = new FakeLookup([
      { name: 'Sales', where: 'ad', dn: `CN=Sales,${PROFILE.ous.groups}` },
      { name: 'Front Desk', where: 'ad', dn: `CN=Front Desk,${PROFILE.ous.shared}` },
    ]);
    const group = await validateRequest('distribution-group', { displayName: 'Sales' }, { lookup: taken, profile: PROFILE });
    assert.ok(group.ok, JSON.stringify(group));
    assert.equal((group.request as unknown as Record<string, unknown>).cn, 'Sales (sales)');
    const shared = await validateRequest('shared-mailbox', { displayName: 'Front Desk' }, { lookup: taken, profile: PROFILE });
    assert.ok(shared.ok, JSON.stringify(shared));
    const s = shared.request as unknown as Record<string, unknown>;
    assert.equal(s.cn, `Front Desk (${String(s.samAccountName)})`);
  });

  it('transliterates names and cuts the logon name to 20 characters', async function () {
    const r = await valid('user-mailbox', { firstName: 'Jürgen', lastName: 'Müller-Lüdenscheidt-Oberhausen' });
    assert.equal(r.alias, 'juergen.mueller-luedenscheidt-oberhausen');
    assert.equal(r.samAccountName, 'jmueller-luedenschei');
    assert.equal(r.displayName, 'Jürgen Müller-Lüdenscheidt-Oberhausen');
  });

  it('explains a bad alias and suggests one', async function () {
    const [e] = await invalid('user-mailbox', { firstName: 'Ada', lastName: 'Lovelace', alias: 'ada lovelace' });
    assert.equal(e?.field, 'alias');
    assert.match(e?.message ?? '', /^Alias: "ada lovelace" contains a space\. Use letters, digits and \. - _ .*, e\.g\. ada\.lovelace\.$/);
  });

  it('reports a typed name that is taken, naming who has it, instead of changing it', async function () {
    const errs = await invalid('user-mailbox', { firstName: 'Ada', lastName: 'Lovelace', alias: 'ada', samAccountName: 'svc-backup' });
    assert.match(messages(errs), /alias: Alias: "ada" is already used by Ada Byron \(AD\)\. Choose another, or leave it empty/);
    assert.match(messages(errs), /samAccountName: .*"svc-backup" is already used by CN=Service Account,OU=Service,DC=corp,DC=example \(AD\)/);
  });

  it('applies Windows rules to a typed logon name', async function () {
    assert.match(messages(await invalid('user-mailbox', { firstName: 'A', lastName: 'B', samAccountName: 'a'.repeat(21) })), /at most 20/);
    assert.match(messages(await invalid('user-mailbox', { firstName: 'A', lastName: 'B', samAccountName: 'ada[1]' })), /"\[" "\]", which Windows does not allow/);
    assert.match(messages(await invalid('user-mailbox', { firstName: 'A', lastName: 'B', samAccountName: 'ada.' })), /ends with a period/);
  });

  it('checks UPN and address domains against the tenant', async function () {
    const e1 = messages(await invalid('user-mailbox', { firstName: 'A', lastName: 'B', userPrincipalName: 'ab@gmail.com' }));
    assert.match(e1, /ends in @gmail\.com, which is not a domain of this tenant\. Use one of: contoso\.example, contoso-sales\.example, contoso\.onmicrosoft\.com/);
    const e2 = messages(await invalid('user-mailbox', { firstName: 'A', lastName: 'B', emailAddress: 'ab@gmail.com' }));
    assert.match(e2, /gmail\.com, which is not an accepted domain/);
    const e3 = messages(await invalid('user-mailbox', { firstName: 'A', lastName: 'B', emailAddress: 'grace@contoso.example' }));
    assert.match(e3, /already used by Grace Hopper \(AD\)/);
    const r = await valid('user-mailbox', { firstName: 'A', lastName: 'B', emailAddress: 'ab@contoso-sales.example', userPrincipalName: 'a.b@contoso-sales.example' });
    assert.equal(r.primarySmtpAddress, 'ab@contoso-sales.example');
    assert.equal(r.alias, 'a.b');
  });

  it('takes the usage location as a code or a country name, else the tenant default', async function () {
    assert.equal((await valid('user-mailbox', { firstName: 'A', lastName: 'B', usageLocation: 'gb' })).usageLocation, 'GB');
    assert.equal((await valid('user-mailbox', { firstName: 'A', lastName: 'B', usageLocation: 'Switzerland' })).usageLocation, 'CH');
    assert.match(messages(await invalid('user-mailbox', { firstName: 'A', lastName: 'B', usageLocation: 'XX' })), /not one of the choices\. Use a two-letter ISO country code/);
    const noDefault = { ...PROFILE, defaultUsageLocation: '' };
    assert.match(messages(await invalid('user-mailbox', { firstName: 'A', lastName: 'B' }, noDefault)), /usageLocation: Usage location is required/);
  });

  it('requires first and last name', async function () {
    const errs = await invalid('user-mailbox', {});
    assert.deepEqual(errs.map((e) => e.field), ['firstName', 'lastName']);
    assert.equal(errs[0]?.message, 'First name is required, e.g. Ada.');
  });

  it('refuses control, invisible and over-long text', async function () {
    assert.match(messages(await invalid('user-mailbox', { firstName: 'A\u0000', lastName: 'B' })), /firstName: First name: "A\\u0000" contains a control character/);
    assert.match(messages(await invalid('user-mailbox', { firstName: 'A', lastName: 'B', displayName: 'Ada \u202Eecalevol' })), /invisible or text-direction/);
    assert.match(messages(await invalid('user-mailbox', { firstName: 'A', lastName: 'B', displayName: 'x'.repeat(257) })), /257 characters long; at most 256/);
  });

  it('refuses unknown fields, non-text values, unknown kinds and missing values', async function () {
    assert.match(messages(await invalid('user-mailbox', { firstName: 'A', lastName: 'B', manager: 'x' })), /request: Unknown field "manager"/);
    assert.match(messages(await invalid('user-mailbox', { firstName: ['A'], lastName: 'B' })), /must be text, not a list/);
    assert.match(messages(await invalid('printer', {})), /kind: "printer" is not a request kind/);
    assert.match(messages(await invalid('user-mailbox', null)), /request: The request has no field values/);
    assert.match(messages(await invalid('user-mailbox', { __proto__: { x: 1 }, constructor: 'x' })), /Unknown field "constructor"/);
    const many = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`f${i}`, 'x']));
    const errs = await invalid('user-mailbox', { firstName: 'A', lastName: 'B', ...many });
    assert.equal(errs.length, 1);
    assert.match(errs[0]?.message ?? '', /^Unknown fields "f0", "f1", "f2" and 497 more for User mailbox\./);
  });

  it('rejects, saying what could not be checked, when the lookup is down', async function () {
    const down = new FakeLookup(sampleObjects());
    down.failWith = new Error('connect ETIMEDOUT 10.0.0.5:636');
    await assert.rejects(validateRequest('user-mailbox', { firstName: 'A', lastName: 'B' }, { lookup: down, profile: PROFILE }), (e: unknown) => {
      assert.ok(e instanceof LookupUnavailableError);
      assert.match(e.message, /^Mailroom could not check the accepted domains: connect ETIMEDOUT 10\.0\.0\.5:636\. Nothing was requested\./);
      return true;
    });
  });
});

describe('validate: shared, room and equipment mailboxes', function () {
  it('forms the names from the display name; the UPN follows the alias', async function () {
    assert.deepEqual(await valid('shared-mailbox', { displayName: 'Team Marketing', alias: 'marketing' }), {
      kind: 'shared-mailbox', displayName: 'Team Marketing', alias: 'marketing', samAccountName: 'teammarketing', userPrincipalName: 'marketing@contoso.example', primarySmtpAddress: 'marketing@contoso.example',
    });
  });

  it('says when a name has nothing to form names from', async function () {
    const errs = await invalid('shared-mailbox', { displayName: '营销部', alias: 'marketing' });
    assert.deepEqual(errs.map((e) => e.field), ['samAccountName']);
    assert.match(errs[0]?.message ?? '', /could not form a logon name from "营销部": the naming policy needs Latin letters or digits\. Type one\./);
  });

  it('rooms: capacity as a whole number; usage location only when rooms keep their licence', async function () {
    assert.deepEqual(await valid('room-mailbox', { displayName: 'Board Room 2', capacity: '12' }), {
      kind: 'room-mailbox', displayName: 'Board Room 2', alias: 'boardroom2', samAccountName: 'boardroom2', userPrincipalName: 'boardroom2@contoso.example', primarySmtpAddress: 'boardroom2@contoso.example', capacity: 12,
    });
    assert.equal((await valid('room-mailbox', { displayName: 'Board Room 3' }, { ...PROFILE, roomsKeepLicence: true })).usageLocation, 'DE');
    assert.match(messages(await invalid('room-mailbox', { displayName: 'R', capacity: 'twelve' })), /Capacity: "twelve" is not a whole number from 0 to 10000/);
    assert.match(messages(await invalid('room-mailbox', { displayName: 'R', capacity: '-1' })), /not a whole number/);
  });

  it('forms a UPN from a typed alias only with the characters a UPN allows (found by the property tests)', async function () {
    const r = await valid('shared-mailbox', { displayName: 'Team Sales', alias: 'sales/nord', samAccountName: 'salesnord' });
    assert.deepEqual([r.alias, r.userPrincipalName, r.primarySmtpAddress], ['sales/nord', 'salesnord@contoso.example', 'sales/nord@contoso.example']);
    const u = await valid('equipment-mailbox', { displayName: 'Team Sales', alias: '_', samAccountName: 'x1' });
    assert.deepEqual([u.alias, u.userPrincipalName, u.primarySmtpAddress], ['_', '_@contoso.example', '_@contoso.example']);
  });

  it('numbers a taken resource name', async function () {
    const r = await valid('room-mailbox', { displayName: 'Board Room' });
    assert.equal(r.alias, 'boardroom2');
  });
});

describe('validate: mail users, contacts and groups', function () {
  it('mail user: an outside address that is not one of ours', async function () {
    const r = await valid('mail-user', { firstName: 'Ada', lastName: 'Partner', externalAddress: 'ada@partner.example', company: 'Partner Ltd' });
    assert.deepEqual(r, { kind: 'mail-user', firstName: 'Ada', lastName: 'Partner', displayName: 'Ada Partner', alias: 'ada.partner', samAccountName: 'apartner', userPrincipalName: 'ada.partner@contoso.example', externalAddress: 'ada@partner.example', company: 'Partner Ltd' });
    assert.match(messages(await invalid('mail-user', { firstName: 'A', lastName: 'B', externalAddress: 'ab@contoso.example' })), /one of this tenant's own domains; mail to it would loop/);
    assert.match(messages(await invalid('mail-user', { firstName: 'A', lastName: 'B', externalAddress: 'pat@partner.example' })), /already used by Pat Partner/);
  });

  it('contact: outside address and alias', async function () {
    assert.deepEqual(await valid('mail-contact', { displayName: 'Ada Partner', externalAddress: 'ada@partner.example' }), { kind: 'mail-contact', displayName: 'Ada Partner', alias: 'adapartner', externalAddress: 'ada@partner.example' });
    assert.match(messages(await invalid('mail-contact', { displayName: 'V', externalAddress: 'vera@vendor.example' })), /already used by Vera Vendor/);
  });

  it('group: scope, type and AD members resolved to DNs', async function () {
    const r = await valid('distribution-group', { displayName: 'Sales Team', securityEnabled: 'yes', members: 'ada.byron@contoso.example; grace@contoso.example, ada' });
    assert.equal(r.scope, 'universal');
    assert.equal(r.securityEnabled, true);
    assert.equal(r.samAccountName, 'salesteam');
    assert.deepEqual(r.members, [
      { identity: 'ada.byron@contoso.example', name: 'Ada Byron', adDn: 'CN=Ada Byron,OU=Users,OU=Mailroom,DC=corp,DC=example' },
      { identity: 'grace@contoso.example', name: 'Grace Hopper', adDn: 'CN=Grace Hopper,OU=Users,OU=Mailroom,DC=corp,DC=example' },
    ]);
    assert.equal((await valid('distribution-group', { displayName: 'G2', scope: 'Global', securityEnabled: 'no' })).scope, 'global');
  });

  it('group: unknown and cloud-only members are errors', async function () {
    const m = messages(await invalid('distribution-group', { displayName: 'G', members: 'nobody@contoso.example, cloud.only@contoso.example' }));
    assert.match(m, /no recipient found for "nobody@contoso\.example"/);
    assert.match(m, /cloud\.only@contoso\.example \(Cloud Only\) is not in AD \(cloud-only\); a group made in AD can only have AD members/);
    assert.match(messages(await invalid('distribution-group', { displayName: 'G', securityEnabled: 'maybe' })), /Security group: "maybe" is not yes or no/);
  });

  it('are refused in cloud-default mode, saying why and what to do instead', async function () {
    for (const [kind, values, instead] of [
      ['mail-user', { firstName: 'A', lastName: 'B', externalAddress: 'a@b.example' }, /cloud-only mail user.*New-MailUser/],
      ['mail-contact', { displayName: 'A', externalAddress: 'a@b.example' }, /cloud-only mail contact.*New-MailContact/],
      ['distribution-group', { displayName: 'G' }, /cloud-only distribution group.*New-DistributionGroup/],
    ] as const) {
      const [e] = await invalid(kind, values, CLOUD_DEFAULT);
      assert.equal(e?.field, 'request');
      assert.match(e?.message ?? '', /ExchangeAttributesCloudManagedByDefault on/);
      assert.match(e?.message ?? '', /Microsoft does not support/);
      assert.match(e?.message ?? '', instead);
    }
  });
});

describe('validate: changes to existing recipients', function () {
  it('finds the recipient or says it was not found', async function () {
    assert.match(messages(await invalid('offboarding', { identity: 'nobody@contoso.example' })), /no recipient "nobody@contoso\.example" was found/);
    assert.match(messages(await invalid('offboarding', { identity: 'Ada Byron' })), /contains a space.*email address/);
  });

  it('primary address: ours for mailboxes and groups, outside for contacts; promotes a secondary', async function () {
    const r = await valid('primary-address', { identity: 'ada.byron@contoso.example', newAddress: 'ada@contoso.example' });
    assert.equal(r.newAddress, 'ada@contoso.example');
    assert.deepEqual(r.target, {
      identity: 'ada.byron@contoso.example', name: 'Ada Byron', type: 'UserMailbox', primarySmtpAddress: 'ada.byron@contoso.example', isDirSynced: true,
      isExchangeCloudManaged: false, adDn: 'CN=Ada Byron,OU=Users,OU=Mailroom,DC=corp,DC=example', userPrincipalName: 'ada.byron@contoso.example',
    });
    assert.match(messages(await invalid('primary-address', { identity: 'ada.byron@contoso.example', newAddress: 'grace@contoso.example' })), /already used by Grace Hopper/);
    assert.match(messages(await invalid('primary-address', { identity: 'ada.byron@contoso.example', newAddress: 'ada.byron@contoso.example' })), /already the primary address/);
    assert.match(messages(await invalid('primary-address', { identity: 'ada.byron@contoso.example', newAddress: 'ada@gmail.com' })), /not an accepted domain/);
    assert.equal((await valid('primary-address', { identity: 'vera@vendor.example', newAddress: 'vera@new-vendor.example' })).newAddress, 'vera@new-vendor.example');
    assert.match(messages(await invalid('primary-address', { identity: 'vera@vendor.example', newAddress: 'vera@contoso.example' })), /outside address/);
    assert.match(messages(await invalid('primary-address', { identity: 'gary@elsewhere.example', newAddress: 'g@contoso.example' })), /Guest Gary \(guest\) has no email addresses Mailroom manages/);
  });

  it('secondary addresses: add a free one of ours; remove one the recipient has, never the primary', async function () {
    assert.equal((await valid('secondary-address-add', { identity: 'ada.byron@contoso.example', address: 'a.byron@contoso-sales.example' })).address, 'a.byron@contoso-sales.example');
    assert.match(messages(await invalid('secondary-address-add', { identity: 'ada.byron@contoso.example', address: 'ada@contoso.example' })), /Ada Byron already has "ada@contoso\.example"/);
    assert.match(messages(await invalid('secondary-address-add', { identity: 'ada.byron@contoso.example', address: 'grace@contoso.example' })), /already used by Grace Hopper/);
    assert.match(messages(await invalid('secondary-address-add', { identity: 'ada.byron@contoso.example', address: 'a@gmail.com' })), /not an accepted domain/);
    assert.equal((await valid('secondary-address-remove', { identity: 'ada.byron@contoso.example', address: 'ADA@contoso.example' })).address, 'ADA@contoso.example');
    assert.match(messages(await invalid('secondary-address-remove', { identity: 'ada.byron@contoso.example', address: 'ada.byron@contoso.example' })), /is the primary address of Ada Byron; make another address primary first/);
    assert.match(messages(await invalid('secondary-address-remove', { identity: 'ada.byron@contoso.example', address: 'grace@contoso.example' })), /belongs to Grace Hopper \(AD\), not to Ada Byron/);
    assert.match(messages(await invalid('secondary-address-remove', { identity: 'ada.byron@contoso.example', address: 'zz@contoso.example' })), /has no address "zz@contoso\.example"; nothing to remove/);
  });

  it('secondary addresses of synced contacts, groups and mail users are refused in cloud-default mode', async function () {
    const [e] = await invalid('secondary-address-add', { identity: 'allstaff@contoso.example', address: 'everyone@contoso.example' }, CLOUD_DEFAULT);
    assert.equal(e?.field, 'request');
    assert.match(e?.message ?? '', /All Staff is a synced distribution group: its addresses are mastered in AD.*Change it in AD/);
    assert.ok((await validateRequest('secondary-address-add', { identity: 'allstaff@contoso.example', address: 'everyone@contoso.example' }, ctx)).ok);
  });

  it('cloud-managed: only synced mailboxes, only a real change, never off in cloud-default', async function () {
    assert.equal((await valid('cloud-managed', { identity: 'ada.byron@contoso.example', state: 'on' })).enabled, true);
    assert.equal((await valid('cloud-managed', { identity: 'grace@contoso.example', state: 'disable' })).enabled, false);
    assert.match(messages(await invalid('cloud-managed', { identity: 'grace@contoso.example', state: 'on' })), /already cloud-managed/);
    assert.match(messages(await invalid('cloud-managed', { identity: 'vera@vendor.example', state: 'on' })), /no IsExchangeCloudManaged for it/);
    assert.match(messages(await invalid('cloud-managed', { identity: 'cloud.only@contoso.example', state: 'on' })), /cloud-only: its Exchange attributes are always managed in Exchange Online/);
    assert.match(messages(await invalid('cloud-managed', { identity: 'grace@contoso.example', state: 'off' }, CLOUD_DEFAULT)), /would mix the two modes/);
    assert.match(messages(await invalid('cloud-managed', { identity: 'grace@contoso.example', state: 'sometimes' })), /Use on, off/);
  });

  it('mailbox type: a mailbox, to another type', async function () {
    const r = await valid('mailbox-type', { identity: 'sales@contoso.example', type: 'regular' });
    assert.deepEqual([r.type, r.adjustLicence], ['Regular', true]);
    assert.match(messages(await invalid('mailbox-type', { identity: 'sales@contoso.example', type: 'Shared' })), /already a shared mailbox/);
    assert.match(messages(await invalid('mailbox-type', { identity: 'allstaff@contoso.example', type: 'Shared' })), /not a mailbox/);
  });

  it('offboarding: a person\'s mailbox; at least one step; an AD account to disable', async function () {
    const r = await valid('offboarding', { identity: 'ada.byron@contoso.example', hideFromAddressLists: 'false' });
    assert.deepEqual([r.disableAccount, r.revokeSessions, r.convertToShared, r.removeLicence, r.hideFromAddressLists], [true, true, true, true, false]);
    assert.match(messages(await invalid('offboarding', { identity: 'sales@contoso.example' })), /not a person's mailbox/);
    assert.match(messages(await invalid('offboarding', { identity: 'cloud.only@contoso.example' })), /disableAccount: Disable the AD account: Cloud Only is cloud-only: there is no AD account to disable/);
    const off = { disableAccount: 'no', revokeSessions: 'no', convertToShared: 'no', removeLicence: 'no', hideFromAddressLists: 'no', removeFromGroups: 'no', fullAccessFor: 'none' };
    assert.match(messages(await invalid('offboarding', { identity: 'ada.byron@contoso.example', ...off })), /nothing to do/);
    // Grace has no manager and is in no group: the defaults alone leave nothing to do, and the error says why.
    assert.match(messages(await invalid('offboarding', { identity: 'grace.hopper@contoso.example', ...off, removeFromGroups: 'yes', fullAccessFor: 'manager' })), /Grace Hopper is in no mail-enabled group, and has no manager to give full access\); there is nothing to do/);
  });
});
