import assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from 'ldapts';
import { startMailroom, Mailroom } from '../../src/app';
import { createCloudClients, CloudClients } from '../../src/cloud';
import { loadConfig } from '../../src/config/config';
import { silentLogger } from '../../src/log';
import { projectRoot } from '../../src/paths';
import type { Sandbox } from '../../src/sandbox';
import { sandboxOverrides } from '../../src/sandbox/overrides';
import { SANDBOX_MAIL_DOMAIN, SANDBOX_TENANT_ID } from '../../src/sandbox/people';
import { openStore, type AuditEvent, type Store } from '../../src/store';
import { auditKey } from '../../src/workflow/secret-vault';
import { Connector, startConnector, TeamsClient, visibleText } from '../harness/connector';
import { getPostgres } from '../harness/postgres';
import { ARNOLD, buttonData, cardOf, RITA } from '../harness/requests';
import { ensureFreeLicences, getSharedSandbox, openSandboxLdap, resetProvisionOnDemandLimit } from '../harness/sandbox';
import type { ChildMessage, Gate, GatePhase, StartMessage } from './fixtures/mailroom-child';

/**
 * Durability of provisioning runs: injected throttling, SIGKILL at every step boundary and in the middle of
 * every step, and two instances sharing one PostgreSQL. Every run must end `done`, every step must take effect
 * exactly once. All of it runs on the shared sandbox.
 */

const ROOT = projectRoot();
const CHILD = path.join(ROOT, 'test/workflow/fixtures/mailroom-child.ts');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Wait steps (served by the poller): sync.await*, exo.await*. */
const isWait = (action: string) => /\.await/i.test(action);

interface Filing {
  readonly command: string;
  readonly title: string;
  /** Text that the request's status card shows and no other filing's does (lower case). */
  readonly marker: string;
}

const shared = (tag: string): Filing => ({ command: `new shared mailbox name="Dur ${tag}" alias=dur-${tag}`, title: 'Shared mailbox', marker: `dur-${tag}`.toLowerCase() });
const user = (tag: string): Filing => ({ command: `new mailbox first=Dur last=U${tag} department=Research`, title: 'User mailbox', marker: `u${tag}`.toLowerCase() });

/** Files the requests at once as Rita and approves each as Arnold through the bot at `url`; returns the references in order. */
async function fileAndApprove(connector: Connector, url: string, filings: readonly Filing[]): Promise<string[]> {
  const client = (p: typeof RITA) => new TeamsClient(url, connector.serviceUrl, p, SANDBOX_TENANT_ID);
  for (const p of [RITA, ARNOLD]) await client(p).install();
  const since = connector.calls.length;
  return Promise.all(
    filings.map(async (f) => {
      await client(RITA).say(f.command);
      const title = new RegExp(`R-\\d+ · ${f.title}`);
      const status = await connector.waitFor((c) => c.conversationId === `a:personal-${RITA.id}` && title.test(visibleText(c.body)) && visibleText(c.body).toLowerCase().includes(f.marker), 30000, since);
      const reference = /(R-\d+)/.exec(visibleText(status.body))?.[1] ?? '';
      assert.ok(reference, `no reference in ${visibleText(status.body)}`);
      const approval = await connector.waitFor((c) => c.conversationId === `a:personal-${ARNOLD.id}` && visibleText(c.body).includes(`${reference} · ${f.title}`), 30000, since);
      const res = await client(ARNOLD).execute('request.approve', buttonData(cardOf(approval), 'Approve') ?? {});
      assert.equal(res.status, 200);
      return reference;
    }),
  );
}

/** Waits until every request is done (fails fast on `failed`). */
async function allDone(store: Store, references: readonly string[], timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const records = await Promise.all(references.map((r) => store.requests.get(r)));
    const failed = records.find((r) => r?.status === 'failed');
    if (failed) assert.fail(`${failed.reference} failed: ${failed.error ?? ''}`);
    if (records.every((r) => r?.status === 'done')) return;
    if (Date.now() > end) {
      const stuck = await Promise.all(
        records
          .filter((r) => r && r.status !== 'done')
          .map(async (r) => `${r!.reference}: ${(await store.runs.listByRequest(r!.id)).map((s) => `${s.stepId}:${s.status}/${s.attempts}${s.error ? ` (${s.error})` : ''}`).join(', ')}; last events ${(await auditOf(store, r!.reference)).slice(-4).map((e) => `${e.event} ${JSON.stringify(e.data).slice(0, 300)}`).join(' | ')}`),
      );
      assert.fail(`not done after ${timeoutMs} ms: ${records.map((r, i) => `${references[i]}=${r?.status ?? 'missing'}`).join(', ')}\n${stuck.join('\n')}`);
    }
    await sleep(50);
  }
}

/**
 * Runs delta sync cycles one after another while `work` runs, as Cloud Sync's schedule would: a sync wait that
 * does not fit into provisionOnDemand's 5 calls per 10 s is then answered by the next cycle instead of the next window.
 */
async function whileSyncing<T>(sandbox: Sandbox, work: Promise<T>): Promise<T> {
  let stop = false;
  const cycles = (async () => {
    while (!stop) {
      await sandbox.sync.runCycle().catch(() => undefined);
      await sleep(200);
    }
  })();
  try {
    return await work;
  } finally {
    stop = true;
    await cycles;
  }
}

/** How many retries the runner recorded for these requests (each may claim a step once more). */
async function retriesOf(store: Store, references: readonly string[]): Promise<number> {
  let n = 0;
  for (const r of references) n += (await auditOf(store, r)).filter((e) => e.event === 'operation.retry').length;
  return n;
}

async function auditOf(store: Store, reference: string): Promise<AuditEvent[]> {
  return store.audit.list({ requestRef: reference, limit: 1000 });
}

/** operation.* events per step id. */
function perStep(events: readonly AuditEvent[]): Map<string, AuditEvent[]> {
  const out = new Map<string, AuditEvent[]>();
  for (const e of events) {
    if (!e.event.startsWith('operation.')) continue;
    const step = String(e.data.step);
    out.set(step, [...(out.get(step) ?? []), e]);
  }
  return out;
}

/** The AD objects of a request (by its alias, mail, sAMAccountName and UPN). */
async function adObjectsOf(store: Store, ldap: Client, baseDn: string, reference: string): Promise<{ alias: string; dns: string[]; userPrincipalName: string | undefined }> {
  const record = (await store.requests.get(reference))!;
  const req = record.request as { alias?: string; samAccountName?: string; userPrincipalName?: string };
  const alias = req.alias ?? '';
  assert.ok(alias, `${reference} has an alias`);
  const terms = [`(mail=${alias}@${SANDBOX_MAIL_DOMAIN})`, `(mailNickname=${alias})`, ...(req.samAccountName ? [`(sAMAccountName=${req.samAccountName})`] : []), ...(req.userPrincipalName ? [`(userPrincipalName=${req.userPrincipalName})`] : [])];
  const { searchEntries } = await ldap.search(baseDn, { scope: 'sub', filter: `(&(objectClass=user)(|${terms.join('')}))`, attributes: ['distinguishedName'] });
  return { alias, dns: searchEntries.map((e) => e.dn), userPrincipalName: req.userPrincipalName };
}

/**
 * Exactly one AD object, one mailbox and at most one licence per request; every step done, with exactly one
 * operation.done (a step's done event is stored in one transaction with its completion, so no kill can keep one
 * without the other). A step that wrote something is audited `changed: true` once at most: a repeat finds the work
 * done (a wait's only change is its provisionOnDemand call, which each attempt makes once).
 */
async function assertExactlyOnce(store: Store, ldap: Client, baseDn: string, cloud: CloudClients, references: readonly string[]): Promise<void> {
  for (const reference of references) {
    const record = (await store.requests.get(reference))!;
    const { alias, dns, userPrincipalName } = await adObjectsOf(store, ldap, baseDn, reference);
    assert.equal(dns.length, 1, `${reference}: AD objects for ${alias}: ${dns.join('; ')}`);

    const mail = `${alias}@${SANDBOX_MAIL_DOMAIN}`;
    const mbx = (await cloud.exo.invoke<{ PrimarySmtpAddress: string }>('Get-Mailbox', { Identity: mail })).value;
    assert.equal(mbx.length, 1, `${reference}: recipients for ${mail}: ${mbx.length}`);

    if (userPrincipalName) {
      const entra = await cloud.graph.user<{ assignedLicenses?: { skuId: string }[] }>(userPrincipalName, ['assignedLicenses']);
      const skus = (entra?.assignedLicenses ?? []).map((l) => l.skuId);
      assert.equal(new Set(skus).size, skus.length, `${reference}: a licence twice: ${skus.join(',')}`);
      assert.ok(skus.length <= 1, `${reference}: licences ${skus.join(',')}`);
    }

    const steps = await store.runs.listByRequest(record.id);
    assert.ok(steps.length >= 4 && steps.every((s) => s.status === 'done'), steps.map((s) => `${s.stepId}:${s.status}`).join(', '));
    const byStep = perStep(await auditOf(store, reference));
    for (const s of steps) {
      const done = (byStep.get(s.stepId) ?? []).filter((e) => e.event === 'operation.done');
      assert.equal(done.length, 1, `${reference} ${s.stepId}: operation.done ${done.length} times`);
      assert.ok(done.filter((e) => e.data.changed === true).length <= 1, `${reference} ${s.stepId}: audited as a change twice`);
    }
  }
  assert.equal((await store.audit.verify()).ok, true, 'the audit chain holds');
}

/** Deletes the requests' AD objects and syncs, so the shared tenant gets its licences back. */
async function removeObjects(sandbox: Sandbox, store: Store, ldap: Client, references: readonly string[]): Promise<void> {
  for (const reference of references) {
    const { dns } = await adObjectsOf(store, ldap, sandbox.endpoints.ldap.baseDn, reference).catch(() => ({ dns: [] as string[] }));
    for (const dn of dns) await ldap.del(dn);
  }
  await sandbox.sync.runCycle();
}

// ---------------------------------------------------------------------------------------------
// Mailroom in child processes (test/workflow/fixtures/mailroom-child.ts)
// ---------------------------------------------------------------------------------------------

interface Child {
  readonly process: ChildProcess;
  /** Resolves with Mailroom's URL once it listens. */
  start(m: Omit<StartMessage, 'type'>): Promise<string>;
  /** The gates it stopped at so far. */
  readonly frozen: readonly Gate[];
  /** Resolves when the child reports a gate or exits, or after `ms`. */
  next(ms: number): Promise<void>;
  readonly exit: Promise<number | null>;
  output(): string;
}

function spawnChild(): Child {
  let out = '';
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  child.stdout?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20000)));
  child.stderr?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20000)));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const frozen: Gate[] = [];
  let wake: () => void = () => undefined;
  let onLoaded: () => void = () => undefined;
  let onReady: (url: string) => void = () => undefined;
  const loaded = new Promise<void>((resolve) => (onLoaded = resolve));
  const ready = new Promise<string>((resolve) => (onReady = resolve));
  child.on('message', (m: ChildMessage) => {
    if (m.type === 'loaded') onLoaded();
    else if (m.type === 'ready') onReady(m.url);
    else if (m.type === 'frozen') {
      const { type: _type, ...gate } = m;
      frozen.push(gate);
      wake();
    }
  });
  const died = exit.then((code) => {
    throw new Error(`the Mailroom child exited with ${code}:\n${out}`);
  });
  died.catch(() => undefined);
  return {
    process: child,
    async start(m) {
      await Promise.race([loaded, died]);
      child.send({ type: 'start', ...m } satisfies StartMessage);
      return Promise.race([ready, died]);
    },
    frozen,
    next: (ms) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        const done = () => {
          clearTimeout(timer);
          resolve();
        };
        wake = done;
        void exit.then(done);
      }),
    exit,
    output: () => out,
  };
}

async function kill9(c: Child): Promise<void> {
  if (c.process.exitCode === null && c.process.signalCode === null) c.process.kill('SIGKILL');
  await c.exit;
}

/** Starts Mailroom in a child that has loaded its modules already (about two seconds of CPU), and warms up the next one meanwhile. */
class Lives {
  private spare: Child | undefined = spawnChild();

  /** `last`: no life follows, so no spare warms up. */
  async start(m: Omit<StartMessage, 'type'>, last = false): Promise<{ child: Child; url: string }> {
    const child = this.spare ?? spawnChild();
    this.spare = last ? undefined : spawnChild();
    return { child, url: await child.start(m) };
  }

  async close(): Promise<void> {
    if (this.spare) await kill9(this.spare);
  }
}

describe('durable provisioning runs', function () {
  this.timeout(150000);
  let connector: Connector;
  let sandbox: Sandbox;
  let cloud: CloudClients;
  let ldap: Client;
  let overrides: Record<string, string>;
  const suffix = Date.now().toString(36).slice(-5);

  before(async function () {
    connector = await startConnector();
    sandbox = await getSharedSandbox();
    overrides = sandboxOverrides(sandbox.endpoints);
    const config = loadConfig({ rootDir: ROOT, envName: 'sandbox', env: {}, overrides: { ...overrides, PORT: '0' } });
    cloud = createCloudClients(config.cloud!, config.extraCaFile);
    ldap = await openSandboxLdap(sandbox);
  });
  let restoreUnits: (() => void) | undefined;
  beforeEach(function () {
    // earlier suites' provisionOnDemand calls must not count against this test's
    resetProvisionOnDemandLimit(sandbox);
    // nor the licences their users still hold: up to ten runs here hold one at once (a shared mailbox until it is converted)
    restoreUnits = ensureFreeLicences(sandbox, 12);
  });
  afterEach(function () {
    restoreUnits?.();
  });
  after(async function () {
    cloud?.close();
    await ldap?.unbind().catch(() => undefined);
    await connector?.close();
  });

  describe('with 30 % of cloud calls answered 429/503 (Retry-After: 1)', function () {
    let app: Mailroom;
    let dataDir: string;
    const references: string[] = [];
    const unthrottled = () => sandbox.cloud.setKnobs({ throttleRate: sandbox.knobs.rate429, unavailableRate: sandbox.knobs.rate503, retryAfterSeconds: sandbox.knobs.retryAfterS });

    before(async function () {
      sandbox.cloud.setKnobs({ throttleRate: 0.15, unavailableRate: 0.15, retryAfterSeconds: 1, seed: 1 });
      dataDir = mkdtempSync(path.join(os.tmpdir(), 'mailroom-dur-'));
      const config = loadConfig({ rootDir: ROOT, envName: 'sandbox', env: {}, overrides: { ...overrides, PORT: '0', DATA_DIR: dataDir } });
      app = await startMailroom(config, silentLogger, { runner: { pollMs: 100, waitPollMs: 150, backoffBaseMs: 100, backoffCapMs: 2000, maxAttempts: 30 }, waitIntervalMs: 100 });
    });
    after(async function () {
      unthrottled();
      if (app) await removeObjects(sandbox, app.store, ldap, references);
      await app?.stop();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    });

    it('every request is done despite the throttling, and runner retries wait at least Retry-After', async function () {
      const since = Date.now();
      references.push(...(await fileAndApprove(connector, app.url, [shared(`t${suffix}a`), user(`t${suffix}b`), shared(`t${suffix}c`), user(`t${suffix}d`), shared(`t${suffix}e`)])));
      // the clients retry a throttled call themselves (Exchange 4 tries, the Graph SDK 3 retries): a burst longer
      // than that reaches the runner, which must wait at least Retry-After before the step's next try
      sandbox.cloud.injectFaults({ status: 429, count: 4, scope: 'exo', retryAfterSeconds: 1 });
      sandbox.cloud.injectFaults({ status: 503, count: 4, scope: 'graph', retryAfterSeconds: 1 });
      // a provisionOnDemand call that was throttled has still used its place in the 5 per 10 s: sync cycles run as well
      await whileSyncing(sandbox, allDone(app.store, references, 60000));
      // most throttled calls are absorbed by the clients' own Retry-After handling; the rest reach the runner
      const throttled = sandbox.cloud.requests.filter((r) => r.at >= since && (r.status === 429 || r.status === 503)).length;
      unthrottled(); // what follows checks the outcome; it is not under test

      let retries = 0;
      for (const reference of references) {
        const events = await auditOf(app.store, reference);
        assert.ok(!events.some((e) => e.event === 'operation.failed'), `${reference}: no permanent failure`);
        for (const [step, list] of perStep(events)) {
          list.forEach((e, i) => {
            if (e.event !== 'operation.retry') return;
            retries++;
            assert.ok(Number(e.data.inMs) >= 1000, `${reference} ${step}: retry in ${String(e.data.inMs)} ms < Retry-After`);
            const next = list[i + 1];
            if (next) {
              const gap = Date.parse(next.at) - Date.parse(e.at);
              // the step is due `inMs` after the failure, which is stamped just before this event
              assert.ok(gap >= 1000 - 50, `${reference} ${step}: tried again after ${gap} ms (${next.event})`);
            }
          });
        }
      }
      const stats = await app.store.runs.countByStatus();
      this.test!.title += ` [${throttled} throttled answers, ${retries} operation.retry events, steps ${JSON.stringify(stats)}]`;
      assert.ok(throttled > 0 || retries > 0, 'throttled answers were served and overcome');
      await assertExactlyOnce(app.store, ldap, sandbox.endpoints.ldap.baseDn, cloud, references);
    });
  });

  it('kill -9 at every step boundary and in the middle of every step, restart: every request completes, nothing is done twice', async function () {
    const databaseUrl = await getPostgres().then((pg) => pg.createDatabase('durability_crash'));
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'mailroom-crash-'));
    // Leases of 5 s: long enough that a loaded machine never lets one run out under a live process. Each life's
    // runner clock runs a lease (and half a second) ahead of the last one's, so the leases of the killed process have
    // just expired when the next life starts: the takeover comes moments after the killed process last looked (as a
    // quick retry would), not minutes later as with the default lease of 120 s.
    const leaseMs = 5000;
    const base = {
      overrides: { ...overrides, PORT: '0', DATA_DIR: dataDir, DATABASE_URL: databaseUrl, SECRET_KEY: Buffer.alloc(32, 7).toString('base64'), LOG_LEVEL: 'warn' },
      runner: { pollMs: 50, waitPollMs: 100, leaseMs, backoffBaseMs: 100, backoffCapMs: 1000 },
      waitIntervalMs: 100,
    };
    // the audit key the lives use (derived from their SECRET_KEY), so that the test can verify their keyed chain
    const store = await openStore({ databaseUrl, sqliteFile: path.join(os.tmpdir(), 'unused.sqlite'), auditKey: auditKey(undefined, Buffer.alloc(32, 7)) });
    // Leases are the database's clock, so the runner clocks above do not end them: after each kill, the killed
    // process's leases run out in the database, as they would after a restart that took longer than a lease.
    const leasesRunOut = () => store.db.updateTable('run_steps').set({ lease_until: '2000-01-01T00:00:00.000Z' }).where('lease_until', 'is not', null).execute();
    const lives = new Lives();
    const kills: string[] = [];
    const references: string[] = [];
    let current: Child | undefined;
    let life = 0;
    const startLife = async (m: Partial<StartMessage>, last = false): Promise<string> => {
      const { child, url } = await lives.start({ ...base, ...m, clockOffsetMs: life * (leaseMs + 500) }, last);
      current = child;
      return url;
    };
    try {
      // life 0: file and approve while the runner claims nothing, then kill: every run is queued, no step started
      const url = await startLife({ hold: true });
      const filings = [shared(`k${suffix}a`), shared(`k${suffix}b`), shared(`k${suffix}c`), shared(`k${suffix}d`), user(`k${suffix}e`), user(`k${suffix}f`)];
      references.push(...(await fileAndApprove(connector, url, filings)));
      await kill9(current!);
      kills.push('all queued');

      // Each request's schedule: a kill right after each step is recorded done and, for some steps, one in the
      // middle of the step before. The requests of a kind share out the middles, so that every step of both plans
      // gets one; the middles rotate over the phases a step passes (a wait step audits no start). Every life runs each
      // unfinished request to its next gate, which lies in the step the request is at, and is killed once all stand there.
      const MID: readonly GatePhase[] = ['started', 'effected'];
      const WAIT_MID: readonly GatePhase[] = ['effected'];
      const schedules = new Map<string, Gate[]>();
      const all: Gate[] = [];
      for (const title of new Set(filings.map((f) => f.title))) {
        const ofKind = references.filter((_, r) => filings[r]!.title === title);
        for (const [k, reference] of ofKind.entries()) {
          const steps = await store.runs.listByRequest((await store.requests.get(reference))!.id);
          let executors = 0;
          let waits = 0;
          const gates = steps.flatMap((s, i): Gate[] => {
            const mid = isWait(s.action) ? WAIT_MID[waits++ % WAIT_MID.length]! : MID[executors++ % MID.length]!;
            const at = (phase: GatePhase): Gate => ({ reference, stepId: s.stepId, stepRowId: s.id, phase });
            return i % ofKind.length === k ? [at(mid), at('completed')] : [at('completed')];
          });
          schedules.set(reference, gates);
          all.push(...gates);
        }
      }
      const hits: Gate[] = [];
      let slow = 0;
      const runLives = async (): Promise<void> => {
        while ([...schedules.values()].some((g) => g.length > 0)) {
          life++;
          assert.ok(life <= 3 * all.length, `too many lives: still to hit ${[...schedules.values()].flat().map((g) => `${g.reference} ${g.stepId} ${g.phase}`).join('; ')}`);
          const gates = [...schedules.values()].map((g) => g[0]).filter((g): g is Gate => g !== undefined);
          await startLife({ gates });
          const c = current!;
          const end = Date.now() + 15000;
          while (c.frozen.length < gates.length && Date.now() < end && c.process.exitCode === null) await c.next(end - Date.now());
          // a step that failed for now may wait out its backoff unclaimed while the others stand still: the life ends without it
          if (c.frozen.length < gates.length) {
            slow++;
            for (const g of gates.filter((x) => !c.frozen.some((f) => f.reference === x.reference && f.stepId === x.stepId && f.phase === x.phase))) {
              const steps = await store.runs.listByRequest((await store.requests.get(g.reference))!.id);
              kills.push(`(life ${life} ended before ${g.reference} reached ${g.stepId} ${g.phase}: ${steps.map((x) => `${x.stepId}:${x.status}/${x.attempts}${x.error ? ` (${x.error})` : ''}`).join(', ')})`);
            }
          }
          await kill9(c);
          await leasesRunOut();
          for (const g of c.frozen) {
            schedules.get(g.reference)!.shift();
            hits.push(g);
          }
          kills.push(c.frozen.map((g) => `${g.reference} ${g.stepId} ${g.phase}`).join(', ') || 'none');
          // a gate whose step is done now can no longer be reached (its hit was not reported before the kill)
          for (const [reference, g] of schedules) {
            const steps = await store.runs.listByRequest((await store.requests.get(reference))!.id);
            while (g[0] && steps.find((s) => s.id === g[0]!.stepRowId)?.status === 'done') g.shift();
          }
          const failed = (await Promise.all(references.map((r) => store.requests.get(r)))).find((r) => r?.status === 'failed');
          if (failed) assert.fail(`${failed.reference} failed: ${failed.error ?? ''}`);
        }
        // the last life runs to the end (it finishes the requests whose last step was recorded done just before a kill)
        life++;
        await startLife({}, true);
        await allDone(store, references, 30000);
      };
      // six sync waits in one life are more than provisionOnDemand's 5 per 10 s: sync cycles run as well
      await whileSyncing(sandbox, runLives());
      const middles = hits.filter((h) => h.phase !== 'completed').length;
      this.test!.title += ` [${life + 1} lives; kills at ${hits.length - middles} step boundaries and ${middles} in the middle of a step${slow ? `; ${slow} lives ended by time` : ''}]`;

      const missed = all.filter((g) => !hits.some((h) => h.reference === g.reference && h.stepId === g.stepId && h.phase === g.phase));
      assert.deepEqual(missed.map((g) => `${g.reference} ${g.stepId} ${g.phase}`), [], 'every gate was hit');
      await assertExactlyOnce(store, ldap, sandbox.endpoints.ldap.baseDn, cloud, references);
    } catch (err) {
      process.stderr.write(`kills: ${kills.join(' | ')}\n--- last child output ---\n${current?.output() ?? ''}\n`);
      throw err;
    } finally {
      if (current) await kill9(current);
      await lives.close();
      await removeObjects(sandbox, store, ldap, references).catch(() => undefined);
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('two instances on one PostgreSQL share ten runs; each step is done exactly once', async function () {
    const databaseUrl = await getPostgres().then((pg) => pg.createDatabase('durability_two'));
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'mailroom-two-'));
    const config = loadConfig({ rootDir: ROOT, envName: 'sandbox', env: {}, overrides: { ...overrides, PORT: '0', DATA_DIR: dataDir, DATABASE_URL: databaseUrl, SECRET_KEY: Buffer.alloc(32, 7).toString('base64') } });
    const options = { runner: { pollMs: 50, waitPollMs: 100, backoffBaseMs: 100, backoffCapMs: 1000 }, waitIntervalMs: 100 };
    const apps = [await startMailroom(config, silentLogger, options), await startMailroom(config, silentLogger, options)];
    // which instance claims which step (each instance has its own store connection and runner)
    const claimedBy = apps.map(() => [] as number[]);
    apps.forEach((a, i) => {
      const runs = a.store.runs;
      const claimNext = runs.claimNext.bind(runs);
      runs.claimNext = async (...args) => {
        const got = await claimNext(...args);
        claimedBy[i]!.push(...got.map((s) => s.id));
        return got;
      };
    });
    const references: string[] = [];
    const store = apps[0]!.store;
    try {
      const tags = Array.from({ length: 10 }, (_, i) => `p${suffix}${String.fromCharCode(97 + i)}`);
      // filed alternately through either instance
      const filed = await Promise.all([0, 1].map((a) => fileAndApprove(connector, apps[a]!.url, tags.flatMap((tag, i) => (i % 2 === a ? [i % 3 === 0 ? user(tag) : shared(tag)] : [])))));
      references.push(...filed.flat());
      // ten sync waits are more than provisionOnDemand's 5 per 10 s: sync cycles run as well
      await whileSyncing(sandbox, allDone(store, references, 60000));

      const owners = new Set<string>();
      for (const reference of references) {
        for (const [step, list] of perStep(await auditOf(store, reference))) {
          const count = (e: string) => list.filter((x) => x.event === e).length;
          assert.equal(count('operation.done'), 1, `${reference} ${step}: operation.done ${count('operation.done')} times`);
          // a start repeats only after a recorded retry (no lease expired here: leases are 120 s)
          assert.ok(count('operation.started') <= 1 + count('operation.retry'), `${reference} ${step}: started ${count('operation.started')} times, ${count('operation.retry')} retries`);
        }
      }
      for (const a of apps) if (a.workflow?.runner) owners.add(a.workflow.runner.owner);
      assert.equal(owners.size, 2, 'two runners with their own lease owners');
      const claims = claimedBy.flat();
      assert.ok(claims.length - new Set(claims).size <= (await retriesOf(store, references)), 'a step is claimed again only after a retry');
      assert.ok(claimedBy.every((c) => c.length > 0), `both instances ran steps: ${claimedBy.map((c) => c.length).join(' / ')}`);
      this.test!.title += ` [claims per instance: ${claimedBy.map((c) => c.length).join(' / ')}]`;
      await assertExactlyOnce(store, ldap, sandbox.endpoints.ldap.baseDn, cloud, references);
    } finally {
      await removeObjects(sandbox, store, ldap, references).catch(() => undefined);
      for (const a of apps) await a.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
