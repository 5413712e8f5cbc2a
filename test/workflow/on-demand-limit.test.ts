/**
 * Graph provisionOnDemand's limit (5 calls per 10 s per Cloud Sync job) held across Mailroom instances: two pollers,
 * each with its own store on one database (SQLite file, or the harness's PostgreSQL), trigger waits of their own
 * against the cloud emulator, which enforces the limit on its tenant clock and answers 429 beyond it. The waiters run
 * through Mailroom's production Graph client (no SDK retries, so a 429 reaches them); the emulator's hook plays the
 * sync engine and creates the user in Entra ID, so a triggered wait is done in the same cycle.
 */
import assert from 'node:assert/strict';
import { RetryHandlerOptions } from '@microsoft/microsoft-graph-client';
import { createCredential, createGraphClient, GraphDirectory } from '../../src/cloud';
import { silentLogger } from '../../src/log';
import type { StepInputs } from '../../src/plans';
import type { Store } from '../../src/store';
import { StepError, type BatchWaiter, type StepOutcome, type StepResult } from '../../src/workflow/executors/types';
import { cloudWaiters, InMemoryOnDemandLimiter, onDemandLimitKey, type OnDemandLimiter } from '../../src/workflow/executors';
import type { ExchangePort } from '../../src/workflow/executors/exchange-port';
import { AD2AAD_RULE_ID } from '../../src/sandbox/cloud/tenant-model';
import { adUser, startTestCloud, type TestCloud } from '../sandbox/cloud-fixture';
import { ENGINES, engineFixture } from '../store/helpers';

const SP = '5e0c1f10-0000-4000-8000-0000000000aa';
const POD = /\/provisionOnDemand$/;

interface TestStep {
  key: string;
  sam: string;
  input: StepInputs['sync.awaitUser'];
  result?: StepResult;
  outcome?: StepOutcome | StepError;
}

const open = (st: TestStep): boolean => st.outcome === undefined || (!(st.outcome instanceof StepError) && st.outcome.kind === 'wait');

/** Exchange is not asked by the user waits. */
const noExo: ExchangePort = { invoke: () => Promise.reject(new Error('Exchange Online is not expected here')) };

describe('provisionOnDemand limit shared by instances through the store', function () {
  this.timeout(120_000);
  let t: TestCloud;
  let graphs: { graph: GraphDirectory; close(): void }[] = [];
  let counter = 0;
  /** DNs the emulator's sync-engine hook was called for, in order. */
  const synced: string[] = [];

  before(async function () {
    t = await startTestCloud();
    t.cloud.setProvisionOnDemandHook((dn) => {
      synced.push(dn);
      const sam = /^CN=([^,]+)/.exec(dn)?.[1] ?? dn;
      t.tenant.upsertSyncedUser(adUser(sam, { distinguishedName: dn }));
    });
  });

  after(async function () {
    for (const g of graphs) g.close();
    graphs = [];
    await t?.stop();
  });

  /** Mailroom's production Graph client against the emulator, without SDK retries (a 429 reaches the trigger). */
  function graphClient(): GraphDirectory {
    const config = { credentialType: 'ClientCredentials' as const, tenantId: t.cloud.tenantId, authorityHost: t.cloud.url, clientId: t.cloud.clientId, clientSecret: t.cloud.clientSecret, clientCertificatePath: undefined, graphUrl: t.cloud.graphUrl, exoUrl: t.cloud.exoUrl };
    const credential = createCredential(config, t.cloud.caPem);
    const handle = createGraphClient(config.graphUrl, credential, t.cloud.caPem, new RetryHandlerOptions(0, 0));
    const graph = new GraphDirectory(handle.client);
    graphs.push({ graph, close: () => handle.close() });
    return graph;
  }

  /** A fresh Cloud Sync job of the tenant (the emulator counts per job) and the user waits of one instance. */
  function job(): { servicePrincipalId: string; jobId: string } {
    counter += 1;
    const j = { servicePrincipalId: SP, jobId: `AD2AADProvisioning.limit${counter}` };
    t.tenant.registerSyncJob(j);
    return j;
  }

  /** One instance's poller: its own Graph client and waiters; the limiter is its store's (or memory's). */
  function poller(sync: { servicePrincipalId: string; jobId: string }, limiter?: OnDemandLimiter): BatchWaiter<'sync.awaitUser'> {
    const set = cloudWaiters({ graph: graphClient(), exo: noExo, sync, now: () => t.clock.now(), limiter: limiter ?? new InMemoryOnDemandLimiter() });
    return set.find((w) => w.action === 'sync.awaitUser') as unknown as BatchWaiter<'sync.awaitUser'>;
  }

  function steps(prefix: string, n: number): TestStep[] {
    return Array.from({ length: n }, (_, i) => {
      const sam = `${prefix}${counter}u${i}`;
      return { key: sam, sam, input: { engine: 'cloud', provisionOnDemand: true, dn: `CN=${sam},OU=Staff,DC=contoso,DC=com`, objectType: 'user', samAccountName: sam, timeoutMinutes: 15 } };
    });
  }

  /** One poller cycle over the still-open steps, passing results back as the runner does. */
  async function poll(waiter: BatchWaiter<'sync.awaitUser'>, list: TestStep[]): Promise<void> {
    const now = new Date(t.clock.now());
    const todo = list.filter(open);
    const out = await waiter.checkAll(
      todo.map((st) => ({
        key: st.key,
        input: st.input,
        ctx: { reference: 'R-1', requestId: 1, stepId: st.key, attempt: 1, now, log: silentLogger, results: st.result ? { [st.key]: st.result } : {} },
      })),
    );
    for (const st of todo) {
      const o = out.get(st.key);
      if (o === undefined) continue;
      st.outcome = o;
      if (!(o instanceof StepError) && o.kind === 'wait') st.result = o.result;
    }
  }

  /** The provisionOnDemand answers the emulator gave while `fn` ran (status per call). */
  async function podStatuses(fn: () => Promise<unknown>): Promise<number[]> {
    const log = t.cloud.requests;
    const mark = log[log.length - 1];
    await fn();
    const start = mark ? log.lastIndexOf(mark) + 1 : 0;
    return log
      .slice(start)
      .filter((r) => POD.test(r.path))
      .map((r) => r.status);
  }

  it('without a shared limiter, two instances exceed the limit together and Graph answers 429 (what the store prevents)', async function () {
    t.clock.advance(60_000);
    const sync = job();
    const a = steps('mem-a', 6);
    const b = steps('mem-b', 6);
    const statuses = await podStatuses(() => Promise.all([poll(poller(sync), a), poll(poller(sync), b)]));
    // Each in-memory limiter allows 5; each poller stops at its first 429.
    assert.equal(statuses.filter((s) => s === 200).length, 5, statuses.join(', '));
    assert.ok(statuses.includes(429), `the emulator refused the calls beyond 5 (${statuses.join(', ')})`);
  });

  for (const engine of ENGINES) {
    describe(`two instances on one ${engine} database`, function () {
      const fx = engineFixture(engine, 'ondemand');

      async function twoStores(): Promise<[Store, Store]> {
        const opts = await fx.freshOptions();
        return [await fx.open(opts), await fx.open(opts)];
      }

      it('make at most 5 calls per 10-second window together, each wait triggered once, and never get a 429', async function () {
        t.clock.advance(60_000);
        const sync = job();
        const [storeA, storeB] = await twoStores();
        const instances = [
          { waiter: poller(sync, storeA.rateLimits), steps: steps('a', 12) },
          { waiter: poller(sync, storeB.rateLimits), steps: steps('b', 12) },
        ];
        const all = instances.flatMap((x) => x.steps);
        const before = synced.length;
        const perCycle: number[] = [];
        const statuses: number[] = [];
        for (let cycle = 0; cycle < 12 && all.some(open); cycle++) {
          // Both instances poll at the same time, as two Mailroom processes would.
          const s = await podStatuses(() => Promise.all(instances.map((x) => poll(x.waiter, x.steps))));
          perCycle.push(s.length);
          statuses.push(...s);
          // Every other cycle comes before the window (10 s + Mailroom's 1 s margin) has passed: nothing may be triggered.
          if (cycle % 2 === 1) t.clock.advance(11_001);
        }
        assert.ok(statuses.every((s) => s === 200), `no 429 from Graph (${statuses.join(', ')})`);
        assert.deepEqual(perCycle, [5, 0, 5, 0, 5, 0, 5, 0, 4], `calls per cycle ${perCycle.join(', ')}`);
        assert.equal(statuses.length, 24, 'one call per wait');
        const dns = synced.slice(before);
        assert.equal(new Set(dns).size, 24, 'each DN triggered once');
        for (const st of all) {
          const o = st.outcome;
          assert.ok(o && !(o instanceof StepError) && o.kind === 'done', `${st.key}: ${JSON.stringify(o)}`);
          assert.equal((o.result?.provisionOnDemand as { status?: string } | undefined)?.status, 'Success', st.key);
        }
        const state = await storeA.rateLimits.get(onDemandLimitKey(sync.servicePrincipalId, sync.jobId));
        assert.ok(state && state.slots.length <= 5, `the store keeps at most the limit of slots (${state?.slots.length})`);
      });

      it("a 429 seen by one instance holds the other back until its Retry-After", async function () {
        t.clock.advance(60_000);
        // The rule is configured here, so that A's first Graph request is its provisionOnDemand (not the job's schema).
        const sync = { ...job(), ruleId: AD2AAD_RULE_ID };
        const [storeA, storeB] = await twoStores();
        const a = { waiter: poller(sync, storeA.rateLimits), steps: steps('ra', 1) };
        const b = { waiter: poller(sync, storeB.rateLimits), steps: steps('rb', 3) };
        // Graph throttles the next Graph request, A's provisionOnDemand (the trigger runs before the lookup), for 30 s.
        t.cloud.injectFaults({ status: 429, count: 1, scope: 'graph', retryAfterSeconds: 30 });
        assert.deepEqual(await podStatuses(() => poll(a.waiter, a.steps)), [429]);
        const blocked = (await storeB.rateLimits.get(onDemandLimitKey(sync.servicePrincipalId, sync.jobId)))?.blockedUntil;
        assert.equal(blocked, new Date(t.clock.now() + 30_000).toISOString(), 'the Retry-After is in the store');

        assert.deepEqual(await podStatuses(() => poll(b.waiter, b.steps)), [], 'B makes no call while A was told to retry later');
        t.clock.advance(12_000);
        assert.deepEqual(await podStatuses(() => poll(b.waiter, b.steps)), [], 'nor after the 11-second window: the Retry-After is longer');
        t.clock.advance(18_000);
        assert.deepEqual(await podStatuses(() => poll(b.waiter, b.steps)), [200, 200, 200], 'B triggers once the Retry-After has passed');
        assert.ok(b.steps.every((st) => !open(st)));
        assert.deepEqual(await podStatuses(() => poll(a.waiter, a.steps)), [200], 'and A triggers its wait again');
      });
    });
  }
});
