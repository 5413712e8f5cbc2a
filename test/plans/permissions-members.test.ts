/**
 * Plans and roll backs of mailbox permissions and group members: which system each change is written in and why
 * (source of authority), and that a roll back reverses only what the run changed.
 */
import assert from 'node:assert/strict';
import { plan, type Plan } from '../../src/plans/planner';
import { planRollback, type RunStepFacts } from '../../src/plans/rollback';
import type { RecipientRef, RecipientRequest } from '../../src/requests/kinds';
import { BASE, CLOUD_DEFAULT, PROFILE } from '../requests/fixtures';
import { target } from './fixtures';

const ada: RecipientRef = { identity: 'ada', name: 'Ada Byron', type: 'UserMailbox', primarySmtpAddress: 'ada.byron@contoso.example', isDirSynced: true, adDn: `CN=Ada Byron,OU=Users,${BASE}`, userPrincipalName: 'ada.byron@contoso.example' };
const cloud: RecipientRef = { identity: 'cloud.only@contoso.example', name: 'Cloud Only', type: 'UserMailbox', primarySmtpAddress: 'cloud.only@contoso.example', isDirSynced: false, exoId: 'c0c0c0c0-0000-4000-8000-000000000001' };
const sales = target({ identity: 'sales', name: 'Team Sales', type: 'SharedMailbox', primarySmtpAddress: 'sales@contoso.example', adDn: `CN=Team Sales,OU=Shared,${BASE}`, userPrincipalName: 'sales@contoso.example' });
const allStaff = target({ identity: 'allstaff', name: 'All Staff', type: 'MailUniversalDistributionGroup', primarySmtpAddress: 'allstaff@contoso.example', isExchangeCloudManaged: null, adDn: `CN=All Staff,OU=Groups,${BASE}` });
const cloudTeam = target({ identity: 'cloudteam', name: 'Cloud Team', type: 'MailUniversalDistributionGroup', primarySmtpAddress: 'cloudteam@contoso.example', isDirSynced: false, isExchangeCloudManaged: null, exoId: 'c1c1c1c1-0000-4000-8000-000000000002' });
const SCHEMA = { ...PROFILE, adHasExchangeSchema: true };

const actions = (p: Plan): string[] => p.steps.map((s) => s.action);
const doneRun = (p: Plan, changed: (i: number) => boolean): RunStepFacts[] =>
  p.steps.map((s, i) => ({ stepId: s.id, action: s.action, status: 'done', input: s.input, result: { changed: changed(i) } }));

describe('plans: mailbox permissions', function () {
  it('full access: one Exchange Online step per user, auto-mapping as requested, and why Exchange Online', function () {
    const r: RecipientRequest = { kind: 'mailbox-permission-grant', target: sales, permission: 'FullAccess', users: [ada, cloud], autoMapping: true };
    const p = plan(r, PROFILE);
    assert.equal(p.title, 'Grant full access on Team Sales to Ada Byron, Cloud Only');
    assert.deepEqual(actions(p), ['exo.grantMailboxPermission', 'exo.grantMailboxPermission']);
    assert.deepEqual(p.steps[0]?.input, {
      identity: 'sales@contoso.example', mailboxName: 'Team Sales', permission: 'FullAccess', user: 'ada.byron@contoso.example', userName: 'Ada Byron',
      userKeys: ['Ada Byron', 'ada.byron@contoso.example', `CN=Ada Byron,OU=Users,${BASE}`, 'ada'], autoMapping: true,
    });
    assert.equal((p.steps[1]?.input as { user: string }).user, cloud.exoId);
    assert.match(p.steps[0]?.summary ?? '', /Add-MailboxPermission -AccessRights FullAccess -AutoMapping \$true/);
    assert.ok(p.notes.some((n) => /Exchange Online data: Mailroom writes them there for synced and cloud-only mailboxes alike/.test(n)));
    assert.ok(p.notes.some((n) => /Auto-mapping is on \(Exchange's default\)/.test(n)));
    const off = plan({ ...r, autoMapping: false }, PROFILE);
    assert.equal((off.steps[0]?.input as { autoMapping: boolean }).autoMapping, false);
    assert.ok(off.notes.some((n) => /Auto-mapping is off/.test(n)));
  });

  it('send as: Exchange Online, for synced mailboxes too', function () {
    const p = plan({ kind: 'mailbox-permission-revoke', target: sales, permission: 'SendAs', users: [ada] }, SCHEMA);
    assert.deepEqual(actions(p), ['exo.revokeMailboxPermission']);
    assert.match(p.steps[0]?.summary ?? '', /Remove-RecipientPermission -AccessRights SendAs/);
  });

  it('send on behalf of a synced, not cloud-managed mailbox: AD publicDelegates (the DN), then a wait for sync', function () {
    const p = plan({ kind: 'mailbox-permission-grant', target: sales, permission: 'SendOnBehalf', users: [ada] }, SCHEMA);
    assert.deepEqual(actions(p), ['ad.addPublicDelegate', 'exo.awaitSendOnBehalf']);
    assert.deepEqual(p.steps[0]?.input, { dn: sales.adDn, delegateDn: ada.adDn });
    const wait = p.steps[1]?.input as unknown as { present: boolean; sync: { dn: string }; delegates: readonly { name: string }[] };
    assert.equal(wait.present, true);
    assert.equal(wait.sync.dn, sales.adDn);
    assert.deepEqual(wait.delegates.map((d) => d.name), ['Ada Byron']);
    assert.ok(p.notes.some((n) => /AD masters its Exchange attributes, send on behalf \(publicDelegates, shown as GrantSendOnBehalfTo\) among them/.test(n)));
  });

  it('send on behalf of a cloud-managed or cloud-only mailbox: Exchange Online; of a legacy one in cloud-default: made cloud-managed first', function () {
    const cm = plan({ kind: 'mailbox-permission-grant', target: { ...sales, isExchangeCloudManaged: true }, permission: 'SendOnBehalf', users: [cloud] }, SCHEMA);
    assert.deepEqual(actions(cm), ['exo.grantMailboxPermission']);
    assert.match(cm.steps[0]?.summary ?? '', /Set-Mailbox -GrantSendOnBehalfTo @\{Add=…\}/);
    assert.ok(cm.notes.some((n) => /is cloud-managed: its Exchange attributes, send on behalf \(GrantSendOnBehalfTo\) among them, are changed in Exchange Online/.test(n)));
    const cd = plan({ kind: 'mailbox-permission-revoke', target: sales, permission: 'SendOnBehalf', users: [ada] }, CLOUD_DEFAULT);
    assert.deepEqual(actions(cd), ['exo.setCloudManaged', 'exo.revokeMailboxPermission']);
    // AD without Exchange's schema has no publicDelegates: Exchange Online, after making the mailbox cloud-managed
    const noSchema = plan({ kind: 'mailbox-permission-grant', target: sales, permission: 'SendOnBehalf', users: [ada] }, PROFILE);
    assert.deepEqual(actions(noSchema), ['exo.setCloudManaged', 'exo.grantMailboxPermission']);
    assert.ok(noSchema.warnings.length > 0);
  });
});

describe('plans: group members', function () {
  it('synced group: AD member, with the reason', function () {
    const p = plan({ kind: 'group-member-add', target: allStaff, members: [ada] }, PROFILE);
    assert.deepEqual(actions(p), ['ad.addGroupMember']);
    assert.deepEqual(p.steps[0]?.input, { groupDn: allStaff.adDn, memberDn: ada.adDn });
    assert.ok(p.notes.some((n) => /a synced group, membership included, is managed in AD/.test(n)));
    assert.deepEqual(actions(plan({ kind: 'group-member-remove', target: allStaff, members: [ada] }, CLOUD_DEFAULT)), ['ad.removeGroupMember']);
  });

  it('cloud-only group: Exchange Online (Add-/Remove-DistributionGroupMember)', function () {
    const p = plan({ kind: 'group-member-remove', target: cloudTeam, members: [cloud, ada] }, PROFILE);
    assert.deepEqual(actions(p), ['exo.removeGroupMember', 'exo.removeGroupMember']);
    assert.equal((p.steps[0]?.input as { identity: string }).identity, cloudTeam.exoId);
    assert.ok(p.notes.some((n) => /is cloud-only: its members are changed in Exchange Online/.test(n)));
  });
});

describe('roll back: permissions and members are reversed only where the run changed them', function () {
  it('a grant that changed something is revoked; one that found the permission there already stays', function () {
    const p = plan({ kind: 'mailbox-permission-grant', target: sales, permission: 'FullAccess', users: [ada, cloud], autoMapping: true }, PROFILE);
    const rb = planRollback(p, doneRun(p, (i) => i === 1), 'R-7');
    assert.deepEqual(rb.steps.map((s) => [s.action, (s.input as { user: string }).user]), [['exo.revokeMailboxPermission', cloud.exoId]]);
    assert.match(rb.steps[0]?.summary ?? '', /Take full access on Team Sales away from Cloud Only again \(given for R-7\)/);
    assert.deepEqual(rb.kept, []);
  });

  it('an earlier try that recorded its intent counts as a change', function () {
    const p = plan({ kind: 'mailbox-permission-grant', target: sales, permission: 'SendAs', users: [ada] }, PROFILE);
    const run = p.steps.map((s) => ({ stepId: s.id, action: s.action, status: 'done', input: s.input, result: { changed: false, changedByEarlierTry: true } }));
    assert.deepEqual(planRollback(p, run, 'R-8').steps.map((s) => s.action), ['exo.revokeMailboxPermission']);
  });

  it('a revoke is given back (full access with Exchange\'s default auto-mapping); an AD delegate and AD members are reversed', function () {
    const revoke = plan({ kind: 'mailbox-permission-revoke', target: sales, permission: 'FullAccess', users: [ada] }, PROFILE);
    const back = planRollback(revoke, doneRun(revoke, () => true), 'R-9').steps;
    assert.deepEqual(back.map((s) => s.action), ['exo.grantMailboxPermission']);
    assert.equal((back[0]?.input as { autoMapping?: boolean }).autoMapping, true);

    const delegate = plan({ kind: 'mailbox-permission-grant', target: sales, permission: 'SendOnBehalf', users: [ada] }, SCHEMA);
    assert.deepEqual(planRollback(delegate, doneRun(delegate, () => true), 'R-10').steps.map((s) => [s.action, s.input]), [['ad.removePublicDelegate', { dn: sales.adDn, delegateDn: ada.adDn }]]);

    const removed = plan({ kind: 'group-member-remove', target: allStaff, members: [ada] }, PROFILE);
    assert.deepEqual(planRollback(removed, doneRun(removed, () => true), 'R-11').steps.map((s) => [s.action, s.input]), [['ad.addGroupMember', { groupDn: allStaff.adDn, memberDn: ada.adDn }]]);
    assert.deepEqual(planRollback(removed, doneRun(removed, () => false), 'R-11').steps, [], 'a member who was not there stays away');

    const added = plan({ kind: 'group-member-add', target: cloudTeam, members: [cloud] }, PROFILE);
    assert.deepEqual(planRollback(added, doneRun(added, () => true), 'R-12').steps.map((s) => s.action), ['exo.removeGroupMember']);
  });
});

describe('plans: a new shared mailbox with members', function () {
  const request: RecipientRequest = {
    kind: 'shared-mailbox', displayName: 'Team Support', alias: 'support', samAccountName: 'support', userPrincipalName: 'support@contoso.example', primarySmtpAddress: 'support@contoso.example',
    members: [ada],
  };

  it('grants full access (with auto-mapping) and send as to each member once the mailbox exists', function () {
    const p = plan(request, PROFILE);
    const grants = p.steps.filter((s) => s.action === 'exo.grantMailboxPermission');
    assert.deepEqual(grants.map((s) => [(s.input as { permission: string }).permission, (s.input as { user: string }).user, (s.input as { autoMapping?: boolean }).autoMapping]), [
      ['FullAccess', 'ada.byron@contoso.example', true], ['SendAs', 'ada.byron@contoso.example', undefined],
    ]);
    assert.ok(p.steps.findIndex((s) => s.action === 'exo.setMailboxType') < p.steps.findIndex((s) => s.action === 'exo.grantMailboxPermission'), 'after the conversion');
    assert.ok(!p.notes.some((n) => /not part of this request/.test(n)));
  });

  it('roll back: the permissions go with the mailbox the roll back deletes (no revoke steps)', function () {
    const p = plan(request, PROFILE);
    const run: RunStepFacts[] = p.steps.map((s) => ({
      stepId: s.id, action: s.action, status: 'done', input: s.input,
      result: s.action === 'ad.createUser' ? { changed: true, created: true, dn: (s.input as { dn: string }).dn, stamp: 'Created by Mailroom for R-13' } : { changed: true },
    }));
    const rb = planRollback(p, run, 'R-13');
    assert.ok(!rb.steps.some((s) => s.action === 'exo.revokeMailboxPermission'));
    assert.ok(rb.steps.some((s) => s.action === 'ad.deleteObject'));
  });
});
