/**
 * Shared set-up for the store contract suites: a fresh database per test on either engine, stores
 * closed after each test, raw SQL on the database without the store, and the assertion on StoreErrors.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import { Client, Pool } from 'pg';
import { MIGRATION_NAMES, StoreError, openStore, type Store, type StoreOptions } from '../../src/store';
import { migrationProvider } from '../../src/store/migrations';
import { getPostgres } from '../harness/postgres';

export type Engine = Store['engine'];
export const ENGINES: readonly Engine[] = ['sqlite', 'postgres'];

/** Asserts that `p` rejects with a StoreError of this code (and a message matching `message`); returns it. */
export async function expectStoreError(p: Promise<unknown>, code: StoreError['code'], message?: RegExp): Promise<StoreError> {
  const err = await p.then(
    () => assert.fail(`expected a StoreError ${code}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof StoreError, `expected a StoreError, got ${String(err)}`);
  assert.equal(err.code, code, err.message);
  if (message) assert.match(err.message, message);
  return err;
}

/** A clock that moves one second forward on every reading, so timestamps always differ. */
export function steppingClock(start = Date.parse('2025-03-01T08:00:00.000Z')): () => Date {
  let t = start;
  return () => new Date((t += 1_000));
}

export interface EngineFixture {
  /** Options for a new, empty database of this engine. */
  freshOptions(clock?: () => Date): Promise<StoreOptions>;
  /** openStore, closed after the test. */
  open(opts: StoreOptions): Promise<Store>;
  /** Run SQL on the database behind `opts` without the store. */
  rawExec(opts: StoreOptions, text: string): Promise<void>;
  /** A path in the suite's temporary folder (made before its first test, removed after its last). */
  file(name: string): string;
}

/** Call inside a mocha `describe`: registers the hooks and returns the fixture. */
export function engineFixture(engine: Engine, prefix: string): EngineFixture {
  let tmp = '';
  let counter = 0;
  const opened: Store[] = [];

  before(function () {
    tmp = mkdtempSync(path.join(os.tmpdir(), `mailroom-${prefix}-${engine}-`));
  });
  afterEach(async function () {
    await Promise.all(opened.splice(0).map((s) => s.close()));
  });
  after(function () {
    rmSync(tmp, { recursive: true, force: true });
  });

  return {
    async freshOptions(clock = steppingClock()) {
      counter += 1;
      const sqliteFile = path.join(tmp, `db-${counter}`, 'mailroom.db');
      if (engine === 'sqlite') return { sqliteFile, clock };
      const pg = await getPostgres();
      return { sqliteFile, databaseUrl: await pg.createDatabase(`${prefix}_${counter}`), clock };
    },
    async open(opts) {
      const store = await openStore(opts);
      opened.push(store);
      return store;
    },
    async rawExec(opts, text) {
      if (opts.databaseUrl === undefined) {
        mkdirSync(path.dirname(opts.sqliteFile), { recursive: true });
        const db = new BetterSqlite3(opts.sqliteFile);
        try {
          db.exec(text);
        } finally {
          db.close();
        }
        return;
      }
      const client = new Client({ connectionString: opts.databaseUrl });
      await client.connect();
      try {
        await client.query(text);
      } finally {
        await client.end();
      }
    },
    file: (name) => path.join(tmp, name),
  };
}

/** A Kysely of its own on a store's database (SQLite file or PostgreSQL), e.g. to migrate it to an older version. */
export function rawKysely(opts: StoreOptions): Kysely<unknown> {
  if (opts.databaseUrl === undefined) {
    mkdirSync(path.dirname(opts.sqliteFile), { recursive: true });
    return new Kysely({ dialect: new SqliteDialect({ database: new BetterSqlite3(opts.sqliteFile) }) });
  }
  return new Kysely({ dialect: new PostgresDialect({ pool: new Pool({ connectionString: opts.databaseUrl, max: 2 }) }) });
}

/**
 * A fresh database migrated only to `version`, seeded by `seed` without the store, then opened by two stores at once
 * (two instances upgrading together); asserts that every migration ran exactly once, and returns both stores.
 */
export async function storesUpgradedFrom(fx: EngineFixture, engine: Engine, version: string, seed: (old: Kysely<unknown>) => Promise<void>): Promise<[Store, Store]> {
  const opts = await fx.freshOptions();
  const old = rawKysely(opts);
  try {
    const { error } = await new Migrator({ db: old, provider: migrationProvider(engine) }).migrateTo(version);
    assert.equal(error, undefined);
    await seed(old);
  } finally {
    await old.destroy();
  }
  const stores = await Promise.all([fx.open(opts), fx.open(opts)]);
  const names = await stores[0].db.withTables<{ kysely_migration: { name: string } }>().selectFrom('kysely_migration').select('name').orderBy('name').execute();
  assert.deepEqual(
    names.map((n) => n.name),
    [...MIGRATION_NAMES],
  );
  return stores;
}
