/**
 * Plans and roll backs of hide from / show in address lists: where the flag is written and why (AD's
 * msExchHideFromAddressLists while AD masters the mailbox and has Exchange's schema, else Exchange Online's
 * HiddenFromAddressListsEnabled, cloud-managed first where needed), and that a roll back puts back what was there.
 */
import assert from 'node:assert/strict';
import { plan, type Plan } from '../../src/plans/planner';
import { planRollback, type RunStepFacts } from '../../src/plans/rollback';
import { BASE, CLOUD_DEFAULT, PROFILE } from '../requests/fixtures';
import { target } from './fixtures';

const adaDn = `CN=Ada Byron,OU=Users,${BASE}`;
const ada = target({ identity: 'ada', name: 'Ada Byron', type: 'UserMailbox', primarySmtpAddress: 'ada.byron@contoso.example', adDn: adaDn, userPrincipalName: 'ada.byron@contoso.example' });
const managed = target({ ...ada, isExchangeCloudManaged: true });
const cloud = target({ identity: 'cloud.only', name: 'Cloud Only', type: 'SharedMailbox', primarySmtpAddress: 'cloud.only@contoso.example', isDirSynced: false, exoId: 'c0c0c0c0-0000-4000-8000-000000000001' });
const SCHEMA = { ...PROFILE, adHasExchangeSchema: true };

const actions = (p: Plan): string[] => p.steps.map((s) => s.action);
const run = (p: Plan, result: (i: number) => Record<string, unknown>): RunStepFacts[] =>
  p.steps.map((s, i) => ({ stepId: s.id, action: s.action, status: 'done', input: s.input, result: result(i) }));

describe('plans: hide from / show in address lists', function () {
  it('AD masters the mailbox and has Exchange\'s schema: msExchHideFromAddressLists in AD, then wait for sync; the note says why', function () {
    const p = plan({ kind: 'address-list-visibility', target: ada, hidden: true }, SCHEMA);
    assert.equal(p.title, 'Hide Ada Byron (ada.byron@contoso.example) from address lists');
    assert.deepEqual(actions(p), ['ad.setAttributes', 'exo.awaitRecipient']);
    assert.deepEqual(p.steps[0]?.input, { dn: adaDn, replace: { msExchHideFromAddressLists: 'TRUE' } });
    assert.deepEqual((p.steps[1]?.input as { expect: unknown }).expect, { hiddenFromAddressListsEnabled: true });
    assert.ok(p.notes.some((n) => /AD masters its Exchange attributes, hiding from address lists \(msExchHideFromAddressLists/.test(n)));
    const show = plan({ kind: 'address-list-visibility', target: ada, hidden: false }, SCHEMA);
    assert.deepEqual(show.steps[0]?.input, { dn: adaDn, replace: { msExchHideFromAddressLists: 'FALSE' } });
  });

  it('AD without Exchange\'s schema: cloud-managed first (with the divergence warning), then Set-Mailbox', function () {
    const p = plan({ kind: 'address-list-visibility', target: ada, hidden: true }, PROFILE);
    assert.deepEqual(actions(p), ['exo.setCloudManaged', 'exo.setHiddenFromAddressLists']);
    assert.deepEqual(p.steps[1]?.input, { identity: 'ada.byron@contoso.example', recipientType: 'UserMailbox', hidden: true });
    assert.ok(p.notes.some((n) => /AD has no Exchange schema/.test(n)));
    assert.ok(p.warnings.some((w) => /IsExchangeCloudManaged=True/.test(w)));
  });

  it('cloud-managed and cloud-only mailboxes: Exchange Online only; cloud-default tenant: cloud-managed first', function () {
    const m = plan({ kind: 'address-list-visibility', target: managed, hidden: false }, SCHEMA);
    assert.deepEqual(actions(m), ['exo.setHiddenFromAddressLists']);
    assert.match(m.steps[0]?.summary ?? '', /Show Ada Byron in address lists in Exchange Online \(Set-Mailbox -HiddenFromAddressListsEnabled \$false\)/);
    assert.ok(m.notes.some((n) => /is cloud-managed/.test(n)));
    const c = plan({ kind: 'address-list-visibility', target: cloud, hidden: true }, PROFILE);
    assert.deepEqual(c.steps.map((s) => s.input), [{ identity: cloud.exoId, recipientType: 'SharedMailbox', hidden: true }]);
    assert.ok(c.notes.some((n) => /is cloud-only/.test(n)));
    assert.deepEqual(actions(plan({ kind: 'address-list-visibility', target: ada, hidden: true }, CLOUD_DEFAULT)), ['exo.setCloudManaged', 'exo.setHiddenFromAddressLists']);
  });

  it('offboarding still hides through the same steps', function () {
    const p = plan({ kind: 'offboarding', target: ada, disableAccount: false, revokeSessions: false, convertToShared: false, removeLicence: false, hideFromAddressLists: true, removeFromGroups: [] }, SCHEMA);
    assert.deepEqual(actions(p), ['ad.setAttributes', 'exo.awaitRecipient']);
  });
});

describe('roll back: hide from / show in address lists', function () {
  it('Exchange Online: sets the flag back where the step changed it; nothing where it was already so', function () {
    const p = plan({ kind: 'address-list-visibility', target: managed, hidden: true }, SCHEMA);
    const rb = planRollback(p, run(p, () => ({ changed: true })), 'MR-1');
    assert.deepEqual(rb.steps.map((s) => [s.action, s.input]), [['exo.setHiddenFromAddressLists', { identity: 'ada.byron@contoso.example', recipientType: 'UserMailbox', hidden: false }]]);
    assert.match(rb.steps[0]?.summary ?? '', /Show ada\.byron@contoso\.example in address lists again, as before MR-1/);
    const none = planRollback(p, run(p, () => ({ changed: false })), 'MR-1');
    assert.deepEqual([none.steps, none.kept], [[], []]);
    // a try after a crash found it hidden, with the intent an earlier try recorded before writing: that try hid it
    const crashed = planRollback(p, run(p, () => ({ changed: false, changedByEarlierTry: true })), 'MR-1');
    assert.deepEqual(crashed.steps.map((s) => s.action), ['exo.setHiddenFromAddressLists']);
  });

  it('AD: restores the values the step found (cleared when there were none); the cloud-managed flip stays', function () {
    const p = plan({ kind: 'address-list-visibility', target: ada, hidden: true }, SCHEMA);
    const unset = planRollback(p, run(p, (i) => (i === 0 ? { changed: true, changes: { msExchHideFromAddressLists: { before: [], after: ['TRUE'] } } } : { changed: false })), 'MR-2');
    assert.deepEqual(unset.steps.map((s) => [s.action, s.input]), [['ad.setAttributes', { dn: adaDn, replace: { msExchHideFromAddressLists: [] } }]]);
    assert.match(unset.steps[0]?.summary ?? '', /Clear msExchHideFromAddressLists/);
    const wasFalse = planRollback(p, run(p, (i) => (i === 0 ? { changed: true, changes: { msExchHideFromAddressLists: { before: ['FALSE'], after: ['TRUE'] } } } : { changed: false })), 'MR-2');
    assert.deepEqual(wasFalse.steps.map((s) => s.input), [{ dn: adaDn, replace: { msExchHideFromAddressLists: ['FALSE'] } }]);
    const flipped = plan({ kind: 'address-list-visibility', target: ada, hidden: true }, PROFILE);
    const rb = planRollback(flipped, run(flipped, () => ({ changed: true })), 'MR-3');
    assert.deepEqual(rb.steps.map((s) => s.action), ['exo.setHiddenFromAddressLists']);
    assert.ok(rb.kept.some((k) => /cloud-managed setting is not changed back/.test(k.reason)));
  });
});

describe('plans and roll back: forwarding', function () {
  const grace = { identity: 'grace', name: 'Grace Hopper', type: 'UserMailbox', primarySmtpAddress: 'grace.hopper@contoso.example', isDirSynced: true, adDn: `CN=Grace Hopper,OU=Users,${BASE}`, userPrincipalName: 'grace.hopper@contoso.example' };

  it('to a recipient: one Set-Mailbox step in Exchange Online, also for a synced mailbox managed from AD (no cloud-managed switch)', function () {
    const p = plan({ kind: 'forwarding-set', target: ada, recipient: grace, keepCopy: true }, SCHEMA);
    assert.equal(p.title, 'Forward the mail of Ada Byron to Grace Hopper');
    assert.deepEqual(actions(p), ['exo.setForwarding']);
    assert.deepEqual(p.steps[0]?.input, {
      identity: 'ada.byron@contoso.example', mailboxName: 'Ada Byron', forwardingAddress: 'grace.hopper@contoso.example',
      forwardingAddressKeys: ['Grace Hopper', 'grace.hopper@contoso.example', `CN=Grace Hopper,OU=Users,${BASE}`, 'grace'], forwardingSmtpAddress: null, deliverToMailboxAndForward: true,
    });
    assert.ok(p.notes.some((n) => /Forwarding is Exchange Online's own setting/.test(n)));
    assert.ok(p.notes.some((n) => /A copy of each message stays in the mailbox/.test(n)));
    assert.deepEqual(p.warnings, []);
  });

  it('to an outside address: ForwardingSmtpAddress, with the outbound spam policy warning; off: both cleared', function () {
    const p = plan({ kind: 'forwarding-set', target: cloud, smtpAddress: 'pat@partner.example', keepCopy: false }, PROFILE);
    assert.deepEqual(p.steps[0]?.input, { identity: cloud.exoId, mailboxName: 'Cloud Only', forwardingAddress: null, forwardingSmtpAddress: 'pat@partner.example', deliverToMailboxAndForward: false });
    assert.ok(p.warnings.some((w) => /outbound spam filter policy blocks automatic forwarding/.test(w)));
    assert.ok(p.notes.some((n) => /Messages are only forwarded/.test(n)));
    const off = plan({ kind: 'forwarding-off', target: ada }, PROFILE);
    assert.deepEqual(off.steps.map((s) => s.input), [{ identity: 'ada.byron@contoso.example', mailboxName: 'Ada Byron', forwardingAddress: null, forwardingSmtpAddress: null, deliverToMailboxAndForward: false }]);
    assert.equal(off.title, 'Stop forwarding the mail of Ada Byron (ada.byron@contoso.example)');
  });

  it('roll back puts back the forwarding the step found (also after a crash); nothing when the step changed nothing', function () {
    const p = plan({ kind: 'forwarding-set', target: ada, recipient: grace, keepCopy: true }, PROFILE);
    const before = { forwardingAddress: null, forwardingSmtpAddress: 'old@partner.example', deliverToMailboxAndForward: false };
    const rb = planRollback(p, run(p, () => ({ changed: true, before })), 'MR-4');
    assert.deepEqual(rb.steps.map((s) => [s.action, s.input]), [['exo.setForwarding', { identity: 'ada.byron@contoso.example', mailboxName: 'Ada Byron', ...before }]]);
    assert.match(rb.steps[0]?.summary ?? '', /Forward the mail of Ada Byron to old@partner\.example again, without a copy, as before MR-4/);
    const crashed = planRollback(p, run(p, () => ({ changed: false, changedByEarlierTry: true, before: { forwardingAddress: null, forwardingSmtpAddress: null, deliverToMailboxAndForward: false } })), 'MR-4');
    assert.match(crashed.steps[0]?.summary ?? '', /Turn off forwarding of Ada Byron again \(it had none before MR-4\)/);
    const none = planRollback(p, run(p, () => ({ changed: false, before })), 'MR-4');
    assert.deepEqual([none.steps, none.kept], [[], []]);
  });
});
