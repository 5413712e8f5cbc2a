/**
 * Requests, decisions and card references: the same behaviour from SQLite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { Migrator, sql } from 'kysely';
import { type RequestInput, type RequestRecord, type Store } from '../../src/store';
import { migrationProvider } from '../../src/store/migrations';
import { ENGINES, engineFixture, expectStoreError, rawKysely, storesUpgradedFrom } from './helpers';

function mailbox(requester = 'aad-helpdesk-1', overrides: Partial<RequestInput> = {}): RequestInput {
  return {
    kind: 'user-mailbox',
    requesterAadObjectId: requester,
    requesterName: 'Hélène Helpdesk',
    tenantId: 'tenant-a',
    values: { displayName: 'Zoë Ångström', alias: 'zoe', notes: 'line 1\nline "2"' },
    request: { kind: 'user-mailbox', givenName: 'Zoë', surname: 'Ångström', upn: 'zoe@contoso.example', licence: { sku: 'EXCHANGESTANDARD' } },
    ...overrides,
  };
}

for (const engine of ENGINES) {
  describe(`requests, decisions and cards (${engine})`, function () {
    const fx = engineFixture(engine, 'requests');

    async function fresh(): Promise<Store> {
      return fx.open(await fx.freshOptions());
    }

    it('creates a request with a reference, version 1, stage 1, pending approval, JSON kept exactly', async function () {
      const store = await fresh();
      const input = mailbox();
      const rec = await store.requests.create(input);
      assert.equal(rec.reference, `R-${rec.id}`);
      assert.equal(rec.id, 1);
      assert.equal(rec.version, 1);
      assert.equal(rec.stage, 1);
      assert.equal(rec.status, 'pending-approval');
      assert.equal(rec.kind, 'user-mailbox');
      assert.equal(rec.requesterAadObjectId, 'aad-helpdesk-1');
      assert.equal(rec.requesterName, 'Hélène Helpdesk');
      assert.equal(rec.tenantId, 'tenant-a');
      assert.equal(JSON.stringify(rec.values), JSON.stringify(input.values));
      assert.equal(JSON.stringify(rec.request), JSON.stringify(input.request));
      assert.equal(rec.plan, null);
      assert.equal(rec.result, null);
      assert.match(rec.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.equal(rec.updatedAt, rec.createdAt);
      for (const k of ['decidedAt', 'decidedBy', 'decidedByName', 'decisionReason', 'remindAt', 'remindedAt', 'expiresAt', 'error'] as const) {
        assert.equal(rec[k], null, k);
      }
      assert.deepEqual(await store.requests.get(rec.id), rec);

      const second = await store.requests.create(
        mailbox('aad-helpdesk-1', { status: 'queued', stage: 2, plan: [{ step: 'ad.create-user' }], remindAt: '2025-03-02T08:00:00Z', expiresAt: new Date('2025-03-05T08:00:00Z') }),
      );
      assert.equal(second.reference, 'R-2');
      assert.equal(second.status, 'queued');
      assert.equal(second.stage, 2);
      assert.deepEqual(second.plan, [{ step: 'ad.create-user' }]);
      assert.equal(second.remindAt, '2025-03-02T08:00:00.000Z');
      assert.equal(second.expiresAt, '2025-03-05T08:00:00.000Z');
    });

    it('allocates unique references under 20 concurrent creates from two store instances', async function () {
      const opts = await fx.freshOptions();
      const a = await fx.open(opts);
      const b = await fx.open(opts);
      const recs = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).requests.create(mailbox(`aad-${i}`))));
      const refs = new Set(recs.map((r) => r.reference));
      assert.equal(refs.size, 20, `references: ${[...refs].join(', ')}`);
      for (const r of recs) assert.equal(r.reference, `R-${r.id}`);
      assert.deepEqual(
        recs.map((r) => r.id).sort((x, y) => x - y),
        Array.from({ length: 20 }, (_, i) => i + 1),
      );
      for (const r of recs) assert.equal((await b.requests.get(r.reference))?.requesterAadObjectId, r.requesterAadObjectId);
    });

    it('gets a request by R-12, r-12, 12 and the number 12; anything else is undefined', async function () {
      const store = await fresh();
      for (let i = 0; i < 12; i++) await store.requests.create(mailbox(`aad-${i}`));
      const twelve = await store.requests.get(12);
      assert.equal(twelve?.reference, 'R-12');
      for (const ref of ['R-12', 'r-12', '12', ' R-12 ']) assert.deepEqual(await store.requests.get(ref), twelve, ref);
      for (const ref of ['R-13', 'R-0', '0', 'X-12', 'R12', '12a', 'R-1.5', '-12', '', 'R-99999999999', 13, 0, -1, 1.5, Number.NaN, 2 ** 40]) {
        assert.equal(await store.requests.get(ref), undefined, String(ref));
      }
    });

    it('transition applies the patch, bumps the version and updatedAt, keeps the rest; null clears', async function () {
      const store = await fresh();
      const rec = await store.requests.create(mailbox('aad-1', { remindAt: '2025-03-02T08:00:00.000Z' }));
      const res = await store.requests.transition(rec.id, 1, {
        status: 'approved',
        decidedAt: new Date('2025-03-01T09:00:00Z'),
        decidedBy: 'aad-approver-1',
        decidedByName: 'Ada Approver',
        decisionReason: 'ok, "fine"',
        remindAt: null,
        plan: { steps: [1, 2] },
      });
      assert.ok(res.ok);
      const r = res.record;
      assert.equal(r.version, 2);
      assert.equal(r.status, 'approved');
      assert.equal(r.decidedAt, '2025-03-01T09:00:00.000Z');
      assert.equal(r.decidedBy, 'aad-approver-1');
      assert.equal(r.decidedByName, 'Ada Approver');
      assert.equal(r.decisionReason, 'ok, "fine"');
      assert.equal(r.remindAt, null);
      assert.deepEqual(r.plan, { steps: [1, 2] });
      assert.ok(r.updatedAt > rec.updatedAt);
      assert.equal(r.createdAt, rec.createdAt);
      assert.deepEqual(r.values, rec.values);
      assert.deepEqual(await store.requests.get(rec.id), r);

      const done = await store.requests.transition(rec.id, 2, { status: 'done', result: { mailbox: 'zoe@contoso.example' }, error: null });
      assert.ok(done.ok);
      assert.equal(done.record.version, 3);
      assert.deepEqual(done.record.result, { mailbox: 'zoe@contoso.example' });
      assert.equal(done.record.decidedBy, 'aad-approver-1', 'fields left out are kept');

      const touched = await store.requests.transition(rec.id, 3, {});
      assert.ok(touched.ok);
      assert.equal(touched.record.version, 4);
    });

    it('of 10 concurrent transitions on the same version exactly one wins; the others get the winner’s record', async function () {
      const opts = await fx.freshOptions();
      const a = await fx.open(opts);
      const b = await fx.open(opts);
      const rec = await a.requests.create(mailbox());
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          (i % 2 === 0 ? a : b).requests.transition(rec.id, rec.version, {
            status: i % 3 === 0 ? 'rejected' : 'approved',
            decidedBy: `aad-approver-${i}`,
            decidedByName: `Approver ${i}`,
            decidedAt: new Date(Date.parse('2025-03-01T09:00:00Z') + i * 1000),
          }),
        ),
      );
      const winners = results.filter((r) => r.ok);
      const losers = results.filter((r) => !r.ok);
      assert.equal(winners.length, 1);
      assert.equal(losers.length, 9);
      const winner = winners[0]!.record;
      assert.equal(winner.version, 2);
      for (const l of losers) {
        assert.equal(l.current.version, 2);
        assert.equal(l.current.decidedBy, winner.decidedBy);
        assert.equal(l.current.decidedByName, winner.decidedByName);
        assert.equal(l.current.decidedAt, winner.decidedAt);
        assert.equal(l.current.status, winner.status);
      }
      assert.deepEqual(await a.requests.get(rec.id), winner);
    });

    it('refuses a stale version with the current record, and an unknown id with not-found', async function () {
      const store = await fresh();
      const rec = await store.requests.create(mailbox());
      assert.ok((await store.requests.transition(rec.id, 1, { status: 'approved', decidedBy: 'aad-a' })).ok);
      const replay = await store.requests.transition(rec.id, 1, { status: 'rejected', decidedBy: 'aad-b' });
      assert.ok(!replay.ok);
      assert.equal(replay.current.status, 'approved');
      assert.equal(replay.current.decidedBy, 'aad-a');
      assert.equal(replay.current.version, 2);
      await expectStoreError(store.requests.transition(999, 1, { status: 'approved' }), 'not-found', /R-999 does not exist/);
    });

    it('refuses an invalid request or patch with a plain message and changes nothing', async function () {
      const store = await fresh();
      await expectStoreError(
        store.requests.create({ ...mailbox(), kind: '', status: 'done-ish' as never, values: [] as never, request: undefined }),
        'invalid-record',
        /kind must be a non-empty string; status must be one of pending-approval, .*; values must be a JSON object; request must be a JSON value/,
      );
      const rec = await store.requests.create(mailbox());
      await expectStoreError(store.requests.transition(rec.id, 1, { status: 'finished' as never }), 'invalid-record', /status must be one of/);
      await expectStoreError(store.requests.transition(rec.id, 1, { decidedby: 'x' } as never), 'invalid-record', /unknown field decidedby/);
      await expectStoreError(store.requests.transition(rec.id, 1, { stage: 0 }), 'invalid-record', /stage must be a positive integer/);
      await expectStoreError(store.requests.transition(rec.id, 1, { remindAt: 'tomorrow' }), 'invalid-record', /remindAt must be a valid time/);
      await expectStoreError(store.requests.transition(rec.id, 0, {}), 'invalid-record', /expectedVersion must be a positive integer/);
      assert.deepEqual(await store.requests.get(rec.id), rec);
    });

    it('lists by requester (newest first, by status, limited) and by status (oldest first)', async function () {
      const store = await fresh();
      const r = store.requests;
      const a1 = await r.create(mailbox('aad-a'));
      const b1 = await r.create(mailbox('aad-b'));
      const a2 = await r.create(mailbox('aad-a'));
      const a3 = await r.create(mailbox('aad-a'));
      assert.ok((await r.transition(a2.id, 1, { status: 'queued' })).ok);
      assert.ok((await r.transition(b1.id, 1, { status: 'queued' })).ok);
      const refs = (recs: RequestRecord[]) => recs.map((x) => x.reference);

      assert.deepEqual(refs(await r.listByRequester('aad-a', { limit: 10 })), [a3.reference, a2.reference, a1.reference]);
      assert.deepEqual(refs(await r.listByRequester('aad-a', { limit: 2 })), [a3.reference, a2.reference]);
      assert.deepEqual(refs(await r.listByRequester('aad-a', { statuses: ['pending-approval'], limit: 10 })), [a3.reference, a1.reference]);
      assert.deepEqual(await r.listByRequester('aad-a', { statuses: [], limit: 10 }), []);
      assert.deepEqual(await r.listByRequester('aad-z', { limit: 10 }), []);
      assert.deepEqual(refs(await r.listByStatus(['queued'], { limit: 10 })), [b1.reference, a2.reference]);
      assert.deepEqual(refs(await r.listByStatus(['queued', 'pending-approval'], { limit: 3 })), [a1.reference, b1.reference, a2.reference]);
      await expectStoreError(r.listByStatus(['queued'], { limit: 0 }), 'invalid-record', /limit must be an integer/);
      await expectStoreError(r.listByStatus(['nope' as never], { limit: 1 }), 'invalid-record', /statuses must be a list of/);
    });

    it('finds pending requests due for a reminder and for expiry', async function () {
      const store = await fresh();
      const r = store.requests;
      const at = (h: number) => new Date(Date.parse('2025-03-01T08:00:00Z') + h * 3_600_000);
      const dueSoon = await r.create(mailbox('aad-1', { remindAt: at(2), expiresAt: at(48) }));
      const dueFirst = await r.create(mailbox('aad-1', { remindAt: at(1), expiresAt: at(24) }));
      const later = await r.create(mailbox('aad-1', { remindAt: at(10), expiresAt: at(72) }));
      const decided = await r.create(mailbox('aad-1', { remindAt: at(1), expiresAt: at(1) }));
      await r.create(mailbox('aad-1')); // no times at all
      assert.ok((await r.transition(decided.id, 1, { status: 'approved' })).ok);
      const refs = (recs: RequestRecord[]) => recs.map((x) => x.reference);

      assert.deepEqual(refs(await r.dueForReminder(at(0))), []);
      assert.deepEqual(refs(await r.dueForReminder(at(2))), [dueFirst.reference, dueSoon.reference], 'at remindAt is due; earliest first');
      assert.deepEqual(refs(await r.dueForReminder(at(2), { limit: 1 })), [dueFirst.reference]);

      // Reminded: not due again until remindAt moves past remindedAt.
      assert.ok((await r.transition(dueFirst.id, 1, { remindedAt: at(2) })).ok);
      assert.deepEqual(refs(await r.dueForReminder(at(3))), [dueSoon.reference]);
      assert.ok((await r.transition(dueFirst.id, 2, { remindAt: at(5) })).ok);
      assert.deepEqual(refs(await r.dueForReminder(at(5))), [dueSoon.reference, dueFirst.reference]);
      assert.deepEqual(refs(await r.dueForReminder(at(100))), [dueSoon.reference, dueFirst.reference, later.reference]);

      assert.deepEqual(refs(await r.dueForExpiry(at(23))), []);
      assert.deepEqual(refs(await r.dueForExpiry(at(48))), [dueFirst.reference, dueSoon.reference]);
      assert.ok((await r.transition(dueFirst.id, 3, { status: 'expired' })).ok);
      assert.deepEqual(refs(await r.dueForExpiry(at(100))), [dueSoon.reference, later.reference]);
    });

    it('records decisions append-only, one per request version; a retried record returns the stored one', async function () {
      const store = await fresh();
      const rec = await store.requests.create(mailbox());
      const other = await store.requests.create(mailbox());
      const first = await store.decisions.record({
        requestId: rec.id,
        stage: 1,
        approverAadObjectId: 'aad-approver-1',
        approverName: 'Ada Approver',
        decision: 'approve',
        reason: null,
        requestVersion: 1,
      });
      assert.equal(first.requestId, rec.id);
      assert.equal(first.decision, 'approve');
      assert.equal(first.reason, null);
      assert.match(first.at, /Z$/);
      const retry = await store.decisions.record({ requestId: rec.id, stage: 1, approverAadObjectId: 'aad-approver-1', approverName: 'Ada Approver', decision: 'approve', requestVersion: 1 });
      assert.deepEqual(retry, first);
      await expectStoreError(
        store.decisions.record({ requestId: rec.id, stage: 1, approverAadObjectId: 'aad-approver-2', approverName: 'Bob', decision: 'reject', requestVersion: 1 }),
        'conflict',
        /R-1 version 1 was already decided \(approve by Ada Approver at /,
      );
      const second = await store.decisions.record({
        requestId: rec.id,
        stage: 2,
        approverAadObjectId: 'aad-approver-2',
        approverName: 'Bob',
        decision: 'reject',
        reason: 'wrong OU, "sales"',
        at: '2025-03-01T10:00:00Z',
        requestVersion: 2,
      });
      assert.equal(second.at, '2025-03-01T10:00:00.000Z');
      await store.decisions.record({ requestId: other.id, stage: 1, approverAadObjectId: 'aad-approver-1', approverName: 'Ada', decision: 'approve', requestVersion: 1 });

      assert.deepEqual(await store.decisions.list(rec.id), [first, second]);
      assert.deepEqual(await store.decisions.list(9999), []);
      await expectStoreError(
        store.decisions.record({ requestId: 9999, stage: 1, approverAadObjectId: 'a', approverName: 'A', decision: 'approve', requestVersion: 1 }),
        'not-found',
        /R-9999 does not exist/,
      );
      await expectStoreError(
        store.decisions.record({ requestId: rec.id, stage: 1, approverAadObjectId: 'a', approverName: 'A', decision: 'maybe' as never, requestVersion: 5 }),
        'invalid-record',
        /decision must be approve or reject/,
      );
    });

    it('keeps every copy of a request’s cards, idempotently, listed by audience', async function () {
      const store = await fresh();
      const rec = await store.requests.create(mailbox());
      const other = await store.requests.create(mailbox());
      const requesterCard = await store.cards.add({ requestId: rec.id, audience: 'requester', aadObjectId: 'aad-helpdesk-1', conversationId: 'a:chat-1', activityId: '1:100' });
      const approver1 = await store.cards.add({ requestId: rec.id, audience: 'approver', aadObjectId: 'aad-approver-1', conversationId: 'a:chat-2', activityId: '1:101' });
      const approver2 = await store.cards.add({ requestId: rec.id, audience: 'approver', aadObjectId: 'aad-approver-2', conversationId: 'a:chat-3', activityId: '1:102' });
      const channelCard = await store.cards.add({ requestId: rec.id, audience: 'channel', aadObjectId: null, conversationId: '19:approvals@thread.tacv2', activityId: '1:103' });
      await store.cards.add({ requestId: other.id, audience: 'requester', aadObjectId: 'aad-helpdesk-1', conversationId: 'a:chat-1', activityId: '1:200' });

      const again = await store.cards.add({ requestId: rec.id, audience: 'approver', aadObjectId: 'aad-approver-1', conversationId: 'a:chat-2', activityId: '1:101' });
      assert.deepEqual(again, approver1, 'adding the same copy again returns the stored one');
      assert.deepEqual(await store.cards.list(rec.id), [requesterCard, approver1, approver2, channelCard]);
      assert.deepEqual(await store.cards.list(rec.id, 'approver'), [approver1, approver2]);
      assert.deepEqual(await store.cards.list(rec.id, 'channel'), [channelCard]);
      assert.equal(channelCard.aadObjectId, null);
      assert.deepEqual(await store.cards.list(9999), []);
      await expectStoreError(
        store.cards.add({ requestId: 9999, audience: 'requester', aadObjectId: null, conversationId: 'c', activityId: 'a' }),
        'not-found',
      );
      await expectStoreError(
        store.cards.add({ requestId: rec.id, audience: 'everyone' as never, aadObjectId: null, conversationId: 'c', activityId: '' }),
        'invalid-record',
        /audience must be one of requester, approver, channel .*; activityId must be a non-empty string/,
      );
    });

    it('upgrades a database at 0001 to the latest version, keeping its data', async function () {
      const stores = await storesUpgradedFrom(fx, engine, '0001_initial', async (old) => {
        await sql`insert into conversation_refs (conversation_id, conversation_type, tenant_id, service_url, reference_json, bot_installed, revision, created_at, updated_at)
                  values ('a:old', 'personal', 'tenant-a', 'https://smba.example/', '{"v":1}', 1, 1, '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z')`.execute(old);
      });
      assert.deepEqual((await stores[1].conversations.get('a:old'))?.reference, { v: 1 });
      assert.equal((await stores[1].requests.create(mailbox())).reference, 'R-1');
      assert.equal((await stores[0].audit.append({ actorAadObjectId: null, actorName: 'Mailroom', event: 'store.upgraded' })).seq, 1);
    });

    it('rolls a failed 0002 back entirely, leaving the database at 0001', async function () {
      const opts = await fx.freshOptions();
      const old = rawKysely(opts);
      try {
        const { error } = await new Migrator({ db: old, provider: migrationProvider(engine) }).migrateTo('0001_initial');
        assert.equal(error, undefined);
        await sql`create table request_cards (unrelated integer)`.execute(old);
      } finally {
        await old.destroy();
      }
      await expectStoreError(fx.open(opts), 'migration-failed', /could not apply migration 0002_requests_audit.*Every migration of this run was rolled back/s);
      await fx.rawExec(opts, 'drop table request_cards');
      const store = await fx.open(opts);
      assert.equal((await store.requests.create(mailbox())).reference, 'R-1', 'requests did not survive the failed run');
    });
  });
}
