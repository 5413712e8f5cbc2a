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
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { sandboxOverrides } from '../../src/sandbox/overrides';
import { SANDBOX_MAIL_DOMAIN, SANDBOX_PEOPLE, SANDBOX_TENANT_ID } from '../../src/sandbox/people';
import { openStore, type AuditEvent, type Store } from '../../src/store';
import { Connector, startConnector, TeamsClient, visibleText } from '../harness/connector';
import { getPostgres } from '../harness/postgres';
import { getSharedSandbox, openSandboxLdap } from '../harness/sandbox';

/**
 * Durability of provisioning runs: injected throttling, SIGKILL at step boundaries and mid-step, and two
 * instances sharing one PostgreSQL. Every run must end `done`, every step must take effect exactly once.
 */

const ROOT = projectRoot();
const person = (p: { aadObjectId: string; name: string; key: string }) => ({ id: p.key, aadObjectId: p.aadObjectId, name: p.name });
const RITA = person(SANDBOX_PEOPLE.requester);
const ARNOLD = person(SANDBOX_PEOPLE.approver);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function buttonData(body: Record<string, unknown>, title: string): Record<string, unknown> | undefined {
  let found: Record<string, unknown> | undefined;
  const walk = (n: unknown): void => {
    if (found || !n || typeof n !== 'object') return;
    if (Array.isArray(n)) return n.forEach(walk);
    const o = n as Record<string, unknown>;
    if (o.type === 'Action.Execute' && o.title === title) found = (o.data ?? {}) as Record<string, unknown>;
    Object.values(o).forEach(walk);
  };
  walk(body.attachments);
  return found;
}

interface Filing {
  readonly command: string;
  readonly title: string;
}

const shared = (tag: string): Filing => ({ command: `new shared mailbox name="Dur ${tag}" alias=dur-${tag}`, title: 'Shared mailbox' });
const user = (tag: string): Filing => ({ command: `new mailbox first=Dur last=U${tag} department=Research`, title: 'User mailbox' });

/** Files a request as Rita and approves it as Arnold through the bot at `url`; returns the reference. */
async function fileAndApprove(connector: Connector, url: string, f: Filing, installed: Set<string>): Promise<string> {
  const client = (p: typeof RITA) => new TeamsClient(url, connector.serviceUrl, p, SANDBOX_TENANT_ID);
  for (const p of [RITA, ARNOLD]) {
    if (installed.has(`${url}|${p.id}`)) continue;
    await client(p).install();
    installed.add(`${url}|${p.id}`);
  }
  const since = connector.calls.length;
  await client(RITA).say(f.command);
  const status = await connector.waitFor((c) => c.conversationId === `a:personal-${RITA.id}` && new RegExp(`R-\\d+ · ${f.title}`).test(visibleText(c.body)), 20000, since);
  const reference = /(R-\d+)/.exec(visibleText(status.body))?.[1] ?? '';
  assert.ok(reference, `no reference in ${visibleText(status.body)}`);
  const approval = await connector.waitFor((c) => c.conversationId === `a:personal-${ARNOLD.id}` && visibleText(c.body).includes(`${reference} · ${f.title}`), 20000, since);
  const res = await client(ARNOLD).execute('request.approve', buttonData(approval.body, 'Approve') ?? {});
  assert.equal(res.status, 200);
  return reference;
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
    await sleep(150);
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

/** Exactly one AD object, one mailbox and at most one licence per request; every step recorded done exactly once. */
async function assertExactlyOnce(store: Store, ldap: Client, baseDn: string, cloud: CloudClients, references: readonly string[], crashed = false): Promise<number> {
  let unaudited = 0;
  for (const reference of references) {
    const record = (await store.requests.get(reference))!;
    const req = record.request as { alias?: string; samAccountName?: string; userPrincipalName?: string; primarySmtpAddress?: string };
    const alias = req.alias ?? '';
    assert.ok(alias, `${reference} has an alias`);
    const mail = `${alias}@${SANDBOX_MAIL_DOMAIN}`;
    const terms = [`(mail=${mail})`, `(mailNickname=${alias})`, ...(req.samAccountName ? [`(sAMAccountName=${req.samAccountName})`] : []), ...(req.userPrincipalName ? [`(userPrincipalName=${req.userPrincipalName})`] : [])];
    const { searchEntries } = await ldap.search(baseDn, { scope: 'sub', filter: `(&(objectClass=user)(|${terms.join('')}))`, attributes: ['distinguishedName'] });
    assert.equal(searchEntries.length, 1, `${reference}: AD objects for ${alias}: ${searchEntries.map((e) => e.dn).join('; ')}`);

    const mbx = (await cloud.exo.invoke<{ PrimarySmtpAddress: string }>('Get-Mailbox', { Identity: mail })).value;
    assert.equal(mbx.length, 1, `${reference}: recipients for ${mail}: ${mbx.length}`);

    if (req.userPrincipalName) {
      const entra = await cloud.graph.user<{ assignedLicenses?: { skuId: string }[] }>(req.userPrincipalName, ['assignedLicenses']);
      const skus = (entra?.assignedLicenses ?? []).map((l) => l.skuId);
      assert.equal(new Set(skus).size, skus.length, `${reference}: a licence twice: ${skus.join(',')}`);
      assert.ok(skus.length <= 1, `${reference}: licences ${skus.join(',')}`);
    }

    const steps = await store.runs.listByRequest(record.id);
    assert.ok(steps.length >= 4 && steps.every((s) => s.status === 'done'), steps.map((s) => `${s.stepId}:${s.status}`).join(', '));
    const byStep = perStep(await auditOf(store, reference));
    for (const s of steps) {
      const events = byStep.get(s.stepId) ?? [];
      const done = events.filter((e) => e.event === 'operation.done').length;
      // a process killed between recording the step done and appending its audit event leaves no operation.done
      if (crashed && done === 0) unaudited++;
      else assert.equal(done, 1, `${reference} ${s.stepId}: operation.done ${done} times`);
      // a write that changed something is recorded once at most (a re-run after a crash finds it done)
      assert.ok(events.filter((e) => e.event === 'operation.done' && e.data.changed === true).length <= 1);
    }
  }
  assert.equal((await store.audit.verify()).ok, true, 'the audit chain holds');
  return unaudited;
}

describe('durable provisioning runs', function () {
  this.timeout(150000);
  let connector: Connector;
  const suffix = Date.now().toString(36).slice(-5);

  before(async function () {
    connector = await startConnector();
  });
  after(async function () {
    await connector?.close();
  });

  describe('with 30 % of cloud calls answered 429/503 (Retry-After: 1)', function () {
    let sandbox: Sandbox;
    let app: Mailroom;
    let dataDir: string;
    let cloud: CloudClients;
    let ldap: Client;

    before(async function () {
      sandbox = await startSandbox({
        rootDir: ROOT,
        ephemeral: true,
        knobs: { syncMode: 'cloud', syncIntervalMs: 0, mailboxDelayMs: 0, latencyMs: 0, rate429: 0.15, rate503: 0.15, retryAfterS: 1 },
      });
      dataDir = mkdtempSync(path.join(os.tmpdir(), 'mailroom-dur-'));
      const config = loadConfig({ rootDir: ROOT, envName: 'sandbox', env: {}, overrides: { ...sandboxOverrides(sandbox.endpoints), PORT: '0', DATA_DIR: dataDir } });
      app = await startMailroom(config, silentLogger, { runner: { pollMs: 100, waitPollMs: 150, backoffBaseMs: 100, backoffCapMs: 2000, maxAttempts: 30 }, waitIntervalMs: 100 });
      cloud = createCloudClients(config.cloud!, config.extraCaFile);
      ldap = await openSandboxLdap(sandbox);
    });
    after(async function () {
      await app?.stop();
      cloud?.close();
      await ldap?.unbind().catch(() => undefined);
      await sandbox?.stop();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    });

    it('every request is done despite the throttling, and runner retries wait at least Retry-After', async function () {
      const installed = new Set<string>();
      const references: string[] = [];
      for (const f of [shared(`t${suffix}a`), user(`t${suffix}b`), shared(`t${suffix}c`), user(`t${suffix}d`), shared(`t${suffix}e`)]) {
        references.push(await fileAndApprove(connector, app.url, f, installed));
      }
      // the clients retry a throttled call themselves (Exchange 4 tries, the Graph SDK 3 retries): a burst longer
      // than that reaches the runner, which must wait at least Retry-After before the step's next try
      sandbox.cloud.injectFaults({ status: 429, count: 4, scope: 'exo', retryAfterSeconds: 1 });
      sandbox.cloud.injectFaults({ status: 503, count: 4, scope: 'graph', retryAfterSeconds: 1 });
      await allDone(app.store, references, 60000);

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
      this.test!.title += ` [${retries} operation.retry events, steps ${JSON.stringify(stats)}]`;
      // most throttled calls are absorbed by the clients' own Retry-After handling; the rest reach the runner
      const throttled = sandbox.cloud.requests.filter((r) => r.status === 429 || r.status === 503).length;
      assert.ok(throttled > 0 || retries > 0, 'throttled answers were served and overcome');
      await assertExactlyOnce(app.store, ldap, sandbox.endpoints.ldap.baseDn, cloud, references);
    });
  });

  describe('on the shared sandbox and PostgreSQL', function () {
    let sandbox: Sandbox;
    let cloud: CloudClients;
    let ldap: Client;
    let overrides: Record<string, string>;
    before(async function () {
      sandbox = await getSharedSandbox();
      overrides = sandboxOverrides(sandbox.endpoints);
      const config = loadConfig({ rootDir: ROOT, envName: 'sandbox', env: {}, overrides: { ...overrides, PORT: '0' } });
      cloud = createCloudClients(config.cloud!, config.extraCaFile);
      ldap = await openSandboxLdap(sandbox);
    });
    after(async function () {
      cloud?.close();
      await ldap?.unbind().catch(() => undefined);
    });

    interface Child {
      readonly child: ChildProcess;
      readonly url: Promise<string>;
      readonly exit: Promise<number | null>;
      output(): string;
    }

    function runChild(env: Record<string, string>, runner: Record<string, number>): Child {
      let out = '';
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test/workflow/fixtures/mailroom-child.ts')], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', MAILROOM_TEST_OVERRIDES: JSON.stringify(env), MAILROOM_TEST_RUNNER: JSON.stringify(runner), MAILROOM_TEST_WAIT_MS: '100' },
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      });
      child.stdout?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20000)));
      child.stderr?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20000)));
      const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const url = new Promise<string>((resolve, reject) => {
        child.on('message', (m: { type?: string; url?: string }) => {
          if (m.type === 'ready' && m.url) resolve(m.url);
        });
        void exit.then((code) => reject(new Error(`exited with ${code} before it was ready:\n${out}`)));
      });
      url.catch(() => undefined);
      return { child, url, exit, output: () => out };
    }

    async function kill9(c: Child): Promise<void> {
      if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
      await c.exit;
    }

    it('kill -9 at step boundaries and mid-step, restart: every request completes, nothing is done twice', async function () {
      const databaseUrl = await getPostgres().then((pg) => pg.createDatabase('durability_crash'));
      const dataDir = mkdtempSync(path.join(os.tmpdir(), 'mailroom-crash-'));
      const env = { ...overrides, PORT: '0', DATA_DIR: dataDir, DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' };
      // a short lease: a step the killed process held is taken over soon after the restart
      const runner = { pollMs: 50, waitPollMs: 100, leaseMs: 1500, backoffBaseMs: 100, backoffCapMs: 1000 };
      const store = await openStore({ databaseUrl, sqliteFile: path.join(os.tmpdir(), 'unused.sqlite') });
      let current = runChild(env, runner);
      const kills: string[] = [];
      try {
        // file while the runner is held back: the process is stopped right after each approval has queued it
        const installed = new Set<string>();
        const references: string[] = [];
        const url = await current.url;
        for (const f of [shared(`k${suffix}a`), user(`k${suffix}b`), shared(`k${suffix}c`)]) references.push(await fileAndApprove(connector, url, f, installed));
        const ids = await Promise.all(references.map(async (r) => (await store.requests.get(r))!.id));

        const snapshot = async () => (await Promise.all(ids.map((id) => store.runs.listByRequest(id)))).flat();
        const seenRunning = new Set<number>();
        // alternate: kill while a step runs (one not killed in before), then at the next step boundary
        for (let k = 0; k < 6; k++) {
          const mode = k % 2 === 0 ? 'running' : 'boundary';
          const doneBefore = (await snapshot()).filter((s) => s.status === 'done').length;
          const end = Date.now() + 20000;
          let hit: string | undefined;
          while (!hit && Date.now() < end) {
            const steps = await snapshot();
            if (steps.every((s) => s.status === 'done')) break;
            if (mode === 'running') {
              const s = steps.find((x) => x.status === 'running' && !seenRunning.has(x.id));
              if (s) {
                seenRunning.add(s.id);
                hit = `mid ${s.stepId}#${s.stepIndex} (attempt ${s.attempts})`;
              }
            } else {
              const done = steps.filter((s) => s.status === 'done');
              if (done.length > doneBefore) hit = `after ${done.length} steps done`;
            }
            if (!hit) await sleep(5);
          }
          if (!hit) break;
          await kill9(current);
          kills.push(hit);
          current = runChild(env, runner);
          await current.url;
        }
        await allDone(store, references, 30000);
        this.test!.title += ` [killed: ${kills.join('; ')}]`;
        assert.ok(kills.length >= 3, `only ${kills.length} kills landed before the runs finished: ${kills.join('; ')}`);
        assert.ok(kills.some((k) => k.startsWith('mid')), 'at least one kill landed in the middle of a step');
        const unaudited = await assertExactlyOnce(store, ldap, sandbox.endpoints.ldap.baseDn, cloud, references, true);
        this.test!.title += ` [steps done without operation.done: ${unaudited}]`;
      } catch (err) {
        process.stderr.write(`kills: ${kills.join('; ')}\n--- last child output ---\n${current.output()}\n`);
        throw err;
      } finally {
        await kill9(current);
        await store.close();
        rmSync(dataDir, { recursive: true, force: true });
      }
    });

    it('two instances on one PostgreSQL share ten runs; each step is done exactly once', async function () {
      const databaseUrl = await getPostgres().then((pg) => pg.createDatabase('durability_two'));
      const dataDir = mkdtempSync(path.join(os.tmpdir(), 'mailroom-two-'));
      const config = loadConfig({ rootDir: ROOT, envName: 'sandbox', env: {}, overrides: { ...overrides, PORT: '0', DATA_DIR: dataDir, DATABASE_URL: databaseUrl } });
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
      try {
        const installed = new Set<string>();
        const references: string[] = [];
        for (let i = 0; i < 10; i++) {
          const tag = `p${suffix}${String.fromCharCode(97 + i)}`;
          references.push(await fileAndApprove(connector, apps[i % 2]!.url, i % 3 === 0 ? user(tag) : shared(tag), installed));
        }
        const store = apps[0]!.store;
        await allDone(store, references, 60000);

        const owners = new Set<string>();
        for (const reference of references) {
          for (const [step, list] of perStep(await auditOf(store, reference))) {
            const count = (e: string) => list.filter((x) => x.event === e).length;
            assert.equal(count('operation.done'), 1, `${reference} ${step}: operation.done ${count('operation.done')} times`);
            // a start repeats only after a recorded retry (no lease expired here: leases are 120 s)
            assert.ok(count('operation.started') <= 1 + count('operation.retry'), `${reference} ${step}: started ${count('operation.started')} times, ${count('operation.retry')} retries`);
          }
        }
        for (const a of apps) if (a.runner) owners.add(a.runner.owner);
        assert.equal(owners.size, 2, 'two runners with their own lease owners');
        const claims = claimedBy.flat();
        assert.ok(claims.length - new Set(claims).size <= (await retriesOf(store, references)), 'a step is claimed again only after a retry');
        assert.ok(claimedBy.every((c) => c.length > 0), `both instances ran steps: ${claimedBy.map((c) => c.length).join(' / ')}`);
        this.test!.title += ` [claims per instance: ${claimedBy.map((c) => c.length).join(' / ')}]`;
        await assertExactlyOnce(store, ldap, sandbox.endpoints.ldap.baseDn, cloud, references);
      } finally {
        for (const a of apps) await a.stop();
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  });
});
