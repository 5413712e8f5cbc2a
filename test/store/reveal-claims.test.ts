/**
 * The timers that hide a revealed password (secret_reveals) are claimed like the outbox's entries: a claim is a lease
 * on the database's clock, so an instance whose clock runs ahead cannot take a live claim, and a dead claimer's claim
 * ends on time. Due times (hide_at) stay the application's.
 */
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import type { Store } from '../../src/store';
import { ENGINES, engineFixture } from './helpers';

const MINUTE = 60_000;

for (const engine of ENGINES) {
  describe(`password reveal timers (${engine})`, function () {
    const fx = engineFixture(engine, 'reveals');

    async function storeWithDueReveal(): Promise<{ store: Store; requestId: number }> {
      const store = await fx.open(await fx.freshOptions());
      const r = await store.requests.create({ kind: 'user-mailbox', requesterAadObjectId: 'aad-1', requesterName: 'Rita', tenantId: 't', values: {}, request: {} });
      const hour = new Date(Date.now() - 60 * MINUTE);
      await store.secrets.addReveal({ requestId: r.id, conversationId: 'a:personal-rita', activityId: 'status-card', revealedAt: hour, revealedBy: 'Rita Requester', hideAt: hour });
      return { store, requestId: r.id };
    }

    it('an instance whose clock runs 10 minutes ahead does not take the live claim of one 10 minutes behind', async function () {
      const { store, requestId } = await storeWithDueReveal();
      const first = await store.secrets.claimDueReveals('behind', new Date(Date.now() - 10 * MINUTE), 30_000, 10);
      assert.deepEqual(first.map((r) => r.requestId), [requestId]);
      const row = await store.db.selectFrom('secret_reveals').select(['claimed_by', 'claimed_until']).executeTakeFirstOrThrow();
      const left = Date.parse(row.claimed_until ?? '') - Date.now();
      assert.ok(left > 0 && left <= 30_000, `the claim ends 30 s from the database's now (${String(row.claimed_until)}: ${left} ms left)`);
      assert.deepEqual(await store.secrets.claimDueReveals('ahead', new Date(Date.now() + 10 * MINUTE), 30_000, 10), [], 'a live claim is not taken');
      assert.equal((await store.db.selectFrom('secret_reveals').select('claimed_by').executeTakeFirstOrThrow()).claimed_by, 'behind');
    });

    it('the claim of a claimer that died ends on the database clock, and another instance takes the timer', async function () {
      const { store, requestId } = await storeWithDueReveal();
      assert.equal((await store.secrets.claimDueReveals('dies', new Date(Date.now() + 10 * MINUTE), 300, 10)).length, 1);
      assert.deepEqual(await store.secrets.claimDueReveals('survivor', new Date(), 30_000, 10), [], 'held while the lease runs');
      await delay(450);
      const taken = await store.secrets.claimDueReveals('survivor', new Date(), 30_000, 10);
      assert.deepEqual(taken.map((r) => r.requestId), [requestId]);
    });
  });
}
