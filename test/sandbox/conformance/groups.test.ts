/**
 * Conformance: hybrid-behaviour.md § "Groups", against the conformance files' shared sandbox. AD groups over LDAPS,
 * outcomes through Graph and Exchange Online.
 */
import assert from 'node:assert/strict';
import { ClientSecretCredential } from '@azure/identity';
import { readFileSync } from 'node:fs';
import type { Sandbox } from '../../../src/sandbox';
import { ConformanceSuite, getConformanceSandbox, add, exoError, remove, replace, type ExoGroup, type ExoRecipientRow, type GraphError } from '../../harness/conformance';
import { httpsRequest, type HttpResult } from '../../harness/sandbox';

/** The application permission of Graph's onPremisesSyncBehavior for groups (onpremisessyncbehavior-get, -update). */
const GROUP_SOA_PERMISSION = 'Group-OnPremisesSyncBehavior.ReadWrite.All';

describe('conformance: groups (hybrid-behaviour.md § Groups)', function () {
  let sandbox: Sandbox;
  let s: ConformanceSuite;

  before(async function () {
    this.timeout(15 * 60_000);
    sandbox = await getConformanceSandbox();
    s = await ConformanceSuite.open(sandbox, 'groups');
  });


  after(async function () {
    await s?.close();
  });

  const mailOf = (name: string): string => `${name}@contoso.example`;

  /**
   * Graph as a second app of the tenant, an admin's tool that holds exactly these application permissions (Mailroom's
   * own app does not ask for the SOA permission: Mailroom never converts a group's source of authority).
   */
  function graphAsApp(graphRoles: string[]): (method: string, path: string, body?: unknown) => Promise<HttpResult<GraphError & { id?: string; isCloudManaged?: boolean }>> {
    const app = sandbox.tenant.registerApp({ displayName: `Conformance ${graphRoles.join('+') || 'no permissions'}`, graphRoles });
    const { endpoints } = sandbox;
    const credential = new ClientSecretCredential(endpoints.tenantId, app.clientId, app.secrets[0]!, {
      authorityHost: endpoints.authorityHost,
      disableInstanceDiscovery: true,
      tlsOptions: { ca: readFileSync(endpoints.caFile, 'utf8') },
    });
    return async (method, path, body) => {
      const token = await credential.getToken('https://graph.microsoft.com/.default');
      return httpsRequest(sandbox.cloud.caPem, method, `${endpoints.graphUrl}${path}`, body, { authorization: `Bearer ${token.token}` });
    };
  }

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

  it('a synced group\'s owner is AD\'s managedBy (Entra Connect syncs managedBy for groups: "Attributes synchronized to Microsoft Entra ID", Exchange Online table): Get-DistributionGroup lists it in ManagedBy once it is synced, follows a change in AD at the next sync, and Set-DistributionGroup -ManagedBy is refused on the synced group', async function () {
    const first = await s.syncedMailbox('GoA');
    const second = await s.syncedMailbox('GoB');
    const g = s.name('GrOwn');
    const gDn = await s.addGroup(g, { scope: 'universal', security: false, mail: mailOf(g) });
    await s.modify(gDn, replace('managedBy', [first.dn]));
    await s.sync();
    const owners = async (): Promise<string[]> => (await s.exoGet<ExoGroup & { ManagedBy: string[] }>('Get-DistributionGroup', mailOf(g)))?.ManagedBy ?? [];
    assert.deepEqual(await owners(), [first.name], 'the owner AD names');
    await s.modify(gDn, replace('managedBy', [second.dn]));
    await s.sync();
    assert.deepEqual(await owners(), [second.name], 'a new owner in AD follows at the next sync');
    const refused = await exoError(s.exo.invoke('Set-DistributionGroup', { Identity: mailOf(g), ManagedBy: first.mail, BypassSecurityGroupManagerCheck: true }));
    assert.match(refused.message, /out of the current user's write scope|on-premises/i, refused.message);
    assert.deepEqual(await owners(), [second.name], 'the refused change was not made');
    await s.modify(gDn, remove('managedBy', [second.dn]));
    await s.sync();
    assert.deepEqual(await owners(), [], 'no owner once AD names none');
  });

  it('-Filter "Members -eq \'<DN>\'" ("Filterable properties for the Filter parameter", Members: Get-DistributionGroup, Get-Group and Get-Recipient; the member\'s DN; matches when the multi-valued property contains it) finds the synced and the cloud-only groups a recipient is a direct member of; Get-Mailbox does not filter on Members', async function () {
    const member = await s.syncedMailbox('FmMbr');
    const other = await s.syncedMailbox('FmOth');
    const adGroup = s.name('FmAd');
    await s.addGroup(adGroup, { scope: 'universal', security: true, mail: mailOf(adGroup), members: [member.dn] });
    await s.sync();
    const cloud = s.name('FmCloud');
    await s.exo.invoke('New-DistributionGroup', { Name: cloud, Alias: cloud, PrimarySmtpAddress: mailOf(cloud), Members: [member.mail, other.mail] });
    s.removeAtClose('group', mailOf(cloud));
    const dnOf = async (mail: string): Promise<string> => ((await s.exoGet<ExoRecipientRow & { DistinguishedName: string }>('Get-Recipient', mail))?.DistinguishedName ?? '');
    const groupsOf = async (cmdlet: string, dn: string): Promise<string[]> =>
      (await s.exo.invoke<ExoRecipientRow>(cmdlet, { Filter: `Members -eq '${dn.replace(/'/g, "''")}'` })).value.map((g) => g.PrimarySmtpAddress).sort();
    const memberDn = await dnOf(member.mail);
    assert.match(memberDn, /^CN=/);
    assert.deepEqual(await groupsOf('Get-DistributionGroup', memberDn), [mailOf(adGroup), mailOf(cloud)].sort());
    assert.deepEqual(await groupsOf('Get-Recipient', memberDn), [mailOf(adGroup), mailOf(cloud)].sort());
    assert.deepEqual(await groupsOf('Get-DistributionGroup', await dnOf(other.mail)), [mailOf(cloud)]);
    const refused = await exoError(s.exo.invoke('Get-Mailbox', { Filter: `Members -eq '${memberDn}'` }));
    assert.match(refused.message, /"Members" is not a recognized filterable property/);
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
    s.removeAtClose('group', mailOf(g));
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
    const soa = graphAsApp([GROUP_SOA_PERMISSION]);
    for (const id of [entra.id, entraDl.id]) {
      const converted = await soa('PATCH', `/groups/${id}/onPremisesSyncBehavior`, { isCloudManaged: true });
      assert.equal(converted.status, 204, converted.text);
    }

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

  it('Graph PATCH /groups/{id}/onPremisesSyncBehavior {"isCloudManaged":true} answers 204 No Content and GET …/onPremisesSyncBehavior?$select=isCloudManaged then reads true; false hands the group back ("Update onPremisesSyncBehavior", "Get onPremisesSyncBehavior", learn.microsoft.com/graph/api/onpremisessyncbehavior-update, -get; "Configure Group Source of Authority (SOA)")', async function () {
    const g = s.name('GrSoaG');
    await s.addGroup(g, { scope: 'universal', security: true });
    await s.sync();
    const [entra] = await s.graphGroupsBySam(g);
    assert.ok(entra);
    const soa = graphAsApp([GROUP_SOA_PERMISSION]);
    const read = async (): Promise<boolean | undefined> => {
      const res = await soa('GET', `/groups/${entra.id}/onPremisesSyncBehavior?$select=isCloudManaged`);
      assert.equal(res.status, 200, res.text);
      return res.json.isCloudManaged;
    };
    assert.equal(await read(), false, 'a synced group: its source of authority is AD');
    const patch = await soa('PATCH', `/groups/${entra.id}/onPremisesSyncBehavior`, { isCloudManaged: true });
    assert.equal(patch.status, 204, patch.text);
    assert.equal(patch.text, '', '204 No Content');
    assert.equal(await read(), true);
    const full = await soa('GET', `/groups/${entra.id}/onPremisesSyncBehavior`);
    assert.equal(full.status, 200, full.text);
    assert.equal(full.json.id, entra.id, '"id: The object ID of the parent object"');
    assert.equal(full.json.isCloudManaged, true);
    assert.equal((await s.graph<{ onPremisesSyncEnabled: boolean | null }>('GET', `/groups/${entra.id}`)).json.onPremisesSyncEnabled, null, '"Status of attributes after you convert SOA"');

    const back = await soa('PATCH', `/groups/${entra.id}/onPremisesSyncBehavior`, { isCloudManaged: false });
    assert.equal(back.status, 204, back.text);
    assert.equal(await read(), false, '"if false, … the on-premises Active Directory can take over the object"');
  });

  it('Graph …/onPremisesSyncBehavior takes only Group-OnPremisesSyncBehavior.ReadWrite.All: 403 Authorization_RequestDenied for Mailroom\'s app and for Group.ReadWrite.All + Directory.ReadWrite.All, nothing changed (permissions tables of onpremisessyncbehavior-get and -update: "Higher privileged permissions: Not available")', async function () {
    const g = s.name('GrSoaP');
    await s.addGroup(g, { scope: 'universal', security: true });
    await s.sync();
    const [entra] = await s.graphGroupsBySam(g);
    assert.ok(entra);
    const path = `/groups/${entra.id}/onPremisesSyncBehavior`;
    const denied = (res: HttpResult<GraphError>): void => {
      assert.equal(res.status, 403, res.text);
      assert.equal(res.json.error.code, 'Authorization_RequestDenied');
      assert.equal(res.json.error.message, 'Insufficient privileges to complete the operation.');
    };
    denied(await s.graph<GraphError>('PATCH', path, { isCloudManaged: true }));
    denied(await s.graph<GraphError>('GET', path));
    const broad = graphAsApp(['Group.ReadWrite.All', 'Directory.ReadWrite.All']);
    denied(await broad('PATCH', path, { isCloudManaged: true }));
    denied(await broad('GET', path));
    const soa = graphAsApp([GROUP_SOA_PERMISSION]);
    const after = await soa('GET', path);
    assert.equal(after.status, 200, after.text);
    assert.equal(after.json.isCloudManaged, false, 'the refused PATCH changed nothing');
  });

  it('Graph PATCH …/onPremisesSyncBehavior refuses what it cannot apply, changing nothing: a non-Boolean isCloudManaged, a property the type does not have (OData), an unknown group (404 Request_ResourceNotFound), a cloud-native group (the sandbox\'s wording)', async function () {
    const g = s.name('GrSoaB');
    await s.addGroup(g, { scope: 'universal', security: true });
    await s.sync();
    const [entra] = await s.graphGroupsBySam(g);
    assert.ok(entra);
    const soa = graphAsApp([GROUP_SOA_PERMISSION]);
    const path = `/groups/${entra.id}/onPremisesSyncBehavior`;
    const notBoolean = await soa('PATCH', path, { isCloudManaged: 'yes' });
    assert.equal(notBoolean.status, 400, notBoolean.text);
    assert.match(notBoolean.json.error.message, /expected type 'Edm\.Boolean'/);
    const unknown = await soa('PATCH', path, { isCloudManaged: true, syncEnabled: false });
    assert.equal(unknown.status, 400, unknown.text);
    assert.match(unknown.json.error.message, /The property 'syncEnabled' does not exist on type 'microsoft\.graph\.onPremisesSyncBehavior'/);
    assert.equal((await soa('GET', path)).json.isCloudManaged, false, 'nothing was changed');
    const missing = await soa('PATCH', '/groups/00000000-0000-4000-8000-00000000dead/onPremisesSyncBehavior', { isCloudManaged: true });
    assert.equal(missing.status, 404, missing.text);
    assert.equal(missing.json.error.code, 'Request_ResourceNotFound');
    const cloudGroup = sandbox.tenant.createCloudGroup({ displayName: s.name('GrSoaCloud') });
    const native = await soa('PATCH', `/groups/${cloudGroup.id}/onPremisesSyncBehavior`, { isCloudManaged: true });
    assert.equal(native.status, 400, native.text);
    assert.match(native.json.error.message, /not synchronized from on-premises Active Directory/);
    const nativeRead = await soa('GET', `/groups/${cloudGroup.id}/onPremisesSyncBehavior`);
    assert.equal(nativeRead.json.isCloudManaged, false, 'a cloud-native group: "isCloudManaged is set to false"');
  });
});
