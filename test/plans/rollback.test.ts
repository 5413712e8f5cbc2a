/**
 * The pure roll-back planner: for every request kind, what a roll back undoes (in reverse order) and what stays,
 * from the plan and the run's steps as the store keeps them (status, input, result with `changed`).
 */
import assert from 'node:assert/strict';
import { plan, type Plan } from '../../src/plans/planner';
import { createdByStamp, isUndoStepId, keptLine, planRollback, type RollbackPlan, type RunStepFacts } from '../../src/plans/rollback';
import type { StepInputs } from '../../src/plans/steps';
import { BASE, CLOUD_DEFAULT, PROFILE } from '../requests/fixtures';
import { AD_GROUP, contact, ENTRA_GROUP, equipment, group, mailUser, room, shared, target, userMailbox } from './fixtures';

const REF = 'R-12';
const GUID = '6f9619ff-8b86-d011-b42d-00c04fc964ff';


/** What an executor reports for a done step: creates made their stamped object; every other step changed something. */
function resultOf(p: Plan, stepId: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  const s = p.steps.find((x) => x.id === stepId)!;
  if (s.action.startsWith('ad.create')) {
    const input = s.input as { dn: string };
    return { dn: input.dn, objectGuid: GUID, created: true, stamp: createdByStamp(REF), changed: true, ...over };
  }
  return { changed: true, ...over };
}

/** The run as stored: the first `done` steps done, then one step `then` (failed by default), the rest pending. */
function run(p: Plan, done: number, then = 'failed', results: Record<string, Record<string, unknown>> = {}): RunStepFacts[] {
  return p.steps.map((s, i) => ({
    stepId: s.id,
    action: s.action,
    status: i < done ? 'done' : i === done ? then : 'pending',
    input: s.input,
    result: i < done ? resultOf(p, s.id, results[s.id]) : null,
    error: i === done && then === 'failed' ? 'it went wrong' : null,
  }));
}

const summary = (r: RollbackPlan): string[] => r.steps.map((s) => `${s.action} ${s.undoes}`);
const keptIds = (r: RollbackPlan): string[] => r.kept.map((k) => k.stepId);

describe('roll back: what a roll back undoes and what stays, per kind', function () {
  describe('user mailbox', function () {
    const p = plan(userMailbox, PROFILE);

    it('failed waiting for the mailbox: removes the licence, then deletes the AD user it created (stamp and GUID); the rest goes with the user', function () {
      const r = planRollback(p, run(p, 4), REF);
      assert.deepEqual(summary(r), ['entra.removeLicence entra.assign-licence', 'ad.deleteObject ad.create-user']);
      assert.deepEqual(r.steps.map((s) => s.id), ['undo.1.entra.assign-licence', 'undo.2.ad.create-user']);
      assert.ok(r.steps.every((s) => isUndoStepId(s.id) && !s.waits));
      assert.deepEqual(r.steps[0]!.input, p.steps[3]!.input, 'the licence is removed with the same input it was assigned with');
      assert.deepEqual(r.steps[1]!.input, { dn: `CN=Ada Lovelace,OU=Users,${BASE}`, expectStamp: 'Created by Mailroom for R-12', objectClass: 'user', objectGuid: GUID });
      assert.equal(r.steps[1]!.system, 'ad');
      assert.match(r.steps[1]!.summary, /Delete the AD user 'Ada Lovelace' .* only if it still carries "Created by Mailroom for R-12"/);
      assert.deepEqual(r.kept, [], 'the usage location belongs to the user that goes');
      assert.equal(r.notes.length, 1);
      assert.match(r.notes[0]!, /next sync cycle removes the synced Entra user and its mailbox: they are soft-deleted and can be restored for 30 days/);
    });

    it('a re-run after a crash reported changed:false for its own stamped objects and licence: still undone (created:true decides)', function () {
      const r = planRollback(p, run(p, 4, 'failed', { 'ad.create-user': { changed: false }, 'entra.assign-licence': { changed: false } }), REF);
      assert.deepEqual(summary(r), ['entra.removeLicence entra.assign-licence', 'ad.deleteObject ad.create-user']);
    });

    it('a user that was there already (not created by this request) is never deleted, and says so', function () {
      const r = planRollback(p, run(p, 4, 'failed', { 'ad.create-user': { created: false, stamp: 'Someone else', changed: false }, 'entra.assign-licence': { changed: false } }), REF);
      assert.deepEqual(summary(r), []);
      assert.deepEqual(keptIds(r), ['ad.create-user', 'entra.usage-location'], 'a change to a user that stays is listed');
      assert.match(keptLine(r.kept[0]!), /^Mailroom did not create this object for R-12 .*so it stays: Create the AD user/);
    });

    it('a result without created/stamp (an older run) deletes nothing', function () {
      const r = planRollback(p, run(p, 1, 'failed', { 'ad.create-user': { created: undefined, stamp: undefined } }), REF);
      assert.deepEqual(summary(r), []);
      assert.match(r.kept[0]!.reason, /cannot show that it created this object/);
    });

    it('the user was moved after the create: the delete goes to where it is now', function () {
      const moved = `CN=Ada Lovelace,OU=Elsewhere,${BASE}`;
      const r = planRollback(p, run(p, 1, 'failed', { 'ad.create-user': { dn: moved, plannedDn: `CN=Ada Lovelace,OU=Users,${BASE}` } }), REF);
      assert.equal((r.steps[0]!.input as StepInputs['ad.deleteObject']).dn, moved);
    });

    it('cancelled right after the AD step: only the delete; nothing to do when nothing was done', function () {
      assert.deepEqual(summary(planRollback(p, run(p, 1, 'cancelled'), REF)), ['ad.deleteObject ad.create-user']);
      const none = planRollback(p, run(p, 0, 'cancelled'), REF);
      assert.deepEqual([none.steps, none.kept, none.notes], [[], [], []]);
    });

    it('a create step cut short by a cancel (its try failed transiently) is named for a person to check', function () {
      const steps = run(p, 0, 'cancelled').map((st, i) => (i === 0 ? { ...st, error: 'it went wrong' } : st));
      const r = planRollback(p, steps, REF);
      assert.deepEqual(keptIds(r), ['ad.create-user']);
      assert.match(r.kept[0]!.reason, /interrupted by the cancel \(it went wrong\); if AD has an object whose description is "Created by Mailroom for R-12", delete it by hand/);
    });

    it('licensing through an AD group: the membership is removed before the user is deleted', function () {
      const pg = plan(userMailbox, { ...PROFILE, licensing: AD_GROUP });
      assert.deepEqual(pg.steps.map((s) => s.id).slice(0, 2), ['ad.create-user', 'ad.licence-group']);
      const r = planRollback(pg, run(pg, 3, 'failed', { 'ad.licence-group': { changed: false, added: true } }), REF);
      assert.deepEqual(summary(r), ['ad.removeGroupMember ad.licence-group', 'ad.deleteObject ad.create-user']);
      assert.deepEqual(r.steps[0]!.input, { groupDn: AD_GROUP.adGroupDn, memberDn: `CN=Ada Lovelace,OU=Users,${BASE}` });
    });

    it('licensing through an Entra group: the membership of the licensing group is removed', function () {
      const pg = plan(userMailbox, { ...PROFILE, licensing: ENTRA_GROUP });
      const r = planRollback(pg, run(pg, 4), REF);
      assert.deepEqual(summary(r), ['entra.removeLicence entra.assign-licence', 'ad.deleteObject ad.create-user']);
      assert.match(r.steps[0]!.summary, /Remove ada.lovelace@contoso.example from the licensing group EXO Licensed/);
    });

    it('cloud-default: the Exchange Online settings on the new mailbox go with it', function () {
      const pc = plan(userMailbox, CLOUD_DEFAULT);
      const r = planRollback(pc, run(pc, pc.steps.length - 1), REF);
      assert.deepEqual(summary(r), ['entra.removeLicence entra.assign-licence', 'ad.deleteObject ad.create-user']);
      assert.deepEqual(r.kept, []);
    });

    it('ignores the compensation steps of an earlier roll back and every step that is not done', function () {
      const steps = [...run(p, 4), { stepId: 'undo.1.entra.assign-licence', action: 'entra.removeLicence', status: 'done', input: p.steps[3]!.input, result: { changed: true } }];
      assert.deepEqual(summary(planRollback(p, steps, REF)), ['entra.removeLicence entra.assign-licence', 'ad.deleteObject ad.create-user']);
    });
  });

  describe('shared, room and equipment mailboxes', function () {
    for (const [name, req] of [['shared', shared], ['room', room], ['equipment', equipment]] as const) {
      it(`${name}: stopped after the conversion — the temporary licence is removed, the disabled user deleted`, function () {
        const p = plan(req, PROFILE);
        const setType = p.steps.findIndex((s) => s.action === 'exo.setMailboxType');
        const r = planRollback(p, run(p, setType + 1), REF);
        assert.deepEqual(summary(r), ['entra.removeLicence entra.assign-licence', 'ad.deleteObject ad.create-user']);
        assert.deepEqual(r.kept, [], 'the type and capacity of a mailbox that goes need no line');
      });
    }

    it('shared, cancelled after the plan removed its temporary licence itself: only the delete', function () {
      const p = plan(shared, PROFILE);
      const r = planRollback(p, run(p, p.steps.length, 'pending'), REF);
      assert.deepEqual(summary(r), ['ad.deleteObject ad.create-user']);
    });

    it('shared with an AD licensing group added and removed by the plan: only the delete', function () {
      const p = plan(shared, { ...PROFILE, licensing: AD_GROUP });
      const r = planRollback(p, run(p, p.steps.length, 'pending'), REF);
      assert.deepEqual(summary(r), ['ad.deleteObject ad.create-user']);
    });
  });

  describe('mail user, contact, group', function () {
    it('mail user: the AD user is deleted (no licence)', function () {
      const p = plan(mailUser, PROFILE);
      const r = planRollback(p, run(p, 2), REF);
      assert.deepEqual(summary(r), ['ad.deleteObject ad.create-user']);
      assert.equal((r.steps[0]!.input as StepInputs['ad.deleteObject']).objectClass, 'user');
    });

    it('contact: the AD contact is deleted; the note says it leaves Entra ID and Exchange Online at the next sync', function () {
      const p = plan(contact, PROFILE);
      const r = planRollback(p, run(p, 2), REF);
      assert.deepEqual(summary(r), ['ad.deleteObject ad.create-contact']);
      assert.equal((r.steps[0]!.input as StepInputs['ad.deleteObject']).objectClass, 'contact');
      assert.match(r.notes.join(' '), /removes it from Entra ID and Exchange Online/);
    });

    it('group: the AD group is deleted with its members; a group with its own description carries that as its stamp', function () {
      const p = plan({ ...group, description: 'Sales people' }, PROFILE);
      const r = planRollback(p, run(p, 2, 'failed', { 'ad.create-group': { stamp: 'Sales people' } }), REF);
      assert.deepEqual(summary(r), ['ad.deleteObject ad.create-group']);
      assert.deepEqual(r.steps[0]!.input, { dn: `CN=Sales Team,OU=Groups,${BASE}`, expectStamp: 'Sales people', objectClass: 'group', objectGuid: GUID });
    });
  });

  describe('changes to existing recipients stay', function () {
    it('primary address (AD): the change stays, with the reason', function () {
      const p = plan({ kind: 'primary-address', target: target(), newAddress: 'ada@contoso.example' }, PROFILE);
      const r = planRollback(p, run(p, 1), REF);
      assert.deepEqual(summary(r), []);
      assert.deepEqual(keptIds(r), ['ad.set-primary']);
      assert.match(keptLine(r.kept[0]!), /^Address changes are not undone automatically: Set mail to ada@contoso.example/);
    });

    it('secondary addresses, in AD and in Exchange Online: stay; an add that changed nothing gets no line', function () {
      for (const kind of ['secondary-address-add', 'secondary-address-remove'] as const) {
        const p = plan({ kind, target: target(), address: 'a.b@contoso.example' }, PROFILE);
        assert.deepEqual(keptIds(planRollback(p, run(p, 1), REF)), [p.steps[0]!.id]);
        assert.deepEqual(keptIds(planRollback(p, run(p, 1, 'failed', { [p.steps[0]!.id]: { changed: false } }), REF)), []);
      }
      const p = plan({ kind: 'secondary-address-add', target: target({ isExchangeCloudManaged: true }), address: 'a.b@contoso.example' }, PROFILE);
      const r = planRollback(p, run(p, p.steps.length, 'pending'), REF);
      assert.ok(r.kept.length > 0 && r.kept.every((k) => /address changes/.test(k.reason)));
    });

    it('cloud-managed: the flag stays', function () {
      const p = plan({ kind: 'cloud-managed', target: target(), enabled: true }, PROFILE);
      const r = planRollback(p, run(p, 1, 'pending'), REF);
      assert.deepEqual(summary(r), []);
      assert.match(r.kept[0]!.reason, /cloud-managed setting is not changed back/);
    });

    it('conversion to Regular that stopped after the licence: the licence is removed again, the usage location stays', function () {
      const p = plan({ kind: 'mailbox-type', target: target({ type: 'SharedMailbox' }), type: 'Regular', adjustLicence: true }, PROFILE);
      assert.deepEqual(p.steps.map((s) => s.action), ['entra.ensureUsageLocation', 'entra.assignLicence', 'exo.setMailboxType']);
      const r = planRollback(p, run(p, 2), REF);
      assert.deepEqual(summary(r), ['entra.removeLicence entra.assign-licence']);
      assert.deepEqual(keptIds(r), ['entra.usage-location']);
      assert.match(keptLine(r.kept[0]!), /^Changes to an existing object are not undone automatically/);
    });

    it('conversion to Regular that went through but was cancelled: the licence stays with the conversion that needs it', function () {
      const p = plan({ kind: 'mailbox-type', target: target({ type: 'SharedMailbox' }), type: 'Regular', adjustLicence: true }, PROFILE);
      const r = planRollback(p, run(p, 3, 'pending'), REF);
      assert.deepEqual(summary(r), []);
      assert.deepEqual(keptIds(r), ['entra.usage-location', 'entra.assign-licence', 'exo.set-type']);
      assert.match(r.kept[1]!.reason, /the licence stays because the mailbox conversion that needs it/);
      assert.match(r.kept[2]!.reason, /mailbox conversions are not undone automatically/);
    });

    it('a licence that was there before (changed:false) is not removed and needs no line', function () {
      const p = plan({ kind: 'mailbox-type', target: target({ type: 'SharedMailbox' }), type: 'Regular', adjustLicence: true }, PROFILE);
      const r = planRollback(p, run(p, 2, 'failed', { 'entra.assign-licence': { changed: false }, 'entra.usage-location': { changed: false } }), REF);
      assert.deepEqual([summary(r), keptIds(r)], [[], []]);
    });

    it('offboarding: undone as far as it can be, in reverse order; revoked sessions stay', function () {
      const team = { identity: 'team@contoso.example', name: 'Team', type: 'MailUniversalDistributionGroup', primarySmtpAddress: 'team@contoso.example', isDirSynced: true, adDn: `CN=Team,OU=Groups,${BASE}` };
      const boss = { identity: 'manager', name: 'Grace Hopper', type: 'UserMailbox', primarySmtpAddress: 'grace.hopper@contoso.example', isDirSynced: true, exoId: 'exo-grace' };
      const p = plan({
        kind: 'offboarding', target: target(), disableAccount: true, revokeSessions: true, convertToShared: true, removeLicence: true, hideFromAddressLists: true,
        fullAccessFor: { person: boss, as: 'manager' }, autoReply: 'Ada has left.', removeFromGroups: [team],
      }, { ...PROFILE, adHasExchangeSchema: true });
      const before = {
        'exo.auto-reply': { before: { state: 'Disabled', internalMessage: null, externalMessage: null, externalAudience: 'All' } },
        'ad.hide': { changes: { msExchHideFromAddressLists: { before: [] } } },
      };
      const r = planRollback(p, run(p, p.steps.length, 'pending', before), REF);
      assert.deepEqual(summary(r), [
        'entra.assignLicence entra.remove-licence',
        'ad.setAttributes ad.hide',
        'ad.addGroupMember ad.remove-member',
        'exo.setAutoReply exo.auto-reply',
        'exo.revokeMailboxPermission exo.grant',
        'exo.setMailboxType exo.set-type',
        'ad.enableAccount ad.disable-account',
      ]);
      assert.deepEqual(r.steps.find((x) => x.action === 'exo.setMailboxType')?.input, { identity: 'ada.byron@contoso.example', type: 'Regular' });
      assert.deepEqual(r.steps.find((x) => x.action === 'ad.addGroupMember')?.input, { groupDn: `CN=Team,OU=Groups,${BASE}`, memberDn: `CN=Ada Byron,OU=Users,${BASE}` });
      assert.deepEqual(keptIds(r), ['entra.revoke-sessions']);
      assert.match(r.kept[0]?.reason ?? '', /cannot be given back/);
    });

    it('offboarding: a step that changed nothing (the account was disabled already) is neither undone nor kept', function () {
      const p = plan({ kind: 'offboarding', target: target(), disableAccount: true, revokeSessions: false, convertToShared: false, removeLicence: false, hideFromAddressLists: false, removeFromGroups: [] }, PROFILE);
      const r = planRollback(p, run(p, p.steps.length, 'pending', { 'ad.disable-account': { changed: false } }), REF);
      assert.deepEqual([summary(r), keptIds(r)], [[], []]);
    });
  });
});
