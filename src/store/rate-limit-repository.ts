/**
 * Rate limits shared by every Mailroom instance on one database: a sliding window of `limit` slots per
 * `windowMs` per key, plus a shared block (a throttled call's Retry-After). Used for Graph provisionOnDemand,
 * which allows 5 calls per 10 s per Cloud Sync job however many instances call it.
 *
 * Each key has one row (migration 0004) holding the times of the slots taken inside the window; `take` reads
 * and writes it under a lock, so of any number of concurrent takes, from any number of instances, at most
 * `limit` succeed within one window:
 * - PostgreSQL: one transaction — the row is created if missing (`ON CONFLICT DO NOTHING`, which waits for a
 *   concurrent creator), then locked with `SELECT … FOR UPDATE`, checked and updated. Concurrent takes of one
 *   key queue on the row lock; other keys are not affected.
 * - SQLite: read, check and write inside one BEGIN IMMEDIATE transaction (`sqliteImmediate`): the single
 *   writer decides alone, across connections and processes.
 *
 * Times are the caller's (`now`, the application clock), never the database's. A slot counts while
 * `now - windowMs < taken`; slots from a clock that runs ahead count until they fall out of the window, so
 * skew between instances errs on the safe side. The row never holds more slots than the limit: older ones are
 * dropped whenever a slot is taken.
 */
import type { Kysely } from 'kysely';
import { compiledSqlOnce, decodeJson, encodeJson, sqliteImmediateOf, type EngineConnection, type TimeInput } from './dialect';
import type { Database } from './schema';
import { checkCount, checkTime, invalid } from './validation';

export interface RateLimitState {
  /** ISO 8601 UTC times of the slots kept for the key (those of the last window, oldest first). */
  slots: string[];
  /** ISO 8601 UTC, or null: no slot is given before it. */
  blockedUntil: string | null;
}

export interface RateLimitRepository {
  /**
   * Take one slot of `key`'s window: true when fewer than `limit` slots were taken in the `windowMs` up to
   * `now` and the key is not blocked at `now` (the slot is then recorded at `now`); false otherwise (nothing
   * changes). Atomic across instances.
   */
  take(key: string, limit: number, windowMs: number, now: TimeInput): Promise<boolean>;
  /**
   * Give no slot of `key` before `until` (e.g. a 429's Retry-After). A block is only ever extended: an earlier
   * `until` than the one stored changes nothing.
   */
  block(key: string, until: TimeInput, now: TimeInput): Promise<void>;
  /** What is stored for `key`, or undefined when nothing was (for tests and diagnostics). */
  get(key: string): Promise<RateLimitState | undefined>;
}

const MAX_KEY = 500;
const MAX_LIMIT = 1_000;
const MAX_WINDOW_MS = 24 * 60 * 60 * 1000;

function checkKey(v: unknown, what: string): string {
  if (typeof v !== 'string' || v === '' || v.length > MAX_KEY) invalid(what, [`key must be a non-empty string of at most ${MAX_KEY} characters`]);
  return v;
}

/** The stored slot times, whatever was stored (a damaged value counts as no slots rather than stopping calls for good). */
function slotsOf(text: string | undefined): string[] {
  if (text === undefined) return [];
  let v: unknown;
  try {
    v = decodeJson(text);
  } catch {
    return [];
  }
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && !Number.isNaN(Date.parse(x))) : [];
}

interface Row {
  slots_json: string;
  blocked_until: string | null;
}

/**
 * The decision of one take on the row as read (undefined: no row yet): the slots to store when granted
 * (inside the window, oldest first, `now` last), or undefined when refused.
 */
function decide(row: Row | undefined, limit: number, windowMs: number, now: string): string[] | undefined {
  if (row?.blocked_until != null && row.blocked_until > now) return undefined;
  const since = Date.parse(now) - windowMs;
  const inWindow = slotsOf(row?.slots_json)
    .filter((t) => Date.parse(t) > since)
    .sort();
  if (inWindow.length >= limit) return undefined;
  return [...inWindow, now].sort();
}

export function createRateLimitRepository(conn: Pick<EngineConnection, 'engine' | 'db' | 'sqliteImmediate'>): RateLimitRepository {
  const db: Kysely<Database> = conn.db;

  // SQLite: statements run synchronously on the store's one connection inside BEGIN IMMEDIATE.
  const immediate = sqliteImmediateOf(conn, 'rate limits cannot be kept safely');

  const select = (key: string) => db.selectFrom('rate_limits').select(['slots_json', 'blocked_until']).where('key', '=', key);
  // SQLite: a take for every call to Graph and Exchange, so its two statements are compiled once (see compiledSqlOnce)
  const readOnce = compiledSqlOnce((arg) => select(arg<string>(0)));
  const upsertOnce = compiledSqlOnce((arg) =>
    db
      .insertInto('rate_limits')
      .values({ key: arg<string>(0), slots_json: arg<string>(1), blocked_until: null, updated_at: arg<string>(2) })
      .onConflict((oc) => oc.column('key').doUpdateSet({ slots_json: arg<string>(1), updated_at: arg<string>(2) })),
  );

  return {
    async take(key, limit, windowMs, now) {
      const what = 'take';
      const k = checkKey(key, what);
      const n = checkCount(limit, 'limit', MAX_LIMIT, what);
      const ms = checkCount(windowMs, 'windowMs', MAX_WINDOW_MS, what);
      const at = checkTime(now, 'now', what);

      if (immediate !== undefined) {
        const read = readOnce(k);
        return immediate((statement) => {
          const row = statement(read.sql).get(...read.parameters) as Row | undefined;
          const slots = decide(row, n, ms, at);
          if (slots === undefined) return false;
          const write = upsertOnce(k, encodeJson(slots), at);
          statement(write.sql).run(...write.parameters);
          return true;
        });
      }
      return db.transaction().execute(async (tx) => {
        // The row must exist to be locked; a concurrent creator's insert is waited for, then nothing happens.
        await tx
          .insertInto('rate_limits')
          .values({ key: k, slots_json: '[]', blocked_until: null, updated_at: at })
          .onConflict((oc) => oc.column('key').doNothing())
          .execute();
        const row = await tx.selectFrom('rate_limits').select(['slots_json', 'blocked_until']).where('key', '=', k).forUpdate().executeTakeFirst();
        const slots = decide(row, n, ms, at);
        if (slots === undefined) return false;
        await tx.updateTable('rate_limits').set({ slots_json: encodeJson(slots), updated_at: at }).where('key', '=', k).execute();
        return true;
      });
    },

    async block(key, until, now) {
      const what = 'block';
      const k = checkKey(key, what);
      const end = checkTime(until, 'until', what);
      const at = checkTime(now, 'now', what);
      // One statement on both engines; ISO 8601 text of fixed width compares as time.
      await db
        .insertInto('rate_limits')
        .values({ key: k, slots_json: '[]', blocked_until: end, updated_at: at })
        .onConflict((oc) =>
          oc.column('key').doUpdateSet((eb) => ({
            blocked_until: eb
              .case()
              .when(eb.or([eb('rate_limits.blocked_until', 'is', null), eb('rate_limits.blocked_until', '<', eb.ref('excluded.blocked_until'))]))
              .then(eb.ref('excluded.blocked_until'))
              .else(eb.ref('rate_limits.blocked_until'))
              .end(),
            updated_at: at,
          })),
        )
        .execute();
    },

    async get(key) {
      const k = checkKey(key, 'get');
      const row = await select(k).executeTakeFirst();
      return row === undefined ? undefined : { slots: slotsOf(row.slots_json).sort(), blockedUntil: row.blocked_until };
    },
  };
}
