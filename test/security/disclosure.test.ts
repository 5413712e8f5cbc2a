/**
 * Nobody learns of a request that is not theirs, over HTTP as Teams would send it. Card verbs are role-gated like
 * the matching chat commands; every refusal for a request the caller may not see (someone else's, or a number that
 * does not exist) is the same neutral text, so request numbers cannot be probed; a refusal to someone who may see
 * the request names only what they could see. The actor is always the authenticated user of the activity.
 *
 * People: Rita (requester), Arnold (approver of shared mailboxes), Ada (admin and requester), Megan (no role) and
 * Isaiah (approver role, but not an approver of shared mailboxes: he may not see them).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startMailroom, type Mailroom } from '../../src/app';
import { loadConfig } from '../../src/config/config';
import { silentLogger } from '../../src/log';
import { projectRoot } from '../../src/paths';
import type { Sandbox } from '../../src/sandbox';
import { sandboxOverrides } from '../../src/sandbox/overrides';
import { SANDBOX_COLLEAGUES } from '../../src/sandbox/people';
import type { RequestRecord } from '../../src/store';
import { startConnector, visibleText, type Connector } from '../harness/connector';
import { ADA, ARNOLD, buttonData, cardOf, cardText, Chat, RITA, storedRequest, type Card } from '../harness/requests';
import { getSharedSandbox } from '../harness/sandbox';

const suffix = Date.now().toString(36).slice(-5);
const colleague = (i: number) => {
  const c = SANDBOX_COLLEAGUES[i];
  assert.ok(c, `sandbox colleague ${i}`);
  return { id: c.key, aadObjectId: c.aadObjectId, name: c.name };
};
const MEGAN = colleague(0);
const ISAIAH = colleague(1);
/** A request number that does not exist (numbers are sequential; this one is far beyond any test's). */
const MISSING = 'R-999999';

/** The one answer to a request the caller may not see. */
const neutral = (reference: string) => `There is no request ${reference} that you may see. Nothing was changed.`;
/** A text with the request's own number replaced, to compare the answer for a real request with that for MISSING. */
const anyNumber = (text: string, reference: string) => text.split(reference).join('R-?');

describe('no disclosure of requests through card verbs and commands', function () {
  this.timeout(180_000);
  let sandbox: Sandbox;
  let connector: Connector;
  let app: Mailroom;
  let dataDir: string;
  let rita: Chat, arnold: Chat, ada: Chat, megan: Chat, isaiah: Chat;
  /** Rita's shared mailbox, waiting for approval; its approval card's Approve and Reject data. */
  let pending: { reference: string; name: string; alias: string; approve: Record<string, unknown>; reject: Record<string, unknown> };
  /** Ada's shared mailbox, approved and then stopped with a step error (made so through the store). */
  let failed: { reference: string; name: string; alias: string; error: string };

  before(async function () {
    sandbox = await getSharedSandbox();
    connector = await startConnector();
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'mailroom-disclosure-'));
    const config = loadConfig({
      rootDir: projectRoot(),
      envName: 'sandbox',
      env: {},
      overrides: {
        ...sandboxOverrides(sandbox.endpoints),
        PORT: '0',
        DATA_DIR: dataDir,
        ROLE_APPROVERS: `user:${ARNOLD.aadObjectId},user:${ISAIAH.aadObjectId}`,
        APPROVERS_SHARED_MAILBOX: `user:${ARNOLD.aadObjectId}`,
      },
    });
    app = await startMailroom(config, silentLogger, { runRequests: false });
    rita = new Chat(app.url, connector, RITA);
    arnold = new Chat(app.url, connector, ARNOLD);
    ada = new Chat(app.url, connector, ADA);
    megan = new Chat(app.url, connector, MEGAN);
    isaiah = new Chat(app.url, connector, ISAIAH);
    for (const c of [rita, arnold, ada, megan, isaiah]) await c.client.install();

    const r = await fileSharedMailbox(rita, `Disclosure Sales ${suffix}`, `dsales-${suffix}`);
    const approval = await connector.waitFor((c) => c.conversationId === arnold.conversationId && visibleText(c.body).includes(`${r.reference} · Shared mailbox`), 15_000, r.since);
    const approve = buttonData(cardOf(approval), 'Approve');
    const reject = buttonData(cardOf(approval), 'Reject');
    assert.ok(approve && reject, 'the approval card has Approve and Reject');
    pending = { ...r, approve, reject };

    const a = await fileSharedMailbox(ada, `Disclosure Legal ${suffix}`, `dlegal-${suffix}`);
    const approved = await arnold.sayForCard(`approve ${a.reference}`, /Approved/);
    assert.match(cardText(approved), new RegExp(`${a.reference}`));
    const error = `Creating the AD user for Disclosure Legal ${suffix} failed: secret-step-detail-${suffix}`;
    const record = await stored(a.reference);
    const moved = await app.store.requests.transition(record.id, record.version, { status: 'failed', error });
    assert.ok(moved.ok, 'the request is stopped');
    failed = { ...a, error };
  });

  after(async function () {
    await app?.stop();
    await connector?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  async function fileSharedMailbox(chat: Chat, name: string, alias: string) {
    const since = connector.calls.length;
    await chat.say(`new shared mailbox name="${name}" alias=${alias}`);
    const status = await connector.waitFor((c) => c.conversationId === chat.conversationId && /R-\d+ · Shared mailbox/.test(visibleText(c.body)), 15_000, since);
    const reference = /(R-\d+)/.exec(visibleText(status.body))?.[1] ?? '';
    assert.match(reference, /^R-\d+$/);
    return { reference, name, alias, since };
  }

  async function stored(reference: string): Promise<RequestRecord> {
    const r = (await storedRequest(app.store, reference))?.record;
    assert.ok(r, `${reference} exists`);
    return r;
  }

  /** Asserts that a text shows nothing of the request: no names, no mailbox, no kind, no step error. */
  function showsNothingOf(text: string, request: { name: string; alias: string; error?: string }, what: string): void {
    for (const secret of [request.name, request.alias, 'Rita', 'Ada Admin', 'Arnold', 'Shared mailbox', 'shared mailbox', 'secret-step-detail', ...(request.error ? [request.error] : [])]) {
      assert.ok(!text.includes(secret), `${what} shows "${secret}":\n${text}`);
    }
  }

  /** Everything Mailroom posted into a chat for one message, as text. */
  async function reply(chat: Chat, text: string): Promise<string> {
    const posted = await chat.say(text);
    assert.ok(posted.length > 0, `"${text}" got an answer`);
    return posted.map((c) => visibleText(c.body)).join('\n');
  }

  /**
   * The caller's answer for `reference` and for a number that does not exist are the same text (but for the number)
   * and are the neutral refusal; returns the answer for `reference`.
   */
  async function sameAsMissing(ask: (reference: string) => Promise<string>, reference: string, request: { name: string; alias: string; error?: string }, what: string): Promise<string> {
    const real = await ask(reference);
    const missing = await ask(MISSING);
    assert.equal(anyNumber(real, reference), anyNumber(missing, MISSING), `${what}: the answer tells an existing request from a missing one`);
    assert.ok(real.includes(neutral(reference)), `${what}: not the neutral refusal:\n${real}`);
    showsNothingOf(real, request, what);
    return real;
  }

  const pressText = (chat: Chat, verb: string, data: Record<string, unknown>) => chat.press(verb, data).then((card: Card) => cardText(card));

  it('approve and reject, on cards and in chat: no role gets a role refusal; an approver who may not see it hears what a missing number gets; its requester is told why', async function () {
    const before = await stored(pending.reference);

    // Megan has no role: the card verbs are refused like the commands, naming only the action.
    for (const [verb, data, action] of [['request.approve', pending.approve, 'approve'], ['request.reject', { ...pending.reject, reason: 'no' }, 'reject']] as const) {
      const text = await pressText(megan, verb, data);
      assert.match(text, new RegExp(`\\b${action}\\W+needs the approver or admin role, and Megan Bowen does not have it\\. Nothing was changed\\.`));
      showsNothingOf(text, pending, `Megan's ${verb}`);
      assert.equal(await pressText(megan, verb, { ...data, reference: MISSING }), text, 'the same refusal for a missing number');
    }

    // Isaiah is an approver, but not of shared mailboxes: the same answer as for a number that does not exist.
    await sameAsMissing((ref) => pressText(isaiah, 'request.approve', { ...pending.approve, reference: ref }), pending.reference, pending, "Isaiah's Approve");
    await sameAsMissing((ref) => pressText(isaiah, 'request.reject', { ...pending.reject, reference: ref, reason: 'probing' }), pending.reference, pending, "Isaiah's Reject");
    await sameAsMissing((ref) => reply(isaiah, `approve ${ref}`), pending.reference, pending, "Isaiah's approve command");
    await sameAsMissing((ref) => reply(isaiah, `reject ${ref} probing`), pending.reference, pending, "Isaiah's reject command");
    // the number may be typed in any form: the answer names it as R-n in every case
    const typed = await reply(isaiah, `approve ${pending.reference.slice(2)}`);
    assert.ok(typed.includes(neutral(pending.reference)), typed);

    // Rita may see her request but is no approver: refused by role, like the command.
    assert.match(await pressText(rita, 'request.approve', pending.approve), /approve\W+needs the approver or admin role, and Rita Requester does not have it/);

    // Someone who may see a request is told why not, with its card: only what they could see anyway. Ada made this
    // one; as an admin she may see it, but nobody decides their own request.
    const since = connector.calls.length;
    const own = await fileSharedMailbox(ada, `Disclosure Own ${suffix}`, `down-${suffix}`);
    const card = await connector.waitFor((c) => c.conversationId === arnold.conversationId && visibleText(c.body).includes(`${own.reference} · Shared mailbox`), 15_000, since);
    const ownText = await pressText(ada, 'request.approve', buttonData(cardOf(card), 'Approve') ?? {});
    assert.match(ownText, /You made this request; somebody else must decide it\. Nothing was changed\./);
    assert.ok(ownText.includes(own.name), 'the refusal shows her own request');

    const after = await storedRequest(app.store, pending.reference);
    assert.deepEqual([after?.record.status, after?.record.version, after?.decisions.length], ['pending-approval', before.version, 0], 'nothing changed');
    const refused = (await app.store.audit.list({ requestRef: pending.reference, limit: 200 })).filter((e) => e.event === 'request.decision-refused');
    assert.ok(refused.length >= 4 && refused.every((e) => e.actorAadObjectId === ISAIAH.aadObjectId && e.data.code === 'not-allowed'), 'Isaiah\'s attempts are audited');
  });

  it('retry and cancel, on cards and in chat: no request card, no requester, no kind for whoever may not see it', async function () {
    const before = await stored(failed.reference);
    const retry = { reference: failed.reference, version: before.version };

    // Megan has no role: retry and cancel are refused by role.
    const meganRetry = await pressText(megan, 'request.retry', retry);
    assert.match(meganRetry, /retry\W+needs the requester or admin role, and Megan Bowen does not have it\. Nothing was changed\./);
    showsNothingOf(meganRetry, failed, "Megan's Retry");
    const meganCancel = await pressText(megan, 'request.cancel', retry);
    assert.match(meganCancel, /cancel\W+needs the requester or approver or admin role/);
    showsNothingOf(meganCancel, failed, "Megan's Cancel");

    // Rita is a requester, but this is Ada's request: the same answer as for a number that does not exist.
    await sameAsMissing((ref) => pressText(rita, 'request.retry', { ...retry, reference: ref }), failed.reference, failed, "Rita's Retry");
    await sameAsMissing((ref) => pressText(rita, 'request.cancel', { ...retry, reference: ref }), failed.reference, failed, "Rita's Cancel");
    await sameAsMissing((ref) => reply(rita, `cancel ${ref}`), failed.reference, failed, "Rita's cancel command");
    // Isaiah, an approver of other kinds, cancels: the same
    await sameAsMissing((ref) => reply(isaiah, `cancel ${ref}`), failed.reference, failed, "Isaiah's cancel command");
    // and reading is the same: status and audit
    await sameAsMissing((ref) => reply(rita, `status ${ref}`), failed.reference, failed, "Rita's status");
    await sameAsMissing((ref) => reply(rita, `audit ${ref}`), failed.reference, failed, "Rita's audit");
    await sameAsMissing((ref) => reply(megan, `status ${ref}`), failed.reference, failed, "Megan's status");

    // Arnold approves shared mailboxes, so he may see it; retrying is for its requester or an admin, like any role.
    assert.match(await pressText(arnold, 'request.retry', retry), /retry\W+needs the requester or admin role/);

    const after = await stored(failed.reference);
    assert.deepEqual([after.status, after.version], ['failed', before.version], 'nothing changed');
    const events = await app.store.audit.list({ requestRef: failed.reference, limit: 200 });
    assert.ok(events.some((e) => e.event === 'run.retry-refused' && e.actorAadObjectId === RITA.aadObjectId && e.data.code === 'not-allowed'), 'the refused retry is audited');
    assert.ok(events.some((e) => e.event === 'request.cancel-refused' && e.actorAadObjectId === ISAIAH.aadObjectId && e.data.code === 'not-allowed'), 'the refused cancel is audited');
  });

  it('roll back and keep, on cards and in chat: the same answer as for a number that does not exist', async function () {
    const before = await stored(failed.reference);
    const data = { reference: failed.reference, version: before.version };
    for (const [who, chat] of [['Megan', megan], ['Rita', rita], ['Isaiah', isaiah]] as const) {
      await sameAsMissing((ref) => pressText(chat, 'request.rollback', { ...data, reference: ref }), failed.reference, failed, `${who}'s Roll back`);
      await sameAsMissing((ref) => pressText(chat, 'request.rollback', { ...data, reference: ref, confirm: true, digest: 'x' }), failed.reference, failed, `${who}'s Roll back now`);
      await sameAsMissing((ref) => pressText(chat, 'request.keep', { reference: ref }), failed.reference, failed, `${who}'s Keep`);
      await sameAsMissing((ref) => reply(chat, `rollback ${ref}`), failed.reference, failed, `${who}'s rollback command`);
      await sameAsMissing((ref) => reply(chat, `rollback ${ref} now`), failed.reference, failed, `${who}'s rollback now command`);
    }
    // the requester herself may: her card shows what a roll back would do (or why it cannot)
    const own = await pressText(ada, 'request.rollback', data);
    assert.ok(own.includes(failed.reference), own);
    assert.ok(!own.includes('that you may see'), own);

    const after = await stored(failed.reference);
    assert.deepEqual([after.status, after.version], ['failed', before.version], 'nothing changed');
  });

  it('a role refusal, of a card verb or a chat command, is audited: who tried what and the roles they have, nothing of the request', async function () {
    const before = await storedRequest(app.store, pending.reference);
    const { seq } = await app.store.audit.head();

    const card = await pressText(megan, 'request.approve', pending.approve);
    assert.match(card, /approve\W+needs the approver or admin role, and Megan Bowen does not have it\. Nothing was changed\./);
    const chat = await reply(megan, `approve ${pending.reference}`);
    assert.match(chat, /approve\W+needs the approver or admin role, and Megan Bowen does not have it\. Nothing was changed\./);
    assert.match(await pressText(rita, 'request.approve', pending.approve), /approve\W+needs the approver or admin role, and Rita Requester does not have it/);

    const events = await app.store.audit.list({ afterSeq: seq, limit: 200 });
    const refusals = events.filter((e) => e.event === 'access.refused').map((e) => ({ actor: e.actorAadObjectId, name: e.actorName, requestRef: e.requestRef, data: e.data }));
    assert.deepEqual(refusals, [
      { actor: MEGAN.aadObjectId, name: MEGAN.name, requestRef: null, data: { via: 'card', verb: 'request.approve', action: 'approve', roles: [] } },
      { actor: MEGAN.aadObjectId, name: MEGAN.name, requestRef: null, data: { via: 'chat', command: 'approve', roles: [] } },
      { actor: RITA.aadObjectId, name: RITA.name, requestRef: null, data: { via: 'card', verb: 'request.approve', action: 'approve', roles: ['requester'] } },
    ]);
    for (const e of events) {
      const text = JSON.stringify(e);
      for (const secret of [pending.reference, pending.name, pending.alias]) assert.ok(!text.includes(secret), `an audit event carries "${secret}" of the request: ${text}`);
    }

    const after = await storedRequest(app.store, pending.reference);
    assert.deepEqual([after?.record.status, after?.record.version, after?.decisions.length], [before?.record.status, before?.record.version, 0], 'nothing changed');
  });
});
