/**
 * Extra approvers, approval delegations and settings (migration 0008) on both engines: adding an approver is
 * idempotent and safe under concurrent adds from two instances, delegations are one per delegator and only running
 * ones are returned, settings round-trip JSON and survive concurrent writes, bad input is refused with a clear
 * message and writes nothing, and a database at 0007 migrates to 0008 keeping its data.
 */
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { LATEST_MIGRATION, MIGRATION_NAMES, type ExtraApprover, type Store } from '../../src/store';
import { ENGINES, engineFixture, expectStoreError, storesUpgradedFrom } from './helpers';

const T0 = Date.parse('2025-03-01T09:00:00.000Z');
const at = (ms: number): Date => new Date(T0 + ms);
const HOUR = 3_600_000;

async function newRequest(store: Store): Promise<number> {
  const r = await store.requests.create({ kind: 'user-mailbox', requesterAadObjectId: 'aad-1', requesterName: 'Rita', tenantId: 't', values: {}, request: {} });
  return r.id;
}

async function count(store: Store, table: 'request_approvers' | 'approval_delegations' | 'settings'): Promise<number> {
  const row = await store.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

function approver(requestId: number, stage: number, aadObjectId: string, overrides: Partial<Omit<ExtraApprover, 'addedAt'>> = {}): Omit<ExtraApprover, 'addedAt'> {
  return { requestId, stage, aadObjectId, name: `Name of ${aadObjectId}`, why: 'manager', addedBy: null, ...overrides };
}

for (const engine of ENGINES) {
  describe(`extra approvers, delegations and settings (${engine})`, function () {
    const fx = engineFixture(engine, 'reach');

    async function fresh(): Promise<Store> {
      return fx.open(await fx.freshOptions());
    }

    describe('extra approvers', function () {
      it('adds once: the same (request, stage, user) again is kept as it was and reported as not added', async function () {
        const store = await fresh();
        const id = await newRequest(store);
        assert.equal(await store.approvers.add(approver(id, 1, 'AAD-Manager', { name: 'Mia Manager', addedBy: 'aad-admin' }), at(0)), true);
        assert.equal(await store.approvers.add(approver(id, 1, 'aad-manager', { name: 'Someone Else', why: 'owner' }), at(HOUR)), false);
        assert.deepEqual(await store.approvers.list(id), [
          { requestId: id, stage: 1, aadObjectId: 'aad-manager', name: 'Mia Manager', why: 'manager', addedAt: at(0).toISOString(), addedBy: 'aad-admin' },
        ]);
        assert.equal(await count(store, 'request_approvers'), 1);
      });

      it('10 concurrent adds of the same row from two store instances leave one row, one "added", and no error', async function () {
        const opts = await fx.freshOptions();
        const a = await fx.open(opts);
        const b = await fx.open(opts);
        const id = await newRequest(a);
        const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).approvers.add(approver(id, 2, 'aad-owner', { why: 'owner' }), at(i))));
        assert.equal(results.filter((r) => r).length, 1);
        assert.equal(await count(a, 'request_approvers'), 1);
        assert.equal((await b.approvers.list(id, 2)).length, 1);
      });

      it('lists in the order added, filters by stage, and never lists another request\'s approvers', async function () {
        const store = await fresh();
        const id = await newRequest(store);
        const other = await newRequest(store);
        // The same time for all: the order of adding decides, not the time or the id.
        await store.approvers.add(approver(id, 2, 'aad-z', { why: 'escalated' }), at(0));
        await store.approvers.add(approver(id, 1, 'aad-m', { why: 'reassigned' }), at(0));
        await store.approvers.add(approver(other, 1, 'aad-other'), at(0));
        await store.approvers.add(approver(id, 1, 'aad-a', { why: 'delegate' }), at(0));
        await store.approvers.add(approver(id, 2, 'aad-m', { why: 'owner' }), at(0));

        const ids = (xs: ExtraApprover[]) => xs.map((x) => `${x.stage}:${x.aadObjectId}:${x.why}`);
        assert.deepEqual(ids(await store.approvers.list(id)), ['2:aad-z:escalated', '1:aad-m:reassigned', '1:aad-a:delegate', '2:aad-m:owner']);
        assert.deepEqual(ids(await store.approvers.list(id, 1)), ['1:aad-m:reassigned', '1:aad-a:delegate']);
        assert.deepEqual(ids(await store.approvers.list(id, 2)), ['2:aad-z:escalated', '2:aad-m:owner']);
        assert.deepEqual(ids(await store.approvers.list(id, 3)), []);
        assert.deepEqual(ids(await store.approvers.list(other)), ['1:aad-other:manager']);
        assert.deepEqual(await store.approvers.list(9999), []);
      });

      it('refuses bad input with a clear message and writes nothing', async function () {
        const store = await fresh();
        const id = await newRequest(store);
        await expectStoreError(store.approvers.add(approver(id, 0, 'aad-x'), at(0)), 'invalid-record', /was not added, nothing was changed: stage must be an integer from 1/);
        await expectStoreError(store.approvers.add(approver(id, 1.5, 'aad-x'), at(0)), 'invalid-record', /stage must be an integer/);
        await expectStoreError(store.approvers.add(approver(id, 1, ''), at(0)), 'invalid-record', /aadObjectId must be a non-empty string/);
        await expectStoreError(store.approvers.add(approver(id, 1, 'aad-x', { name: ' ' }), at(0)), 'invalid-record', /name must be a non-empty string/);
        await expectStoreError(
          store.approvers.add(approver(id, 1, 'aad-x', { why: 'friend' as never }), at(0)),
          'invalid-record',
          /why must be one of manager, owner, reassigned, escalated, delegate \(got "friend"\)/,
        );
        await expectStoreError(store.approvers.add(approver(0, 1, 'aad-x'), at(0)), 'invalid-record', /requestId must be an integer/);
        await expectStoreError(store.approvers.add(approver(id, 1, 'aad-x'), new Date(NaN)), 'invalid-record', /now must be a valid time/);
        await expectStoreError(store.approvers.add(approver(9999, 1, 'aad-x'), at(0)), 'not-found', /Request R-9999 does not exist; the extra approver was not stored/);
        await expectStoreError(store.approvers.list(id, 0), 'invalid-record', /stage must be an integer/);
        assert.equal(await count(store, 'request_approvers'), 0);
      });
    });

    describe('delegations', function () {
      const mia = { fromAadObjectId: 'AAD-Mia', fromName: 'Mia Manager', toAadObjectId: 'aad-dan', toName: 'Dan Deputy' };

      it('set replaces the delegator\'s earlier delegation; from and to find it while until is after now; ids are lower-cased', async function () {
        const store = await fresh();
        await store.delegations.set({ ...mia, until: at(2 * HOUR).toISOString() }, at(0));
        const first = await store.delegations.from('aad-mia', at(HOUR));
        assert.deepEqual(first, { fromAadObjectId: 'aad-mia', fromName: 'Mia Manager', toAadObjectId: 'aad-dan', toName: 'Dan Deputy', until: at(2 * HOUR).toISOString(), createdAt: at(0).toISOString() });
        assert.deepEqual(await store.delegations.to('AAD-DAN', at(HOUR)), [first]);

        await store.delegations.set({ ...mia, toAadObjectId: 'AAD-Eve', toName: 'Eve Else', until: '2025-03-01T13:00:00+02:00' }, at(HOUR));
        assert.equal(await count(store, 'approval_delegations'), 1);
        const second = await store.delegations.from('AAD-MIA', at(HOUR));
        assert.equal(second?.toAadObjectId, 'aad-eve');
        assert.equal(second?.until, '2025-03-01T11:00:00.000Z');
        assert.equal(second?.createdAt, at(HOUR).toISOString());
        assert.deepEqual(await store.delegations.to('aad-dan', at(HOUR)), []);
        assert.deepEqual(await store.delegations.to('aad-eve', at(HOUR)), [second]);
      });

      it('a delegation whose until has passed (or is now) is not returned', async function () {
        const store = await fresh();
        await store.delegations.set({ ...mia, until: at(HOUR).toISOString() }, at(0));
        await store.delegations.set({ fromAadObjectId: 'aad-olga', fromName: 'Olga Owner', toAadObjectId: 'aad-dan', toName: 'Dan Deputy', until: at(3 * HOUR).toISOString() }, at(0));
        assert.equal((await store.delegations.to('aad-dan', at(HOUR - 1))).length, 2);
        assert.equal(await store.delegations.from('aad-mia', at(HOUR)), undefined);
        assert.equal(await store.delegations.from('aad-mia', at(2 * HOUR)), undefined);
        assert.deepEqual(
          (await store.delegations.to('aad-dan', at(HOUR))).map((d) => d.fromAadObjectId),
          ['aad-olga'],
        );
        assert.deepEqual(await store.delegations.to('aad-dan', at(3 * HOUR)), []);
      });

      it('clear ends the delegation and says whether there was one', async function () {
        const store = await fresh();
        await store.delegations.set({ ...mia, until: at(HOUR).toISOString() }, at(0));
        assert.equal(await store.delegations.clear('Aad-Mia'), true);
        assert.equal(await store.delegations.clear('aad-mia'), false);
        assert.equal(await store.delegations.from('aad-mia', at(0)), undefined);
        assert.equal(await count(store, 'approval_delegations'), 0);
      });

      it('refuses bad input with a clear message and writes nothing', async function () {
        const store = await fresh();
        await expectStoreError(
          store.delegations.set({ ...mia, until: 'next tuesday' }, at(0)),
          'invalid-record',
          /The delegation was not set, nothing was changed: until must be a valid time .*got "next tuesday"/,
        );
        await expectStoreError(store.delegations.set({ ...mia, fromAadObjectId: '', until: at(HOUR).toISOString() }, at(0)), 'invalid-record', /fromAadObjectId must be a non-empty string/);
        await expectStoreError(store.delegations.set({ ...mia, toName: '', until: at(HOUR).toISOString() }, at(0)), 'invalid-record', /toName must be a non-empty string/);
        await expectStoreError(store.delegations.set({ ...mia, toAadObjectId: 'aad-MIA', until: at(HOUR).toISOString() }, at(0)), 'invalid-record', /cannot delegate to themselves/);
        await expectStoreError(store.delegations.from('', at(0)), 'invalid-record', /fromAadObjectId must be a non-empty string/);
        await expectStoreError(store.delegations.to('aad-dan', new Date(NaN)), 'invalid-record', /now must be a valid time/);
        assert.equal(await count(store, 'approval_delegations'), 0);
      });
    });

    describe('settings', function () {
      it('a missing key is undefined; set stores, set again replaces; JSON values round-trip; delete removes', async function () {
        const store = await fresh();
        assert.equal(await store.settings.get('approvals.escalateAfter'), undefined);
        await store.settings.set('approvals.escalateAfter', { hours: 24, to: ['aad-a', 'aad-b'], note: 'line "1"\nÅ' }, 'aad-admin', at(0));
        assert.deepEqual(await store.settings.get('approvals.escalateAfter'), {
          value: { hours: 24, to: ['aad-a', 'aad-b'], note: 'line "1"\nÅ' },
          updatedAt: at(0).toISOString(),
          updatedBy: 'aad-admin',
        });
        await store.settings.set('approvals.escalateAfter', [1, 'two', null, { three: 3 }], null, at(HOUR));
        assert.deepEqual(await store.settings.get<unknown[]>('approvals.escalateAfter'), { value: [1, 'two', null, { three: 3 }], updatedAt: at(HOUR).toISOString(), updatedBy: null });
        for (const value of ['a string', '', 0, 42.5, false, null, {}, []]) {
          await store.settings.set('k', value, null, at(0));
          assert.deepEqual((await store.settings.get('k'))?.value, value);
        }
        assert.equal(await count(store, 'settings'), 2);
        assert.equal(await store.settings.delete('k'), true);
        assert.equal(await store.settings.delete('k'), false);
        assert.equal(await store.settings.get('k'), undefined);
      });

      it('10 concurrent sets of one key from two store instances do not fail; one value wins', async function () {
        const opts = await fx.freshOptions();
        const a = await fx.open(opts);
        const b = await fx.open(opts);
        await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).settings.set('shared', { writer: i }, `aad-${i}`, at(i))));
        assert.equal(await count(a, 'settings'), 1);
        const got = await b.settings.get<{ writer: number }>('shared');
        assert.ok(got);
        assert.equal(got.updatedBy, `aad-${got.value.writer}`);
        assert.equal(got.updatedAt, at(got.value.writer).toISOString());
      });

      it('refuses bad input with a clear message and writes nothing', async function () {
        const store = await fresh();
        await expectStoreError(store.settings.set('', 1, null, at(0)), 'invalid-record', /was not stored, nothing was changed: key must be a non-empty string/);
        await expectStoreError(store.settings.set('k', undefined, null, at(0)), 'invalid-record', /value must be a JSON value \(got undefined\)/);
        await expectStoreError(store.settings.set('k', () => 1, null, at(0)), 'invalid-record', /value must be a JSON value/);
        await expectStoreError(store.settings.set('k', 10n, null, at(0)), 'invalid-record', /value cannot be stored as JSON/);
        await expectStoreError(store.settings.set('k', 1, '', at(0)), 'invalid-record', /updatedBy must be null or a non-empty string/);
        await expectStoreError(store.settings.set('k', 1, null, new Date(NaN)), 'invalid-record', /now must be a valid time/);
        await expectStoreError(store.settings.get(''), 'invalid-record', /key must be a non-empty string/);
        assert.equal(await count(store, 'settings'), 0);
      });
    });

    describe('migration 0008', function () {
      it('is a known migration, and a new store has its tables', async function () {
        assert.ok(MIGRATION_NAMES.includes('0008_approvals_reach'));
        const store = await fresh();
        for (const table of ['request_approvers', 'approval_delegations', 'settings'] as const) assert.equal(await count(store, table), 0);
      });

      it('upgrades a database at 0007 to the latest (two instances at once), keeping its data', async function () {
        const stores = await storesUpgradedFrom(fx, engine, '0007_keyed_audit_reveals', async (old) => {
          await sql`insert into conversation_refs (conversation_id, conversation_type, tenant_id, service_url, reference_json, bot_installed, revision, created_at, updated_at)
                    values ('a:old', 'personal', 'tenant-a', 'https://smba.example/', '{"v":1}', 1, 1, '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z')`.execute(old);
        });
        assert.equal(MIGRATION_NAMES.at(-1), LATEST_MIGRATION);
        assert.deepEqual((await stores[1].conversations.get('a:old'))?.reference, { v: 1 });
        const id = await newRequest(stores[0]);
        assert.equal(await stores[1].approvers.add(approver(id, 1, 'aad-m'), at(0)), true);
        await stores[0].settings.set('k', { v: 1 }, null, at(0));
        assert.deepEqual((await stores[1].settings.get('k'))?.value, { v: 1 });
      });

      it('the table constraints refuse what the repositories refuse', async function () {
        const opts = await fx.freshOptions();
        const store = await fx.open(opts);
        const id = await newRequest(store);
        await assert.rejects(
          fx.rawExec(opts, `insert into request_approvers (request_id, stage, aad_object_id, name, why, seq, added_at) values (${id}, 0, 'aad-x', 'X', 'manager', 1, '2025-01-01T00:00:00.000Z')`),
        );
        await assert.rejects(
          fx.rawExec(opts, `insert into request_approvers (request_id, stage, aad_object_id, name, why, seq, added_at) values (${id}, 1, 'aad-x', 'X', 'friend', 1, '2025-01-01T00:00:00.000Z')`),
        );
        assert.equal(await count(store, 'request_approvers'), 0);
      });
    });
  });
}
