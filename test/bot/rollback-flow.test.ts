/**
 * Roll back over HTTP through the bot, as Teams would drive it: a user mailbox stops after its AD user was created
 * and licensed (the sandbox never makes its mailbox; Mailroom's clock is moved past the wait), the requester's
 * status card is updated in place with a Roll back button, Roll back shows a confirmation listing what goes and
 * what stays, a colleague without a role is refused (audited, nothing changes), the requester confirms, and the
 * card ends "Rolled back". Cancel is offered while a request runs or waits, and works from the card.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startMailroom, type Mailroom } from '../../src/app';
import { loadConfig } from '../../src/config/config';
import { DirectoryClient } from '../../src/directory';
import { silentLogger } from '../../src/log';
import { projectRoot } from '../../src/paths';
import type { Sandbox } from '../../src/sandbox';
import { sandboxOverrides } from '../../src/sandbox/overrides';
import { SANDBOX_COLLEAGUES } from '../../src/sandbox/people';
import type { RequestRecord, RequestStatus } from '../../src/store';
import { visibleText, startConnector, type Connector, type RecordedCall } from '../harness/connector';
import { ARNOLD, buttonData, cardOf, cardText, Chat, RITA, type Card, storedRequest } from '../harness/requests';
import { getSharedSandbox, resetProvisionOnDemandLimit } from '../harness/sandbox';

const suffix = Date.now().toString(36).slice(-5);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MEGAN = { id: SANDBOX_COLLEAGUES[0]!.key, aadObjectId: SANDBOX_COLLEAGUES[0]!.aadObjectId, name: SANDBOX_COLLEAGUES[0]!.name };

describe('roll back over HTTP through the bot', function () {
  this.timeout(120_000);
  let sandbox: Sandbox;
  let connector: Connector;
  let app: Mailroom;
  let dataDir: string;
  let directory: DirectoryClient;
  let rita: Chat;
  let arnold: Chat;
  let megan: Chat;
  let delayBefore = 0;
  let skew = 0;
  const now = () => new Date(Date.now() + skew);

  before(async function () {
    sandbox = await getSharedSandbox();
    connector = await startConnector();
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'mailroom-rollback-bot-'));
    const config = loadConfig({ rootDir: projectRoot(), envName: 'sandbox', env: {}, overrides: { ...sandboxOverrides(sandbox.endpoints), PORT: '0', DATA_DIR: dataDir } });
    app = await startMailroom(config, silentLogger, { now, runner: { pollMs: 100, waitPollMs: 150, backoffBaseMs: 100, backoffCapMs: 1000 }, waitIntervalMs: 100 });
    rita = new Chat(app.url, connector, RITA);
    arnold = new Chat(app.url, connector, ARNOLD);
    megan = new Chat(app.url, connector, MEGAN);
    for (const c of [rita, arnold, megan]) await c.client.install();
    const e = sandbox.endpoints;
    directory = new DirectoryClient({ url: e.ldap.url, bindDn: e.ldap.bindDn, password: e.ldap.password, caPem: readFileSync(e.ldap.caFile, 'utf8'), connectTimeoutMs: 5000, timeoutMs: 15000 });
    delayBefore = sandbox.tenant.mailboxProvisioningDelayMs;
    sandbox.cloud.setKnobs({ mailboxProvisioningDelayMs: 48 * 3600_000 });
  });

  after(async function () {
    sandbox?.cloud.setKnobs({ mailboxProvisioningDelayMs: delayBefore });
    if (sandbox) resetProvisionOnDemandLimit(sandbox);
    await app?.stop();
    await directory?.close();
    await connector?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  async function record(reference: string): Promise<RequestRecord> {
    const r = (await storedRequest(app.store, reference))?.record;
    assert.ok(r, `${reference} exists`);
    return r;
  }

  async function untilStatus(reference: string, status: RequestStatus, timeoutMs = 45_000): Promise<RequestRecord> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const r = await record(reference);
      if (r.status === status) return r;
      if (Date.now() > end) assert.fail(`${reference} is ${r.status}${r.error ? ` (${r.error})` : ''}, not ${status}`);
      await sleep(120);
    }
  }

  /** Rita files a user mailbox in one line and Arnold approves it on his card; resolves with the reference and Rita's status card message. */
  async function fileAndApprove(last: string): Promise<{ reference: string; status: RecordedCall }> {
    const since = connector.calls.length;
    await rita.client.say(`new mailbox first=Rolf last=${last} department=Research`);
    const status = await rita.waitFor((c) => /R-\d+ · User mailbox/.test(visibleText(c.body)), since, 15_000);
    const reference = /(R-\d+)/.exec(visibleText(status.body))?.[1] ?? '';
    const approval = await arnold.waitFor((c) => visibleText(c.body).includes(`${reference} · User mailbox`), since, 15_000);
    await arnold.press('request.approve', buttonData(cardOf(approval), 'Approve') ?? {});
    return { reference, status };
  }

  /** An in-place update (from `since` on) of Rita's status card of `reference` whose text matches. */
  async function statusUpdate(status: RecordedCall, reference: string, match: RegExp, since: number): Promise<Card> {
    const put = await connector.waitFor(
      (c) => c.method === 'PUT' && c.conversationId === status.conversationId && visibleText(c.body).includes(`${reference} · User mailbox`) && match.test(visibleText(c.body)),
      20_000,
      since,
    );
    return cardOf(put);
  }

  it('Roll back: the button appears on the stopped card, the confirmation lists the items, a stranger is refused, the requester rolls back, the card ends "Rolled back"', async function () {
    const { reference, status } = await fileAndApprove(`Flow${suffix}`);
    await untilStatus(reference, 'waiting');
    const since = connector.calls.length;
    skew += 181 * 60_000;
    await untilStatus(reference, 'failed');

    // the requester's card, updated in place: stopped, with Retry and Roll back
    const stopped = await statusUpdate(status, reference, /Stopped: No mailbox/, since);
    const data = buttonData(stopped, 'Roll back');
    assert.ok(data, 'the stopped card offers Roll back');
    assert.ok(buttonData(stopped, 'Retry'), 'and Retry');
    assert.equal(buttonData(stopped, 'Cancel request'), undefined, 'a stopped request offers no Cancel button');
    const failed = await record(reference);
    assert.deepEqual(data, { reference, version: failed.version });
    await rita.waitFor((c) => new RegExp(`${reference} stopped: .*Roll back can remove what Mailroom created`).test(String(c.body.text)), since);

    // Roll back first shows exactly what goes and what stays
    const confirm = await rita.press('request.rollback', data);
    const shown = cardText(confirm);
    assert.match(shown, new RegExp(`Roll back ${reference} · User mailbox\\?`));
    assert.match(shown, /Mailroom removes, in this order/);
    assert.match(shown, /1\. Remove the Exchange Online \(Plan 1\) licence from rolf\./i);
    assert.match(shown, new RegExp(`2\\. Delete the AD user 'Rolf Flow${suffix}' \\(CN=.*\\) that Mailroom created for ${reference}, only if it still carries "Created by Mailroom for ${reference}"`));
    assert.match(shown, /soft-deleted and can be restored for 30 days/);
    const now2 = buttonData(confirm, 'Roll back now');
    assert.ok(now2, 'Roll back now');
    assert.ok(buttonData(confirm, 'Keep'), 'Keep');
    assert.deepEqual(Object.keys(now2).sort(), ['confirm', 'digest', 'reference', 'version']);

    // a colleague without a role is refused, with a notice that says nothing changed; the refusal is audited
    for (const [verb, d] of [['request.rollback', data], ['request.rollback', now2]] as const) {
      const refused = await megan.press(verb, d);
      assert.ok(cardText(refused).includes(`There is no request ${reference} that you may see. Nothing was changed.`), `the same words as for a request that does not exist: ${cardText(refused)}`);
      assert.doesNotMatch(cardText(refused), /Rolf/, 'the refusal shows nothing of the request');
    }
    const megansText = await megan.sayForCard(`rollback ${reference} now`, /Not rolled back/);
    assert.match(cardText(megansText), /Nothing was changed/);
    const unchanged = await record(reference);
    assert.deepEqual([unchanged.status, unchanged.version], ['failed', failed.version], 'nothing changed');
    const refusals = (await app.store.audit.list({ requestRef: reference, limit: 200 })).filter((e) => e.event === 'rollback.refused');
    assert.equal(refusals.length, 3);
    assert.ok(refusals.every((e) => e.actorAadObjectId === MEGAN.aadObjectId && e.data.code === 'not-allowed'));

    // Keep: back to the status card, nothing changed
    const kept = await rita.press('request.keep', buttonData(confirm, 'Keep') ?? {});
    assert.match(cardText(kept), /Kept as it is: nothing was rolled back/);
    assert.equal((await record(reference)).version, failed.version);

    // the text fallback shows the same confirmation
    const textConfirm = await rita.sayForCard(`rollback ${reference}`, /Mailroom removes, in this order/);
    assert.deepEqual(buttonData(textConfirm, 'Roll back now'), now2);

    // the requester confirms: the card says it rolls back, then ends "Rolled back"
    const upd = connector.calls.length;
    const started = await rita.press('request.rollback', now2);
    assert.match(cardText(started), /Rolling back \(asked by Rita Requester/);
    assert.equal(buttonData(started, 'Roll back'), undefined);
    const twice = await rita.press('request.rollback', now2);
    assert.match(cardText(twice), new RegExp(`${reference} (is already being rolled back|was already rolled back)`), 'a second click is refused');
    await untilStatus(reference, 'rolled-back');
    const final = await statusUpdate(status, reference, /Rolled back at/, upd);
    const text = cardText(final);
    assert.match(text, /Rolled back at .* \(asked by Rita Requester\): 2 removal steps done\./);
    assert.match(text, /✔ 1\. Remove the Exchange Online \(Plan 1\) licence/);
    assert.match(text, /✔ 2\. Delete the AD user/);
    assert.deepEqual(['Roll back', 'Retry', 'Cancel request'].map((t) => buttonData(final, t)), [undefined, undefined, undefined], 'nothing left to press');
    const dn = ((await record(reference)).plan as { steps: { input: { dn: string } }[] }).steps[0]!.input.dn;
    assert.equal(await directory.get(dn), null, 'the AD user is gone');
    await rita.waitFor((c) => new RegExp(`${reference} was rolled back\\. Removed: `).test(String(c.body.text)), upd);
  });

  it('Cancel on a waiting card: the later steps are cancelled, the card says what was done and offers Roll back; "rollback R-12 now" rolls it back', async function () {
    const { reference, status } = await fileAndApprove(`Cancel${suffix}`);
    await untilStatus(reference, 'waiting');
    const waitingCard = await statusUpdate(status, reference, /waiting: Wait for the mailbox/, 0);
    const cancel = buttonData(waitingCard, 'Cancel request');
    assert.ok(cancel, 'a waiting card offers Cancel');
    const since = connector.calls.length;
    const after = await rita.press('request.cancel', cancel);
    assert.match(cardText(after), /Cancelled by Rita Requester at .*: 4 of 5 steps were done before the cancel\./);
    assert.ok(buttonData(after, 'Roll back'), 'the cancelled card offers Roll back');
    await rita.waitFor((c) => new RegExp(`Request ${reference} was cancelled by Rita Requester\\. Done before the cancel: 1\\. Create the AD user`).test(String(c.body.text)), since);
    const r = await record(reference);
    assert.equal(r.status, 'cancelled');
    const steps = (await app.store.runs.listByRequest(r.id)).map((s) => s.status);
    assert.deepEqual(steps, ['done', 'done', 'done', 'done', 'cancelled']);
    // roll it back from the text command, without the card
    const started = await rita.sayForCard(`rollback ${reference} now`, /Rolling back|R-\d+ · User mailbox/);
    assert.ok(started);
    await untilStatus(reference, 'rolled-back');
  });
});
