import assert from 'node:assert/strict';
import {
  checkApprovalConfig,
  decide,
  expireIfDue,
  expiresAt,
  mayDecide,
  nextReminderAt,
  openApproval,
  reminderDue,
  reminderTimes,
  stagesFor,
  type Actor,
  type ApprovalPolicyConfig,
  type ApprovalState,
} from '../../src/requests/approval-policy';

const HOUR = 3_600_000;
const REQUESTER = 'aaaaaaaa-0000-4000-8000-000000000001';
const ALICE: Actor = { id: 'aaaaaaaa-0000-4000-8000-00000000000a', name: 'Alice Approver', groupIds: [] };
const BOB: Actor = { id: 'aaaaaaaa-0000-4000-8000-00000000000b', name: 'Bob', groupIds: ['GGGGGGGG-0000-4000-8000-0000000000e1'] };
const CAROL: Actor = { id: 'aaaaaaaa-0000-4000-8000-00000000000c', name: 'Carol', groupIds: ['gggggggg-0000-4000-8000-0000000000e2'] };
const MALLORY: Actor = { id: 'aaaaaaaa-0000-4000-8000-0000000000ff', name: 'Mallory', groupIds: ['unrelated'] };

const config: ApprovalPolicyConfig = {
  kinds: {
    'user-mailbox': { approvers: [{ kind: 'user', id: ALICE.id.toUpperCase() }, { kind: 'group', id: 'gggggggg-0000-4000-8000-0000000000e1' }] },
    offboarding: { approvers: [{ kind: 'group', id: 'gggggggg-0000-4000-8000-0000000000e1' }, { kind: 'user', id: ALICE.id }], secondStage: [{ kind: 'group', id: 'gggggggg-0000-4000-8000-0000000000e2' }, { kind: 'user', id: ALICE.id }] },
  },
  fallback: { approvers: [{ kind: 'user', id: ALICE.id }] },
  expiresAfterMs: 72 * HOUR,
  remindAfterMs: [24 * HOUR, 4 * HOUR, 100 * HOUR],
};
const T0 = new Date('2026-11-21T09:00:00.000Z');
const at = (h: number): Date => new Date(T0.getTime() + h * HOUR);

function open(kind: 'user-mailbox' | 'offboarding' = 'user-mailbox', requesterId = REQUESTER): ApprovalState {
  const r = openApproval({ requestId: 'r1', kind, requesterId, now: T0 }, config);
  assert.ok(r.ok);
  return r.state;
}

describe('approval policy', function () {
  it('opens version 1 at stage 1 with the configured number of stages', function () {
    const s = open('offboarding');
    assert.deepEqual([s.version, s.status, s.stage, s.stageCount, s.createdAt], [1, 'pending', 1, 2, T0.toISOString()]);
    assert.equal(stagesFor('mail-contact', config).length, 1, 'fallback applies to unlisted kinds');
    const none = openApproval({ requestId: 'r', kind: 'user-mailbox', requesterId: REQUESTER, now: T0 }, { ...config, kinds: {}, fallback: undefined });
    assert.ok(!none.ok);
    assert.match(none.reason, /Nobody is configured to approve User mailbox requests/);
  });

  it('lets any approver of the stage decide (user id or group), case-insensitively', function () {
    const s = open();
    assert.deepEqual(mayDecide(s, ALICE, config), { ok: true });
    assert.deepEqual(mayDecide(s, BOB, config), { ok: true });
    const m = mayDecide(s, MALLORY, config);
    assert.ok(!m.ok && m.code === 'not-an-approver');
  });

  it('never lets anyone decide their own request', function () {
    const s = open('user-mailbox', ALICE.id.toUpperCase());
    const m = mayDecide(s, ALICE, config);
    assert.ok(!m.ok && m.code === 'own-request');
    const d = decide(s, { actor: ALICE, outcome: 'approve', version: 1, now: at(1) }, config);
    assert.ok(!d.ok && d.code === 'not-allowed');
    assert.match(d.message, /You made this request/);
  });

  it('approves through both stages, by different people', function () {
    let s = open('offboarding');
    const d1 = decide(s, { actor: ALICE, outcome: 'approve', version: 1, now: at(1) }, config);
    assert.ok(d1.ok && d1.effect === 'next-stage');
    s = d1.state;
    assert.deepEqual([s.version, s.stage, s.status, s.stageStartedAt], [2, 2, 'pending', at(1).toISOString()]);
    const again = decide(s, { actor: ALICE, outcome: 'approve', version: 2, now: at(2) }, config);
    assert.ok(!again.ok && /already approved an earlier stage/.test(again.message));
    assert.ok(!decide(s, { actor: BOB, outcome: 'approve', version: 2, now: at(2) }, config).ok, 'Bob is stage 1 only');
    const d2 = decide(s, { actor: CAROL, outcome: 'approve', version: 2, now: at(2) }, config);
    assert.ok(d2.ok && d2.effect === 'approved');
    assert.deepEqual([d2.state.version, d2.state.status, d2.state.closedAt, d2.state.decisions.length], [3, 'approved', at(2).toISOString(), 2]);
  });

  it('rejects only with a reason', function () {
    const s = open();
    const none = decide(s, { actor: BOB, outcome: 'reject', reason: '  ', version: 1, now: at(1) }, config);
    assert.ok(!none.ok && none.code === 'reason-required');
    assert.match(none.message, /Say why/);
    const ctrl = decide(s, { actor: BOB, outcome: 'reject', reason: 'no\u0000', version: 1, now: at(1) }, config);
    assert.ok(!ctrl.ok && ctrl.code === 'reason-required');
    const long = decide(s, { actor: BOB, outcome: 'reject', reason: 'x'.repeat(1001), version: 1, now: at(1) }, config);
    assert.ok(!long.ok && long.code === 'reason-required');
    const d = decide(s, { actor: BOB, outcome: 'reject', reason: ' Use the shared mailbox instead. ', version: 1, now: at(1) }, config);
    assert.ok(d.ok && d.effect === 'rejected');
    assert.equal(d.state.decisions[0]?.reason, 'Use the shared mailbox instead.');
  });

  it('refuses a decision on a decided request, saying by whom and when', function () {
    const d = decide(open(), { actor: BOB, outcome: 'approve', version: 1, now: at(1) }, config);
    assert.ok(d.ok);
    const late = decide(d.state, { actor: ALICE, outcome: 'reject', reason: 'no', version: 2, now: at(2) }, config);
    assert.ok(!late.ok && late.code === 'already-decided');
    assert.equal(late.message, `This request was already approved by Bob at ${at(1).toISOString()}.`);
  });

  it('refuses stale and replayed cards (version mismatch)', function () {
    const s = open('offboarding');
    const d1 = decide(s, { actor: ALICE, outcome: 'approve', version: 1, now: at(1) }, config);
    assert.ok(d1.ok);
    const replay = decide(d1.state, { actor: CAROL, outcome: 'approve', version: 1, now: at(2) }, config);
    assert.ok(!replay.ok && replay.code === 'stale');
    assert.match(replay.message, /out of date \(it shows version 1; the request is at version 2\)/);
  });

  it('expires after the configured time', function () {
    const s = open();
    assert.equal(expiresAt(s, config).toISOString(), at(72).toISOString());
    assert.equal(expireIfDue(s, at(71.9), config), null);
    const e = expireIfDue(s, at(72), config);
    assert.deepEqual([e?.status, e?.version, e?.closedAt], ['expired', 2, at(72).toISOString()]);
    const late = decide(s, { actor: BOB, outcome: 'approve', version: 1, now: at(73) }, config);
    assert.ok(!late.ok && late.code === 'expired');
    assert.ok(e && !decide(e, { actor: BOB, outcome: 'approve', version: 2, now: at(73) }, config).ok);
  });

  it('computes reminder times per stage, before the expiry', function () {
    const s = open('offboarding');
    assert.deepEqual(reminderTimes(s, config).map((d) => d.toISOString()), [at(4).toISOString(), at(24).toISOString()]);
    assert.equal(nextReminderAt(s, config, at(0))?.toISOString(), at(4).toISOString());
    assert.equal(nextReminderAt(s, config, at(4))?.toISOString(), at(24).toISOString());
    assert.equal(nextReminderAt(s, config, at(24)), null);
    assert.equal(reminderDue(s, config, at(3), null), false);
    assert.equal(reminderDue(s, config, at(5), null), true);
    assert.equal(reminderDue(s, config, at(5), at(4.5)), false);
    assert.equal(reminderDue(s, config, at(25), at(4.5)), true);
    const d = decide(s, { actor: ALICE, outcome: 'approve', version: 1, now: at(10) }, config);
    assert.ok(d.ok);
    assert.deepEqual(reminderTimes(d.state, config).map((x) => x.toISOString()), [at(14).toISOString(), at(34).toISOString()], 'the second stage starts its own reminders');
  });

  it('checks the configuration', function () {
    assert.deepEqual(checkApprovalConfig(config), []);
    const bad = checkApprovalConfig({ kinds: { 'new-printer': { approvers: [] } } as never, expiresAfterMs: 0, remindAfterMs: [-1] });
    assert.match(bad.join('\n'), /"new-printer", which is not a request kind/);
    assert.match(bad.join('\n'), /Nobody can approve "User mailbox" requests/);
    assert.match(bad.join('\n'), /expiry must be a positive duration/);
    assert.match(bad.join('\n'), /Reminder times must be positive/);
  });
});
