/**
 * Conformance: delegation and mailbox settings of existing recipients in Exchange Online and Entra ID, against the
 * conformance files' shared sandbox (Cloud Sync, mailbox delay 0). AD over LDAPS, outcomes through Graph and
 * Exchange Online (Mailroom's production clients). Each test names the Microsoft page it follows.
 *
 * Source of authority: mailbox permissions, Send As, forwarding, calendar processing and automatic replies are
 * Exchange Online's own (Entra Connect syncs none of them), so Exchange takes them on synced mailboxes too;
 * GrantSendOnBehalfTo (publicDelegates) and HiddenFromAddressListsEnabled are Exchange attributes AD masters until the
 * mailbox is IsExchangeCloudManaged; a synced user's manager is AD's.
 */
import assert from 'node:assert/strict';
import { hashtable } from '../../../src/cloud';
import type { Sandbox } from '../../../src/sandbox';
import { ConformanceSuite, exoError, getConformanceSandbox, replace, type ExoMailbox } from '../../harness/conformance';

interface PermissionRow {
  Identity: string;
  User: string;
  AccessRights: string[];
  IsInherited: boolean;
  Deny: boolean;
}

interface SendAsRow {
  Identity: string;
  Trustee: string;
  AccessControlType: string;
  AccessRights: string[];
  IsInherited: boolean;
}

interface DelegationMailbox extends ExoMailbox {
  GrantSendOnBehalfTo: string[];
  ForwardingAddress: string | null;
  ForwardingSmtpAddress: string | null;
  DeliverToMailboxAndForward: boolean;
}

describe('conformance: mailbox permissions, Send As, send on behalf, forwarding, calendar processing, automatic replies, manager and sign-in sessions', function () {
  let sandbox: Sandbox;
  let s: ConformanceSuite;

  before(async function () {
    this.timeout(15 * 60_000);
    sandbox = await getConformanceSandbox();
    s = await ConformanceSuite.open(sandbox, 'mailbox-delegation');
  });

  after(async function () {
    await s?.close();
  });

  async function cloudMailbox(kind: 'Shared' | 'Room', prefix: string): Promise<string> {
    const name = s.name(prefix);
    const { value } = await s.exo.invoke<{ PrimarySmtpAddress: string }>('New-Mailbox', { Name: name, [kind]: true, PrimarySmtpAddress: s.upn(name) });
    s.removeAtClose('mailbox', name);
    return value[0]!.PrimarySmtpAddress;
  }

  async function fullAccessRows(identity: string): Promise<PermissionRow[]> {
    return (await s.exo.invoke<PermissionRow>('Get-MailboxPermission', { Identity: identity })).value;
  }

  async function sendAsRows(identity: string): Promise<SendAsRow[]> {
    return (await s.exo.invoke<SendAsRow>('Get-RecipientPermission', { Identity: identity })).value;
  }

  const delegationMailbox = async (identity: string): Promise<DelegationMailbox> => (await s.mailbox(identity)) as DelegationMailbox;

  it('Add-/Get-/Remove-MailboxPermission (learn.microsoft.com/powershell/module/exchangepowershell/add-mailboxpermission, get-mailboxpermission, remove-mailboxpermission): FullAccess on a cloud shared mailbox reads back as a row (Identity, User = the UPN, AccessRights, IsInherited, Deny) beside NT AUTHORITY\\SELF; granting it again warns; removing it twice warns "the ACE doesn\'t exist"', async function () {
    this.timeout(5 * 60_000);
    const shared = await cloudMailbox('Shared', 'PermSh');
    const user = await s.syncedMailbox('PermU');

    const added = await s.exo.invoke<PermissionRow>('Add-MailboxPermission', { Identity: shared, User: user.mail, AccessRights: ['FullAccess'], InheritanceType: 'All', AutoMapping: false });
    assert.deepEqual(added.warnings, []);
    assert.equal(added.value[0]?.User, user.mail);

    const rows = await fullAccessRows(shared);
    const self = rows.find((r) => r.User === 'NT AUTHORITY\\SELF');
    assert.deepEqual(self?.AccessRights, ['FullAccess', 'ReadPermission'], 'the owner\'s own entry');
    const granted = rows.filter((r) => r.User === user.mail);
    assert.equal(granted.length, 1);
    assert.deepEqual(granted[0], { ...granted[0], AccessRights: ['FullAccess'], IsInherited: false, Deny: false });
    const ace = sandbox.tenant.recipients().find((r) => r.primarySmtpAddress === shared)?.mailboxPermissions?.[0];
    assert.equal(ace?.autoMapping, false, 'AutoMapping $false is kept with the entry (Exchange shows it in no Get-* output)');

    const again = await s.exo.invoke('Add-MailboxPermission', { Identity: shared, User: user.mail, AccessRights: 'FullAccess' });
    assert.equal(again.warnings.length, 1, 'granting what is already there warns and changes nothing');
    assert.equal((await fullAccessRows(shared)).filter((r) => r.User === user.mail).length, 1);

    const filtered = await s.exo.invoke<PermissionRow>('Get-MailboxPermission', { Identity: shared, User: user.name });
    assert.deepEqual(filtered.value.map((r) => r.User), [user.mail], '-User filters the rows (any identity of the trustee)');

    const removed = await s.exo.invoke('Remove-MailboxPermission', { Identity: shared, User: user.mail, AccessRights: 'FullAccess', InheritanceType: 'All', Confirm: false });
    assert.deepEqual(removed.warnings, []);
    assert.deepEqual((await fullAccessRows(shared)).map((r) => r.User), ['NT AUTHORITY\\SELF']);
    const twice = await s.exo.invoke('Remove-MailboxPermission', { Identity: shared, User: user.mail, AccessRights: 'FullAccess', Confirm: false });
    assert.match(twice.warnings[0] ?? '', /because the ACE doesn't exist on the object/);
  });

  it('mailbox permissions are Exchange Online\'s own (Entra Connect syncs no mailbox ACL): FullAccess on a synced, not cloud-managed mailbox is accepted; a distribution group or mail contact is no security principal (Add-MailboxPermission -User: "Mailbox users, Mail users, Mail-enabled security groups"), an unknown one is not found, a wrong right is refused — nothing changes', async function () {
    this.timeout(5 * 60_000);
    const owner = await s.syncedMailbox('PermOw');
    const delegate = await s.syncedMailbox('PermDl');
    assert.equal((await s.mailbox(owner.mail)).IsExchangeCloudManaged, false);
    await s.exo.invoke('Add-MailboxPermission', { Identity: owner.mail, User: delegate.mail, AccessRights: 'FullAccess' });
    assert.deepEqual((await fullAccessRows(owner.mail)).filter((r) => r.User === delegate.mail).map((r) => r.AccessRights), [['FullAccess']]);

    const dg = s.name('PermDg');
    s.removeAtClose('group', dg);
    await s.exo.invoke('New-DistributionGroup', { Name: dg, PrimarySmtpAddress: s.upn(dg) });
    const notPrincipal = await exoError(s.exo.invoke('Add-MailboxPermission', { Identity: owner.mail, User: dg, AccessRights: 'FullAccess' }));
    assert.match(notPrincipal.message, /not a security principal/);
    const sg = s.name('PermSg');
    s.removeAtClose('group', sg);
    await s.exo.invoke('New-DistributionGroup', { Name: sg, Type: 'Security', PrimarySmtpAddress: s.upn(sg) });
    await s.exo.invoke('Add-MailboxPermission', { Identity: owner.mail, User: sg, AccessRights: 'FullAccess' });
    assert.ok((await fullAccessRows(owner.mail)).some((r) => r.User === sg), 'a mail-enabled security group is a trustee');

    const unknown = await exoError(s.exo.invoke('Add-MailboxPermission', { Identity: owner.mail, User: 'nobody-here@contoso.example', AccessRights: 'FullAccess' }));
    assert.equal(unknown.notFound, true);
    const badRight = await exoError(s.exo.invoke('Add-MailboxPermission', { Identity: owner.mail, User: delegate.mail, AccessRights: 'FullControl' }));
    assert.match(badRight.message, /FullAccess/);
    const sendAs = await exoError(s.exo.invoke('Add-MailboxPermission', { Identity: owner.mail, User: delegate.mail, AccessRights: 'SendAs' }));
    assert.match(sendAs.message, /Add-RecipientPermission/);
    assert.deepEqual((await fullAccessRows(owner.mail)).map((r) => r.User).sort(), ['NT AUTHORITY\\SELF', delegate.mail, sg].sort(), 'nothing else changed');
  });

  it('Add-/Get-/Remove-RecipientPermission (learn.microsoft.com/powershell/module/exchangepowershell/add-recipientpermission: "The only valid value for this parameter is SendAs"): SendAs on a synced mailbox reads back (Trustee, AccessControlType Allow, AccessRights SendAs); again warns; another right is refused; removed twice warns', async function () {
    this.timeout(5 * 60_000);
    const owner = await s.syncedMailbox('SendOw');
    const delegate = await s.syncedMailbox('SendDl');
    const added = await s.exo.invoke<SendAsRow>('Add-RecipientPermission', { Identity: owner.mail, Trustee: delegate.mail, AccessRights: 'SendAs', Confirm: false });
    assert.deepEqual(added.warnings, []);
    const rows = await sendAsRows(owner.mail);
    const row = rows.find((r) => r.Trustee === delegate.mail);
    assert.deepEqual(row && { Trustee: row.Trustee, AccessControlType: row.AccessControlType, AccessRights: row.AccessRights, IsInherited: row.IsInherited }, { Trustee: delegate.mail, AccessControlType: 'Allow', AccessRights: ['SendAs'], IsInherited: false });
    assert.ok(rows.some((r) => r.Trustee === 'NT AUTHORITY\\SELF'), 'the owner sends as itself');
    const byTrustee = await s.exo.invoke<SendAsRow>('Get-RecipientPermission', { Trustee: delegate.mail });
    assert.deepEqual(byTrustee.value.map((r) => r.Identity), [owner.name], '-Trustee alone lists what the trustee may send as');

    assert.equal((await s.exo.invoke('Add-RecipientPermission', { Identity: owner.mail, Trustee: delegate.mail, AccessRights: 'SendAs', Confirm: false })).warnings.length, 1);
    const wrong = await exoError(s.exo.invoke('Add-RecipientPermission', { Identity: owner.mail, Trustee: delegate.mail, AccessRights: 'FullAccess', Confirm: false }));
    assert.match(wrong.message, /only valid value for this parameter is SendAs/);

    await s.exo.invoke('Remove-RecipientPermission', { Identity: owner.mail, Trustee: delegate.mail, AccessRights: 'SendAs', Confirm: false });
    assert.deepEqual((await sendAsRows(owner.mail)).map((r) => r.Trustee), ['NT AUTHORITY\\SELF']);
    const twice = await s.exo.invoke('Remove-RecipientPermission', { Identity: owner.mail, Trustee: delegate.mail, AccessRights: 'SendAs', Confirm: false });
    assert.match(twice.warnings[0] ?? '', /because the ACE doesn't exist on the object/);
  });

  it('GrantSendOnBehalfTo (Set-Mailbox; publicDelegates, which Entra Connect syncs): refused with the write-scope error on a synced mailbox AD masters; once IsExchangeCloudManaged, @{Add=…}/@{Remove=…} and a full list change it and Get-Mailbox lists the delegates; a mail contact cannot be a delegate', async function () {
    this.timeout(5 * 60_000);
    const owner = await s.syncedMailbox('BehOw');
    const a = await s.syncedMailbox('BehA');
    const b = await s.syncedMailbox('BehB');
    const refused = await exoError(s.exo.invoke('Set-Mailbox', { Identity: owner.mail, GrantSendOnBehalfTo: hashtable({ Add: a.mail }) }));
    assert.match(refused.message, /out of the current user's write scope.*'GrantSendOnBehalfTo'/s);
    assert.deepEqual((await delegationMailbox(owner.mail)).GrantSendOnBehalfTo, [], 'nothing changed');

    await s.exoSet('Set-Mailbox', { Identity: owner.mail, IsExchangeCloudManaged: true });
    await s.exoSet('Set-Mailbox', { Identity: owner.mail, GrantSendOnBehalfTo: hashtable({ Add: [a.mail, b.name] }) });
    assert.deepEqual((await delegationMailbox(owner.mail)).GrantSendOnBehalfTo, [a.name, b.name]);
    await s.exoSet('Set-Mailbox', { Identity: owner.mail, GrantSendOnBehalfTo: hashtable({ Remove: a.mail }) });
    assert.deepEqual((await delegationMailbox(owner.mail)).GrantSendOnBehalfTo, [b.name]);
    await s.exoSet('Set-Mailbox', { Identity: owner.mail, GrantSendOnBehalfTo: [a.mail] });
    assert.deepEqual((await delegationMailbox(owner.mail)).GrantSendOnBehalfTo, [a.name], 'a list replaces what is there');

    const contact = s.name('BehCt');
    s.removeAtClose('contact', contact);
    await s.exo.invoke('New-MailContact', { Name: contact, ExternalEmailAddress: `${contact}@example.org` });
    const notSender = await exoError(s.exo.invoke('Set-Mailbox', { Identity: owner.mail, GrantSendOnBehalfTo: hashtable({ Add: contact }) }));
    assert.match(notSender.message, /MailContact/);
    await s.exo.invoke('Remove-MailContact', { Identity: contact }).catch(() => undefined);
    assert.deepEqual((await delegationMailbox(owner.mail)).GrantSendOnBehalfTo, [a.name], 'nothing changed');

    // Handing the mailbox back to AD: AD's publicDelegates (none here) apply again at the next cycle.
    await s.exoSet('Set-Mailbox', { Identity: owner.mail, IsExchangeCloudManaged: false });
    await s.sync();
    assert.deepEqual((await delegationMailbox(owner.mail)).GrantSendOnBehalfTo, []);
  });

  it('forwarding (Set-Mailbox -ForwardingAddress / -ForwardingSmtpAddress / -DeliverToMailboxAndForward; altRecipient is not among the attributes Entra Connect syncs) is taken on a synced, not cloud-managed mailbox; a bad SMTP address is refused; $null clears it — while HiddenFromAddressListsEnabled (msExchHideFromAddressLists) stays AD\'s', async function () {
    this.timeout(5 * 60_000);
    const owner = await s.syncedMailbox('FwdOw');
    const target = await s.syncedMailbox('FwdTg');
    await s.exoSet('Set-Mailbox', { Identity: owner.mail, ForwardingSmtpAddress: 'smtp:someone@example.org', DeliverToMailboxAndForward: true });
    let m = await delegationMailbox(owner.mail);
    assert.deepEqual([m.ForwardingSmtpAddress, m.DeliverToMailboxAndForward, m.IsExchangeCloudManaged], ['smtp:someone@example.org', true, false]);
    await s.exoSet('Set-Mailbox', { Identity: owner.mail, ForwardingAddress: target.mail, ForwardingSmtpAddress: null, DeliverToMailboxAndForward: false });
    m = await delegationMailbox(owner.mail);
    assert.deepEqual([m.ForwardingAddress, m.ForwardingSmtpAddress, m.DeliverToMailboxAndForward], [target.name, null, false]);

    const bad = await exoError(s.exo.invoke('Set-Mailbox', { Identity: owner.mail, ForwardingSmtpAddress: 'not an address' }));
    assert.match(bad.message, /not an SMTP address/);
    await s.exoSet('Set-Mailbox', { Identity: owner.mail, ForwardingAddress: null });
    assert.equal((await delegationMailbox(owner.mail)).ForwardingAddress, null);

    const hidden = await exoError(s.exo.invoke('Set-Mailbox', { Identity: owner.mail, HiddenFromAddressListsEnabled: true }));
    assert.match(hidden.message, /'HiddenFromAddressListsEnabled'/);
    await s.modify(owner.dn, replace('msExchHideFromAddressLists', ['TRUE']));
    await s.sync();
    assert.equal((await s.mailbox(owner.mail)).HiddenFromAddressListsEnabled, true, 'AD hides it');
  });

  it('Get-/Set-CalendarProcessing (learn.microsoft.com/powershell/module/exchangepowershell/set-calendarprocessing): a room starts AutoAccept, 180 days, no conflicts, all may book; the booking policy changes and reads back by name; BookingWindowInDays beyond 1080 and AutomateProcessing on a user mailbox ("you can\'t change the value on a user mailbox") are refused', async function () {
    this.timeout(5 * 60_000);
    const room = await cloudMailbox('Room', 'CalRm');
    const booker = await s.syncedMailbox('CalBk');
    const before = (await s.exo.invoke<Record<string, unknown>>('Get-CalendarProcessing', { Identity: room })).value[0]!;
    assert.deepEqual(
      [before.AutomateProcessing, before.BookingWindowInDays, before.AllowConflicts, before.AllBookInPolicy, before.BookInPolicy, before.MaximumDurationInMinutes],
      ['AutoAccept', 180, false, true, [], 1440],
    );
    await s.exoSet('Set-CalendarProcessing', { Identity: room, AutomateProcessing: 'AutoAccept', BookInPolicy: [booker.mail], AllBookInPolicy: false, BookingWindowInDays: 365, AllowConflicts: true });
    const after = (await s.exo.invoke<Record<string, unknown>>('Get-CalendarProcessing', { Identity: room })).value[0]!;
    assert.deepEqual([after.BookInPolicy, after.AllBookInPolicy, after.BookingWindowInDays, after.AllowConflicts], [[booker.name], false, 365, true]);

    const tooFar = await exoError(s.exo.invoke('Set-CalendarProcessing', { Identity: room, BookingWindowInDays: 2000 }));
    assert.match(tooFar.message, /outside the valid range 0 to 1080/);
    const userMailbox = await exoError(s.exo.invoke('Set-CalendarProcessing', { Identity: booker.mail, AutomateProcessing: 'AutoAccept' }));
    assert.match(userMailbox.message, /only be changed on a room or equipment mailbox/);
    assert.equal((await s.exo.invoke<Record<string, unknown>>('Get-CalendarProcessing', { Identity: booker.mail })).value[0]!.AutomateProcessing, 'AutoUpdate');
    assert.equal((await s.exo.invoke<Record<string, unknown>>('Get-CalendarProcessing', { Identity: room })).value[0]!.BookingWindowInDays, 365, 'nothing changed');
  });

  it('Get-/Set-MailboxAutoReplyConfiguration (learn.microsoft.com/powershell/module/exchangepowershell/set-mailboxautoreplyconfiguration): a synced, not cloud-managed mailbox takes an automatic reply (a mailbox setting, not an AD attribute); a schedule whose end is before its start is refused', async function () {
    this.timeout(5 * 60_000);
    const user = await s.syncedMailbox('OofU');
    const initial = (await s.exo.invoke<Record<string, unknown>>('Get-MailboxAutoReplyConfiguration', { Identity: user.mail })).value[0]!;
    assert.deepEqual([initial.AutoReplyState, initial.ExternalAudience], ['Disabled', 'All']);
    await s.exoSet('Set-MailboxAutoReplyConfiguration', { Identity: user.mail, AutoReplyState: 'Enabled', InternalMessage: 'I have left.', ExternalMessage: 'I have left the company.', ExternalAudience: 'Known' });
    const set = (await s.exo.invoke<Record<string, unknown>>('Get-MailboxAutoReplyConfiguration', { Identity: user.mail })).value[0]!;
    // "HTML tags are automatically added to the text" (the page's InternalMessage and ExternalMessage)
    assert.deepEqual([set.AutoReplyState, set.InternalMessage, set.ExternalMessage, set.ExternalAudience], ['Enabled', '<html><body>I have left.</body></html>', '<html><body>I have left the company.</body></html>', 'Known']);

    const backwards = await exoError(
      s.exo.invoke('Set-MailboxAutoReplyConfiguration', { Identity: user.mail, AutoReplyState: 'Scheduled', StartTime: '2030-02-01T00:00:00Z', EndTime: '2030-01-01T00:00:00Z' }),
    );
    assert.match(backwards.message, /must be later than its StartTime/);
    assert.equal((await s.exo.invoke<Record<string, unknown>>('Get-MailboxAutoReplyConfiguration', { Identity: user.mail })).value[0]!.AutoReplyState, 'Enabled', 'nothing changed');
  });

  it('Graph POST /users/{id}/revokeSignInSessions (learn.microsoft.com/graph/api/user-revokesigninsessions: 200, {"value": true}; resets signInSessionsValidFromDateTime) works for a synced user (no AD attribute is involved)', async function () {
    this.timeout(5 * 60_000);
    const user = await s.syncedMailbox('RevU');
    const id = (await s.mustGraphUser(user.mail)).id;
    const validFrom = async (): Promise<number> => {
      const read = await s.graph<{ signInSessionsValidFromDateTime: string }>('GET', `/users/${id}?$select=signInSessionsValidFromDateTime`);
      assert.equal(read.status, 200, read.text);
      return Date.parse(read.json.signInSessionsValidFromDateTime);
    };
    const before = await validFrom();
    await new Promise((resolve) => setTimeout(resolve, 5));
    const res = await s.graph<{ value: boolean }>('POST', `/users/${id}/revokeSignInSessions`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.value, true);
    assert.ok((await validFrom()) > before, 'signInSessionsValidFromDateTime moved to the time of the call');
  });

  it('Graph GET /users/{id}/manager (learn.microsoft.com/graph/api/user-list-manager): a synced user\'s manager comes from AD\'s manager attribute (Entra Connect syncs it) and PUT /manager/$ref on it is refused as AD-mastered; a cloud user\'s manager is set with PUT $ref (204), read back, removed with DELETE $ref, then 404', async function () {
    this.timeout(5 * 60_000);
    const boss = await s.syncedMailbox('MgrBs');
    const name = s.name('MgrEm');
    const dn = await s.addUser(name, { mail: s.upn(name) });
    await s.modify(dn, replace('manager', [boss.dn]));
    await s.sync();
    const employee = await s.mustGraphUser(s.upn(name));
    const bossId = (await s.mustGraphUser(boss.mail)).id;
    const got = await s.graph<{ id: string; '@odata.type': string; userPrincipalName: string }>('GET', `/users/${employee.id}/manager`);
    assert.equal(got.status, 200, got.text);
    assert.deepEqual([got.json.id, got.json['@odata.type'], got.json.userPrincipalName], [bossId, '#microsoft.graph.user', boss.mail]);
    const refused = await s.graph<{ error: { message: string } }>('PUT', `/users/${employee.id}/manager/$ref`, { '@odata.id': `${sandbox.endpoints.graphUrl}/users/${bossId}` });
    assert.equal(refused.status, 400);
    assert.match(refused.json.error.message, /on-premises mastered Directory Sync objects/);

    const cloudUser = sandbox.tenant.createCloudUser({ userPrincipalName: `${s.name('MgrCl')}@${s.tenantDomain}`, displayName: 'Cloud employee' });
    try {
      assert.equal((await s.graph('GET', `/users/${cloudUser.id}/manager`)).status, 404, 'no manager yet');
      const put = await s.graph('PUT', `/users/${cloudUser.id}/manager/$ref`, { '@odata.id': `${sandbox.endpoints.graphUrl}/users/${bossId}` });
      assert.equal(put.status, 204, put.text);
      assert.equal((await s.graph<{ id: string }>('GET', `/users/${cloudUser.id}/manager`)).json.id, bossId);
      assert.equal((await s.graph('DELETE', `/users/${cloudUser.id}/manager/$ref`)).status, 204);
      assert.equal((await s.graph('GET', `/users/${cloudUser.id}/manager`)).status, 404);
    } finally {
      const rec = sandbox.tenant.recipientOf(cloudUser.id);
      if (rec) sandbox.tenant.removeCloudRecipient(rec.guid);
    }
  });

  it('Add-/Remove-DistributionGroupMember (learn.microsoft.com/powershell/module/exchangepowershell/add-distributiongroupmember) change a cloud group\'s members, read back with Get-DistributionGroupMember; a synced group\'s members are AD\'s (write-scope error)', async function () {
    this.timeout(5 * 60_000);
    const member = await s.syncedMailbox('DgMbr');
    const dg = s.name('DgCl');
    s.removeAtClose('group', dg);
    await s.exo.invoke('New-DistributionGroup', { Name: dg, PrimarySmtpAddress: s.upn(dg) });
    await s.exo.invoke('Add-DistributionGroupMember', { Identity: dg, Member: member.mail, BypassSecurityGroupManagerCheck: true });
    const members = async (): Promise<string[]> => (await s.exo.invoke<{ Name: string }>('Get-DistributionGroupMember', { Identity: dg })).value.map((m) => m.Name);
    assert.deepEqual(await members(), [member.name]);
    await s.exo.invoke('Remove-DistributionGroupMember', { Identity: dg, Member: member.mail, BypassSecurityGroupManagerCheck: true, Confirm: false });
    assert.deepEqual(await members(), []);

    const synced = s.name('DgSy');
    await s.addGroup(synced, { scope: 'universal', security: false, mail: s.upn(synced) });
    await s.sync();
    const refused = await exoError(s.exo.invoke('Add-DistributionGroupMember', { Identity: s.upn(synced), Member: member.mail, BypassSecurityGroupManagerCheck: true }));
    assert.match(refused.message, /synchronized from your on-premises organization/);
  });
});
