/**
 * Mailbox permissions (grant/revoke full access, send as, send on behalf) and group members (add/remove): the one-line
 * commands, and validation against the sample directory (which mailbox, which users, which source of authority).
 */
import assert from 'node:assert/strict';
import { formatCommand, parseCommand } from '../../src/requests/command-line';
import type { RecipientRequest } from '../../src/requests/kinds';
import { validateRequest } from '../../src/requests/validate';
import { CLOUD_DEFAULT, FakeLookup, PROFILE, sampleObjects } from './fixtures';

const ctx = { lookup: new FakeLookup(sampleObjects()), profile: PROFILE };
const withSchema = { ...ctx, profile: { ...PROFILE, adHasExchangeSchema: true } };

async function valid(kind: string, values: Record<string, string>, c = ctx): Promise<RecipientRequest> {
  const r = await validateRequest(kind, values, c);
  assert.ok(r.ok, JSON.stringify(r));
  return r.request;
}

async function errors(kind: string, values: Record<string, string>, c = ctx): Promise<string> {
  const r = await validateRequest(kind, values, c);
  assert.ok(!r.ok, `accepted: ${JSON.stringify(r)}`);
  return r.errors.map((e) => `${e.field}: ${e.message}`).join('\n');
}

describe('mailbox permissions and group members: the one-line commands', function () {
  it('reads "grant full access on <mailbox> to <users>" with several users, comma-separated', function () {
    const r = parseCommand('grant full access on sales@contoso.example to ada.byron@contoso.example, grace.hopper@contoso.example');
    assert.deepEqual(r, { ok: true, kind: 'mailbox-permission-grant', values: { permission: 'FullAccess', identity: 'sales@contoso.example', users: 'ada.byron@contoso.example, grace.hopper@contoso.example' } });
  });

  it('reads send as and send on behalf, grant and revoke, with keys as well', function () {
    assert.deepEqual(parseCommand('grant send as on sales@contoso.example to ada'), { ok: true, kind: 'mailbox-permission-grant', values: { permission: 'SendAs', identity: 'sales@contoso.example', users: 'ada' } });
    assert.deepEqual(parseCommand('grant send on behalf on sales@contoso.example to ada automapping=no'), {
      ok: true, kind: 'mailbox-permission-grant', values: { permission: 'SendOnBehalf', identity: 'sales@contoso.example', users: 'ada', autoMapping: 'no' },
    });
    assert.deepEqual(parseCommand('revoke full access on sales@contoso.example from ada grace'), { ok: true, kind: 'mailbox-permission-revoke', values: { permission: 'FullAccess', identity: 'sales@contoso.example', users: 'ada grace' } });
    assert.deepEqual(parseCommand('revoke permission mailbox=sales@contoso.example permission=sendas from=ada'), { ok: true, kind: 'mailbox-permission-revoke', values: { identity: 'sales@contoso.example', permission: 'sendas', users: 'ada' } });
  });

  it('refuses a permission given twice (by the phrase and by a key), naming it', function () {
    const r = parseCommand('grant full access on sales@contoso.example to ada permission=SendAs');
    assert.ok(!r.ok);
    assert.match(r.errors[0]?.message ?? '', /Permission is given twice/);
  });

  it('reads "add member <members> to <group>" and "remove member … from <group>"', function () {
    assert.deepEqual(parseCommand('add member ada.byron@contoso.example, grace.hopper@contoso.example to allstaff@contoso.example'), {
      ok: true, kind: 'group-member-add', values: { members: 'ada.byron@contoso.example, grace.hopper@contoso.example', identity: 'allstaff@contoso.example' },
    });
    assert.deepEqual(parseCommand('remove member ada from allstaff'), { ok: true, kind: 'group-member-remove', values: { members: 'ada', identity: 'allstaff' } });
    // "to" quoted is a member, not the word
    assert.deepEqual(parseCommand('add member ada "to" to allstaff'), { ok: true, kind: 'group-member-add', values: { members: 'ada to', identity: 'allstaff' } });
  });

  it('formats back with the phrase that says the permission', function () {
    const values = { identity: 'sales@contoso.example', permission: 'SendOnBehalf', users: 'ada, grace' };
    const line = formatCommand('mailbox-permission-grant', values);
    assert.equal(line, 'grant send on behalf mailbox=sales@contoso.example users="ada, grace"');
    assert.deepEqual(parseCommand(line), { ok: true, kind: 'mailbox-permission-grant', values });
    assert.equal(formatCommand('mailbox-permission-revoke', { permission: 'nope' }), 'revoke permission permission=nope');
  });
});

describe('mailbox permissions: validation', function () {
  it('grants full access to several users, with auto-mapping on by default (Exchange\'s default)', async function () {
    const r = await valid('mailbox-permission-grant', { identity: 'sales@contoso.example', permission: 'full access', users: 'ada.byron@contoso.example, grace@contoso.example' });
    assert.equal(r.kind, 'mailbox-permission-grant');
    if (r.kind !== 'mailbox-permission-grant') return;
    assert.equal(r.permission, 'FullAccess');
    assert.equal(r.autoMapping, true);
    assert.deepEqual(r.users.map((u) => [u.name, u.adDn !== undefined]), [['Ada Byron', true], ['Grace Hopper', true]]);
    const off = await valid('mailbox-permission-grant', { identity: 'sales@contoso.example', permission: 'FullAccess', users: 'ada', autoMapping: 'no' });
    assert.equal(off.kind === 'mailbox-permission-grant' && off.autoMapping, false);
  });

  it('counts two spellings of one user once, and has no auto-mapping for send as', async function () {
    const r = await valid('mailbox-permission-grant', { identity: 'sales@contoso.example', permission: 'SendAs', users: 'ada; ada.byron@contoso.example ADA' });
    assert.ok(r.kind === 'mailbox-permission-grant');
    assert.equal(r.users.length, 1);
    assert.equal(r.autoMapping, undefined);
  });

  it('says which user was not found, matches several, or uses a wildcard; nothing is requested', async function () {
    assert.match(await errors('mailbox-permission-grant', { identity: 'sales@contoso.example', permission: 'FullAccess', users: 'ada, nobody@contoso.example' }), /users: .*no recipient found in Exchange Online for "nobody@contoso.example"/);
    assert.match(await errors('mailbox-permission-grant', { identity: 'sales@contoso.example', permission: 'FullAccess', users: 'ad*@contoso.example' }), /wildcard/);
    assert.match(await errors('mailbox-permission-grant', { identity: 'sales@contoso.example', permission: 'FullAccess', users: 'not an@address@x' }), /not an email address, UPN or alias/);
    assert.match(await errors('mailbox-permission-grant', { identity: 'sales@contoso.example', permission: 'FullAccess', users: ', ;' }), /users: Users: ", ;" names nobody/);
    assert.match(await errors('group-member-add', { identity: 'allstaff@contoso.example', members: ',' }), /names nobody/);
    const twin = (name: string, address: string) => ({ name, where: 'exo' as const, alias: 'twins', addresses: [address], recipient: { name, type: 'UserMailbox', primarySmtpAddress: address, isDirSynced: false, isExchangeCloudManaged: false } });
    const several = new FakeLookup([...sampleObjects(), twin('Ada Twin', 'ada.twin@contoso.example'), twin('Ada Twain', 'ada.twain@contoso.example')]);
    assert.match(await errors('mailbox-permission-grant', { identity: 'sales@contoso.example', permission: 'FullAccess', users: 'twins' }, { ...ctx, lookup: several }), /matches 2 recipients: "Ada Twain" \(ada\.twain@contoso\.example\), "Ada Twin"/);
  });

  it('refuses a target that is not a mailbox, users that cannot hold permissions, and the mailbox itself', async function () {
    assert.match(await errors('mailbox-permission-grant', { identity: 'allstaff@contoso.example', permission: 'FullAccess', users: 'ada' }), /identity: .*All Staff \(distribution group\) is not a mailbox/);
    assert.match(await errors('mailbox-permission-grant', { identity: 'sales@contoso.example', permission: 'SendAs', users: 'vera@vendor.example, allstaff' }), /Vera Vendor \(mail contact\), All Staff \(distribution group\) cannot hold mailbox permissions/);
    assert.match(await errors('mailbox-permission-revoke', { identity: 'sales@contoso.example', permission: 'SendAs', users: 'sales' }), /is the mailbox Team Sales itself/);
    assert.match(await errors('mailbox-permission-grant', { identity: 'sales@contoso.example', permission: 'read', users: 'ada' }), /Permission: "read" is not one of the choices/);
  });

  it('accepts mail users and mail-enabled security groups as holders', async function () {
    const r = await valid('mailbox-permission-grant', { identity: 'boardroom@contoso.example', permission: 'FullAccess', users: 'pat@partner.example, helpdesk@contoso.example' });
    assert.ok(r.kind === 'mailbox-permission-grant');
    assert.deepEqual(r.users.map((u) => u.type), ['MailUser', 'MailUniversalSecurityGroup']);
  });

  it('send on behalf kept in AD (synced, not cloud-managed, Exchange schema) names AD objects only', async function () {
    assert.match(
      await errors('mailbox-permission-grant', { identity: 'sales@contoso.example', permission: 'SendOnBehalf', users: 'cloud.only@contoso.example' }, withSchema),
      /Cloud Only \(cloud\.only@contoso\.example\) is not in AD \(cloud-only\), but send on behalf of Team Sales is kept in AD \(publicDelegates/,
    );
    // cloud-managed mailbox: written in Exchange Online, any recipient will do
    await valid('mailbox-permission-grant', { identity: 'grace.hopper@contoso.example', permission: 'SendOnBehalf', users: 'cloud.only@contoso.example' }, withSchema);
    // cloud-default tenant: in Exchange Online after making it cloud-managed
    await valid('mailbox-permission-grant', { identity: 'sales@contoso.example', permission: 'SendOnBehalf', users: 'cloud.only@contoso.example' }, { ...ctx, profile: CLOUD_DEFAULT });
  });
});

describe('group members: validation', function () {
  it('adds AD members to a synced group', async function () {
    const r = await valid('group-member-add', { identity: 'allstaff@contoso.example', members: 'ada, grace@contoso.example, vera@vendor.example, helpdesk' });
    assert.ok(r.kind === 'group-member-add');
    assert.deepEqual(r.members.map((m) => m.name), ['Ada Byron', 'Grace Hopper', 'Vera Vendor', 'Helpdesk']);
  });

  it('refuses cloud-only members of a synced group, the group itself, and a target that is no mail-enabled group', async function () {
    assert.match(await errors('group-member-add', { identity: 'allstaff@contoso.example', members: 'cloud.only@contoso.example' }), /Cloud Only \(cloud\.only@contoso\.example\) is not in AD \(cloud-only\); All Staff is synced from AD/);
    assert.match(await errors('group-member-remove', { identity: 'allstaff@contoso.example', members: 'allstaff' }), /is the group All Staff itself/);
    assert.match(await errors('group-member-add', { identity: 'sales@contoso.example', members: 'ada' }), /Team Sales \(shared mailbox\) is not a distribution or mail-enabled security group/);
    assert.match(await errors('group-member-add', { identity: 'allstaff@contoso.example', members: '' }), /Members is required/);
  });

  it('lets a cloud-only group have cloud-only members', async function () {
    const r = await valid('group-member-add', { identity: 'cloudteam@contoso.example', members: 'cloud.only@contoso.example, ada' });
    assert.ok(r.kind === 'group-member-add');
    assert.deepEqual(r.members.map((m) => m.name), ['Cloud Only', 'Ada Byron']);
  });

  it('changes the members of a synced group in a cloud-default tenant too (membership is no Exchange attribute)', async function () {
    await valid('group-member-remove', { identity: 'allstaff@contoso.example', members: 'ada' }, { ...ctx, profile: CLOUD_DEFAULT });
  });
});

describe('new shared mailbox with members: validation', function () {
  it('resolves the members, who then get full access and send as', async function () {
    const r = await valid('shared-mailbox', { displayName: 'Team Support', members: 'ada, grace.hopper@contoso.example, helpdesk' });
    assert.ok(r.kind === 'shared-mailbox');
    assert.deepEqual(r.members?.map((m) => m.name), ['Ada Byron', 'Grace Hopper', 'Helpdesk']);
    const none = await valid('shared-mailbox', { displayName: 'Team Quiet' });
    assert.ok(none.kind === 'shared-mailbox' && none.members === undefined);
  });

  it('refuses members that are not found or cannot hold permissions', async function () {
    assert.match(await errors('shared-mailbox', { displayName: 'Team Support', members: 'nobody@contoso.example' }), /members: .*no recipient found/);
    assert.match(await errors('shared-mailbox', { displayName: 'Team Support', members: 'vera@vendor.example' }), /Vera Vendor \(mail contact\) cannot hold mailbox permissions/);
  });
});
