/**
 * The audit log: append-only, hash-chained, serialized across instances, exportable — on both engines.
 */
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { sql } from 'kysely';
import { AUDIT_GENESIS_HASH, StoreError, auditHash, canonicalJson, type AuditEvent, type AuditEventInput, type Store } from '../../src/store';
import { ENGINES, engineFixture } from './helpers';

function ev(i: number, overrides: Partial<AuditEventInput> = {}): AuditEventInput {
  return {
    actorAadObjectId: i % 5 === 0 ? null : `aad-${i % 3}`,
    actorName: i % 5 === 0 ? 'Mailroom' : `Person ${i % 3}`,
    requestRef: i % 4 === 0 ? null : `R-${(i % 7) + 1}`,
    event: i % 2 === 0 ? 'request.created' : 'operation.started',
    data: { i, zeta: 'last', alpha: { nested: [1, 'two', { b: true, a: null }] }, name: 'Zoë Ångström 渡辺' },
    ...overrides,
  };
}

/** RFC 4180 parser for the tests: returns rows of fields. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
      } else if (c === '"') {
        quoted = false;
        i += 1;
      } else {
        field += c;
        i += 1;
      }
    } else if (c === '"' && field === '') {
      quoted = true;
      i += 1;
    } else if (c === ',') {
      row.push(field);
      field = '';
      i += 1;
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i += 2;
    } else {
      assert.ok(c !== '\n' && c !== '\r' && c !== '"', `unquoted ${JSON.stringify(c)} at ${i}`);
      field += c;
      i += 1;
    }
  }
  assert.equal(field, '', 'the last line ends with CRLF');
  assert.equal(row.length, 0);
  return rows;
}

function assertChain(events: AuditEvent[]): void {
  let prev = AUDIT_GENESIS_HASH;
  events.forEach((e, i) => {
    assert.equal(e.seq, i + 1);
    assert.equal(e.prevHash, prev, `prev_hash of ${e.seq}`);
    assert.equal(e.hash, auditHash(e), `hash of ${e.seq}`);
    prev = e.hash;
  });
}

async function expectRefused(p: Promise<unknown>, message: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.match(String((err as Error).message), message);
    return true;
  });
}

for (const engine of ENGINES) {
  describe(`audit log (${engine})`, function () {
    const fx = engineFixture(engine, 'audit');

    async function fresh(): Promise<Store> {
      return fx.open(await fx.freshOptions());
    }

    async function dropTrigger(store: Store, name: string): Promise<void> {
      await sql.raw(engine === 'postgres' ? `drop trigger ${name} on audit_events` : `drop trigger ${name}`).execute(store.db);
    }

    async function appendMany(store: Store, n: number): Promise<AuditEvent[]> {
      const out: AuditEvent[] = [];
      for (let i = 1; i <= n; i++) out.push(await store.audit.append(ev(i)));
      return out;
    }

    it('hashes a documented canonical form: sorted keys, no whitespace, SHA-256 hex', function () {
      assert.equal(canonicalJson({ b: 1, a: [{ d: 'x', c: null }], é: 'ü' }), '{"a":[{"c":null,"d":"x"}],"b":1,"é":"ü"}');
      const e = {
        seq: 1,
        at: '2025-03-01T08:00:01.000Z',
        actorAadObjectId: null,
        actorName: 'Mailroom',
        requestRef: 'R-1',
        event: 'request.created',
        data: { b: 2, a: 1 },
        prevHash: AUDIT_GENESIS_HASH,
      };
      const canonical = `{"actorAadObjectId":null,"actorName":"Mailroom","at":"2025-03-01T08:00:01.000Z","data":{"a":1,"b":2},"event":"request.created","prevHash":"${AUDIT_GENESIS_HASH}","requestRef":"R-1","seq":1}`;
      assert.equal(auditHash(e), createHash('sha256').update(canonical).digest('hex'));
    });

    it('appends a chain of 100 events that verifies, in pages too', async function () {
      const store = await fresh();
      const appended = await appendMany(store, 100);
      assertChain(appended);
      assert.equal(appended[0]!.prevHash, '0'.repeat(64));
      assert.deepEqual(appended[0]!.data, { alpha: { nested: [1, 'two', { a: null, b: true }] }, i: 1, name: 'Zoë Ångström 渡辺', zeta: 'last' });
      assert.deepEqual(Object.keys(appended[0]!.data), ['alpha', 'i', 'name', 'zeta'], 'data comes back in canonical (sorted) order');
      assert.ok(appended.every((e, i) => i === 0 || e.at >= appended[i - 1]!.at));

      const listed = await store.audit.list({ limit: 1000 });
      assert.deepEqual(listed, appended);
      assert.deepEqual(await store.audit.verify(), { ok: true, count: 100, lastHash: appended[99]!.hash });
      assert.deepEqual(await store.audit.verify({ pageSize: 7 }), { ok: true, count: 100, lastHash: appended[99]!.hash });
    });

    it('verifies an empty log', async function () {
      const store = await fresh();
      assert.deepEqual(await store.audit.verify(), { ok: true, count: 0, lastHash: AUDIT_GENESIS_HASH });
    });

    it('lists by request reference and after a seq, limited', async function () {
      const store = await fresh();
      const all = await appendMany(store, 30);
      const forR3 = all.filter((e) => e.requestRef === 'R-3');
      assert.ok(forR3.length > 2);
      assert.deepEqual(await store.audit.list({ requestRef: 'R-3', limit: 100 }), forR3);
      assert.deepEqual(await store.audit.list({ requestRef: 'R-3', afterSeq: forR3[0]!.seq, limit: 1 }), [forR3[1]]);
      assert.deepEqual(await store.audit.list({ afterSeq: 25, limit: 100 }), all.slice(25));
      assert.deepEqual(await store.audit.list({ afterSeq: 30, limit: 100 }), []);
    });

    it('concurrent appends from two store instances give one unbroken chain with no gaps', async function () {
      const opts = await fx.freshOptions();
      const a = await fx.open(opts);
      const b = await fx.open(opts);
      const results = await Promise.all(
        Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? a : b).audit.append(ev(i + 1, { data: { from: i % 2 === 0 ? 'a' : 'b', i } }))),
      );
      assert.deepEqual(
        results.map((e) => e.seq).sort((x, y) => x - y),
        Array.from({ length: 100 }, (_, i) => i + 1),
      );
      const listed = await b.audit.list({ limit: 1000 });
      assert.equal(listed.length, 100);
      assertChain(listed);
      assert.deepEqual(new Set(listed.map((e) => e.data.from)), new Set(['a', 'b']));
      assert.deepEqual(await a.audit.verify(), { ok: true, count: 100, lastHash: listed[99]!.hash });
    });

    it('concurrent appends and creates from another process give one chain and unique references', async function () {
      this.timeout(120_000);
      const opts = await fx.freshOptions();
      const store = await fx.open(opts);
      const child = fork(path.join(__dirname, 'fixtures', 'store-worker.ts'), {
        execArgv: ['--import', 'tsx'],
        env: { ...process.env, MAILROOM_WORKER: JSON.stringify({ ...opts, clock: undefined, appends: 60, creates: 20 }) },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      try {
        const messages: unknown[] = [];
        const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
        const ready = new Promise<void>((resolve, reject) => {
          child.on('message', (m) => (m === 'ready' ? resolve() : messages.push(m)));
          child.once('exit', (code) => reject(new Error(`the worker exited (${code}) before it was ready`)));
        });
        await ready;
        child.send('go');
        const [events, requests] = await Promise.all([
          Promise.all(Array.from({ length: 60 }, (_, i) => store.audit.append(ev(i + 1, { data: { from: 'parent', i } })))),
          Promise.all(Array.from({ length: 20 }, (_, i) => store.requests.create({ kind: 'user-mailbox', requesterAadObjectId: `aad-${i}`, requesterName: 'P', tenantId: 't', values: {}, request: { i } }))),
        ]);
        assert.equal(await exited, 0);
        const reply = messages[0] as { seqs: number[]; references: string[] };
        const seqs = [...events.map((e) => e.seq), ...reply.seqs].sort((x, y) => x - y);
        assert.deepEqual(seqs, Array.from({ length: 120 }, (_, i) => i + 1));
        const refs = new Set([...requests.map((r) => r.reference), ...reply.references]);
        assert.equal(refs.size, 40);
        const listed = await store.audit.list({ limit: 1000 });
        assertChain(listed);
        assert.deepEqual(new Set(listed.map((e) => e.actorName === 'Worker')), new Set([true, false]));
        assert.deepEqual(await store.audit.verify(), { ok: true, count: 120, lastHash: listed[119]!.hash });
      } finally {
        if (child.exitCode === null) child.kill();
      }
    });

    it('refuses UPDATE, DELETE and an insert that does not extend the chain, in the database itself', async function () {
      const store = await fresh();
      await appendMany(store, 3);
      await expectRefused(sql`update audit_events set data = '{}' where seq = 2`.execute(store.db), /audit_events is append-only: UPDATE is refused/);
      await expectRefused(sql`delete from audit_events where seq = 3`.execute(store.db), /audit_events is append-only: DELETE is refused/);
      await expectRefused(sql`delete from audit_events`.execute(store.db), /append-only: DELETE is refused/);
      await expectRefused(
        sql`insert into audit_events (seq, at, actor_name, event, data, prev_hash, hash) values (9, '2025-01-01T00:00:00.000Z', 'x', 'x.y', '{}', ${'0'.repeat(64)}, ${'1'.repeat(64)})`.execute(store.db),
        /does not extend the chain/,
      );
      await expectRefused(
        sql`insert into audit_events (seq, at, actor_name, event, data, prev_hash, hash) values (4, '2025-01-01T00:00:00.000Z', 'x', 'x.y', '{}', ${'0'.repeat(64)}, ${'1'.repeat(64)})`.execute(store.db),
        /does not extend the chain/,
      );
      await expectRefused(sql`update audit_chain_head set last_seq = 1`.execute(store.db), /only moves forward one event at a time/);
      await expectRefused(sql`delete from audit_chain_head`.execute(store.db), /append-only: DELETE is refused/);
      if (engine === 'postgres') {
        await expectRefused(sql`truncate audit_events`.execute(store.db), /audit_events is append-only: TRUNCATE is refused/);
      }
      assert.deepEqual((await store.audit.verify()).ok, true);
      assert.equal((await store.audit.list({ limit: 10 })).length, 3);
      const api = store.audit as unknown as Record<string, unknown>;
      for (const name of ['update', 'delete', 'remove', 'clear', 'truncate']) assert.equal(api[name], undefined, `no ${name} method`);
    });

    it('detects a changed event at its exact seq once the trigger is bypassed', async function () {
      const store = await fresh();
      await appendMany(store, 100);
      await dropTrigger(store, 'audit_events_no_update');
      await sql`update audit_events set data = ${canonicalJson({ ...ev(37).data, i: 1037 })} where seq = 37`.execute(store.db);
      assert.deepEqual(await store.audit.verify(), { ok: false, brokenAtSeq: 37, reason: "the hash does not match the event's contents: the event was changed" });
      assert.deepEqual(await store.audit.verify({ pageSize: 10 }), { ok: false, brokenAtSeq: 37, reason: "the hash does not match the event's contents: the event was changed" });
    });

    it('detects a rewritten hash (at the next event), a removed event and a removed tail', async function () {
      const store = await fresh();
      const events = await appendMany(store, 100);
      await dropTrigger(store, 'audit_events_no_update');
      await dropTrigger(store, 'audit_events_no_delete');

      // Change event 20 and recompute its own hash: the link from 21 breaks.
      const e20 = events[19]!;
      const forged = { ...e20, actorName: 'Mallory' };
      await sql`update audit_events set actor_name = 'Mallory', hash = ${auditHash(forged)} where seq = 20`.execute(store.db);
      const r1 = await store.audit.verify();
      assert.equal(r1.ok, false);
      assert.ok(!r1.ok && r1.brokenAtSeq === 21 && /prev_hash does not match the hash of event 20/.test(r1.reason), JSON.stringify(r1));
      await sql`update audit_events set actor_name = ${e20.actorName}, hash = ${e20.hash} where seq = 20`.execute(store.db);
      assert.equal((await store.audit.verify()).ok, true);

      await sql`delete from audit_events where seq = 50`.execute(store.db);
      assert.deepEqual(await store.audit.verify(), { ok: false, brokenAtSeq: 50, reason: 'event 50 is missing (the next stored event is 51)' });
      await sql`delete from audit_events where seq >= 50`.execute(store.db);
      assert.deepEqual(await store.audit.verify(), { ok: false, brokenAtSeq: 50, reason: 'events 50 to 100 are missing: the chain head records 100 events' });
    });

    it('exports CSV with RFC 4180 quoting, a header row and formula protection, in pages', async function () {
      const store = await fresh();
      const tricky = [
        ev(1, { actorName: '=HYPERLINK("http://evil.example","click")', requestRef: 'R-1', data: { note: 'comma, "quote"\r\nnew line' } }),
        ev(2, { actorName: '+1', requestRef: 'R-2' }),
        ev(3, { actorName: '-2+3', requestRef: 'R-2' }),
        ev(4, { actorName: '@SUM(A1:A9)' }),
        ev(5, { actorName: '\tTabbed' }),
        ev(6, { actorName: 'Plain Name' }),
      ];
      const stored: AuditEvent[] = [];
      for (const e of tricky) stored.push(await store.audit.append(e));
      for (let i = 7; i <= 1_205; i++) stored.push(await store.audit.append(ev(i, { data: { i } })));

      const chunks: string[] = [];
      const count = await store.audit.exportCsv(async (chunk) => {
        await new Promise((resolve) => setImmediate(resolve));
        chunks.push(chunk);
      });
      assert.equal(count, 1_205);
      assert.ok(chunks.length >= 3, 'written in pages');
      const csv = chunks.join('');
      const rows = parseCsv(csv);
      assert.deepEqual(rows[0], ['seq', 'at', 'actor_aad_object_id', 'actor_name', 'request_ref', 'event', 'data', 'prev_hash', 'hash', 'alg', 'request_prev_hash']);
      assert.equal(rows.length, 1 + 1_205);
      assert.deepEqual(
        rows.slice(1, 7).map((r) => r[3]),
        [`'=HYPERLINK("http://evil.example","click")`, `'+1`, `'-2+3`, `'@SUM(A1:A9)`, `'\tTabbed`, 'Plain Name'],
      );
      assert.ok(csv.includes(`"'=HYPERLINK(""http://evil.example"",""click"")"`), 'quotes are doubled inside a quoted field');
      const first = rows[1]!;
      const e1 = stored[0]!;
      assert.deepEqual(first, [String(e1.seq), e1.at, e1.actorAadObjectId ?? '', `'${e1.actorName}`, e1.requestRef ?? '', e1.event, canonicalJson(e1.data), e1.prevHash, e1.hash, 'sha256', '']);
      assert.deepEqual(JSON.parse(first[6]!), { note: 'comma, "quote"\r\nnew line' });
      const e6 = stored[5]!;
      assert.equal(rows[6]![8], e6.hash);
      assert.equal(rows[6]![2], e6.actorAadObjectId ?? '', 'null is an empty field');

      const onlyR2: string[] = [];
      assert.equal(await store.audit.exportCsv((c) => void onlyR2.push(c), { requestRef: 'R-2' }), stored.filter((e) => e.requestRef === 'R-2').length);
      const r2rows = parseCsv(onlyR2.join('')).slice(1);
      assert.ok(r2rows.every((r) => r[4] === 'R-2'));
      assert.equal(r2rows[0]![3], `'+1`);

      const window: string[] = [];
      const from = stored[9]!.at;
      const to = stored[20]!.at;
      assert.equal(await store.audit.exportCsv((c) => void window.push(c), { from, to }), 11);
      assert.equal(await store.audit.exportCsv(() => undefined, { afterSeq: 1_200 }), 5);
    });

    it('refuses data that carries a secret, and writes nothing', async function () {
      const store = await fresh();
      await store.audit.append(ev(1));
      const secrets: Record<string, unknown>[] = [
        { password: 'P@ssw0rd!' },
        { user: { unicodePwd: 'x' } },
        { accounts: [{ name: 'a' }, { clientSecret: 'x' }] },
        { accessToken: 'x' },
        { 'api-key': 'x' },
        { TOKEN: 'x' },
        { header: 'Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl' },
        { pem: '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----' },
      ];
      for (const data of secrets) {
        await assert.rejects(store.audit.append(ev(2, { data })), (err: unknown) => {
          assert.ok(err instanceof StoreError);
          assert.equal(err.code, 'invalid-record');
          assert.match(err.message, /never stores secrets/);
          assert.ok(!/P@ssw0rd|eyJhbGci|MIIE/.test(err.message), 'the secret is not repeated in the error');
          return true;
        });
      }
      // Names that merely resemble a secret's are fine.
      await store.audit.append(ev(3, { data: { pwdLastSet: '2025-01-01', mustChangeAtNextLogon: true, checksPassed: 3 } }));
      await assert.rejects(store.audit.append(ev(4, { event: 'Request Created' })), /event must be a dotted lowercase name/);
      await assert.rejects(store.audit.append(ev(4, { requestRef: '12' })), /requestRef must look like R-12/);
      await assert.rejects(store.audit.append(ev(4, { actorName: '' })), /actorName must be a non-empty string/);
      await assert.rejects(store.audit.append(ev(4, { data: [] as never })), /data must be a JSON object/);
      await assert.rejects(store.audit.append(ev(4, { data: { big: 1n } })), /data cannot be stored as JSON/);
      await assert.rejects(store.audit.append(ev(4, { data: { blob: 'x'.repeat(70_000) } })), /the limit is 65536/);
      assert.deepEqual(
        (await store.audit.list({ limit: 10 })).map((e) => e.seq),
        [1, 2],
      );
      assert.equal((await store.audit.verify()).ok, true);
    });
  });
}
