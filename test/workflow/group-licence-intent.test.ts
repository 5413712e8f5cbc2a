/**
 * Intent before effect for the AD licensing group (licensing mode "group" with an AD group), against the sandbox's
 * Samba AD, through the real runner, the real store and the production AD executor: `ad.addGroupMember` records that
 * it is about to add the user before it adds it.
 * - A crash right after AD added the member (the outcome never recorded): after the restart the step finds the
 *   membership, knows it may be its own, reports it unchanged but added by an earlier try; the run stops at a later
 *   step; roll back removes the membership.
 * - A membership the user had before the request: the step finds it before it goes to add anything, records no
 *   intent, reports it unchanged; roll back keeps it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { DirectoryClient, dn } from '../../src/directory';
import { silentLogger } from '../../src/log';
import type { Plan, StepAction, StepInputs } from '../../src/plans';
import type { Sandbox } from '../../src/sandbox';
import { openStore, type RequestRecord, type Store } from '../../src/store';
import { adExecutors } from '../../src/workflow/executors';
import { StepError, type StepExecutor } from '../../src/workflow/executors/types';
import { RequestLifecycle } from '../../src/workflow/lifecycle';
import { rollbackFor } from '../../src/workflow/rollback-info';
import { WorkflowRunner } from '../../src/workflow/runner';
import { EncryptedSecretVault, MemorySecretStore } from '../../src/workflow/secret-vault';
import { ConformanceSuite } from '../harness/conformance';
import { getSharedSandbox } from '../harness/sandbox';

const suffix = Date.now().toString(36).slice(-5);
/** Stands for the step after the licensing group that fails (e.g. a mailbox conversion Exchange refuses). */
const STOP = 'test.stop' as StepAction;

describe('intent before effect: the AD licensing group step and roll back after a crash, against the sandbox', function () {
  this.timeout(120_000);
  let sandbox: Sandbox;
  let suite: ConformanceSuite;
  let directory: DirectoryClient;
  let dir: string;
  let store: Store;
  let executors: StepExecutor[];

  before(async function () {
    sandbox = await getSharedSandbox();
    // Mailroom's service account changes the suite's group: it needs its rights on the suite's OU.
    suite = await ConformanceSuite.open(sandbox, `gintent${suffix}`, { delegated: true });
    const e = sandbox.endpoints.ldap;
    directory = new DirectoryClient({ url: e.url, bindDn: e.bindDn, password: e.password, caPem: readFileSync(e.caFile, 'utf8'), connectTimeoutMs: 5000, timeoutMs: 15000 });
    const stop: StepExecutor = {
      action: STOP,
      run: () => Promise.reject(new StepError('Exchange Online refused the conversion (a stand-in failure). Nothing was changed.', false)),
    };
    executors = [...adExecutors({ directory, vault: new EncryptedSecretVault(Buffer.alloc(32, 7), new MemorySecretStore()) }), stop];
    dir = mkdtempSync(path.join(os.tmpdir(), 'mailroom-group-intent-'));
    store = await openStore({ sqliteFile: path.join(dir, 'mailroom.db') });
  });

  after(async function () {
    await store?.close();
    await directory?.close();
    await suite?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function runner(owner: string, list: readonly StepExecutor[], leaseMs = 60_000): WorkflowRunner {
    const r = new WorkflowRunner({ store, executors: list, waiters: [], lifecycle: new RequestLifecycle(store.requests), outbox: store.outbox, log: silentLogger, owner, leaseMs });
    // Stopped before it starts: no background pass (a kick after each step) races the passes the test runs itself.
    void r.stop();
    return r;
  }

  /** A request (kind mailbox-type: the user into the AD licensing group, then a step that fails), queued. */
  async function queued(membership: StepInputs['ad.addGroupMember']): Promise<RequestRecord> {
    const plan = {
      kind: 'mailbox-type',
      title: `Licence for ${membership.memberDn}`,
      steps: [
        { id: 'ad.licence-group', action: 'ad.addGroupMember', system: 'ad', input: membership, summary: 'Add the user to the AD licensing group', waits: false },
        { id: 'exo.set-type', action: STOP, system: 'exo', input: {}, summary: 'Convert the mailbox', waits: false },
      ],
    } as unknown as Plan;
    const record = await store.requests.create({ kind: 'mailbox-type', requesterAadObjectId: 'aad-rita', requesterName: 'Rita', tenantId: 't', values: {}, request: {}, plan, status: 'approved' });
    await store.runs.createSteps(record.id, plan.steps.map((s) => ({ stepId: s.id, action: s.action, system: s.system, input: s.input })), new Date());
    await store.requests.transition(record.id, record.version, { status: 'queued' });
    return record;
  }

  /** Runs the roll back of a failed request as the runner does (compensation steps appended), to its end. */
  async function rollBack(record: RequestRecord): Promise<string[]> {
    const steps = await store.runs.listByRequest(record.id);
    const rb = rollbackFor((await store.requests.get(record.id))!, steps);
    if (rb.steps.length) {
      await store.runs.appendSteps(record.id, rb.steps.map((s) => ({ stepId: s.id, action: s.action, system: s.system, input: s.input })), new Date(), { skipUnfinished: true });
      await runner(`rollback-${record.id}`, executors).runUntilIdle();
      const undone = (await store.runs.listByRequest(record.id)).filter((s) => s.stepId.startsWith('undo.'));
      assert.deepEqual(undone.map((s) => s.status), undone.map(() => 'done'), 'the roll back ran to its end');
    }
    return rb.steps.map((s) => s.action);
  }

  /** Whether the user is a member of the group, as AD says now (read as an admin, not through Mailroom). */
  const isMember = async (groupDn: string, userDn: string): Promise<boolean> => (await suite.readAd(groupDn, 'member')).some((m) => dn.equal(m, userDn));

  it('a crash right after AD added the member: restart, the run stops later, roll back removes the membership', async function () {
    const userDn = await suite.addUser(suite.name('GiA'));
    const groupDn = await suite.addGroup(suite.name('GiLicA'), { scope: 'global', security: true });
    const record = await queued({ groupDn, memberDn: userDn });
    // The first process: its executor adds the member (AD acknowledges), then the process dies before the outcome is
    // recorded: the executor never returns, its short lease runs out.
    const real = executors.find((x) => x.action === 'ad.addGroupMember')!;
    let acknowledged!: () => void;
    const acked = new Promise<void>((r) => (acknowledged = r));
    const dying: StepExecutor = {
      action: 'ad.addGroupMember',
      run: async (input, ctx) => {
        await real.run(input, ctx);
        acknowledged();
        return new Promise<never>(() => undefined); // the process is gone
      },
    };
    void runner('crashed', [dying, ...executors.filter((x) => x !== real)], 300).runUntilIdle(1);
    await acked;
    assert.equal(await isMember(groupDn, userDn), true, 'AD added the member');
    const [held] = await store.runs.listByRequest(record.id);
    assert.deepEqual([held?.status, held?.result], ['running', null], 'no outcome was recorded');
    assert.deepEqual(held?.intent, { action: 'add-group-member', id: groupDn, memberDn: userDn }, 'the intent was recorded before the write');

    // The restart: it takes the step over once the dead process's lease ran out.
    const restarted = runner('restarted', executors);
    const deadline = Date.now() + 20_000;
    while ((await store.requests.get(record.id))?.status !== 'failed' && Date.now() < deadline) {
      await restarted.runUntilIdle();
      await delay(100);
    }
    assert.equal((await store.requests.get(record.id))?.status, 'failed', 'the run stopped at the step after the licensing group');
    const step = (await store.runs.listByRequest(record.id)).find((s) => s.stepId === 'ad.licence-group')!;
    assert.deepEqual([step.status, step.attempts, step.abandoned], ['done', 2, 1]);
    const result = step.result as { changed?: unknown; added?: unknown; addedByEarlierTry?: unknown };
    // this try wrote nothing (the audit counts the one write once); the membership it found is the earlier try's
    assert.deepEqual([result.changed, result.added, result.addedByEarlierTry], [false, false, true], 'the membership found in place is known as this step’s');
    assert.equal(((await store.requests.get(record.id))?.result as Record<string, unknown> | null)?.addedByEarlierTry, undefined, 'the flag is the step’s, not the request’s');

    assert.deepEqual(await rollBack(record), ['ad.removeGroupMember']);
    assert.equal(await isMember(groupDn, userDn), false, 'roll back removed the membership');
  });

  it('a membership the user had before the request: no intent, reported unchanged, roll back keeps it', async function () {
    const userDn = await suite.addUser(suite.name('GiB'));
    const groupDn = await suite.addGroup(suite.name('GiLicB'), { scope: 'global', security: true, members: [userDn] });
    const record = await queued({ groupDn, memberDn: userDn });
    await runner('only', executors).runUntilIdle();
    assert.equal((await store.requests.get(record.id))?.status, 'failed');
    const step = (await store.runs.listByRequest(record.id)).find((s) => s.stepId === 'ad.licence-group')!;
    assert.equal(step.intent, null, 'nothing was about to be added');
    const result = step.result as { changed?: unknown; added?: unknown; addedByEarlierTry?: unknown };
    assert.deepEqual([result.changed, result.added, result.addedByEarlierTry], [false, false, undefined]);
    assert.deepEqual(await rollBack(record), [], 'roll back has nothing to remove');
    assert.equal(await isMember(groupDn, userDn), true, 'the membership stays');
  });
});
