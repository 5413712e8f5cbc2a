/**
 * Mailroom benchmark, in-process against an ephemeral sandbox (Cloud Sync, sync interval 0, mailbox delay 0):
 * 1. turn latency (p50/p99) of 50 concurrent conversations posting help/whoami, and of Action.Execute;
 * 2. user-mailbox requests per minute through the whole pipeline (file by command, approve, run to done) next to
 *    Samba's raw rate of user adds with a generated password (DirectoryClient.createUser);
 * 3. cloud calls (Graph + EXO, from the emulator's request log) per user mailbox, and per polling cycle with 1, 10
 *    and 100 requests waiting for their mailboxes;
 * 4. peak RSS of this process with up to 1,000 approved requests in flight (mailboxes held back by a long delay).
 * Run: npx tsx bench/mailroom.ts
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startMailroom, type Mailroom } from '../src/app';
import { loadConfig } from '../src/config/config';
import { DirectoryClient } from '../src/directory';
import { silentLogger } from '../src/log';
import { projectRoot } from '../src/paths';
import { startSandbox, type Sandbox } from '../src/sandbox';
import type { RequestLogEntry } from '../src/sandbox/cloud/server';
import { sandboxOverrides } from '../src/sandbox/overrides';
import { SANDBOX_PEOPLE, SANDBOX_TENANT_ID } from '../src/sandbox/people';
import { startConnector, TeamsClient, visibleText, type Connector, type Person } from '../test/harness/connector';

const USERS = 50;
const TURNS_PER_USER = 20;
const EXECUTES_PER_USER = 10;
const PIPELINE_REQUESTS = 20;
const PIPELINE_WORKERS = 5;
const RAW_ADDS = 50;
const RAW_WORKERS = 5;
const WAITING_STEPS = [1, 10, 100] as const;
const IN_FLIGHT = 1_000;
const FILING_WORKERS = 16;
/** Runner timing used throughout (the defaults poll waits every 5 s and mailboxes every 60 s). */
const RUNNER = { pollMs: 200, waitPollMs: 500, backoffBaseMs: 200, backoffCapMs: 2000 } as const;
const WAIT_INTERVAL_MS = 1000;
const HOLD_DELAY_MS = 24 * 3_600_000;
/** Section 4 stops filing after this long and reports what it reached. */
const IN_FLIGHT_BUDGET_MS = 150_000;

const suffix = letters(Date.now() % 456_976, 4);

function letters(n: number, width = 0): string {
  let s = '';
  do {
    s = String.fromCharCode(97 + (n % 26)) + s;
    n = Math.floor(n / 26);
  } while (n > 0);
  return s.padStart(width, 'a');
}

function pct(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

const fmt = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function table(title: string, head: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  console.log(`\n${title}`);
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}

async function pool<T>(items: readonly T[], workers: number, fn: (item: T, worker: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      while (next < items.length) await fn(items[next++] as T, w);
    }),
  );
}

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

/** Every cloud request the emulator answers, counted here (its own log keeps only the last 500). */
interface CloudCall {
  readonly kind: 'graph' | 'exo' | 'token' | 'other';
  readonly path: string;
  readonly at: number;
}

function tapCloudLog(sandbox: Sandbox): CloudCall[] {
  const calls: CloudCall[] = [];
  const log = sandbox.cloud.requests as RequestLogEntry[];
  const push = log.push.bind(log);
  log.push = (...entries: RequestLogEntry[]): number => {
    for (const e of entries) {
      const kind = e.path.startsWith('/v1.0') || e.path.startsWith('/beta') ? 'graph' : e.path.startsWith('/adminapi') ? 'exo' : /token/i.test(e.path) ? 'token' : 'other';
      calls.push({ kind, path: e.path, at: performance.now() });
    }
    return push(...entries);
  };
  return calls;
}

interface Bench {
  sandbox: Sandbox;
  connector: Connector;
  app: Mailroom;
  users: Person[];
  approver: Person;
  cloudCalls: CloudCall[];
}

const client = (b: Bench, p: Person) => new TeamsClient(b.app.url, b.connector.serviceUrl, p, SANDBOX_TENANT_ID);

/** Files a user mailbox as `requester` and approves it as the approver; returns the reference. */
async function fileAndApprove(b: Bench, requester: Person, n: number): Promise<string> {
  const since = b.connector.calls.length;
  const res = await client(b, requester).say(`new mailbox first=Bench last=${'Load' + suffix + letters(n)} department=Research`);
  if (res.status !== 200) throw new Error(`filing answered ${res.status}`);
  const status = await b.connector
    .waitFor((c) => c.conversationId === `a:personal-${requester.id}` && /R-\d+ · User mailbox/.test(visibleText(c.body)), 30000, since)
    .catch((err: unknown) => {
      const said = b.connector.calls.slice(since).filter((c) => c.conversationId === `a:personal-${requester.id}`).map((c) => visibleText(c.body).slice(0, 200));
      throw new Error(`no status card for request ${n} of ${requester.name}; the bot said: ${JSON.stringify(said)}`, { cause: err });
    });
  const reference = /(R-\d+)/.exec(visibleText(status.body))?.[1];
  if (!reference) throw new Error('no reference on the status card');
  const approval = await b.connector.waitFor((c) => c.conversationId === `a:personal-${b.approver.id}` && visibleText(c.body).includes(`${reference} · User mailbox`), 30000, since);
  const ok = await client(b, b.approver).execute('request.approve', buttonData(approval.body, 'Approve') ?? {});
  if (ok.status !== 200) throw new Error(`approval of ${reference} answered ${ok.status}`);
  return reference;
}

async function untilDone(b: Bench, references: readonly string[], timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  const left = new Set(references);
  while (left.size > 0) {
    for (const ref of [...left]) {
      const r = (await b.app.requests!.get(ref))?.record;
      if (r?.status === 'done') left.delete(ref);
      else if (r?.status === 'failed') throw new Error(`${ref} failed: ${r.error ?? ''}`);
    }
    if (left.size === 0) return;
    if (Date.now() > end) throw new Error(`${left.size} requests not done after ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** How many of these requests have their exo.await-mailbox step waiting. */
async function mailboxWaiting(b: Bench, references: readonly string[]): Promise<number> {
  let n = 0;
  for (const ref of references) {
    const r = (await b.app.requests!.get(ref))?.record;
    if (!r) continue;
    if (r.status === 'failed') throw new Error(`${ref} failed: ${r.error ?? ''}`);
    const steps = await b.app.store.runs.listByRequest(r.id);
    if (steps.some((s) => s.action === 'exo.awaitMailbox' && s.status === 'waiting')) n++;
  }
  return n;
}

// ---------------------------------------------------------------------------------------------

async function turnLatency(b: Bench): Promise<void> {
  // warm-up: one turn of each kind per user
  await pool(b.users, 10, async (p) => {
    await client(b, p).say('help');
    await client(b, p).execute('help');
  });
  const messages: number[] = [];
  let non200 = 0;
  const t0 = performance.now();
  await Promise.all(
    b.users.map(async (p) => {
      const c = client(b, p);
      for (let i = 0; i < TURNS_PER_USER; i++) {
        const s = performance.now();
        const res = await c.say(i % 2 === 0 ? 'help' : 'whoami');
        messages.push(performance.now() - s);
        if (res.status !== 200) non200++;
      }
    }),
  );
  const messageSec = (performance.now() - t0) / 1000;
  const executes: Record<string, number[]> = { help: [], 'request.form': [] };
  for (const [verb, data] of [['help', {}], ['request.form', { kind: 'user-mailbox' }]] as const) {
    await Promise.all(
      b.users.map(async (p) => {
        const c = client(b, p);
        for (let i = 0; i < EXECUTES_PER_USER; i++) {
          const s = performance.now();
          const res = await c.execute(verb, data);
          executes[verb]!.push(performance.now() - s);
          if (res.status !== 200) non200++;
        }
      }),
    );
  }
  const row = (label: string, xs: number[], target: string): string[] => {
    const s = [...xs].sort((x, y) => x - y);
    return [label, String(s.length), fmt(pct(s, 50)), fmt(pct(s, 99)), fmt(s[s.length - 1] ?? NaN), target];
  };
  table(`1. Turn latency, ${USERS} concurrent conversations (ms; ${fmt(messages.length / messageSec, 0)} message turns/s; non-200 answers: ${non200})`, ['turn', 'n', 'p50', 'p99', 'max', 'target p99'], [
    row('message help/whoami', messages, '< 150'),
    row('Action.Execute help', executes.help!, '< 300'),
    row('Action.Execute request.form', executes['request.form']!, '< 300'),
  ]);
}

async function rawSambaRate(b: Bench, workers: number, tag: string): Promise<number> {
  const e = b.sandbox.endpoints;
  const directory = new DirectoryClient({ url: e.ldap.url, bindDn: e.ldap.bindDn, password: e.ldap.password, caPem: readFileSync(e.ldap.caFile, 'utf8'), connectTimeoutMs: 5000, timeoutMs: 15000, baseDn: e.ldap.baseDn });
  try {
    await directory.passwordPolicy(); // read once, as Mailroom does
    const t0 = performance.now();
    await pool(
      Array.from({ length: RAW_ADDS }, (_, i) => i),
      workers,
      async (i) => {
        const sam = `r${tag}${suffix}${letters(i)}`;
        const displayName = `Raw ${tag} ${suffix} ${letters(i)}`;
        const password = await directory.generatePassword({ samAccountName: sam, displayName, givenName: 'Raw', sn: `${suffix}${letters(i)}` });
        await directory.createUser({
          parentDn: b.sandbox.ous.users,
          cn: displayName,
          samAccountName: sam,
          userPrincipalName: `${sam}@contoso.example`,
          givenName: 'Raw',
          sn: `${suffix}${letters(i)}`,
          displayName,
          enabled: true,
          password,
        });
      },
    );
    return (RAW_ADDS / (performance.now() - t0)) * 60_000;
  } finally {
    await directory.close();
  }
}

async function pipeline(b: Bench): Promise<void> {
  // One request alone first: its cloud calls, with nothing else running.
  const single0 = b.cloudCalls.length;
  const t1 = performance.now();
  const one = await fileAndApprove(b, b.users[0]!, 0);
  await untilDone(b, [one], 120_000);
  const singleMs = performance.now() - t1;
  const singleCalls = b.cloudCalls.slice(single0);

  const before = b.cloudCalls.length;
  const t0 = performance.now();
  const refs: string[] = [];
  await pool(
    Array.from({ length: PIPELINE_REQUESTS }, (_, i) => i + 1),
    PIPELINE_WORKERS,
    async (n, w) => {
      refs.push(await fileAndApprove(b, b.users[w]!, n));
    },
  );
  const filedMs = performance.now() - t0;
  await untilDone(b, refs, 240_000);
  const pipelineMin = (performance.now() - t0) / 60_000;
  const calls = b.cloudCalls.slice(before);

  const rawSeq = await rawSambaRate(b, 1, 's');
  const rawConc = await rawSambaRate(b, RAW_WORKERS, 'c');
  const perMin = PIPELINE_REQUESTS / pipelineMin;
  table(
    `2. User mailboxes through the pipeline (${PIPELINE_REQUESTS} requests, ${PIPELINE_WORKERS} filing at a time; all filed+approved after ${fmt(filedMs / 1000)} s) vs Samba's raw user adds with password (${RAW_ADDS} each)`,
    ['measure', 'per minute', 'pipeline / raw'],
    [
      ['pipeline: file, approve, run to done', fmt(perMin), ''],
      ['Samba createUser + password, 1 at a time', fmt(rawSeq), `${fmt((perMin / rawSeq) * 100)} %`],
      [`Samba createUser + password, ${RAW_WORKERS} at a time`, fmt(rawConc), `${fmt((perMin / rawConc) * 100)} %`],
      ['single request alone, file to done (s)', fmt(singleMs / 1000), ''],
    ],
  );

  const count = (xs: readonly CloudCall[], kind: CloudCall['kind']) => xs.filter((c) => c.kind === kind).length;
  const byPath = (xs: readonly CloudCall[]) => {
    const m = new Map<string, number>();
    for (const c of xs) {
      if (c.kind !== 'graph' && c.kind !== 'exo') continue;
      const key = c.path.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/gi, '{id}').replace(/\/users\/[^/]+/, '/users/{id}');
      m.set(key, (m.get(key) ?? 0) + 1);
    }
    return [...m.entries()].map(([p, n]) => `${p}×${n}`).join(', ');
  };
  table('3a. Cloud calls per user mailbox (mailbox delay 0; Graph + EXO, tokens apart)', ['run', 'requests', 'Graph', 'EXO', 'Graph+EXO per request', 'tokens', 'target'], [
    ['one request alone', '1', String(count(singleCalls, 'graph')), String(count(singleCalls, 'exo')), fmt(count(singleCalls, 'graph') + count(singleCalls, 'exo')), String(count(singleCalls, 'token')), '<= 8'],
    [
      `${PIPELINE_REQUESTS} requests`,
      String(PIPELINE_REQUESTS),
      String(count(calls, 'graph')),
      String(count(calls, 'exo')),
      fmt((count(calls, 'graph') + count(calls, 'exo')) / PIPELINE_REQUESTS),
      String(count(calls, 'token')),
      '<= 8',
    ],
  ]);
  console.log(`   calls of the single request: ${byPath(singleCalls)}`);
}

/**
 * Makes `target` requests wait for their mailboxes (mailbox delay held long), running sync cycles in the
 * background so the AD users reach the tenant without provisionOnDemand's 5-per-10-s limit; resolves with the
 * references. Stops early at `deadline` (ms since epoch).
 */
let filingTimeouts = 0;

async function fileWaiting(b: Bench, refs: string[], target: number, deadline: number): Promise<void> {
  let n = refs.length;
  const batch = 50;
  while (refs.length < target && Date.now() < deadline) {
    const count = Math.min(batch, target - refs.length);
    b.connector.calls.length = 0; // nothing waits on older calls; keeps the stand-in's memory out of the figures
    await pool(
      Array.from({ length: count }, () => n++),
      Math.min(FILING_WORKERS, count),
      async (i, w) => {
        try {
          refs.push(await fileAndApprove(b, b.users[w % b.users.length]!, 1000 + i));
        } catch {
          filingTimeouts++; // counted and printed: a slow answer under load is a figure, not a crash
        }
      },
    );
  }
}

async function untilWaiting(b: Bench, refs: readonly string[], timeoutMs: number): Promise<number> {
  const end = Date.now() + timeoutMs;
  let n = 0;
  for (;;) {
    n = await mailboxWaiting(b, refs);
    if (n >= refs.length || Date.now() > end) return n;
    await sleep(500);
  }
}

async function pollingAndMemory(b: Bench): Promise<void> {
  b.sandbox.cloud.setKnobs({ mailboxProvisioningDelayMs: HOLD_DELAY_MS });
  let syncing = true;
  let cycles = 0;
  const syncLoop = (async () => {
    while (syncing) {
      try {
        await b.sandbox.sync.runCycle();
        cycles++;
      } catch {
        // a failed cycle is retried on the next turn
      }
      await sleep(1000);
    }
  })();
  const refs: string[] = [];
  const rows: string[][] = [];
  try {
    for (const n of WAITING_STEPS) {
      const t0 = performance.now();
      await fileWaiting(b, refs, n, Date.now() + 120_000);
      const waiting = await untilWaiting(b, refs, 90_000);
      const readyS = (performance.now() - t0) / 1000;
      // Measure a window of polling: cycles are bursts of calls separated by quiet gaps.
      const windowMs = 6 * WAIT_INTERVAL_MS;
      const from = b.cloudCalls.length;
      const w0 = performance.now();
      await sleep(windowMs);
      const inWindow = b.cloudCalls.slice(from).filter((c) => c.kind === 'graph' || c.kind === 'exo');
      let bursts = 0;
      let last = -Infinity;
      for (const c of inWindow) {
        if (c.at - last > 200) bursts++;
        last = c.at;
      }
      const secs = (performance.now() - w0) / 1000;
      const exo = inWindow.filter((c) => c.kind === 'exo').length;
      rows.push([String(n), String(waiting), fmt(readyS), String(inWindow.length), String(exo), String(bursts), fmt(bursts ? inWindow.length / bursts : NaN, 2), fmt(inWindow.length / secs, 2)]);
    }
  } finally {
    table(
      `3b. Polling with requests waiting for their mailboxes (wait interval ${WAIT_INTERVAL_MS} ms, runner wait poll ${RUNNER.waitPollMs} ms; window ${6 * WAIT_INTERVAL_MS / 1000} s; a cycle = a burst of calls after a quiet gap > 200 ms)`,
      ['waiting', 'reached', 'setup s', 'Graph+EXO calls', 'of them EXO', 'cycles', 'calls per cycle', 'calls per s'],
      rows,
    );
  }

  // 4. Up to IN_FLIGHT requests in flight.
  let peak = process.memoryUsage().rss;
  const startRss = peak;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 100);
  const t0 = performance.now();
  let waiting = 0;
  try {
    await fileWaiting(b, refs, IN_FLIGHT, Date.now() + IN_FLIGHT_BUDGET_MS);
    const filedS = (performance.now() - t0) / 1000;
    waiting = await untilWaiting(b, refs, 60_000);
    const readyS = (performance.now() - t0) / 1000;
    await sleep(5_000); // a few polling cycles with everything waiting
    peak = Math.max(peak, process.memoryUsage().rss);
    const heap = process.memoryUsage();
    table(
      `4. Memory with requests in flight (this process holds Mailroom, the cloud emulator, the sync engine and the connector stand-in; Samba is its own process)`,
      ['measure', 'value'],
      [
        ['requests filed + approved', String(refs.length)],
        ['filings that timed out (30 s) under load', String(filingTimeouts)],
        ['of them waiting for their mailbox', String(waiting)],
        ['filed + approved after (s)', fmt(filedS)],
        ['all waiting after (s)', fmt(readyS)],
        ['RSS before filing (with 111 waiting)', mb(startRss)],
        ['peak RSS (sampled every 100 ms)', mb(peak)],
        ['heap used / external at the end', `${mb(heap.heapUsed)} / ${mb(heap.external)}`],
        ['target', '< 250 MB'],
        ['sync cycles run meanwhile', String(cycles)],
      ],
    );
  } finally {
    clearInterval(sampler);
    syncing = false;
    await syncLoop;
  }
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const sandbox = await startSandbox({
    rootDir: projectRoot(),
    ephemeral: true,
    knobs: { syncMode: 'cloud', syncIntervalMs: 0, mailboxDelayMs: 0, latencyMs: 0, rate429: 0, rate503: 0, exoLicences: 100_000 },
  });
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'mailroom-bench-'));
  let connector: Connector | undefined;
  let app: Mailroom | undefined;
  try {
    const cloudCalls = tapCloudLog(sandbox);
    connector = await startConnector();
    const config = loadConfig({
      rootDir: projectRoot(),
      envName: 'sandbox',
      env: {},
      overrides: { ...sandboxOverrides(sandbox.endpoints), PORT: '0', DATA_DIR: dataDir, ROLE_REQUESTERS: '*' },
    });
    app = await startMailroom(config, silentLogger, { runner: RUNNER, waitIntervalMs: WAIT_INTERVAL_MS });
    const users: Person[] = Array.from({ length: USERS }, (_, i) => ({
      id: `bench-${i}`,
      aadObjectId: `b0000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`,
      name: `Bench User ${i}`,
    }));
    const approver: Person = { id: SANDBOX_PEOPLE.approver.key, aadObjectId: SANDBOX_PEOPLE.approver.aadObjectId, name: SANDBOX_PEOPLE.approver.name };
    const b: Bench = { sandbox, connector, app, users, approver, cloudCalls };
    await pool([approver, ...users], 10, async (p) => {
      const res = await client(b, p).install();
      if (res.status !== 200) throw new Error(`install of ${p.name} answered ${res.status}`);
    });
    console.log(`sandbox and Mailroom up in ${fmt((performance.now() - t0) / 1000)} s (store: ${app.store.engine}; runner ${JSON.stringify(RUNNER)}, wait interval ${WAIT_INTERVAL_MS} ms)`);

    await turnLatency(b);
    await pipeline(b);
    await pollingAndMemory(b);
  } finally {
    await app?.stop();
    await connector?.close();
    await sandbox.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  console.log(`\ntotal ${fmt((performance.now() - t0) / 1000)} s`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
