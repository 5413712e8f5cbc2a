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
import type { StepInputs } from '../../src/plans';
import type { Sandbox } from '../../src/sandbox';
import { openStore, type RequestRecord, type Store } from '../../src/store';
import { adExecutors } from '../../src/workflow/executors';
import type { StepExecutor } from '../../src/workflow/executors/types';
import { EncryptedSecretVault, MemorySecretStore } from '../../src/workflow/secret-vault';
import { ConformanceSuite } from '../harness/conformance';
import { getSharedSandbox } from '../harness/sandbox';
import { pausedRunner, queuedThenStop, rollBack as rollBackRun, stopExecutor } from './fixtures/stopped-runs';

const suffix = Date.now().toString(36).slice(-5);

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
    executors = [...adExecutors({ directory, vault: new EncryptedSecretVault(Buffer.alloc(32, 7), new MemorySecretStore()) }), stopExecutor];
    dir = mkdtempSync(path.join(os.tmpdir(), 'mailroom-group-intent-'));
    store = await openStore({ sqliteFile: path.join(dir, 'mailroom.db') });
  });

  after(async function () {
    await store?.close();
    await directory?.close();
    await suite?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const runner = (owner: string, list: readonly StepExecutor[], leaseMs?: number) => pausedRunner(store, owner, list, leaseMs);

  /** A request (kind mailbox-type: the user into the AD licensing group, then a step that fails), queued. */
  const queued = (membership: StepInputs['ad.addGroupMember']): Promise<RequestRecord> => queuedThenStop(store, `Licence for ${membership.memberDn}`, { id: 'ad.licence-group', action: 'ad.addGroupMember', system: 'ad', input: membership, summary: 'Add the user to the AD licensing group' });

  const rollBack = (record: RequestRecord) => rollBackRun(store, record, executors);

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
