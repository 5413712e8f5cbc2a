/**
 * The emulator's delegation and mailbox-setting cmdlets and Graph routes against the cloud emulator alone (no AD):
 * mailbox permissions, Send As, send on behalf from AD's publicDelegates, calendar processing, automatic replies,
 * manager and revokeSignInSessions, their RBAC roles, and that the new state survives a restart (tenant.db).
 * The AD-driven versions of these rows are in conformance/mailbox-permissions.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TenantStore } from '../../src/sandbox/cloud/durable';
import { mayRunCmdlet } from '../../src/sandbox/cloud/exo-authz';
import { classifyEntry } from '../../src/sandbox/sync/mapping';
import { adUser, credentialFor, EXCHANGESTANDARD, ExoClient, httpsCall, startTestCloud, type ExoErrorBody, type ExoPage, type TestCloud } from './cloud-fixture';

describe('cloud emulator: mailbox delegation and settings', function () {
  let t: TestCloud;
  let exo: ExoClient;

  function mailboxUser(sam: string, extra: Parameters<typeof adUser>[1] = {}): { entraId: string; immutableId: string } {
    const out = t.tenant.upsertSyncedUser(adUser(sam, { mail: `${sam}@contoso.com`, ...extra }));
    t.tenant.updateUser(out.entraId, { usageLocation: 'DE' });
    t.tenant.assignLicense(out.entraId, [{ skuId: EXCHANGESTANDARD }], []);
    return out;
  }

  async function page(cmdlet: string, parameters: Record<string, unknown>): Promise<ExoPage> {
    const res = await exo.invoke(cmdlet, parameters);
    assert.equal(res.status, 200, res.text);
    return res.json as ExoPage;
  }

  async function refusal(cmdlet: string, parameters: Record<string, unknown>): Promise<string> {
    const res = await exo.invoke(cmdlet, parameters);
    assert.ok(res.status >= 400, `expected a refusal, got ${res.status}: ${res.text}`);
    return (res.json as ExoErrorBody).error.details[0]!.message;
  }

  before(async function () {
    t = await startTestCloud();
    exo = new ExoClient(t.cloud, t.credential);
  });

  after(async function () {
    await t.stop();
  });

  it('Add-MailboxPermission (learn.microsoft.com/powershell/module/exchangepowershell/add-mailboxpermission) keeps AccessRights, Deny, InheritanceType and AutoMapping ($true by default) per trustee; a second right joins the entry; Remove-MailboxPermission -ClearAutoMapping turns auto-mapping off for all; -ResetDefault leaves only SELF', async function () {
    mailboxUser('pmowner');
    mailboxUser('pmdel');
    await page('Add-MailboxPermission', { Identity: 'pmowner@contoso.com', User: 'pmdel@contoso.com', AccessRights: 'FullAccess' });
    await page('Add-MailboxPermission', { Identity: 'pmowner', User: 'CONTOSO\\pmdel', AccessRights: ['ReadPermission'] });
    const owner = () => t.tenant.recipients().find((r) => r.alias === 'pmowner')!;
    assert.deepEqual(owner().mailboxPermissions, [{ trusteeId: t.tenant.user('pmdel@contoso.com')!.id, accessRights: ['FullAccess', 'ReadPermission'], deny: false, inheritanceType: 'All', autoMapping: true }]);
    const rows = (await page('Get-MailboxPermission', { Identity: 'pmowner' })).value;
    assert.deepEqual(rows.map((r) => [r.User, r.AccessRights]), [['NT AUTHORITY\\SELF', ['FullAccess', 'ReadPermission']], ['pmdel@contoso.com', ['FullAccess', 'ReadPermission']]]);
    await page('Remove-MailboxPermission', { Identity: 'pmowner', ClearAutoMapping: true });
    assert.equal(owner().mailboxPermissions?.[0]?.autoMapping, false);
    await page('Remove-MailboxPermission', { Identity: 'pmowner', ResetDefault: true });
    assert.deepEqual((await page('Get-MailboxPermission', { Identity: 'pmowner' })).value.map((r) => r.User), ['NT AUTHORITY\\SELF']);
    assert.match(await refusal('Add-MailboxPermission', { Identity: 'pmowner', User: 'pmdel', AccessRights: 'FullAccess', InheritanceType: 'Everything' }), /InheritanceType/);
  });

  it('GrantSendOnBehalfTo of a synced mailbox AD masters is AD\'s publicDelegates (Entra Connect syncs it); making the mailbox IsExchangeCloudManaged keeps those delegates in Exchange, which then masters them', async function () {
    const delegate = mailboxUser('sobdel');
    const owner = mailboxUser('sobowner', { publicDelegates: [delegate.immutableId] });
    const show = async (): Promise<unknown> => (await page('Get-Mailbox', { Identity: 'sobowner' })).value[0]!.GrantSendOnBehalfTo;
    assert.deepEqual(await show(), ['sobdel']);
    assert.match(await refusal('Set-Mailbox', { Identity: 'sobowner', GrantSendOnBehalfTo: { '@odata.type': '#Exchange.GenericHashTable', Remove: 'sobdel' } }), /write scope/);
    await page('Set-Mailbox', { Identity: 'sobowner', IsExchangeCloudManaged: true });
    assert.deepEqual(await show(), ['sobdel'], 'Exchange keeps what AD last gave it');
    await page('Set-Mailbox', { Identity: 'sobowner', GrantSendOnBehalfTo: { '@odata.type': '#Exchange.GenericHashTable', Remove: 'sobdel' } });
    assert.deepEqual(await show(), []);
    t.tenant.upsertSyncedUser({ ...t.tenant.user(owner.entraId)!.ad!, publicDelegates: [delegate.immutableId], displayName: 'changed' });
    assert.deepEqual(await show(), [], 'AD no longer reaches a cloud-managed mailbox');
  });

  it('Get-/Set-CalendarProcessing and Get-/Set-MailboxAutoReplyConfiguration store what they are given and refuse bad values (enumerations, ranges, times) with nothing changed', async function () {
    const room = t.tenant.createCloudMailbox({ type: 'RoomMailbox', name: 'Room 7' });
    await page('Set-CalendarProcessing', { Identity: room.name, ResourceDelegates: ['pmdel@contoso.com'], AllRequestInPolicy: true, MaximumDurationInMinutes: 90 });
    const cal = (await page('Get-CalendarProcessing', { Identity: room.name })).value[0]!;
    assert.deepEqual([cal.ResourceDelegates, cal.AllRequestInPolicy, cal.MaximumDurationInMinutes, cal.AutomateProcessing], [['pmdel'], true, 90, 'AutoAccept']);
    assert.match(await refusal('Set-CalendarProcessing', { Identity: room.name, AutomateProcessing: 'Sometimes' }), /AutoAccept/);
    assert.match(await refusal('Set-CalendarProcessing', { Identity: room.name, BookInPolicy: ['nobody@nowhere.test'] }), /Couldn't find object/);
    await page('Set-MailboxAutoReplyConfiguration', { Identity: room.name, AutoReplyState: 'Scheduled', StartTime: '2030-01-01T08:00:00Z', EndTime: '2030-01-31T17:00:00Z', InternalMessage: 'Closed in January.' });
    const oof = (await page('Get-MailboxAutoReplyConfiguration', { Identity: room.name })).value[0]!;
    // Set-MailboxAutoReplyConfiguration's page: "HTML tags are automatically added to the text" (<html><body>…</body></html>).
    assert.deepEqual([oof.AutoReplyState, oof.StartTime, oof.EndTime, oof.InternalMessage], ['Scheduled', '2030-01-01T08:00:00.000Z', '2030-01-31T17:00:00.000Z', '<html><body>Closed in January.</body></html>']);
    await page('Set-MailboxAutoReplyConfiguration', { Identity: room.name, ExternalMessage: '<html><body><p>Closed.</p></body></html>' });
    assert.equal((await page('Get-MailboxAutoReplyConfiguration', { Identity: room.name })).value[0]!.ExternalMessage, '<html><body><p>Closed.</p></body></html>', 'HTML is kept as given');
    assert.match(await refusal('Set-MailboxAutoReplyConfiguration', { Identity: room.name, ExternalAudience: 'Everyone' }), /None, Known, All/);
  });

  it('Graph manager of a synced user follows AD\'s manager (resolved once the manager is synced); revokeSignInSessions answers 200 {"value": true} and 403 without User.RevokeSessions.All, User.ReadWrite.All or Directory.ReadWrite.All (learn.microsoft.com/graph/api/user-revokesigninsessions)', async function () {
    const employee = t.tenant.upsertSyncedUser(adUser('mgremp', { manager: '6f9619ff-8b86-d011-b42d-0000000fffff' }));
    const token = async (): Promise<string> => (await t.credential.getToken('https://graph.microsoft.com/.default')).token;
    const get = async (): Promise<{ status: number; id?: string }> => {
      const res = await httpsCall(t.cloud, 'GET', `${t.cloud.graphUrl}/users/${employee.entraId}/manager`, undefined, { authorization: `Bearer ${await token()}` });
      return { status: res.status, id: (res.json as { id?: string } | undefined)?.id };
    };
    assert.equal((await get()).status, 404, 'the manager is not synced yet');
    const boss = t.tenant.upsertSyncedUser(adUser('mgrboss', { objectGuid: '6f9619ff-8b86-d011-b42d-0000000fffff' }));
    assert.deepEqual(await get(), { status: 200, id: boss.entraId });

    const revoke = await httpsCall(t.cloud, 'POST', `${t.cloud.graphUrl}/users/${employee.entraId}/revokeSignInSessions`, undefined, { authorization: `Bearer ${await token()}` });
    assert.deepEqual([revoke.status, (revoke.json as { value: boolean }).value], [200, true]);
    const before = t.tenant.setAppGrants(t.cloud.clientId, { graphRoles: ['User.Read.All'] });
    try {
      const fresh = await credentialFor(t.cloud).getToken('https://graph.microsoft.com/.default');
      const denied = await httpsCall(t.cloud, 'POST', `${t.cloud.graphUrl}/users/${employee.entraId}/revokeSignInSessions`, undefined, { authorization: `Bearer ${fresh.token}` });
      assert.equal(denied.status, 403, denied.text);
    } finally {
      t.tenant.setAppGrants(t.cloud.clientId, before);
    }
  });

  it('RBAC (exo-authz.ts): Mail Recipients runs every new cmdlet; View-Only Recipients reads permissions but changes none', function () {
    const cmdlets = ['Get-MailboxPermission', 'Add-MailboxPermission', 'Remove-MailboxPermission', 'Get-RecipientPermission', 'Add-RecipientPermission', 'Remove-RecipientPermission', 'Get-CalendarProcessing', 'Set-CalendarProcessing', 'Get-MailboxAutoReplyConfiguration', 'Set-MailboxAutoReplyConfiguration'];
    for (const c of cmdlets) assert.ok(mayRunCmdlet([], ['Mail Recipients'], c), c);
    assert.ok(mayRunCmdlet([], ['View-Only Recipients'], 'Get-MailboxPermission'));
    for (const c of ['Add-MailboxPermission', 'Add-RecipientPermission', 'Set-CalendarProcessing', 'Set-MailboxAutoReplyConfiguration']) assert.equal(mayRunCmdlet([], ['View-Only Recipients'], c), false, c);
  });

  it('sync mapping: AD manager and publicDelegates (read with the extended-DN control) become the anchors of the objects they name', function () {
    const guid = (last: string): string => `<GUID=${'00112233445566778899aabbccdd'}${last}>;CN=x,DC=corp,DC=test`;
    const c = classifyEntry({
      dn: 'CN=emp,OU=Staff,DC=corp,DC=test',
      objectClass: ['top', 'person', 'organizationalPerson', 'user'],
      objectCategory: '<GUID=aa>;CN=Person,CN=Schema,CN=Configuration,DC=corp,DC=test',
      objectGUID: Buffer.alloc(16, 7),
      sAMAccountName: 'emp',
      userAccountControl: '512',
      manager: guid('eeff'),
      publicDelegates: [guid('0001'), guid('0002')],
    });
    assert.ok(c.inScope);
    const input = c.input as { manager?: string; publicDelegates?: string[] };
    assert.equal(input.manager, Buffer.from('00112233445566778899aabbccddeeff', 'hex').toString('base64'));
    assert.deepEqual(input.publicDelegates, [Buffer.from('00112233445566778899aabbccdd0001', 'hex').toString('base64'), Buffer.from('00112233445566778899aabbccdd0002', 'hex').toString('base64')].sort());
  });

  it('the new state (permissions, Send As, delegates, forwarding, calendar, automatic replies, manager, sign-in sessions) survives a restart: tenant.db holds it', async function () {
    await page('Add-RecipientPermission', { Identity: 'pmowner', Trustee: 'pmdel', AccessRights: 'SendAs' });
    await page('Set-Mailbox', { Identity: 'pmowner', ForwardingSmtpAddress: 'out@example.org', DeliverToMailboxAndForward: true });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mailroom-delegation-'));
    try {
      const store = TenantStore.open(dir);
      store.attach(t.tenant);
      store.commit();
      store.close();
      const again = TenantStore.open(dir);
      try {
        const loaded = await again.load();
        assert.deepEqual(loaded?.toJSON(), t.tenant.toJSON());
        const rec = loaded.recipients().find((r) => r.alias === 'pmowner')!;
        assert.deepEqual([rec.sendAs?.length, rec.forwardingSmtpAddress, rec.deliverToMailboxAndForward], [1, 'smtp:out@example.org', true]);
      } finally {
        again.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
