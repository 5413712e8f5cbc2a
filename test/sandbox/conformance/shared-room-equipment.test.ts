/**
 * Conformance: hybrid-behaviour.md § "Shared, room and equipment mailboxes", against the conformance files'
 * shared sandbox (Cloud Sync, mailbox delay 0). AD over LDAPS, outcomes through Graph and Exchange Online.
 */
import assert from 'node:assert/strict';
import { hashtable } from '../../../src/cloud';
import { KINDS } from '../../../src/requests';
import type { Sandbox } from '../../../src/sandbox';
import { ConformanceSuite, getConformanceSandbox, exoError, UAC_DISABLED, type ExoMailbox, type ExoRecipientRow } from '../../harness/conformance';

const TYPES = [
  { type: 'Shared', details: 'SharedMailbox', resourceType: null },
  { type: 'Room', details: 'RoomMailbox', resourceType: 'Room' },
  { type: 'Equipment', details: 'EquipmentMailbox', resourceType: 'Equipment' },
] as const;

describe('conformance: shared, room and equipment mailboxes (hybrid-behaviour.md § Shared, room and equipment mailboxes)', function () {
  let sandbox: Sandbox;
  let s: ConformanceSuite;

  before(async function () {
    this.timeout(15 * 60_000);
    sandbox = await getConformanceSandbox();
    s = await ConformanceSuite.open(sandbox, 'shared-room-equipment');
  });

  after(async function () {
    await s?.close();
  });

  for (const t of TYPES) {
    it(`the recipe for ${t.type}: "1. create the AD user with mail, disabled; 2. wait for sync; 3. assign an EXO plan and wait for the mailbox; 4. Set-Mailbox <id> -Type ${t.type}; 5. remove the EXO plan" → the mailbox stays (${t.details}), the AD account stays disabled`, async function () {
      // 1. AD user with mail, disabled.
      const name = s.name(`Rcp${t.type.slice(0, 3)}`);
      const mail = s.upn(name);
      const dn = await s.addUser(name, { mail, disabled: true });
      assert.deepEqual(await s.readAd(dn, 'userAccountControl'), [String(UAC_DISABLED)]);

      // 2. Sync: the user is in Entra, disabled; no mailbox yet.
      await s.sync();
      const user = await s.mustGraphUser(mail);
      assert.equal(user.accountEnabled, false);
      assert.equal(await s.exoGet('Get-Mailbox', mail), null, 'no mailbox before the licence');

      // 3. EXO plan → mailbox (a disabled account can hold a licence).
      await s.licence(mail);
      const regular = await s.mailbox(mail);
      assert.equal(regular.RecipientTypeDetails, 'UserMailbox');
      assert.equal(regular.PrimarySmtpAddress, mail);

      // 4. Convert (no IsExchangeCloudManaged needed for -Type).
      await s.exoSet('Set-Mailbox', { Identity: mail, Type: t.type });
      const converted = await s.mailbox(mail);
      assert.equal(converted.RecipientTypeDetails, t.details);
      assert.equal(converted.IsExchangeCloudManaged, false);

      // 5. Remove the plan: the mailbox stays, needing no licence.
      await s.unlicence(mail);
      assert.deepEqual((await s.mustGraphUser(mail)).assignedLicenses, [], 'the licence is gone');
      await s.sync(); // a later cycle changes nothing
      const kept = await s.mailbox(mail);
      assert.equal(kept.RecipientTypeDetails, t.details, 'the mailbox stays, with its type');
      assert.equal(kept.PrimarySmtpAddress, mail);
      assert.equal(kept.SKUAssigned, false);
      assert.equal(kept.IsShared, t.type === 'Shared');
      assert.equal(kept.IsResource, t.type !== 'Shared');
      assert.equal(kept.ResourceType, t.resourceType);
      assert.equal(kept.AccountDisabled, true);
      assert.equal((await s.mustGraphUser(mail)).accountEnabled, false, 'Entra account disabled');
      assert.deepEqual(await s.readAd(dn, 'userAccountControl'), [String(UAC_DISABLED)], 'the AD account stays disabled');
    });
  }

  it('"Set-Mailbox -Type Regular|Shared|Room|Equipment converts a mailbox at any time" (Regular → Shared → Regular → Room → Equipment → Regular)', async function () {
    const { mail } = await s.syncedMailbox('TypeConv');
    const steps = [
      ['Shared', 'SharedMailbox'],
      ['Regular', 'UserMailbox'],
      ['Room', 'RoomMailbox'],
      ['Equipment', 'EquipmentMailbox'],
      ['Shared', 'SharedMailbox'],
      ['Regular', 'UserMailbox'],
    ] as const;
    for (const [type, details] of steps) {
      await s.exoSet('Set-Mailbox', { Identity: mail, Type: type });
      const m = await s.mailbox(mail);
      assert.equal(m.RecipientTypeDetails, details, `after -Type ${type}`);
      assert.equal(m.PrimarySmtpAddress, mail, 'addresses are untouched by a conversion');
    }
  });

  it('"Set-Mailbox -Type … Workspace|Desk converts a mailbox at any time": why the sandbox refuses them — Set-Mailbox\'s page lists "Workspace (cloud-only)" and "Desk (cloud-only)" as valid, but no Microsoft page says what such a mailbox reads back as (Get-Mailbox and Get-Recipient document no Workspace/Desk RecipientTypeDetails), so the emulator says so instead of inventing an answer; Mailroom converts only to Regular, Shared, Room and Equipment', async function () {
    const { mail } = await s.syncedMailbox('TypeWs');
    for (const type of ['Workspace', 'Desk']) {
      const err = await exoError(s.exo.invoke('Set-Mailbox', { Identity: mail, Type: type }));
      assert.equal(err.status, 400);
      assert.match(err.detail, new RegExp(`Mailbox type '${type}' is valid in Exchange Online, but Microsoft does not document the recipient type it produces, so the Mailroom sandbox does not simulate it`));
      assert.equal((await s.mailbox(mail)).RecipientTypeDetails, 'UserMailbox', 'nothing changed');
    }
    // The conversions Mailroom offers (the request form's choices): none of them is Workspace or Desk.
    const offered = Object.values(KINDS).flatMap((k) => k.fields).filter((f) => f.label === 'Convert to').flatMap((f) => (f.choices ?? []).map((c) => c.value));
    assert.deepEqual([...offered].sort(), ['Equipment', 'Regular', 'Room', 'Shared']);
  });

  for (const kind of ['Shared', 'Room'] as const) {
    it(`"Alternative: create it cloud-only in EXO (New-Mailbox -${kind}); then it needs no IsExchangeCloudManaged, is invisible in AD"`, async function () {
      const name = s.name(`Cld${kind}`);
      const mail = s.upn(name);
      const { value } = await s.exo.invoke<ExoMailbox>('New-Mailbox', { Name: name, Alias: name, DisplayName: `${kind} ${name}`, PrimarySmtpAddress: mail, [kind]: true });
      s.removeAtClose('mailbox', mail);
      assert.equal(value[0]?.RecipientTypeDetails, `${kind}Mailbox`);

      const m = await s.mailbox(mail);
      assert.equal(m.RecipientTypeDetails, `${kind}Mailbox`);
      assert.equal(m.IsDirSynced, false, 'not dir-synced');
      assert.equal(m.IsExchangeCloudManaged, false);
      const user = await s.mustGraphUser(m.UserPrincipalName);
      assert.equal(user.onPremisesSyncEnabled, null, 'its Entra account is cloud-only');
      assert.equal(user.accountEnabled, false);
      assert.deepEqual(user.assignedLicenses, [], 'no licence');

      // Exchange attributes are writable at once: no IsExchangeCloudManaged needed.
      const extra = `${name}.alt@contoso.example`;
      await s.exoSet('Set-Mailbox', { Identity: mail, EmailAddresses: hashtable({ Add: `smtp:${extra}` }), HiddenFromAddressListsEnabled: true });
      const changed = await s.mailbox(mail);
      assert.ok(changed.EmailAddresses.includes(`smtp:${extra}`), changed.EmailAddresses.join(', '));
      assert.equal(changed.HiddenFromAddressListsEnabled, true);

      // Invisible in AD, and sync (even a full import) leaves it alone.
      assert.deepEqual(await s.findInAd(mail), [], 'no AD object carries its address');
      await s.sync(true);
      assert.equal((await s.mailbox(mail)).RecipientTypeDetails, `${kind}Mailbox`, 'a full sync keeps the cloud-only mailbox');
    });
  }

  it('"… and an AD contact (not synced) can make it findable on-premises"', async function () {
    const name = s.name('CldFind');
    const mail = s.upn(name);
    await s.exo.invoke('New-Mailbox', { Name: name, Alias: name, PrimarySmtpAddress: mail, Shared: true });
    s.removeAtClose('mailbox', mail);
    // Kept out of sync scope with Entra Connect's out-of-box contact scoping (adminDescription starting "Contact_").
    const contactDn = await s.addContact(s.name('CtFind'), { mail, adminDescription: `Contact_${name}` });
    await s.sync();

    assert.deepEqual(await s.findInAd(mail), [contactDn], 'on-premises LDAP finds the address through the contact');
    assert.equal(await s.exoGet('Get-Contact', mail), null, 'the contact is not synced to EXO');
    const r = await s.exoGet<ExoRecipientRow>('Get-Recipient', mail);
    assert.equal(r?.RecipientTypeDetails, 'SharedMailbox', 'in EXO the address is the cloud-only shared mailbox alone');
  });

  it('"A mailbox that comes from AD needs IsExchangeCloudManaged=True before EXO lets you manage its Exchange attributes" (synced shared mailbox)', async function () {
    const { name, mail } = await s.syncedMailbox('ShrIcm', { disabled: true });
    await s.exoSet('Set-Mailbox', { Identity: mail, Type: 'Shared' });
    await s.unlicence(mail);
    const extra = `${name}.alt@contoso.example`;

    for (const parameters of [{ EmailAddresses: hashtable({ Add: `smtp:${extra}` }) }, { HiddenFromAddressListsEnabled: true }, { Alias: `${name}x` }]) {
      const err = await exoError(s.exo.invoke('Set-Mailbox', { Identity: mail, ...parameters }));
      assert.match(err.detail, /synchroni[sz]ed from your on-premises organization|on-premises mastered Directory Sync objects/, `${Object.keys(parameters)[0]}: ${err.message}`);
    }
    const before = await s.mailbox(mail);
    assert.ok(!before.EmailAddresses.includes(`smtp:${extra}`));
    assert.equal(before.HiddenFromAddressListsEnabled, false);
    assert.equal(before.Alias, name);

    await s.exoSet('Set-Mailbox', { Identity: mail, IsExchangeCloudManaged: true });
    await s.exoSet('Set-Mailbox', { Identity: mail, EmailAddresses: hashtable({ Add: `smtp:${extra}` }), HiddenFromAddressListsEnabled: true, Alias: `${name}x` });
    const after = await s.mailbox(mail);
    assert.equal(after.IsExchangeCloudManaged, true);
    assert.ok(after.EmailAddresses.includes(`smtp:${extra}`));
    assert.equal(after.HiddenFromAddressListsEnabled, true);
    assert.equal(after.Alias, `${name}x`);
    assert.equal(after.RecipientTypeDetails, 'SharedMailbox');
  });
});
