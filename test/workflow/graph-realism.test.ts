/**
 * Mailroom's Graph code against Graph's documented behaviour (issue 11), through the production Graph client
 * (GraphDirectory over the SDK) and the cloud emulator, without AD:
 * - provisionOnDemand: the rule comes from the job's schema (read once per job), the object type is the AD class,
 *   and the answer's `key.result` decides (a Failure is not a sync);
 * - `$batch`: items Graph throttles one by one are retried alone, after their Retry-After;
 * - "invalid usage location" right after setting it is waited out, within a bound, then explained.
 */
import assert from 'node:assert/strict';
import { RetryHandlerOptions } from '@microsoft/microsoft-graph-client';
import { createCredential, createGraphClient, GraphDirectory } from '../../src/cloud';
import { parseProvisionOnDemand } from '../../src/cloud/graph';
import { silentLogger } from '../../src/log';
import type { StepAction, StepInputs } from '../../src/plans';
import { AD2AAD_RULE_ID } from '../../src/sandbox/cloud/tenant-model';
import { cloudExecutors, cloudWaiters, InMemoryOnDemandLimiter } from '../../src/workflow/executors';
import type { ExchangePort } from '../../src/workflow/executors/exchange-port';
import { lookUpInEntra, type GraphBatchRequest, type GraphBatchResponse } from '../../src/workflow/executors/graph-batch';
import { StepError, type BatchWaiter, type StepContext, type StepExecutor, type StepOutcome, type StepResult } from '../../src/workflow/executors/types';
import { adUser, EXCHANGESTANDARD, startTestCloud, type TestCloud } from '../sandbox/cloud-fixture';

const SP = '5e0c1f10-0000-4000-8000-0000000000d1';
const noExo: ExchangePort = { invoke: () => Promise.reject(new Error('Exchange Online is not expected here')) };

function ctxOf(t: TestCloud, o: { stepId?: string; attempt?: number; results?: Record<string, StepResult> } = {}): StepContext {
  return { reference: 'R-1', requestId: 1, stepId: o.stepId ?? 'step', attempt: o.attempt ?? 1, now: new Date(t.clock.now()), log: silentLogger, results: o.results ?? {} };
}

async function settle(p: Promise<StepOutcome>): Promise<StepOutcome | StepError> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof StepError) return err;
    throw err;
  }
}

describe("Mailroom's Graph code against Graph's documented behaviour", function () {
  this.timeout(60_000);
  let t: TestCloud;
  let graph: GraphDirectory;
  let close: () => void;

  before(async function () {
    t = await startTestCloud({ mailboxProvisioningDelayMs: 0 });
    const config = { credentialType: 'ClientCredentials' as const, tenantId: t.cloud.tenantId, authorityHost: t.cloud.url, clientId: t.cloud.clientId, clientSecret: t.cloud.clientSecret, clientCertificatePath: undefined, graphUrl: t.cloud.graphUrl, exoUrl: t.cloud.exoUrl };
    // No SDK retries: what Graph answers reaches Mailroom's own handling.
    const handle = createGraphClient(config.graphUrl, createCredential(config, t.cloud.caPem), t.cloud.caPem, new RetryHandlerOptions(0, 0));
    graph = new GraphDirectory(handle.client);
    close = () => handle.close();
  });

  after(async function () {
    close?.();
    await t?.stop();
  });

  describe('provisionOnDemand', function () {
    it('reads key.result from the answer; a Failure, a skip or an unreadable answer is never a Success (Graph: provisionOnDemand, Examples 1–3)', function () {
      assert.deepEqual(parseProvisionOnDemand('{"result":"Success","details":{}}', '{"statusInfo":{"status":"Success"}}'), { status: 'Success' });
      assert.deepEqual(parseProvisionOnDemand('{"result":"Success","details":{}}', '{}'), { status: 'Success' }, 'a group: value "{}"');
      assert.deepEqual(
        parseProvisionOnDemand('{"result":"Skipped","details":{"errorCode":"RedundantExport","errorMessage":"The state of the user in both the source and target systems already match."}}', '{"statusInfo":{"status":"Skipped","errorCode":null,"reason":null}}'),
        { status: 'Skipped', reason: 'The state of the user in both the source and target systems already match.', errorCode: 'RedundantExport' },
      );
      assert.deepEqual(parseProvisionOnDemand('{"result":"Failure","details":{"errorCode":"X","errorMessage":"why"}}', '{"statusInfo":{"status":"Success"}}'), { status: 'Failure', reason: 'why', errorCode: 'X' }, 'key decides');
      assert.equal(parseProvisionOnDemand('Microsoft.Identity.Health.CPP.Common.DataContracts.SyncFabric.StatusInfo', 'not json').status, 'Unknown');
      assert.equal(parseProvisionOnDemand(undefined, undefined).status, 'Unknown');
    });

    /** A Cloud Sync job of the tenant whose hook plays the sync engine (creates users, contacts; refuses `fail*`). */
    function job(name: string, ruleId?: string): { servicePrincipalId: string; jobId: string } {
      const j = { servicePrincipalId: SP, jobId: `AD2AADProvisioning.${name}` };
      t.tenant.registerSyncJob({ ...j, ...(ruleId ? { ruleId } : {}) });
      return j;
    }

    function userWaiter(sync: { servicePrincipalId: string; jobId: string }): BatchWaiter<'sync.awaitUser'> {
      const set = cloudWaiters({ graph, exo: noExo, sync, now: () => t.clock.now(), limiter: new InMemoryOnDemandLimiter() });
      return set.find((w) => w.action === 'sync.awaitUser') as unknown as BatchWaiter<'sync.awaitUser'>;
    }

    const input = (sam: string, objectType: 'user' | 'contact' = 'user'): StepInputs['sync.awaitUser'] => ({
      engine: 'cloud', provisionOnDemand: true, dn: `CN=${sam},OU=Staff,DC=contoso,DC=com`, objectType, samAccountName: sam, timeoutMinutes: 15,
    });

    const requestsDuring = async (fn: () => Promise<unknown>): Promise<{ method: string; path: string; status: number }[]> => {
      const log = t.cloud.requests;
      const mark = log[log.length - 1];
      await fn();
      return log.slice(mark ? log.lastIndexOf(mark) + 1 : 0).filter((r) => /synchronization/.test(r.path));
    };

    it("names the rule of the job's schema (read once per job) and the AD object type; a job with its own rule gets that one", async function () {
      const seen: { ruleId: string; objectTypeName: string }[] = [];
      t.cloud.setProvisionOnDemandHook((dn, req) => {
        seen.push({ ruleId: req.ruleId, objectTypeName: req.objectTypeName });
        const sam = /^CN=([^,]+)/.exec(dn)?.[1] ?? dn;
        t.tenant.upsertSyncedUser(adUser(sam, { distinguishedName: dn }));
      });
      const own = '7d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6';
      for (const [name, rule] of [['schema', AD2AAD_RULE_ID], ['ownrule', own]] as const) {
        t.clock.advance(60_000);
        const waiter = userWaiter(job(name, rule === AD2AAD_RULE_ID ? undefined : rule));
        const calls = await requestsDuring(async () => {
          for (let i = 0; i < 3; i++) {
            const sam = `${name}${i}`;
            const out = await waiter.checkAll([{ key: sam, input: input(sam), ctx: ctxOf(t, { stepId: sam }) }]);
            const o = out.get(sam);
            assert.ok(o && !(o instanceof StepError) && o.kind === 'done', `${sam}: ${JSON.stringify(o)}`);
            assert.equal(o.changed, true);
            assert.equal((o.result?.provisionOnDemand as { status: string }).status, 'Success');
          }
        });
        assert.deepEqual(calls.filter((c) => c.path.endsWith('/schema')).map((c) => c.status), [200], 'the schema is read once for the job');
        assert.deepEqual(calls.filter((c) => c.path.endsWith('/provisionOnDemand')).map((c) => c.status), [200, 200, 200]);
      }
      assert.deepEqual(seen.map((s) => s.ruleId), [AD2AAD_RULE_ID, AD2AAD_RULE_ID, AD2AAD_RULE_ID, own, own, own]);
      assert.ok(seen.every((s) => s.objectTypeName === 'user'));
    });

    it('a Failure result is recorded, is not a sync (the step keeps waiting and is not "changed"), and its reason reaches the timeout message', async function () {
      t.clock.advance(60_000);
      t.cloud.setProvisionOnDemandHook(() => ({ status: 'Failure', errorCode: 'ObjectNotFound', reason: "The object 'CN=ghost' was not found in Active Directory." }));
      const waiter = userWaiter(job('failure'));
      const step = { key: 'ghost', input: input('ghost'), ctx: ctxOf(t, { stepId: 'ghost' }) };
      const first = (await waiter.checkAll([step])).get('ghost');
      assert.ok(first && !(first instanceof StepError) && first.kind === 'wait', JSON.stringify(first));
      const pod = first.result?.provisionOnDemand as { status: string; reason: string };
      assert.equal(pod.status, 'Failure');
      assert.match(pod.reason, /was not found/);
      t.clock.advance(16 * 60_000);
      const later = (await waiter.checkAll([{ ...step, ctx: { ...ctxOf(t, { stepId: 'ghost' }), results: { ghost: first.result ?? {} } } }])).get('ghost');
      assert.ok(later instanceof StepError && !later.transient);
      assert.match(later.message, /On-demand provisioning answered Failure: The object 'CN=ghost' was not found/);
      // The same user appearing later (a regular cycle) is done, but not changed by Mailroom's call.
      t.tenant.upsertSyncedUser(adUser('ghost2', { distinguishedName: 'CN=ghost2,OU=Staff,DC=contoso,DC=com' }));
      const g2 = { key: 'ghost2', input: input('ghost2'), ctx: ctxOf(t, { stepId: 'ghost2' }) };
      const done = (await waiter.checkAll([g2])).get('ghost2');
      assert.ok(done && !(done instanceof StepError) && done.kind === 'done', JSON.stringify(done));
      assert.equal(done.changed, false, 'a Failure answer changed nothing');
    });

    it('a schema without a rule for the object type, or a schema Graph refuses, is recorded and no provisionOnDemand is made', async function () {
      t.clock.advance(60_000);
      const fake = {
        ...graph,
        batch: (r: readonly GraphBatchRequest[]) => graph.batch(r),
        synchronizationRules: () => Promise.resolve([{ id: 'r1', sourceDirectoryName: 'Active Directory', sourceObjectNames: ['user', 'group'] }]),
        provisionOnDemand: () => Promise.reject(new Error('not expected')),
      };
      const set = cloudWaiters({ graph: fake, exo: noExo, sync: { servicePrincipalId: SP, jobId: 'j' }, now: () => t.clock.now(), limiter: new InMemoryOnDemandLimiter() });
      const contacts = set.find((w) => w.action === 'sync.awaitContact') as unknown as BatchWaiter<'sync.awaitContact'>;
      const out = (await contacts.checkAll([{ key: 'c', input: { engine: 'cloud', provisionOnDemand: true, dn: 'CN=c,DC=contoso,DC=com', objectType: 'contact', mail: 'c@partner.example', timeoutMinutes: 15 }, ctx: ctxOf(t, { stepId: 'c' }) }])).get('c');
      assert.ok(out && !(out instanceof StepError) && out.kind === 'wait');
      const pod = out.result?.provisionOnDemand as { status: string; reason: string };
      assert.equal(pod.status, 'Error');
      assert.match(pod.reason, /has no rule that provisions contact objects/);

      const refused = { ...fake, synchronizationRules: () => Promise.reject(Object.assign(new Error('Insufficient privileges to complete the operation.'), { statusCode: 403, code: 'Authorization_RequestDenied' })) };
      const set2 = cloudWaiters({ graph: refused, exo: noExo, sync: { servicePrincipalId: SP, jobId: 'j' }, now: () => t.clock.now(), limiter: new InMemoryOnDemandLimiter() });
      const users = set2.find((w) => w.action === 'sync.awaitUser') as unknown as BatchWaiter<'sync.awaitUser'>;
      const u = (await users.checkAll([{ key: 'u', input: input('refusedschema'), ctx: ctxOf(t, { stepId: 'u' }) }])).get('u');
      assert.ok(u && !(u instanceof StepError) && u.kind === 'wait');
      assert.match((u.result?.provisionOnDemand as { reason: string }).reason, /Graph refused to give the schema of the Cloud Sync job j/);
    });
  });

  describe('$batch items throttled one by one', function () {
    afterEach(function () {
      t.cloud.setKnobs({ batchItemFaults: 0, retryAfterSeconds: 1 });
    });

    it('retries only the throttled items, in a new batch after the longest Retry-After (Graph throttling guidance, "Throttling and batching")', async function () {
      t.tenant.upsertSyncedUser(adUser('batch1'));
      t.tenant.upsertSyncedUser(adUser('batch2'));
      const sent: number[][] = [];
      const sleeps: number[] = [];
      const spy = { batch: (r: readonly GraphBatchRequest[]): Promise<GraphBatchResponse[]> => (sent.push(r.map((x) => Number(x.id))), graph.batch(r)) };
      t.cloud.setKnobs({ batchItemFaults: 1, retryAfterSeconds: 2 });
      const answers = await lookUpInEntra(
        spy,
        [
          { key: 'a', entity: 'users', property: 'onPremisesSamAccountName', value: 'batch1' },
          { key: 'b', entity: 'users', property: 'userPrincipalName', value: 'batch2@contoso.com' },
        ],
        silentLogger,
        { sleep: (ms) => (sleeps.push(ms), Promise.resolve()) },
      );
      assert.deepEqual(sent, [[1, 2], [1]], 'the second batch holds only the throttled item');
      assert.deepEqual(sleeps, [2000], "after the item's Retry-After");
      assert.equal((answers.get('a') as { onPremisesSamAccountName: string }[])[0]?.onPremisesSamAccountName, 'batch1');
      assert.equal((answers.get('b') as { userPrincipalName: string }[])[0]?.userPrincipalName, 'batch2@contoso.com');
    });

    it('leaves items still throttled after the retries, or asked to wait too long, for the next cycle (unknown), and throws nothing', async function () {
      const always = {
        batch: (r: readonly GraphBatchRequest[]): Promise<GraphBatchResponse[]> =>
          Promise.resolve(r.map((x) => ({ id: x.id, status: 429, headers: { 'Retry-After': '1' }, body: { error: { code: 'TooManyRequests', message: 'Too many requests.' } } }))),
      };
      const sleeps: number[] = [];
      const answers = await lookUpInEntra(always, [{ key: 'a', entity: 'users', property: 'userPrincipalName', value: 'x@contoso.com' }], silentLogger, { maxRetries: 2, sleep: (ms) => (sleeps.push(ms), Promise.resolve()) });
      assert.equal(answers.get('a'), 'unknown');
      assert.deepEqual(sleeps, [1000, 1000]);

      const long = { batch: (r: readonly GraphBatchRequest[]) => Promise.resolve(r.map((x) => ({ id: x.id, status: 429, headers: { 'Retry-After': '120' } }))) };
      const none: number[] = [];
      const a2 = await lookUpInEntra(long, [{ key: 'a', entity: 'users', property: 'userPrincipalName', value: 'x@contoso.com' }], silentLogger, { sleep: (ms) => (none.push(ms), Promise.resolve()) });
      assert.equal(a2.get('a'), 'unknown');
      assert.deepEqual(none, [], 'a Retry-After beyond maxWaitMs is not slept through inside a cycle');
    });
  });

  describe('"invalid usage location" right after setting it', function () {
    let executors: Map<StepAction, StepExecutor>;

    before(function () {
      executors = new Map(cloudExecutors({ graph, exo: noExo, sync: {}, readBack: { reads: 2, pauseMs: 1, attempts: 2, retryAfterMs: 1000 }, usageLocation: { patienceMs: 60_000, retryMs: 4000 } }).map((x) => [x.action, x]));
    });

    afterEach(function () {
      t.cloud.setKnobs({ usageLocationLagMs: 0 });
    });

    function run<A extends StepAction>(action: A, input: StepInputs[A], ctx: StepContext): Promise<StepOutcome | StepError> {
      return settle((executors.get(action) as StepExecutor<A>).run(input, ctx));
    }

    it('is transient (Retry-After) while Entra replicates the location, and the licence is assigned on a later try', async function () {
      t.cloud.setKnobs({ usageLocationLagMs: 20_000 });
      const upn = t.tenant.upsertSyncedUser(adUser('ul1')) && 'ul1@contoso.com';
      const loc = await run('entra.ensureUsageLocation', { userPrincipalName: upn, usageLocation: 'DE', onlyIfMissing: false, confirmedBy: 'entra.licence' }, ctxOf(t, { stepId: 'entra.usage' }));
      assert.ok(!(loc instanceof StepError) && loc.kind === 'done', loc instanceof StepError ? loc.message : JSON.stringify(loc));
      const results = { 'entra.usage': loc.result ?? {} };
      const licence = { userPrincipalName: upn, via: 'direct' as const, skuId: EXCHANGESTANDARD, skuName: 'Exchange Online (Plan 1)' };
      const first = await run('entra.assignLicence', licence, ctxOf(t, { stepId: 'entra.licence', results }));
      assert.ok(first instanceof StepError, JSON.stringify(first));
      assert.equal(first.transient, true, first.message);
      assert.equal(first.retryAfterMs, 4000);
      assert.match(first.message, /does not accept the Exchange Online \(Plan 1\) licence for ul1@contoso\.com yet: it answers "invalid usage location", although the usage location DE was set 0 s ago/);
      t.clock.advance(20_000);
      const second = await run('entra.assignLicence', licence, ctxOf(t, { stepId: 'entra.licence', attempt: 2, results }));
      assert.ok(!(second instanceof StepError) && second.kind === 'done' && second.changed, second instanceof StepError ? second.message : JSON.stringify(second));
    });

    it('becomes permanent once the patience is over, saying what to check', async function () {
      t.cloud.setKnobs({ usageLocationLagMs: 10 * 60_000 });
      t.tenant.upsertSyncedUser(adUser('ul2'));
      const upn = 'ul2@contoso.com';
      const loc = await run('entra.ensureUsageLocation', { userPrincipalName: upn, usageLocation: 'FR', onlyIfMissing: false, confirmedBy: 'entra.licence' }, ctxOf(t, { stepId: 'entra.usage' }));
      assert.ok(!(loc instanceof StepError));
      const results = { 'entra.usage': loc.result ?? {} };
      t.clock.advance(61_000);
      const late = await run('entra.assignLicence', { userPrincipalName: upn, via: 'direct', skuId: EXCHANGESTANDARD, skuName: 'Exchange Online (Plan 1)' }, ctxOf(t, { stepId: 'entra.licence', attempt: 5, results }));
      assert.ok(late instanceof StepError && !late.transient, late instanceof StepError ? late.message : JSON.stringify(late));
      assert.match(late.message, /still refuses the Exchange Online \(Plan 1\) licence for ul2@contoso\.com with "invalid usage location", 1 minute\(s\) after Mailroom set the usage location to FR\. No licence was assigned\. Check the user's usage location/);
    });
  });
});
