/**
 * A step's outcome, its audit event and the request's notice are written in one transaction (RunRepository.complete
 * with `also`), on both engines: all of them or none.
 */
import assert from 'node:assert/strict';
import { RUN_STEP_NOT_DUE, type RunStepInput, type Store } from '../../src/store';
import { ENGINES, engineFixture } from './helpers';

const T0 = Date.parse('2025-03-01T09:00:00.000Z');
const at = (s: number): Date => new Date(T0 + s * 1000);
const LEASE = 30_000;

const steps = (n: number): RunStepInput[] => Array.from({ length: n }, (_, i) => ({ stepId: `step-${i}`, action: 'ad.createUser', system: 'ad', input: { i } }));
const event = (reference: string) => ({ actorAadObjectId: null, actorName: 'Mailroom', requestRef: reference, event: 'operation.done', data: { step: 'step-0', changed: true } });

async function running(store: Store): Promise<{ id: number; reference: string; stepId: number }> {
  const r = await store.requests.create({ kind: 'user-mailbox', requesterAadObjectId: 'aad-1', requesterName: 'Helpdesk', tenantId: 't', values: {}, request: {}, status: 'approved' });
  await store.runs.createSteps(r.id, steps(2), at(0));
  const [claimed] = await store.runs.claimNext('owner-a', at(1), LEASE, 1);
  assert.ok(claimed);
  return { id: r.id, reference: r.reference, stepId: claimed.id };
}

async function outboxOf(store: Store, requestId: number): Promise<(string | null)[]> {
  return (await store.outbox.claim('reader', 60_000, 100)).filter((e) => e.requestId === requestId).map((e) => e.message);
}

for (const engine of ENGINES) {
  describe(`a step's outcome is written with its audit event and notice (${engine})`, function () {
    this.timeout(60_000);
    const fx = engineFixture(engine, 'outcome');
    const fresh = async (): Promise<Store> => fx.open(await fx.freshOptions());

    it('stores the outcome, the event and the notice together, and the chain stays whole', async function () {
      const store = await fresh();
      const r = await running(store);
      assert.equal(await store.runs.complete(r.stepId, 'owner-a', { objectGuid: 'g-1', changed: true }, at(2), { audit: event(r.reference), notice: { requestId: r.id, message: null } }), true);
      const [s0, s1] = await store.runs.listByRequest(r.id);
      assert.equal(s0?.status, 'done');
      assert.deepEqual(s0?.result, { objectGuid: 'g-1', changed: true });
      assert.notEqual(s1?.nextAt, RUN_STEP_NOT_DUE, 'the next step became due, as with a plain complete');
      assert.equal((await store.runs.claimNext('owner-a', at(3), LEASE, 1))[0]?.stepId, 'step-1');
      const events = await store.audit.list({ requestRef: r.reference, limit: 10 });
      assert.deepEqual(events.map((e) => e.event), ['operation.done']);
      assert.deepEqual(await outboxOf(store, r.id), [null]);
      assert.equal((await store.audit.verify()).ok, true);
    });

    it('keeps the event but leaves no notice when the lease was lost (another instance took the step over)', async function () {
      const store = await fresh();
      const r = await running(store);
      assert.equal(await store.runs.complete(r.stepId, 'owner-b', { changed: false }, at(2), { audit: event(r.reference), notice: { requestId: r.id, message: null } }), false);
      assert.equal((await store.runs.listByRequest(r.id))[0]?.status, 'running', 'the step is still the lease holder’s');
      assert.deepEqual((await store.audit.list({ requestRef: r.reference, limit: 10 })).map((e) => e.event), ['operation.done'], 'what the step did is recorded');
      assert.deepEqual(await outboxOf(store, r.id), []);
    });

    it('stores none of it when a part fails: the notice of a request that does not exist undoes the outcome and the event', async function () {
      const store = await fresh();
      const r = await running(store);
      await assert.rejects(store.runs.complete(r.stepId, 'owner-a', { changed: true }, at(2), { audit: event(r.reference), notice: { requestId: r.id + 1000, message: null } }));
      assert.equal((await store.runs.listByRequest(r.id))[0]?.status, 'running', 'the outcome was undone');
      assert.deepEqual(await store.audit.list({ requestRef: r.reference, limit: 10 }), [], 'the event was undone');
      assert.equal((await store.audit.verify()).ok, true);
      // and the step can still be completed afterwards
      assert.equal(await store.runs.complete(r.stepId, 'owner-a', { changed: true }, at(3), { audit: event(r.reference) }), true);
      assert.deepEqual((await store.audit.list({ requestRef: r.reference, limit: 10 })).map((e) => e.event), ['operation.done']);
    });

    it('refuses a notice without a request id and stores nothing', async function () {
      const store = await fresh();
      const r = await running(store);
      await assert.rejects(store.runs.complete(r.stepId, 'owner-a', {}, at(2), { audit: event(r.reference), notice: { requestId: 0, message: null } }), /notice must name a request id/);
      assert.equal((await store.runs.listByRequest(r.id))[0]?.status, 'running');
      assert.deepEqual(await store.audit.list({ requestRef: r.reference, limit: 10 }), []);
    });
  });
}
