/**
 * Conformance: hybrid-behaviour.md § "Groups", against the conformance files' shared sandbox. AD groups over LDAPS,
 * outcomes through Graph and Exchange Online.
 */
import assert from 'node:assert/strict';
import type { Sandbox } from '../../../src/sandbox';
import { ConformanceSuite, getConformanceSandbox, add, exoError, remove, type ExoGroup, type ExoRecipientRow, type GraphError } from '../../harness/conformance';

describe('conformance: groups (hybrid-behaviour.md § Groups)', function () {
  let sandbox: Sandbox;
  let s: ConformanceSuite;

  before(async function () {
    this.timeout(15 * 60_000);
    sandbox = await getConformanceSandbox();
    s = await ConformanceSuite.open(sandbox, 'groups');
  });

  const cloudOnly: string[] = [];

  after(async function () {
    for (const id of cloudOnly) await s.exo.invoke('Remove-DistributionGroup', { Identity: id, BypassSecurityGroupManagerCheck: true }).catch(() => undefined);
    await s?.close();
  });

  const mailOf = (name: string): string => `${name}@contoso.example`;

  describe('the table: scope × type × mail', function () {
    const groups = { gdNoMail: '', udNoMail: '', gd: '', ud: '', gs: '', us: '' };

    before(async function () {
      groups.gdNoMail = s.name('GrGDNoM');
      groups.udNoMail = s.name('GrUDNoM');
      groups.gd = s.name('GrGD');
      groups.ud = s.name('GrUD');
      groups.gs = s.name('GrGS');
      groups.us = s.name('GrUS');
      await s.addGroup(groups.gdNoMail, { scope: 'global', security: false });
      await s.addGroup(groups.udNoMail, { scope: 'universal', security: false });
      await s.addGroup(groups.gd, { scope: 'global', security: false, mail: mailOf(groups.gd) });
      await s.addGroup(groups.ud, { scope: 'universal', security: false, mail: mailOf(groups.ud) });
      await s.addGroup(groups.gs, { scope: 'global', security: true, mail: mailOf(groups.gs) });
      await s.addGroup(groups.us, { scope: 'universal', security: true, mail: mailOf(groups.us) });
      await s.sync();
    });

    it('"global or universal, distribution, AD mail empty → not in EXO"', async function () {
      for (const name of [groups.gdNoMail, groups.udNoMail]) {
        assert.equal(await s.exoGet('Get-Group', name), null, `Get-Group ${name}`);
        assert.equal(await s.exoGet('Get-DistributionGroup', name), null, `Get-DistributionGroup ${name}`);
        assert.equal(await s.exoGet('Get-Recipient', name), null, `Get-Recipient ${name}`);
      }
    });

    const mailRows = [
      { key: 'gd', title: '"global distribution, mail set → Universal"', groupType: 'Universal', details: 'MailUniversalDistributionGroup', security: false },
      { key: 'ud', title: '"universal distribution, mail set → Universal"', groupType: 'Universal', details: 'MailUniversalDistributionGroup', security: false },
      { key: 'gs', title: '"global security, mail set → Universal, SecurityEnabled"', groupType: 'Universal, SecurityEnabled', details: 'MailUniversalSecurityGroup', security: true },
      { key: 'us', title: '"universal security, mail set → Universal, SecurityEnabled"', groupType: 'Universal, SecurityEnabled', details: 'MailUniversalSecurityGroup', security: true },
    ] as const;

    for (const row of mailRows) {
      it(`${row.title} (Get-Group and Get-DistributionGroup)`, async function () {
        const name = groups[row.key];
        const g = await s.exoGet<ExoGroup>('Get-Group', mailOf(name));
        assert.ok(g, 'Get-Group finds it');
        assert.equal(g.GroupType, row.groupType);
        const dg = await s.exoGet<ExoGroup>('Get-DistributionGroup', mailOf(name));
        assert.ok(dg, 'Get-DistributionGroup finds it');
        assert.equal(dg.GroupType, row.groupType);
        assert.equal(dg.RecipientTypeDetails, row.details);
        assert.equal(dg.IsDirSynced, true);
        const [entra] = await s.graphGroupsBySam(name);
        assert.ok(entra, 'in Entra ID');
        assert.equal(entra.mail, mailOf(name));
        assert.equal(entra.securityEnabled, row.security);
      });
    }
  });

  it('"Synced groups are managed in AD (membership too)": members added and removed in AD follow at the next sync; Graph refuses membership changes', async function () {
    // Members are mail users (mail + mailNickname + targetAddress), so EXO lists them as recipients.
    const a = s.name('GmA');
    const b = s.name('GmB');
    const aDn = await s.addUser(a, { mail: `${a}@partner.example`, mailNickname: a, targetAddress: `SMTP:${a}@partner.example` });
    const bDn = await s.addUser(b, { mail: `${b}@partner.example`, mailNickname: b, targetAddress: `SMTP:${b}@partner.example` });
    const g = s.name('GrMem');
    const gDn = await s.addGroup(g, { scope: 'universal', security: false, mail: mailOf(g), members: [aDn] });
    await s.sync();

    const exoMembers = async (): Promise<string[]> => {
      const { value } = await s.exo.invoke<ExoRecipientRow>('Get-DistributionGroupMember', { Identity: mailOf(g) });
      return value.map((m) => m.PrimarySmtpAddress).sort();
    };
    const [entra] = await s.graphGroupsBySam(g);
    assert.ok(entra);
    const graphMembers = async (): Promise<string[]> => {
      const res = await s.graph<{ value: { userPrincipalName: string | null }[] }>('GET', `/groups/${entra.id}/members`);
      assert.equal(res.status, 200, res.text);
      return res.json.value.map((m) => m.userPrincipalName ?? '?').sort();
    };
    assert.deepEqual(await exoMembers(), [`${a}@partner.example`]);
    assert.deepEqual(await graphMembers(), [s.upn(a)]);

    await s.modify(gDn, add('member', [bDn]));
    await s.sync();
    assert.deepEqual(await exoMembers(), [`${a}@partner.example`, `${b}@partner.example`].sort(), 'a member added in AD');
    await s.modify(gDn, remove('member', [aDn]));
    await s.sync();
    assert.deepEqual(await exoMembers(), [`${b}@partner.example`], 'a member removed in AD');
    assert.deepEqual(await graphMembers(), [s.upn(b)]);

    const userA = await s.mustGraphUser(s.upn(a));
    const refused = await s.graph<GraphError>('POST', `/groups/${entra.id}/members/$ref`, { '@odata.id': `${sandbox.endpoints.graphUrl}/directoryObjects/${userA.id}` });
    assert.equal(refused.status, 400, refused.text);
    assert.match(refused.json.error.message, /on-premises mastered Directory Sync objects/);
    assert.deepEqual(await graphMembers(), [s.upn(b)], 'the cloud-side change was not made');
  });

  it('"No IsExchangeCloudManaged for groups": the flag exists only on mailboxes, and Set-Mailbox does not find a group', async function () {
    const g = s.name('GrNoIcm');
    await s.addGroup(g, { scope: 'universal', security: false, mail: mailOf(g) });
    await s.sync();
    assert.ok(await s.exoGet('Get-DistributionGroup', mailOf(g)));
    const err = await exoError(s.exo.invoke('Set-Mailbox', { Identity: mailOf(g), IsExchangeCloudManaged: true }));
    assert.equal(err.notFound, true, err.message);
  });

  it('"the alternatives are cloud-only groups": New-DistributionGroup in EXO makes a group that is not dir-synced, with members managed in EXO (New-/Add-/Remove-DistributionGroupMember pages: an app, never in ManagedBy, passes -BypassSecurityGroupManagerCheck)', async function () {
    const member = s.name('GcMember');
    await s.addUser(member, { mail: `${member}@partner.example`, mailNickname: member, targetAddress: `SMTP:${member}@partner.example` });
    await s.sync();
    const g = s.name('GrCloud');
    await s.exo.invoke('New-DistributionGroup', { Name: g, Alias: g, PrimarySmtpAddress: mailOf(g) });
    cloudOnly.push(mailOf(g));
    const dg = await s.exoGet<ExoGroup>('Get-DistributionGroup', mailOf(g));
    assert.equal(dg?.IsDirSynced, false);
    assert.equal(dg?.GroupType, 'Universal', '"The group\'s scope is always Universal" (New-DistributionGroup -Type)');
    const edoid = (await s.exoGet<ExoRecipientRow>('Get-Recipient', mailOf(g)))!.ExternalDirectoryObjectId;
    const entra = await s.graph<{ onPremisesSyncEnabled: boolean | null; mailEnabled: boolean; mail: string }>('GET', `/groups/${edoid}`);
    assert.equal(entra.status, 200, entra.text);
    assert.deepEqual([entra.json.onPremisesSyncEnabled, entra.json.mailEnabled, entra.json.mail], [null, true, mailOf(g)], 'a cloud-only, mail-enabled group in Entra ID');
    // Not a manager, no switch: "You don't have sufficient permissions. This operation can only be performed by a manager of the group."
    const notManager = await exoError(s.exo.invoke('Add-DistributionGroupMember', { Identity: mailOf(g), Member: `${member}@partner.example` }));
    assert.match(notManager.exceptionType, /OperationRequiresGroupManagerException/);
    await s.exo.invoke('Add-DistributionGroupMember', { Identity: mailOf(g), Member: `${member}@partner.example`, BypassSecurityGroupManagerCheck: true });
    const members = async (): Promise<string[]> => (await s.exo.invoke<ExoRecipientRow>('Get-DistributionGroupMember', { Identity: mailOf(g) })).value.map((m) => m.PrimarySmtpAddress);
    assert.deepEqual(await members(), [`${member}@partner.example`]);
    await s.exo.invoke('Remove-DistributionGroupMember', { Identity: mailOf(g), Member: `${member}@partner.example`, BypassSecurityGroupManagerCheck: true });
    assert.deepEqual(await members(), []);
    // A synced group's membership stays in AD.
    const synced = s.name('GrSyncM');
    await s.addGroup(synced, { scope: 'universal', security: false, mail: mailOf(synced) });
    await s.sync();
    const refused = await exoError(s.exo.invoke('Add-DistributionGroupMember', { Identity: mailOf(synced), Member: `${member}@partner.example`, BypassSecurityGroupManagerCheck: true }));
    assert.match(refused.detail, /because the object is being synchronized from your on-premises organization/);
  });

  it('"… or an object-level SOA transfer of the group to the cloud" ("Configure Group Source of Authority (SOA)", learn.microsoft.com/entra/identity/hybrid/how-to-group-source-of-authority-configure): the converted group keeps its members, AD changes no longer reach it ("Connect Sync respects the conversion"), its membership is managed in the cloud; a mail-enabled one is edited in Exchange Online, not through Graph', async function () {
    const member = s.name('GsMember');
    const memberDn = await s.addUser(member);
    const other = s.name('GsOther');
    await s.addUser(other);
    const g = s.name('GrSoa');
    const gDn = await s.addGroup(g, { scope: 'universal', security: true, members: [memberDn] });
    const dl = s.name('GrSoaDl');
    await s.addGroup(dl, { scope: 'universal', security: false, mail: mailOf(dl) });
    await s.sync();
    const [entra] = await s.graphGroupsBySam(g);
    const [entraDl] = await s.graphGroupsBySam(dl);
    assert.ok(entra && entraDl);
    // Set-up through the tenant: src/sandbox/cloud/graph.ts does not serve PATCH …/onPremisesSyncBehavior yet (next test).
    sandbox.tenant.setGroupSyncBehavior(entra.id, true);
    sandbox.tenant.setGroupSyncBehavior(entraDl.id, true);

    const converted = await s.graph<{ onPremisesSyncEnabled: boolean | null }>('GET', `/groups/${entra.id}`);
    assert.equal(converted.json.onPremisesSyncEnabled, null, '"isCloudManaged true, onPremisesSyncEnabled null" after the conversion');
    const members = async (): Promise<string[]> => (await s.graph<{ value: { userPrincipalName: string | null }[] }>('GET', `/groups/${entra.id}/members`)).json.value.map((m) => m.userPrincipalName ?? '?').sort();
    assert.deepEqual(await members(), [s.upn(member)], 'the members stay');
    await s.modify(gDn, remove('member', [memberDn]));
    await s.sync();
    assert.deepEqual(await members(), [s.upn(member)], 'an AD change no longer reaches the group');
    const user = await s.mustGraphUser(s.upn(other));
    const ref = await s.graph('POST', `/groups/${entra.id}/members/$ref`, { '@odata.id': `${sandbox.endpoints.graphUrl}/directoryObjects/${user.id}` });
    assert.equal(ref.status, 204, ref.text);
    assert.deepEqual(await members(), [s.upn(member), s.upn(other)].sort(), 'membership is managed in the cloud');

    const exoDl = await s.exoGet<ExoGroup>('Get-DistributionGroup', mailOf(dl));
    assert.equal(exoDl?.IsDirSynced, false, 'the mail-enabled group is no longer dir-synced in Exchange Online');
    await s.exo.invoke('Set-DistributionGroup', { Identity: mailOf(dl), HiddenFromAddressListsEnabled: true, BypassSecurityGroupManagerCheck: true });
    assert.equal((await s.exoGet<ExoRecipientRow>('Get-DistributionGroup', mailOf(dl)))?.HiddenFromAddressListsEnabled, true, '"You can continue to edit these groups directly in EXO"');
    const viaGraph = await s.graph<GraphError>('POST', `/groups/${entraDl.id}/members/$ref`, { '@odata.id': `${sandbox.endpoints.graphUrl}/directoryObjects/${user.id}` });
    assert.equal(viaGraph.status, 400, '"These mail objects cannot be managed directly in Microsoft Entra ID or using the MS Graph APIs"');
    assert.equal(viaGraph.json.error.message, 'Cannot Update a mail-enabled security groups and or distribution list.');
  });

  it('Graph PATCH /groups/{id}/onPremisesSyncBehavior {"isCloudManaged":true}: why the conversion above is set up through the tenant — the tenant models it (Tenant.setGroupSyncBehavior), but src/sandbox/cloud/graph.ts, under separate change, does not route the segment yet; when it does, this answer changes and the test must assert 204 and GET isCloudManaged true instead', async function () {
    const g = s.name('GrSoaG');
    await s.addGroup(g, { scope: 'universal', security: true });
    await s.sync();
    const [entra] = await s.graphGroupsBySam(g);
    assert.ok(entra);
    const patch = await s.graph<GraphError>('PATCH', `/groups/${entra.id}/onPremisesSyncBehavior`, { isCloudManaged: true });
    assert.equal(patch.status, 400, patch.text);
    assert.equal(patch.json.error.message, "Resource not found for the segment 'onPremisesSyncBehavior'.");
  });
});
