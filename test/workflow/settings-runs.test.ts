/**
 * Hide from / show in address lists and forwarding carried out end to end against the sandbox: Rita files it by one-line command,
 * Arnold approves it on the card's data, the durable workflow runs it to `done`, and the outcome is read back from
 * Exchange Online (Get-Mailbox HiddenFromAddressListsEnabled, ForwardingAddress, ForwardingSmtpAddress,
 * DeliverToMailboxAndForward) and from AD (msExchHideFromAddressLists). The sandbox's
 * tenant profile says AD has no Exchange schema, so a synced mailbox managed from AD is made cloud-managed first and
 * the flag is set in Exchange Online; AD's attribute is left as it was. Forwarding is Exchange Online's own setting.
 */
import assert from 'node:assert/strict';
import { KINDS, type KindId } from '../../src/requests';
import { ConformanceSuite, suitePeople } from '../harness/conformance';
import { TestMailroom } from '../harness/mailroom';
import { storedRequest } from '../harness/requests';
import { getSharedSandbox } from '../harness/sandbox';

const suffix = Date.now().toString(36).slice(-5);
const person = suitePeople(suffix);
/** A synced mailbox managed from AD. */
const HID = person('shid');
/** A synced mailbox managed from AD whose mail is forwarded, and the mailbox it goes to. */
const FWD = person('sfwd');
const DEST = person('sdst');

interface MailboxRow {
  Name?: string;
  HiddenFromAddressListsEnabled?: boolean;
  IsExchangeCloudManaged?: boolean;
  ForwardingAddress?: string | null;
  ForwardingSmtpAddress?: string | null;
  DeliverToMailboxAndForward?: boolean;
}

describe('mailbox settings: hide from / show in address lists, request to done, read back from Exchange Online and AD', function () {
  this.timeout(60_000);
  let m: TestMailroom;
  let suite: ConformanceSuite | undefined;
  let hidDn = '';

  before(async function () {
    const sandbox = await getSharedSandbox();
    m = await TestMailroom.start({ sandbox, name: 'settings-runs', logVariable: 'SETTINGS_RUNS_LOG' });
    suite = await ConformanceSuite.open(sandbox, 'settings-runs', { delegated: true });
    hidDn = await suite.addPerson(HID);
    for (const p of [FWD, DEST]) await suite.addPerson(p);
    await suite.sync();
    for (const p of [HID, FWD, DEST]) await suite.licence(p.upn);
    for (const p of [HID, FWD, DEST]) assert.equal((await suite.mailbox(p.upn)).RecipientTypeDetails, 'UserMailbox');
  });

  after(async function () {
    await m?.close();
    await suite?.close();
  });

  async function run(command: string, kind: KindId = 'address-list-visibility'): Promise<string> {
    const { reference } = await m.requestAndApprove(command, KINDS[kind].title);
    await m.untilDone(reference, 45_000);
    return reference;
  }

  const mailbox = async (identity = HID.mail): Promise<MailboxRow> => (await m.cloud.exo.invoke<MailboxRow>('Get-Mailbox', { Identity: identity })).value[0]!;
  const stepResults = async (reference: string): Promise<{ action: string; changed: boolean | undefined }[]> =>
    (await m.app.store.runs.listByRequest((await storedRequest(m.app.store, reference))!.record.id)).map((s) => ({ action: s.action, changed: (s.result as { changed?: boolean } | null)?.changed }));

  it('hide a synced mailbox managed from AD (AD without Exchange\'s schema): cloud-managed first, then HiddenFromAddressListsEnabled=True; AD untouched', async function () {
    assert.equal((await mailbox()).HiddenFromAddressListsEnabled ?? false, false);
    const reference = await run(`hide from address lists ${HID.mail}`);
    const row = await mailbox();
    assert.equal(row.HiddenFromAddressListsEnabled, true);
    assert.equal(row.IsExchangeCloudManaged, true);
    const plan = (await storedRequest(m.app.store, reference))!.record.plan as { notes: string[]; steps: { action: string }[] };
    assert.deepEqual(plan.steps.map((s) => s.action), ['exo.setCloudManaged', 'exo.setHiddenFromAddressLists']);
    assert.ok(plan.notes.some((n) => /AD has no Exchange schema/.test(n)), 'the plan says why Exchange Online');
    assert.deepEqual((await stepResults(reference)).map((s) => s.changed), [true, true]);
    const ad = await m.directory.get(hidDn);
    assert.ok(ad, 'the AD user is there');
    assert.notEqual(ad.hiddenFromAddressLists, true, 'msExchHideFromAddressLists is not written in AD');
  });

  it('the same hide again changes nothing: the step finds the mailbox hidden', async function () {
    const reference = await run(`hide from address lists ${HID.mail}`);
    assert.deepEqual(await stepResults(reference), [{ action: 'exo.setHiddenFromAddressLists', changed: false }]);
    assert.equal((await mailbox()).HiddenFromAddressListsEnabled, true);
  });

  it('show it again (cloud-managed now): Set-Mailbox only, HiddenFromAddressListsEnabled=False read back', async function () {
    const reference = await run(`show in address lists ${HID.mail}`);
    assert.deepEqual(await stepResults(reference), [{ action: 'exo.setHiddenFromAddressLists', changed: true }]);
    assert.equal((await mailbox()).HiddenFromAddressListsEnabled, false);
  });

  it('forward a synced mailbox managed from AD to another mailbox, keeping a copy: ForwardingAddress and DeliverToMailboxAndForward read back; no cloud-managed switch', async function () {
    const reference = await run(`forward ${FWD.mail} to ${DEST.mail} keepcopy=yes`, 'forwarding-set');
    const row = await mailbox(FWD.mail);
    assert.equal(row.ForwardingAddress, (await mailbox(DEST.mail)).Name);
    assert.equal(row.ForwardingSmtpAddress ?? null, null);
    assert.equal(row.DeliverToMailboxAndForward, true);
    assert.equal(row.IsExchangeCloudManaged ?? false, false, 'forwarding leaves the mailbox managed from AD');
    assert.deepEqual(await stepResults(reference), [{ action: 'exo.setForwarding', changed: true }]);
  });

  it('forward it to an outside address without a copy: ForwardingSmtpAddress set, ForwardingAddress cleared; the plan warns about the outbound spam policy', async function () {
    const reference = await run(`forward ${FWD.mail} to pat.${suffix}@partner.example keepcopy=no`, 'forwarding-set');
    const row = await mailbox(FWD.mail);
    assert.equal(row.ForwardingSmtpAddress, `smtp:pat.${suffix}@partner.example`);
    assert.equal(row.ForwardingAddress ?? null, null);
    assert.equal(row.DeliverToMailboxAndForward, false);
    const plan = (await storedRequest(m.app.store, reference))!.record.plan as { warnings: string[] };
    assert.ok(plan.warnings.some((w) => /outbound spam filter policy/.test(w)));
    const steps = await m.app.store.runs.listByRequest((await storedRequest(m.app.store, reference))!.record.id);
    assert.deepEqual((steps[0]?.result as { before?: unknown }).before, { forwardingAddress: (await mailbox(DEST.mail)).Name, forwardingSmtpAddress: null, deliverToMailboxAndForward: true }, 'the step recorded what it replaced');
  });

  it('stop forwarding: both cleared, read back', async function () {
    await run(`stop forwarding ${FWD.mail}`, 'forwarding-off');
    const row = await mailbox(FWD.mail);
    assert.equal(row.ForwardingAddress ?? null, null);
    assert.equal(row.ForwardingSmtpAddress ?? null, null);
    assert.equal(row.DeliverToMailboxAndForward, false);
  });
});

describe('hide from address lists where AD has Exchange\'s schema (AD_EXCHANGE_SCHEMA=true): written in AD, read back from Exchange Online after sync', function () {
  this.timeout(60_000);
  let m: TestMailroom;
  let suite: ConformanceSuite | undefined;
  const AMY = person('samy');
  let amyDn = '';

  before(async function () {
    const sandbox = await getSharedSandbox();
    m = await TestMailroom.start({ sandbox, name: 'settings-runs-schema', logVariable: 'SETTINGS_RUNS_LOG', settings: { AD_EXCHANGE_SCHEMA: 'true' } });
    suite = await ConformanceSuite.open(sandbox, 'settings-runs-schema', { delegated: true });
    amyDn = await suite.addPerson(AMY);
    await suite.sync();
    await suite.licence(AMY.upn);
  });

  after(async function () {
    await m?.close();
    await suite?.close();
  });

  const mailbox = async (): Promise<MailboxRow> => (await m.cloud.exo.invoke<MailboxRow>('Get-Mailbox', { Identity: AMY.mail })).value[0]!;

  it('the plan writes msExchHideFromAddressLists in AD and waits for sync; the mailbox stays managed from AD; show puts it back', async function () {
    const { reference } = await m.requestAndApprove(`hide from address lists ${AMY.mail}`, KINDS['address-list-visibility'].title);
    const plan = (await storedRequest(m.app.store, reference))!.record.plan as { notes: string[]; steps: { action: string }[] };
    assert.equal(plan.steps[0]?.action, 'ad.setAttributes', 'written in AD');
    assert.ok(plan.notes.some((n) => /Mailroom writes it in AD and waits for sync/.test(n)), 'the plan says why AD');
    await m.untilDone(reference, 45_000);
    assert.equal((await m.directory.get(amyDn))?.hiddenFromAddressLists, true, 'msExchHideFromAddressLists is TRUE in AD');
    const row = await mailbox();
    assert.equal(row.HiddenFromAddressListsEnabled, true, 'Exchange Online shows it after sync');
    assert.equal(row.IsExchangeCloudManaged ?? false, false, 'no cloud-managed switch');

    const shown = await m.requestAndApprove(`show in address lists ${AMY.mail}`, KINDS['address-list-visibility'].title);
    await m.untilDone(shown.reference, 45_000);
    assert.equal((await m.directory.get(amyDn))?.hiddenFromAddressLists, false);
    assert.equal((await mailbox()).HiddenFromAddressListsEnabled, false);
  });
});
