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
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
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
  /** Run `fn` while no other instance runs migrations on the same database. */
  withMigrationLock<T>(fn: () => Promise<T>): Promise<T>;
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
      throw describeSqliteError(err, file, 'create the folder for');
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
    // One connection per process, and Kysely's SQLite migrator holds it for the whole run.
    withMigrationLock: (fn) => fn(),
  };
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
    withMigrationLock: (fn) =>
      db.connection().execute(async (conn) => {
        await sql`select pg_advisory_lock(${POSTGRES_MIGRATION_LOCK_KEY})`.execute(conn);
        try {
          return await fn();
        } finally {
          await sql`select pg_advisory_unlock(${POSTGRES_MIGRATION_LOCK_KEY})`.execute(conn);
        }
      }),
  };
}
