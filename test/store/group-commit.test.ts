/**
 * SQLite's write transactions (sqliteImmediate) asked for in one turn of the event loop share one commit, each in a
 * savepoint of its own: they run in the order asked, each sees what the ones before it wrote, one that throws is undone
 * alone (its caller gets its error, the others are committed), and a transaction alone that throws leaves nothing.
 * The audit chain and the claims rest on this: appends in one group still make one unbroken chain, and two claims in
 * one group never take the same step.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { openSqlite, type EngineConnection } from '../../src/store/dialect';
import { openStore } from '../../src/store';

describe('SQLite group commit (sqliteImmediate)', function () {
  let dir: string;
  let conn: EngineConnection;

  beforeEach(async function () {
    dir = mkdtempSync(path.join(os.tmpdir(), 'mailroom-group-'));
    conn = openSqlite(path.join(dir, 'g.db'));
    await sql`create table t (n integer not null unique)`.execute(conn.db);
  });

  afterEach(async function () {
    await conn.db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  const rows = async (): Promise<number[]> => (await sql<{ n: number }>`select n from t order by n`.execute(conn.db)).rows.map((r) => r.n);
  const insert = (n: number) => (statement: (text: string) => { run(...p: unknown[]): unknown; get(...p: unknown[]): unknown }) => {
    statement('insert into t (n) values (?)').run(n);
    return (statement('select count(*) as c from t').get() as { c: number }).c;
  };

  it('runs the transactions asked for together in order, each seeing the ones before; one that throws is undone alone', async function () {
    const immediate = conn.sqliteImmediate!;
    const results = await Promise.allSettled([
      immediate(insert(1)),
      immediate((statement) => {
        insert(2)(statement);
        throw new Error('the second one fails after its insert');
      }),
      immediate(insert(3)),
      immediate(insert(1)), // a unique clash: undone alone, with SQLite's own error
    ]);
    assert.deepEqual(
      results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message)),
      [1, 'the second one fails after its insert', 2, 'UNIQUE constraint failed: t.n'],
      'the third saw the first (and not the undone second)',
    );
    assert.deepEqual(await rows(), [1, 3]);
  });

  it('a transaction alone that throws leaves nothing, and the next one works', async function () {
    const immediate = conn.sqliteImmediate!;
    await assert.rejects(
      immediate((statement) => {
        insert(5)(statement);
        throw new Error('no');
      }),
      /no/,
    );
    assert.deepEqual(await rows(), []);
    assert.equal(await immediate(insert(6)), 1);
    assert.deepEqual(await rows(), [6]);
  });

  it('audit appends and claims asked for in one turn make one unbroken chain and never take a step twice', async function () {
    const store = await openStore({ sqliteFile: path.join(dir, 'store.db') });
    try {
      const r = await store.requests.create({ kind: 'user-mailbox', requesterAadObjectId: 'a', requesterName: 'H', tenantId: 't', values: {}, request: {}, status: 'approved' });
      const others = await Promise.all(Array.from({ length: 4 }, () => store.requests.create({ kind: 'user-mailbox', requesterAadObjectId: 'a', requesterName: 'H', tenantId: 't', values: {}, request: {}, status: 'approved' })));
      for (const o of [r, ...others]) await store.runs.createSteps(o.id, [{ stepId: 's', action: 'x', system: 'ad', input: {} }], new Date());
      const [appended, claims] = await Promise.all([
        Promise.all(Array.from({ length: 20 }, (_, i) => store.audit.append({ actorAadObjectId: null, actorName: 'Mailroom', requestRef: `R-${1 + (i % 3)}`, event: 'x.y', data: { i } }))),
        Promise.all(Array.from({ length: 5 }, (_, i) => store.runs.claimNext(`owner-${i}`, new Date(Date.now() + 1000), 60_000, 1))),
      ]);
      assert.deepEqual(
        appended.map((e) => e.seq),
        appended.map((_, i) => appended[0]!.seq + i),
        'in the order asked, without gaps',
      );
      assert.equal((await store.audit.verify()).ok, true);
      const taken = claims.flat().map((s) => s.id);
      assert.equal(taken.length, 5);
      assert.equal(new Set(taken).size, 5, 'each step claimed once');
    } finally {
      await store.close();
    }
  });
});
