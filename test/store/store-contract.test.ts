/**
 * The store contract: the same behaviour from embedded SQLite and from a real PostgreSQL server.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { inspect } from 'node:util';
import { sql } from 'kysely';
import { MIGRATION_NAMES, StoreError, openStore, type ConversationRefInput, type Store } from '../../src/store';
import { getPostgres } from '../harness/postgres';
import { ENGINES, engineFixture } from './helpers';

function personal(id: string, user: string, tenant = 'tenant-a'): ConversationRefInput {
  return {
    conversationId: id,
    conversationType: 'personal',
    tenantId: tenant,
    serviceUrl: 'https://smba.trafficmanager.net/emea/',
    userAadObjectId: user,
    channelId: null,
    teamId: null,
    reference: {
      activityId: `act-${id}`,
      user: { id: `29:${user}`, aadObjectId: user },
      bot: { id: '28:bot', name: 'Mailroom' },
      conversation: { id, conversationType: 'personal', tenantId: tenant },
      channelId: 'msteams',
      serviceUrl: 'https://smba.trafficmanager.net/emea/',
    },
    botInstalled: true,
  };
}

function channel(id: string, tenant = 'tenant-a'): ConversationRefInput {
  return {
    conversationId: id,
    conversationType: 'channel',
    tenantId: tenant,
    serviceUrl: 'https://smba.trafficmanager.net/emea/',
    userAadObjectId: null,
    channelId: `19:${id}@thread.tacv2`,
    teamId: '19:team@thread.tacv2',
    reference: { conversation: { id, conversationType: 'channel', tenantId: tenant, isGroup: true } },
    botInstalled: true,
  };
}

function groupChat(id: string, tenant = 'tenant-a'): ConversationRefInput {
  return { ...channel(id, tenant), conversationType: 'groupChat', channelId: null, teamId: null };
}

async function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen({ host: '127.0.0.1', port: 0 }, () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr !== null ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

for (const engine of ENGINES) {
  describe(`store contract (${engine})`, function () {
    const fx = engineFixture(engine, 'store');

    async function migrationNames(store: Store): Promise<string[]> {
      const rows = await store.db
        .withTables<{ kysely_migration: { name: string } }>()
        .selectFrom('kysely_migration')
        .select('name')
        .orderBy('name')
        .execute();
      return rows.map((r) => r.name);
    }

    async function rowCount(store: Store): Promise<number> {
      const row = await store.db
        .selectFrom('conversation_refs')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    }

    it('opens on the expected engine and answers a ping', async function () {
      const store = await fx.open(await fx.freshOptions());
      assert.equal(store.engine, engine);
      await store.ping();
    });

    it('migrates a new database to the latest version, and migrating again changes nothing', async function () {
      const opts = await fx.freshOptions();
      const store = await fx.open(opts);
      assert.deepEqual(await migrationNames(store), [...MIGRATION_NAMES]);
      await store.conversations.upsert(personal('a:1', 'user-1'));

      assert.deepEqual(await store.migrate(), []);
      const again = await fx.open(opts);
      assert.deepEqual(await again.migrate(), []);
      assert.deepEqual(await migrationNames(again), [...MIGRATION_NAMES]);
      assert.equal(await rowCount(again), 1);
    });

    it('upsert is idempotent: one row, created then not, createdAt kept, updatedAt moves', async function () {
      const store = await fx.open(await fx.freshOptions());
      const rec = personal('a:idem', 'user-1');

      assert.deepEqual(await store.conversations.upsert(rec), { created: true });
      const first = await store.conversations.get(rec.conversationId);
      assert.ok(first);
      assert.deepEqual(await store.conversations.upsert(rec), { created: false });
      const second = await store.conversations.get(rec.conversationId);
      assert.ok(second);

      assert.equal(await rowCount(store), 1);
      assert.equal(second.createdAt, first.createdAt);
      assert.ok(second.updatedAt > first.updatedAt, `${second.updatedAt} should be after ${first.updatedAt}`);
      assert.deepEqual({ ...second, updatedAt: first.updatedAt }, first);
    });

    it('upsert replaces the stored fields with the resent ones', async function () {
      const store = await fx.open(await fx.freshOptions());
      await store.conversations.upsert(channel('c:1'));
      const moved = { ...channel('c:1'), serviceUrl: 'https://smba.trafficmanager.net/amer/', reference: { v: 2 } };
      assert.deepEqual(await store.conversations.upsert(moved), { created: false });
      const got = await store.conversations.get('c:1');
      assert.equal(got?.serviceUrl, 'https://smba.trafficmanager.net/amer/');
      assert.deepEqual(got?.reference, { v: 2 });
    });

    it('20 concurrent upserts of one conversation, from two store instances, leave one row and one creation', async function () {
      const opts = await fx.freshOptions();
      const a = await fx.open(opts);
      const b = await fx.open(opts);
      const rec = groupChat('g:race');
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).conversations.upsert({ ...rec, reference: { attempt: i } })),
      );
      assert.equal(results.filter((r) => r.created).length, 1);
      assert.equal(await rowCount(a), 1);
      const stored = await b.conversations.get(rec.conversationId);
      assert.equal(stored?.conversationType, 'groupChat');
      assert.equal(typeof stored?.reference.attempt, 'number');
    });

    it('personalFor finds the personal chat of a user in a tenant, preferring an installed one', async function () {
      const store = await fx.open(await fx.freshOptions());
      const c = store.conversations;
      await c.upsert(personal('p:old', 'user-1'));
      await c.upsert(personal('p:other-user', 'user-2'));
      await c.upsert(personal('p:other-tenant', 'user-1', 'tenant-b'));
      await c.upsert({ ...groupChat('g:1'), userAadObjectId: 'user-1' });

      assert.equal((await c.personalFor('user-1', 'tenant-a'))?.conversationId, 'p:old');
      assert.equal((await c.personalFor('user-1', 'tenant-b'))?.conversationId, 'p:other-tenant');
      assert.equal(await c.personalFor('user-3', 'tenant-a'), undefined);
      assert.equal(await c.personalFor('user-2', 'tenant-b'), undefined);

      await c.upsert(personal('p:new', 'user-1'));
      assert.equal((await c.personalFor('user-1', 'tenant-a'))?.conversationId, 'p:new', 'the most recently updated wins');
      await c.markUninstalled('p:new');
      assert.equal((await c.personalFor('user-1', 'tenant-a'))?.conversationId, 'p:old', 'an installed one wins');
    });

    it('markUninstalled keeps the reference, marks it, and a reinstall marks it installed again', async function () {
      const store = await fx.open(await fx.freshOptions());
      const c = store.conversations;
      await c.upsert(channel('c:gone'));
      const before = await c.get('c:gone');
      assert.equal(before?.botInstalled, true);

      await c.markUninstalled('c:gone');
      const after = await c.get('c:gone');
      assert.ok(before && after);
      assert.equal(after.botInstalled, false);
      assert.ok(after.updatedAt > before.updatedAt);
      assert.deepEqual(after.reference, before.reference);

      await c.markUninstalled('c:gone'); // resent uninstall event
      assert.equal((await c.get('c:gone'))?.updatedAt, after.updatedAt);
      await c.markUninstalled('c:never-seen');
      assert.equal(await c.get('c:never-seen'), undefined);

      assert.deepEqual(await c.upsert(channel('c:gone')), { created: false });
      assert.equal((await c.get('c:gone'))?.botInstalled, true);
    });

    it('list filters by conversation type and tenant, oldest first', async function () {
      const store = await fx.open(await fx.freshOptions());
      const c = store.conversations;
      await c.upsert(personal('p:1', 'user-1'));
      await c.upsert(channel('c:1'));
      await c.upsert(groupChat('g:1', 'tenant-b'));
      await c.upsert(channel('c:2', 'tenant-b'));
      const ids = (recs: { conversationId: string }[]) => recs.map((r) => r.conversationId);

      assert.deepEqual(ids(await c.list()), ['p:1', 'c:1', 'g:1', 'c:2']);
      assert.deepEqual(ids(await c.list({ conversationType: 'channel' })), ['c:1', 'c:2']);
      assert.deepEqual(ids(await c.list({ tenantId: 'tenant-b' })), ['g:1', 'c:2']);
      assert.deepEqual(ids(await c.list({ tenantId: 'tenant-b', conversationType: 'channel' })), ['c:2']);
      assert.deepEqual(await c.list({ tenantId: 'tenant-z' }), []);
    });

    it('round-trips the JSON reference exactly: nesting, key order, unicode, escapes', async function () {
      const store = await fx.open(await fx.freshOptions());
      const reference: Record<string, unknown> = {
        zeta: 1,
        alpha: { nested: { deeper: [1, 2.5, -3e-7, { k: null }], empty: {}, list: [] } },
        names: ['Zoë Ångström', '渡辺 さくら', 'مرحبا', '👩🏽‍💻 🧑‍🤝‍🧑', 'e\u0301'],
        escapes: 'quote " backslash \\ newline \n tab \t nul \u0000 lone \ud800',
        flags: { yes: true, no: false },
        big: Number.MAX_SAFE_INTEGER,
      };
      await store.conversations.upsert({ ...personal('p:json', 'user-1'), reference });
      const got = await store.conversations.get('p:json');
      assert.ok(got);
      assert.deepEqual(got.reference, reference);
      assert.equal(JSON.stringify(got.reference), JSON.stringify(reference), 'key order is kept');
    });

    it('keeps the data when the store is closed and opened again', async function () {
      const opts = await fx.freshOptions();
      const first = await openStore(opts);
      await first.conversations.upsert(personal('p:keep', 'user-1'));
      await first.conversations.markUninstalled('p:keep');
      const saved = await first.conversations.get('p:keep');
      await first.close();
      await first.close(); // closing twice is harmless
      await assert.rejects(first.ping(), (err: unknown) => err instanceof StoreError && err.code === 'closed');

      const second = await fx.open(opts);
      assert.deepEqual(await second.conversations.get('p:keep'), saved);
    });

    it('rolls a failed migration run back entirely and says which migration failed', async function () {
      const opts = await fx.freshOptions();
      await fx.rawExec(opts, 'create table conversation_refs (unrelated integer)');
      const err = await openStore(opts).then(
        () => assert.fail('openStore should have failed'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof StoreError);
      assert.equal(err.code, 'migration-failed');
      assert.match(err.message, /could not apply migration 0001_initial/i);
      assert.match(err.message, /Every migration of this run was rolled back/);

      await fx.rawExec(opts, 'drop table conversation_refs');
      const store = await fx.open(opts);
      assert.deepEqual(await migrationNames(store), [...MIGRATION_NAMES]);
      assert.deepEqual(await store.conversations.upsert(channel('c:after')), { created: true });
    });

    it('migrates once when several stores open a new database at the same time', async function () {
      const opts = await fx.freshOptions();
      const stores = await Promise.all(Array.from({ length: 4 }, () => fx.open(opts)));
      assert.deepEqual(await migrationNames(stores[0]!), [...MIGRATION_NAMES]);
      await Promise.all(stores.map((s) => s.ping()));
    });

    it('refuses to open a database migrated by a newer version, and changes nothing', async function () {
      const opts = await fx.freshOptions();
      const store = await fx.open(opts);
      await store.db
        .withTables<{ kysely_migration: { name: string; timestamp: string } }>()
        .insertInto('kysely_migration')
        .values({ name: '9999_from_the_future', timestamp: new Date().toISOString() })
        .execute();
      const err = await openStore(opts).then(
        () => assert.fail('openStore should have failed'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof StoreError);
      assert.equal(err.code, 'migration-failed');
      assert.match(err.message, /has migration 9999_from_the_future, which this version of Mailroom does not know/);
      assert.deepEqual(await migrationNames(store), [...MIGRATION_NAMES, '9999_from_the_future']);
    });

    it('refuses an invalid record with a plain message and writes nothing', async function () {
      const store = await fx.open(await fx.freshOptions());
      const bad = { ...channel('c:bad'), conversationType: 'meeting' } as unknown as ConversationRefInput;
      await assert.rejects(store.conversations.upsert(bad), (err: unknown) => {
        assert.ok(err instanceof StoreError);
        assert.equal(err.code, 'invalid-record');
        assert.match(err.message, /conversationType must be one of personal, groupChat, channel \(got "meeting"\)/);
        return true;
      });
      assert.equal(await rowCount(store), 0);
    });

    if (engine === 'postgres') {
      it('fails with a clear message and no password when PostgreSQL refuses the connection', async function () {
        const port = await closedPort();
        const secret = 'S3cret-pa55word';
        const err = await openStore({ sqliteFile: fx.file('unused.db'), databaseUrl: `postgres://mailroom:${secret}@127.0.0.1:${port}/mailroom` }).then(
          () => assert.fail('openStore should have failed'),
          (e: unknown) => e,
        );
        assert.ok(err instanceof StoreError, `expected a StoreError, got ${inspect(err)}`);
        assert.equal(err.code, 'unreachable');
        assert.match(err.message, new RegExp(`^PostgreSQL at 127\\.0\\.0\\.1:${port} refused the connection \\(ECONNREFUSED\\); check DATABASE_URL`));
        assert.ok(err.message.includes(`postgres://mailroom:***@127.0.0.1:${port}/mailroom`), err.message);
        assert.ok(!inspect(err, { depth: 10 }).includes(secret), 'the password must not appear anywhere in the error');
      });

      it('fails with a clear message and no password when the password is wrong', async function () {
        const pg = await getPostgres();
        const url = new URL(pg.url());
        const secret = 'Wrong-pa55word';
        url.password = secret;
        const err = await openStore({ sqliteFile: fx.file('unused.db'), databaseUrl: url.toString() }).then(
          () => assert.fail('openStore should have failed'),
          (e: unknown) => e,
        );
        assert.ok(err instanceof StoreError);
        assert.equal(err.code, 'login-rejected');
        assert.match(err.message, /rejected the password for user "postgres" \(28P01\)/);
        assert.ok(!inspect(err, { depth: 10 }).includes(secret));
      });

      it('says which database is missing', async function () {
        const pg = await getPostgres();
        const err = await openStore({ sqliteFile: fx.file('unused.db'), databaseUrl: pg.url('no_such_db') }).then(
          () => assert.fail('openStore should have failed'),
          (e: unknown) => e,
        );
        assert.ok(err instanceof StoreError);
        assert.equal(err.code, 'database-missing');
        assert.match(err.message, /has no database named "no_such_db" \(3D000\)/);
      });
    } else {
      it('fails with a clear message when the SQLite file cannot be created', async function () {
        const blocker = fx.file('a-file');
        writeFileSync(blocker, 'not a folder');
        const err = await openStore({ sqliteFile: path.join(blocker, 'mailroom.db') }).then(
          () => assert.fail('openStore should have failed'),
          (e: unknown) => e,
        );
        assert.ok(err instanceof StoreError);
        assert.equal(err.code, 'sqlite-failed');
        assert.match(err.message, /part of the path is a file, not a folder/);
        assert.ok(err.message.includes(blocker));
      });

      it('fails with a clear message when the file is not an SQLite database', async function () {
        const file = fx.file('garbage.db');
        writeFileSync(file, 'x'.repeat(4096));
        const err = await openStore({ sqliteFile: file }).then(
          () => assert.fail('openStore should have failed'),
          (e: unknown) => e,
        );
        assert.ok(err instanceof StoreError);
        assert.match(err.message, /is not an SQLite database \(SQLITE_NOTADB\)/);
      });

      it('runs in WAL mode with foreign keys and a busy timeout', async function () {
        const store = await fx.open(await fx.freshOptions());
        const pragma = async (name: string): Promise<unknown> => {
          const r = await sql<Record<string, unknown>>`select * from ${sql.raw(`pragma_${name}`)}`.execute(store.db);
          return Object.values(r.rows[0] ?? {})[0];
        };
        assert.equal(await pragma('journal_mode'), 'wal');
        assert.equal(await pragma('foreign_keys'), 1);
        assert.equal(await pragma('busy_timeout'), 5000);
      });
    }
  });
}
