/**
 * The mailbox wait and what the mailbox needs (src/workflow/executors/mailbox-preconditions.ts), against the sandbox
 * through the real runner: a user mailbox waits for its mailbox; the licence and the usage location are taken from the
 * user meanwhile. The wait does not sit out its three hours: once it has waited its grace (Mailroom's clock is moved
 * past it) it fails at once, naming what is gone; Retry puts both back through the plan's own steps (audited as
 * runs of those steps for the wait) and the request reaches done with one licence and one mailbox.
 */
import assert from 'node:assert/strict';
import type { Sandbox } from '../../src/sandbox';
import { SANDBOX_TENANT_ID } from '../../src/sandbox/people';
import type { RequestStatus } from '../../src/store';
import { hasPreconditions, missingPreconditions, preconditionFailure } from '../../src/workflow/executors/mailbox-preconditions';
import type { RequestActor } from '../../src/workflow/use-cases';
import { QUICK_RUNNER, TestMailroom } from '../harness/mailroom';
import { RITA } from '../harness/requests';
import { getSharedSandbox, openSandboxLdap, resetProvisionOnDemandLimit } from '../harness/sandbox';

const suffix = Date.now().toString(36).slice(-5);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const NEVER_MS = 48 * 3600_000;
const actor = (p: typeof RITA): RequestActor => ({ aadObjectId: p.aadObjectId, name: p.name, tenantId: SANDBOX_TENANT_ID, isAdmin: false });

describe('the mailbox wait when the licence or usage location is gone', function () {
  this.timeout(120_000);
  let sandbox: Sandbox;
  let m: TestMailroom;
  let delayBefore = 0;
  let skew = 0;
  const now = () => new Date(Date.now() + skew);

  before(async function () {
    sandbox = await getSharedSandbox();
    resetProvisionOnDemandLimit(sandbox);
    m = await TestMailroom.start({ sandbox, name: 'preconditions', options: { ...QUICK_RUNNER, now } });
    delayBefore = sandbox.tenant.mailboxProvisioningDelayMs;
    sandbox.cloud.setKnobs({ mailboxProvisioningDelayMs: NEVER_MS });
  });

  after(async function () {
    sandbox?.cloud.setKnobs({ mailboxProvisioningDelayMs: delayBefore });
    await m?.close();
  });

  const record = (reference: string) => m.record(reference);
  const untilStatus = (reference: string, status: RequestStatus, until?: (steps: string[]) => boolean) => m.untilStatus(reference, status, until);

  it('fails at once naming what is gone, and Retry puts it back through the plan\'s steps', async function () {
    const { reference } = await m.requestAndApprove(`new mailbox first=Pre last=Cond${suffix} department=Research`, 'User mailbox');
    await untilStatus(reference, 'waiting', (s) => s.includes('exo.await-mailbox:waiting'));

    const upn = ((await record(reference)).request as { userPrincipalName: string }).userPrincipalName;
    const user = sandbox.tenant.user(upn)!;
    const sku = sandbox.endpoints.skus.exchangeOnline;
    // an admin takes the licence back and clears the usage location
    sandbox.tenant.assignLicense(user.id, [], [sku]);
    sandbox.tenant.updateUser(user.id, { usageLocation: null });

    // within the grace (Entra's reads may lag a write by moments) the wait goes on
    await sleep(600);
    assert.equal((await record(reference)).status, 'waiting');

    const t0 = Date.now();
    skew += 3 * 60_000; // past the grace, far from the three hours of the wait's timeout
    const failed = await untilStatus(reference, 'failed');
    assert.ok(Date.now() - t0 < 15_000, `failed after ${Date.now() - t0} ms`);
    assert.match(failed.error ?? '', new RegExp(`No mailbox for ${upn} appeared after 3 minutes, and none will: Entra ID shows the user without its usage location \\(DE was set\\) and its Exchange licence \\(SKU ${sku}\\)`));
    assert.match(failed.error ?? '', /Press Retry and Mailroom puts back both as approved, then waits for the mailbox again/);
    const failedEvent = (await m.app.store.audit.list({ requestRef: reference, limit: 500 })).find((e) => e.event === 'operation.failed');
    assert.deepEqual(failedEvent?.data.rerunOnRetry, ['entra.usage-location', 'entra.assign-licence']);

    sandbox.cloud.setKnobs({ mailboxProvisioningDelayMs: 0 });
    const retried = await m.app.workflow!.useCases.runControl.retry(actor(RITA), reference, failed.version);
    assert.ok(retried.ok, retried.ok ? '' : retried.message);
    await untilStatus(reference, 'done');

    const after = sandbox.tenant.user(upn)!;
    assert.equal(after.usageLocation, 'DE');
    assert.deepEqual(after.directLicenses.map((l) => l.skuId), [sku], 'one licence');
    assert.equal(sandbox.tenant.recipients().filter((r) => r.externalDirectoryObjectId === user.id && r.recipientTypeDetails === 'UserMailbox').length, 1, 'one mailbox');
    const rerun = (await m.app.store.audit.list({ requestRef: reference, limit: 500 })).filter((e) => e.data.rerunFor === 'exo.await-mailbox');
    assert.deepEqual(
      rerun.map((e) => `${e.event} ${String(e.data.step)}${e.event === 'operation.done' ? ` changed=${String(e.data.changed)}` : ''}`),
      ['operation.started entra.usage-location', 'operation.done entra.usage-location changed=true', 'operation.started entra.assign-licence', 'operation.done entra.assign-licence changed=true'],
    );
    assert.equal((await m.app.store.audit.verify()).ok, true);

    // the shared tenant gets its licence back
    const ldap = await openSandboxLdap(sandbox);
    try {
      const dn = ((await record(reference)).plan as { steps: { input: { dn?: string } }[] }).steps[0]!.input.dn!;
      await ldap.del(dn);
    } finally {
      await ldap.unbind();
    }
    await sandbox.sync.runCycle();
  });
});

describe('the mailbox wait\'s preconditions (what it reports)', function () {
  const sku = '4b9405b0-7788-4568-add1-99614e613b69';
  const results = {
    'entra.usage-location': { userId: 'u-1', usageLocation: 'DE' },
    'entra.assign-licence': { userId: 'u-1', skuId: sku },
  };

  it('names what is gone, and nothing when all is there', function () {
    const licensed = { id: 'u-1', usageLocation: 'DE', licenseAssignmentStates: [{ skuId: sku, assignedByGroup: null, state: 'Active' }] };
    assert.deepEqual(missingPreconditions(results, licensed), []);
    assert.deepEqual(missingPreconditions(results, { ...licensed, licenseAssignmentStates: [{ skuId: sku, state: 'Error', error: 'CountViolation' }] }).map((m) => m.stepId), ['entra.assign-licence'], 'an assignment in error is no licence');
    assert.deepEqual(missingPreconditions(results, { id: 'u-1', usageLocation: null, assignedLicenses: [] }).map((m) => m.stepId), ['entra.usage-location', 'entra.assign-licence']);
    assert.equal(hasPreconditions({}), false, 'a plan without those steps (licence through an AD group): nothing to check');
    const viaGroup = { 'entra.assign-licence': { userId: 'u-1', groupId: 'g-1', licenceState: 'processing' } };
    assert.deepEqual(missingPreconditions(viaGroup, { id: 'u-1', licenseAssignmentStates: [] }), [], 'a group licence still being processed is not missing');
    assert.match(missingPreconditions(viaGroup, { id: 'u-1', licenseAssignmentStates: [{ assignedByGroup: 'g-1', state: 'Error', error: 'CountViolation' }] })[0]!.what, /licensing group g-1 \(Entra ID reports CountViolation\)/);
  });

  it('says when the user is gone, or was deleted and created again', function () {
    const gone = preconditionFailure('ada@contoso.com', { kind: 'gone' }, [], 200);
    assert.equal(gone.transient, false);
    assert.match(gone.message, /^No mailbox for ada@contoso\.com appeared after 3 minutes, and none will: Entra ID has no user ada@contoso\.com any more\./);
    const row = { id: 'u-2', usageLocation: null, assignedLicenses: [] };
    const replaced = preconditionFailure('ada@contoso.com', { kind: 'replaced', row, was: 'u-1' }, missingPreconditions(results, row), 45);
    assert.match(replaced.message, /after 45 seconds, and none will: Entra ID has deleted the user and created it again \(ada@contoso\.com is now the object u-2, not u-1\), and the new one is without its usage location/);
    assert.match(replaced.message, /Press Retry and Mailroom puts back both as approved/);
  });
});
