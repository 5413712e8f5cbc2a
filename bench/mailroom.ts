/**
 * Mailroom benchmark against an ephemeral sandbox (Cloud Sync with a cycle every SYNC_CYCLE_MS, i.e. no sync delay
 * to speak of; mailbox delay 0). Mailroom runs in its own process (bench/mailroom-process.ts), as in production;
 * this process plays Teams (the connector stand-in and the clients) and the tenant (the cloud emulator and the sync
 * engine; Samba is a process of its own).
 * 1. turn latency (p50/p99) with 50 conversations: paced as people type (each sends about one turn a second:
 *    messages help/whoami and Action.Execute clicks), then saturated (each sends its next turn as soon as the last
 *    is answered) for the capacity;
 * 2. user-mailbox requests per minute through the whole pipeline (file by command, approve, run to done) next to
 *    Samba's raw rate of user adds with a generated password (DirectoryClient.createUser), measured over the second
 *    hundred requests after start (the first hundred, while V8 still compiles the hot code, are shown apart);
 * 3. cloud calls (Graph + EXO, from the emulator's request log) per user mailbox, and per polling cycle with 1, 10
 *    and 100 requests waiting for their mailboxes;
 * 4. peak RSS of this process with up to 1,000 approved requests in flight (mailboxes held back by a long delay);
 * 5. a 1,000-row bulk request from preview to done (`bulk new mailbox` + CSV, `file B-n`, `approve B-n`) next to
 *    Samba's time for 1,000 raw adds, and Mailroom's peak RSS with those 1,000 rows in flight;
 * then every figure beside its target. Turn capacity is compared with a bare botbuilder echo bot on restify
 * (bench/echo-bot.ts) under the same saturated load, in the same run.
 * Mailroom (and the echo bot) run compiled, as `npm start` runs them: `npm run build`, then bench/mailroom-process.ts
 * and bench/echo-bot.ts transpiled next to it into dist/bench/ (BENCH_TSX=1: under tsx instead).
 * Run: npx tsx bench/mailroom.ts (BENCH_ONLY=turns,pipeline,batch,memory: only those sections)
 * Looking closer at section 2: BENCH_DUMP=<file> writes each request's step times (ms since the first filing) there,
 * the CPU of Mailroom, Samba and this process every 250 ms to <file>.cpu, and the pipeline's start and end on the
 * monotonic clock (µs) to <file>.window, the clock of the samples in a profile taken with BENCH_CPU_PROF=<dir>.
 */
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startEnvironment } from '../src/cli/bundle';
import { loadConfig } from '../src/config/config';
import { DirectoryClient } from '../src/directory';
import { projectRoot } from '../src/paths';
import { openStore, type Store } from '../src/store';
import { startSandbox, type Sandbox } from '../src/sandbox';
import type { RequestLogEntry } from '../src/sandbox/cloud/server';
import { sandboxOverrides } from '../src/sandbox/overrides';
import { SANDBOX_PEOPLE, SANDBOX_TENANT_ID } from '../src/sandbox/people';
import { startConnector, TeamsClient, visibleText, type Connector, type Person } from '../test/harness/connector';
import ts from 'typescript';

const USERS = 50;
const TURNS_PER_USER = 20;
const EXECUTES_PER_USER = 10;
const PACED_SECONDS = 20;
/** Saturated rounds of Mailroom and of the echo bot, taken in turn. */
const CAPACITY_ROUNDS = 3;
const PIPELINE_REQUESTS = 100;
const PIPELINE_WORKERS = 10;
/** Where the names of the warm-up's requests start (the measured ones are 1…PIPELINE_REQUESTS). */
const WARM_UP_OFFSET = 10_000;
/** A sync cycle this often: "no sync delay" (Cloud Sync's own cycle is 2 minutes; provisionOnDemand is 5 per 10 s). */
const SYNC_CYCLE_MS = 200;
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
/** Section 5: rows of the bulk request, and how long it may take to end. */
const BATCH_ROWS = 1_000;
const BATCH_BUDGET_MS = 600_000;

/** Every figure beside its target, printed at the end. */
const summary: string[][] = [];

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
  /** How Mailroom's process runs: `compiled` (as npm start) or `tsx`. */
  runtime: Runtime;
  sandbox: Sandbox;
  connector: Connector;
  /** Mailroom's process, its URL, and its store opened by this process too (SQLite in WAL mode: readers welcome). */
  app: { url: string; pid: number };
  store: Store;
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
    // the new status card (a POST), not an update of this requester's previous request
    .waitFor((c) => c.method === 'POST' && c.conversationId === `a:personal-${requester.id}` && /R-\d+ · User mailbox[\s\S]*Waiting for approval/.test(visibleText(c.body)), 30000, since)
    .catch((err: unknown) => {
      const said = b.connector.calls.slice(since).filter((c) => c.conversationId === `a:personal-${requester.id}`).map((c) => visibleText(c.body).slice(0, 200));
      throw new Error(`no status card for request ${n} of ${requester.name}; the bot said: ${JSON.stringify(said)}`, { cause: err });
    });
  const reference = /(R-\d+)/.exec(visibleText(status.body))?.[1];
  if (!reference) throw new Error('no reference on the status card');
  const approval = await b.connector.waitFor((c) => c.method === 'POST' && c.conversationId === `a:personal-${b.approver.id}` && visibleText(c.body).includes(`${reference} · User mailbox`), 30000, since);
  const ok = await client(b, b.approver).execute('request.approve', buttonData(approval.body, 'Approve') ?? {}, approval.activityId);
  if (ok.status !== 200) throw new Error(`approval of ${reference} answered ${ok.status}`);
  return reference;
}

async function untilDone(b: Bench, references: readonly string[], timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  const left = new Set(references);
  while (left.size > 0) {
    for (const ref of [...left]) {
      // the status alone: reading every request whole ten times a second would cost the bench more than it measures
      const r = await b.store.requests.versionOf(Number(ref.replace(/^R-/, '')));
      if (r?.status === 'done') left.delete(ref);
      else if (r?.status === 'failed') throw new Error(`${ref} failed: ${(await b.store.requests.get(ref))?.error ?? ''}`);
    }
    if (left.size === 0) return;
    if (Date.now() > end) throw new Error(`${left.size} requests not done after ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** Waits until the notification outbox is empty (everything people must hear was sent). */
async function untilOutboxEmpty(b: Bench, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while ((await b.store.outbox.count()) > 0) {
    if (Date.now() > end) throw new Error(`the outbox still holds notifications after ${timeoutMs} ms`);
    await sleep(20);
  }
}

/**
 * Where a request's time went, per step across the requests (median and p90, ms): from the previous step's end (or
 * the request's creation) to the step's start, and the step's own run (a wait step: until its condition held).
 */
async function stepTimeline(b: Bench, references: readonly string[]): Promise<string[][]> {
  const per = new Map<string, { gap: number[]; run: number[] }>();
  for (const ref of references) {
    const r = await b.store.requests.get(ref);
    if (!r) continue;
    let last = Date.parse(r.createdAt);
    for (const s of await b.store.runs.listByRequest(r.id)) {
      if (!s.startedAt || !s.finishedAt) continue;
      const started = Date.parse(s.startedAt);
      const finished = Date.parse(s.finishedAt);
      const e = per.get(s.stepId) ?? { gap: [], run: [] };
      e.gap.push(started - last);
      e.run.push(finished - started);
      per.set(s.stepId, e);
      last = finished;
    }
  }
  const q = (xs: number[], p: number) => fmt(pct([...xs].sort((x, y) => x - y), p), 0);
  return [...per.entries()].map(([id, e]) => [id, `${q(e.gap, 50)} / ${q(e.gap, 90)}`, `${q(e.run, 50)} / ${q(e.run, 90)}`]);
}

/** How many of these requests have their exo.await-mailbox step waiting. */
async function mailboxWaiting(b: Bench, references: readonly string[]): Promise<number> {
  let n = 0;
  for (const ref of references) {
    const r = await b.store.requests.get(ref);
    if (!r) continue;
    if (r.status === 'failed') throw new Error(`${ref} failed: ${r.error ?? ''}`);
    const steps = await b.store.runs.listByRequest(r.id);
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
  type Kind = 'message' | 'help' | 'form';
  let non200 = 0;
  const turn = async (c: TeamsClient, kind: Kind, i: number): Promise<number> => {
    const s = performance.now();
    const res = kind === 'message' ? await c.say(i % 2 === 0 ? 'help' : 'whoami') : kind === 'help' ? await c.execute('help') : await c.execute('request.form', { kind: 'user-mailbox' });
    if (res.status !== 200) non200++;
    return performance.now() - s;
  };
  const row = (label: string, xs: number[], target: string): string[] => {
    const s = [...xs].sort((x, y) => x - y);
    return [label, String(s.length), fmt(pct(s, 50)), fmt(pct(s, 99)), fmt(s[s.length - 1] ?? NaN), target];
  };
  const head = ['turn', 'n', 'p50', 'p99', 'max', 'target p99'];

  // Paced: every conversation sends a turn, then "types" for 0.5–1.5 s; half messages, a quarter each of the clicks.
  const paced: Record<Kind, number[]> = { message: [], help: [], form: [] };
  const t0 = performance.now();
  const until = t0 + PACED_SECONDS * 1000;
  await Promise.all(
    b.users.map(async (p, u) => {
      const c = client(b, p);
      await sleep(Math.random() * 1000); // conversations do not start in step
      for (let i = 0; performance.now() < until; i++) {
        const kind: Kind = (i + u) % 4 < 2 ? 'message' : (i + u) % 4 === 2 ? 'help' : 'form';
        paced[kind].push(await turn(c, kind, i));
        await sleep(500 + Math.random() * 1000);
      }
    }),
  );
  const pacedRate = (paced.message.length + paced.help.length + paced.form.length) / ((performance.now() - t0) / 1000);
  table(`1a. Turn latency, ${USERS} conversations each sending about one turn a second (ms; ${fmt(pacedRate, 0)} turns/s offered and answered; Mailroom in its own process)`, head, [
    row('message help/whoami', paced.message, '< 150'),
    row('Action.Execute help', paced.help, '< 300'),
    row('Action.Execute request.form', paced.form, '< 300'),
  ]);

  // Saturated: each conversation sends its next turn as soon as the last is answered.
  const saturate = async (url: string): Promise<{ rate: number; samples: Record<Kind, number[]> }> => {
    const samples: Record<Kind, number[]> = { message: [], help: [], form: [] };
    const t1 = performance.now();
    await Promise.all(
      b.users.map(async (p) => {
        const c = new TeamsClient(url, b.connector.serviceUrl, p, SANDBOX_TENANT_ID);
        for (let i = 0; i < TURNS_PER_USER; i++) samples.message.push(await turn(c, 'message', i));
        for (let i = 0; i < EXECUTES_PER_USER; i++) samples[i % 2 === 0 ? 'help' : 'form'].push(await turn(c, i % 2 === 0 ? 'help' : 'form', i));
      }),
    );
    return { rate: (samples.message.length + samples.help.length + samples.form.length) / ((performance.now() - t1) / 1000), samples };
  };
  // Each bot has one saturated round to warm up (Mailroom's first is a fifth to a third slower than its next), then they are
  // measured in turn, CAPACITY_ROUNDS times each, so that a slow spell of the machine falls on both; each rate is all
  // its turns over all its time.
  const echo = await startProcess(b.runtime, 'echo-bot', {});
  const mailroomRounds: { rate: number; samples: Record<Kind, number[]> }[] = [];
  const echoRates: number[] = [];
  try {
    await saturate(b.app.url); // warm-up
    await saturate(echo.url); // warm-up
    for (let r = 0; r < CAPACITY_ROUNDS; r++) {
      mailroomRounds.push(await saturate(b.app.url));
      echoRates.push((await saturate(echo.url)).rate);
    }
  } finally {
    await stopProcess(echo.child);
  }
  const overall = (rates: number[]): number => rates.length / rates.reduce((a, r) => a + 1 / r, 0); // equal turns per round
  const mailroom = {
    rate: overall(mailroomRounds.map((m) => m.rate)),
    samples: { message: mailroomRounds.flatMap((m) => m.samples.message), help: mailroomRounds.flatMap((m) => m.samples.help), form: mailroomRounds.flatMap((m) => m.samples.form) },
  };
  const echoRate = overall(echoRates);
  table(`1b. Capacity: the same ${USERS} conversations with no pause between turns, ${CAPACITY_ROUNDS} rounds (ms; ${fmt(mailroom.rate, 0)} turns/s; rounds ${mailroomRounds.map((m) => fmt(m.rate, 0)).join(', ')}; latency here is queueing: ${USERS} / throughput)`, head, [
    row('message help/whoami', mailroom.samples.message, '-'),
    row('Action.Execute help', mailroom.samples.help, '-'),
    row('Action.Execute request.form', mailroom.samples.form, '-'),
  ]);
  if (non200) console.log(`   non-200 answers (Mailroom and the echo bot): ${non200}`);

  table('1c. Capacity next to a bare botbuilder echo bot on restify (same load, same machine, same run)', ['bot', 'turns/s', 'Mailroom / echo', 'target'], [
    [`echo bot (bench/echo-bot.ts; rounds ${echoRates.map((r) => fmt(r, 0)).join(', ')})`, fmt(echoRate, 0), '', ''],
    ['Mailroom', fmt(mailroom.rate, 0), `${fmt((mailroom.rate / echoRate) * 100)} %`, '>= 70 %'],
  ]);
  summary.push(['1b. turn capacity, Mailroom / echo bot', `${fmt(mailroom.rate, 0)} / ${fmt(echoRate, 0)} turns/s = ${fmt((mailroom.rate / echoRate) * 100)} %`, '>= 70 %', mailroom.rate / echoRate >= 0.7 ? 'met' : 'missed']);
}

async function rawSambaRate(b: Bench, workers: number, tag: string, adds = RAW_ADDS): Promise<number> {
  const e = b.sandbox.endpoints;
  const directory = new DirectoryClient({ url: e.ldap.url, bindDn: e.ldap.bindDn, password: e.ldap.password, caPem: readFileSync(e.ldap.caFile, 'utf8'), connectTimeoutMs: 5000, timeoutMs: 15000, baseDn: e.ldap.baseDn });
  try {
    await directory.passwordPolicy(); // read once, as Mailroom does
    const t0 = performance.now();
    await pool(
      Array.from({ length: adds }, (_, i) => i),
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
          attributes: {
            givenName: 'Raw',
            sn: `${suffix}${letters(i)}`,
            displayName,
          },
          enabled: true,
          password,
        });
      },
    );
    return (adds / (performance.now() - t0)) * 60_000;
  } finally {
    await directory.close();
  }
}

async function pipeline(b: Bench): Promise<void> {
  // One request alone first: its cloud calls, with nothing else running.
  const single0 = b.cloudCalls.length;
  const singleTeams0 = b.connector.calls.length;
  const t1 = performance.now();
  const one = await fileAndApprove(b, b.users[0]!, 0);
  await untilDone(b, [one], 120_000);
  const singleMs = performance.now() - t1;
  const singleCalls = b.cloudCalls.slice(single0);
  const singleTeams = b.connector.calls.slice(singleTeams0);

  // The first requests after start, on their own: V8 still compiles the code they make hot, on background threads
  // that take CPU from Samba on the two cores (about a second of it over the first hundred requests here). A Mailroom
  // that has been running a while has done so; the pipeline's figures below are those of the next hundred.
  const first0 = performance.now();
  const firstCpu0 = threadCpuMsOf(b.app.pid);
  const firstRefs: string[] = [];
  await pool(
    Array.from({ length: PIPELINE_REQUESTS }, (_, i) => WARM_UP_OFFSET + i),
    PIPELINE_WORKERS,
    async (n, w) => {
      firstRefs.push(await fileAndApprove(b, b.users[w]!, n));
    },
  );
  await untilDone(b, firstRefs, 240_000);
  const firstPerMin = PIPELINE_REQUESTS / ((performance.now() - first0) / 60_000);
  const firstCpu = threadCpuMsOf(b.app.pid);
  await untilOutboxEmpty(b, 30_000);

  // Samba's raw rate before and after the pipeline (the mean is the measure): the machine's pace drifts within a run
  const rawSeqBefore = await rawSambaRate(b, 1, 'p');
  const before = b.cloudCalls.length;
  const cpu0 = cpuMsOf(b.app.pid);
  const threads0 = threadCpuMsOf(b.app.pid);
  const sambaCpu0 = cpuMsOf(b.sandbox.dc.pid);
  const benchCpu0 = process.cpuUsage();
  const connector0 = b.connector.calls.length;
  const t0 = performance.now();
  const mono0 = process.hrtime.bigint() / 1000n;
  const cpuSamples: number[][] = [];
  const sampler = process.env.BENCH_DUMP
    ? setInterval(() => {
        const u = process.cpuUsage();
        cpuSamples.push([Math.round(performance.now() - t0), cpuMsOf(b.app.pid), cpuMsOf(b.sandbox.dc.pid), (u.user + u.system) / 1000]);
      }, 250)
    : undefined;
  const refs: string[] = [];
  await pool(
    Array.from({ length: PIPELINE_REQUESTS }, (_, i) => i + 1),
    PIPELINE_WORKERS,
    async (n, w) => {
      refs.push(await fileAndApprove(b, b.users[w]!, n));
    },
  );
  const filedMs = performance.now() - t0;
  const filedCpuPer = (cpuMsOf(b.app.pid) - cpu0) / PIPELINE_REQUESTS;
  await untilDone(b, refs, 240_000);
  const pipelineMin = (performance.now() - t0) / 60_000;
  const mono1 = process.hrtime.bigint() / 1000n;
  clearInterval(sampler);
  const cpuPer = (cpuMsOf(b.app.pid) - cpu0) / PIPELINE_REQUESTS;
  const threads1 = threadCpuMsOf(b.app.pid);
  // what people hear of the last requests leaves the outbox after they are done: counted once it is empty
  const doneAt = performance.now();
  await untilOutboxEmpty(b, 30_000);
  const outboxLagMs = performance.now() - doneAt;
  const sambaCpuPer = (cpuMsOf(b.sandbox.dc.pid) - sambaCpu0) / PIPELINE_REQUESTS;
  const benchCpu = process.cpuUsage(benchCpu0);
  const benchCpuPer = (benchCpu.user + benchCpu.system) / 1000 / PIPELINE_REQUESTS;
  const toTeams = b.connector.calls.slice(connector0);
  const calls = b.cloudCalls.slice(before);

  if (process.env.BENCH_DUMP) {
    const t0ms = Date.now() - (performance.now() - t0);
    const rows: unknown[] = [];
    for (const ref of refs) {
      const r = await b.store.requests.get(ref);
      if (!r) continue;
      rows.push({ ref, created: Date.parse(r.createdAt) - t0ms, steps: (await b.store.runs.listByRequest(r.id)).map((s) => [s.stepId, s.startedAt ? Date.parse(s.startedAt) - t0ms : null, s.finishedAt ? Date.parse(s.finishedAt) - t0ms : null]) });
    }
    writeFileSync(process.env.BENCH_DUMP, JSON.stringify(rows));
    writeFileSync(`${process.env.BENCH_DUMP}.cpu`, JSON.stringify(cpuSamples));
    writeFileSync(`${process.env.BENCH_DUMP}.window`, `${mono0} ${mono1}`);
  }
  const rawSambaCpu0 = cpuMsOf(b.sandbox.dc.pid);
  const rawSeqAfter = await rawSambaRate(b, 1, 's');
  const rawSambaCpuPer = (cpuMsOf(b.sandbox.dc.pid) - rawSambaCpu0) / RAW_ADDS;
  const rawSeq = (rawSeqBefore + rawSeqAfter) / 2;
  const rawConc = await rawSambaRate(b, RAW_WORKERS, 'c');
  const perMin = PIPELINE_REQUESTS / pipelineMin;
  table(
    `2. User mailboxes through the pipeline (${PIPELINE_REQUESTS} requests, ${PIPELINE_WORKERS} filing at a time; all filed+approved after ${fmt(filedMs / 1000)} s) vs Samba's raw user adds with password (${RAW_ADDS} each)`,
    ['measure', 'per minute', 'pipeline / raw', 'target'],
    [
      ['pipeline: file, approve, run to done', fmt(perMin), `${fmt((perMin / rawSeq) * 100)} %`, '>= 60 %'],
      [`  the first ${PIPELINE_REQUESTS} after start (V8 still compiling; run just before)`, fmt(firstPerMin), `${fmt((firstPerMin / rawSeq) * 100)} %`, ''],
      [`Samba createUser + password, 1 at a time (mean of ${fmt(rawSeqBefore, 0)} before and ${fmt(rawSeqAfter, 0)} after)`, fmt(rawSeq), '', ''],
      [`Samba createUser + password, ${RAW_WORKERS} at a time`, fmt(rawConc), `${fmt((perMin / rawConc) * 100)} %`, ''],
      ['single request alone, file to done (s)', fmt(singleMs / 1000), '', ''],
      [`Mailroom's CPU per user mailbox, filing to done (ms, ${b.runtime})`, fmt(cpuPer, 0), '', '<= 36 (half of 72)'],
      ['  of which until every request was filed and approved (ms)', fmt(filedCpuPer, 0), '', ''],
      ["  of which V8's background threads (compiling, garbage collection; ms)", fmt((threads1.background - threads0.background) / PIPELINE_REQUESTS, 0), '', ''],
      [`  the first ${PIPELINE_REQUESTS} after start: all / V8's background threads (ms)`, `${fmt((firstCpu.main + firstCpu.background - firstCpu0.main - firstCpu0.background) / PIPELINE_REQUESTS, 0)} / ${fmt((firstCpu.background - firstCpu0.background) / PIPELINE_REQUESTS, 0)}`, '', ''],
      ['CPU of the bench process per user mailbox (Teams stand-in, cloud emulator, sync engine; ms)', fmt(benchCpuPer, 0), '', ''],
      ["Samba's CPU per user mailbox (Mailroom's LDAP and the sync engine's; ms) / per raw add", `${fmt(sambaCpuPer, 0)} / ${fmt(rawSambaCpuPer, 0)}`, '', ''],
      ['messages / card updates to Teams per user mailbox', `${fmt(toTeams.filter((c) => c.method === 'POST').length / PIPELINE_REQUESTS)} / ${fmt(toTeams.filter((c) => c.method === 'PUT').length / PIPELINE_REQUESTS)}`, '', ''],
      ['last notification sent after the last request was done (ms)', fmt(outboxLagMs, 0), '', ''],
    ],
  );
  // the target: half of the 72 ms the pipeline took at first
  summary.push([`2. Mailroom's CPU per user mailbox (${b.runtime})`, `${fmt(cpuPer, 0)} ms`, '<= 36 ms', cpuPer <= 36 ? 'met' : 'missed']);
  summary.push(['2. pipeline / Samba raw (1 at a time)', `${fmt(perMin)} / ${fmt(rawSeq)} per min = ${fmt((perMin / rawSeq) * 100)} %`, '>= 60 %', perMin / rawSeq >= 0.6 ? 'met' : 'missed']);
  summary.push([`2. the same, the first ${PIPELINE_REQUESTS} after start`, `${fmt(firstPerMin)} per min = ${fmt((firstPerMin / rawSeq) * 100)} %`, '-', '']);

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
  if (process.env.BENCH_DUMP) console.log(`   calls of the pipeline: ${byPath(calls)}`);
  table(`2b. Where a mailbox's time goes in the pipeline (${PIPELINE_REQUESTS} requests; ms, median / p90)`, ['step', 'from the previous step to its start', 'its run (a wait: until it held)'], await stepTimeline(b, refs));
  console.log(`   messages (POST) and card updates (PUT) to Teams of the single request:`);
  for (const c of singleTeams) console.log(`     ${c.method} ${c.conversationId.slice(0, 24)}: ${visibleText(c.body).replace(/\s+/g, ' ').slice(0, 110)}`);
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

/** CPU time a process has used so far (Linux /proc: user + system), in ms. */
function cpuMsOf(pid: number, file = `/proc/${pid}/stat`): number {
  // the fields after the command name (which may hold spaces) start at the state, field 3; utime and stime are 14 and 15
  const fields = readFileSync(file, 'utf8').replace(/^.*\) /s, '').split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // USER_HZ is 100 on Linux
}

/**
 * CPU time (ms) of a process's main thread and of its other threads: in Node, V8's background threads (optimising
 * compiler, parallel and concurrent garbage collection) and libuv's pool.
 */
function threadCpuMsOf(pid: number): { main: number; background: number } {
  let main = 0;
  let background = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    let ms = 0;
    try {
      ms = cpuMsOf(Number(task), `/proc/${pid}/task/${task}/stat`);
    } catch {
      continue; // the thread ended meanwhile
    }
    if (task === String(pid)) main += ms;
    else background += ms;
  }
  return { main, background };
}

/** Resident memory of a process (Linux /proc): now and its peak (bytes). */
function memoryOf(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** Samples a process's RSS every 100 ms from now on: what it was at the start, and its peak so far (bytes). */
function sampleRss(pid: number): { readonly start: number; peak(): number; stop(): number } {
  const rss = () => memoryOf(pid).rss;
  const start = rss();
  let peak = start;
  const timer = setInterval(() => {
    peak = Math.max(peak, rss());
  }, 100);
  return {
    start,
    peak: () => (peak = Math.max(peak, rss())),
    stop: () => {
      clearInterval(timer);
      return (peak = Math.max(peak, rss()));
    },
  };
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

  // 4. Up to IN_FLIGHT requests in flight: Mailroom's own process, sampled from /proc.
  const memory = sampleRss(b.app.pid);
  const t0 = performance.now();
  let waiting = 0;
  try {
    await fileWaiting(b, refs, IN_FLIGHT, Date.now() + IN_FLIGHT_BUDGET_MS);
    const filedS = (performance.now() - t0) / 1000;
    waiting = await untilWaiting(b, refs, 60_000);
    const readyS = (performance.now() - t0) / 1000;
    await sleep(5_000); // a few polling cycles with everything waiting
    const peak = memory.peak();
    const hwm = memoryOf(b.app.pid).hwm;
    table(
      `4. Memory of Mailroom's process with requests in flight (the bench process holds Teams and the tenant)`,
      ['measure', 'value'],
      [
        ['requests filed + approved', String(refs.length)],
        ['filings that timed out (30 s) under load', String(filingTimeouts)],
        ['of them waiting for their mailbox', String(waiting)],
        ['filed + approved after (s)', fmt(filedS)],
        ['all waiting after (s)', fmt(readyS)],
        [`RSS before filing (with ${WAITING_STEPS[WAITING_STEPS.length - 1]} waiting)`, mb(memory.start)],
        ['peak RSS while filing and waiting (sampled every 100 ms)', mb(peak)],
        ['peak RSS of the whole run (VmHWM)', mb(hwm)],
        ['target', '< 200 MB'],
      ],
    );
    summary.push([`4. peak RSS, ${refs.length} requests waiting for mailboxes (${b.runtime})`, mb(peak), '< 200 MB', peak < 200 * 1024 * 1024 ? 'met' : 'missed']);
  } finally {
    memory.stop();
  }
}

/**
 * 5. A bulk request of BATCH_ROWS user mailboxes from preview to done, typed as a person would (`bulk new mailbox` and
 * the CSV, `file B-n`; the approver's `approve B-n`), until the store says every row is done; next to Samba's time for
 * as many raw adds (one at a time, as in section 2). Mailroom's RSS is sampled meanwhile, every row in flight.
 */
async function bulkBatch(b: Bench): Promise<void> {
  const requester = b.users[1]!;
  const say = async (p: Person, text: string, match: RegExp, timeoutMs: number, extra: Record<string, unknown> = {}): Promise<string> => {
    const since = b.connector.calls.length;
    const res = await client(b, p).post({ type: 'message', text, ...extra });
    if (res.status !== 200) throw new Error(`"${text.split('\n')[0] ?? ''}" answered ${res.status}`);
    const reply = await b.connector.waitFor((c) => c.method === 'POST' && c.conversationId === `a:personal-${p.id}` && match.test(visibleText(c.body)), timeoutMs, since).catch((err: unknown) => {
      const said = b.connector.calls.slice(since).filter((c) => c.conversationId === `a:personal-${p.id}`).map((c) => visibleText(c.body).slice(0, 400));
      throw new Error(`"${text.split('\n')[0] ?? ''}" got no answer matching ${String(match)}; the bot said: ${JSON.stringify(said)}`, { cause: err });
    });
    return visibleText(reply.body);
  };
  // More rows than a Teams message holds: the CSV file is attached, as Teams hands a bot a file (a download link into
  // OneDrive, here a server on this machine, the one place the sandbox downloads from).
  const csv = ['first,last,department', ...Array.from({ length: BATCH_ROWS }, (_, i) => `Bo,K${suffix}${letters(i, 3)},Research`)].join('\r\n');
  const files = createServer((req, res) => {
    res.writeHead(req.url?.startsWith('/rows.csv') ? 200 : 404, { 'content-type': 'text/csv' });
    res.end(req.url?.startsWith('/rows.csv') ? csv : '');
  });
  await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', () => resolve()));
  const filesUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
  const attachment = {
    contentType: 'application/vnd.microsoft.teams.file.download.info',
    contentUrl: 'https://contoso-my.sharepoint.com/personal/bench/Documents/Microsoft Teams Chat Files/rows.csv',
    name: 'rows.csv',
    content: { downloadUrl: `${filesUrl}/rows.csv?UniqueId=1&tempauth=bench`, uniqueId: 'b1', fileType: 'csv', etag: '1' },
  };
  b.connector.calls.length = 0;
  const memory = sampleRss(b.app.pid);
  const phases: string[][] = [];
  let inFlight = 0;
  let totalMs: number;
  let timeline: string[][] = [];
  const cpu0 = cpuMsOf(b.app.pid);
  const sambaCpu0 = cpuMsOf(b.sandbox.dc.pid);
  try {
    const t0 = performance.now();
    let t = t0;
    const lap = (what: string) => {
      const now = performance.now();
      phases.push([what, fmt((now - t) / 1000)]);
      t = now;
    };
    const preview = await say(requester, 'bulk new mailbox', /B-\d+/, 120_000, { attachments: [attachment] });
    const ref = /(B-\d+)/.exec(preview)?.[1] ?? '';
    lap(`preview of ${BATCH_ROWS} rows (${ref}, a ${fmt(Buffer.byteLength(csv) / 1024, 0)} KiB CSV file attached)`);
    const sinceFile = b.connector.calls.length;
    const filed = await say(requester, `file ${ref}`, new RegExp(`${ref}|Not filed`), 120_000);
    if (!new RegExp(`\\b${BATCH_ROWS}\\b`).test(filed.replace(/,/g, ''))) console.log(`   file ${ref} said: ${filed.slice(0, 300)}`);
    // the approver decides once the batch's approval reaches them (filing may go on after the answer to "file")
    await b.connector.waitFor((c) => c.method === 'POST' && c.conversationId === `a:personal-${b.approver.id}` && visibleText(c.body).includes(ref), 300_000, sinceFile);
    lap(`file ${ref}, until the approver is asked`);
    const decided = await say(b.approver, `approve ${ref}`, new RegExp(`${ref}|Not decided`), 120_000);
    if (!new RegExp(`\\b${BATCH_ROWS}\\b`).test(decided.replace(/,/g, ''))) console.log(`   approve ${ref} said: ${decided.slice(0, 300)}`);
    lap(`approve ${ref} (approver)`);
    const batch = await b.store.batches.get(ref);
    if (!batch) throw new Error(`${ref} is not in the store`);
    for (const end = Date.now() + BATCH_BUDGET_MS; ; ) {
      // counted by the store (one grouped query), as the progress card does: reading 1,000 rows every 250 ms would
      // cost this process more CPU than the rest of its work
      const counts = await b.store.requests.countByBatch(batch.id, 1);
      const failed = counts.byStatus.failed ?? 0;
      if (failed) throw new Error(`${failed} rows of ${ref} failed, e.g. ${counts.failed[0]?.reference ?? ''}: ${counts.failed[0]?.error ?? ''}`);
      const done = counts.byStatus.done ?? 0;
      inFlight = Math.max(inFlight, counts.total - done);
      if (counts.total === BATCH_ROWS && done === BATCH_ROWS) break;
      if (Date.now() > end) throw new Error(`after ${BATCH_BUDGET_MS / 1000} s ${done} of ${BATCH_ROWS} rows of ${ref} are done`);
      await sleep(250);
    }
    lap(`every row done (${ref})`);
    totalMs = performance.now() - t0;
    timeline = await stepTimeline(b, (await b.store.requests.listByBatch(batch.id)).map((r) => r.reference));
  } finally {
    memory.stop();
    files.close();
  }
  const peak = memory.peak();
  const cpuPer = (cpuMsOf(b.app.pid) - cpu0) / BATCH_ROWS;
  const sambaCpuPer = (cpuMsOf(b.sandbox.dc.pid) - sambaCpu0) / BATCH_ROWS;
  const raw = await rawSambaRate(b, 1, 'b', BATCH_ROWS);
  const rawMs = (BATCH_ROWS / raw) * 60_000;
  table(`5. A bulk request of ${BATCH_ROWS} user mailboxes from preview to done (s; sync cycle ${SYNC_CYCLE_MS} ms, mailbox delay 0) vs Samba's ${BATCH_ROWS} raw adds`, ['measure', 'value', 'target'], [
    ...phases.map(([what, v]) => [what ?? '', v ?? '', '']),
    ['preview to every row done (s)', fmt(totalMs / 1000), ''],
    [`Samba createUser + password, ${BATCH_ROWS} one at a time (s)`, fmt(rawMs / 1000), ''],
    ['batch / raw', `${fmt(totalMs / rawMs, 2)}×`, '< 1.5×'],
    ['rows per minute through the pipeline', fmt((BATCH_ROWS / totalMs) * 60_000), ''],
    [`Mailroom's CPU per row, preview to done (ms, ${b.runtime})`, fmt(cpuPer, 0), ''],
    ["Samba's CPU per row, preview to done (ms)", fmt(sambaCpuPer, 0), ''],
    [`Mailroom's RSS before the preview (${b.runtime})`, mb(memory.start), ''],
    [`peak RSS with the batch's rows in flight (at most ${inFlight} not done; sampled every 100 ms)`, mb(peak), '< 200 MB'],
  ]);
  table(`5b. Where a row's time goes (${BATCH_ROWS} rows; ms, median / p90; the first step's start counts from the row's filing)`, ['step', 'from the previous step to its start', 'its run (a wait: until it held)'], timeline);
  summary.push([`5. ${BATCH_ROWS}-row batch, preview to done / Samba's ${BATCH_ROWS} raw adds`, `${fmt(totalMs / 1000)} s / ${fmt(rawMs / 1000)} s = ${fmt(totalMs / rawMs, 2)}×`, '< 1.5×', totalMs / rawMs < 1.5 ? 'met' : 'missed']);
  summary.push([`5. peak RSS, ${inFlight} rows in flight (${b.runtime})`, mb(peak), '< 200 MB', peak < 200 * 1024 * 1024 ? 'met' : 'missed']);
}

/** `npm start` as package.json gives it: its environment (`NAME=value` before `node`) and its V8 flags. */
function startCommand(): { env: Record<string, string>; flags: string[] } {
  const pkg = JSON.parse(readFileSync(path.join(projectRoot(), 'package.json'), 'utf8')) as { scripts?: { start?: string } };
  const start = pkg.scripts?.start ?? '';
  return { env: startEnvironment(start), flags: start.split(/\s+/).filter((a) => /^--max-[\w-]+=\d+$/.test(a)) };
}

/** How the tables name that command's settings. */
function startFlags(): string {
  const { env, flags } = startCommand();
  return [...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...flags].join(' ');
}

type Runtime = 'compiled' | 'tsx';

/**
 * How Mailroom runs here: compiled, as `npm start` runs it (`npm run build`, and the bench's process files
 * transpiled next to the build in dist/bench/, where their `../src/…` imports find the compiled code), unless
 * BENCH_TSX=1 or the build fails (then under tsx, and the tables say so).
 */
function prepareRuntime(): Runtime {
  if (process.env.BENCH_TSX === '1') return 'tsx';
  const root = projectRoot();
  const build = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, encoding: 'utf8' });
  if (build.status !== 0) {
    console.log(`npm run build failed (${build.status ?? build.signal ?? '?'}); Mailroom runs under tsx:\n${(build.stdout + build.stderr).slice(0, 2000)}`);
    return 'tsx';
  }
  const out = path.join(root, 'dist', 'bench');
  mkdirSync(out, { recursive: true });
  for (const name of ['mailroom-process', 'echo-bot']) {
    const source = readFileSync(path.join(__dirname, `${name}.ts`), 'utf8');
    const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true }, fileName: `${name}.ts` });
    writeFileSync(path.join(out, `${name}.js`), js.outputText);
  }
  return 'compiled';
}

/** Starts bench/<name>.ts (Mailroom, or the echo bot) in its own process; resolves once it listens. */
async function startProcess(runtime: Runtime, name: 'mailroom-process' | 'echo-bot', env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const file = runtime === 'compiled' ? path.join(projectRoot(), 'dist', 'bench', `${name}.js`) : path.join(__dirname, `${name}.ts`);
  // the V8 heap settings and the environment `npm start` runs Mailroom with (package.json), so the memory figures are
  // production's
  const start = startCommand();
  const child = fork(file, [], {
    execArgv: [...(runtime === 'tsx' ? ['--import', 'tsx'] : []), ...start.flags, ...(process.env.BENCH_CPU_PROF && name === 'mailroom-process' ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [])],
    env: { ...process.env, ...start.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (m: { type?: string; url?: string }) => (m.type === 'ready' && m.url ? resolve(m.url) : reject(new Error(`unexpected message ${JSON.stringify(m)}`))));
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code} before it was ready`)));
  });
  return { child, url };
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(10_000).then(() => child.kill('SIGKILL'))]);
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const sandbox = await startSandbox({
    rootDir: projectRoot(),
    ephemeral: true,
    knobs: { syncMode: 'cloud', syncIntervalMs: SYNC_CYCLE_MS, mailboxDelayMs: 0, latencyMs: 0, rate429: 0, rate503: 0, exoLicences: 100_000 },
  });
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'mailroom-bench-'));
  let connector: Connector | undefined;
  let mailroom: { child: ChildProcess; url: string } | undefined;
  let store: Store | undefined;
  try {
    const cloudCalls = tapCloudLog(sandbox);
    connector = await startConnector();
    const overrides = { ...sandboxOverrides(sandbox.endpoints), PORT: '0', DATA_DIR: dataDir, ROLE_REQUESTERS: '*' };
    const runtime = prepareRuntime();
    mailroom = await startProcess(runtime, 'mailroom-process', { MAILROOM_BENCH_OVERRIDES: JSON.stringify(overrides), MAILROOM_BENCH_RUNNER: JSON.stringify(RUNNER), MAILROOM_BENCH_WAIT_MS: String(WAIT_INTERVAL_MS) });
    const config = loadConfig({ rootDir: projectRoot(), envName: 'sandbox', env: {}, overrides });
    store = await openStore({ databaseUrl: config.store.databaseUrl, sqliteFile: config.store.sqliteFile });
    const users: Person[] = Array.from({ length: USERS }, (_, i) => ({
      id: `bench-${i}`,
      aadObjectId: `b0000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`,
      name: `Bench User ${i}`,
    }));
    const approver: Person = { id: SANDBOX_PEOPLE.approver.key, aadObjectId: SANDBOX_PEOPLE.approver.aadObjectId, name: SANDBOX_PEOPLE.approver.name };
    const b: Bench = { runtime, sandbox, connector, app: { url: mailroom.url, pid: mailroom.child.pid ?? 0 }, store, users, approver, cloudCalls };
    await pool([approver, ...users], 10, async (p) => {
      const res = await client(b, p).install();
      if (res.status !== 200) throw new Error(`install of ${p.name} answered ${res.status}`);
    });
    console.log(
      `sandbox and Mailroom up in ${fmt((performance.now() - t0) / 1000)} s (store: ${store.engine}; runner ${JSON.stringify(RUNNER)}, wait interval ${WAIT_INTERVAL_MS} ms; sync cycle every ${SYNC_CYCLE_MS} ms; Mailroom runs ${runtime === 'compiled' ? 'compiled (npm run build)' : 'under tsx'} with ${startFlags() || 'no node flags'}; ${os.cpus().length} cores)`,
    );

    const only = process.env.BENCH_ONLY?.split(',').map((s) => s.trim());
    const run = (section: string) => !only || only.includes(section);
    if (run('turns')) await turnLatency(b);
    if (run('pipeline')) await pipeline(b);
    if (run('batch')) await bulkBatch(b);
    if (run('memory')) await pollingAndMemory(b);
    if (summary.length) table('Every figure beside its target', ['measure', 'value', 'target', ''], summary);
  } finally {
    if (mailroom) await stopProcess(mailroom.child);
    await store?.close();
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
