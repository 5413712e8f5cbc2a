/**
 * Every difference between the two engines lives in this file: how each one is opened and configured,
 * the column types migrations use, how values are represented, and how migrations are serialized.
 *
 * Portable value representations (the same in SQLite and PostgreSQL):
 * - Timestamps: TEXT holding ISO 8601 in UTC with millisecond precision, exactly what
 *   `Date.prototype.toISOString()` produces (`2025-01-31T09:15:00.000Z`). The width is fixed, so text
 *   order is time order: `<`, `>` and ORDER BY compare correctly in both engines. Timestamps are taken
 *   from the application clock, never from the database (`now()` / `CURRENT_TIMESTAMP` differ in form).
 * - JSON: TEXT holding `JSON.stringify` output, parsed on read. Not `jsonb`: jsonb reorders keys and
 *   drops duplicates, text round-trips exactly.
 * - Booleans: INTEGER 0 or 1. SQLite has no boolean type; a PostgreSQL integer decodes to a JS number.
 * - Integers: INTEGER (32-bit in PostgreSQL). node-postgres returns int8 as a string, so a bigint
 *   column needs a decoder here before any repository uses one.
 *
 * Engine behaviour:
 * - SQLite (better-sqlite3, one connection): WAL journal, `busy_timeout`, foreign keys on,
 *   `synchronous = NORMAL` (durable across application crashes; the last transactions may be lost on
 *   power loss, the WAL default trade-off). Meant for a single bot instance.
 * - PostgreSQL (node-postgres Pool): several bot instances may share one database. Migrations run under
 *   a session advisory lock, so instances starting at the same time migrate one after the other.
 * - Both: a migration run is all or nothing (PostgreSQL: Kysely's transaction; SQLite: BEGIN IMMEDIATE
 *   around the run, which also makes a second process wait for the first one's migrations).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { setTimeout as delay } from 'node:timers/promises';
import { Kysely, PostgresDialect, SqliteDialect, sql, type MigrationResultSet } from 'kysely';
import { Pool } from 'pg';
import { StoreError, describePostgresError, describeSqliteError, parsePostgresUrl, type PostgresTarget } from './errors';
import type { Database } from './schema';

export type Engine = 'sqlite' | 'postgres';

/** Column types for migrations. Identical for both engines today; a future difference goes here. */
export interface ColumnTypes {
  readonly text: 'text';
  readonly integer: 'integer';
  readonly json: 'text';
  readonly timestamp: 'text';
  readonly boolean: 'integer';
}

export function columnTypes(_engine: Engine): ColumnTypes {
  return { text: 'text', integer: 'integer', json: 'text', timestamp: 'text', boolean: 'integer' };
}

export function encodeTimestamp(d: Date): string {
  if (Number.isNaN(d.getTime())) throw new StoreError('invalid-record', 'The store clock returned an invalid date.');
  return d.toISOString();
}

export function encodeBoolean(b: boolean): 0 | 1 {
  return b ? 1 : 0;
}

export function decodeBoolean(v: number | string | bigint): boolean {
  return Number(v) === 1;
}

export function encodeJson(v: unknown): string {
  return JSON.stringify(v);
}

export function decodeJson(text: string): unknown {
  return JSON.parse(text);
}

/** SQLite busy timeout: how long a writer waits for another connection's write lock. */
export const SQLITE_BUSY_TIMEOUT_MS = 5_000;
/** How long opening a PostgreSQL connection may take before it counts as unreachable. */
export const POSTGRES_CONNECT_TIMEOUT_MS = 10_000;
const POSTGRES_POOL_SIZE = 10;
/** Advisory lock key that serializes Mailroom migrations across instances ("MailRo" in ASCII). */
const POSTGRES_MIGRATION_LOCK_KEY = 0x4d61696c526f;

/** An opened engine: the Kysely instance plus the engine-specific behaviour the store needs. */
export interface EngineConnection {
  readonly engine: Engine;
  readonly db: Kysely<Database>;
  /** Turn any error from this engine into a StoreError a person can act on. */
  describe(err: unknown, doing: string): StoreError;
  /** Run the migrator while no other instance (or store in this process) migrates the same database. */
  serializeMigrations(run: () => Promise<MigrationResultSet>): Promise<MigrationResultSet>;
}

export interface BackgroundErrorSink {
  (err: StoreError): void;
}

export function openSqlite(file: string): EngineConnection {
  const inMemory = file === ':memory:' || file === '';
  if (!inMemory) {
    try {
      mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    } catch (err) {
      throw describeSqliteError(err, file, 'create its folder');
    }
  }
  let database: BetterSqlite3.Database;
  try {
    database = new BetterSqlite3(file);
  } catch (err) {
    throw describeSqliteError(err, file, 'open');
  }
  try {
    database.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
    database.pragma('journal_mode = WAL');
    database.pragma('synchronous = NORMAL');
    database.pragma('foreign_keys = ON');
  } catch (err) {
    database.close();
    throw describeSqliteError(err, file, 'configure');
  }
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
  return {
    engine: 'sqlite',
    db,
    describe: (err, doing) => describeSqliteError(err, file, doing),
    // Kysely runs SQLite migrations without a transaction or lock. Here the whole run (its bookkeeping
    // included) is one BEGIN IMMEDIATE transaction: a second process or store waits for the write lock,
    // then finds the migrations done; a failed run is rolled back entirely, as on PostgreSQL.
    serializeMigrations: async (run) => {
      await beginImmediate(database, file);
      let result: MigrationResultSet | undefined;
      try {
        result = await run();
        return result;
      } finally {
        if (database.inTransaction) database.exec(result !== undefined && result.error === undefined ? 'COMMIT' : 'ROLLBACK');
      }
    },
  };
}

/** How long a migrating instance waits for another one's migration to finish. */
const SQLITE_MIGRATION_WAIT_MS = 60_000;

/**
 * Take SQLite's write lock without blocking the event loop: better-sqlite3 waits synchronously, so a
 * second store in the same process would stall the first one that holds the lock. Poll instead.
 */
async function beginImmediate(database: BetterSqlite3.Database, file: string): Promise<void> {
  const deadline = Date.now() + SQLITE_MIGRATION_WAIT_MS;
  database.pragma('busy_timeout = 0');
  try {
    for (;;) {
      try {
        database.exec('BEGIN IMMEDIATE');
        return;
      } catch (err) {
        if ((err as { code?: unknown }).code !== 'SQLITE_BUSY' || Date.now() > deadline) {
          throw describeSqliteError(err, file, 'lock for migration');
        }
        await delay(20);
      }
    }
  } finally {
    database.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
  }
}

export function openPostgres(url: string, onBackgroundError: BackgroundErrorSink): EngineConnection {
  const target: PostgresTarget = parsePostgresUrl(url);
  const pool = new Pool({
    connectionString: url,
    connectionTimeoutMillis: POSTGRES_CONNECT_TIMEOUT_MS,
    max: POSTGRES_POOL_SIZE,
    application_name: 'mailroom',
  });
  // An idle client losing its connection emits on the pool; unhandled, it would end the process.
  pool.on('error', (err) => onBackgroundError(describePostgresError(err, target, 'keep an idle connection')));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    engine: 'postgres',
    db,
    describe: (err, doing) => describePostgresError(err, target, doing),
    // Kysely's migrator takes its own advisory lock, but only after it has created its bookkeeping
    // tables; this lock covers the whole run, so concurrent first starts never race on CREATE TABLE.
    serializeMigrations: (run) =>
      db.connection().execute(async (conn) => {
        await sql`select pg_advisory_lock(${POSTGRES_MIGRATION_LOCK_KEY})`.execute(conn);
        try {
          return await run();
        } finally {
          await sql`select pg_advisory_unlock(${POSTGRES_MIGRATION_LOCK_KEY})`.execute(conn);
        }
      }),
  };
}
