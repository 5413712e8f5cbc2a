/**
 * Bulk requests end to end over HTTP against the sandbox: pasted CSV → preview kept as a batch → `file B-n valid`
 * files one request per valid row → the approver gets one message for the batch (not one card per row) → `approve
 * B-n` decides them all → every row runs to done (the AD users exist) → the requester gets one report, not a message
 * per row and step → `status B-n` and `export batch B-n` agree with the store. A rejected batch finishes at once.
 */
import assert from 'node:assert/strict';
import { SANDBOX_MAIL_DOMAIN } from '../../src/sandbox/people';
import { visibleText } from '../harness/connector';
import { TestMailroom } from '../harness/mailroom';
import { ARNOLD, RITA } from '../harness/requests';
import { getSharedSandbox } from '../harness/sandbox';

const suffix = Date.now().toString(36).slice(-5);

describe('bulk requests: preview, file, one approval, every row to done, one report, status and export', function () {
  this.timeout(120_000);
  let m: TestMailroom;

  before(async function () {
    m = await TestMailroom.start({ sandbox: await getSharedSandbox(), name: 'batches', logVariable: 'BATCHES_LOG' });
  });

  after(async function () {
    await m?.close();
  });

  const ritaSaid = (since: number): string[] => m.connector.calls.slice(since).filter((c) => c.conversationId === `a:personal-${RITA.id}`).map((c) => visibleText(c.body));
  const arnoldSaid = (since: number): string[] => m.connector.calls.slice(since).filter((c) => c.conversationId === `a:personal-${ARNOLD.id}`).map((c) => visibleText(c.body));

  async function say(chat: 'rita' | 'arnold', text: string, match: RegExp): Promise<string> {
    const since = m.connector.calls.length;
    await m[chat].client.say(text);
    const conv = chat === 'rita' ? RITA.id : ARNOLD.id;
    const reply = await m.connector.waitFor((c) => c.conversationId === `a:personal-${conv}` && match.test(visibleText(c.body)), 20_000, since);
    return visibleText(reply.body);
  }

  it('a batch of user mailboxes with one bad row: filed valid-only, approved once, every row done, one report; status and export agree', async function () {
    const csv = ['bulk new mailbox', 'first,last,usage', `Bo,Batch${suffix},DE`, `Cy,Batch${suffix},DE`, `Di,Batch${suffix},XX`, `Ed,Batch${suffix},GB`].join('\n');
    const preview = await say('rita', csv, /B-\d+ · Bulk User mailbox/);
    const ref = /(B-\d+)/.exec(preview)?.[1] ?? '';
    assert.match(preview, /3 of 4 rows valid/);
    assert.match(preview, /Line 5: /);
    assert.match(await say('rita', `file ${ref}`, /Not filed|Batch filed/), /has 1 invalid row.*file B-\d+ valid.*Nothing was filed/);

    const filedAt = m.connector.calls.length;
    assert.match(await say('rita', `file ${ref} valid`, /Batch filed|Not filed/), new RegExp(`${ref}: 3 User mailbox requests filed`));
    const batch = (await m.app.store.batches.get(ref))!;
    const rows = await m.app.store.requests.listByBatch(batch.id);
    assert.deepEqual(rows.map((r) => r.status), ['pending-approval', 'pending-approval', 'pending-approval']);
    await m.connector.waitFor((c) => c.conversationId === `a:personal-${ARNOLD.id}` && visibleText(c.body).includes(`approve ${ref}`), 10_000, filedAt);
    assert.equal(arnoldSaid(filedAt).filter((t) => /R-\d+ · User mailbox/.test(t)).length, 0, 'no approval card per row');

    const approvedAt = m.connector.calls.length;
    assert.match(await say('arnold', `approve ${ref}`, /Approved|Not decided/), new RegExp(`3 of 3 requests in ${ref} approved`));
    for (const r of rows) await m.untilDone(r.reference, 90_000);
    const report = await m.connector.waitFor((c) => c.conversationId === `a:personal-${RITA.id}` && visibleText(c.body).includes(`${ref} has finished`), 30_000, approvedAt);
    assert.match(visibleText(report.body), /3 done/);
    const perRow = ritaSaid(approvedAt).filter((t) => rows.some((r) => t.includes(r.reference)));
    assert.deepEqual(perRow, [], 'no message per row or step to the requester');
    for (const first of ['Bo', 'Cy', 'Ed']) {
      const user = await m.directory.findByIdentity(`${first.toLowerCase()}.batch${suffix}@${SANDBOX_MAIL_DOMAIN}`);
      assert.ok(user, `the AD user of ${first} exists`);
    }
    assert.equal((await m.app.store.batches.get(ref))?.status, 'finished');

    const status = await say('rita', `status ${ref}`, /Batch|No such batch/);
    assert.match(status, /done:?\s*3/);
    const exported = await say('rita', `export batch ${ref}`, new RegExp(`${ref} as CSV`));
    const lines = exported.split('\n').slice(2).filter(Boolean);
    assert.equal(lines.length, 4, exported);
    assert.equal(lines.filter((l) => /,done,/.test(l)).length, 3);
    assert.match(lines.find((l) => l.startsWith('5,')) ?? '', /,invalid,/);
  });

  it('a rejected batch: every row rejected with the reason, the batch finishes and the requester hears once', async function () {
    const csv = ['bulk new mailbox', 'first,last', `Fi,Reject${suffix}`, `Gu,Reject${suffix}`].join('\n');
    const ref = /(B-\d+)/.exec(await say('rita', csv, /B-\d+ · Bulk User mailbox/))?.[1] ?? '';
    await say('rita', `file ${ref}`, /Batch filed/);
    const since = m.connector.calls.length;
    assert.match(await say('arnold', `reject ${ref} Not this term.`, /Rejected|Not decided/), /2 of 2 requests in B-\d+ rejected/);
    const rows = await m.app.store.requests.listByBatch((await m.app.store.batches.get(ref))!.id);
    assert.deepEqual(rows.map((r) => [r.status, r.decisionReason]), [['rejected', 'Not this term.'], ['rejected', 'Not this term.']]);
    await m.connector.waitFor((c) => c.conversationId === `a:personal-${RITA.id}` && visibleText(c.body).includes(`${ref} has finished: 2 rejected`), 15_000, since);
  });

  it('someone who may not see a batch hears that there is none; a second file is refused', async function () {
    const ref = /(B-\d+)/.exec(await say('rita', ['bulk new mailbox', 'first,last', `Ha,Seen${suffix}`].join('\n'), /B-\d+ · Bulk/))?.[1] ?? '';
    assert.match(await say('arnold', `file ${ref}`, /Not filed|Not allowed|role/), /There is no batch|role/);
    await say('rita', `file ${ref}`, /Batch filed/);
    assert.match(await say('rita', `file ${ref}`, /Not filed/), /was filed already/);
  });
});
