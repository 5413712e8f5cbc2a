/**
 * The request lifecycle: the one place that moves a request's status. Moves the table does not allow are refused
 * before anything is written; the runner's moves never leave a cancelled, done or rolled-back request.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openStore, REQUEST_STATUSES, type Store } from '../../src/store';
import { IllegalTransitionError, mayMove, RequestLifecycle } from '../../src/workflow/lifecycle';

describe('request lifecycle', function () {
  let dir = '';
  let store: Store;
  let lifecycle: RequestLifecycle;

  beforeEach(async function () {
    dir = mkdtempSync(path.join(os.tmpdir(), 'mailroom-lifecycle-'));
    store = await openStore({ sqliteFile: path.join(dir, 'm.db') });
    lifecycle = new RequestLifecycle(store.requests);
  });
  afterEach(async function () {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const file = () => store.requests.create({ kind: 'shared-mailbox', requesterAadObjectId: 'aad-r', requesterName: 'Rita', tenantId: 't', values: {}, request: {}, status: 'pending-approval' });

  it('finished requests go nowhere (a done one only into its roll back); every status can stay where it is', function () {
    for (const end of ['rejected', 'expired', 'rolled-back'] as const) {
      for (const to of REQUEST_STATUSES) assert.equal(mayMove(end, to), to === end, `${end} → ${to}`);
    }
    for (const to of REQUEST_STATUSES) assert.equal(mayMove('done', to), to === 'done' || to === 'running', `done → ${to}`);
    for (const s of REQUEST_STATUSES) assert.ok(mayMove(s, s), `${s} → ${s}`);
    assert.ok(mayMove('failed', 'running'), 'retry and roll back');
    assert.ok(mayMove('cancelled', 'running'), 'roll back after a cancel');
    assert.ok(!mayMove('pending-approval', 'running'), 'nothing runs before it is approved');
  });

  it('refuses an illegal move and writes nothing', async function () {
    const r = await file();
    await assert.rejects(lifecycle.move(r, { status: 'done' }), (e: unknown) => e instanceof IllegalTransitionError && /R-\d+ cannot move from pending-approval to done; nothing was changed\./.test(e.message));
    const after = await store.requests.get(r.id);
    assert.equal(after?.status, 'pending-approval');
    assert.equal(after?.version, r.version);
  });

  it('a move at an old version loses to the one that came first', async function () {
    const r = await file();
    const first = await lifecycle.move(r, { status: 'approved' });
    assert.ok(first.ok);
    const second = await lifecycle.move(r, { status: 'rejected' });
    assert.ok(!second.ok);
    assert.equal(second.current.status, 'approved');
  });

  it("the runner's moves leave a cancelled request cancelled and a done request done", async function () {
    const r = await file();
    const approved = await lifecycle.move(r, { status: 'approved' });
    assert.ok(approved.ok);
    assert.equal((await lifecycle.runMove(r.id, 'queued')).record?.status, 'queued');
    assert.equal((await lifecycle.runMove(r.id, 'running')).record?.status, 'running');
    const running = await store.requests.get(r.id);
    const cancelled = await lifecycle.move(running!, { status: 'cancelled' });
    assert.ok(cancelled.ok);
    const late = await lifecycle.runMove(r.id, 'done', { error: null, result: { x: 1 }, notice: { message: 'done' } });
    assert.deepEqual([late.record?.status, late.moved], ['cancelled', false]);
    assert.equal(await store.outbox.count(), 0, 'nothing is told of a move that did not happen');

    const other = await file();
    assert.ok((await lifecycle.move(other, { status: 'approved' })).ok);
    assert.equal((await lifecycle.runMove(other.id, 'running')).record?.status, 'running');
    const done = await lifecycle.runMove(other.id, 'done', { error: null, result: { ok: true }, notice: { message: `${other.reference} is done.` } });
    assert.deepEqual([done.record?.status, done.moved], ['done', true]);
    assert.deepEqual((await store.outbox.claim('t', 1000, 10)).map((e) => [e.requestId, e.message]), [[other.id, `${other.reference} is done.`]], 'the move and its notice were written together');
    assert.equal((await lifecycle.runMove(other.id, 'failed', { error: 'late failure' })).record?.status, 'done', 'a done request is not failed afterwards');
  });
});
