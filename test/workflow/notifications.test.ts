/**
 * The runner hands notifications off through the store's outbox: a run finishes while Teams does not answer, and
 * what people must hear goes out once it does; a notice a stopped instance left half-sent is delivered by the next.
 */
import assert from 'node:assert/strict';
import type { Mailroom } from '../../src/app';
import { visibleText, type Connector, type Person } from '../harness/connector';
import { QUICK_RUNNER, TestMailroom } from '../harness/mailroom';
import { ARNOLD, buttonData, cardOf, RITA, storedRequest } from '../harness/requests';
import { getSharedSandbox } from '../harness/sandbox';

describe('notifications through the outbox', function () {
  this.timeout(120000);
  let m: TestMailroom;
  let app: Mailroom;
  let connector: Connector;
  const suffix = Date.now().toString(36).slice(-5);

  before(async function () {
    m = await TestMailroom.start({ sandbox: await getSharedSandbox(), name: 'notify', options: { ...QUICK_RUNNER, notifyIntervalMs: 200 } });
    app = m.app;
    connector = m.connector;
  });
  after(async function () {
    await m?.close();
  });

  const client = (p: Person) => m.chat(p).client;

  async function fileContact(name: string): Promise<string> {
    const since = connector.calls.length;
    await client(RITA).say(`new contact name="${name}" email=${name.toLowerCase().replace(/\s+/g, '.')}@fabrikam.example`);
    const approval = await connector.waitFor((c) => c.conversationId === `a:personal-${ARNOLD.id}` && /R-\d+ · Mail contact/.test(visibleText(c.body)), 15000, since);
    return /(R-\d+)/.exec(visibleText(approval.body))?.[1] ?? '';
  }

  async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 60000): Promise<T> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const v = await read();
      if (ok(v)) return v;
      if (Date.now() > end) assert.fail(`${what}: still ${JSON.stringify(v)} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('a run finishes while Teams does not answer; the cards and the message go out once it does', async function () {
    const reference = await fileContact(`Outbox Held ${suffix}`);
    const approval = connector.calls.filter((c) => c.conversationId === `a:personal-${ARNOLD.id}` && visibleText(c.body).includes(reference)).pop();
    assert.ok(approval);
    const res = await client(ARNOLD).execute('request.approve', buttonData(cardOf(approval), 'Approve') ?? {});
    assert.equal(res.status, 200);

    const release = connector.hold();
    let released = false;
    try {
      await until(`${reference} status`, async () => (await storedRequest(app.store, reference))?.record.status, (s) => s === 'done' || s === 'failed');
      assert.equal((await storedRequest(app.store, reference))?.record.status, 'done', 'the run finished without Teams answering');
      assert.ok((await app.store.outbox.count()) >= 1, 'what people must hear waits in the outbox');
      const since = connector.calls.length;
      release();
      released = true;
      const done = await connector.waitFor((c) => c.conversationId === `a:personal-${RITA.id}` && new RegExp(`${reference} is done`).test(String(c.body.text)), 15000, since);
      assert.ok(done);
      await until('outbox', () => app.store.outbox.count(), (n) => n === 0, 15000);
      const updated = connector.calls.slice(since).filter((c) => c.method === 'PUT' && visibleText(c.body).includes(reference));
      assert.ok(updated.some((c) => /Done at/.test(visibleText(c.body))), 'the status and approval cards show Done');
    } finally {
      if (!released) release();
    }
  });

  it('a notice that a stopped instance claimed but never sent is delivered once its claim runs out', async function () {
    const reference = await fileContact(`Outbox Left ${suffix}`);
    const record = (await storedRequest(app.store, reference))!.record;
    const since = connector.calls.length;
    const message = `${reference}: a notice left behind by a stopped instance.`;
    // as a sender that died mid-delivery left it: claimed, and the claim ran out a while ago
    const past = new Date(Date.now() - 90_000).toISOString();
    await app.store.db
      .insertInto('outbox')
      .values({ request_id: record.id, message, created_at: past, attempts: 1, claimed_by: 'gone-instance', claimed_until: past })
      .execute();
    await connector.waitFor((c) => c.conversationId === `a:personal-${RITA.id}` && String(c.body.text) === message, 15000, since);
    await until('outbox', () => app.store.outbox.count(), (n) => n === 0, 15000);
  });
});
