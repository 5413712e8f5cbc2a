/**
 * Complete offboarding, room booking and automatic replies carried out end to end against the sandbox (Samba AD and
 * the cloud emulator): Rita files each by one-line command, Arnold approves it, the durable workflow runs it, and the
 * outcome is read back from AD (userAccountControl, member), Entra ID (licences, signInSessionsValidFromDateTime) and
 * Exchange Online (type, permissions, automatic reply, forwarding, address lists, calendar processing). A roll back of
 * the finished offboarding puts back what it can, read back the same way; a scheduled one waits for its leave date.
 */
import assert from 'node:assert/strict';
import { Attribute, Change } from 'ldapts';
import { SANDBOX_MAIL_DOMAIN } from '../../src/sandbox/people';
import { ConformanceSuite, suitePeople } from '../harness/conformance';
import { TestMailroom } from '../harness/mailroom';
import { getSharedSandbox } from '../harness/sandbox';

const suffix = Date.now().toString(36).slice(-5);
const D = SANDBOX_MAIL_DOMAIN;
/** A cloud-only distribution group Leo (and Dora) are in. */
const CLUB = `club.${suffix}@${D}`;
const person = suitePeople(suffix);
/** Leaves (offboarded now, then rolled back), with a manager, in two mail-enabled AD groups and a cloud-only group. */
const LEO = person('leo');
/** Leo's manager. */
const MGR = person('mona');
/** Where Leo's mail is forwarded. */
const DEST = person('dora');
/** Leaves on a date a few seconds ahead; and one whose leave date is cancelled. */
const SAM = person('sam');
const CAL = person('cal');
/** A room. */
const ROOM = person('room');
/** Automatic replies. */
const AMY = person('amy');

interface Mbx { RecipientTypeDetails?: string; HiddenFromAddressListsEnabled?: boolean; ForwardingAddress?: string | null; DeliverToMailboxAndForward?: boolean; Name?: string }
interface Perm { User?: string; AccessRights?: string[] }
interface AutoReply { AutoReplyState?: string; InternalMessage?: string | null; ExternalMessage?: string | null; ExternalAudience?: string; StartTime?: string | null; EndTime?: string | null }
interface Calendar { AutomateProcessing?: string; BookingWindowInDays?: number; AllowConflicts?: boolean; AllBookInPolicy?: boolean; BookInPolicy?: string[] }

describe('offboarding, booking and automatic replies: request to done, read back from AD, Entra ID and Exchange Online', function () {
  this.timeout(90_000);
  let m: TestMailroom;
  let suite: ConformanceSuite | undefined;
  const dn: Record<string, string> = {};
  let teamDn = '';
  let crewDn = '';

  before(async function () {
    const sandbox = await getSharedSandbox();
    m = await TestMailroom.start({ sandbox, name: 'offboarding-runs', logVariable: 'OFFBOARDING_RUNS_LOG' });
    suite = await ConformanceSuite.open(sandbox, 'offboarding-runs', { delegated: true });
    for (const p of [LEO, MGR, DEST, SAM, CAL, ROOM, AMY]) {
      dn[p.name] = await suite.addPerson(p);
    }
    await suite.modify(dn[LEO.name]!, new Change({ operation: 'replace', modification: new Attribute({ type: 'manager', values: [dn[MGR.name]!] }) }));
    teamDn = await suite.addGroup(`team${suffix}`, { scope: 'universal', security: false, mail: `team.${suffix}@${D}`, members: [dn[LEO.name]!, dn[DEST.name]!] });
    crewDn = await suite.addGroup(`crew${suffix}`, { scope: 'universal', security: true, mail: `crew.${suffix}@${D}`, members: [dn[LEO.name]!] });
    await suite.sync();
    for (const p of [LEO, MGR, DEST, SAM, CAL, ROOM, AMY]) await suite.licence(p.upn);
    await suite.exoSet('Set-Mailbox', { Identity: ROOM.upn, Type: 'Room' });
    await suite.exoSet('New-DistributionGroup', { Name: `club${suffix}`, Alias: `club${suffix}`, PrimarySmtpAddress: CLUB, Members: [LEO.upn, DEST.upn] });
    suite.removeAtClose('group', CLUB);
    assert.equal((await mailbox(ROOM.upn)).RecipientTypeDetails, 'RoomMailbox');
  });

  after(async function () {
    await m?.close();
    await suite?.close();
  });

  const exo = async <T>(cmdlet: string, parameters: Record<string, unknown>): Promise<T[]> => (await m.cloud.exo.invoke<T>(cmdlet, parameters)).value;
  async function mailbox(identity: string): Promise<Mbx> {
    return (await exo<Mbx>('Get-Mailbox', { Identity: identity }))[0]!;
  }
  const fullAccess = async (identity: string, user: string): Promise<boolean> =>
    (await exo<Perm>('Get-MailboxPermission', { Identity: identity, User: user })).some((p) => (p.AccessRights ?? []).includes('FullAccess'));
  const licences = async (upn: string): Promise<number> => ((await suite!.graphUser(upn))?.assignedLicenses ?? []).length;
  const members = async (groupDn: string): Promise<string[]> => (await suite!.readAd(groupDn, 'member')).map((x) => x.toLowerCase());
  const enabled = async (p: { name: string }): Promise<boolean | undefined> => (await m.directory.get(dn[p.name]!))?.enabled;
  const clubMembers = async (): Promise<string[]> => (await exo<{ PrimarySmtpAddress?: string }>('Get-DistributionGroupMember', { Identity: CLUB })).map((r) => (r.PrimarySmtpAddress ?? '').toLowerCase());

  it('offboards now: account disabled and signed out, shared mailbox with full access for the manager, reply and forwarding, out of both AD groups and the cloud-only one, hidden, licence removed', async function () {
    const before = Date.now();
    const { reference } = await m.requestAndApprove(`offboard ${LEO.mail} reply="Leo has left. Please write to ${MGR.mail}." forward=${DEST.mail}`, 'Offboarding');
    const record = await m.untilDone(reference, 60_000);
    const plan = record.plan as { steps: { action: string; summary: string }[]; notes: string[] };
    assert.ok(plan.steps.some((s) => /Full access|full access/.test(s.summary) && s.summary.includes(`${MGR.name} Person`)), 'the plan names the manager');
    assert.ok(plan.notes.some((n) => n.includes(`team${suffix}`) && n.includes(`crew${suffix}`) && n.includes(`club${suffix}`)), 'the plan lists the groups, the cloud-only one too');
    assert.ok(plan.steps.some((s) => s.action === 'exo.removeGroupMember' && s.summary.includes(`club${suffix}`)), 'the cloud-only group is changed in Exchange Online');

    assert.equal(await enabled(LEO), false, 'the AD account is disabled');
    const since = (await m.cloud.graph.user<{ signInSessionsValidFromDateTime?: string }>(LEO.upn, ['signInSessionsValidFromDateTime']))?.signInSessionsValidFromDateTime;
    assert.ok(since && Date.parse(since) >= before - 1000, `sessions revoked (signInSessionsValidFromDateTime ${since ?? 'empty'})`);
    const mbx = await mailbox(LEO.upn);
    assert.equal(mbx.RecipientTypeDetails, 'SharedMailbox');
    assert.equal(mbx.HiddenFromAddressListsEnabled, true);
    assert.equal(mbx.ForwardingAddress, (await mailbox(DEST.upn)).Name);
    assert.equal(mbx.DeliverToMailboxAndForward, true);
    assert.equal(await fullAccess(LEO.upn, MGR.upn), true, 'the manager has full access');
    const reply = (await exo<AutoReply>('Get-MailboxAutoReplyConfiguration', { Identity: LEO.upn }))[0]!;
    assert.equal(reply.AutoReplyState, 'Enabled');
    assert.match(reply.InternalMessage ?? '', new RegExp(`Leo has left. Please write to ${MGR.mail.replace(/\./g, '\\.')}`));
    assert.equal(reply.ExternalAudience, 'All');
    assert.ok(!(await members(teamDn)).includes(dn[LEO.name]!.toLowerCase()), 'out of the distribution group');
    assert.ok(!(await members(crewDn)).includes(dn[LEO.name]!.toLowerCase()), 'out of the mail-enabled security group');
    assert.ok((await members(teamDn)).includes(dn[DEST.name]!.toLowerCase()), 'the other member stays');
    assert.deepEqual(await clubMembers(), [DEST.mail.toLowerCase()], 'out of the cloud-only group; the other member stays');
    assert.equal(await licences(LEO.upn), 0, 'the licence is removed');

    // the restore list is in the audit: each removal with the group and the member
    const done = (await m.app.store.audit.list({ requestRef: reference, limit: 200 })).filter((e) => e.event === 'operation.done' && (e.data as { action?: string }).action === 'ad.removeGroupMember');
    assert.deepEqual(done.map((e) => ((e.data as { result?: { groupDn?: string } }).result?.groupDn ?? '').toLowerCase()).sort(), [crewDn, teamDn].map((x) => x.toLowerCase()).sort());

    // A finished offboarding can be rolled back: the person came back.
    await m.rita.sayForCard(`rollback ${reference} now`, /Rolling back|Offboarding/);
    await m.untilStatus(reference, 'rolled-back', undefined, 60_000);
    assert.equal(await enabled(LEO), true, 'the account is enabled again');
    const back = await mailbox(LEO.upn);
    assert.equal(back.RecipientTypeDetails, 'UserMailbox');
    assert.equal(back.HiddenFromAddressListsEnabled ?? false, false);
    assert.equal(back.ForwardingAddress ?? null, null);
    assert.equal(await fullAccess(LEO.upn, MGR.upn), false, 'the manager\'s full access is taken away');
    assert.equal((await exo<AutoReply>('Get-MailboxAutoReplyConfiguration', { Identity: LEO.upn }))[0]?.AutoReplyState, 'Disabled');
    assert.ok((await members(teamDn)).includes(dn[LEO.name]!.toLowerCase()) && (await members(crewDn)).includes(dn[LEO.name]!.toLowerCase()), 'back in both AD groups');
    assert.deepEqual((await clubMembers()).sort(), [DEST.mail, LEO.mail].map((x) => x.toLowerCase()).sort(), 'back in the cloud-only group');
    assert.equal(await licences(LEO.upn), 1, 'the licence is assigned again');
    const kept = ((await m.record(reference)).result as { rollback?: { kept?: { stepId: string }[] } }).rollback?.kept ?? [];
    assert.deepEqual(kept.map((k) => k.stepId), ['entra.revoke-sessions', 'exo.cloud-managed'], 'only the revoked sessions and the cloud-managed switch (made for the hide) stay');
  });

  it('a leave date ahead: the request waits, changes nothing until then, then runs', async function () {
    const at = new Date(Date.now() + 6000);
    const when = at.toISOString().slice(0, 19).replace('T', ' ');
    const { reference } = await m.requestAndApprove(`offboard ${SAM.mail} when="${when}" groups=no`, 'Offboarding');
    await m.untilStatus(reference, 'waiting', (steps) => steps.includes('wait.leave-date:waiting'), 15_000);
    assert.equal(await enabled(SAM), true, 'nothing is done before the leave date');
    assert.equal((await mailbox(SAM.upn)).RecipientTypeDetails, 'UserMailbox');
    await m.untilDone(reference, 60_000);
    assert.ok(Date.now() >= Math.floor(at.getTime() / 1000) * 1000, 'it finished after the leave date');
    assert.equal(await enabled(SAM), false);
    assert.equal((await mailbox(SAM.upn)).RecipientTypeDetails, 'SharedMailbox');
  });

  it('a leave date that is cancelled: nothing was changed', async function () {
    const { reference } = await m.requestAndApprove(`offboard ${CAL.mail} when=${new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10)}`, 'Offboarding');
    await m.untilStatus(reference, 'waiting', (steps) => steps.includes('wait.leave-date:waiting'), 15_000);
    await m.rita.sayForCard(`cancel ${reference}`, /cancel/i);
    await m.untilStatus(reference, 'cancelled', undefined, 15_000);
    assert.equal(await enabled(CAL), true);
    assert.equal((await mailbox(CAL.upn)).RecipientTypeDetails, 'UserMailbox');
    assert.equal(await licences(CAL.upn), 1);
  });

  it('room booking: only the settings named change, read back with Get-CalendarProcessing; a roll back restores them', async function () {
    const before = (await exo<Calendar>('Get-CalendarProcessing', { Identity: ROOM.upn }))[0]!;
    assert.deepEqual([before.BookingWindowInDays, before.AllowConflicts, before.AllBookInPolicy], [180, false, true]);
    const { reference } = await m.requestAndApprove(`booking ${ROOM.mail} window=90 conflicts=allow bookers=${AMY.mail}, ${MGR.mail}`, 'Room and equipment booking');
    await m.untilDone(reference);
    const after = (await exo<Calendar>('Get-CalendarProcessing', { Identity: ROOM.upn }))[0]!;
    assert.deepEqual([after.BookingWindowInDays, after.AllowConflicts, after.AllBookInPolicy, after.AutomateProcessing], [90, true, false, 'AutoAccept']);
    assert.deepEqual([...(after.BookInPolicy ?? [])].sort(), [(await mailbox(AMY.upn)).Name, (await mailbox(MGR.upn)).Name].sort());

    await m.rita.sayForCard(`rollback ${reference} now`, /Rolling back|booking/i);
    await m.untilStatus(reference, 'rolled-back');
    const restored = (await exo<Calendar>('Get-CalendarProcessing', { Identity: ROOM.upn }))[0]!;
    assert.deepEqual([restored.BookingWindowInDays, restored.AllowConflicts, restored.AllBookInPolicy, restored.BookInPolicy], [180, false, true, []]);
  });

  it('automatic replies: on for a time (Scheduled, with its start and end), then off', async function () {
    const start = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    const end = new Date(Date.now() + 5 * 86_400_000).toISOString().slice(0, 10);
    const on = await m.requestAndApprove(`auto reply ${AMY.mail} on message="Away until ${end}." from=${start} until=${end} audience=known`, 'Automatic replies');
    await m.untilDone(on.reference);
    const r = (await exo<AutoReply>('Get-MailboxAutoReplyConfiguration', { Identity: AMY.upn }))[0]!;
    assert.equal(r.AutoReplyState, 'Scheduled');
    assert.equal(r.ExternalAudience, 'Known');
    assert.match(r.InternalMessage ?? '', new RegExp(`Away until ${end}\\.`));
    assert.equal(new Date(r.StartTime ?? '').toISOString(), `${start}T00:00:00.000Z`);
    assert.equal(new Date(r.EndTime ?? '').toISOString(), new Date(Date.parse(`${end}T00:00:00Z`) + 86_400_000).toISOString(), 'a date alone ends with its day');
    const off = await m.requestAndApprove(`auto reply ${AMY.mail} off`, 'Automatic replies');
    await m.untilDone(off.reference);
    assert.equal((await exo<AutoReply>('Get-MailboxAutoReplyConfiguration', { Identity: AMY.upn }))[0]?.AutoReplyState, 'Disabled');
  });
});
