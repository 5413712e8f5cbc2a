/**
 * The keyed audit chain, on both engines: an unkeyed SHA-256 chain can be rewritten and recomputed by anyone who can
 * write to the database; an HMAC chain under a key kept outside it cannot. An unkeyed log is re-anchored (a marked
 * event), one request's trail is checked from its own events, and a published head exposes a rewrite.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { AUDIT_ANCHOR_EVENT, AUDIT_GENESIS_HASH, auditHash, type AuditEvent, type Store, type StoreOptions } from '../../src/store';
import { AuditTrailService } from '../../src/workflow/audit-trail';
import type { ApprovalAccess } from '../../src/workflow/approval-access';
import { ENGINES, engineFixture, type EngineFixture } from '../store/helpers';

const sqlText = (v: string | null): string => (v === null ? 'null' : `'${v.replace(/'/g, "''")}'`);

/**
 * What someone with write access to the database but without the key does: turns off the append-only triggers,
 * changes event `seq`'s data, and recomputes every hash from there on with SHA-256 (as the unkeyed format
 * documents), moving the chain head to match.
 */
async function rewrite(fx: EngineFixture, opts: StoreOptions, events: AuditEvent[], seq: number, data: Record<string, unknown>): Promise<void> {
  const statements: string[] = [];
  let prev = seq === 1 ? AUDIT_GENESIS_HASH : events[seq - 2]!.hash;
  for (const e of events.slice(seq - 1)) {
    const changed = { ...e, data: e.seq === seq ? data : e.data, prevHash: prev };
    const hash = auditHash(changed);
    statements.push(
      `update audit_events set data = ${sqlText(JSON.stringify(changed.data))}, prev_hash = '${prev}', hash = '${hash}', alg = 'sha256', request_prev_hash = null where seq = ${e.seq}`,
    );
    prev = hash;
  }
  statements.push(`update audit_chain_head set last_hash = '${prev}' where id = 1`);
  const off =
    opts.databaseUrl === undefined
      ? ['drop trigger audit_events_no_update', 'drop trigger audit_chain_head_guard']
      : ['alter table audit_events disable trigger user', 'alter table audit_chain_head disable trigger user'];
  await fx.rawExec(opts, [...off, ...statements].join(';\n'));
}

async function fill(store: Store, n: number): Promise<void> {
  for (let i = 1; i <= n; i++) {
    await store.audit.append({ actorAadObjectId: `aad-${i % 3}`, actorName: `Person ${i % 3}`, requestRef: `R-${(i % 4) + 1}`, event: 'request.created', data: { i } });
  }
}

describe('security: the keyed audit chain', function () {
  for (const engine of ENGINES) {
    describe(engine, function () {
      const fx = engineFixture(engine, 'keyedaudit');

      it('a rewritten event with a recomputed SHA-256 chain passes the unkeyed check but fails the HMAC chain', async function () {
        // The attack works against an unkeyed log: that is what the key is for.
        const plainOpts = await fx.freshOptions();
        const plain = await fx.open(plainOpts);
        await fill(plain, 6);
        await plain.close();
        const plainEvents = await (await fx.open(plainOpts)).audit.list({ limit: 100 });
        await rewrite(fx, plainOpts, plainEvents, 3, { i: 3, forged: true });
        assert.equal((await (await fx.open(plainOpts)).audit.verify()).ok, true, 'the unkeyed chain cannot tell');

        const key = randomBytes(32);
        const opts = { ...(await fx.freshOptions()), auditKey: key };
        const store = await fx.open(opts);
        await fill(store, 6);
        const before = await store.audit.verify();
        assert.ok(before.ok && before.keyed && before.legacyEvents === 0 && before.count === 6, JSON.stringify(before));
        const events = await store.audit.list({ limit: 100 });
        assert.ok(events.every((e) => e.alg === 'hmac-sha256'));
        await store.close();
        // Recomputing as HMAC under another key fails as well: the key is the secret.
        const other = await fx.open({ ...opts, auditKey: randomBytes(32) });
        const check = await other.audit.verify();
        assert.ok(!check.ok && check.brokenAtSeq === 1, JSON.stringify(check));
        assert.match(check.ok ? '' : check.reason, /HMAC does not match/);
        await other.close();
        await rewrite(fx, opts, events, 3, { i: 3, forged: true });
        const after = await (await fx.open(opts)).audit.verify();
        assert.equal(after.ok, false);
        assert.ok(!after.ok && after.brokenAtSeq === 3, JSON.stringify(after));
        assert.match(after.ok ? '' : after.reason, /without the audit key/);
      });

      it('an unkeyed log is re-anchored with a marked event; its old events still verify as what they were, and can no longer be rewritten', async function () {
        const plainOpts = await fx.freshOptions();
        const plain = await fx.open(plainOpts);
        await fill(plain, 3);
        await plain.close();
        const opts = { ...plainOpts, auditKey: randomBytes(32) };
        const keyed = await fx.open(opts);
        await fill(keyed, 2);
        const events = await keyed.audit.list({ limit: 100 });
        assert.deepEqual(events.map((e) => `${e.seq}:${e.alg}:${e.event}`), ['1:sha256:request.created', '2:sha256:request.created', '3:sha256:request.created', `4:hmac-sha256:${AUDIT_ANCHOR_EVENT}`, '5:hmac-sha256:request.created', '6:hmac-sha256:request.created']);
        assert.deepEqual(events[3]!.data, { alg: 'hmac-sha256', legacyAlg: 'sha256', legacyEvents: 3, legacyHeadHash: events[2]!.hash });
        const check = await keyed.audit.verify();
        assert.ok(check.ok && check.keyed && check.legacyEvents === 3 && check.count === 6, JSON.stringify(check));
        // Opening again does not anchor twice.
        await keyed.close();
        const again = await fx.open(opts);
        assert.equal((await again.audit.list({ limit: 100 })).filter((e) => e.event === AUDIT_ANCHOR_EVENT).length, 1);
        await again.close();
        // Rewriting an old unkeyed event (and its unkeyed successors) breaks the link the anchor's HMAC covers.
        await rewrite(fx, opts, events.slice(0, 3), 2, { i: 2, forged: true });
        const broken = await (await fx.open(opts)).audit.verify();
        assert.ok(!broken.ok && broken.brokenAtSeq === 4, JSON.stringify(broken));
      });

      it("verifies one request's trail from its own events, says nothing of the rest, and finds a removed event", async function () {
        const opts = { ...(await fx.freshOptions()), auditKey: randomBytes(32) };
        const store = await fx.open(opts);
        await fill(store, 40);
        const { events, check } = await store.audit.verifyRequest('R-2');
        assert.ok(events.length === 10 && events.every((e) => e.requestRef === 'R-2'), 'only that request');
        assert.deepEqual(check, { ok: true, events: 10, keyed: 10, legacy: 0 });
        assert.equal(events[0]!.requestPrevHash, AUDIT_GENESIS_HASH);
        events.slice(1).forEach((e, i) => assert.equal(e.requestPrevHash, events[i]!.hash, 'linked to the previous event of the request'));
        await store.close();
        // Removing one of its events (triggers off) is found from the trail alone, positioned within the trail.
        const off = opts.databaseUrl === undefined ? 'drop trigger audit_events_no_delete' : 'alter table audit_events disable trigger user';
        await fx.rawExec(opts, `${off};\ndelete from audit_events where seq = ${events[4]!.seq}`);
        const after = await (await fx.open(opts)).audit.verifyRequest('R-2');
        assert.deepEqual(after.check, { ok: false, brokenAt: 5, reason: "its link to the request's previous event does not match: an event of this request was removed, reordered or inserted" });
      });

      it('the trail reads no other request and no global verify (the repository calls)', async function () {
        const store = await fx.open({ ...(await fx.freshOptions()), auditKey: randomBytes(32) });
        const r = await store.requests.create({ kind: 'mail-contact', requesterAadObjectId: 'aad-1', requesterName: 'Rita', tenantId: 't', values: {}, request: {}, status: 'approved' });
        await fill(store, 12);
        const calls: string[] = [];
        const audit = new Proxy(store.audit, {
          get(target, prop, receiver) {
            const v = Reflect.get(target, prop, receiver) as unknown;
            return typeof v === 'function' ? (...args: unknown[]) => (calls.push(`${String(prop)} ${JSON.stringify(args)}`), (v as (...a: unknown[]) => unknown).apply(target, args)) : v;
          },
        });
        const access = { maySee: () => Promise.resolve(true) } as unknown as ApprovalAccess;
        const trail = await new AuditTrailService({ requests: store.requests, audit }, access, '/nonexistent', () => new Date()).trail({ aadObjectId: 'aad-1', name: 'Rita', tenantId: 't', isAdmin: false }, r.reference);
        assert.deepEqual(calls, [`verifyRequest ["${r.reference}"]`]);
        assert.ok(trail);
        assert.deepEqual(trail.events.map((e) => e.n), trail.events.map((_, i) => i + 1), 'numbered within the trail');
        assert.ok(!JSON.stringify(trail).includes('"seq"'), 'no global sequence numbers');
      });

      it('a published head exposes a rewrite: the daily report names the head, `check audit n hash` compares', async function () {
        const opts = { ...(await fx.freshOptions()), auditKey: randomBytes(32) };
        const store = await fx.open(opts);
        await fill(store, 5);
        const access = { maySee: () => Promise.resolve(true) } as unknown as ApprovalAccess;
        const report = await new AuditTrailService(store, access, '/nonexistent', () => new Date()).headReport();
        assert.equal(report.head.seq, 5);
        assert.ok(report.text.includes(`event 5, hash ${report.head.hash}`) && report.text.includes(`check audit 5 ${report.head.hash}`), report.text);
        assert.match(report.text, /The chain verifies \(HMAC-SHA256 with the audit key\)/);
        assert.equal((await store.audit.verify({ expect: { seq: 5, hash: report.head.hash } })).ok, true);
        const mismatch = await store.audit.verify({ expect: { seq: 5, hash: 'f'.repeat(64) } });
        assert.ok(!mismatch.ok && /not the one published for it/.test(mismatch.reason), JSON.stringify(mismatch));
        const gone = await store.audit.verify({ expect: { seq: 9, hash: report.head.hash } });
        assert.ok(!gone.ok && /events were removed/.test(gone.reason), JSON.stringify(gone));
      });
    });
  }
});
