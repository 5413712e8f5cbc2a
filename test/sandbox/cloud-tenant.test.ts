import assert from 'node:assert/strict';
import { ManualClock } from '../../src/sandbox/cloud/clock';
import { GraphError } from '../../src/sandbox/cloud/errors';
import { sequentialGuids } from '../../src/sandbox/cloud/ids';
import { SyncConflictError, Tenant } from '../../src/sandbox/cloud/tenant';
import { adUser, EXCHANGESTANDARD } from './cloud-fixture';

function newTenant(delayMs = 0): { tenant: Tenant; clock: ManualClock } {
  const clock = new ManualClock();
  const tenant = new Tenant({ clock, ids: sequentialGuids(), mailboxProvisioningDelayMs: delayMs });
  return { tenant, clock };
}

function licence(tenant: Tenant, upn: string): void {
  tenant.updateUser(upn, { usageLocation: 'DE' });
  tenant.assignLicense(upn, [{ skuId: EXCHANGESTANDARD }], []);
}

describe('cloud tenant state (the API the sync engine drives)', function () {
  it('creates a synced user in Entra and as a plain User in EXO, matched on the immutable id', function () {
    const { tenant } = newTenant();
    const ad = adUser('jdoe', { mail: 'jane.doe@contoso.com', givenName: 'Jane', surname: 'Doe', department: 'Sales' });
    const first = tenant.upsertSyncedUser(ad);
    assert.equal(first.created, true);
    assert.equal(first.exo, 'User');
    const again = tenant.upsertSyncedUser({ ...ad, department: 'Support' });
    assert.equal(again.created, false);
    assert.equal(again.entraId, first.entraId);
    const u = tenant.user('jdoe@contoso.com')!;
    assert.equal(u.department, 'Support');
    assert.equal(u.onPremisesSyncEnabled, true);
    assert.equal(u.onPremisesSamAccountName, 'jdoe');
    assert.equal(u.onPremisesImmutableId, first.immutableId);
    assert.equal(u.onPremisesDomainName, 'contoso.com');
    assert.equal(u.mail, 'jane.doe@contoso.com');
  });

  it('moves a UPN with an unverified suffix to the initial domain, as Entra does', function () {
    const { tenant } = newTenant();
    const out = tenant.upsertSyncedUser(adUser('x1', { userPrincipalName: 'x1@contoso.local' }));
    assert.equal(tenant.user(out.entraId)!.userPrincipalName, 'x1@contoso.onmicrosoft.com');
    assert.match(out.notes.join(' '), /not a verified domain/);
  });

  it('refuses a second object with the same UPN (AttributeValueMustBeUnique)', function () {
    const { tenant } = newTenant();
    tenant.upsertSyncedUser(adUser('dup'));
    assert.throws(() => tenant.upsertSyncedUser({ ...adUser('dup2'), userPrincipalName: 'dup@contoso.com' }), SyncConflictError);
  });

  it('makes a MailUser only from mail + mailNickname + targetAddress', function () {
    const { tenant } = newTenant();
    assert.equal(tenant.upsertSyncedUser(adUser('mu1', { mail: 'ext1@partner.com' })).exo, 'User');
    assert.equal(tenant.upsertSyncedUser(adUser('mu2', { mail: 'ext2@partner.com', mailNickname: 'mu2' })).exo, 'User');
    const mu3 = tenant.upsertSyncedUser(adUser('mu3', { mail: 'ext3@partner.com', mailNickname: 'mu3', targetAddress: 'SMTP:ext3@partner.com' }));
    assert.equal(mu3.exo, 'MailUser');
    const rec = tenant.recipientOf(mu3.entraId)!;
    assert.equal(rec.externalEmailAddress, 'SMTP:ext3@partner.com');
    assert.equal(rec.alias, 'mu3');
    assert.equal(tenant.upsertSyncedUser(adUser('mu4', { mail: 'ext4@partner.com', targetAddress: 'ext4@partner.com' })).exo, 'User');
  });

  it('creates the mailbox from the licence, not from mail, after the provisioning delay', function () {
    const { tenant, clock } = newTenant(60_000);
    const withMail = tenant.upsertSyncedUser(adUser('withmail', { mail: 'With.Mail@contoso.com' }));
    const noMail = tenant.upsertSyncedUser(adUser('nomail'));
    assert.equal(tenant.recipientOf(withMail.entraId)!.recipientTypeDetails, 'User');
    licence(tenant, 'withmail@contoso.com');
    licence(tenant, 'nomail@contoso.com');
    assert.equal(tenant.recipientOf(withMail.entraId)!.recipientTypeDetails, 'User', 'not before the delay');
    assert.equal(tenant.pendingMailboxDueAt('withmail@contoso.com'), clock.now() + 60_000);
    clock.advance(60_000);
    tenant.tick();
    const a = tenant.recipientOf(withMail.entraId)!;
    const b = tenant.recipientOf(noMail.entraId)!;
    assert.equal(a.recipientTypeDetails, 'UserMailbox');
    assert.equal(a.primarySmtpAddress, 'With.Mail@contoso.com');
    // The UPN (withmail@contoso.com) is another address: "When the user has an Exchange license assigned …, the
    // userPrincipalName is always added as a proxy address" ("How the proxyAddresses attribute is populated in Microsoft Entra ID").
    assert.deepEqual(a.emailAddresses, ['SMTP:With.Mail@contoso.com', 'SIP:with.mail@contoso.com', 'smtp:withmail@contoso.onmicrosoft.com', 'smtp:withmail@contoso.com']);
    assert.equal(b.primarySmtpAddress, 'nomail@contoso.com', 'the UPN without AD mail');
    assert.equal(a.isDirSynced, true);
    assert.equal(a.isExchangeCloudManaged, false);
    assert.notEqual(a.exchangeGuid, '00000000-0000-0000-0000-000000000000');
    assert.equal(tenant.user(noMail.entraId)!.mail, 'nomail@contoso.com', 'Entra mail follows the mailbox');
  });

  it('makes a changed AD mail the primary address and keeps the old one, even when cloud-managed', function () {
    const { tenant } = newTenant();
    const ad = adUser('chg', { mail: 'old@contoso.com' });
    const out = tenant.upsertSyncedUser(ad);
    licence(tenant, 'chg@contoso.com');
    tenant.upsertSyncedUser({ ...ad, mail: 'new@contoso.com' });
    const rec = tenant.recipientOf(out.entraId)!;
    assert.deepEqual(rec.emailAddresses, ['SMTP:new@contoso.com', 'SIP:old@contoso.com', 'smtp:chg@contoso.onmicrosoft.com', 'smtp:chg@contoso.com', 'smtp:old@contoso.com']);
    assert.equal(rec.windowsEmailAddress, 'new@contoso.com');
    tenant.updateRecipient(rec.guid, { isExchangeCloudManaged: true });
    const res = tenant.upsertSyncedUser({ ...ad, mail: 'newer@contoso.com', proxyAddresses: ['smtp:ignored@contoso.com'] });
    const after = tenant.recipientOf(out.entraId)!;
    assert.equal(after.primarySmtpAddress, 'newer@contoso.com');
    assert.ok(!after.emailAddresses.includes('smtp:ignored@contoso.com'), 'proxyAddresses from AD are not applied to a cloud-managed mailbox');
    assert.match(res.notes.join(' '), /IsExchangeCloudManaged/);
  });

  describe('addresses as Entra calculates them ("How the proxyAddresses attribute is populated in Microsoft Entra ID") and EXO keeps them', function () {
    it('a mailbox keeps its UPN as smtp: (licensed and shared mailboxes; not mail users) and gains a new UPN when it changes', function () {
      const { tenant } = newTenant();
      const ad = adUser('upn1', { mail: 'first.last@contoso.com' });
      const out = tenant.upsertSyncedUser(ad);
      licence(tenant, 'upn1@contoso.com');
      assert.ok(tenant.recipientOf(out.entraId)!.emailAddresses.includes('smtp:upn1@contoso.com'));
      tenant.updateRecipient(tenant.recipientOf(out.entraId)!.guid, { recipientTypeDetails: 'SharedMailbox' });
      tenant.upsertSyncedUser({ ...ad, userPrincipalName: 'upn1.renamed@contoso.com' });
      const rec = tenant.recipientOf(out.entraId)!;
      assert.equal(rec.recipientTypeDetails, 'SharedMailbox');
      assert.ok(rec.emailAddresses.includes('smtp:upn1.renamed@contoso.com'), rec.emailAddresses.join(', '));
      assert.ok(rec.emailAddresses.includes('smtp:upn1@contoso.com'), 'the old one stays');
      assert.equal(rec.primarySmtpAddress, 'first.last@contoso.com', 'the primary is not the UPN');
      // AD drops the UPN from proxyAddresses: it stays ("Keep the UPN as a secondary SMTP address", scenario 3).
      tenant.upsertSyncedUser({ ...ad, userPrincipalName: 'upn1.renamed@contoso.com', proxyAddresses: ['smtp:upn1.renamed@contoso.com'] });
      tenant.upsertSyncedUser({ ...ad, userPrincipalName: 'upn1.renamed@contoso.com', proxyAddresses: [] });
      assert.ok(tenant.recipientOf(out.entraId)!.emailAddresses.includes('smtp:upn1.renamed@contoso.com'));
      const mu = tenant.upsertSyncedUser(adUser('upnmu', { mail: 'upnmu@partner.com', mailNickname: 'upnmu', targetAddress: 'SMTP:upnmu@partner.com' }));
      assert.deepEqual(tenant.recipientOf(mu.entraId)!.emailAddresses, ['SMTP:upnmu@partner.com'], 'no UPN alias for an unlicensed mail user');
    });

    it('an SMTP: entry of AD proxyAddresses is the primary of a mailbox, a mail user, a contact and a group; mail alone does not move it', function () {
      const { tenant } = newTenant();
      const ad = adUser('pxp', { mail: 'mail@contoso.com', proxyAddresses: ['SMTP:proxy@contoso.com', 'smtp:other@contoso.com'] });
      const out = tenant.upsertSyncedUser(ad);
      licence(tenant, 'pxp@contoso.com');
      let rec = tenant.recipientOf(out.entraId)!;
      assert.equal(rec.primarySmtpAddress, 'proxy@contoso.com');
      assert.equal(tenant.user(out.entraId)!.mail, 'proxy@contoso.com', 'Entra mail is the calculated primary ("Populate the mail attribute by using the primary SMTP address")');
      tenant.upsertSyncedUser({ ...ad, mail: 'mail2@contoso.com' });
      assert.equal(tenant.recipientOf(out.entraId)!.primarySmtpAddress, 'proxy@contoso.com', 'AD still names proxy@ as primary');
      // Mail and proxyAddresses saying the same new primary (what Mailroom writes): it moves, the old stays as AD lists it.
      tenant.upsertSyncedUser({ ...ad, mail: 'new@contoso.com', proxyAddresses: ['SMTP:new@contoso.com', 'smtp:proxy@contoso.com', 'smtp:other@contoso.com'] });
      rec = tenant.recipientOf(out.entraId)!;
      assert.equal(rec.primarySmtpAddress, 'new@contoso.com');
      assert.ok(rec.emailAddresses.includes('smtp:proxy@contoso.com'));
      // AD drops the old primary from proxyAddresses: Exchange drops it too (scenario 3).
      tenant.upsertSyncedUser({ ...ad, mail: 'new@contoso.com', proxyAddresses: ['SMTP:new@contoso.com'] });
      rec = tenant.recipientOf(out.entraId)!;
      assert.ok(!rec.emailAddresses.some((a) => /^smtp:(proxy|other)@/i.test(a)), rec.emailAddresses.join(', '));
      assert.ok(rec.emailAddresses.includes('SIP:proxy@contoso.com'), 'the SIP address stays (field test: SIP: keeps the first primary)');

      const mu = tenant.upsertSyncedUser(adUser('pxmu', { mail: 'ext@partner.com', mailNickname: 'pxmu', targetAddress: 'SMTP:ext@partner.com', proxyAddresses: ['SMTP:pxmu@contoso.com'] }));
      assert.equal(tenant.recipientOf(mu.entraId)!.primarySmtpAddress, 'pxmu@contoso.com');
      assert.equal(tenant.recipientOf(mu.entraId)!.externalEmailAddress, 'SMTP:ext@partner.com');
      const c = tenant.upsertSyncedContact({ objectGuid: 'f0000000-0000-4000-8000-0000000000c1', distinguishedName: 'CN=Px Contact,OU=Contacts,DC=contoso,DC=com', mail: 'pc@partner.com', proxyAddresses: ['SMTP:pc.main@partner.com'] });
      assert.equal(tenant.recipientOf(c.entraId)!.primarySmtpAddress, 'pc.main@partner.com');
      const g = tenant.upsertSyncedGroup({ objectGuid: 'e0000000-0000-4000-8000-0000000000c1', distinguishedName: 'CN=Px Group,OU=Groups,DC=contoso,DC=com', samAccountName: 'pxg', scope: 'universal', securityEnabled: false, mail: 'pxg@contoso.com', proxyAddresses: ['SMTP:pxg.main@contoso.com'] });
      assert.equal(tenant.recipientOf(g.entraId)!.primarySmtpAddress, 'pxg.main@contoso.com');
    });

    it('a cloud-managed mailbox takes its primary from AD mail alone (field test), proxyAddresses no longer reach it', function () {
      const { tenant } = newTenant();
      const ad = adUser('cmp', { mail: 'cmp@contoso.com' });
      const out = tenant.upsertSyncedUser(ad);
      licence(tenant, 'cmp@contoso.com');
      tenant.updateRecipient(tenant.recipientOf(out.entraId)!.guid, { isExchangeCloudManaged: true });
      tenant.upsertSyncedUser({ ...ad, mail: 'cmp.new@contoso.com', proxyAddresses: ['SMTP:cmp.proxy@contoso.com'] });
      assert.equal(tenant.recipientOf(out.entraId)!.primarySmtpAddress, 'cmp.new@contoso.com');
    });
  });

  it('applies AD proxyAddresses to a mailbox that AD still masters, and re-applies AD after cloud management is switched off', function () {
    const { tenant } = newTenant();
    const ad = adUser('px', { mail: 'px@contoso.com' });
    const out = tenant.upsertSyncedUser(ad);
    licence(tenant, 'px@contoso.com');
    tenant.upsertSyncedUser({ ...ad, proxyAddresses: ['smtp:px.alt@contoso.com'] });
    assert.ok(tenant.recipientOf(out.entraId)!.emailAddresses.includes('smtp:px.alt@contoso.com'));
    const guid = tenant.recipientOf(out.entraId)!.guid;
    tenant.updateRecipient(guid, { isExchangeCloudManaged: true });
    tenant.updateRecipient(guid, { emailAddresses: ['SMTP:px@contoso.com', 'smtp:cloud@contoso.com'], hiddenFromAddressListsEnabled: true });
    tenant.updateRecipient(guid, { isExchangeCloudManaged: false });
    tenant.upsertSyncedUser({ ...ad, proxyAddresses: ['smtp:px.alt@contoso.com'] });
    const rec = tenant.recipientOf(out.entraId)!;
    assert.ok(rec.emailAddresses.includes('smtp:px.alt@contoso.com'));
    assert.equal(rec.hiddenFromAddressListsEnabled, false, 'the next sync overwrites cloud values from AD');
  });

  it('blocks Exchange attributes from AD for users first synced under the organisation default', function () {
    const { tenant } = newTenant();
    tenant.exchangeAttributesCloudManagedByDefault = true;
    const out = tenant.upsertSyncedUser(adUser('newdef', { mail: 'nd@contoso.com', mailNickname: 'nd', targetAddress: 'nd@ext.com' }));
    assert.equal(out.exo, 'User');
    licence(tenant, 'newdef@contoso.com');
    const rec = tenant.recipientOf(out.entraId)!;
    assert.equal(rec.recipientTypeDetails, 'UserMailbox');
    assert.equal(rec.isExchangeCloudManaged, true);
    assert.equal(rec.primarySmtpAddress, 'nd@contoso.com', 'mail still sets the primary');
  });

  it('keeps a shared mailbox and a user mailbox when the licence goes (the latter marked)', function () {
    const { tenant } = newTenant();
    const a = tenant.upsertSyncedUser(adUser('shared1', { mail: 'shared1@contoso.com', accountEnabled: false }));
    const b = tenant.upsertSyncedUser(adUser('user1', { mail: 'user1@contoso.com' }));
    licence(tenant, 'shared1@contoso.com');
    licence(tenant, 'user1@contoso.com');
    tenant.updateRecipient(tenant.recipientOf(a.entraId)!.guid, { recipientTypeDetails: 'SharedMailbox' });
    tenant.assignLicense('shared1@contoso.com', [], [EXCHANGESTANDARD]);
    tenant.assignLicense('user1@contoso.com', [], [EXCHANGESTANDARD]);
    assert.equal(tenant.recipientOf(a.entraId)!.recipientTypeDetails, 'SharedMailbox');
    assert.equal(tenant.recipientOf(a.entraId)!.licenceRemovedAt, null);
    assert.equal(tenant.recipientOf(b.entraId)!.recipientTypeDetails, 'UserMailbox');
    assert.ok(tenant.recipientOf(b.entraId)!.licenceRemovedAt);
  });

  it('enforces licence counts on direct assignment and records count violations for group licensing', function () {
    const { tenant } = newTenant();
    tenant.setSkuUnits('EXCHANGESTANDARD', 1);
    tenant.upsertSyncedUser(adUser('l1'));
    tenant.upsertSyncedUser(adUser('l2'));
    licence(tenant, 'l1@contoso.com');
    tenant.updateUser('l2@contoso.com', { usageLocation: 'DE' });
    assert.throws(
      () => tenant.assignLicense('l2@contoso.com', [{ skuId: EXCHANGESTANDARD }], []),
      (e: GraphError) => e.status === 400 && /does not have any available licenses/.test(e.message),
    );
    const l3 = tenant.upsertSyncedUser(adUser('l3'));
    const g = tenant.upsertSyncedGroup({
      objectGuid: '0e0e0e0e-0000-4000-8000-000000000001',
      distinguishedName: 'CN=Licensing,OU=Groups,DC=contoso,DC=com',
      samAccountName: 'Licensing',
      scope: 'global',
      securityEnabled: true,
      members: [l3.immutableId],
    });
    tenant.assignGroupLicense(g.entraId, [{ skuId: EXCHANGESTANDARD }], []);
    const state = tenant.user(l3.entraId)!.licenseAssignmentStates[0]!;
    assert.equal(state.state, 'Error');
    assert.equal(state.error, 'CountViolation');
    tenant.setSkuUnits('EXCHANGESTANDARD', 2);
    assert.equal(tenant.user(l3.entraId)!.licenseAssignmentStates[0]!.state, 'Active');
    assert.equal(tenant.user(l3.entraId)!.usageLocation, 'DE', 'group licensing falls back to the tenant country');
    assert.equal(tenant.recipientOf(l3.entraId)!.recipientTypeDetails, 'UserMailbox');
  });

  it('puts contacts and groups into EXO only with mail, groups as Universal(, SecurityEnabled)', function () {
    const { tenant } = newTenant();
    assert.equal(tenant.upsertSyncedContact({ objectGuid: 'c0000000-0000-4000-8000-000000000001', distinguishedName: 'CN=NoMail,OU=Contacts,DC=contoso,DC=com' }).exo, null);
    const c = tenant.upsertSyncedContact({ objectGuid: 'c0000000-0000-4000-8000-000000000002', distinguishedName: 'CN=Partner,OU=Contacts,DC=contoso,DC=com', mail: 'p@partner.com' });
    assert.equal(c.exo, 'MailContact');
    const base = { distinguishedName: 'CN=G,OU=Groups,DC=contoso,DC=com', samAccountName: 'G' };
    assert.equal(tenant.upsertSyncedGroup({ ...base, objectGuid: 'a0000000-0000-4000-8000-000000000001', scope: 'universal', securityEnabled: false }).exo, null);
    const gd = tenant.upsertSyncedGroup({ ...base, objectGuid: 'a0000000-0000-4000-8000-000000000002', distinguishedName: 'CN=GD,DC=contoso,DC=com', scope: 'global', securityEnabled: false, mail: 'gd@contoso.com' });
    const gs = tenant.upsertSyncedGroup({ ...base, objectGuid: 'a0000000-0000-4000-8000-000000000003', distinguishedName: 'CN=GS,DC=contoso,DC=com', scope: 'global', securityEnabled: true, mail: 'gs@contoso.com' });
    assert.equal(tenant.recipientOf(gd.entraId)!.groupType, 'Universal');
    assert.equal(tenant.recipientOf(gs.entraId)!.groupType, 'Universal, SecurityEnabled');
    assert.equal(tenant.recipientOf(gs.entraId)!.recipientTypeDetails, 'MailUniversalSecurityGroup');
    const removed = tenant.upsertSyncedGroup({ ...base, objectGuid: 'a0000000-0000-4000-8000-000000000003', distinguishedName: 'CN=GS,DC=contoso,DC=com', scope: 'global', securityEnabled: true, mail: null });
    assert.equal(removed.exo, null);
  });

  it('resolves group members that are synced later', function () {
    const { tenant } = newTenant();
    const member = adUser('late');
    const g = tenant.upsertSyncedGroup({ objectGuid: 'b0000000-0000-4000-8000-000000000001', distinguishedName: 'CN=Team,DC=contoso,DC=com', samAccountName: 'Team', scope: 'universal', securityEnabled: true, members: [member.objectGuid!] });
    assert.equal(tenant.groupMembers(g.entraId).length, 0);
    const u = tenant.upsertSyncedUser(member);
    assert.deepEqual(tenant.groupMembers(g.entraId).map((m) => m.obj.id), [u.entraId]);
    assert.deepEqual(tenant.memberOf(u.entraId).map((x) => x.id), [g.entraId]);
  });

  it('removes synced objects with their recipient and licences', function () {
    const { tenant } = newTenant();
    const u = tenant.upsertSyncedUser(adUser('gone', { mail: 'gone@contoso.com' }));
    licence(tenant, 'gone@contoso.com');
    assert.ok(tenant.syncedImmutableIds().includes(u.immutableId));
    assert.equal(tenant.removeSynced(u.immutableId), true);
    assert.equal(tenant.user(u.entraId), undefined);
    assert.equal(tenant.recipientOf(u.entraId), undefined);
    assert.equal(tenant.subscribedSkus().find((s) => s.skuPartNumber === 'EXCHANGESTANDARD')!.consumedUnits, 0);
    assert.equal(tenant.removeSynced(u.immutableId), false);
  });

  it('reports IsExchangeCloudManaged back to the sync engine', function () {
    const { tenant } = newTenant();
    const u = tenant.upsertSyncedUser(adUser('rb', { mail: 'rb@contoso.com' }));
    licence(tenant, 'rb@contoso.com');
    tenant.updateRecipient(tenant.recipientOf(u.entraId)!.guid, { isExchangeCloudManaged: true });
    assert.deepEqual(tenant.syncedObject(u.immutableId), { kind: 'user', entraId: u.entraId, recipientTypeDetails: 'UserMailbox', isExchangeCloudManaged: true });
  });

  it('survives toJSON/fromJSON, including pending mailboxes', function () {
    const { tenant, clock } = newTenant(5_000);
    const u = tenant.upsertSyncedUser(adUser('persist', { mail: 'persist@contoso.com' }));
    licence(tenant, 'persist@contoso.com');
    const state = JSON.parse(JSON.stringify(tenant.toJSON())) as ReturnType<Tenant['toJSON']>;
    const restored = Tenant.fromJSON(state, { clock });
    assert.equal(restored.tenantId, tenant.tenantId);
    assert.equal(restored.recipientOf(u.entraId)!.recipientTypeDetails, 'User');
    clock.advance(5_000);
    restored.tick();
    assert.equal(restored.recipientOf(u.entraId)!.recipientTypeDetails, 'UserMailbox');
    assert.deepEqual(restored.apps(), tenant.apps());
  });
});
