/**
 * Store benchmark: open time, 1,000 upserts, request creates and transitions, audit appends (one
 * instance and two instances on one database), audit verification, and run-step claims (claim + complete,
 * one instance and two; one poller claim of 500 waiting steps) on each engine, printed as tables.
 * Run: npx tsx bench/store.ts   (starts a throwaway PostgreSQL like the tests do)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openStore, type AuditEventInput, type ConversationRefInput, type Store, type StoreOptions } from '../src/store';
import { getPostgres, stopPostgres } from '../test/harness/postgres';

const UPSERTS = 1_000;
const CONCURRENCY = 10;
const REQUESTS = 1_000;
const APPENDS = 1_000;
/** Run steps claimed and completed per measurement: CLAIM_REQUESTS requests of STEPS_PER_REQUEST steps. */
const CLAIM_REQUESTS = 200;
const STEPS_PER_REQUEST = 5;
const WAITING = 500;
const LEASE_MS = 120_000;

export interface StoreBenchRow {
  engine: Store['engine'];
  openNewMs: number;
  reopenMs: number;
  sequentialUpsertsPerSec: number;
  concurrentUpsertsPerSec: number;
  concurrentCreatesPerSec: number;
  concurrentTransitionsPerSec: number;
  sequentialAppendsPerSec: number;
  concurrentAppendsPerSec: number;
  /** Two store instances on one database, CONCURRENCY appenders each. */
  twoInstanceAppendsPerSec: number;
  /** verify() over every event appended above. */
  verifyEventsPerSec: number;
  verifiedEvents: number;
  /** claimNext (limit 1) + complete, CONCURRENCY loops. */
  claimsPerSec: number;
  /** The same with two store instances on one database, CONCURRENCY loops each. */
  twoInstanceClaimsPerSec: number;
  /** One claimWaiting of WAITING due steps (the poller's claim). */
  waitingClaimMs: number;
}

/** Run `n` calls of `fn` with `workers` of them in flight at a time; returns the calls per second. */
async function throughput(n: number, workers: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const [, ms] = await timed(async () => {
    const worker = async (): Promise<void> => {
      while (next < n) await fn(next++);
    };
    await Promise.all(Array.from({ length: workers }, worker));
  });
  return (n / ms) * 1000;
}

function auditEvent(i: number): AuditEventInput {
  return {
    actorAadObjectId: `aad-${i % 17}`,
    actorName: `Helpdesk ${i % 17}`,
    requestRef: `R-${(i % 500) + 1}`,
    event: 'request.created',
    data: { kind: 'user-mailbox', displayName: `User ${i}`, upn: `user${i}@contoso.example`, ou: 'OU=Staff,DC=contoso,DC=example' },
  };
}

function record(i: number): ConversationRefInput {
  return {
    conversationId: `a:bench-${i}`,
    conversationType: 'personal',
    tenantId: 'tenant-bench',
    serviceUrl: 'https://smba.trafficmanager.net/emea/',
    userAadObjectId: `user-${i}`,
    channelId: null,
    teamId: null,
    reference: { conversation: { id: `a:bench-${i}`, conversationType: 'personal' }, user: { id: `29:user-${i}` }, bot: { id: '28:bot' } },
    botInstalled: true,
  };
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const result = await fn();
  return [result, performance.now() - t0];
}

/**
 * Claim and complete the `n` runnable steps at `now` with `workers` loops spread over `stores`; returns
 * steps per second. Throws if a step is claimed twice or a complete is refused.
 */
async function claimThroughput(stores: readonly Store[], now: Date, n: number, workers: number): Promise<number> {
  let completed = 0;
  const seen = new Set<number>();
  const [, ms] = await timed(async () => {
    const worker = async (w: number): Promise<void> => {
      const store = stores[w % stores.length]!;
      const owner = `bench-${w}`;
      while (completed < n) {
        const [step] = await store.runs.claimNext(owner, now, LEASE_MS, 1);
        if (step === undefined) {
          await new Promise((resolve) => setImmediate(resolve));
          continue;
        }
        if (seen.has(step.id)) throw new Error(`step ${step.id} was claimed twice`);
        seen.add(step.id);
        if (!(await store.runs.complete(step.id, owner, { ok: true }, now))) throw new Error(`complete of step ${step.id} was refused`);
        completed += 1;
      }
    };
    await Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));
  });
  return (n / ms) * 1000;
}

function benchSteps(i: number): { stepId: string; action: string; system: string; input: unknown }[] {
  return Array.from({ length: STEPS_PER_REQUEST }, (_, k) => ({
    stepId: `step-${k}`,
    action: 'ad.setAttributes',
    system: 'ad',
    input: { identity: `user${i}@contoso.example`, attributes: { department: 'Bench', k } },
  }));
}

async function benchEngine(engine: Store['engine'], opts: StoreOptions): Promise<StoreBenchRow> {
  const [first, openNewMs] = await timed(() => openStore(opts));
  await first.close();
  const [store, reopenMs] = await timed(() => openStore(opts));
  try {
    const [, seqMs] = await timed(async () => {
      for (let i = 0; i < UPSERTS; i++) await store.conversations.upsert(record(i));
    });
    const [, concMs] = await timed(async () => {
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < UPSERTS) await store.conversations.upsert(record(UPSERTS + next++));
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    });
    const created: { id: number; version: number }[] = [];
    const concurrentCreatesPerSec = await throughput(REQUESTS, CONCURRENCY, async (i) => {
      const r = await store.requests.create({
        kind: 'user-mailbox',
        requesterAadObjectId: `aad-${i % 17}`,
        requesterName: 'Helpdesk',
        tenantId: 'tenant-bench',
        values: { displayName: `User ${i}` },
        request: { kind: 'user-mailbox', upn: `user${i}@contoso.example` },
      });
      created.push(r);
    });
    const concurrentTransitionsPerSec = await throughput(created.length, CONCURRENCY, async (i) => {
      const r = created[i];
      if (r === undefined) return;
      const res = await store.requests.transition(r.id, r.version, { status: 'approved', decidedBy: 'aad-approver', decidedByName: 'Approver', decidedAt: new Date() });
      if (!res.ok) throw new Error(`transition of ${r.id} lost`);
    });

    const sequentialAppendsPerSec = await throughput(APPENDS, 1, (i) => store.audit.append(auditEvent(i)));
    const concurrentAppendsPerSec = await throughput(APPENDS, CONCURRENCY, (i) => store.audit.append(auditEvent(i)));
    const second = await openStore(opts);
    let twoInstanceAppendsPerSec: number;
    try {
      twoInstanceAppendsPerSec = await throughput(APPENDS, CONCURRENCY * 2, (i) => (i % 2 === 0 ? store : second).audit.append(auditEvent(i)));
    } finally {
      await second.close();
    }
    const [verified, verifyMs] = await timed(() => store.audit.verify());
    if (!verified.ok) throw new Error(`the audit chain did not verify: ${verified.reason} at ${verified.brokenAtSeq}`);

    // Run steps on the requests created above: two batches for claims, then one step each for the poller.
    const now = new Date();
    const ids = created.map((r) => r.id);
    const steps = CLAIM_REQUESTS * STEPS_PER_REQUEST;
    // Each measurement has exactly its own `steps` steps to run (created just before it).
    for (const id of ids.slice(0, CLAIM_REQUESTS)) await store.runs.createSteps(id, benchSteps(id), now);
    const claimsPerSec = await claimThroughput([store], now, steps, CONCURRENCY);
    const other = await openStore(opts);
    let twoInstanceClaimsPerSec: number;
    try {
      for (const id of ids.slice(CLAIM_REQUESTS, 2 * CLAIM_REQUESTS)) await store.runs.createSteps(id, benchSteps(id), now);
      twoInstanceClaimsPerSec = await claimThroughput([store, other], now, steps, CONCURRENCY * 2);
    } finally {
      await other.close();
    }
    const waitIds = ids.slice(2 * CLAIM_REQUESTS, 2 * CLAIM_REQUESTS + WAITING);
    for (const id of waitIds) await store.runs.createSteps(id, benchSteps(id).slice(0, 1), now);
    for (const step of await store.runs.claimNext('bench', now, LEASE_MS, WAITING)) await store.runs.wait(step.id, 'bench', now, null, now);
    const [polled, waitingClaimMs] = await timed(() => store.runs.claimWaiting('poller', new Date(now.getTime() + 1), LEASE_MS, WAITING));
    if (polled.length !== waitIds.length) throw new Error(`the poller claimed ${polled.length} of ${waitIds.length} waiting steps`);

    return {
      engine,
      openNewMs,
      reopenMs,
      sequentialUpsertsPerSec: (UPSERTS / seqMs) * 1000,
      concurrentUpsertsPerSec: (UPSERTS / concMs) * 1000,
      concurrentCreatesPerSec,
      concurrentTransitionsPerSec,
      sequentialAppendsPerSec,
      concurrentAppendsPerSec,
      twoInstanceAppendsPerSec,
      verifyEventsPerSec: (verified.count / verifyMs) * 1000,
      verifiedEvents: verified.count,
      claimsPerSec,
      twoInstanceClaimsPerSec,
      waitingClaimMs,
    };
  } finally {
    await store.close();
  }
}

export async function runStoreBench(): Promise<StoreBenchRow[]> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'mailroom-bench-'));
  try {
    const rows = [await benchEngine('sqlite', { sqliteFile: path.join(tmp, 'bench.db') })];
    const [pg, pgStartMs] = await timed(() => getPostgres());
    console.log(`(test PostgreSQL ${pg.version} started in ${pgStartMs.toFixed(0)} ms)`);
    rows.push(await benchEngine('postgres', { sqliteFile: '', databaseUrl: await pg.createDatabase('bench_store') }));
    return rows;
  } finally {
    await stopPostgres();
    rmSync(tmp, { recursive: true, force: true });
  }
}

function printTable(rows: StoreBenchRow[]): void {
  const print = (header: string[], cells: string[][]): void => {
    const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
    const line = (c: string[]): string => c.map((v, i) => (i === 0 ? v.padEnd(widths[i] ?? 0) : v.padStart(widths[i] ?? 0))).join('  ');
    console.log(line(header));
    for (const c of cells) console.log(line(c));
  };
  const n = (v: number): string => v.toFixed(0);
  print(
    ['engine', 'open new (ms)', 'reopen (ms)', `${UPSERTS} upserts seq (/s)`, `${UPSERTS} upserts ×${CONCURRENCY} (/s)`],
    rows.map((r) => [r.engine, r.openNewMs.toFixed(1), r.reopenMs.toFixed(1), n(r.sequentialUpsertsPerSec), n(r.concurrentUpsertsPerSec)]),
  );
  console.log('');
  print(
    ['engine', `${REQUESTS} creates ×${CONCURRENCY} (/s)`, `transitions ×${CONCURRENCY} (/s)`],
    rows.map((r) => [r.engine, n(r.concurrentCreatesPerSec), n(r.concurrentTransitionsPerSec)]),
  );
  console.log('');
  print(
    ['engine', `${APPENDS} appends seq (/s)`, `appends ×${CONCURRENCY} (/s)`, `appends 2 instances ×${CONCURRENCY} (/s)`, 'verify (events/s)'],
    rows.map((r) => [r.engine, n(r.sequentialAppendsPerSec), n(r.concurrentAppendsPerSec), n(r.twoInstanceAppendsPerSec), `${n(r.verifyEventsPerSec)} (${r.verifiedEvents})`]),
  );
  console.log('');
  print(
    ['engine', `claim+complete ×${CONCURRENCY} (steps/s)`, `2 instances ×${CONCURRENCY} (steps/s)`, `poller claims ${WAITING} waiting (ms)`],
    rows.map((r) => [r.engine, n(r.claimsPerSec), n(r.twoInstanceClaimsPerSec), r.waitingClaimMs.toFixed(1)]),
  );
}

if (require.main === module) {
  runStoreBench().then(printTable, (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
