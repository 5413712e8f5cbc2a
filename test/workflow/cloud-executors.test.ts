/**
 * The Entra ID and Exchange Online executors (src/workflow/executors/cloud.ts) and the sync/mailbox waiters
 * (waits.ts) against a sandbox of their own: AD objects are written over LDAPS in the suite's OU, synced (a cycle
 * or Graph provisionOnDemand), licensed through Graph, and the executors run through Mailroom's production clients
 * (GraphDirectory over the Graph SDK, ExoClient). The suite has its own ephemeral sandbox because it needs more
 * licences than the shared one (40 mailboxes), moves the tenant clock for the provisionOnDemand window and mailbox
 * delays, and injects 429/503 faults.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { RetryHandlerOptions } from '@microsoft/microsoft-graph-client';
import { createCloudClients, createCredential, createGraphClient, ExoClient, GraphDirectory, type CloudClients, type ExoCommandError } from '../../src/cloud';
import type { CloudConfig } from '../../src/config/config';
import { silentLogger } from '../../src/log';
import { projectRoot } from '../../src/paths';
import type { StepAction, StepInputs } from '../../src/plans';
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { cloudExecutors, cloudWaiters, InMemoryOnDemandLimiter, type CloudExecutorDeps, type WaiterDeps } from '../../src/workflow/executors';
import type { ExchangePort } from '../../src/workflow/executors/exchange-port';
import { StepError, type BatchWaiter, type StepContext, type StepExecutor, type StepOutcome, type StepResult } from '../../src/workflow/executors/types';
import type { WaitAction } from '../../src/workflow/executors/wait-cycle';
import { ConformanceSuite, replace, UAC_DISABLED, type ExoRecipientRow } from '../harness/conformance';
import { onGlobalTeardown } from '../harness/root-hooks';

const EXO_PLAN = 'Exchange Online (Plan 1)';
const LICENCES = 150;

type Outcome = StepOutcome | StepError;

function ctxOf(o: { stepId?: string; attempt?: number; now?: Date; results?: Record<string, StepResult> } = {}): StepContext {
  return {
    reference: 'R-1',
    requestId: 1,
    stepId: o.stepId ?? 'step',
    attempt: o.attempt ?? 1,
    now: o.now ?? new Date(),
    log: silentLogger,
    results: o.results ?? {},
  };
}

async function settle<T>(p: Promise<T>): Promise<T | StepError> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof StepError) return err;
    throw err;
  }
}

function isDone(o: Outcome | undefined): o is Extract<StepOutcome, { kind: 'done' }> {
  return o !== undefined && !(o instanceof StepError) && o.kind === 'done';
}

function mustDone(o: Outcome | undefined, what = 'outcome'): Extract<StepOutcome, { kind: 'done' }> {
  if (o instanceof StepError) assert.fail(`${what}: expected done, got ${o.transient ? 'transient' : 'permanent'} StepError: ${o.message}`);
  assert.ok(o, `${what}: no outcome`);
  assert.equal(o.kind, 'done', `${what}: ${JSON.stringify(o)}`);
  return o;
}

function mustFail(o: unknown, transient: boolean, what = 'outcome'): StepError {
  assert.ok(o instanceof StepError, `${what}: expected a StepError, got ${JSON.stringify(o)}`);
  assert.equal(o.transient, transient, `${what}: ${o.message}`);
  return o;
}

describe('cloud executors and waiters against the sandbox', function () {
  this.timeout(120_000);
  let sandbox: Sandbox;
  let s: ConformanceSuite;
  let clients: CloudClients;
  let config: CloudConfig;
  let sku: string;
  let executors: Map<StepAction, StepExecutor>;
  const extra: { close(): void }[] = [];

  before(async function () {
    this.timeout(10 * 60_000);
    sandbox = await startSandbox({
      rootDir: projectRoot(),
      ephemeral: true,
      knobs: { syncMode: 'cloud', syncIntervalMs: 0, mailboxDelayMs: 0, latencyMs: 0, rate429: 0, rate503: 0, retryAfterS: 2, exoLicences: LICENCES, seed: 7 },
    });
    onGlobalTeardown('cloud-executors sandbox', () => sandbox.stop());
    s = await ConformanceSuite.open(sandbox, 'cloud-executors');
    const e = sandbox.endpoints;
    config = { credentialType: 'ClientCredentials', tenantId: e.tenantId, authorityHost: e.authorityHost, clientId: e.clientId, clientSecret: e.clientSecret, clientCertificatePath: undefined, graphUrl: e.graphUrl, exoUrl: e.exoUrl };
    clients = createCloudClients(config, e.caFile);
    sku = e.skus.exchangeOnline;
    executors = new Map(cloudExecutors(deps()).map((x) => [x.action, x]));
  });

  after(async function () {
    this.timeout(60_000);
    for (const c of extra) c.close();
    clients?.close();
    await s?.close();
    await sandbox?.stop();
  });

  function deps(over: Partial<CloudExecutorDeps> = {}): CloudExecutorDeps {
    return {
      graph: clients.graph,
      exo: clients.exo,
      sync: { servicePrincipalId: sandbox.endpoints.sync.servicePrincipalId ?? undefined, jobId: sandbox.endpoints.sync.jobId ?? undefined },
      readBack: { reads: 2, pauseMs: 10, attempts: 3, retryAfterMs: 60_000 },
      ...over,
    };
  }

  function run<A extends StepAction>(action: A, input: StepInputs[A], ctx: StepContext = ctxOf(), from: Map<StepAction, StepExecutor> = executors): Promise<Outcome> {
    const x = from.get(action) as StepExecutor<A> | undefined;
    assert.ok(x, `no executor for ${action}`);
    return settle(x.run(input, ctx));
  }

  /** Production clients that give up at once, so injected faults reach the executors. */
  function fragileClients(): { graph: GraphDirectory; exo: ExoClient } {
    const ca = readFileSync(sandbox.endpoints.caFile);
    const credential = createCredential(config, ca);
    const handle = createGraphClient(config.graphUrl, credential, ca, new RetryHandlerOptions(0, 0));
    const exo = new ExoClient({ url: config.exoUrl, tenantId: config.tenantId, credential, extraCaPem: ca, attempts: 1 });
    extra.push({ close: () => handle.close() }, exo);
    return { graph: new GraphDirectory(handle.client), exo };
  }

  /** Cloud requests (Graph, Exchange) made while `fn` runs; token requests are not counted. */
  async function counted<T>(fn: () => Promise<T>): Promise<{ value: T; graph: number; exo: number; pod: number; statuses: number[] }> {
    const log = sandbox.cloud.requests;
    const mark = log[log.length - 1];
    const value = await fn();
    const start = mark ? log.lastIndexOf(mark) + 1 : 0;
    const entries = log.slice(start);
    return {
      value,
      graph: entries.filter((r) => r.path.startsWith('/v1.0')).length,
      exo: entries.filter((r) => r.path.startsWith('/adminapi')).length,
      pod: entries.filter((r) => r.path.endsWith('/provisionOnDemand')).length,
      statuses: entries.filter((r) => r.path.endsWith('/provisionOnDemand')).map((r) => r.status),
    };
  }

  /** A synced AD user (sAMAccountName = CN = name, UPN name@contoso.example). */
  async function syncedUser(prefix: string, attrs: Parameters<ConformanceSuite['addUser']>[1] = {}): Promise<{ name: string; dn: string; upn: string }> {
    const name = s.name(prefix);
    const dn = await s.addUser(name, attrs);
    await s.sync();
    return { name, dn, upn: s.upn(name) };
  }

  /** A synced, licensed user with its mailbox (created at once: mailbox delay 0). */
  async function mailboxUser(prefix: string): Promise<{ name: string; dn: string; upn: string }> {
    const u = await syncedUser(prefix);
    await s.licence(u.upn);
    await s.mailbox(u.upn);
    return u;
  }

  function makeWaiters(over: Partial<WaiterDeps> = {}): <A extends WaitAction>(action: A) => BatchWaiter<A> {
    const set = cloudWaiters({
      graph: clients.graph,
      exo: clients.exo,
      sync: { servicePrincipalId: sandbox.endpoints.sync.servicePrincipalId ?? undefined, jobId: sandbox.endpoints.sync.jobId ?? undefined },
      now: () => sandbox.clock.now(),
      limiter: new InMemoryOnDemandLimiter(),
      ...over,
    });
    return <A extends WaitAction>(action: A) => set.find((w) => w.action === action) as unknown as BatchWaiter<A>;
  }

  interface TestStep<A extends WaitAction> {
    key: string;
    input: StepInputs[A];
    attempt: number;
    result?: StepResult;
    outcome?: Outcome;
    /** Results of the plan's earlier steps (by step id), as the runner passes them. */
    earlier?: Record<string, StepResult>;
  }

  /** One poller cycle: asks for every unfinished step, stores wait results as the runner does (ctx.results[stepId]). */
  async function poll<A extends WaitAction>(waiter: BatchWaiter<A>, steps: TestStep<A>[], now = new Date(sandbox.clock.now()), passResults = true): Promise<Map<string, Outcome>> {
    const open = steps.filter((st) => st.outcome === undefined || (!(st.outcome instanceof StepError) && st.outcome.kind === 'wait'));
    const out = await waiter.checkAll(
      open.map((st) => ({ key: st.key, input: st.input, ctx: ctxOf({ stepId: st.key, attempt: st.attempt, now, results: { ...st.earlier, ...(passResults && st.result ? { [st.key]: st.result } : {}) } }) })),
    );
    for (const st of open) {
      const o = out.get(st.key);
      if (o === undefined) continue;
      st.outcome = o;
      if (!(o instanceof StepError) && o.kind === 'wait') st.result = o.result;
    }
    return out;
  }

  /** Moves the tenant clock past provisionOnDemand's window so a test starts with a free window. */
  function freshPodWindow(): void {
    sandbox.clock.advance(11_001);
  }

  // ===========================================================================================
  describe('Entra ID executors', function () {
    it('entra.ensureUsageLocation sets the usage location, reads it back, and changes nothing the second time', async function () {
      const u = await syncedUser('EuLoc');
      assert.equal((await s.mustGraphUser(u.upn)).usageLocation, null);
      const input = { userPrincipalName: u.upn, usageLocation: 'de', onlyIfMissing: false };
      const first = mustDone(await run('entra.ensureUsageLocation', input));
      assert.equal(first.changed, true);
      assert.equal((await s.mustGraphUser(u.upn)).usageLocation, 'DE');
      const again = mustDone(await run('entra.ensureUsageLocation', input));
      assert.equal(again.changed, false);
      // onlyIfMissing keeps an existing one; without it, a different one is written.
      assert.equal(mustDone(await run('entra.ensureUsageLocation', { ...input, usageLocation: 'FR', onlyIfMissing: true })).changed, false);
      assert.equal((await s.mustGraphUser(u.upn)).usageLocation, 'DE');
      assert.equal(mustDone(await run('entra.ensureUsageLocation', { ...input, usageLocation: 'FR' })).changed, true);
      assert.equal((await s.mustGraphUser(u.upn)).usageLocation, 'FR');
    });

    it('usage location then licence start from the look of the user wait: one PATCH, one assignLicense, one read-back proving both', async function () {
      const u = await syncedUser('EuChain');
      const row = await s.mustGraphUser(u.upn);
      const now = new Date();
      const fromWait = { 'sync.await-user': { entraId: row.id, graphUser: { id: row.id, userPrincipalName: u.upn, usageLocation: null, assignedLicenses: [], seenAt: now.toISOString() } } };
      const ul = await counted(() => run('entra.ensureUsageLocation', { userPrincipalName: u.upn, usageLocation: 'DE', onlyIfMissing: false, confirmedBy: 'entra.assign-licence' }, ctxOf({ stepId: 'entra.usage-location', now, results: fromWait })));
      const ulDone = mustDone(ul.value);
      assert.equal(ulDone.changed, true);
      assert.equal(ul.graph, 1, 'only the PATCH: the look came from the wait, the read-back is the licence step\'s');
      assert.equal((await s.mustGraphUser(u.upn)).usageLocation, 'DE');
      const lic = await counted(() =>
        run('entra.assignLicence', { userPrincipalName: u.upn, via: 'direct', skuId: sku, skuName: EXO_PLAN }, ctxOf({ stepId: 'entra.assign-licence', now, results: { ...fromWait, 'entra.usage-location': ulDone.result ?? {} } })),
      );
      const licDone = mustDone(lic.value);
      assert.equal(licDone.changed, true);
      assert.equal(lic.graph, 2, 'assignLicense and its read-back');
      const snap = licDone.result?.graphUser as { usageLocation?: string; assignedLicenses?: { skuId: string }[] } | undefined;
      assert.equal(snap?.usageLocation, 'DE', 'the read-back shows the usage location');
      assert.ok(snap?.assignedLicenses?.some((l) => l.skuId === sku), 'and the licence');
    });

    it('an earlier look stands in only on the first try and while it is fresh', async function () {
      const u = await syncedUser('EuStale');
      const row = await s.mustGraphUser(u.upn);
      const seen = new Date();
      // the look says DE, Entra says none: a step that trusted the look would skip the write
      const results = { 'sync.await-user': { graphUser: { id: row.id, userPrincipalName: u.upn, usageLocation: 'DE', assignedLicenses: [], seenAt: seen.toISOString() } } };
      const input = { userPrincipalName: u.upn, usageLocation: 'DE', onlyIfMissing: false };
      const fresh = await counted(() => run('entra.ensureUsageLocation', input, ctxOf({ now: seen, results })));
      assert.equal(mustDone(fresh.value).changed, false);
      assert.equal(fresh.graph, 0, 'a fresh look on the first try is trusted');
      const retry = await counted(() => run('entra.ensureUsageLocation', input, ctxOf({ now: seen, results, attempt: 2 })));
      assert.equal(mustDone(retry.value).changed, true, 'a retry looks again and finds the usage location missing');
      assert.equal(retry.graph, 3, 'GET, PATCH, read-back');
      await s.setUsageLocation(row.id, 'FR');
      const later = await counted(() => run('entra.ensureUsageLocation', input, ctxOf({ now: new Date(seen.getTime() + 60_000), results })));
      assert.equal(mustDone(later.value).changed, true, 'an old look is not trusted: Entra has FR now');
      assert.equal((await s.mustGraphUser(u.upn)).usageLocation, 'DE');
    });

    it('entra.ensureUsageLocation: an unknown user and a code Entra refuses are permanent errors that say what to do', async function () {
      const missing = mustFail(await run('entra.ensureUsageLocation', { userPrincipalName: `nobody-${s.name('x')}@contoso.example`, usageLocation: 'DE', onlyIfMissing: false }), false);
      assert.match(missing.message, /Entra ID has no user .*The usage location was not changed\..*sync has created the user.*press Retry/);
      const u = await syncedUser('EuBad');
      const bad = mustFail(await run('entra.ensureUsageLocation', { userPrincipalName: u.upn, usageLocation: 'D1', onlyIfMissing: false }), false);
      assert.match(bad.message, /does not accept that usage location.*was not changed.*two-letter country/);
    });

    it('entra.assignLicence (direct) assigns the licence and the mailbox follows; entra.removeLicence takes it away; both idempotent', async function () {
      const u = await syncedUser('ElDir');
      await s.setUsageLocation((await s.mustGraphUser(u.upn)).id);
      const input = { userPrincipalName: u.upn, via: 'direct' as const, skuId: sku, skuName: EXO_PLAN };
      const assigned = mustDone(await run('entra.assignLicence', input));
      assert.equal(assigned.changed, true);
      assert.ok((await s.mustGraphUser(u.upn)).assignedLicenses.some((l) => l.skuId === sku));
      assert.equal((await s.mailbox(u.upn)).RecipientTypeDetails, 'UserMailbox', 'the licence creates the mailbox');
      assert.equal(mustDone(await run('entra.assignLicence', input)).changed, false);

      const removed = mustDone(await run('entra.removeLicence', input));
      assert.equal(removed.changed, true);
      assert.ok(!(await s.mustGraphUser(u.upn)).assignedLicenses.some((l) => l.skuId === sku));
      assert.equal(mustDone(await run('entra.removeLicence', input)).changed, false);
    });

    it('entra.assignLicence without a usage location is a permanent error that names the fix', async function () {
      const u = await syncedUser('ElNoLoc');
      const err = mustFail(await run('entra.assignLicence', { userPrincipalName: u.upn, via: 'direct', skuId: sku, skuName: EXO_PLAN }), false);
      assert.match(err.message, /no usage location.*No licence was assigned.*Set the usage location.*press Retry/);
      assert.deepEqual((await s.mustGraphUser(u.upn)).assignedLicenses, []);
    });

    it('entra.assignLicence with no free licence: "No Exchange Online (Plan 1) licence is free: buy one or free one, then press Retry"', async function () {
      const u = await syncedUser('ElFull');
      await s.setUsageLocation((await s.mustGraphUser(u.upn)).id);
      const consumed = (await clients.graph.subscribedSkus()).find((x) => x.skuId === sku)?.consumedUnits ?? 0;
      sandbox.cloud.setKnobs({ licenceUnits: { EXCHANGESTANDARD: consumed } });
      try {
        const err = mustFail(await run('entra.assignLicence', { userPrincipalName: u.upn, via: 'direct', skuId: sku, skuName: EXO_PLAN }), false);
        assert.match(err.message, /^No Exchange Online \(Plan 1\) licence is free: buy one or free one, then press Retry\./);
        assert.match(err.message, /No licence was assigned/);
      } finally {
        sandbox.cloud.setKnobs({ licenceUnits: { EXCHANGESTANDARD: LICENCES } });
      }
    });

    it('entra.assignLicence / removeLicence through a cloud licensing group: membership via members/$ref, read back, idempotent', async function () {
      const group = sandbox.tenant.createCloudGroup({ displayName: `Licensing ${s.name('G')}`, securityEnabled: true });
      sandbox.tenant.assignGroupLicense(group.id, [{ skuId: sku }], []);
      const u = await syncedUser('ElGrp');
      const input = { userPrincipalName: u.upn, via: 'group' as const, groupId: group.id, groupName: group.displayName };
      const added = mustDone(await run('entra.assignLicence', input));
      assert.equal(added.changed, true);
      assert.equal(added.result?.licenceState, 'Active');
      const user = await s.mustGraphUser(u.upn);
      assert.ok(user.assignedLicenses.some((l) => l.skuId === sku), 'the group gives the licence');
      assert.ok((await clients.graph.memberOfIds(user.id)).includes(group.id));
      assert.equal(mustDone(await run('entra.assignLicence', input)).changed, false);

      assert.equal(mustDone(await run('entra.removeLicence', input)).changed, true);
      assert.ok(!(await clients.graph.memberOfIds(user.id)).includes(group.id));
      assert.equal(mustDone(await run('entra.removeLicence', input)).changed, false);
    });

    it('a licensing group without a free licence: the membership is made, then a permanent CountViolation error', async function () {
      const group = sandbox.tenant.createCloudGroup({ displayName: `Licensing ${s.name('G')}`, securityEnabled: true });
      sandbox.tenant.assignGroupLicense(group.id, [{ skuId: sku }], []);
      const u = await syncedUser('ElGrpFull');
      const consumed = (await clients.graph.subscribedSkus()).find((x) => x.skuId === sku)?.consumedUnits ?? 0;
      sandbox.cloud.setKnobs({ licenceUnits: { EXCHANGESTANDARD: consumed } });
      try {
        const err = mustFail(await run('entra.assignLicence', { userPrincipalName: u.upn, via: 'group', groupId: group.id, groupName: group.displayName }), false);
        assert.match(err.message, /^No licence of the group .* is free: .* is now a member of the group.*CountViolation.*Buy one or free one, then press Retry/);
      } finally {
        sandbox.cloud.setKnobs({ licenceUnits: { EXCHANGESTANDARD: LICENCES } });
      }
    });

    it('a licensing group synced from AD cannot be changed through Graph: permanent, says to change it in AD', async function () {
      const name = s.name('LicAd');
      await s.addGroup(name, { scope: 'global', security: true });
      await s.sync();
      const [g] = await s.graphGroupsBySam(name);
      assert.ok(g);
      const u = await syncedUser('ElAdGrp');
      const err = mustFail(await run('entra.assignLicence', { userPrincipalName: u.upn, via: 'group', groupId: g.id, groupName: name }), false);
      assert.match(err.message, /synced from AD.*The group membership was not changed\..*Change it in AD/);
    });
  });

  // ===========================================================================================
  describe('Exchange Online executors', function () {
    let m: { name: string; dn: string; upn: string };

    before(async function () {
      m = await mailboxUser('ExBox');
    });

    it('exo.setMailboxType converts and reads back; a second run changes nothing; an unknown mailbox is a permanent error', async function () {
      const u = await mailboxUser('ExType');
      const first = mustDone(await run('exo.setMailboxType', { identity: u.upn, type: 'Shared' }));
      assert.equal(first.changed, true);
      assert.equal((await s.mailbox(u.upn)).RecipientTypeDetails, 'SharedMailbox');
      assert.equal(mustDone(await run('exo.setMailboxType', { identity: u.upn, type: 'Shared' })).changed, false);
      assert.equal(mustDone(await run('exo.setMailboxType', { identity: u.upn, type: 'Room' })).changed, true);
      assert.equal((await s.mailbox(u.upn)).RecipientTypeDetails, 'RoomMailbox');
      const missing = mustFail(await run('exo.setMailboxType', { identity: `nobody-${s.name('x')}@contoso.example`, type: 'Shared' }), false);
      assert.match(missing.message, /Exchange Online has no mailbox .*The mailbox type was not changed\..*press Retry/);
    });

    it('Exchange attributes of a synced mailbox that is not cloud-managed are refused: permanent write-scope error, nothing changed', async function () {
      const before = await s.mailbox(m.upn);
      assert.equal(before.IsExchangeCloudManaged, false);
      const err = mustFail(await run('exo.setAlias', { identity: m.upn, recipientType: 'UserMailbox', alias: 'renamed' }), false);
      assert.match(err.message, /synced from AD.*not cloud-managed.*The alias was not changed\..*IsExchangeCloudManaged.*press Retry/);
      assert.equal((await s.mailbox(m.upn)).Alias, before.Alias);
    });

    it('exo.setCloudManaged, then setPrimaryAddress, setAlias, setEmailAddresses and setHiddenFromAddressLists: each reads back and is idempotent', async function () {
      const on = { identity: m.upn, enabled: true };
      assert.equal(mustDone(await run('exo.setCloudManaged', on)).changed, true);
      assert.equal((await s.mailbox(m.upn)).IsExchangeCloudManaged, true);
      assert.equal(mustDone(await run('exo.setCloudManaged', on)).changed, false);

      const primary = `${m.name}.new@contoso.example`;
      const p = { identity: m.upn, recipientType: 'UserMailbox', address: primary };
      assert.equal(mustDone(await run('exo.setPrimaryAddress', p)).changed, true);
      const afterPrimary = await s.mailbox(m.upn);
      assert.equal(afterPrimary.PrimarySmtpAddress, primary);
      assert.ok(afterPrimary.EmailAddresses.includes(`smtp:${m.upn}`), 'the old primary stays as a secondary address');
      assert.equal(mustDone(await run('exo.setPrimaryAddress', p)).changed, false);

      const a = { identity: m.upn, recipientType: 'UserMailbox', alias: `${m.name}x` };
      assert.equal(mustDone(await run('exo.setAlias', a)).changed, true);
      assert.equal((await s.mailbox(m.upn)).Alias, `${m.name}x`);
      assert.equal(mustDone(await run('exo.setAlias', a)).changed, false);

      const extraAddress = `smtp:${m.name}.extra@contoso.example`;
      const add = { identity: m.upn, recipientType: 'UserMailbox', add: [extraAddress], remove: [] };
      assert.equal(mustDone(await run('exo.setEmailAddresses', add)).changed, true);
      assert.ok((await s.mailbox(m.upn)).EmailAddresses.includes(extraAddress));
      assert.equal(mustDone(await run('exo.setEmailAddresses', add)).changed, false);
      const drop = { identity: m.upn, recipientType: 'UserMailbox', add: [], remove: [extraAddress] };
      assert.equal(mustDone(await run('exo.setEmailAddresses', drop)).changed, true);
      assert.ok(!(await s.mailbox(m.upn)).EmailAddresses.some((x) => x.toLowerCase() === extraAddress.toLowerCase()));
      assert.equal(mustDone(await run('exo.setEmailAddresses', drop)).changed, false);
      const primaryDrop = mustFail(await run('exo.setEmailAddresses', { identity: m.upn, recipientType: 'UserMailbox', add: [], remove: [`smtp:${primary}`] }), false);
      assert.match(primaryDrop.message, /is the primary address.*The addresses were not changed\..*Make another address primary first/);

      const h = { identity: m.upn, recipientType: 'UserMailbox', hidden: true };
      assert.equal(mustDone(await run('exo.setHiddenFromAddressLists', h)).changed, true);
      assert.equal((await s.mailbox(m.upn)).HiddenFromAddressListsEnabled, true);
      assert.equal(mustDone(await run('exo.setHiddenFromAddressLists', h)).changed, false);
      // after a crash between the write and its record: the intent the earlier try left says the hide was its own
      const again = mustDone(await run('exo.setHiddenFromAddressLists', h, { ...ctxOf({ attempt: 2 }), intent: { hiddenFromAddressListsEnabled: false } }));
      assert.deepEqual([again.changed, again.result?.changedByEarlierTry], [false, true]);
    });

    it('read-back: Set-MailContact reports success and writes nothing → transient for the first tries, then permanent', async function () {
      const name = s.name('ExSilent');
      const mail = `${name}@partner.example`;
      await s.addContact(name, { mail });
      await s.sync();
      const input = { identity: mail, recipientType: 'MailContact', address: `${name}.moved@partner.example` };
      // By default a synced contact refuses the write: permanent at once.
      const refused = mustFail(await run('exo.setPrimaryAddress', input), false);
      assert.match(refused.message, /synced from AD/);

      sandbox.cloud.setKnobs({ syncedContactWrites: 'silent' });
      try {
        const first = await counted(() => run('exo.setPrimaryAddress', input, ctxOf({ attempt: 1 })));
        const e1 = mustFail(first.value, true, 'attempt 1');
        assert.match(e1.message, /accepted the change \(Set-MailContact -ExternalEmailAddress .*\) but still shows .*try 1 of 3/);
        assert.equal(e1.retryAfterMs, 60_000);
        assert.equal(first.exo, 4, 'read, write, read back twice');
        const e2 = mustFail(await run('exo.setPrimaryAddress', input, ctxOf({ attempt: 2 })), true, 'attempt 2');
        assert.equal(e2.retryAfterMs, 120_000);
        const e3 = mustFail(await run('exo.setPrimaryAddress', input, ctxOf({ attempt: 3 })), false, 'attempt 3');
        assert.match(e3.message, /still shows .* also after 3 tries: the change did not take\. Nothing else was changed\..*only be changed in AD.*press Retry/);
        const hidden = mustFail(await run('exo.setHiddenFromAddressLists', { identity: mail, recipientType: 'MailContact', hidden: true }, ctxOf({ attempt: 3 })), false);
        assert.match(hidden.message, /HiddenFromAddressListsEnabled=false/);
      } finally {
        sandbox.cloud.setKnobs({ syncedContactWrites: 'error' });
      }
    });

    it('exo.setResourceCapacity refuses a mailbox that is not a room; on a room it writes, reads back and is idempotent', async function () {
      const notRoom = mustFail(await run('exo.setResourceCapacity', { identity: m.upn, capacity: 8 }), false);
      assert.match(notRoom.message, /not a room or equipment mailbox.*The capacity was not changed/);
      // The emulator has no ResourceCapacity (Get-Mailbox shows none, Set-Mailbox refuses the parameter): an
      // in-memory Exchange stands in for the room.
      const fake = new FakeExo([{ Guid: 'a7e1f7c2-0000-4000-8000-000000000001', Name: 'Room 1', RecipientTypeDetails: 'RoomMailbox', PrimarySmtpAddress: 'room1@contoso.example', EmailAddresses: ['SMTP:room1@contoso.example'], ResourceCapacity: null }]);
      const x = new Map(cloudExecutors(deps({ exo: fake })).map((e) => [e.action, e]));
      assert.equal(mustDone(await run('exo.setResourceCapacity', { identity: 'room1@contoso.example', capacity: 8 }, ctxOf(), x)).changed, true);
      assert.equal(fake.rows[0]!.ResourceCapacity, 8);
      assert.equal(mustDone(await run('exo.setResourceCapacity', { identity: 'room1@contoso.example', capacity: 8 }, ctxOf(), x)).changed, false);
      assert.deepEqual(fake.calls.filter((c) => c.startsWith('Set-')), ['Set-Mailbox ResourceCapacity=8']);
    });

    it('the Set-* cmdlet follows the recipient type: a cloud distribution group through Set-DistributionGroup (-PrimarySmtpAddress, -EmailAddresses, -Alias, -HiddenFromAddressListsEnabled, with -BypassSecurityGroupManagerCheck) to done, a cloud mail user through Set-MailUser -ExternalEmailAddress', async function () {
      const calls: string[] = [];
      const recording = {
        invoke<T>(cmdlet: string, parameters: Record<string, unknown> = {}) {
          if (cmdlet.startsWith('Set-')) calls.push(`${cmdlet} ${Object.keys(parameters).filter((k) => k !== 'Identity').sort().join(',')}`);
          return clients.exo.invoke<T>(cmdlet, parameters);
        },
      };
      const x = new Map(cloudExecutors(deps({ exo: recording })).map((e) => [e.action, e]));
      // A cloud-only group (the alternative to synced groups, hybrid-behaviour.md § Groups), made as an admin would.
      const name = s.name('CloudDl');
      const mail = `${name}@contoso.example`;
      await s.exo.invoke('New-DistributionGroup', { Name: name, Alias: name, PrimarySmtpAddress: mail });
      const id = (await s.exoGet<{ Guid: string }>('Get-DistributionGroup', mail))!.Guid;
      const sales = `${name}.sales@contoso.example`;
      const extraAddress = `${name}.info@contoso.example`;

      let d = mustDone(await run('exo.setPrimaryAddress', { identity: id, recipientType: 'MailUniversalDistributionGroup', address: sales }, ctxOf(), x));
      assert.deepEqual([d.changed, d.result?.cmdlet, d.result?.parameter], [true, 'Set-DistributionGroup', 'PrimarySmtpAddress']);
      d = mustDone(await run('exo.setEmailAddresses', { identity: id, recipientType: 'MailUniversalDistributionGroup', add: [`smtp:${extraAddress}`], remove: [`smtp:${mail}`] }, ctxOf(), x));
      assert.equal(d.changed, true);
      d = mustDone(await run('exo.setAlias', { identity: id, recipientType: 'MailUniversalDistributionGroup', alias: `${name}-sales` }, ctxOf(), x));
      assert.equal(d.changed, true);
      d = mustDone(await run('exo.setHiddenFromAddressLists', { identity: id, recipientType: 'MailUniversalDistributionGroup', hidden: true }, ctxOf(), x));
      assert.equal(d.changed, true);
      const g = (await s.exoGet<ExoRecipientRow>('Get-DistributionGroup', id))!;
      assert.equal(g.PrimarySmtpAddress, sales);
      assert.deepEqual([...g.EmailAddresses].sort(), [`SMTP:${sales}`, `smtp:${extraAddress}`].sort());
      assert.equal(g.Alias, `${name}-sales`);
      assert.equal(g.HiddenFromAddressListsEnabled, true);
      // Idempotent: a second run reads and changes nothing.
      assert.equal(mustDone(await run('exo.setPrimaryAddress', { identity: id, recipientType: 'MailUniversalDistributionGroup', address: sales }, ctxOf(), x)).changed, false);
      assert.equal(mustDone(await run('exo.setHiddenFromAddressLists', { identity: id, recipientType: 'MailUniversalDistributionGroup', hidden: true }, ctxOf(), x)).changed, false);

      // A cloud mail user's outside address.
      const mu = s.name('CloudMu');
      await s.exo.invoke('New-MailUser', { Name: mu, Alias: mu, ExternalEmailAddress: `${mu}@partner.example` });
      mustDone(await run('exo.setPrimaryAddress', { identity: `${mu}@partner.example`, recipientType: 'MailUser', address: `${mu}.2@partner.example` }, ctxOf(), x));

      assert.deepEqual(calls, [
        'Set-DistributionGroup BypassSecurityGroupManagerCheck,PrimarySmtpAddress',
        'Set-DistributionGroup BypassSecurityGroupManagerCheck,EmailAddresses',
        'Set-DistributionGroup Alias,BypassSecurityGroupManagerCheck',
        'Set-DistributionGroup BypassSecurityGroupManagerCheck,HiddenFromAddressListsEnabled',
        'Set-MailUser ExternalEmailAddress',
      ]);
      // Without the switch Exchange refuses an app (never in ManagedBy): the error the executors avoid.
      const refused = await s.exo.invoke('Set-DistributionGroup', { Identity: id, HiddenFromAddressListsEnabled: false }).then(
        () => undefined,
        (e: unknown) => e as ExoCommandError,
      );
      assert.match(String(refused?.message), /OperationRequiresGroupManagerException.*This operation can only be performed by a manager of the group/);
      await s.exo.invoke('Remove-DistributionGroup', { Identity: id, BypassSecurityGroupManagerCheck: true });
      await s.exo.invoke('Remove-MailUser', { Identity: mu });
    });

    it('a synced group is refused in Exchange Online: permanent write-scope error, nothing changed (synced groups are managed in AD)', async function () {
      const name = s.name('SyncDl');
      const mail = `${name}@contoso.example`;
      await s.addGroup(name, { scope: 'universal', security: false, mail });
      await s.sync();
      const e = mustFail(await run('exo.setHiddenFromAddressLists', { identity: mail, recipientType: 'MailUniversalDistributionGroup', hidden: true }), false);
      assert.match(e.message, /synchronized from your on-premises organization|synced from AD/);
      assert.equal((await s.exoGet<ExoRecipientRow>('Get-DistributionGroup', mail))!.HiddenFromAddressListsEnabled, false);
    });
  });

  // ===========================================================================================
  describe('error mapping', function () {
    it('Graph 429/503 → transient StepError with retryAfterMs from Retry-After; Exchange 503/429 → transient', async function () {
      const fragile = fragileClients();
      const x = new Map(cloudExecutors(deps({ graph: fragile.graph, exo: fragile.exo })).map((e) => [e.action, e]));
      const u = await mailboxUser('ErrMap');
      sandbox.cloud.injectFaults({ status: 429, count: 1, scope: 'graph', retryAfterSeconds: 7 });
      const throttled = mustFail(await run('entra.ensureUsageLocation', { userPrincipalName: u.upn, usageLocation: 'DE', onlyIfMissing: false }, ctxOf(), x), true);
      assert.equal(throttled.retryAfterMs, 7000);
      assert.match(throttled.message, /Microsoft Graph is throttling Mailroom while Mailroom tried to set the usage location.*tries again by itself/);
      sandbox.cloud.injectFaults({ status: 503, count: 1, scope: 'graph', retryAfterSeconds: 3 });
      const busy = mustFail(await run('entra.ensureUsageLocation', { userPrincipalName: u.upn, usageLocation: 'DE', onlyIfMissing: false }, ctxOf(), x), true);
      assert.equal(busy.retryAfterMs, 3000);
      sandbox.cloud.injectFaults({ status: 503, count: 1, scope: 'exo', retryAfterSeconds: 3 });
      const exoBusy = mustFail(await run('exo.setMailboxType', { identity: u.upn, type: 'Shared' }, ctxOf(), x), true);
      assert.match(exoBusy.message, /Exchange Online is busy or throttling \(HTTP 503\).*The mailbox type was not changed/);
      sandbox.cloud.injectFaults({ status: 429, count: 1, scope: 'exo', retryAfterSeconds: 3 });
      mustFail(await run('exo.setMailboxType', { identity: u.upn, type: 'Shared' }, ctxOf(), x), true);
    });

    it('with 30 % of Graph and Exchange requests answered 429/503, every step still ends done, through transient errors only', async function () {
      this.timeout(240_000);
      const users = [];
      for (let i = 0; i < 4; i++) users.push(await syncedUser('Flaky'));
      const fragile = fragileClients();
      const x = new Map(cloudExecutors(deps({ graph: fragile.graph, exo: fragile.exo })).map((e) => [e.action, e]));
      const transient: StepError[] = [];
      const toDone = async <A extends StepAction>(action: A, input: StepInputs[A]): Promise<void> => {
        for (let attempt = 1; attempt <= 40; attempt++) {
          const o = await run(action, input, ctxOf({ attempt }), x);
          if (o instanceof StepError) {
            assert.equal(o.transient, true, `${action}: ${o.message}`);
            transient.push(o);
            continue; // a runner waits o.retryAfterMs here; the test goes on at once
          }
          mustDone(o, action);
          return;
        }
        assert.fail(`${action} did not finish in 40 tries`);
      };
      sandbox.cloud.setKnobs({ throttleRate: 0.15, unavailableRate: 0.15, seed: 11 });
      try {
        for (const u of users) {
          await toDone('entra.ensureUsageLocation', { userPrincipalName: u.upn, usageLocation: 'DE', onlyIfMissing: true });
          await toDone('entra.assignLicence', { userPrincipalName: u.upn, via: 'direct', skuId: sku, skuName: EXO_PLAN });
          await toDone('exo.setCloudManaged', { identity: u.upn, enabled: true });
          await toDone('exo.setHiddenFromAddressLists', { identity: u.upn, recipientType: 'UserMailbox', hidden: true });
        }
      } finally {
        sandbox.cloud.setKnobs({ throttleRate: 0, unavailableRate: 0 });
      }
      for (const u of users) {
        const mb = await s.mailbox(u.upn);
        assert.equal(mb.IsExchangeCloudManaged, true);
        assert.equal(mb.HiddenFromAddressListsEnabled, true);
      }
      assert.ok(transient.length >= 3, `faults reached the executors (${transient.length} transient errors)`);
      const fromGraph = transient.filter((e) => /Microsoft Graph/.test(e.message));
      assert.ok(fromGraph.length > 0, 'some came from Graph');
      for (const e of fromGraph) assert.equal(e.retryAfterMs, 2000, 'Graph faults carry Retry-After (2 s)');
      console.log(`      30 % faults: ${transient.length} transient errors over ${users.length * 4} steps, all steps done`);
    });
  });

  // ===========================================================================================
  describe('waiters', function () {
    const N = [1, 10, 40];
    let many: { users: { name: string; dn: string; upn: string }[]; contacts: { dn: string; mail: string }[]; groups: { dn: string; name: string }[] };

    before(async function () {
      this.timeout(5 * 60_000);
      many = { users: [], contacts: [], groups: [] };
      for (let i = 0; i < 40; i++) {
        const u = s.name('WtU');
        many.users.push({ name: u, dn: await s.addUser(u), upn: s.upn(u) });
        const c = s.name('WtC');
        const mail = `${c}@partner.example`;
        many.contacts.push({ dn: await s.addContact(c, { mail }), mail });
        const g = s.name('WtG');
        many.groups.push({ dn: await s.addGroup(g, { scope: 'universal', security: false, mail: `${g}@contoso.example` }), name: g });
      }
      await s.sync();
    });

    const connect = (dn: string, objectType: 'user' | 'contact' | 'group') => ({ engine: 'connect' as const, provisionOnDemand: false, dn, objectType });
    const figures: string[] = [];

    after(function () {
      if (figures.length) console.log(`      calls per polling cycle:\n${figures.map((f) => `        ${f}`).join('\n')}`);
    });

    it('sync.awaitUser / awaitContact / awaitGroup: 1, 10 and 40 waiting steps cost one Graph request per cycle', async function () {
      const waiter = makeWaiters();
      for (const n of N) {
        const users: TestStep<'sync.awaitUser'>[] = many.users.slice(0, n).map((u, i) => ({ key: `u${n}-${i}`, attempt: 1, input: { ...connect(u.dn, 'user'), samAccountName: u.name, userPrincipalName: u.upn, timeoutMinutes: 90 } }));
        const cu = await counted(() => poll(waiter('sync.awaitUser'), users));
        for (const st of users) assert.equal(mustDone(st.outcome, st.key).result?.userPrincipalName, many.users[Number(st.key.split('-')[1])]!.upn);
        assert.equal(cu.graph, 1, `users, ${n} steps: ${cu.graph} Graph requests`);
        if (n === 1) {
          const same = await clients.graph.usersByFilter<{ id: string }>(`onPremisesSamAccountName eq '${many.users[0]!.name}'`, ['id', 'userPrincipalName']);
          assert.deepEqual(same.map((x) => x.id), [mustDone(users[0]!.outcome).result?.entraId], 'GraphDirectory.usersByFilter finds the same user');
        }

        const contacts: TestStep<'sync.awaitContact'>[] = many.contacts.slice(0, n).map((c, i) => ({ key: `c${n}-${i}`, attempt: 1, input: { ...connect(c.dn, 'contact'), mail: c.mail, timeoutMinutes: 90 } }));
        const cc = await counted(() => poll(waiter('sync.awaitContact'), contacts));
        for (const st of contacts) mustDone(st.outcome, st.key);
        assert.equal(cc.graph, 1);

        const groups: TestStep<'sync.awaitGroup'>[] = many.groups.slice(0, n).map((g, i) => ({ key: `g${n}-${i}`, attempt: 1, input: { ...connect(g.dn, 'group'), samAccountName: g.name, timeoutMinutes: 90 } }));
        const cg = await counted(() => poll(waiter('sync.awaitGroup'), groups));
        for (const st of groups) mustDone(st.outcome, st.key);
        assert.equal(cg.graph, 1);
        figures.push(`sync waiters, ${n} steps each: users ${cu.graph}, contacts ${cc.graph}, groups ${cg.graph} Graph request(s)`);
      }
    });

    it('at scale (fake ports): 1,000 waiting users cost 4 Graph $batch requests (15 names per sub-request, 20 per batch) and 1,000 mailboxes 20 Exchange calls', async function () {
      const batches: number[] = [];
      const urls: { url: string; headers?: Readonly<Record<string, string>> }[] = [];
      const exoFilters: string[] = [];
      const set = cloudWaiters({
        limiter: new InMemoryOnDemandLimiter(),
        graph: {
          batch(requests) {
            batches.push(requests.length);
            urls.push(...requests);
            return Promise.resolve(requests.map((r) => ({ id: r.id, status: 200, body: { value: [] } })));
          },
          provisionOnDemand: () => Promise.reject(new Error('not expected')),
          synchronizationRules: () => Promise.reject(new Error('not expected')),
        },
        exo: {
          invoke<T>(_cmdlet: string, parameters: Record<string, unknown> = {}) {
            exoFilters.push(String(parameters.Filter));
            return Promise.resolve({ value: [] as T[] });
          },
        },
        sync: {},
      });
      const users = set.find((w) => w.action === 'sync.awaitUser') as unknown as BatchWaiter<'sync.awaitUser'>;
      const mailboxes = set.find((w) => w.action === 'exo.awaitMailbox') as unknown as BatchWaiter<'exo.awaitMailbox'>;
      const many = Array.from({ length: 1000 }, (_, i) => i);
      const u = await users.checkAll(many.map((i) => ({ key: `u${i}`, input: { engine: 'connect', provisionOnDemand: false, dn: `CN=u${i},OU=X,DC=corp,DC=example`, objectType: 'user', samAccountName: `u${i}`, timeoutMinutes: 90 }, ctx: ctxOf({ stepId: `u${i}` }) })));
      assert.deepEqual(batches, [20, 20, 20, 7]);
      assert.equal([...u.values()].filter((o) => !(o instanceof StepError) && o.kind === 'wait').length, 1000);
      for (const r of urls) {
        const filter = decodeURIComponent(/\$filter=([^&]*)/.exec(r.url)?.[1] ?? '');
        assert.ok((filter.match(/'/g) ?? []).length / 2 <= 15, filter);
        assert.match(r.url, /\$count=true/);
        assert.equal(r.headers?.ConsistencyLevel, 'eventual');
      }
      await mailboxes.checkAll(many.map((i) => ({ key: `m${i}`, input: { identity: `u${i}@contoso.example`, timeoutMinutes: 180 }, ctx: ctxOf({ stepId: `m${i}` }) })));
      assert.equal(exoFilters.length, 20);
      figures.push('fake ports, 1,000 steps: 4 Graph $batch requests for users, 20 Exchange calls for mailboxes');
    });

    it('exo.awaitRecipient (contacts) and exo.awaitMailbox: 1, 10 and 40 waiting steps cost one Exchange call per cycle', async function () {
      this.timeout(5 * 60_000);
      for (const u of many.users) await s.licence(u.upn);
      const waiter = makeWaiters();
      for (const n of N) {
        const recipients: TestStep<'exo.awaitRecipient'>[] = many.contacts.slice(0, n).map((c, i) => ({
          key: `r${n}-${i}`,
          attempt: 1,
          input: { identity: c.mail, expect: { recipientTypeDetails: 'MailContact', externalEmailAddress: c.mail }, timeoutMinutes: 90 },
        }));
        const cr = await counted(() => poll(waiter('exo.awaitRecipient'), recipients));
        for (const st of recipients) mustDone(st.outcome, st.key);
        assert.equal(cr.exo, 1, `recipients, ${n} steps: ${cr.exo} Exchange calls`);

        const mailboxes: TestStep<'exo.awaitMailbox'>[] = many.users.slice(0, n).map((u, i) => ({ key: `m${n}-${i}`, attempt: 1, input: { identity: u.upn, timeoutMinutes: 180 } }));
        const cm = await counted(() => poll(waiter('exo.awaitMailbox'), mailboxes));
        for (const st of mailboxes) assert.equal(mustDone(st.outcome, st.key).result?.recipientTypeDetails, 'UserMailbox');
        assert.equal(cm.exo, 1, `mailboxes, ${n} steps: ${cm.exo} Exchange calls`);
        figures.push(`exo waiters, ${n} steps each: recipients ${cr.exo}, mailboxes ${cm.exo} Exchange call(s)`);
      }
    });

    it('exo.awaitRecipient of new mail users (by the Entra id their user wait found) and contacts (by address): one Get-Recipient per cycle, no UserPrincipalName clause', async function () {
      // Microsoft's filter-properties list: UserPrincipalName is filterable on Get-Mailbox, Get-MailUser and Get-User,
      // not on Get-Recipient; a mail user's sign-in name is not among its addresses, so the wait asks by ExternalDirectoryObjectId.
      const mailUsers: { upn: string; external: string; entraId: string }[] = [];
      for (let i = 0; i < 3; i++) {
        const name = s.name('WtMu');
        const external = `${name}@partner.example`;
        await s.addUser(name, { mail: external, mailNickname: name, targetAddress: `SMTP:${external}` });
        mailUsers.push({ upn: s.upn(name), external, entraId: '' });
      }
      await s.sync();
      for (const m of mailUsers) m.entraId = (await s.mustGraphUser(m.upn)).id;
      const filters: { cmdlet: string; filter: string }[] = [];
      const exo = {
        invoke<T>(cmdlet: string, parameters: Record<string, unknown> = {}): Promise<{ value: T[] }> {
          filters.push({ cmdlet, filter: String(parameters.Filter) });
          return clients.exo.invoke<T>(cmdlet, parameters);
        },
      };
      const waiter = makeWaiters({ exo });
      const steps: TestStep<'exo.awaitRecipient'>[] = [
        ...mailUsers.map((m, i) => ({
          key: `mu-${i}`,
          attempt: 1,
          earlier: { 'sync.await-user': { entraId: m.entraId, userPrincipalName: m.upn } },
          input: { identity: m.upn, expect: { recipientTypeDetails: 'MailUser', externalEmailAddress: m.external }, entraIdFrom: 'sync.await-user', timeoutMinutes: 90 },
        })),
        ...many.contacts.slice(0, 2).map((c, i) => ({ key: `ct-${i}`, attempt: 1, input: { identity: c.mail, expect: { recipientTypeDetails: 'MailContact' }, timeoutMinutes: 90 } })),
      ];
      const c = await counted(() => poll(waiter('exo.awaitRecipient'), steps));
      for (const st of steps) mustDone(st.outcome, st.key);
      assert.equal(c.exo, 1, 'one Exchange call for the cycle');
      assert.deepEqual(filters.map((f) => f.cmdlet), ['Get-Recipient']);
      assert.doesNotMatch(filters[0]!.filter, /UserPrincipalName/);
      for (const m of mailUsers) assert.ok(filters[0]!.filter.includes(`ExternalDirectoryObjectId -eq '${m.entraId}'`), filters[0]!.filter);

      // Without the Entra id (a plan made before entraIdFrom existed), the sign-in name is not found by Get-Recipient.
      const old: TestStep<'exo.awaitRecipient'> = { key: 'mu-old', attempt: 1, input: { identity: mailUsers[0]!.upn, expect: { recipientTypeDetails: 'MailUser' }, timeoutMinutes: 90 } };
      await poll(waiter('exo.awaitRecipient'), [old]);
      assert.ok(old.outcome && !(old.outcome instanceof StepError) && old.outcome.kind === 'wait', 'still waiting');
    });

    it('a step not there yet answers wait with its state (waitingSince, attempt); the next polls keep waitingSince, after ¼, ½ and then whole intervals', async function () {
      const waiter = makeWaiters();
      const st: TestStep<'exo.awaitMailbox'> = { key: 'no-mailbox', attempt: 1, input: { identity: `nobody-${s.name('x')}@contoso.example`, timeoutMinutes: 180 } };
      const t0 = new Date(sandbox.clock.now());
      // the mailbox interval is a minute: looks at 0, 15 s, 30 s, 60 s, then every minute
      let at = t0;
      for (const nextAfterMs of [15_000, 15_000, 30_000, 60_000, 60_000]) {
        await poll(waiter('exo.awaitMailbox'), [st], at);
        const o = st.outcome;
        assert.ok(o && !(o instanceof StepError) && o.kind === 'wait', 'still waiting');
        assert.equal(o.result?.waitingSince, t0.toISOString());
        assert.equal(o.until.getTime(), at.getTime() + nextAfterMs, `looked at ${(at.getTime() - t0.getTime()) / 1000} s: next look ${nextAfterMs / 1000} s later`);
        at = o.until;
      }
    });

    it('provisionOnDemand: triggered once per step, never more than 5 calls in a 10-second window, spread over cycles', async function () {
      freshPodWindow();
      const waiter = makeWaiters();
      const fresh = [];
      for (let i = 0; i < 12; i++) {
        const name = s.name('Pod');
        fresh.push({ name, dn: await s.addUser(name), upn: s.upn(name) });
      }
      const steps: TestStep<'sync.awaitUser'>[] = fresh.map((u, i) => ({
        key: `pod-${i}`,
        attempt: 1,
        input: { engine: 'cloud', provisionOnDemand: true, dn: u.dn, objectType: 'user', samAccountName: u.name, userPrincipalName: u.upn, timeoutMinutes: 15 },
      }));
      const perCycle: number[] = [];
      const statuses: number[] = [];
      for (let cycle = 0; cycle < 8 && steps.some((st) => !isDone(st.outcome)); cycle++) {
        const c = await counted(() => poll(waiter('sync.awaitUser'), steps));
        perCycle.push(c.pod);
        statuses.push(...c.statuses);
        // Every other cycle comes before the window has passed: it must not trigger anything.
        if (cycle % 2 === 1) sandbox.clock.advance(11_001);
      }
      for (const st of steps) {
        const d = mustDone(st.outcome, st.key);
        assert.equal((d.result?.provisionOnDemand as { status?: string } | undefined)?.status, 'Success');
        assert.equal(d.changed, true);
      }
      assert.deepEqual(perCycle, [5, 0, 5, 0, 2], `calls per cycle ${perCycle.join(', ')}`);
      assert.ok(statuses.every((x) => x === 200), `no 429 from Graph (${statuses.join(', ')})`);
      figures.push(`provisionOnDemand, 12 new users: ${perCycle.join(', ')} trigger calls per cycle (5 per 11 s at most), each DN once`);

      // A step that stays waiting is not triggered again: with its result passed back, from memory, but again on a Retry (attempt 2).
      freshPodWindow();
      const ghostName = s.name('Ghost');
      const ghost: TestStep<'sync.awaitUser'> = {
        key: 'ghost',
        attempt: 1,
        input: { engine: 'cloud', provisionOnDemand: true, dn: `CN=${ghostName},${s.ou.dn}`, objectType: 'user', samAccountName: ghostName, timeoutMinutes: 15 },
      };
      const c1 = await counted(() => poll(waiter('sync.awaitUser'), [ghost]));
      assert.equal(c1.pod, 1);
      assert.ok(ghost.outcome && !(ghost.outcome instanceof StepError) && ghost.outcome.kind === 'wait');
      assert.equal((ghost.result?.provisionOnDemand as { status?: string }).status, 'Failure', 'the DN is not in AD');
      sandbox.clock.advance(11_001);
      assert.equal((await counted(() => poll(waiter('sync.awaitUser'), [ghost]))).pod, 0, 'result passed back: no second trigger');
      assert.equal((await counted(() => poll(waiter('sync.awaitUser'), [ghost], undefined, false))).pod, 0, 'remembered in memory: no second trigger');
      assert.equal((await counted(() => poll(makeWaiters()('sync.awaitUser'), [ghost]))).pod, 0, 'a new poller with the result: no second trigger');
      ghost.attempt = 2;
      assert.equal((await counted(() => poll(waiter('sync.awaitUser'), [ghost]))).pod, 1, 'a Retry (attempt 2) triggers again');
    });

    it('sync.awaitUser with expectAccountEnabled false: done once on-demand provisioning has carried the disabled account', async function () {
      freshPodWindow();
      const u = await syncedUser('WtDis');
      await s.modify(u.dn, replace('userAccountControl', [String(UAC_DISABLED)]));
      const waiter = makeWaiters();
      const st: TestStep<'sync.awaitUser'> = { key: 'disable', attempt: 1, input: { engine: 'connect', provisionOnDemand: false, dn: u.dn, objectType: 'user', userPrincipalName: u.upn, expectAccountEnabled: false, timeoutMinutes: 90 } };
      await poll(waiter('sync.awaitUser'), [st]);
      assert.ok(st.outcome && !(st.outcome instanceof StepError) && st.outcome.kind === 'wait', 'still enabled in Entra ID before sync');
      const cloud: TestStep<'sync.awaitUser'> = { ...st, key: 'disable-cloud', outcome: undefined, result: undefined, input: { ...st.input, engine: 'cloud', provisionOnDemand: true } };
      await poll(waiter('sync.awaitUser'), [cloud]);
      assert.equal(mustDone(cloud.outcome).result?.accountEnabled, false);
    });

    it('exo.awaitRecipient after an AD change: triggers provisioning for the DN and is done in one cycle', async function () {
      freshPodWindow();
      const name = s.name('WtRc');
      const mail = `${name}@partner.example`;
      const dn = await s.addContact(name, { mail });
      await s.sync();
      const moved = `${name}.moved@partner.example`;
      await s.modify(dn, replace('mail', [moved]));
      // The plan waits on the recipient's stable id (exoId) when it knows it: the old address no longer finds a contact.
      const rec = await s.exoGet<{ Guid: string }>('Get-Recipient', mail);
      assert.ok(rec);
      const waiter = makeWaiters();
      const st: TestStep<'exo.awaitRecipient'> = {
        key: 'rc',
        attempt: 1,
        input: { identity: rec.Guid, expect: { primarySmtpAddress: moved }, sync: { engine: 'cloud', provisionOnDemand: true, dn, objectType: 'contact' }, timeoutMinutes: 15 },
      };
      const c = await counted(() => poll(waiter('exo.awaitRecipient'), [st]));
      assert.equal(c.pod, 1);
      assert.equal(mustDone(st.outcome).result?.primarySmtpAddress, moved);
    });

    it('exo.awaitMailbox with a mailbox delay: waits, then done once the tenant clock passes the delay', async function () {
      const u = await syncedUser('WtDelay');
      sandbox.cloud.setKnobs({ mailboxProvisioningDelayMs: 30 * 60_000 });
      try {
        await s.licence(u.upn);
        const waiter = makeWaiters();
        const st: TestStep<'exo.awaitMailbox'> = { key: 'delay', attempt: 1, input: { identity: u.upn, timeoutMinutes: 180 } };
        await poll(waiter('exo.awaitMailbox'), [st]);
        assert.ok(st.outcome && !(st.outcome instanceof StepError) && st.outcome.kind === 'wait');
        sandbox.clock.advance(31 * 60_000);
        await poll(waiter('exo.awaitMailbox'), [st]);
        assert.equal(mustDone(st.outcome).result?.recipientTypeDetails, 'UserMailbox');
      } finally {
        sandbox.cloud.setKnobs({ mailboxProvisioningDelayMs: 0 });
      }
    });

    it('a wait past its timeout fails permanently, saying what did not appear and what to check', async function () {
      freshPodWindow();
      const waiter = makeWaiters();
      const name = s.name('Never');
      const dn = `CN=${name},${s.ou.dn}`;
      const now = new Date(sandbox.clock.now());
      const since = new Date(now.getTime() - 16 * 60_000).toISOString();
      const st: TestStep<'sync.awaitUser'> = {
        key: 'timeout',
        attempt: 1,
        result: { attempt: 1, waitingSince: since },
        input: { engine: 'cloud', provisionOnDemand: true, dn, objectType: 'user', samAccountName: name, userPrincipalName: s.upn(name), timeoutMinutes: 15 },
      };
      await poll(waiter('sync.awaitUser'), [st], now);
      const err = mustFail(st.outcome, false);
      assert.match(err.message, new RegExp(`^The user ${s.upn(name)} \\(CN=${name},.*\\) did not appear in Entra ID within 15 minutes\\. Nothing else was changed after the AD step\\.`));
      assert.match(err.message, /Check that Entra Cloud Sync .* is running and has OU=.* in its scope\. On-demand provisioning answered Failure: .*not found in Active Directory.*press Retry/);

      const mb: TestStep<'exo.awaitMailbox'> = { key: 'mb-timeout', attempt: 1, result: { attempt: 1, waitingSince: new Date(now.getTime() - 181 * 60_000).toISOString() }, input: { identity: s.upn(name), timeoutMinutes: 180 } };
      await poll(waiter('exo.awaitMailbox'), [mb], now);
      assert.match(mustFail(mb.outcome, false).message, /^No mailbox for .* appeared in Exchange Online within 180 minutes of the licence\..*Exchange Online licence without errors/);

      const rc: TestStep<'exo.awaitRecipient'> = {
        key: 'rc-timeout',
        attempt: 1,
        result: { attempt: 1, waitingSince: new Date(now.getTime() - 91 * 60_000).toISOString() },
        input: { identity: many.contacts[0]!.mail, expect: { recipientTypeDetails: 'MailContact', hiddenFromAddressListsEnabled: true }, timeoutMinutes: 90 },
      };
      await poll(waiter('exo.awaitRecipient'), [rc], now);
      assert.match(mustFail(rc.outcome, false).message, /shows in Exchange Online, but it is shown in address lists, 90 minutes later/);
    });

    it('without a Cloud Sync job, provisionOnDemand is recorded as not configured and no call is made; a failed lookup keeps steps waiting', async function () {
      const waiter = makeWaiters({ sync: {} });
      const u = many.users[0]!;
      const st: TestStep<'sync.awaitUser'> = { key: 'nojob', attempt: 1, input: { engine: 'cloud', provisionOnDemand: true, dn: u.dn, objectType: 'user', samAccountName: u.name, timeoutMinutes: 15 } };
      const c = await counted(() => poll(waiter('sync.awaitUser'), [st]));
      assert.equal(c.pod, 0);
      assert.equal((mustDone(st.outcome).result?.provisionOnDemand as { status?: string }).status, 'NotConfigured');

      const fragile = fragileClients();
      const flaky = makeWaiters({ exo: fragile.exo, graph: fragile.graph });
      sandbox.cloud.injectFaults({ status: 503, count: 1, scope: 'exo' });
      const mb: TestStep<'exo.awaitMailbox'> = { key: 'flaky', attempt: 1, input: { identity: u.upn, timeoutMinutes: 180 } };
      await poll(flaky('exo.awaitMailbox'), [mb]);
      assert.ok(mb.outcome && !(mb.outcome instanceof StepError) && mb.outcome.kind === 'wait', 'a 503 leaves the step waiting');
      await poll(flaky('exo.awaitMailbox'), [mb]);
      mustDone(mb.outcome);
    });
  });
});

/** A minimal in-memory Exchange Online for what the emulator lacks (ResourceCapacity, Set-DistributionGroup). */
class FakeExo implements ExchangePort {
  readonly calls: string[] = [];

  constructor(readonly rows: Record<string, unknown>[]) {}

  private find(identity: string): Record<string, unknown> | undefined {
    const id = identity.toLowerCase();
    return this.rows.find(
      (r) =>
        String(r.Guid).toLowerCase() === id ||
        String(r.Name).toLowerCase() === id ||
        String(r.PrimarySmtpAddress).toLowerCase() === id ||
        ((r.EmailAddresses as string[] | undefined) ?? []).some((p) => p.toLowerCase().replace(/^smtp:/, '') === id),
    );
  }

  invoke<T = Record<string, unknown>>(cmdlet: string, parameters: Record<string, unknown> = {}): Promise<{ value: T[]; warnings: string[] }> {
    const { Identity, ...rest } = parameters;
    this.calls.push(`${cmdlet} ${Object.entries(rest).map(([k, v]) => `${k}=${String(v as string)}`).join(' ')}`.trim());
    const row = this.find(String(Identity));
    if (!row) {
      const err = Object.assign(new Error(`${String(Identity as string)} couldn't be found`), { cmdlet, status: 404, code: 'NotFound', exceptionType: 'ManagementObjectNotFoundException', detail: "couldn't be found", transient: false, notFound: true });
      return Promise.reject(err);
    }
    if (cmdlet.startsWith('Get-')) return Promise.resolve({ value: [structuredClone(row) as T], warnings: [] });
    for (const [k, v] of Object.entries(rest)) {
      if (k === 'PrimarySmtpAddress' || k === 'WindowsEmailAddress') {
        row.PrimarySmtpAddress = v;
        row.EmailAddresses = [`SMTP:${String(v)}`, ...((row.EmailAddresses as string[]).map((p) => p.replace(/^SMTP:/, 'smtp:')))];
      } else if (k === 'ExternalEmailAddress') row.ExternalEmailAddress = `SMTP:${String(v)}`;
      else row[k] = v;
    }
    return Promise.resolve({ value: [], warnings: [] });
  }
}
