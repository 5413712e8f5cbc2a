/**
 * Bulk requests end to end over HTTP against the sandbox, through the cards as Teams would press them: pasted CSV →
 * the preview card (File the N valid ones, Plan per row; no plain File while rows are invalid) → someone else pressing
 * File is refused and nothing is filed → Plan per row answers with each row's steps → the requester's File files one
 * request per valid row and the preview is updated in place (filed by whom, how many) → each approver gets one
 * approval card for the batch (not one per row) → Approve on one copy decides every row and the other approver's copy
 * says "Approved by …" in place → every row runs to done (the AD users exist) → the requester's one progress card is
 * updated in place to the final counts and the one report still comes → `status B-n` and `export batch B-n` agree
 * with the store. Rejecting on the card needs a reason; a rejected batch finishes at once. The text commands work too.
 */
import assert from 'node:assert/strict';
import { SANDBOX_MAIL_DOMAIN, SANDBOX_TENANT_ID } from '../../src/sandbox/people';
import type { RequestRecord } from '../../src/store';
import { visibleText, type RecordedCall } from '../harness/connector';
import { QUICK_RUNNER, TestMailroom } from '../harness/mailroom';
import { ADA, ARNOLD, actionsOf, buttonData, cardOf, cardText, RITA } from '../harness/requests';
import { getSharedSandbox } from '../harness/sandbox';

const suffix = Date.now().toString(36).slice(-5);

describe('bulk requests: preview card, file, one approval card, every row to done, one progress card, one report', function () {
  this.timeout(120_000);
  let m: TestMailroom;

  before(async function () {
    // two approvers, so that a decision on one copy of the approval card shows on the other
    m = await TestMailroom.start({ sandbox: await getSharedSandbox(), name: 'batches', logVariable: 'BATCHES_LOG', settings: { APPROVERS: `user:${ARNOLD.aadObjectId},user:${ADA.aadObjectId}` } });
    await m.chat(ADA).client.install();
  });

  after(async function () {
    await m?.close();
  });

  const conv = (p: { id: string }) => `a:personal-${p.id}`;
  const ritaSaid = (since: number): string[] => m.connector.calls.slice(since).filter((c) => c.conversationId === conv(RITA)).map((c) => visibleText(c.body));

  /** Types a message and waits for Mailroom's reply (a new message, not an update) that matches. */
  async function say(chat: 'rita' | 'arnold', text: string, match: RegExp): Promise<string> {
    const since = m.connector.calls.length;
    await m[chat].client.say(text);
    const who = chat === 'rita' ? RITA : ARNOLD;
    const reply = await m.connector.waitFor((c) => c.method === 'POST' && c.conversationId === conv(who) && match.test(visibleText(c.body)), 20_000, since);
    return visibleText(reply.body);
  }

  /** Rita pastes a CSV; resolves with the preview card and its batch. */
  async function preview(csv: string): Promise<{ ref: string; card: Record<string, unknown>; batchId: number; activityId: string }> {
    const since = m.connector.calls.length;
    await m.rita.client.say(csv);
    const call = await m.connector.waitFor((c) => c.method === 'POST' && c.conversationId === conv(RITA) && /B-\d+ · Bulk/.test(visibleText(c.body)), 20_000, since);
    const ref = /(B-\d+)/.exec(visibleText(call.body))?.[1] ?? '';
    const batch = await m.app.store.batches.get(ref);
    assert.ok(batch, `${ref} is kept`);
    const place = (await m.app.store.batches.cards(batch.id, 'preview'))[0];
    assert.ok(place, 'the preview card is remembered, to update it in place');
    return { ref, card: cardOf(call), batchId: batch.id, activityId: place.activityId };
  }

  const approvalCardIn = (who: { id: string }, ref: string, since: number) =>
    m.connector.waitFor((c) => c.method === 'POST' && c.conversationId === conv(who) && visibleText(c.body).includes(`${ref} · Bulk`) && actionsOf(cardOf(c)).some((a) => a.verb === 'batch.approve'), 15_000, since);

  it('the cards: File refused for someone else, Plan per row, File the valid ones, Approve on one copy updates the other, one progress card to the end', async function () {
    const csv = ['bulk new mailbox', 'first,last,usage', `Bo,Batch${suffix},DE`, `Cy,Batch${suffix},DE`, `Di,Batch${suffix},XX`, `Ed,Batch${suffix},GB`].join('\n');
    const p = await preview(csv);
    const text = cardText(p.card);
    assert.match(text, /3 of 4 rows valid/);
    assert.match(text, /Line 5: .*XX/);
    const titles = actionsOf(p.card).map((a) => a.title);
    assert.deepEqual(titles, ['File the 3 valid ones', 'Plan per row'], 'no plain File while a row is invalid');
    const fileData = buttonData(p.card, 'File the 3 valid ones') ?? {};

    // Ada (a requester and an admin, not this batch's requester) presses File: refused, nothing filed
    const refused = cardText(await m.chat(ADA).press('batch.file', fileData));
    assert.match(refused, /There is no batch B-\d+ that you may see\. Nothing was changed\./);
    assert.equal((await m.app.store.batches.get(p.ref))?.status, 'preview');
    assert.deepEqual(await m.app.store.requests.listByBatch(p.batchId), [], 'nothing filed');
    // so is a forged "file all" while rows are invalid
    assert.match(cardText(await m.rita.press('batch.file', { reference: p.ref, validOnly: false }, p.activityId)), /has 1 invalid row.*Nothing was filed/);
    assert.deepEqual(await m.app.store.requests.listByBatch(p.batchId), []);

    // Plan per row: a new message with each valid row's line and steps; the preview keeps its buttons
    const planAt = m.connector.calls.length;
    const planned = await m.rita.client.post({ type: 'invoke', name: 'adaptiveCard/action', replyToId: p.activityId, value: { action: { type: 'Action.Execute', verb: 'batch.plan', data: buttonData(p.card, 'Plan per row') }, trigger: 'manual' } });
    assert.equal(planned.status, 200);
    const plan = visibleText((await m.rita.waitFor((c) => c.method === 'POST' && /Plan per row/.test(visibleText(c.body)), planAt)).body);
    for (const [line, first] of [[3, 'bo'], [4, 'cy'], [6, 'ed']] as const) assert.match(plan, new RegExp(`\\*\\*Line ${line}\\*\\*\\n- Create the AD user [^\\n]*${first}\\.batch${suffix}@`, 'i'));
    assert.doesNotMatch(plan, /Line 5/);
    assert.match(plan, /Rows 1 to 3 of the 3 valid rows/);

    // the requester's File: one request per valid row; the preview says so (the answer, and in place)
    const filedAt = m.connector.calls.length;
    const filedCard = await m.rita.press('batch.file', fileData, p.activityId);
    assert.match(cardText(filedCard), /Filed by Rita Requester: 3 requests\./);
    assert.deepEqual(actionsOf(filedCard).map((a) => a.title), ['Plan per row'], 'no File button once filed');
    const rows = await m.app.store.requests.listByBatch(p.batchId);
    assert.deepEqual(rows.map((r) => r.status), ['pending-approval', 'pending-approval', 'pending-approval']);
    const inPlace = await m.connector.waitFor((c) => c.method === 'PUT' && c.activityId === p.activityId, 10_000, filedAt);
    assert.match(visibleText(inPlace.body), /Filed by Rita Requester: 3 requests\./);

    // one approval card per approver, with the plan of a row; no card per row
    const arnoldCard = await approvalCardIn(ARNOLD, p.ref, filedAt);
    const adaCard = await approvalCardIn(ADA, p.ref, filedAt);
    const approvalText = visibleText(arnoldCard.body);
    assert.match(approvalText, /Requested by: Rita Requester/);
    assert.match(approvalText, /Requests: 3/);
    assert.match(approvalText, /Plan of each row \(as for line 3; \d+ steps\)\n- Create the AD user/);
    assert.equal(m.connector.calls.slice(filedAt).filter((c) => /R-\d+ · User mailbox/.test(visibleText(c.body))).length, 0, 'no approval card per row');
    const adaPlace = (await m.app.store.batches.cards(p.batchId, 'approver')).find((c) => c.aadObjectId === ADA.aadObjectId.toLowerCase());
    assert.ok(adaPlace, "Ada's copy is remembered");

    // the requester's progress card: posted once
    const progressPlace = (await m.app.store.batches.cards(p.batchId, 'progress'))[0];
    assert.ok(progressPlace, 'the progress card is remembered');

    // Arnold presses Approve: every row approved, his card and Ada's copy say so
    const approvedAt = m.connector.calls.length;
    const answer = await m.arnold.press('batch.approve', buttonData(cardOf(arnoldCard), 'Approve') ?? {});
    assert.match(cardText(answer), /Approved by Arnold Approver/);
    assert.deepEqual(actionsOf(answer), []);
    const adaUpdate = await m.connector.waitFor((c) => c.method === 'PUT' && c.conversationId === conv(ADA) && c.activityId === adaPlace.activityId, 10_000, approvedAt);
    assert.match(visibleText(adaUpdate.body), /Approved by Arnold Approver/);
    assert.deepEqual(actionsOf(cardOf(adaUpdate)), [], "Ada's copy has no buttons any more");
    assert.ok(visibleText(adaCard.body).includes('[Approve]'));
    // a late press on Ada's old copy decides nothing and shows who did
    assert.match(cardText(await m.chat(ADA).press('batch.approve', { reference: p.ref })), /Nothing in B-\d+ waits for a decision[\s\S]*Approved by Arnold Approver/);

    for (const r of rows) await m.untilDone(r.reference, 90_000);
    const report = await m.connector.waitFor((c) => c.conversationId === conv(RITA) && visibleText(c.body).includes(`${p.ref} has finished`), 30_000, approvedAt);
    assert.match(visibleText(report.body), /3 done/);
    const final = await m.connector.waitFor((c) => c.method === 'PUT' && c.activityId === progressPlace.activityId && /Finished: 3 done/.test(visibleText(c.body)), 30_000, filedAt);
    assert.match(visibleText(final.body), /done: 3/);

    // the progress card is one activity: posted once, every later change an update of it
    const progressCalls = m.connector.calls.slice(filedAt).filter((c: RecordedCall) => c.conversationId === conv(RITA) && /Bulk User mailbox: progress/.test(visibleText(c.body)));
    assert.equal(progressCalls.filter((c) => c.method === 'POST').length, 1, 'one progress card');
    assert.ok(progressCalls.filter((c) => c.method === 'PUT').every((c) => c.activityId === progressPlace.activityId));
    assert.match(visibleText(progressCalls.at(-1)!.body), /Finished: 3 done/, 'the last state shown is the end');
    const perRow = ritaSaid(approvedAt).filter((t) => rows.some((r) => t.includes(r.reference)));
    assert.deepEqual(perRow, [], 'no message per row or step to the requester');
    for (const first of ['Bo', 'Cy', 'Ed']) {
      const user = await m.directory.findByIdentity(`${first.toLowerCase()}.batch${suffix}@${SANDBOX_MAIL_DOMAIN}`);
      assert.ok(user, `the AD user of ${first} exists`);
    }
    assert.equal((await m.app.store.batches.get(p.ref))?.status, 'finished');

    const status = await say('rita', `status ${p.ref}`, /Batch|No such batch/);
    assert.match(status, /done:?\s*3/);
    const exported = await say('rita', `export batch ${p.ref}`, new RegExp(`${p.ref} as CSV`));
    const lines = exported.split('\n').slice(2).filter(Boolean);
    assert.equal(lines.length, 4, exported);
    assert.equal(lines.filter((l) => /,done,/.test(l)).length, 3);
    assert.match(lines.find((l) => l.startsWith('5,')) ?? '', /,invalid,/);
  });

  it('Reject on the card needs a reason; with one every row is rejected, both copies say so, the batch finishes, the requester hears once', async function () {
    const p = await preview(['bulk new mailbox', 'first,last', `Fi,Reject${suffix}`, `Gu,Reject${suffix}`].join('\n'));
    assert.deepEqual(actionsOf(p.card).map((a) => a.title), ['File all 2', 'Plan per row']);
    const filedAt = m.connector.calls.length;
    assert.match(cardText(await m.rita.press('batch.file', buttonData(p.card, 'File all 2') ?? {}, p.activityId)), /Filed by Rita Requester: 2 requests/);
    const arnoldCard = await approvalCardIn(ARNOLD, p.ref, filedAt);
    await approvalCardIn(ADA, p.ref, filedAt);
    const data = buttonData(cardOf(arnoldCard), 'Reject') ?? {};

    const noReason = cardText(await m.arnold.press('batch.reject', { ...data, reason: '  ' }));
    assert.match(noReason, /reason/i);
    assert.ok(noReason.includes('[Reject]'), 'the card stays decidable');
    const batchId = p.batchId;
    assert.deepEqual((await m.app.store.requests.listByBatch(batchId)).map((r) => r.status), ['pending-approval', 'pending-approval'], 'nothing rejected without a reason');

    const since = m.connector.calls.length;
    const reason = 'Not *this* term.';
    assert.match(cardText(await m.arnold.press('batch.reject', { ...data, reason })), /Rejected by Arnold Approver: Not \*this\* term\./);
    const rows = await m.app.store.requests.listByBatch(batchId);
    assert.deepEqual(rows.map((r) => [r.status, r.decisionReason]), [['rejected', reason], ['rejected', reason]]);
    const adaPlace = (await m.app.store.batches.cards(batchId, 'approver')).find((c) => c.aadObjectId === ADA.aadObjectId.toLowerCase());
    const adaUpdate = await m.connector.waitFor((c) => c.method === 'PUT' && c.activityId === adaPlace?.activityId, 10_000, since);
    const adaText = visibleText(adaUpdate.body);
    assert.match(adaText, /Rejected by Arnold Approver: Not \*this\* term\./);
    assert.ok((cardOf(adaUpdate).body as unknown[]).some((b) => JSON.stringify(b).includes('Not \\\\*this\\\\* term')), 'the reason is escaped as markdown');
    await m.connector.waitFor((c) => c.conversationId === conv(RITA) && visibleText(c.body).includes(`${p.ref} has finished: 2 rejected`), 15_000, since);
    const progressPlace = (await m.app.store.batches.cards(batchId, 'progress'))[0];
    await m.connector.waitFor((c) => c.method === 'PUT' && c.activityId === progressPlace?.activityId && /Finished: 2 rejected/.test(visibleText(c.body)), 15_000, since);
  });

  it('the text commands: file, reject with a reason, plan; someone who may not see a batch hears that there is none; a second file is refused', async function () {
    const ref = (await preview(['bulk new mailbox', 'first,last', `Ha,Seen${suffix}`, `Io,Seen${suffix}`].join('\n'))).ref;
    assert.match(await say('arnold', `file ${ref}`, /Not filed|Not allowed|role/), /There is no batch|role/);
    assert.match(await say('rita', `plan ${ref}`, /Plan per row/), /\*\*Line 3\*\*\n- Create the AD user/);
    const filedAt = m.connector.calls.length;
    assert.match(await say('rita', `file ${ref}`, /Batch filed/), new RegExp(`${ref}: 2 User mailbox requests filed`));
    const place = (await m.app.store.batches.cards((await m.app.store.batches.get(ref))!.id, 'preview'))[0];
    await m.connector.waitFor((c) => c.method === 'PUT' && c.activityId === place?.activityId && /Filed by Rita Requester: 2 requests/.test(visibleText(c.body)), 10_000, filedAt);
    assert.ok((await m.app.store.batches.get(ref))?.filingDoneAt, 'its filing is done: nothing to take up later');
    assert.match(await say('rita', `file ${ref}`, /Not filed/), /was filed already/);
    await approvalCardIn(ARNOLD, ref, filedAt);
    const since = m.connector.calls.length;
    assert.match(await say('arnold', `reject ${ref} Not this term.`, /Rejected|Not decided/), /2 of 2 requests in B-\d+ rejected/);
    await m.connector.waitFor((c) => c.conversationId === conv(RITA) && visibleText(c.body).includes(`${ref} has finished: 2 rejected`), 15_000, since);
    const approverCards = await m.app.store.batches.cards((await m.app.store.batches.get(ref))!.id, 'approver');
    for (const c of approverCards) await m.connector.waitFor((x) => x.method === 'PUT' && x.activityId === c.activityId && /Rejected by Arnold Approver: Not this term\./.test(visibleText(x.body)), 10_000, since);
  });

  it('a filing stopped half-way (Mailroom stopped) is taken up: the rows not filed yet are filed once, the approvers asked once, the requester told; taking it up again does nothing', async function () {
    const p = await preview(['bulk new mailbox', 'first,last', ...['Ma', 'Ne', 'Ol', 'Pi'].map((f) => `${f},Resume${suffix}`)].join('\n'));
    const b = (await m.app.store.batches.get(p.ref))!;
    const valid = (b.rows as { valid: { line: number; values: Record<string, string> }[] }).valid;
    // What a stop while filing leaves behind: the batch filed, its first two rows filed, nobody asked yet, and nothing
    // moved for three minutes.
    const stopped = new Date(Date.now() - 3 * 60_000);
    assert.ok((await m.app.store.batches.transition(b.id, b.version, { status: 'filed', filedAt: stopped.toISOString() }, stopped)).ok);
    const rita = { aadObjectId: RITA.aadObjectId, name: RITA.name, tenantId: SANDBOX_TENANT_ID, isAdmin: false };
    const batches = { resumeFilings: () => m.app.workflow!.maintenance.resumeBatchFilings() };
    for (const row of valid.slice(0, 2)) assert.ok((await m.app.workflow!.useCases.intake.submit(rita, 'user-mailbox', row.values, 'bulk', { id: b.id, line: row.line })).ok);
    assert.deepEqual(await m.app.store.batches.cards(b.id, 'approver'), [], 'nobody asked yet');

    const since = m.connector.calls.length;
    // two instances (or Mailroom's own timer) look at once: one takes it up
    const taken = await Promise.all([batches.resumeFilings(), batches.resumeFilings()]);
    assert.ok(taken[0] + taken[1] <= 1, 'taken up once');
    const told = await m.connector.waitFor((c) => c.method === 'POST' && c.conversationId === conv(RITA) && visibleText(c.body).includes(`${p.ref}: filing was interrupted`), 20_000, since);
    assert.match(visibleText(told.body), new RegExp(`${p.ref}: filing was interrupted \\(Mailroom stopped\\) and has been finished: 4 User mailbox requests filed in all, 2 of them now; they wait for one approval of the batch\\.`));
    const filed = await m.app.store.requests.listByBatch(b.id);
    assert.deepEqual(filed.map((r) => r.batchLine).sort(), valid.map((r) => r.line).sort(), 'every line filed, each once');
    assert.deepEqual(filed.map((r) => r.status), ['pending-approval', 'pending-approval', 'pending-approval', 'pending-approval']);
    assert.deepEqual(filed.map((r) => r.requesterAadObjectId), filed.map(() => RITA.aadObjectId.toLowerCase()), 'filed for the batch’s requester');
    await approvalCardIn(ARNOLD, p.ref, since);
    await approvalCardIn(ADA, p.ref, since);
    const done = await m.app.store.batches.get(b.id);
    assert.ok(done?.filingDoneAt, 'the filing is done');
    assert.equal((await m.app.store.batches.cards(b.id, 'approver')).length, 2, 'one approval card per approver');
    assert.equal((await m.app.store.batches.cards(b.id, 'progress')).length, 1, 'one progress card');
    const events = (await m.app.store.audit.list({ requestRef: p.ref, limit: 1000 })).map((e) => e.event);
    assert.equal(events.filter((e) => e === 'batch.filing-resumed').length, 1);
    assert.ok(events.includes('batch.filed'));

    // looked at again: nothing is left to take up, nothing is sent
    const after = m.connector.calls.length;
    assert.equal(await batches.resumeFilings(), 0);
    assert.equal((await m.app.store.requests.listByBatch(b.id)).length, 4);
    assert.equal(m.connector.calls.length, after, 'nothing sent again');
    assert.match(await say('arnold', `approve ${p.ref}`, /Approved|Not decided/), /4 of 4 requests in B-\d+ approved/);
  });

  /**
   * What a stop while Arnold's reject of a batch was being decided leaves behind: a batch of `firsts.length` user
   * mailboxes filed by Rita, Arnold's reject (with `reason`) kept as started three minutes ago, and its first
   * `decided` rows rejected quietly (as the decision had got that far); nothing else moved since.
   */
  async function rejectStoppedAfter(firsts: readonly string[], last: string, reason: string, decided: number): Promise<{ p: { ref: string; batchId: number }; rows: RequestRecord[] }> {
    const p = await preview(['bulk new mailbox', 'first,last', ...firsts.map((f) => `${f},${last}${suffix}`)].join('\n'));
    const filedAt = m.connector.calls.length;
    assert.match(await say('rita', `file ${p.ref}`, /Batch filed/), new RegExp(`${firsts.length} User mailbox requests filed`));
    await approvalCardIn(ARNOLD, p.ref, filedAt);
    const arnold = { aadObjectId: ARNOLD.aadObjectId, name: ARNOLD.name, tenantId: SANDBOX_TENANT_ID, isAdmin: false };
    await m.app.store.batches.decisionStarted({ batchId: p.batchId, actorAadObjectId: arnold.aadObjectId, actorName: arnold.name, tenantId: arnold.tenantId, isAdmin: false, outcome: 'reject', reason }, new Date(Date.now() - 3 * 60_000));
    const rows = await m.app.store.requests.listByBatch(p.batchId);
    for (const r of rows.slice(0, decided)) assert.ok((await m.app.workflow!.approvals.decide(arnold, r.reference, undefined, 'reject', reason, { quiet: true })).ok);
    return { p, rows };
  }

  it('a decision stopped half-way (Mailroom stopped) is finished by itself: the rows still waiting are decided once, every card and the requester told; taking it up again does nothing', async function () {
    const { p, rows } = await rejectStoppedAfter(['Qu', 'Ra', 'Su', 'Ty'], 'Halt', 'Not this term.', 2);

    const since = m.connector.calls.length;
    const resume = () => m.app.workflow!.maintenance.resumeBatchDecisions();
    // two instances (or Mailroom's own timer) look at once: one takes it up
    const taken = await Promise.all([resume(), resume()]);
    assert.ok(taken[0] + taken[1] <= 1, 'taken up once');
    await m.connector.waitFor((c) => c.method === 'POST' && c.conversationId === conv(RITA) && visibleText(c.body).includes(`${p.ref} was rejected (Not this term.) by Arnold Approver: 2 requests.`), 20_000, since);
    await m.connector.waitFor((c) => c.conversationId === conv(RITA) && visibleText(c.body).includes(`${p.ref} has finished: 4 rejected`), 20_000, since);
    for (const c of await m.app.store.batches.cards(p.batchId, 'approver')) {
      await m.connector.waitFor((x) => x.method === 'PUT' && x.activityId === c.activityId && /Rejected by Arnold Approver: Not this term\./.test(visibleText(x.body)), 10_000, since);
    }
    const after = await m.app.store.requests.listByBatch(p.batchId);
    assert.deepEqual(after.map((r) => [r.status, r.decidedByName]), rows.map(() => ['rejected', 'Arnold Approver']), 'every row rejected by Arnold, each once');
    for (const r of after) assert.equal((await m.app.store.decisions.list(r.id)).length, 1, `${r.reference} has one decision`);
    const events = await m.app.store.audit.list({ requestRef: p.ref, limit: 1000 });
    assert.equal(events.filter((e) => e.event === 'batch.decision-resumed').length, 1);
    assert.deepEqual(events.filter((e) => e.event === 'batch.rejected').map((e) => [e.data.decided, e.data.resumed]), [[2, true]]);
    assert.deepEqual(await m.app.store.batches.interruptedDecisions(new Date(Date.now() + 3_600_000), 10, 10), [], 'the decision is done');

    // looked at again: nothing is left to take up, nothing is sent
    const later = m.connector.calls.length;
    assert.equal(await resume(), 0);
    assert.equal(m.connector.calls.length, later, 'nothing sent again');
  });

  it('a decision stopped after its last row was decided: taking it up brings the approval cards up to date and finishes the batch', async function () {
    const { p } = await rejectStoppedAfter(['Uma', 'Vic'], 'Tail', 'Not now.', 2);
    const since = m.connector.calls.length;
    assert.ok((await m.app.workflow!.maintenance.resumeBatchDecisions()) <= 1);
    for (const c of await m.app.store.batches.cards(p.batchId, 'approver')) {
      await m.connector.waitFor((x) => x.method === 'PUT' && x.activityId === c.activityId && /Rejected by Arnold Approver: Not now\./.test(visibleText(x.body)), 10_000, since);
    }
    await m.connector.waitFor((c) => c.conversationId === conv(RITA) && visibleText(c.body).includes(`${p.ref} has finished: 2 rejected`), 15_000, since);
    assert.deepEqual(await m.app.store.batches.interruptedDecisions(new Date(Date.now() + 3_600_000), 10, 10), [], 'the decision is done');
  });

  it('filing and deciding that outlast the answer go on behind it: the answers say so, the preview card says "Filed by", the approval card "Approved by", the rows run to done', async function () {
    // a Mailroom whose answers never wait for the batch work (Teams waits about 15 s; a large batch takes longer)
    const quick = await TestMailroom.start({ sandbox: await getSharedSandbox(), name: 'batches-behind', logVariable: 'BATCHES_LOG', options: { ...QUICK_RUNNER, batchAnswerWithinMs: 0 } });
    try {
      const at = quick.connector.calls.length;
      await quick.rita.client.say(['bulk new mailbox', 'first,last', `Ka,Later${suffix}`, `Lu,Later${suffix}`].join('\n'));
      const previewCall = await quick.connector.waitFor((c) => c.method === 'POST' && c.conversationId === conv(RITA) && /B-\d+ · Bulk/.test(visibleText(c.body)), 20_000, at);
      const ref = /(B-\d+)/.exec(visibleText(previewCall.body))?.[1] ?? '';
      const batch = (await quick.app.store.batches.get(ref))!;
      const place = (await quick.app.store.batches.cards(batch.id, 'preview'))[0];
      const filedAt = quick.connector.calls.length;
      await quick.rita.client.say(`file ${ref}`);
      const answer = await quick.connector.waitFor((c) => c.method === 'POST' && c.conversationId === conv(RITA) && visibleText(c.body).includes(`${ref}: filing 2 User mailbox requests`), 20_000, filedAt);
      assert.match(visibleText(answer.body), /this card says when they are filed/);
      await quick.connector.waitFor((c) => c.method === 'PUT' && c.activityId === place?.activityId && /Filed by Rita Requester: 2 requests/.test(visibleText(c.body)), 20_000, filedAt);
      await quick.connector.waitFor((c) => c.method === 'POST' && c.conversationId === conv(ARNOLD) && visibleText(c.body).includes(`${ref} · Bulk`), 20_000, filedAt);
      const decidedAt = quick.connector.calls.length;
      await quick.arnold.client.say(`approve ${ref}`);
      await quick.connector.waitFor((c) => c.method === 'POST' && c.conversationId === conv(ARNOLD) && visibleText(c.body).includes(`Approving the 2 requests of ${ref}`), 20_000, decidedAt);
      const approverPlace = (await quick.app.store.batches.cards(batch.id, 'approver'))[0];
      await quick.connector.waitFor((c) => c.method === 'PUT' && c.activityId === approverPlace?.activityId && /Approved by Arnold Approver/.test(visibleText(c.body)), 20_000, decidedAt);
      await quick.connector.waitFor((c) => c.conversationId === conv(RITA) && visibleText(c.body).includes(`${ref} has finished: 2 done`), 60_000, decidedAt);
      assert.deepEqual((await quick.app.store.requests.listByBatch(batch.id)).map((r) => r.status), ['done', 'done']);
    } finally {
      await quick.close();
    }
  });
});
