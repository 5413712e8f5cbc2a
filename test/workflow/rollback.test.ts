/**
 * Cancel during a run and Roll back, against the sandbox (Samba AD + cloud emulator), through the real runner:
 *
 * - a user mailbox whose mailbox never appears (the sandbox's mailbox delay is set far beyond the wait's timeout,
 *   and Mailroom's clock is moved past it) stops after the AD user was created and licensed; Roll back removes the
 *   licence, then deletes the AD user; a second Roll back is refused;
 * - a shared mailbox cancelled while it waits for its mailbox: the later steps are cancelled, the wait is not
 *   checked again, Roll back removes what was created;
 * - an object at the DN that no longer carries the request's stamp is not deleted: the undo step stops with the
 *   reason, nothing is deleted; once the stamp is back, Retry finishes the roll back;
 * - a crash in the middle of a roll back (a step claimed, acted on, never recorded): after a restart the roll back
 *   finishes, the repeated step finds its work done;
 * - `ad.deleteObject` on its own: deletes a stamped object, finds a missing one done, refuses a foreign one.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Attribute, Change } from 'ldapts';
import { startMailroom, type Mailroom } from '../../src/app';
import { createCloudClients, type CloudClients } from '../../src/cloud';
import { loadConfig, type MailroomConfig } from '../../src/config/config';
import { DirectoryClient } from '../../src/directory';
import { createLogger, silentLogger } from '../../src/log';
import { projectRoot } from '../../src/paths';
import { createdByStamp, type StepInputs } from '../../src/plans';
import type { Sandbox } from '../../src/sandbox';
import { sandboxOverrides } from '../../src/sandbox/overrides';
import { SANDBOX_TENANT_ID } from '../../src/sandbox/people';
import type { AuditEvent, RequestRecord, RequestStatus } from '../../src/store';
import { adExecutors } from '../../src/workflow/executors/ad';
import { StepError, type StepContext } from '../../src/workflow/executors/types';
import type { RequestActor } from '../../src/workflow/use-cases';
import { MemorySecretStore, EncryptedSecretVault } from '../../src/workflow/secret-vault';
import { startConnector, visibleText, type Connector } from '../harness/connector';
import { ARNOLD, buttonData, Chat, RITA, storedRequest } from '../harness/requests';
import { createSandboxOu, getSharedSandbox, openSandboxLdap, resetProvisionOnDemandLimit } from '../harness/sandbox';

const suffix = Date.now().toString(36).slice(-5);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Far beyond any wait: the mailbox of a licence given now never appears during this suite. */
const NEVER_MS = 48 * 3600_000;
/** Past the mailbox wait's timeout (180 minutes). */
const PAST_MAILBOX_TIMEOUT_MS = 181 * 60_000;

const actor = (p: typeof RITA): RequestActor => ({ aadObjectId: p.aadObjectId, name: p.name, tenantId: SANDBOX_TENANT_ID, isAdmin: false });

describe('cancel during a run and roll back, against the sandbox', function () {
  this.timeout(120_000);
  let sandbox: Sandbox;
  let connector: Connector;
  let config: MailroomConfig;
  let app: Mailroom;
  let dataDir: string;
  let cloud: CloudClients;
  let directory: DirectoryClient;
  let rita: Chat;
  let arnold: Chat;
  let delayBefore = 0;
  /** Mailroom's clock runs ahead of the real one by this much (waits time out without waiting). */
  let skew = 0;
  const now = () => new Date(Date.now() + skew);
  const log = process.env.ROLLBACK_LOG ? createLogger('warn') : silentLogger;

  async function start(): Promise<Mailroom> {
    const m = await startMailroom(config, log, { now, runner: { pollMs: 100, waitPollMs: 150, backoffBaseMs: 100, backoffCapMs: 1000 }, waitIntervalMs: 100 });
    rita = new Chat(m.url, connector, RITA);
    arnold = new Chat(m.url, connector, ARNOLD);
    for (const c of [rita, arnold]) await c.client.install();
    return m;
  }

  before(async function () {
    sandbox = await getSharedSandbox();
    connector = await startConnector();
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'mailroom-rollback-'));
    config = loadConfig({ rootDir: projectRoot(), envName: 'sandbox', env: {}, overrides: { ...sandboxOverrides(sandbox.endpoints), PORT: '0', DATA_DIR: dataDir } });
    app = await start();
    const e = sandbox.endpoints;
    cloud = createCloudClients(config.cloud!, config.extraCaFile);
    directory = new DirectoryClient({ url: e.ldap.url, bindDn: e.ldap.bindDn, password: e.ldap.password, caPem: readFileSync(e.ldap.caFile, 'utf8'), connectTimeoutMs: 5000, timeoutMs: 15000 });
    delayBefore = sandbox.tenant.mailboxProvisioningDelayMs;
    sandbox.cloud.setKnobs({ mailboxProvisioningDelayMs: NEVER_MS });
  });

  after(async function () {
    sandbox?.cloud.setKnobs({ mailboxProvisioningDelayMs: delayBefore });
    if (sandbox) resetProvisionOnDemandLimit(sandbox);
    await app?.stop();
    cloud?.close();
    await directory?.close();
    await connector?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  // ------------------------------------------------------------------------------------------- helpers

  async function requestAndApprove(command: string, title: string): Promise<string> {
    const since = connector.calls.length;
    await rita.client.say(command);
    const status = await rita.waitFor((c) => new RegExp(`R-\\d+ · ${title}`).test(visibleText(c.body)), since, 15_000);
    const reference = /(R-\d+)/.exec(visibleText(status.body))?.[1] ?? '';
    assert.ok(reference, 'the status card names the request');
    const approval = await arnold.waitFor((c) => visibleText(c.body).includes(`${reference} · ${title}`), since, 15_000);
    const res = await arnold.client.execute('request.approve', buttonData(approval.body.attachments, 'Approve') ?? {});
    assert.equal(res.status, 200);
    return reference;
  }

  async function record(reference: string): Promise<RequestRecord> {
    const r = (await storedRequest(app.store, reference))?.record;
    assert.ok(r, `${reference} exists`);
    return r;
  }

  async function steps(reference: string): Promise<string[]> {
    return (await app.store.runs.listByRequest((await record(reference)).id)).map((s) => `${s.stepId}:${s.status}`);
  }

  /** Waits until the request has `status` (and `until` holds, if given); fails with the steps when it takes too long. */
  async function untilStatus(reference: string, status: RequestStatus, until?: (steps: string[]) => boolean, timeoutMs = 45_000): Promise<RequestRecord> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const r = await record(reference);
      if (r.status === status && (!until || until(await steps(reference)))) return r;
      if (Date.now() > end) assert.fail(`${reference} is ${r.status}${r.error ? ` (${r.error})` : ''}, not ${status}; steps: ${(await steps(reference)).join(', ')}`);
      await sleep(120);
    }
  }

  /** Files a user mailbox and lets it stop: created and licensed in AD and Entra, but the mailbox never comes. */
  async function failedUserMailbox(last: string): Promise<{ reference: string; dn: string; upn: string }> {
    const reference = await requestAndApprove(`new mailbox first=Rob last=${last} department=Research`, 'User mailbox');
    await untilStatus(reference, 'waiting', (s) => s.includes('exo.await-mailbox:waiting'));
    const r = await record(reference);
    const upn = (r.request as { userPrincipalName: string }).userPrincipalName;
    const dn = ((r.plan as { steps: { input: { dn?: string } }[] }).steps[0]!.input.dn ?? '');
    assert.ok(await directory.get(dn), 'the AD user was created');
    assert.equal((await licences(upn)).length, 1, 'and licensed');
    skew += PAST_MAILBOX_TIMEOUT_MS;
    const failed = await untilStatus(reference, 'failed');
    assert.match(failed.error ?? '', /No mailbox for .* appeared in Exchange Online within/);
    return { reference, dn, upn };
  }

  async function licences(upn: string): Promise<unknown[]> {
    const u = await cloud.graph.user<{ assignedLicenses?: unknown[] }>(upn, ['assignedLicenses']);
    assert.ok(u, `Entra ID has ${upn}`);
    return u.assignedLicenses ?? [];
  }

  async function events(reference: string): Promise<AuditEvent[]> {
    return app.store.audit.list({ requestRef: reference, limit: 500 });
  }

  // ------------------------------------------------------------------------------------------- tests

  it('a user mailbox that stopped after the AD user was created and licensed: Roll back removes the licence, then the AD user', async function () {
    const { reference, dn, upn } = await failedUserMailbox(`Back${suffix}`);
    const before = await record(reference);
    const view = await app.workflow!.views.viewOf(before);
    assert.equal(view.canRollBack, true, 'the card offers Roll back');
    assert.equal(view.canRetry, true);

    const preview = await app.workflow!.useCases.runControl.rollbackPreview(actor(RITA), reference, before.version);
    assert.ok(preview.ok, preview.ok ? '' : preview.message);
    assert.deepEqual(preview.plan.steps.map((s) => s.action), ['entra.removeLicence', 'ad.deleteObject']);
    assert.deepEqual(preview.plan.kept, []);

    // two clicks at once: one roll back starts, the other is refused
    const [a, b] = await Promise.all([app.workflow!.useCases.runControl.rollback(actor(RITA), reference, before.version), app.workflow!.useCases.runControl.rollback(actor(ARNOLD), reference, before.version)]);
    assert.deepEqual([a.ok, b.ok].sort(), [false, true], `${JSON.stringify(a).slice(0, 200)} / ${JSON.stringify(b).slice(0, 200)}`);
    const refused = a.ok ? b : a;
    assert.ok(!refused.ok);
    assert.match(refused.message, /already being rolled back|changed at the same moment|out of date/);

    const done = await untilStatus(reference, 'rolled-back');
    assert.equal(await directory.get(dn), null, 'the AD user is gone (LDAP)');
    assert.deepEqual(await licences(upn), [], 'the licence was removed (Graph)');
    assert.deepEqual(await steps(reference), [
      'ad.create-user:done', 'sync.await-user:done', 'entra.usage-location:done', 'entra.assign-licence:done', 'exo.await-mailbox:skipped',
      'undo.1.entra.assign-licence:done', 'undo.2.ad.create-user:done',
    ]);
    const v = await app.workflow!.views.viewOf(done);
    assert.match(v.statusText, /^Rolled back at .*: 2 removal steps done\.$/);
    assert.equal(v.canRollBack, false);

    const trail = await events(reference);
    const requested = trail.find((e) => e.event === 'rollback.requested');
    assert.ok(requested, 'rollback.requested is audited');
    assert.deepEqual((requested.data.compensation as { step: string }[]).map((c) => c.step), ['undo.1.entra.assign-licence', 'undo.2.ad.create-user']);
    const rolled = trail.find((e) => e.event === 'run.rolled-back');
    assert.ok(rolled, 'run.rolled-back is audited');
    assert.deepEqual(rolled.data.removed, ['undo.1.entra.assign-licence', 'undo.2.ad.create-user']);
    assert.ok(trail.some((e) => e.event === 'operation.done' && e.data.step === 'undo.2.ad.create-user'));
    assert.ok(trail.some((e) => e.event === 'rollback.refused' && e.data.code !== 'not-allowed'), 'the second click is audited');

    // a later Roll back is refused and changes nothing
    const again = await app.workflow!.useCases.runControl.rollback(actor(RITA), reference, done.version);
    assert.ok(!again.ok);
    assert.equal(again.code, 'already');
    assert.match(again.message, /was already rolled back .*Nothing was changed\./);
    assert.equal((await record(reference)).version, done.version);

    // the final message lists what was removed
    const told = await rita.waitFor((c) => new RegExp(`${reference} was rolled back`).test(String(c.body.text)), 0, 10_000);
    assert.match(String(told.body.text), /Removed: the Exchange Online \(Plan 1\) licence of .*; the AD user /);
    assert.match(String(told.body.text), /soft-deleted and can be restored for 30 days/);

    // what the message promised: the next sync cycle removes the synced Entra user
    await sandbox.sync.runCycle();
    assert.equal(await cloud.graph.user(upn, ['id']), null, 'the Entra user is gone after the next sync cycle');
    assert.equal((await app.store.audit.verify()).ok, true);
  });

  it('a shared mailbox cancelled while it waits for its mailbox: the later steps are cancelled, the wait is not checked again; Roll back', async function () {
    const reference = await requestAndApprove(`new shared mailbox name="Cancel Box ${suffix}" alias=cancelbox-${suffix}`, 'Shared mailbox');
    await untilStatus(reference, 'waiting', (s) => s.includes('exo.await-mailbox:waiting'));
    const waiting = await record(reference);
    const dn = ((waiting.plan as { steps: { input: { dn?: string } }[] }).steps[0]!.input.dn ?? '');
    const upn = (waiting.request as { userPrincipalName: string }).userPrincipalName;

    const res = await app.workflow!.useCases.runControl.cancel(actor(ARNOLD), reference, waiting.version);
    assert.ok(res.ok, res.ok ? '' : res.message);
    const cancelledSteps = await steps(reference);
    assert.deepEqual(cancelledSteps.slice(4), ['exo.await-mailbox:cancelled', 'exo.set-type:cancelled', 'entra.remove-licence:cancelled']);
    assert.deepEqual(cancelledSteps.slice(0, 4), ['ad.create-user:done', 'sync.await-user:done', 'entra.usage-location:done', 'entra.assign-licence:done']);

    // the poller neither re-checks nor moves the cancelled wait on, even past its timeout
    const count = (await events(reference)).length;
    skew += PAST_MAILBOX_TIMEOUT_MS;
    await sleep(1200);
    const after = await record(reference);
    assert.equal(after.status, 'cancelled');
    assert.deepEqual(await steps(reference), cancelledSteps);
    const later = (await events(reference)).slice(count).map((e) => e.event);
    assert.deepEqual(later.filter((e) => e.startsWith('operation.') || e.startsWith('run.')), [], `nothing ran after the cancel: ${later.join(', ')}`);

    const trail = await events(reference);
    const cancelled = trail.find((e) => e.event === 'request.cancelled');
    assert.ok(cancelled, 'request.cancelled is audited');
    assert.equal(cancelled.actorAadObjectId, ARNOLD.aadObjectId, 'an approver of the kind may cancel');
    assert.equal((cancelled.data.steps as Record<string, string>)['entra.assign-licence'], 'done');
    assert.equal((cancelled.data.steps as Record<string, string>)['exo.set-type'], 'cancelled');

    const told = await rita.waitFor((c) => new RegExp(`Request ${reference} was cancelled by ${ARNOLD.name}`).test(String(c.body.text)), 0, 10_000);
    assert.match(String(told.body.text), /Done before the cancel: 1\. Create the disabled AD user .*4\. Assign/);
    assert.match(String(told.body.text), /Roll back can remove what Mailroom created/);
    const view = await app.workflow!.views.viewOf(after);
    assert.equal(view.canRollBack, true);
    assert.match(view.statusText, /^Cancelled by Arnold Approver at .*: 4 of 7 steps were done before the cancel\.$/);

    const rb = await app.workflow!.useCases.runControl.rollback(actor(RITA), reference, after.version);
    assert.ok(rb.ok, rb.ok ? '' : rb.message);
    await untilStatus(reference, 'rolled-back');
    assert.equal(await directory.get(dn), null, 'the AD user is gone');
    assert.deepEqual(await licences(upn), [], 'the temporary licence was removed');
    assert.deepEqual((await steps(reference)).slice(4), [
      'exo.await-mailbox:skipped', 'exo.set-type:skipped', 'entra.remove-licence:skipped', 'undo.1.entra.assign-licence:done', 'undo.2.ad.create-user:done',
    ]);
  });

  it('an object at the DN without the request\'s stamp is not deleted: the step stops with the reason; with the stamp back, Retry finishes', async function () {
    const { reference, dn, upn } = await failedUserMailbox(`Stamp${suffix}`);
    const ldap = await openSandboxLdap(sandbox);
    const setDescription = (text: string) => ldap.modify(dn, new Change({ operation: 'replace', modification: new Attribute({ type: 'description', values: [text] }) }));
    try {
      await setDescription('Lab account: kept by IT');
      const rb = await app.workflow!.useCases.runControl.rollback(actor(RITA), reference, undefined);
      assert.ok(rb.ok, rb.ok ? '' : rb.message);
      const failed = await untilStatus(reference, 'failed', (s) => s.includes('undo.2.ad.create-user:failed'));
      assert.match(failed.error ?? '', new RegExp(`^Mailroom did not delete the user .*its description is 'Lab account: kept by IT', not 'Created by Mailroom for ${reference}'.*nothing was deleted`));
      assert.ok(await directory.get(dn), 'the object is still there');
      assert.deepEqual(await licences(upn), [], 'the licence (removed before) is gone');
      const view = await app.workflow!.views.viewOf(failed);
      assert.match(view.statusText, /^Roll back stopped: Mailroom did not delete/);
      assert.deepEqual([view.canRetry, view.canRollBack, view.canCancel], [true, false, false]);
      const told = await rita.waitFor((c) => new RegExp(`The roll back of ${reference} stopped`).test(String(c.body.text)), 0, 10_000);
      assert.ok(told);
      const again = await app.workflow!.useCases.runControl.rollback(actor(RITA), reference, undefined);
      assert.ok(!again.ok && again.code === 'already', 'a second Roll back is refused while the first stands failed');

      await setDescription(createdByStamp(reference));
      const retried = await app.workflow!.useCases.runControl.retry(actor(RITA), reference, failed.version);
      assert.ok(retried.ok, retried.ok ? '' : retried.message);
      await untilStatus(reference, 'rolled-back');
      assert.equal(await directory.get(dn), null);
    } finally {
      await ldap.unbind();
    }
  });

  it('a crash in the middle of a roll back: after a restart it finishes; the repeated step finds its work done', async function () {
    const { reference, dn, upn } = await failedUserMailbox(`Crash${suffix}`);
    // No runner picks the roll back up in this instance.
    await app.workflow!.runner!.stop();
    const rb = await app.workflow!.useCases.runControl.rollback(actor(RITA), reference, undefined);
    assert.ok(rb.ok, rb.ok ? '' : rb.message);
    // A runner claims the first undo step, removes the licence … and dies before recording it.
    const [claimed] = await app.store.runs.claimNext('crashed-runner', now(), 1000, 10);
    assert.equal(claimed?.stepId, 'undo.1.entra.assign-licence');
    const input = claimed.input as StepInputs['entra.removeLicence'];
    assert.equal(input.via, 'direct');
    const user = await cloud.graph.user<{ id: string }>(upn, ['id']);
    await cloud.graph.assignLicense(user!.id, [], [input.via === 'direct' ? input.skuId : '']);
    assert.deepEqual(await licences(upn), []);
    await app.stop();

    app = await start();
    await untilStatus(reference, 'rolled-back');
    assert.equal(await directory.get(dn), null);
    const s = (await app.store.runs.listByRequest((await record(reference)).id)).find((x) => x.stepId === 'undo.1.entra.assign-licence');
    assert.equal(s?.attempts, 2, 'the crashed claim and the one after the restart');
    assert.equal((s?.result as { changed?: boolean }).changed, false, 'the repeat found the licence gone');
    const rolled = (await events(reference)).find((e) => e.event === 'run.rolled-back');
    assert.deepEqual(rolled?.data.alreadyGone, ['undo.1.entra.assign-licence']);
    assert.deepEqual(rolled?.data.removed, ['undo.2.ad.create-user']);
  });

  describe('ad.deleteObject', function () {
    let ou: Awaited<ReturnType<typeof createSandboxOu>>;
    const run = async (input: StepInputs['ad.deleteObject'], reference: string) => {
      const executor = adExecutors({ directory, vault: new EncryptedSecretVault(Buffer.alloc(32, 7), new MemorySecretStore()) }).find((e) => e.action === 'ad.deleteObject');
      assert.ok(executor);
      const ctx: StepContext = { reference, requestId: 1, stepId: 'undo.1.ad.create-contact', attempt: 1, now: new Date(), log: silentLogger, results: {} };
      return executor.run(input, ctx);
    };

    before(async function () {
      ou = await createSandboxOu(sandbox, `rollback${suffix}`, { delegated: true });
    });
    after(async function () {
      await ou?.cleanup();
    });

    async function contact(cn: string, description: string): Promise<{ dn: string; objectGuid: string }> {
      const ldap = await openSandboxLdap(sandbox);
      try {
        const dnOf = `CN=${cn},${ou.dn}`;
        await ldap.add(dnOf, { objectClass: ['top', 'person', 'organizationalPerson', 'contact'], cn, description });
      } finally {
        await ldap.unbind();
      }
      const o = await directory.get(`CN=${cn},${ou.dn}`);
      assert.ok(o);
      return { dn: o.dn, objectGuid: o.objectGuid };
    }

    it('deletes an object that carries the stamp (and GUID); a repeat finds it gone and is done', async function () {
      const c = await contact('Stamped', createdByStamp('R-901'));
      const first = await run({ dn: c.dn, expectStamp: createdByStamp('R-901'), objectGuid: c.objectGuid, objectClass: 'contact' }, 'R-901');
      assert.deepEqual(first, { kind: 'done', changed: true, result: { dn: c.dn, objectGuid: c.objectGuid, objectClass: 'contact', deleted: true } });
      assert.equal(await directory.get(c.dn), null);
      const again = await run({ dn: c.dn, expectStamp: createdByStamp('R-901'), objectGuid: c.objectGuid }, 'R-901');
      assert.deepEqual(again, { kind: 'done', changed: false, result: { dn: c.dn, deleted: false, absent: true } });
    });

    it('refuses an object without the stamp, another request\'s object, and a replaced object (other GUID): nothing deleted', async function () {
      const foreign = await contact('Foreign', 'Made by hand');
      const other = await contact('Other Request', createdByStamp('R-902'));
      const replaced = await contact('Replaced', createdByStamp('R-903'));
      const cases: [StepInputs['ad.deleteObject'], RegExp][] = [
        [{ dn: foreign.dn, expectStamp: createdByStamp('R-903'), objectClass: 'contact' }, /its description is 'Made by hand', not 'Created by Mailroom for R-903'/],
        [{ dn: other.dn, expectStamp: createdByStamp('R-903') }, /its description is 'Created by Mailroom for R-902', not 'Created by Mailroom for R-903'/],
        [{ dn: replaced.dn, expectStamp: createdByStamp('R-903'), objectGuid: '00000000-0000-4000-8000-000000000000' }, /its objectGUID is .*, not 00000000-0000-4000-8000-000000000000/],
        [{ dn: replaced.dn, expectStamp: createdByStamp('R-903'), objectClass: 'user' }, /it is the contact, not the user/],
      ];
      for (const [input, message] of cases) {
        const err = await run(input, 'R-903').then(
          () => assert.fail(`deleted ${input.dn}`),
          (e: unknown) => e,
        );
        assert.ok(err instanceof StepError, String(err));
        assert.equal(err.transient, false);
        assert.match(err.message, message);
        assert.match(err.message, /^Mailroom did not delete the contact .*nothing was deleted/);
        assert.ok(await directory.get(input.dn), `${input.dn} is still there`);
      }
    });
  });
});
