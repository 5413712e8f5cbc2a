/**
 * Intent before effect, against the sandbox (Samba AD, synced to the emulated Entra ID), through the real runner, the
 * real store and the production Entra executor: the licence step records what it is about to assign before it
 * assigns it.
 * - A crash right after Graph acknowledged the assignment (the outcome never recorded): after the restart the step
 *   finds the licence, knows it may be its own, reports it changed; the run stops at a later step; roll back removes
 *   the licence.
 * - A licence the user had before the request: the step finds it before it goes to assign anything, records no
 *   intent, reports it unchanged; roll back keeps it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { createCloudClients, type CloudClients } from '../../src/cloud';
import type { LicenceInput } from '../../src/plans';
import type { Sandbox } from '../../src/sandbox';
import { openStore, type RequestRecord, type Store } from '../../src/store';
import { cloudExecutors } from '../../src/workflow/executors';
import type { StepExecutor } from '../../src/workflow/executors/types';
import { ConformanceSuite } from '../harness/conformance';
import { getSharedSandbox } from '../harness/sandbox';
import { pausedRunner, queuedThenStop, rollBack as rollBackRun, stopExecutor } from './fixtures/stopped-runs';

const suffix = Date.now().toString(36).slice(-5);

describe('intent before effect: the licence step and roll back after a crash, against the sandbox', function () {
  this.timeout(120_000);
  let sandbox: Sandbox;
  let suite: ConformanceSuite;
  let clients: CloudClients;
  let dir: string;
  let store: Store;
  let executors: StepExecutor[];

  before(async function () {
    sandbox = await getSharedSandbox();
    suite = await ConformanceSuite.open(sandbox, `intent${suffix}`);
    const e = sandbox.endpoints;
    clients = createCloudClients(
      { credentialType: 'ClientCredentials', tenantId: e.tenantId, authorityHost: e.authorityHost, clientId: e.clientId, clientSecret: e.clientSecret, clientCertificatePath: undefined, graphUrl: e.graphUrl, exoUrl: e.exoUrl },
      e.caFile,
    );
    executors = [...cloudExecutors({ graph: clients.graph, exo: clients.exo, sync: {}, readBack: { reads: 2, pauseMs: 10, attempts: 3, retryAfterMs: 60_000 } }), stopExecutor];
    dir = mkdtempSync(path.join(os.tmpdir(), 'mailroom-intent-'));
    store = await openStore({ sqliteFile: path.join(dir, 'mailroom.db') });
  });

  after(async function () {
    await store?.close();
    clients?.close();
    await suite?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const runner = (owner: string, list: readonly StepExecutor[], leaseMs?: number) => pausedRunner(store, owner, list, leaseMs);

  /** A synced user with a usage location and no licence. */
  async function syncedUser(name: string): Promise<{ upn: string; id: string }> {
    await suite.addUser(name);
    await suite.sync();
    const u = await suite.mustGraphUser(suite.upn(name));
    await suite.setUsageLocation(u.id);
    assert.deepEqual(u.assignedLicenses, []);
    return { upn: suite.upn(name), id: u.id };
  }

  const licenceOf = (upn: string): LicenceInput => ({ userPrincipalName: upn, via: 'direct', skuId: suite.exchangeSku, skuName: 'Exchange Online (Plan 1)' });

  /** A request (kind mailbox-type: a licence for an existing user, then a step that fails), queued. */
  const queued = (upn: string): Promise<RequestRecord> => queuedThenStop(store, `Licence for ${upn}`, { id: 'entra.assign-licence', action: 'entra.assignLicence', system: 'entra', input: licenceOf(upn), summary: 'Assign the Exchange Online (Plan 1) licence' });

  const rollBack = (record: RequestRecord) => rollBackRun(store, record, executors);

  const licences = async (upn: string): Promise<string[]> => (await suite.mustGraphUser(upn)).assignedLicenses.map((l) => l.skuId);

  it('a crash right after the assignment was acknowledged: restart, the run stops later, roll back removes the licence', async function () {
    const { upn } = await syncedUser(`IntentA${suffix}`);
    const record = await queued(upn);
    // The first process: its licence executor assigns (Graph acknowledges), then the process dies before the outcome
    // is recorded: the executor never returns, its short lease runs out.
    const real = executors.find((x) => x.action === 'entra.assignLicence')!;
    let acknowledged!: () => void;
    const acked = new Promise<void>((r) => (acknowledged = r));
    const dying: StepExecutor = {
      action: 'entra.assignLicence',
      run: async (input, ctx) => {
        await real.run(input, ctx);
        acknowledged();
        return new Promise<never>(() => undefined); // the process is gone
      },
    };
    void runner('crashed', [dying, ...executors.filter((x) => x !== real)], 300).runUntilIdle(1);
    await acked;
    assert.deepEqual(await licences(upn), [suite.exchangeSku], 'the licence was assigned');
    const [held] = await store.runs.listByRequest(record.id);
    assert.deepEqual([held?.status, held?.result], ['running', null], 'no outcome was recorded');
    assert.deepEqual(held?.intent, { action: 'assign-licence', id: suite.exchangeSku, userId: (await suite.mustGraphUser(upn)).id, had: false }, 'the intent was recorded before the write');

    // The restart: it takes the step over once the dead process's lease ran out.
    const restarted = runner('restarted', executors);
    const deadline = Date.now() + 20_000;
    while ((await store.requests.get(record.id))?.status !== 'failed' && Date.now() < deadline) {
      await restarted.runUntilIdle();
      await delay(100);
    }
    const steps = await store.runs.listByRequest(record.id);
    assert.equal((await store.requests.get(record.id))?.status, 'failed', 'the run stopped at the step after the licence');
    const licence = steps.find((s) => s.stepId === 'entra.assign-licence')!;
    assert.deepEqual([licence.status, licence.attempts, licence.abandoned], ['done', 2, 1]);
    // this try wrote nothing (the audit counts the one write once); the licence it found is the earlier try's
    assert.equal((licence.result as { changed?: unknown }).changed, false);
    assert.equal((licence.result as { assignedByEarlierTry?: unknown }).assignedByEarlierTry, true, 'the licence found in place is known as this step’s');

    assert.deepEqual(await rollBack(record), ['entra.removeLicence']);
    assert.deepEqual(await licences(upn), [], 'roll back removed the licence');
  });

  it('a licence the user had before the request: no intent, reported unchanged, roll back keeps it', async function () {
    const { upn } = await syncedUser(`IntentB${suffix}`);
    await suite.licence(upn);
    assert.deepEqual(await licences(upn), [suite.exchangeSku]);
    const record = await queued(upn);
    await runner('only', executors).runUntilIdle();
    assert.equal((await store.requests.get(record.id))?.status, 'failed');
    const licence = (await store.runs.listByRequest(record.id)).find((s) => s.stepId === 'entra.assign-licence')!;
    assert.equal(licence.intent, null, 'nothing was about to be assigned');
    assert.equal((licence.result as { changed?: unknown }).changed, false);
    assert.equal((licence.result as { assignedByEarlierTry?: unknown }).assignedByEarlierTry, undefined);
    assert.deepEqual(await rollBack(record), [], 'roll back has nothing to remove');
    assert.deepEqual(await licences(upn), [suite.exchangeSku], 'the licence stays');
  });
});
