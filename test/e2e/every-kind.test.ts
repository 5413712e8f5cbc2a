/**
 * Every request kind in the real Teams client: two Microsoft 365 Agents Playgrounds (Rita the requester, Arnold
 * the approver) driven by headless Chromium against Mailroom in-process and the shared sandbox. Rita files each
 * kind by its one-line command, and the creating kinds (and a few change kinds) also by filling in the form in
 * the browser; Arnold approves or rejects each on his approval card, alternately, typing the reason to reject.
 *
 * Approval only decides here ({ runRequests: false }): the runs are proven elsewhere, so the requests of one kind
 * may share names and targets. The change kinds target one synced, licensed mailbox that before() makes in the
 * suite's own OU.
 */
import assert from 'node:assert/strict';
import type { Locator } from 'playwright-core';
import { type Mailroom } from '../../src/app';
import { KINDS, type KindId } from '../../src/requests';
import type { Sandbox } from '../../src/sandbox';
import { SANDBOX_MAIL_DOMAIN } from '../../src/sandbox/people';
import type { PlaygroundPage } from '../harness/browser';
import { startPlaygroundMailroom, type PlaygroundMailroom } from '../harness/playground-mailroom';
import { ConformanceSuite } from '../harness/conformance';
import { reEscape, RITA, storedRequest } from '../harness/requests';
import { choose, newCard, text, toggle } from '../harness/card-forms';
import { getSharedSandbox } from '../harness/sandbox';


const suffix = Date.now().toString(36).slice(-5);
const D = SANDBOX_MAIL_DOMAIN;

/** A second synced, licensed mailbox: the user given permissions on T, and the member added to G. */
const U = { name: `uma${suffix}`, upn: `uma${suffix}@${D}`, primary: `uma.${suffix}@${D}` };
/** A leave date two weeks ahead (the offboarding by command is scheduled). */
const LEAVE_DATE = new Date(Date.now() + 14 * 86_400_000).toISOString().slice(0, 10);
/** A synced room mailbox the booking kind targets. */
const R = { name: `rho${suffix}`, upn: `rho${suffix}@${D}`, primary: `rho.${suffix}@${D}` };
/** A synced, mail-enabled group the member kinds target. */
const G = { name: `gina${suffix}`, mail: `gina${suffix}@${D}` };

/** The synced, licensed mailbox the change kinds target (made in before()). */
const T = {
  name: `tess${suffix}`,
  upn: `tess${suffix}@${D}`,
  displayName: `Tess Target ${suffix}`,
  alias: `tess.${suffix}`,
  primary: `tess.${suffix}@${D}`,
  secondary: `tt.${suffix}@${D}`,
};


/** The kinds whose forms and approval cards are screenshot (a few representative ones). */
const SHOT_KINDS = new Set<KindId>(['user-mailbox', 'distribution-group', 'mailbox-type']);

interface KindCase {
  readonly kind: KindId;
  /** A valid one-line command, a value its cards show, and a step of its plan. */
  readonly command: string;
  readonly shows: string;
  readonly plan: RegExp;
  /** Filled in by hand in the browser, and a value the cards then show. */
  readonly form?: {
    /** What Rita types to get the form (default: the kind's first phrase). */
    readonly opens?: string;
    readonly fill: (form: Locator) => Promise<void>;
    readonly shows: string;
    /** What the browser must have submitted (field id → stored text), choice sets and toggles included. */
    readonly values: Record<string, string>;
  };
}

const CASES: readonly KindCase[] = [
  {
    kind: 'user-mailbox',
    command: `new mailbox first=Ada last=Cmd${suffix} department=Research title="Lab lead"`,
    shows: `Ada Cmd${suffix}`,
    plan: /Assign the .+ licence/,
    form: {
      values: { firstName: 'Grace', lastName: `Form${suffix}`, department: 'Engineering', usageLocation: 'GB' },
      shows: `Grace Form${suffix}`,
      fill: async (f) => {
        await text(f, /^First name/, 'Grace');
        await text(f, /^Last name/, `Form${suffix}`);
        await text(f, /^Department/, 'Engineering');
        await choose(f, /^Usage location/, 'United Kingdom (GB)');
      },
    },
  },
  {
    kind: 'shared-mailbox',
    command: `new shared mailbox name="Team Sales ${suffix}" alias=sales-${suffix}`,
    shows: `Team Sales ${suffix}`,
    plan: /Convert the mailbox to Shared/,
    form: {
      values: { displayName: `Team Support ${suffix}`, alias: `support-${suffix}` },
      shows: `Team Support ${suffix}`,
      fill: async (f) => {
        await text(f, /^Name/, `Team Support ${suffix}`);
        await text(f, /^Alias/, `support-${suffix}`);
      },
    },
  },
  {
    kind: 'room-mailbox',
    command: `new room name="Board Room ${suffix}" capacity=12`,
    shows: `Board Room ${suffix}`,
    plan: /capacity to 12/,
    form: {
      values: { displayName: `Huddle Room ${suffix}`, capacity: '4' },
      shows: `Huddle Room ${suffix}`,
      fill: async (f) => {
        await text(f, /^Name/, `Huddle Room ${suffix}`);
        await f.getByRole('spinbutton', { name: /^Capacity/ }).fill('4');
      },
    },
  },
  {
    kind: 'equipment-mailbox',
    command: `new equipment name="Pool Car ${suffix}"`,
    shows: `Pool Car ${suffix}`,
    plan: /Convert the mailbox to Equipment/,
    form: {
      values: { displayName: `Projector ${suffix}`, usageLocation: 'FR' },
      shows: `Projector ${suffix}`,
      fill: async (f) => {
        await text(f, /^Name/, `Projector ${suffix}`);
        await choose(f, /^Usage location/, 'France (FR)');
      },
    },
  },
  {
    kind: 'mail-user',
    command: `new mail user first=Pat last=Partner${suffix} email=pat.${suffix}@partner.example company="Partner Ltd"`,
    shows: `Pat Partner${suffix}`,
    plan: new RegExp(`targetAddress SMTP:pat\\.${suffix}@partner\\.example`),
    form: {
      values: { firstName: 'Quinn', lastName: `Vendor${suffix}`, externalAddress: `quinn.${suffix}@vendor.example` },
      shows: `Quinn Vendor${suffix}`,
      fill: async (f) => {
        await text(f, /^First name/, 'Quinn');
        await text(f, /^Last name/, `Vendor${suffix}`);
        await text(f, /^External email address/, `quinn.${suffix}@vendor.example`);
      },
    },
  },
  {
    kind: 'mail-contact',
    command: `new contact name="Ada Partner ${suffix}" email=ada.${suffix}@partner.example`,
    shows: `Ada Partner ${suffix}`,
    plan: /Create the AD contact/,
    form: {
      values: { displayName: `Ben Supplier ${suffix}`, externalAddress: `ben.${suffix}@supplier.example`, company: 'Supplier plc' },
      shows: `Ben Supplier ${suffix}`,
      fill: async (f) => {
        await text(f, /^Name/, `Ben Supplier ${suffix}`);
        await text(f, /^External email address/, `ben.${suffix}@supplier.example`);
        await text(f, /^Company/, 'Supplier plc');
      },
    },
  },
  {
    kind: 'distribution-group',
    command: `new group name="Sales Team ${suffix}" security=yes members=${T.primary}`,
    shows: `Sales Team ${suffix}`,
    plan: new RegExp(`security group .* and 1 member: ${T.displayName}`),
    form: {
      values: { displayName: `Ops Team ${suffix}`, scope: 'global', securityEnabled: 'true', description: 'Operations' },
      shows: `Ops Team ${suffix}`,
      fill: async (f) => {
        await text(f, /^Name/, `Ops Team ${suffix}`);
        await choose(f, /^Group scope/, 'Global');
        await toggle(f, /^Security group/, true);
        await text(f, /^Description/, 'Operations');
      },
    },
  },
  {
    kind: 'primary-address',
    command: `change primary ${T.primary} new=tess.new.${suffix}@${D}`,
    shows: T.primary,
    plan: new RegExp(`Set mail to tess\\.new\\.${suffix}@`),
  },
  {
    kind: 'secondary-address-add',
    command: `add address ${T.primary} address=tess.extra.${suffix}@${D}`,
    shows: T.primary,
    plan: new RegExp(`Add smtp:tess\\.extra\\.${suffix}@`),
  },
  {
    kind: 'secondary-address-remove',
    command: `remove address ${T.primary} address=${T.secondary}`,
    shows: T.primary,
    plan: new RegExp(`Remove smtp:${reEscape(T.secondary)}`),
  },
  {
    kind: 'cloud-managed',
    command: `cloud-managed ${T.primary} on`,
    shows: T.primary,
    plan: /IsExchangeCloudManaged=True/,
  },
  {
    kind: 'mailbox-type',
    command: `convert ${T.primary} to shared`,
    shows: T.primary,
    plan: new RegExp(`Convert the mailbox of ${T.displayName} to Shared`),
    form: {
      values: { identity: T.alias, type: 'Room', adjustLicence: 'false' },
      shows: T.alias,
      fill: async (f) => {
        await text(f, /^Recipient/, T.alias);
        await choose(f, /^Convert to/, 'Room');
        await toggle(f, /^Adjust the licence/, false);
      },
    },
  },
  {
    kind: 'offboarding',
    command: `offboard ${T.primary} when=${LEAVE_DATE}`,
    shows: T.primary,
    plan: /Wait until the leave date[\s\S]*Disable the AD account/,
    form: {
      values: { identity: T.alias, disableAccount: 'true', hideFromAddressLists: 'false', autoReply: 'Tess has left.', fullAccessFor: U.primary },
      shows: T.alias,
      fill: async (f) => {
        await text(f, /^Recipient/, T.alias);
        await toggle(f, /^Hide from address lists/, false);
        await text(f, /^Automatic reply/, 'Tess has left.');
        await text(f, /^Full access to the mailbox for/, U.primary);
      },
    },
  },
  {
    kind: 'mailbox-permission-grant',
    command: `grant full access on ${T.primary} to ${U.primary}`,
    shows: T.primary,
    plan: /Add-MailboxPermission -AccessRights FullAccess -AutoMapping \$true/,
    form: {
      // "grant send as" alone opens the form with the permission chosen
      opens: 'grant send as',
      values: { identity: T.alias, permission: 'SendAs', users: U.primary },
      shows: T.alias,
      fill: async (f) => {
        await text(f, /^Mailbox/, T.alias);
        await text(f, /^Users/, U.primary);
      },
    },
  },
  {
    kind: 'mailbox-permission-revoke',
    command: `revoke send as on ${T.primary} from ${U.primary}`,
    shows: T.primary,
    plan: /Remove-RecipientPermission -AccessRights SendAs/,
  },
  {
    kind: 'group-member-add',
    command: `add member ${U.primary} to ${G.mail}`,
    shows: G.mail,
    plan: /to the AD group/,
    form: {
      values: { identity: G.mail, members: `${U.primary}, ${T.primary}` },
      shows: G.mail,
      fill: async (f) => {
        await text(f, /^Group/, G.mail);
        await text(f, /^Members/, `${U.primary}, ${T.primary}`);
      },
    },
  },
  {
    kind: 'group-member-remove',
    command: `remove member ${U.primary} from ${G.mail}`,
    shows: G.mail,
    plan: /from the AD group/,
  },
  {
    kind: 'address-list-visibility',
    command: `hide from address lists ${T.primary}`,
    shows: T.primary,
    plan: /HiddenFromAddressListsEnabled \$true/,
  },
  {
    kind: 'forwarding-set',
    command: `forward ${T.primary} to ${U.primary}`,
    shows: T.primary,
    plan: /Forward the mail of .* keeping a copy/,
    form: {
      values: { identity: T.alias, forwardTo: `ext.${suffix}@partner.example`, keepCopy: 'false' },
      shows: T.alias,
      fill: async (f) => {
        await text(f, /^Mailbox/, T.alias);
        await text(f, /^Forward to/, `ext.${suffix}@partner.example`);
        await toggle(f, /^Keep a copy/, false);
      },
    },
  },
  {
    kind: 'forwarding-off',
    command: `stop forwarding ${T.primary}`,
    shows: T.primary,
    plan: /Turn off forwarding/,
  },
  {
    kind: 'booking',
    command: `booking ${R.primary} processing=accept window=90 bookers=everyone`,
    shows: R.primary,
    plan: /bookable up to 90 days ahead/,
    form: {
      values: { identity: R.primary, processing: 'delegates', bookingWindow: '30', conflicts: 'allow', bookers: U.primary },
      shows: R.primary,
      fill: async (f) => {
        await text(f, /^Room or equipment mailbox/, R.primary);
        await choose(f, /^Booking requests/, /Held for its delegates/);
        await f.getByRole('spinbutton', { name: /^Booking window/ }).fill('30');
        await choose(f, /^Conflicting bookings/, /Accepted as well/);
        await text(f, /^Who may book/, U.primary);
      },
    },
  },
  {
    kind: 'auto-reply',
    command: `auto reply ${T.primary} on message="Away this week."`,
    shows: T.primary,
    plan: /Set the automatic reply of .* "Away this week\."/,
    form: {
      values: { identity: T.alias, state: 'on', message: 'Back on Monday.', audience: 'none' },
      shows: T.alias,
      fill: async (f) => {
        await text(f, /^Mailbox/, T.alias);
        await choose(f, /^Automatic replies/, /^On/);
        await text(f, /^Reply$/, 'Back on Monday.');
        await choose(f, /^Outside senders who get a reply/, /^None/);
      },
    },
  },
];

describe('every request kind in two Agents Playgrounds: filed by command and by form, approved and rejected', function () {
  this.timeout(180_000);
  let sandbox: Sandbox;
  let suite: ConformanceSuite | undefined;
  let pm: PlaygroundMailroom | undefined;
  let app: Mailroom;
  let rita: PlaygroundPage;
  let arnold: PlaygroundPage;
  /** How many requests Arnold decided so far; even ones he approves, odd ones he rejects. */
  let decided = 0;
  const outcomes = { approved: 0, rejected: 0 };
  const shots = new Set<string>();

  before(async function () {
    sandbox = await getSharedSandbox();

    // the target of the change kinds: a synced AD user with mail and a secondary address, licensed
    suite = await ConformanceSuite.open(sandbox, 'every-kind', { delegated: true });
    await suite.addUser(T.name, { displayName: T.displayName, mail: T.primary, mailNickname: T.alias, proxyAddresses: [`SMTP:${T.primary}`, `smtp:${T.secondary}`] });
    await suite.addUser(U.name, { displayName: `Uma User ${suffix}`, mail: U.primary, mailNickname: U.name, proxyAddresses: [`SMTP:${U.primary}`] });
    await suite.addUser(R.name, { displayName: `Rho Room ${suffix}`, mail: R.primary, mailNickname: R.name, proxyAddresses: [`SMTP:${R.primary}`] });
    await suite.addGroup(G.name, { scope: 'universal', security: false, mail: G.mail });
    await suite.sync();
    await suite.licence(T.upn);
    await suite.licence(U.upn);
    await suite.licence(R.upn);
    await suite.exoSet('Set-Mailbox', { Identity: R.upn, Type: 'Room' });
    const mbx = await suite.mailbox(T.upn);
    assert.equal(mbx.RecipientTypeDetails, 'UserMailbox');

    pm = await startPlaygroundMailroom(sandbox, { name: 'every-kind', options: { runRequests: false } });
    ({ app, rita, arnold } = pm);
  });

  after(async function () {
    await pm?.stop();
    await suite?.close();
  });


  async function shot(p: PlaygroundPage, name: string): Promise<void> {
    if (shots.has(name)) return;
    shots.add(name);
    await p.screenshot(`every-kind-${name}`);
  }

  /** Asserts Rita's status card and gives its reference. */
  async function statusReference(c: KindCase, card: Locator, shows: string): Promise<string> {
    const title = KINDS[c.kind].title;
    const t = await card.innerText();
    const reference = new RegExp(`(R-\\d+) · ${reEscape(title)}`).exec(t)?.[1];
    assert.ok(reference, `the status card names the request and its kind (${title}):\n${t}`);
    assert.match(t, /Waiting for approval/);
    assert.ok(t.includes(shows), `the status card shows ${shows}:\n${t}`);
    return reference;
  }

  /** Arnold finds the approval card of `reference` and approves or rejects it (alternately); asserts the decided card. */
  async function decide(c: KindCase, reference: string, shows: string, plan?: RegExp): Promise<void> {
    const title = KINDS[c.kind].title;
    await arnold.page.bringToFront();
    const card = await arnold.waitForCard(`${reference} · ${title}`, 30_000);
    await card.getByRole('button', { name: 'Approve' }).waitFor();
    const t = await card.innerText();
    assert.match(t, /Requested by Rita Requester/);
    assert.ok(t.includes(shows), `the approval card shows ${shows}:\n${t}`);
    assert.match(t, /Plan/);
    if (plan) assert.match(t, plan);
    if (SHOT_KINDS.has(c.kind)) await shot(arnold, `03-approval-${c.kind}`);

    const approve = decided++ % 2 === 0;
    if (approve) {
      await card.getByRole('button', { name: 'Approve' }).click();
      const done = await arnold.waitForCard(new RegExp(`${reEscape(reference)} · ${reEscape(title)}[\\s\\S]*Approved by Arnold Approver at \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC`));
      assert.equal(await done.getByRole('button', { name: 'Approve' }).count(), 0, 'no buttons once decided');
      outcomes.approved++;
      if (outcomes.approved === 1) await shot(arnold, `04-approved-${c.kind}`);
    } else {
      const reason = `Not needed (${c.kind} ${suffix}).`;
      await card.getByRole('textbox', { name: /^Reason/ }).fill(reason);
      await card.getByRole('button', { name: 'Reject' }).click();
      const done = await arnold.waitForCard(
        new RegExp(`${reEscape(reference)} · ${reEscape(title)}[\\s\\S]*Rejected by Arnold Approver at \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC: ${reEscape(reason)}`),
      );
      assert.equal(await done.getByRole('button', { name: 'Reject' }).count(), 0, 'no buttons once decided');
      outcomes.rejected++;
      if (outcomes.rejected === 1) await shot(arnold, `05-rejected-${c.kind}`);
    }
    // Rita's status card changes in place
    await rita.page.bringToFront();
    await rita.waitForCard(new RegExp(`${reEscape(reference)} · ${reEscape(title)}[\\s\\S]*${approve ? 'Approved' : 'Rejected'} by Arnold Approver`));
  }

  for (const c of CASES) {
    const title = KINDS[c.kind].title;
    const statusOf = new RegExp(`R-\\d+ · ${reEscape(title)}[\\s\\S]*Waiting for approval`);

    it(`${title}: by one-line command`, async function () {
      await rita.page.bringToFront();
      const status = await newCard(rita, statusOf, () => rita.send(c.command));
      const reference = await statusReference(c, status, c.shows);
      await shot(rita, '01-status-by-command');
      await decide(c, reference, c.shows, c.plan);
    });

    const form = c.form;
    if (form) {
      it(`${title}: by the form, filled in in the browser`, async function () {
        await rita.page.bringToFront();
        const formCard = await newCard(rita, new RegExp(`New request: ${reEscape(title)}`), () => rita.send(form.opens ?? KINDS[c.kind].command.phrases[0]!));
        await form.fill(formCard);
        if (SHOT_KINDS.has(c.kind)) await shot(rita, `02-form-${c.kind}`);
        const status = await newCard(rita, statusOf, () => formCard.getByRole('button', { name: 'Submit request' }).click());
        const reference = await statusReference(c, status, form.shows);
        assert.equal(await rita.page.locator('.ac-adaptiveCard', { hasText: `New request: ${title}` }).count(), 0, 'the status card replaced the form');
        const stored = await storedRequest(app.store, reference);
        assert.ok(stored, `the store has ${reference}`);
        for (const [id, value] of Object.entries(form.values)) assert.equal(stored.record.values[id], value, `the form submitted ${id}`);
        await decide(c, reference, form.shows);
      });
    }
  }

  it('afterwards: every request is decided, each kind by command and the forms as typed, and the audit chain verifies', async function () {
    const mine = await app.store.requests.listByRequester(RITA.aadObjectId, { limit: 1000 });
    const filed = CASES.length + CASES.filter((c) => c.form).length;
    assert.equal(mine.length, filed);
    assert.deepEqual([mine.filter((r) => r.status === 'approved').length, mine.filter((r) => r.status === 'rejected').length], [outcomes.approved, outcomes.rejected]);
    assert.equal(outcomes.approved + outcomes.rejected, filed);
    for (const c of CASES) {
      assert.equal(mine.filter((r) => r.kind === c.kind).length, c.form ? 2 : 1, `the requests of ${c.kind}`);
    }
    const events = await app.store.audit.list({ limit: 1000 });
    const created = events.filter((e) => e.event === 'request.created');
    assert.equal(created.filter((e) => e.data.source === 'command').length, CASES.length);
    assert.equal(created.filter((e) => e.data.source === 'form').length, CASES.filter((c) => c.form).length);
    assert.equal((await app.store.audit.verify()).ok, true);
  });
});
