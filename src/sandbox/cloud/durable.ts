/**
 * The emulator's durable state: like Entra ID and Exchange Online, it never forgets a write it has answered.
 *
 * The tenant lives in memory (`tenant.ts`); this store keeps a copy of it in SQLite (`<stateDir>/tenant.db`, WAL,
 * `synchronous = FULL`: a commit is fsynced before it returns). The server commits before **every** answer leaves
 * (reads too: a read may carry what a sync cycle or a due mailbox has just changed, such as a new object id), so
 * whatever a client has seen survives a crash of any process, `kill -9` included. Writes made in-process (the sync
 * engine, tests) are committed with the next answer, at `flush()` and at stop.
 *
 * How: one row per object of the state's collections (`users`, `recipients`, …: every top-level array of objects),
 * and one row for the rest (the scalars). An object is told apart by its identity in memory (a WeakMap gives each one
 * a sequence number when first seen), so the store needs to know nothing of the model's ids and follows the model as
 * it changes. A commit serialises each object and writes only those whose JSON changed, deletes those gone, in one
 * transaction. Rows come back in sequence order; a collection whose order is not its objects' first-seen order (an
 * insertion in front) has its order stored besides. SQLite's WAL is the journal and its checkpoints the compaction.
 *
 * Commits are grouped: every `commit()` of one event-loop turn shares one transaction (see {@link GroupCommit}),
 * and none resolves before that transaction is on disk.
 */
import BetterSqlite3 from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import type { Clock } from './clock';
import type { IdGenerator } from './ids';
import { Tenant, type TenantState } from './tenant';

/** The state's file in a state folder. */
export const TENANT_DB = 'tenant.db';
/** Where the state was kept before it was durable (saved at a clean stop only); imported once, then renamed. */
const LEGACY_JSON = 'tenant.json';

const SCALARS = 'scalars';
/** Every top-level key in order (collections are the keys not among the scalars). */
const KEYS = 'keys';
const ORDER = 'order:';

type Row = Record<string, unknown>;

function isObject(v: unknown): v is Row {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A top-level array whose elements are all objects is kept object by object; anything else is a scalar. */
function isCollection(v: unknown): v is Row[] {
  return Array.isArray(v) && v.every(isObject);
}

/** What one commit wrote (for tests and measurements). */
export interface CommitStats {
  /** Rows written (objects changed or new, plus the scalars when they changed). */
  written: number;
  deleted: number;
  /** The time the commit took (serialising, comparing, the transaction and its fsync), ms. */
  ms: number;
}

export interface TenantStoreOptions {
  /** `FULL` (default): fsync at every commit, an answer survives a crash of the host. `NORMAL`: of the process only. */
  synchronous?: 'FULL' | 'NORMAL';
}

/** One tenant's durable copy in `<dir>/tenant.db`. Open it with {@link TenantStore.open}. */
export class TenantStore {
  private readonly db: BetterSqlite3.Database;
  private readonly seqOf = new WeakMap<object, number>();
  private nextSeq = 1;
  /** The JSON last written, per collection and sequence number; the scalars' JSON. */
  private written = new Map<string, Map<number, string>>();
  private writtenScalars: string | undefined;
  private writtenOrder = new Map<string, string>();
  private writtenKeys: string | undefined;
  private tenant: Tenant | undefined;
  private closed = false;
  private readonly statements: {
    upsertObject: BetterSqlite3.Statement<[string, number, string]>;
    deleteObject: BetterSqlite3.Statement<[string, number]>;
    deleteCollection: BetterSqlite3.Statement<[string]>;
    setMeta: BetterSqlite3.Statement<[string, string]>;
    deleteMeta: BetterSqlite3.Statement<[string]>;
  };
  /** Commits so far (those that found nothing to write too), rows written and deleted, and their total time (ms). */
  readonly totals = { commits: 0, written: 0, deleted: 0, ms: 0 };

  private constructor(
    readonly file: string,
    options: TenantStoreOptions,
  ) {
    this.db = new BetterSqlite3(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`);
    this.db.exec(
      'CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);' +
        'CREATE TABLE IF NOT EXISTS objects (collection TEXT NOT NULL, seq INTEGER NOT NULL, json TEXT NOT NULL, PRIMARY KEY (collection, seq)) WITHOUT ROWID;',
    );
    this.statements = {
      upsertObject: this.db.prepare('INSERT INTO objects (collection, seq, json) VALUES (?, ?, ?) ON CONFLICT (collection, seq) DO UPDATE SET json = excluded.json'),
      deleteObject: this.db.prepare('DELETE FROM objects WHERE collection = ? AND seq = ?'),
      deleteCollection: this.db.prepare('DELETE FROM objects WHERE collection = ?'),
      setMeta: this.db.prepare('INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v'),
      deleteMeta: this.db.prepare('DELETE FROM meta WHERE k = ?'),
    };
  }

  /** Opens (or creates) `<dir>/tenant.db`. */
  static open(dir: string, options: TenantStoreOptions = {}): TenantStore {
    return new TenantStore(path.join(dir, TENANT_DB), options);
  }

  /**
   * The tenant the store holds, attached (later commits follow it), or null when it holds none. A `tenant.json` of
   * a sandbox from before the state was durable is imported (and renamed `tenant.json.imported`) when the store is empty.
   */
  async load(options: { clock?: Clock; ids?: IdGenerator } = {}): Promise<Tenant | null> {
    const state = this.readState() ?? (await this.readLegacy());
    if (!state) return null;
    const tenant = Tenant.fromJSON(state.state, options);
    this.attach(tenant, state.seqs);
    if (state.legacy) {
      this.commit();
      await rename(state.legacy, `${state.legacy}.imported`);
    }
    return tenant;
  }

  /**
   * Follows `tenant` from now on. `seqs`: the sequence numbers of its objects as loaded (per collection, in order);
   * without them every object is new and the first commit writes the whole tenant.
   */
  attach(tenant: Tenant, seqs?: ReadonlyMap<string, readonly number[]>): void {
    if (this.tenant && this.tenant !== tenant) throw new Error('this tenant store already follows another tenant');
    this.tenant = tenant;
    if (!seqs) return;
    const live = tenant.liveState() as unknown as Row;
    for (const [name, list] of seqs) {
      const arr = live[name];
      if (!isCollection(arr) || arr.length !== list.length) {
        // not as loaded: its rows go at the next commit, its objects are written afresh
        this.written.set(name, new Map(list.map((seq) => [seq, ''])));
        continue;
      }
      const rows = new Map<number, string>();
      arr.forEach((obj, i) => {
        const seq = list[i]!;
        this.seqOf.set(obj, seq);
        rows.set(seq, JSON.stringify(obj));
      });
      this.written.set(name, rows);
    }
    this.writtenScalars = JSON.stringify(scalarsOf(live));
  }

  /**
   * Writes what changed since the last commit, in one transaction (fsynced with `synchronous = FULL`). Synchronous:
   * when it returns, the state is on disk. Throws when it could not be written (nothing is then half-written).
   */
  commit(): CommitStats {
    if (this.closed) throw new Error('the tenant store is closed');
    const tenant = this.tenant;
    if (!tenant) return { written: 0, deleted: 0, ms: 0 };
    const t0 = performance.now();
    const live = tenant.liveState() as unknown as Row;
    const upserts: [string, number, string][] = [];
    const deletes: [string, number][] = [];
    const meta: [string, string | null][] = [];
    // what is on disk once the transaction has run (kept aside until it has: a failed commit is repeated in full)
    const written = new Map<string, Map<number, string>>();
    const order = new Map<string, string>();
    const dropped = new Set(this.written.keys());
    for (const [name, value] of Object.entries(live)) {
      if (!isCollection(value)) continue;
      dropped.delete(name);
      const before = this.written.get(name) ?? new Map<number, string>();
      const after = new Map<number, string>();
      let ascending = true;
      let last = 0;
      const seqs: number[] = [];
      for (const obj of value) {
        let seq = this.seqOf.get(obj);
        if (seq === undefined || after.has(seq)) {
          seq = this.nextSeq++;
          this.seqOf.set(obj, seq);
        }
        if (seq < last) ascending = false;
        last = seq;
        seqs.push(seq);
        const json = JSON.stringify(obj);
        after.set(seq, json);
        if (before.get(seq) !== json) upserts.push([name, seq, json]);
      }
      for (const seq of before.keys()) if (!after.has(seq)) deletes.push([name, seq]);
      written.set(name, after);
      const orderJson = ascending ? '' : JSON.stringify(seqs);
      if ((this.writtenOrder.get(name) ?? '') !== orderJson) meta.push([`${ORDER}${name}`, orderJson || null]);
      order.set(name, orderJson);
    }
    const scalars = JSON.stringify(scalarsOf(live));
    const keys = JSON.stringify(Object.keys(live));
    if (scalars !== this.writtenScalars) meta.push([SCALARS, scalars]);
    if (keys !== this.writtenKeys) meta.push([KEYS, keys]);
    if (upserts.length === 0 && deletes.length === 0 && meta.length === 0 && dropped.size === 0) return this.count({ written: 0, deleted: 0, ms: performance.now() - t0 });
    const s = this.statements;
    this.db.transaction(() => {
      for (const name of dropped) {
        s.deleteCollection.run(name);
        s.deleteMeta.run(`${ORDER}${name}`);
      }
      for (const d of deletes) s.deleteObject.run(...d);
      for (const u of upserts) s.upsertObject.run(...u);
      for (const [k, v] of meta) {
        if (v === null) s.deleteMeta.run(k);
        else s.setMeta.run(k, v);
      }
    })();
    this.written = written;
    this.writtenOrder = order;
    this.writtenScalars = scalars;
    this.writtenKeys = keys;
    return this.count({ written: upserts.length + (meta.some(([k]) => k === SCALARS) ? 1 : 0), deleted: deletes.length, ms: performance.now() - t0 });
  }

  private count(stats: CommitStats): CommitStats {
    this.totals.commits += 1;
    this.totals.written += stats.written;
    this.totals.deleted += stats.deleted;
    this.totals.ms += stats.ms;
    return stats;
  }

  /** Commits what is left and closes the database (its WAL is checkpointed into the main file). */
  close(): void {
    if (this.closed) return;
    try {
      this.commit();
    } finally {
      this.closed = true;
      this.db.close();
    }
  }

  private readState(): { state: TenantState; seqs: Map<string, number[]>; legacy?: undefined } | null {
    const meta = new Map((this.db.prepare('SELECT k, v FROM meta').all() as { k: string; v: string }[]).map((r) => [r.k, r.v]));
    const scalarsJson = meta.get(SCALARS);
    if (scalarsJson === undefined) return null;
    const scalars = JSON.parse(scalarsJson) as Row;
    const keys = JSON.parse(meta.get(KEYS) ?? '[]') as string[];
    const names = keys.filter((k) => !(k in scalars));
    const state: Row = {};
    for (const k of keys) state[k] = k in scalars ? scalars[k] : [];
    const seqs = new Map<string, number[]>();
    const rows = this.db.prepare('SELECT seq, json FROM objects WHERE collection = ? ORDER BY seq');
    let maxSeq = 0;
    for (const name of names) {
      const found = rows.all(name) as { seq: number; json: string }[];
      const bySeq = new Map(found.map((r) => [r.seq, r.json]));
      const orderJson = meta.get(`${ORDER}${name}`);
      const order = orderJson ? (JSON.parse(orderJson) as number[]).filter((q) => bySeq.has(q)) : found.map((r) => r.seq);
      for (const r of found) if (!order.includes(r.seq)) order.push(r.seq); // never lose a row the order list missed
      state[name] = order.map((q) => JSON.parse(bySeq.get(q)!) as unknown);
      seqs.set(name, order);
      for (const q of order) maxSeq = Math.max(maxSeq, q);
      if (orderJson) this.writtenOrder.set(name, orderJson);
    }
    this.nextSeq = maxSeq + 1;
    this.writtenKeys = JSON.stringify(keys);
    return { state: state as unknown as TenantState, seqs };
  }

  private async readLegacy(): Promise<{ state: TenantState; seqs?: undefined; legacy: string } | null> {
    const file = path.join(path.dirname(this.file), LEGACY_JSON);
    if (!existsSync(file)) return null;
    return { state: JSON.parse(await readFile(file, 'utf8')) as TenantState, legacy: file };
  }
}

function scalarsOf(live: Row): Row {
  const out: Row = {};
  for (const [k, v] of Object.entries(live)) if (!isCollection(v)) out[k] = v;
  return out;
}

/**
 * Group commit: every `commit()` asked for in one turn of the event loop is served by one {@link TenantStore.commit}
 * run in `setImmediate` (after the turn's I/O callbacks), and each promise resolves only once that commit has
 * returned, i.e. is on disk. A failed commit rejects every promise of its group.
 */
export class GroupCommit {
  private waiting: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  private scheduled = false;

  constructor(private readonly store: TenantStore) {}

  commit(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    this.scheduled = false;
    const group = this.waiting.splice(0);
    try {
      this.store.commit();
    } catch (err) {
      for (const w of group) w.reject(err);
      return;
    }
    for (const w of group) w.resolve();
  }
}
