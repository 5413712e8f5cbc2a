/**
 * Mailbox permissions and group members carried out end to end against the sandbox: Rita files each by one-line
 * command, Arnold approves it on the card's data, the durable workflow runs it to `done`, and the outcome is read
 * back from Exchange Online (Get-MailboxPermission, Get-RecipientPermission, Get-Mailbox GrantSendOnBehalfTo,
 * Get-DistributionGroupMember) and from AD (member). A new shared mailbox with members=… gives them full access and
 * send as as part of its creation.
 */
import assert from 'node:assert/strict';
import type { DirectoryClient } from '../../src/directory';
import { KINDS, type KindId } from '../../src/requests';
import { SANDBOX_MAIL_DOMAIN } from '../../src/sandbox/people';
import { ConformanceSuite, type ExoRecipientRow, suitePeople } from '../harness/conformance';
import { TestMailroom } from '../harness/mailroom';
import { storedRequest } from '../harness/requests';
import { getSharedSandbox } from '../harness/sandbox';

const suffix = Date.now().toString(36).slice(-5);
const D = SANDBOX_MAIL_DOMAIN;

const person = suitePeople(suffix);
/** The mailbox people get permissions on. */
const BOX = person('pbox');
/** The mailbox send on behalf is given on (it becomes cloud-managed on the way). */
const SOB = person('psob');
const ADA = person('pada');
const BEN = person('pben');
const GROUP = `pgrp${suffix}`;
const CLOUD_GROUP = `pcld${suffix}`;

/** The CN of a member DN, lower case. */
const cnOf = (dn: string): string => (/^CN=([^,]+),/i.exec(dn)?.[1] ?? dn).toLowerCase();

interface PermissionRow {
  User?: string;
  Trustee?: string;
  AccessRights?: string[];
}

describe('mailbox permissions and group members: request, approve, done, and the outcome read back from Exchange Online and AD', function () {
  this.timeout(60_000);
  let m: TestMailroom;
  let suite: ConformanceSuite | undefined;
  let directory: DirectoryClient;
  let groupDn = '';

  before(async function () {
    const sandbox = await getSharedSandbox();
    m = await TestMailroom.start({ sandbox, name: 'permission-runs', logVariable: 'PERMISSION_RUNS_LOG' });
    directory = m.directory;
    suite = await ConformanceSuite.open(sandbox, 'permission-runs', { delegated: true });
    const people = [BOX, SOB, ADA, BEN];
    for (const p of people) await suite.addPerson(p);
    groupDn = await suite.addGroup(GROUP, { scope: 'universal', security: false, mail: `${GROUP}@${D}` });
    await suite.sync();
    for (const p of people) await suite.licence(p.upn);
    for (const p of people) assert.equal((await suite.mailbox(p.upn)).RecipientTypeDetails, 'UserMailbox', `${p.upn} has a mailbox`);
    assert.ok(await suite.exoGet('Get-DistributionGroup', `${GROUP}@${D}`), 'the synced group is in Exchange Online');
    await suite.exo.invoke('New-DistributionGroup', { Name: CLOUD_GROUP, Alias: CLOUD_GROUP, PrimarySmtpAddress: `${CLOUD_GROUP}@${D}` });
  });

  after(async function () {
    await suite?.exo.invoke('Remove-DistributionGroup', { Identity: `${CLOUD_GROUP}@${D}`, BypassSecurityGroupManagerCheck: true }).catch(() => undefined);
    await m?.close();
    await suite?.close();
  });

  async function run(kind: KindId, command: string): Promise<string> {
    const { reference } = await m.requestAndApprove(command, KINDS[kind].title);
    await m.untilDone(reference, 45_000);
    return reference;
  }

  async function fullAccess(mailbox: string): Promise<string[]> {
    const rows = (await m.cloud.exo.invoke<PermissionRow>('Get-MailboxPermission', { Identity: mailbox })).value;
    return rows.filter((r) => (r.AccessRights ?? []).includes('FullAccess') && !/SELF/.test(r.User ?? '')).map((r) => (r.User ?? '').toLowerCase()).sort();
  }

  async function sendAs(mailbox: string): Promise<string[]> {
    const rows = (await m.cloud.exo.invoke<PermissionRow>('Get-RecipientPermission', { Identity: mailbox })).value;
    return rows.filter((r) => (r.AccessRights ?? []).includes('SendAs') && !/SELF/.test(r.Trustee ?? '')).map((r) => (r.Trustee ?? '').toLowerCase()).sort();
  }

  async function exoMembers(group: string): Promise<string[]> {
    const rows = (await m.cloud.exo.invoke<ExoRecipientRow>('Get-DistributionGroupMember', { Identity: group })).value;
    return rows.map((r) => (r.PrimarySmtpAddress ?? '').toLowerCase()).sort();
  }

  it('grant full access to two users (one-liner, comma-separated): Get-MailboxPermission shows FullAccess for both; the plan said auto-mapping', async function () {
    const reference = await run('mailbox-permission-grant', `grant full access on ${BOX.mail} to ${ADA.mail}, ${BEN.upn}`);
    assert.deepEqual(await fullAccess(BOX.mail), [ADA.upn, BEN.upn].map((x) => x.toLowerCase()).sort());
    const record = (await storedRequest(m.app.store, reference))!.record;
    const plan = record.plan as { notes: string[]; steps: { action: string }[] };
    assert.deepEqual(plan.steps.map((s) => s.action), ['exo.grantMailboxPermission', 'exo.grantMailboxPermission']);
    assert.ok(plan.notes.some((n) => /Auto-mapping is on \(Exchange's default\)/.test(n)));
    // The same grant again changes nothing: each step finds the permission there already.
    const again = await run('mailbox-permission-grant', `grant full access on ${BOX.mail} to ${ADA.mail}`);
    const steps = await m.app.store.runs.listByRequest((await storedRequest(m.app.store, again))!.record.id);
    assert.deepEqual(steps.map((s) => (s.result as { changed?: boolean } | null)?.changed), [false]);
  });

  it('revoke full access from one of them: only the other keeps it', async function () {
    await run('mailbox-permission-revoke', `revoke full access on ${BOX.mail} from ${BEN.mail}`);
    assert.deepEqual(await fullAccess(BOX.mail), [ADA.upn.toLowerCase()]);
  });

  it('grant send as: Get-RecipientPermission shows SendAs for the user, written in Exchange Online for a synced mailbox', async function () {
    await run('mailbox-permission-grant', `grant send as on ${BOX.mail} to ${ADA.mail}`);
    assert.deepEqual(await sendAs(BOX.mail), [ADA.upn.toLowerCase()]);
    assert.equal((await suite!.mailbox(BOX.upn)).IsExchangeCloudManaged ?? false, false, 'send as leaves the mailbox managed from AD');
  });

  it('grant send on behalf on a synced mailbox managed from AD (AD without publicDelegates): made cloud-managed, then GrantSendOnBehalfTo in Exchange Online', async function () {
    await run('mailbox-permission-grant', `grant send on behalf on ${SOB.mail} to ${ADA.mail}`);
    const row = (await m.cloud.exo.invoke<{ GrantSendOnBehalfTo?: string[]; IsExchangeCloudManaged?: boolean }>('Get-Mailbox', { Identity: SOB.mail })).value[0]!;
    assert.equal(row.IsExchangeCloudManaged, true);
    const ada = (await m.cloud.exo.invoke<ExoRecipientRow>('Get-Recipient', { Identity: ADA.mail })).value[0]!;
    assert.deepEqual(row.GrantSendOnBehalfTo, [ada.Name]);
    await run('mailbox-permission-revoke', `revoke send on behalf on ${SOB.mail} from ${ADA.mail}`);
    assert.deepEqual((await m.cloud.exo.invoke<{ GrantSendOnBehalfTo?: string[] }>('Get-Mailbox', { Identity: SOB.mail })).value[0]!.GrantSendOnBehalfTo ?? [], []);
  });

  it('add two members to a synced group: AD member has both DNs (written in AD), and Exchange Online shows them after sync', async function () {
    await run('group-member-add', `add member ${ADA.mail}, ${BEN.mail} to ${GROUP}@${D}`);
    const members = (await directory.groupMembers(groupDn)) ?? [];
    assert.deepEqual(members.map(cnOf).sort(), [ADA.name, BEN.name].map((x) => x.toLowerCase()).sort());
    await suite!.sync();
    assert.deepEqual(await exoMembers(`${GROUP}@${D}`), [ADA.mail, BEN.mail].map((x) => x.toLowerCase()).sort());
  });

  it('remove a member from the synced group: gone from AD member', async function () {
    await run('group-member-remove', `remove member ${BEN.mail} from ${GROUP}@${D}`);
    const members = (await directory.groupMembers(groupDn)) ?? [];
    assert.deepEqual(members.map(cnOf), [ADA.name.toLowerCase()]);
  });

  it('a new shared mailbox with members: created, and each member has FullAccess and SendAs on it', async function () {
    const reference = await run('shared-mailbox', `new shared mailbox name="Perm Shared ${suffix}" alias=pshared${suffix} members=${ADA.mail},${BEN.upn}`);
    const request = (await storedRequest(m.app.store, reference))!.record.request as { userPrincipalName: string; primarySmtpAddress: string };
    assert.equal((await suite!.mailbox(request.userPrincipalName)).RecipientTypeDetails, 'SharedMailbox');
    const both = [ADA.upn, BEN.upn].map((x) => x.toLowerCase()).sort();
    assert.deepEqual(await fullAccess(request.primarySmtpAddress), both);
    assert.deepEqual(await sendAs(request.primarySmtpAddress), both);
  });

  it('add and remove members of a cloud-only group: Add-/Remove-DistributionGroupMember, read back with Get-DistributionGroupMember', async function () {
    await run('group-member-add', `add member ${ADA.mail} ${BEN.mail} to ${CLOUD_GROUP}@${D}`);
    assert.deepEqual(await exoMembers(`${CLOUD_GROUP}@${D}`), [ADA.mail, BEN.mail].map((x) => x.toLowerCase()).sort());
    await run('group-member-remove', `remove member ${ADA.mail} from ${CLOUD_GROUP}@${D}`);
    assert.deepEqual(await exoMembers(`${CLOUD_GROUP}@${D}`), [BEN.mail.toLowerCase()]);
  });
});
