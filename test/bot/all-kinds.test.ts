/**
 * Every request kind, end to end over HTTP against the sandbox: Rita files it by one-line command and by form,
 * Arnold gets the approval card with the plan and approves one and rejects the other; an invalid command and an
 * invalid form file nothing and give the form back with the error beside the field and the typed values kept.
 *
 * The change kinds target one synced, licensed mailbox that before() makes in the suite's own OU. Approval only
 * decides: nothing runs against AD or Exchange Online, so the requests of one kind may share names and targets.
 * ALL_KINDS_LOG=1 shows Mailroom's warnings and errors.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startMailroom, type Mailroom } from '../../src/app';
import { loadConfig } from '../../src/config/config';
import { createLogger, silentLogger } from '../../src/log';
import { projectRoot } from '../../src/paths';
import { KIND_IDS, KINDS, type KindId } from '../../src/requests';
import type { Sandbox } from '../../src/sandbox';
import { SANDBOX_MAIL_DOMAIN } from '../../src/sandbox/people';
import { sandboxOverrides } from '../../src/sandbox/overrides';
import type { AuditEvent, RequestRecord } from '../../src/store';
import { ConformanceSuite } from '../harness/conformance';
import { startConnector, visibleText, type Connector } from '../harness/connector';
import { actionsOf, ADA, ARNOLD, buttonData, type Card, cardOf, cardText, Chat, formInputs, formSubmission, reEscape, RITA, storedRequest } from '../harness/requests';
import { getSharedSandbox } from '../harness/sandbox';

const suffix = Date.now().toString(36).slice(-5);
const D = SANDBOX_MAIL_DOMAIN;

/** The synced mailbox the change kinds target (made in before()). */
const T = {
  name: `tina${suffix}`,
  upn: `tina${suffix}@${D}`,
  displayName: `Tina Target ${suffix}`,
  alias: `tina.${suffix}`,
  primary: `tina.${suffix}@${D}`,
  secondary: `tt.${suffix}@${D}`,
};

/** A cloud-managed synced mailbox with a secondary address that only Exchange Online has (made in before()). */
const C = {
  name: `cara${suffix}`,
  upn: `cara${suffix}@${D}`,
  displayName: `Cara Cloud ${suffix}`,
  primary: `cara.${suffix}@${D}`,
  cloudOnlyAddress: `cara.cloud.${suffix}@${D}`,
};

interface Invalid {
  /** The field the error stands beside. */
  readonly field: string;
  readonly error: RegExp;
}

interface KindCase {
  readonly kind: KindId;
  /** A valid one-line command, and a value its cards show. */
  readonly command: string;
  readonly commandShows: string;
  /** What Rita types into the form (field id → text); the rest keeps the form's values. */
  readonly form: Record<string, string>;
  readonly formShows: string;
  /** A step the plan of the command's request must have. */
  readonly plan: RegExp;
  /** An invalid command (valid syntax, bad value), the values it gives (field id → text), and the error. */
  readonly badCommand: Invalid & { readonly text: string; readonly kept: Record<string, string> };
  /** An invalid form and the error. */
  readonly badForm: Invalid & { readonly values: Record<string, string> };
}

const CASES: readonly KindCase[] = [
  {
    kind: 'user-mailbox',
    command: `new mailbox first=Ada last=Cmd${suffix} department=Research title="Lab lead"`,
    commandShows: `Ada Cmd${suffix}`,
    form: { firstName: 'Grace', lastName: `Form${suffix}`, department: 'Engineering', usageLocation: 'GB' },
    formShows: `Grace Form${suffix}`,
    plan: /Assign the .+ licence/,
    badCommand: { text: `new mailbox first=Ada last=Bad${suffix} usage=ZZ`, kept: { firstName: 'Ada', lastName: `Bad${suffix}`, usageLocation: 'ZZ' }, field: 'usageLocation', error: /"ZZ" is not one of the choices/ },
    badForm: { values: { firstName: 'Ada', lastName: `Bad${suffix}`, emailAddress: `ada.${suffix}@elsewhere.example` }, field: 'emailAddress', error: /not an accepted domain/ },
  },
  {
    kind: 'shared-mailbox',
    command: `new shared mailbox name="Team Sales ${suffix}" alias=sales-${suffix}`,
    commandShows: `Team Sales ${suffix}`,
    form: { displayName: `Team Support ${suffix}`, alias: `support-${suffix}` },
    formShows: `Team Support ${suffix}`,
    plan: /Convert the mailbox to Shared/,
    badCommand: { text: `new shared mailbox name="Team Bad ${suffix}" alias="team bad"`, kept: { displayName: `Team Bad ${suffix}`, alias: 'team bad' }, field: 'alias', error: /contains a space/ },
    badForm: { values: { displayName: `Team Bad ${suffix}`, emailAddress: `bad-${suffix}@partner.example` }, field: 'emailAddress', error: /not an accepted domain/ },
  },
  {
    kind: 'room-mailbox',
    command: `new room name="Board Room ${suffix}" capacity=12`,
    commandShows: `Board Room ${suffix}`,
    form: { displayName: `Huddle Room ${suffix}`, capacity: '4' },
    formShows: `Huddle Room ${suffix}`,
    plan: /capacity to 12/,
    badCommand: { text: `new room name="Bad Room ${suffix}" capacity=99999`, kept: { displayName: `Bad Room ${suffix}`, capacity: '99999' }, field: 'capacity', error: /"99999" is not a whole number from 0 to 10000/ },
    badForm: { values: { displayName: `Bad Room ${suffix}`, capacity: '20000' }, field: 'capacity', error: /"20000" is not a whole number from 0 to 10000/ },
  },
  {
    kind: 'equipment-mailbox',
    command: `new equipment name="Pool Car ${suffix}"`,
    commandShows: `Pool Car ${suffix}`,
    form: { displayName: `Projector ${suffix}`, usageLocation: 'FR' },
    formShows: `Projector ${suffix}`,
    plan: /Convert the mailbox to Equipment/,
    badCommand: { text: `new equipment name="Bad Car ${suffix}" sam=car*${suffix}`, kept: { displayName: `Bad Car ${suffix}`, samAccountName: `car*${suffix}` }, field: 'samAccountName', error: /Windows does not allow/ },
    badForm: { values: { displayName: `Bad Beamer ${suffix}`, userPrincipalName: `beamer-${suffix}@partner.example` }, field: 'userPrincipalName', error: /not a domain of this tenant/ },
  },
  {
    kind: 'mail-user',
    command: `new mail user first=Pat last=Partner${suffix} email=pat.${suffix}@partner.example company="Partner Ltd"`,
    commandShows: `Pat Partner${suffix}`,
    form: { firstName: 'Quinn', lastName: `Vendor${suffix}`, externalAddress: `quinn.${suffix}@vendor.example` },
    formShows: `Quinn Vendor${suffix}`,
    plan: new RegExp(`targetAddress SMTP:pat\\.${suffix}@partner\\.example`),
    badCommand: { text: `new mail user first=Pat last=Loop${suffix} email=pat.loop.${suffix}@${D}`, kept: { firstName: 'Pat', lastName: `Loop${suffix}`, externalAddress: `pat.loop.${suffix}@${D}` }, field: 'externalAddress', error: /would loop/ },
    badForm: { values: { firstName: 'Quinn', lastName: '', externalAddress: `q.${suffix}@vendor.example` }, field: 'lastName', error: /Last name is required/ },
  },
  {
    kind: 'mail-contact',
    command: `new contact name="Ada Partner ${suffix}" email=ada.${suffix}@partner.example`,
    commandShows: `Ada Partner ${suffix}`,
    form: { displayName: `Ben Supplier ${suffix}`, externalAddress: `ben.${suffix}@supplier.example`, company: 'Supplier plc' },
    formShows: `Ben Supplier ${suffix}`,
    plan: /Create the AD contact/,
    badCommand: { text: `new contact name="Bad Contact ${suffix}" email=bad-contact-${suffix}`, kept: { displayName: `Bad Contact ${suffix}`, externalAddress: `bad-contact-${suffix}` }, field: 'externalAddress', error: /has no @/ },
    badForm: { values: { displayName: '', externalAddress: `nobody.${suffix}@supplier.example` }, field: 'displayName', error: /Name is required/ },
  },
  {
    kind: 'distribution-group',
    command: `new group name="Sales Team ${suffix}" security=yes members=${T.primary}`,
    commandShows: `Sales Team ${suffix}`,
    form: { displayName: `Ops Team ${suffix}`, scope: 'global', description: 'Operations' },
    formShows: `Ops Team ${suffix}`,
    plan: new RegExp(`security group .* and 1 member: ${T.displayName}`),
    badCommand: { text: `new group name="Bad Group ${suffix}" scope=local`, kept: { displayName: `Bad Group ${suffix}`, scope: 'local' }, field: 'scope', error: /"local" is not one of the choices/ },
    badForm: { values: { displayName: `Bad Group ${suffix}`, members: `nobody.${suffix}@${D}` }, field: 'members', error: /no recipient found/ },
  },
  {
    kind: 'primary-address',
    command: `change primary ${T.primary} new=tina.new.${suffix}@${D}`,
    commandShows: T.primary,
    form: { identity: T.alias, newAddress: `tina.form.${suffix}@${D}` },
    formShows: T.alias,
    plan: new RegExp(`Set mail to tina\\.new\\.${suffix}@`),
    badCommand: { text: `change primary ${T.primary} new=tina.${suffix}@partner.example`, kept: { identity: T.primary, newAddress: `tina.${suffix}@partner.example` }, field: 'newAddress', error: /not an accepted domain/ },
    badForm: { values: { identity: `nobody.${suffix}@${D}`, newAddress: `x.${suffix}@${D}` }, field: 'identity', error: /no recipient .* was found/ },
  },
  {
    kind: 'secondary-address-add',
    command: `add address ${T.primary} address=tina.extra.${suffix}@${D}`,
    commandShows: T.primary,
    form: { identity: T.upn, address: `tina.more.${suffix}@${D}` },
    formShows: T.upn,
    plan: new RegExp(`Add smtp:tina\\.extra\\.${suffix}@`),
    badCommand: { text: `add address ${T.primary} ${T.primary}`, kept: { identity: T.primary, address: T.primary }, field: 'address', error: /already the primary address/ },
    badForm: { values: { identity: T.alias, address: `bad@@${suffix}.example` }, field: 'address', error: /more than one @/ },
  },
  {
    kind: 'secondary-address-remove',
    command: `remove address ${T.primary} address=${T.secondary}`,
    commandShows: T.primary,
    form: { identity: T.alias, address: T.secondary },
    formShows: T.alias,
    plan: new RegExp(`Remove smtp:${reEscape(T.secondary)}`),
    badCommand: { text: `remove address ${T.primary} address=${T.primary}`, kept: { identity: T.primary, address: T.primary }, field: 'address', error: /is the primary address of/ },
    badForm: { values: { identity: T.alias, address: `never.${suffix}@${D}` }, field: 'address', error: /has no address .*nothing to remove/ },
  },
  {
    kind: 'cloud-managed',
    command: `cloud-managed ${T.primary} on`,
    commandShows: T.primary,
    form: { identity: T.alias, state: 'on' },
    formShows: T.alias,
    plan: /IsExchangeCloudManaged=True/,
    badCommand: { text: `cloud-managed ${T.primary} off`, kept: { identity: T.primary, state: 'off' }, field: 'state', error: /already not cloud-managed/ },
    badForm: { values: { identity: T.alias, state: 'maybe' }, field: 'state', error: /"maybe" is not one of the choices/ },
  },
  {
    kind: 'mailbox-type',
    command: `convert ${T.primary} to shared`,
    commandShows: T.primary,
    form: { identity: T.alias, type: 'Room', adjustLicence: 'false' },
    formShows: T.alias,
    plan: new RegExp(`Convert the mailbox of ${T.displayName} to Shared`),
    badCommand: { text: `convert ${T.primary} to regular`, kept: { identity: T.primary, type: 'regular' }, field: 'type', error: /already a user mailbox/ },
    badForm: { values: { identity: T.alias, type: 'Kiosk' }, field: 'type', error: /"Kiosk" is not one of the choices/ },
  },
  {
    kind: 'offboarding',
    command: `offboard ${T.primary}`,
    commandShows: T.primary,
    form: { identity: T.alias, removeLicence: 'false', hideFromAddressLists: 'false' },
    formShows: T.alias,
    plan: /Disable the AD account/,
    badCommand: { text: `offboard ${T.primary} hide=perhaps`, kept: { identity: T.primary, hideFromAddressLists: 'perhaps' }, field: 'hideFromAddressLists', error: /"perhaps" is not yes or no/ },
    badForm: { values: { identity: 'tina target' }, field: 'identity', error: /contains a space/ },
  },
];

describe('every request kind, by command and by form, approved and rejected, over HTTP against the sandbox', function () {
  this.timeout(120_000);
  let sandbox: Sandbox;
  let suite: ConformanceSuite | undefined;
  let connector: Connector;
  let app: Mailroom;
  let dataDir: string;
  let rita: Chat;
  let arnold: Chat;
  let formCardIds = 0;

  before(async function () {
    sandbox = await getSharedSandbox();
    connector = await startConnector();
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'mailroom-all-kinds-'));
    const config = loadConfig({
      rootDir: projectRoot(),
      envName: 'sandbox',
      env: {},
      overrides: { ...sandboxOverrides(sandbox.endpoints), PORT: '0', DATA_DIR: dataDir },
    });
    app = await startMailroom(config, process.env.ALL_KINDS_LOG ? createLogger('warn') : silentLogger, { runRequests: false });
    rita = new Chat(app.url, connector, RITA);
    arnold = new Chat(app.url, connector, ARNOLD);
    for (const p of [RITA, ARNOLD, ADA]) await new Chat(app.url, connector, p).client.install();

    // The mailboxes the change kinds target: synced AD users with mail (and a secondary address), licensed;
    // the second one is made cloud-managed and gets an address in Exchange Online only.
    suite = await ConformanceSuite.open(sandbox, 'all-kinds', { delegated: true });
    await suite.addUser(T.name, { displayName: T.displayName, mail: T.primary, mailNickname: T.alias, proxyAddresses: [`SMTP:${T.primary}`, `smtp:${T.secondary}`] });
    await suite.addUser(C.name, { displayName: C.displayName, mail: C.primary, mailNickname: `cara.${suffix}`, proxyAddresses: [`SMTP:${C.primary}`] });
    await suite.sync();
    await suite.licence(T.upn);
    await suite.licence(C.upn);
    await suite.exoSet('Set-Mailbox', { Identity: C.upn, IsExchangeCloudManaged: true });
    await suite.exoSet('Set-Mailbox', { Identity: C.upn, EmailAddresses: { Add: [`smtp:${C.cloudOnlyAddress}`] } });
    const mbx = await suite.mailbox(T.upn);
    assert.equal(mbx.RecipientTypeDetails, 'UserMailbox');
    assert.equal(mbx.PrimarySmtpAddress.toLowerCase(), T.primary);
    assert.ok(mbx.EmailAddresses.some((a) => a.toLowerCase() === `smtp:${T.secondary}`), `the mailbox has ${mbx.EmailAddresses.join(', ')}`);
    assert.equal(mbx.IsDirSynced, true);
    assert.equal(mbx.IsExchangeCloudManaged, false);
    const cara = await suite.mailbox(C.upn);
    assert.equal(cara.IsExchangeCloudManaged, true);
    assert.ok(cara.EmailAddresses.includes(`smtp:${C.cloudOnlyAddress}`), `the mailbox has ${cara.EmailAddresses.join(', ')}`);
  });

  after(async function () {
    await app?.stop();
    await connector?.close();
    await suite?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  // ------------------------------------------------------------------------------------------- helpers

  const requestCount = async () => (await app.store.requests.listByRequester(RITA.aadObjectId, { limit: 1000 })).length;

  let auditSeen = 0;
  /** Audit events appended since the last call. */
  async function newAuditEvents(): Promise<AuditEvent[]> {
    const out: AuditEvent[] = [];
    for (;;) {
      const page = await app.store.audit.list({ afterSeq: auditSeen, limit: 1000 });
      out.push(...page);
      if (page.length) auditSeen = page[page.length - 1]!.seq;
      if (page.length < 1000) return out;
    }
  }

  async function stored(reference: string): Promise<RequestRecord> {
    const found = await storedRequest(app.store, reference);
    assert.ok(found, `the store has no ${reference}`);
    return found.record;
  }

  /** The approval card Arnold got for a reference, with the plan's steps asserted against the stored plan. */
  async function approvalCardFor(c: KindCase, reference: string, since: number, shows: string): Promise<Card> {
    const title = KINDS[c.kind].title;
    const call = await arnold.waitFor((x) => x.method === 'POST' && visibleText(x.body).includes(`${reference} · ${title}`), since);
    const text = visibleText(call.body);
    assert.match(text, /Requested by Rita Requester/);
    assert.match(text, /Waiting for approval/);
    assert.ok(text.includes(shows), `the approval card shows ${shows}:\n${text}`);
    const steps = ((await stored(reference)).plan as { steps: { summary: string }[] }).steps;
    assert.ok(steps.length > 0, 'the plan has steps');
    assert.match(text, /\nPlan\n/);
    steps.forEach((s, i) => assert.ok(text.includes(`${i + 1}. ${s.summary}`), `the approval card shows step ${i + 1}: ${s.summary}\n${text}`));
    const card = cardOf(call);
    assert.ok(buttonData(card, 'Approve'), 'the approval card has an Approve button');
    assert.ok(buttonData(card, 'Reject'), 'the approval card has a Reject button');
    return card;
  }

  function assertStatusCard(c: KindCase, text: string, shows: string): string {
    const reference = new RegExp(`(R-\\d+) · ${reEscape(KINDS[c.kind].title)}`).exec(text)?.[1];
    assert.ok(reference, `the status card names the request and its kind (${KINDS[c.kind].title}):\n${text}`);
    assert.match(text, /Waiting for approval/);
    assert.ok(text.includes(shows), `the status card shows ${shows}:\n${text}`);
    return reference;
  }

  /** Asserts the form card of a kind that came back with an error beside a field and the typed values kept. */
  function assertFormBack(c: KindCase, card: Card, bad: Invalid, kept: Record<string, string>): void {
    const text = cardText(card);
    assert.ok(text.includes(`New request: ${KINDS[c.kind].title}`), `the form of ${c.kind} came back:\n${text}`);
    assert.match(text, /problems? — nothing was requested/);
    const inputs = formInputs(card);
    const input = inputs.get(bad.field);
    assert.ok(input, `the form has the input ${bad.field}`);
    assert.match(input.error, bad.error, `the error beside ${bad.field}`);
    for (const [id, value] of Object.entries(kept)) assert.equal(inputs.get(id)?.value, value, `the form keeps what was typed in ${id}`);
  }

  /** The data of the kind picker's "Open form" button of a kind (as cards/kind-picker.json makes it). */
  const openForm = (kind: KindId): Record<string, unknown> => ({ kind });

  // ------------------------------------------------------------------------------------------- tests

  it('request.form opens the form of every kind: an input per field, the kind on its Submit button', async function () {
    for (const kind of KIND_IDS) {
      const form = await rita.press('request.form', openForm(kind));
      assert.ok(cardText(form).includes(`New request: ${KINDS[kind].title}`), cardText(form));
      assert.deepEqual([...formInputs(form).keys()], KINDS[kind].fields.map((f) => f.id), `the inputs of the ${kind} form`);
      assert.deepEqual(buttonData(form, 'Submit request'), { kind });
    }
  });

  it('"new" shows the kind picker: an "Open form" button per kind, and an example command', async function () {
    const picker = await rita.sayForCard('new', /What do you need\?/);
    const buttons = actionsOf(picker).filter((a) => a.title === 'Open form');
    assert.deepEqual(buttons.map((a) => a.verb), KIND_IDS.map(() => 'request.form'));
    assert.deepEqual(buttons.map((a) => a.data), KIND_IDS.map((kind) => openForm(kind)));
    assert.ok(cardText(picker).includes(KINDS['user-mailbox'].command.example), 'the picker shows an example command');
  });

  CASES.forEach((c, index) => {
    const title = KINDS[c.kind].title;
    describe(`${c.kind} (${title})`, function () {
      const filed: { command?: { reference: string; approval: Card }; form?: { reference: string; approval: Card; cardId: string } } = {};

      it('by one-line command: status card for Rita, approval card with the plan for Arnold', async function () {
        await newAuditEvents();
        const since = connector.calls.length;
        const posted = await rita.say(c.command);
        const status = posted.find((x) => /R-\d+ · /.test(visibleText(x.body)));
        assert.ok(status, `"${c.command}" got no status card; it got:\n${posted.map((x) => visibleText(x.body)).join('\n---\n')}`);
        const reference = assertStatusCard(c, visibleText(status.body), c.commandShows);
        assert.ok(buttonData(cardOf(status), 'Cancel request'), 'Rita can cancel it');
        const approval = await approvalCardFor(c, reference, since, c.commandShows);
        assert.match(cardText(approval), c.plan);

        const record = await stored(reference);
        assert.equal(record.kind, c.kind);
        assert.equal(record.status, 'pending-approval');
        assert.equal(record.requesterAadObjectId, RITA.aadObjectId);
        const created = (await newAuditEvents()).filter((e) => e.event === 'request.created');
        assert.equal(created.length, 1);
        assert.equal(created[0]?.requestRef, reference);
        assert.deepEqual([created[0]?.data.kind, created[0]?.data.source], [c.kind, 'command']);
        filed.command = { reference, approval };
      });

      it('by form: the same form by command and by request.form (the picker\'s button); submitted, it becomes the status card', async function () {
        const phrase = KINDS[c.kind].command.phrases[0]!;
        const fromCommand = await rita.sayForCard(phrase, new RegExp(`New request: ${reEscape(title)}`));
        const fromPicker = await rita.press('request.form', openForm(c.kind));
        assert.deepEqual(fromPicker, fromCommand, 'request.form and the command give the same form');
        const inputs = formInputs(fromCommand);
        for (const input of inputs.values()) assert.equal(input.error, '', `a new form shows no error (${input.id})`);

        const data = formSubmission(fromCommand, c.form);
        assert.equal(data.kind, c.kind);
        await newAuditEvents();
        const since = connector.calls.length;
        const cardId = `form-card-${++formCardIds}`;
        const status = await rita.press('request.submit', data, cardId);
        const reference = assertStatusCard(c, cardText(status), c.formShows);
        const approval = await approvalCardFor(c, reference, since, c.formShows);

        const record = await stored(reference);
        assert.equal(record.kind, c.kind);
        assert.equal(record.status, 'pending-approval');
        for (const [id, value] of Object.entries(c.form)) assert.equal(record.values[id], value, `the stored value of ${id}`);
        const created = (await newAuditEvents()).filter((e) => e.event === 'request.created');
        assert.equal(created.length, 1);
        assert.deepEqual([created[0]?.requestRef, created[0]?.data.kind, created[0]?.data.source], [reference, c.kind, 'form']);
        filed.form = { reference, approval, cardId };
      });

      const approveCommand = index % 2 === 0;
      it(`Arnold approves the ${approveCommand ? 'command' : 'form'}'s request and rejects the ${approveCommand ? 'form' : 'command'}'s, on the cards' buttons`, async function () {
        assert.ok(filed.command && filed.form, 'both requests were filed');
        const toApprove = approveCommand ? filed.command : filed.form;
        const toReject = approveCommand ? filed.form : filed.command;
        const reason = `Not needed (${c.kind} ${suffix}).`;

        let since = connector.calls.length;
        const approved = await arnold.press('request.approve', buttonData(toApprove.approval, 'Approve')!);
        assert.match(cardText(approved), /Approved by Arnold Approver at \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
        assert.ok(cardText(approved).includes(`${toApprove.reference} · ${title}`));
        assert.equal(buttonData(approved, 'Approve'), undefined, 'no buttons once decided');
        const approvedUpdate = await rita.waitFor((x) => x.method === 'PUT' && visibleText(x.body).includes(`${toApprove.reference} · ${title}`), since);
        assert.match(visibleText(approvedUpdate.body), /Approved by Arnold Approver/);
        await rita.waitFor((x) => x.method === 'POST' && String(x.body.text).includes(`${toApprove.reference} (${title}) was approved by Arnold Approver`), since);

        since = connector.calls.length;
        const rejected = await arnold.press('request.reject', { ...buttonData(toReject.approval, 'Reject')!, reason });
        assert.ok(
          new RegExp(`Rejected by Arnold Approver at \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC: ${reEscape(reason)}`).test(cardText(rejected)),
          `the rejected card says who, when and why:\n${cardText(rejected)}`,
        );
        assert.equal(buttonData(rejected, 'Reject'), undefined, 'no buttons once decided');
        const rejectedUpdate = await rita.waitFor((x) => x.method === 'PUT' && visibleText(x.body).includes(`${toReject.reference} · ${title}`), since);
        assert.ok(visibleText(rejectedUpdate.body).includes(`: ${reason}`));
        await rita.waitFor((x) => x.method === 'POST' && String(x.body.text).includes(`${toReject.reference} (${title}) was rejected by Arnold Approver: ${reason}`), since);

        // the submitted form card is the one Rita's status updates land on
        const formUpdate = connector.calls.find((x) => x.method === 'PUT' && x.conversationId === rita.conversationId && x.activityId === filed.form!.cardId);
        assert.ok(formUpdate, 'the form Rita submitted was updated in place');

        for (const [r, status, outcome] of [
          [toApprove.reference, 'approved', 'approve'],
          [toReject.reference, 'rejected', 'reject'],
        ] as const) {
          const found = await storedRequest(app.store, r);
          assert.equal(found?.record.status, status, `${r} is ${status}`);
          assert.equal(found?.record.decidedByName, 'Arnold Approver');
          assert.equal(found?.decisions.length, 1);
          assert.equal(found?.decisions[0]?.decision, outcome);
          const events = await app.store.audit.list({ requestRef: r, limit: 50 });
          assert.deepEqual(events.map((e) => e.event), ['request.created', 'request.decided'], `the audit trail of ${r}`);
          const decided = events[1]!;
          assert.equal(decided.actorAadObjectId, ARNOLD.aadObjectId);
          assert.equal(decided.data.outcome, outcome);
          if (outcome === 'reject') assert.equal(decided.data.reason, reason);
        }
        assert.equal((await stored(toReject.reference)).decisionReason, reason);
      });

      it('an invalid one-line command files nothing: "Nothing was requested", and the form back with the error and the typed values', async function () {
        const before = await requestCount();
        await newAuditEvents();
        const posted = await rita.say(c.badCommand.text);
        const texts = posted.map((x) => visibleText(x.body));
        const notice = texts.find((t) => t.includes('Nothing was requested'));
        assert.ok(notice, `"${c.badCommand.text}" got no "Nothing was requested"; it got:\n${texts.join('\n---\n')}`);
        assert.match(notice, c.badCommand.error);
        const form = posted.find((x) => visibleText(x.body).includes(`New request: ${title}`));
        assert.ok(form, `the form came back:\n${texts.join('\n---\n')}`);
        assertFormBack(c, cardOf(form), c.badCommand, c.badCommand.kept);
        assert.equal(posted.filter((x) => /R-\d+ · /.test(visibleText(x.body))).length, 0, 'no status card');

        assert.equal(await requestCount(), before, 'no request was stored');
        const events = await newAuditEvents();
        assert.equal(events.filter((e) => e.event === 'request.created').length, 0);
        const failed = events.filter((e) => e.event === 'request.validation-failed');
        assert.equal(failed.length, 1, 'the failure is audited');
        assert.deepEqual([failed[0]?.data.kind, failed[0]?.data.source], [c.kind, 'command']);
      });

      it('an invalid form files nothing: the form comes back with the error beside the field and the typed values', async function () {
        const form = await rita.press('request.form', openForm(c.kind));
        const data = formSubmission(form, c.badForm.values);
        const before = await requestCount();
        await newAuditEvents();
        const back = await rita.press('request.submit', data, `form-card-${++formCardIds}`);
        const kept: Record<string, string> = {};
        for (const f of KINDS[c.kind].fields) kept[f.id] = String(data[f.id]);
        assertFormBack(c, back, c.badForm, kept);
        assert.equal(buttonData(back, 'Submit request')?.kind, c.kind, 'the form can be submitted again');

        assert.equal(await requestCount(), before, 'no request was stored');
        const events = await newAuditEvents();
        assert.equal(events.filter((e) => e.event === 'request.created').length, 0);
        const failed = events.filter((e) => e.event === 'request.validation-failed');
        assert.equal(failed.length, 1, 'the failure is audited');
        assert.deepEqual([failed[0]?.data.kind, failed[0]?.data.source], [c.kind, 'form']);
      });
    });
  });

  describe('details of the cards and of validation', function () {
    /** Files a request by command, hands its status card to `check`, and cancels it (whatever `check` found). */
    async function fileAndCancel(command: string, title: string, check: (statusText: string) => void): Promise<void> {
      const posted = await rita.say(command);
      const texts = posted.map((x) => visibleText(x.body));
      const status = texts.find((t) => t.includes(` · ${title}`));
      assert.ok(status, `"${command}" filed no request; it got:\n${texts.join('\n---\n')}`);
      const reference = /(R-\d+) · /.exec(status)?.[1] ?? '';
      try {
        check(status);
      } finally {
        const cancelled = await rita.say(`cancel ${reference}`);
        assert.ok(cancelled.some((x) => visibleText(x.body).includes(`${reference} was cancelled`)), `${reference} was cancelled`);
      }
    }

    it('the "Nothing was requested" notice names each field once', async function () {
      const texts = (await rita.say(`new mailbox first=Ada last=Twice${suffix} usage=ZZ`)).map((x) => visibleText(x.body));
      const notice = texts.find((t) => t.includes('Nothing was requested')) ?? '';
      assert.match(notice, /Usage location: "ZZ" is not one of the choices/);
      assert.doesNotMatch(notice, /Usage location: Usage location/, `the label stands once in front of the message:\n${notice}`);
      // … and it is the label of this kind's field (several kinds have a field "address", with different labels)
      const remove = (await rita.say(`remove address ${T.primary} address=${T.primary}`)).map((x) => visibleText(x.body));
      const removeNotice = remove.find((t) => t.includes('Nothing was requested')) ?? '';
      assert.match(removeNotice, /Address to remove: /);
      assert.doesNotMatch(removeNotice, /Address to add/, `the notice labels the field of another kind:\n${removeNotice}`);
    });

    it('a problem with the request as a whole is said in words, without the internal field id "request"', async function () {
      const allOff = { disableAccount: 'false', revokeSessions: 'false', convertToShared: 'false', removeFromGroups: 'false', removeLicence: 'false', hideFromAddressLists: 'false', fullAccessFor: 'none' };
      const form = await rita.press('request.form', openForm('offboarding'));
      const back = cardText(await rita.press('request.submit', formSubmission(form, { identity: T.primary, ...allOff })));
      assert.match(back, /1 problem — nothing was requested\. .*Every offboarding step is switched off/);
      assert.doesNotMatch(back, /request: Every/, `the form shows an internal field id:\n${back}`);

      const texts = (await rita.say(`offboard ${T.primary} disable=no revoke=no shared=no groups=no removelicence=no hide=no fullaccess=none`)).map((x) => visibleText(x.body));
      const notice = texts.find((t) => t.includes('Nothing was requested')) ?? '';
      assert.match(notice, /Every offboarding step is switched off/);
      assert.doesNotMatch(notice, /request: Every/, `the notice shows an internal field id:\n${notice}`);
    });

    it('an address the mailbox already has as a secondary one can become its primary address', async function () {
      await fileAndCancel(`change primary ${T.primary} new=${T.secondary}`, KINDS['primary-address'].title, (status) => {
        assert.ok(status.includes(`New primary address: ${T.secondary}`), status);
      });
    });

    it('a secondary address that only Exchange Online has can be removed from a cloud-managed mailbox', async function () {
      await fileAndCancel(`remove address ${C.primary} address=${C.cloudOnlyAddress}`, KINDS['secondary-address-remove'].title, (status) => {
        assert.match(status, new RegExp(`Remove the address ${reEscape(C.cloudOnlyAddress)} from ${C.displayName} in Exchange Online`));
      });
    });

    it("the cards show a new group's initial members by name, not as data", async function () {
      await fileAndCancel(`new group name="Members Team ${suffix}" members=${T.primary}`, KINDS['distribution-group'].title, (status) => {
        assert.ok(status.includes(`Initial members: ${T.displayName}`), `the members fact names the member:\n${status}`);
        assert.doesNotMatch(status, /\{"/, `the card shows raw data:\n${status}`);
      });
    });
  });

  describe('afterwards', function () {
    it('left every request of the run decided or cancelled, and the audit chain verifies', async function () {
      const mine = await app.store.requests.listByRequester(RITA.aadObjectId, { limit: 1000 });
      const count = (status: string) => mine.filter((r) => r.status === status).length;
      assert.deepEqual([count('approved'), count('rejected')], [CASES.length, CASES.length]);
      assert.equal(mine.length, count('approved') + count('rejected') + count('cancelled'), 'nothing is left pending');
      const verify = await app.store.audit.verify();
      assert.equal(verify.ok, true);
    });
  });
});

