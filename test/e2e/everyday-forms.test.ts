/**
 * The everyday request kinds, filed by form in the real Teams client and run to done: two Microsoft 365 Agents
 * Playgrounds (Rita the requester, Arnold the approver) driven by headless Chromium against Mailroom in-process with
 * runs on and the shared sandbox. Rita opens each kind's form by its first command phrase, fills it in in the
 * browser and submits it; Arnold presses Approve on his approval card; the durable workflow runs the request to
 * `done`, Rita's status card moves to Done in place, and the outcome is read back from the services themselves:
 * Exchange Online (Get-Mailbox, Get-MailboxPermission, Get-CalendarProcessing, Get-MailboxAutoReplyConfiguration)
 * and AD over LDAP (member, userAccountControl).
 *
 * before() makes, in the suite's own OU, synced and licensed user mailboxes, a synced mail-enabled group and a room.
 */
import assert from 'node:assert/strict';
import type { Locator } from 'playwright-core';
import { type Mailroom } from '../../src/app';
import { KINDS, type KindId } from '../../src/requests';
import type { Sandbox } from '../../src/sandbox';
import { SANDBOX_MAIL_DOMAIN } from '../../src/sandbox/people';
import type { RequestRecord } from '../../src/store';
import { type PlaygroundPage } from '../harness/browser';
import { startPlaygroundMailroom, type PlaygroundMailroom } from '../harness/playground-mailroom';
import { ConformanceSuite, UAC_DISABLED, suitePeople } from '../harness/conformance';
import { QUICK_RUNNER } from '../harness/mailroom';
import { reEscape, storedRequest } from '../harness/requests';
import { choose, newCard, text, toggle } from '../harness/card-forms';
import { getSharedSandbox } from '../harness/sandbox';

const suffix = Date.now().toString(36).slice(-5);
const D = SANDBOX_MAIL_DOMAIN;

const person = suitePeople(suffix);
/** The mailbox the permission, forwarding, hide and automatic reply forms change. */
const TESS = person('ftess');
/** The user given full access, added to the group, and the one mail is forwarded to. */
const UMA = person('fuma');
/** The person who leaves (offboarding). */
const OLGA = person('folga');
/** A room. */
const ROOM = person('froom');
/** A synced, mail-enabled distribution group. */
const GROUP = { name: `fgrp${suffix}`, mail: `fgrp.${suffix}@${D}` };

interface MailboxRow {
  Name?: string;
  RecipientTypeDetails?: string;
  HiddenFromAddressListsEnabled?: boolean;
  ForwardingAddress?: string | null;
  ForwardingSmtpAddress?: string | null;
  DeliverToMailboxAndForward?: boolean;
}
interface PermissionRow {
  User?: string;
  AccessRights?: string[];
}
interface AutoReplyRow {
  AutoReplyState?: string;
  InternalMessage?: string | null;
}
interface CalendarRow {
  AutomateProcessing?: string;
  BookingWindowInDays?: number;
}


const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('the everyday kinds filed by form in two Agents Playgrounds, approved, run to done, and read back from AD and Exchange Online', function () {
  this.timeout(4 * 60_000);
  let sandbox: Sandbox;
  let suite: ConformanceSuite | undefined;
  let pm: PlaygroundMailroom | undefined;
  let app: Mailroom;
  let rita: PlaygroundPage;
  let arnold: PlaygroundPage;
  const dn: Record<string, string> = {};
  let groupDn = '';

  before(async function () {
    this.timeout(5 * 60_000);
    sandbox = await getSharedSandbox();
    suite = await ConformanceSuite.open(sandbox, 'everyday-forms', { delegated: true });
    for (const p of [TESS, UMA, OLGA, ROOM]) {
      dn[p.name] = await suite.addPerson(p);
    }
    groupDn = await suite.addGroup(GROUP.name, { scope: 'universal', security: false, mail: GROUP.mail });
    await suite.sync();
    for (const p of [TESS, UMA, OLGA, ROOM]) await suite.licence(p.upn);
    await suite.exoSet('Set-Mailbox', { Identity: ROOM.upn, Type: 'Room' });
    for (const p of [TESS, UMA, OLGA]) assert.equal((await suite.mailbox(p.upn)).RecipientTypeDetails, 'UserMailbox', `${p.upn} has a user mailbox`);
    assert.equal((await suite.mailbox(ROOM.upn)).RecipientTypeDetails, 'RoomMailbox');
    assert.ok(await suite.exoGet('Get-DistributionGroup', GROUP.mail), 'the synced group is in Exchange Online');

    pm = await startPlaygroundMailroom(sandbox, { name: 'everyday-forms', logVariable: 'EVERYDAY_FORMS_LOG', options: QUICK_RUNNER });
    ({ app, rita, arnold } = pm);
  });

  after(async function () {
    await pm?.stop();
    await suite?.close();
  });

  const exo = async <T>(cmdlet: string, parameters: Record<string, unknown>): Promise<T[]> => (await suite!.exo.invoke<T>(cmdlet, parameters)).value;
  const mailbox = async (identity: string): Promise<MailboxRow> => {
    const rows = await exo<MailboxRow>('Get-Mailbox', { Identity: identity });
    assert.equal(rows.length, 1, `Get-Mailbox ${identity} finds one mailbox`);
    return rows[0]!;
  };
  const fullAccessUsers = async (identity: string): Promise<string[]> =>
    (await exo<PermissionRow>('Get-MailboxPermission', { Identity: identity }))
      .filter((r) => (r.AccessRights ?? []).includes('FullAccess') && !/SELF/.test(r.User ?? ''))
      .map((r) => (r.User ?? '').toLowerCase())
      .sort();
  const autoReply = async (identity: string): Promise<AutoReplyRow> => (await exo<AutoReplyRow>('Get-MailboxAutoReplyConfiguration', { Identity: identity }))[0]!;


  /** The request's steps as `step:status` with their errors, for a failure message. */
  async function stepsOf(r: RequestRecord): Promise<string> {
    const steps = await app.store.runs.listByRequest(r.id);
    return steps.map((s) => `${s.stepId}:${s.status}${s.error ? ` (${s.error})` : ''}`).join(', ');
  }

  /**
   * Rita opens the form of `kind` by its first command phrase, `fill`s it in and submits it; asserts the values the
   * browser submitted; Arnold approves on his approval card; waits until the request is done (fails at once with the
   * step errors when it fails) and until Rita's status card reads Done. Resolves with the stored record.
   */
  async function fileByForm(kind: KindId, fill: (form: Locator) => Promise<void>, values: Record<string, string>): Promise<RequestRecord> {
    const title = KINDS[kind].title;
    const phrase = KINDS[kind].command.phrases[0]!;

    // Rita: the form, filled in and submitted; the status card replaces it.
    await rita.page.bringToFront();
    const form = await newCard(rita, new RegExp(`New request: ${reEscape(title)}`), () => rita.send(phrase), 30_000);
    await fill(form);
    const status = await newCard(rita, new RegExp(`R-\\d+ · ${reEscape(title)}[\\s\\S]*Waiting for approval`), () => form.getByRole('button', { name: 'Submit request' }).click(), 30_000);
    const statusText = await status.innerText();
    const reference = new RegExp(`(R-\\d+) · ${reEscape(title)}`).exec(statusText)?.[1];
    assert.ok(reference, `the status card names the request:\n${statusText}`);
    const filed = await storedRequest(app.store, reference);
    assert.ok(filed, `the store has ${reference}`);
    for (const [id, value] of Object.entries(values)) assert.equal(filed.record.values[id], value, `the form submitted ${id}`);

    // Arnold approves.
    await arnold.page.bringToFront();
    const approval = await arnold.waitForCard(`${reference} · ${title}`, 30_000);
    await approval.getByRole('button', { name: 'Approve' }).waitFor();
    assert.match(await approval.innerText(), /Requested by Rita Requester/);
    await approval.getByRole('button', { name: 'Approve' }).click();
    // the card says who approved: the answer to the click ("Approved by …"), or, when a quick run overtook it before it
    // was seen, the run's update ("Done at … (approved by …)")
    const approved = new RegExp(`${reEscape(reference)} · ${reEscape(title)}[\\s\\S]*[Aa]pproved by Arnold Approver at`);
    try {
      await arnold.waitForCard(approved, 20_000);
    } catch {
      // A click that lands while the Playground re-renders the card (an update arriving that moment) is lost before
      // anything is sent. Only then, with no decision stored, is Approve pressed again; a stored decision whose card
      // never changed fails here.
      const now = await storedRequest(app.store, reference);
      assert.deepEqual([now?.record.status, now?.decisions.length], ['pending-approval', 0], `Arnold's Approve on ${reference} was taken, but his card does not say so`);
      await arnold.card(`${reference} · ${title}`).getByRole('button', { name: 'Approve' }).click();
      await arnold.waitForCard(approved, 30_000);
    }

    // The run: done in the store (or its failure with the steps' errors).
    const end = Date.now() + 90_000;
    let record: RequestRecord | undefined;
    for (;;) {
      record = (await storedRequest(app.store, reference))?.record;
      assert.ok(record, `the store has ${reference}`);
      if (record.status === 'done') break;
      if (record.status === 'failed' || record.status === 'rejected' || record.status === 'cancelled' || Date.now() > end) {
        assert.fail(`${reference} (${title}, filed by form) did not run to done: it is ${record.status}${record.error ? `: ${record.error}` : ''}; steps: ${await stepsOf(record)}`);
      }
      await sleep(150);
    }

    // Rita's status card changes in place to Done.
    await rita.page.bringToFront();
    const done = rita.card(new RegExp(`${reEscape(reference)} · ${reEscape(title)}[\\s\\S]*Done at`));
    const cardEnd = Date.now() + 30_000;
    while (!(await done.isVisible())) {
      if (Date.now() > cardEnd) {
        const last: string = await rita.card(`${reference} · ${title}`).innerText().catch(() => '(no card)');
        assert.fail(`${reference} is done in the store, but Rita's status card does not read Done; it reads:\n${last}`);
      }
      await rita.page.waitForTimeout(200);
    }
    const doneText = await done.innerText();
    assert.match(doneText, /approved by Arnold Approver/);
    assert.doesNotMatch(doneText, /[○▶⏳✖] \d\./, 'no step is left pending, running, waiting or failed on the card');
    const steps = await app.store.runs.listByRequest(record.id);
    assert.ok(steps.length > 0 && steps.every((s) => s.status === 'done'), await stepsOf(record));
    return record;
  }

  it('grant full access (form: Full access, one user): Get-MailboxPermission shows FullAccess for the user', async function () {
    assert.deepEqual(await fullAccessUsers(TESS.upn), [], 'nobody has full access before');
    await fileByForm(
      'mailbox-permission-grant',
      async (f) => {
        await text(f, /^Mailbox/, TESS.mail);
        await choose(f, /^Permission/, /^Full access/);
        await text(f, /^Users/, UMA.mail);
      },
      { identity: TESS.mail, permission: 'FullAccess', users: UMA.mail },
    );
    assert.deepEqual(await fullAccessUsers(TESS.upn), [UMA.upn.toLowerCase()]);
  });

  it('add group member (form): AD member of the synced group has the user\'s DN', async function () {
    const before = (await suite!.readAd(groupDn, 'member')).map((x) => x.toLowerCase());
    assert.ok(!before.includes(dn[UMA.name]!.toLowerCase()), 'not a member before');
    await fileByForm(
      'group-member-add',
      async (f) => {
        await text(f, /^Group/, GROUP.mail);
        await text(f, /^Members/, UMA.mail);
      },
      { identity: GROUP.mail, members: UMA.mail },
    );
    const members = (await suite!.readAd(groupDn, 'member')).map((x) => x.toLowerCase());
    assert.deepEqual(members, [dn[UMA.name]!.toLowerCase()]);
  });

  it('forward (form: to another mailbox, keep a copy): Get-Mailbox ForwardingAddress is that mailbox, DeliverToMailboxAndForward true', async function () {
    assert.equal((await mailbox(TESS.upn)).ForwardingAddress ?? null, null, 'no forwarding before');
    await fileByForm(
      'forwarding-set',
      async (f) => {
        await text(f, /^Mailbox/, TESS.mail);
        await text(f, /^Forward to/, UMA.mail);
        await toggle(f, /^Keep a copy/, true);
      },
      { identity: TESS.mail, forwardTo: UMA.mail, keepCopy: 'true' },
    );
    const row = await mailbox(TESS.upn);
    assert.equal(row.ForwardingAddress, (await mailbox(UMA.upn)).Name);
    assert.equal(row.ForwardingSmtpAddress ?? null, null);
    assert.equal(row.DeliverToMailboxAndForward, true);
  });

  it('hide from address lists (form: Hidden): Get-Mailbox HiddenFromAddressListsEnabled true', async function () {
    assert.equal((await mailbox(TESS.upn)).HiddenFromAddressListsEnabled ?? false, false, 'shown before');
    await fileByForm(
      'address-list-visibility',
      async (f) => {
        await text(f, /^Mailbox/, TESS.mail);
        await choose(f, /^Address lists/, /^Hidden/);
      },
      { identity: TESS.mail, visibility: 'hidden' },
    );
    assert.equal((await mailbox(TESS.upn)).HiddenFromAddressListsEnabled, true);
  });

  it('room booking (form: held for its delegates, a 30-day window): Get-CalendarProcessing AutomateProcessing AutoUpdate, BookingWindowInDays 30', async function () {
    const before = (await exo<CalendarRow>('Get-CalendarProcessing', { Identity: ROOM.upn }))[0]!;
    assert.notDeepEqual([before.AutomateProcessing, before.BookingWindowInDays], ['AutoUpdate', 30], 'other settings before');
    await fileByForm(
      'booking',
      async (f) => {
        await text(f, /^Room or equipment mailbox/, ROOM.mail);
        await choose(f, /^Booking requests/, /Held for its delegates/);
        await f.getByRole('spinbutton', { name: /^Booking window/ }).fill('30');
      },
      { identity: ROOM.mail, processing: 'delegates', bookingWindow: '30' },
    );
    const after = (await exo<CalendarRow>('Get-CalendarProcessing', { Identity: ROOM.upn }))[0]!;
    assert.equal(after.AutomateProcessing, 'AutoUpdate');
    assert.equal(after.BookingWindowInDays, 30);
  });

  it('automatic replies (form: On, a reply): Get-MailboxAutoReplyConfiguration Enabled, the reply inside InternalMessage', async function () {
    const reply = `Away this week (${suffix}).`;
    assert.equal((await autoReply(TESS.upn)).AutoReplyState, 'Disabled', 'off before');
    await fileByForm(
      'auto-reply',
      async (f) => {
        await text(f, /^Mailbox/, TESS.mail);
        await choose(f, /^Automatic replies/, /^On/);
        await text(f, /^Reply$/, reply);
      },
      { identity: TESS.mail, state: 'on', message: reply },
    );
    const row = await autoReply(TESS.upn);
    assert.equal(row.AutoReplyState, 'Enabled');
    assert.ok((row.InternalMessage ?? '').includes(reply), `InternalMessage holds the reply (Exchange keeps it as HTML): ${row.InternalMessage ?? '(empty)'}`);
  });

  it('offboarding (form: recipient, an automatic reply, full access for another mailbox): AD account disabled, shared mailbox, FullAccess for that person, reply on', async function () {
    const reply = `Olga has left. Please write to ${UMA.mail}.`;
    await fileByForm(
      'offboarding',
      async (f) => {
        await text(f, /^Recipient/, OLGA.mail);
        await text(f, /^Automatic reply/, reply);
        await text(f, /^Full access to the mailbox for/, UMA.mail);
      },
      { identity: OLGA.mail, autoReply: reply, fullAccessFor: UMA.mail, disableAccount: 'true', convertToShared: 'true' },
    );
    const uac = Number((await suite!.readAd(dn[OLGA.name]!, 'userAccountControl'))[0]);
    assert.equal(uac & 0x2, UAC_DISABLED & 0x2, `the AD account is disabled (userAccountControl ${uac})`);
    assert.equal((await mailbox(OLGA.upn)).RecipientTypeDetails, 'SharedMailbox');
    assert.deepEqual(await fullAccessUsers(OLGA.upn), [UMA.upn.toLowerCase()]);
    const row = await autoReply(OLGA.upn);
    assert.equal(row.AutoReplyState, 'Enabled');
    assert.ok((row.InternalMessage ?? '').includes('Olga has left.'), `InternalMessage holds the reply: ${row.InternalMessage ?? '(empty)'}`);
  });
});
