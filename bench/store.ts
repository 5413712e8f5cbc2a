/**
 * Store benchmark: open time and 1,000 upserts on each engine, printed as a table.
 * Run: npx tsx bench/store.ts   (starts a throwaway PostgreSQL like the tests do)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openStore, type ConversationRefInput, type Store, type StoreOptions } from '../src/store';
import { getPostgres, stopPostgres } from '../test/harness/postgres';

const UPSERTS = 1_000;
const CONCURRENCY = 10;

export interface StoreBenchRow {
  engine: Store['engine'];
  openNewMs: number;
  reopenMs: number;
  sequentialUpsertsPerSec: number;
  concurrentUpsertsPerSec: number;
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
    return {
      engine,
      openNewMs,
      reopenMs,
      sequentialUpsertsPerSec: (UPSERTS / seqMs) * 1000,
      concurrentUpsertsPerSec: (UPSERTS / concMs) * 1000,
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
  const header = ['engine', 'open new (ms)', 'reopen (ms)', `${UPSERTS} upserts seq (/s)`, `${UPSERTS} upserts ×${CONCURRENCY} (/s)`];
  const cells = rows.map((r) => [
    r.engine,
    r.openNewMs.toFixed(1),
    r.reopenMs.toFixed(1),
    r.sequentialUpsertsPerSec.toFixed(0),
    r.concurrentUpsertsPerSec.toFixed(0),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (c: string[]): string => c.map((v, i) => (i === 0 ? v.padEnd(widths[i] ?? 0) : v.padStart(widths[i] ?? 0))).join('  ');
  console.log(line(header));
  for (const c of cells) console.log(line(c));
}

if (require.main === module) {
  runStoreBench().then(printTable, (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
