/**
 * Fuzz of the bot's request intake: 10,000 random form submits (`request.submit`) per form kind and 10,000 random
 * one-line commands, each driven through the bot's real turn handling — `MailroomBot.run` with the tenant and user
 * check, the roles, the handler table of `src/bot/handlers.ts` and the use cases of `createWorkflow` — on a real
 * SQLite store. What is left out, so that 140,000 turns stay affordable: the HTTP server and the Bot Framework
 * token check (tested over HTTP in test/bot and test/security), and the directory — the recipient look-up is the in-memory
 * FakeLookup of test/requests, and the tenant profile is one of the profiles the property tests use.
 *
 * For every input: the turn completes and the bot answers; then either a request was filed — it is in the store,
 * sound by the invariants of test/requests/invariants.ts (written independently of the validator), named on the
 * card that answered, and waits for its approvers — or the answer names what was wrong and says that nothing was
 * requested, and nothing was written: no request, decision, card reference, run step, secret or outbox message,
 * and in the audit log at most the one record of the refusal itself (no request reference).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BotAdapter, TurnContext, type Activity, type ConversationReference, type ResourceResponse } from 'botbuilder';
import fc from 'fast-check';
import { sql } from 'kysely';
import { storeOptions } from '../../src/app';
import { createBotRuntime, registerHandlers, type BotRuntime } from '../../src/bot';
import type { CloudClients } from '../../src/cloud';
import { loadConfig } from '../../src/config/config';
import type { DirectoryClient } from '../../src/directory';
import { silentLogger } from '../../src/log';
import { projectRoot } from '../../src/paths';
import { formatCommand, parseCommand } from '../../src/requests/command-line';
import { KIND_IDS, KINDS, type KindId, type RecipientRequest } from '../../src/requests/kinds';
import type { TenantProfile } from '../../src/requests/tenant-profile';
import { SANDBOX_TENANT_ID } from '../../src/sandbox/people';
import { openStore, type Store } from '../../src/store';
import { ApprovalAccess, policyFrom } from '../../src/workflow/approval-access';
import { createWorkflow, type Workflow } from '../../src/workflow/create-workflow';
import { RequestIntake } from '../../src/workflow/intake';
import type { RequestNotifications } from '../../src/workflow/ports';
import { auditKey, vaultKey } from '../../src/workflow/secret-vault';
import { TeamsClient, visibleText, type Person } from '../harness/connector';
import { ARNOLD, formInputs, RITA, type Card } from '../harness/requests';
import { FakeLookup, PROFILE, sampleObjects } from '../requests/fixtures';
import { anyText, NASTY, profiles, valuesFor } from '../requests/generators';
import { BAD_CHARS, broken } from '../requests/invariants';

const RUNS = 10_000;
/** Replays a failing run: FUZZ_SEED and FUZZ_PATH as fast-check printed them. */
const REPLAY = process.env.FUZZ_SEED ? { seed: Number(process.env.FUZZ_SEED), path: process.env.FUZZ_PATH, endOnFailure: true } : {};
const timings: string[] = [];

// ---------------------------------------------------------------------------------------------
// The bot, wired as in src/app.ts, over a store in a temporary folder
// ---------------------------------------------------------------------------------------------

/** Records what the bot sends in a turn; nothing leaves the process. */
class RecordingAdapter extends BotAdapter {
  readonly sent: Partial<Activity>[] = [];
  private n = 0;

  sendActivities(_ctx: TurnContext, activities: Partial<Activity>[]): Promise<ResourceResponse[]> {
    this.sent.push(...activities);
    return Promise.resolve(activities.map(() => ({ id: `out-${++this.n}` })));
  }

  updateActivity(): Promise<void> {
    return Promise.reject(new Error('the intake never updates a message'));
  }

  deleteActivity(): Promise<void> {
    return Promise.reject(new Error('the intake never deletes a message'));
  }

  continueConversation(_ref: Partial<ConversationReference>, _logic: (ctx: TurnContext) => Promise<void>): Promise<void> {
    return Promise.reject(new Error('the intake sends nothing proactively here'));
  }
}

/** The directory and cloud clients are never reached: intake looks recipients up in the FakeLookup. */
function unreachable<T>(what: string): T {
  const fail = (prop: string) => () => Promise.reject(new Error(`${what}.${prop} is not part of this test`));
  return new Proxy({}, { get: (_t, prop) => (prop === 'then' ? undefined : fail(String(prop))) }) as T;
}

interface World {
  readonly store: Store;
  readonly runtime: BotRuntime;
  readonly workflow: Workflow;
  readonly adapter: RecordingAdapter;
  readonly lookup: FakeLookup;
  /** The references approvers were asked to decide, in order. */
  readonly approvalsAsked: string[];
  /** The tenant profile intake validates against (each input sets it). */
  profile: TenantProfile;
  readonly dataDir: string;
}

async function startWorld(): Promise<World> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'mailroom-fuzz-'));
  const config = loadConfig({ rootDir: projectRoot(), envName: 'sandbox', env: {}, overrides: { PORT: '0', DATA_DIR: dataDir } });
  // Opened as src/app.ts opens it: one instance on the file, the audit chain keyed.
  const store = await openStore({ ...storeOptions(config), singleInstance: true, auditKey: auditKey(config.auditKey, vaultKey(config.secretKey, config.dataDir)) });
  const log = silentLogger;
  const approvalsAsked: string[] = [];
  const unexpected = (what: string) => () => Promise.reject(new Error(`${what}: not expected from intake`));
  const notifications: RequestNotifications = {
    approvalNeeded: (record) => {
      approvalsAsked.push(record.reference);
      return Promise.resolve();
    },
    requestChanged: unexpected('requestChanged'),
    remind: unexpected('remind'),
    sweepReported: unexpected('sweepReported'),
  };
  const cloud: CloudClients = { graph: unreachable('graph'), exo: unreachable('exo'), close: () => undefined };
  const workflow = createWorkflow({ config, store, directory: unreachable<DirectoryClient>('directory'), cloud, notifications, log }, { runRequests: false });
  const lookup = new FakeLookup(sampleObjects());
  const world: World = { store, runtime: createBotRuntime(config, { log, conversations: store.conversations, audit: store.audit }), workflow, adapter: new RecordingAdapter(), lookup, approvalsAsked, profile: PROFILE, dataDir };
  // The workflow's own use cases, but intake looks recipients up in the FakeLookup and validates against world.profile.
  const intake = new RequestIntake({
    store,
    lookup,
    profile: () => Promise.resolve(world.profile),
    access: new ApprovalAccess(policyFrom(config.approval), undefined),
    views: workflow.views,
    notifications,
    log,
    now: () => new Date(),
  });
  const useCases = { ...workflow.useCases, intake };
  registerHandlers(world.runtime.bot, { useCases, cards: world.runtime.cards, log, readiness: unexpected('readiness'), doctor: unexpected('doctor') });
  return world;
}

/** Runs one activity through the bot as the adapter would (no HTTP, no token); resolves with what the bot sent. */
async function turn(w: World, activity: Record<string, unknown>): Promise<Partial<Activity>[]> {
  w.adapter.sent.length = 0;
  await w.runtime.bot.run(new TurnContext(w.adapter, activity));
  return [...w.adapter.sent];
}

// ---------------------------------------------------------------------------------------------
// What was written
// ---------------------------------------------------------------------------------------------

interface Marks {
  readonly requests: number;
  readonly decisions: number;
  readonly cards: number;
  readonly runs: number;
  readonly secrets: number;
  readonly outbox: number;
  readonly conversations: number;
  readonly audit: number;
}

/**
 * The highest row id of every table, in one query (cheap on large tables: an insert always raises it; the row counts
 * are checked once at the end), and the number of conversation references (a person's first turn adds one).
 */
async function marks(store: Store): Promise<Marks> {
  const { rows } = await sql<Record<keyof Marks, number | string | null>>`
    select (select max(id) from requests) as requests, (select max(id) from request_decisions) as decisions,
           (select max(id) from request_cards) as cards, (select max(id) from run_steps) as runs,
           (select count(*) from secrets) as secrets, (select max(id) from outbox) as outbox,
           (select count(*) from conversation_refs) as conversations, (select max(seq) from audit_events) as audit`.execute(store.db);
  const r = rows[0];
  assert.ok(r);
  const n = (v: number | string | null): number => Number(v ?? 0);
  return { requests: n(r.requests), decisions: n(r.decisions), cards: n(r.cards), runs: n(r.runs), secrets: n(r.secrets), outbox: n(r.outbox), conversations: n(r.conversations), audit: n(r.audit) };
}

interface NewAuditEvent {
  readonly event: string;
  readonly requestRef: string | null;
  readonly actor: string | null;
  readonly data: Record<string, unknown>;
}

async function auditSince(store: Store, seq: number, now: number): Promise<NewAuditEvent[]> {
  if (now === seq) return [];
  const rows = await store.db.selectFrom('audit_events').select(['event', 'request_ref', 'actor_aad_object_id', 'data']).where('seq', '>', seq).orderBy('seq').execute();
  return rows.map((r) => ({ event: r.event, requestRef: r.request_ref, actor: r.actor_aad_object_id, data: JSON.parse(r.data) as Record<string, unknown> }));
}

/** The audit records a refusal may write: intake's, and the role refusal of a command or card verb (`access.refused`). */
const REFUSAL_EVENTS = new Set(['request.validation-failed', 'request.refused', 'access.refused']);
const onlyRoleRefusals = (events: readonly NewAuditEvent[]): boolean => events.every((e) => e.event === 'access.refused');

/** A refusal: nothing but (at most) the audit record of the refusal itself, by this person, about no request. */
function assertNothingWritten(before: Marks, after: Marks, events: readonly NewAuditEvent[], who: Person, auditAllowed: boolean, input: string): void {
  const { audit: _a, ...rowsBefore } = before;
  const { audit: _b, ...rowsAfter } = after;
  assert.deepEqual(rowsAfter, rowsBefore, `a refused input wrote to the store: ${input}`);
  assert.ok(events.length <= (auditAllowed ? 1 : 0), `a refused input wrote ${events.length} audit events (${events.map((e) => e.event).join(', ')}): ${input}`);
  for (const e of events) {
    assert.ok(REFUSAL_EVENTS.has(e.event), `a refused input wrote the audit event ${e.event}: ${input}`);
    assert.equal(e.requestRef, null, `the refusal's audit record names a request: ${input}`);
    assert.equal(e.actor, who.aadObjectId.toLowerCase());
  }
}

/** A filed request: one request, its card reference, the created event; sound by the independent invariants. */
async function assertFiled(w: World, before: Marks, after: Marks, events: readonly NewAuditEvent[], kind: KindId, answer: string, input: string): Promise<string> {
  assert.equal(after.requests, before.requests + 1, input);
  const record = await w.store.requests.get(`R-${after.requests}`);
  assert.ok(record, input);
  assert.equal(record.kind, kind, input);
  assert.equal(record.status, 'pending-approval', input);
  assert.equal(record.requesterAadObjectId, RITA.aadObjectId.toLowerCase());
  assert.deepEqual(await broken(record.request as RecipientRequest, w.profile, w.lookup), [], `${input}\n${JSON.stringify(record.request)}`);
  assert.ok(answer.includes(record.reference), `the answer does not name ${record.reference}: ${answer}`);
  assert.deepEqual(
    events.map((e) => [e.event, e.requestRef]),
    [['request.created', record.reference]],
    input,
  );
  assert.equal(w.approvalsAsked.at(-1), record.reference, 'the approvers were asked');
  const { requests: _r, cards: cardsAfter, audit: _a, ...restAfter } = after;
  const { requests: _r2, cards: cardsBefore, audit: _a2, ...restBefore } = before;
  assert.deepEqual(restAfter, restBefore, `filing wrote more than the request: ${input}`);
  assert.equal(cardsAfter, cardsBefore + 1, 'the status card is tracked');
  return record.reference;
}

/** Text with the backslashes of markdown escaping removed, to find a message however the card escapes it. */
const plain = (s: string): string => s.replace(/\\/g, '');

/** The answer says what a person must read: no internal error, no placeholder of a missing value (unless typed). */
function assertReadable(answer: string, input: string): void {
  assert.doesNotMatch(answer, /Something went wrong|could not be validated|Error:|\n\s+at /, `${input}\n→ ${answer}`);
  for (const placeholder of ['undefined', '[object Object]', 'NaN', 'null']) {
    if (!input.includes(placeholder)) assert.ok(!answer.includes(placeholder), `"${placeholder}" in the answer: ${input}\n→ ${answer}`);
  }
}

/** What Teams renders as markdown in an answer: message text, TextBlock text, fact titles and values. */
function markdownTexts(sent: readonly Partial<Activity>[]): string[] {
  const out: string[] = [];
  const walk = (n: unknown): void => {
    if (Array.isArray(n)) return n.forEach(walk);
    if (!n || typeof n !== 'object') return;
    const o = n as Record<string, unknown>;
    if (o.type === 'TextBlock' && typeof o.text === 'string') out.push(o.text);
    if (o.type === 'FactSet' && Array.isArray(o.facts)) for (const f of o.facts as { title?: unknown; value?: unknown }[]) for (const t of [f.title, f.value]) if (typeof t === 'string') out.push(t);
    Object.values(o).forEach(walk);
  };
  for (const a of sent) {
    if (typeof a.text === 'string') out.push(a.text);
    walk(a.attachments);
    walk(a.value);
  }
  return out;
}

/** A typed link (the generators' evil.example) is never a live link or a bare address on a card. */
function assertNoLiveLink(sent: readonly Partial<Activity>[], input: string): void {
  for (const t of markdownTexts(sent)) {
    if (!t.includes('evil.example')) continue;
    assert.doesNotMatch(t, /(?<!\\)\[[^\]]*(?<!\\)\]\(/, `a typed link is live on the card: ${input}\n→ ${t}`);
    assert.doesNotMatch(t, /https?:\/\/evil/, `a typed address is a bare link on the card: ${input}\n→ ${t}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------

/** Mostly the requester; now and then the approver, who may not request (both refusal paths then run). */
const sender = fc.oneof({ weight: 9, arbitrary: fc.constant(RITA) }, { weight: 1, arbitrary: fc.constant(ARNOLD) });

const asText = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v) ?? '');

/** A key as typed: a field's key (any case), an unknown one, or empty. */
function keyOf(kind: KindId): fc.Arbitrary<string> {
  const keys = KINDS[kind].fields.flatMap((f) => [...f.keys, f.id]);
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...keys) },
    { weight: 1, arbitrary: fc.constantFrom(...keys).map((k) => k.toUpperCase()) },
    { weight: 2, arbitrary: fc.string({ maxLength: 8 }) },
  );
}

/** One token after the phrase: key=value, quoted (closed or not, straight or typographic), positional, stray `=`. */
function tokenOf(kind: KindId): fc.Arbitrary<string> {
  const value = fc.oneof(anyText, fc.constantFrom(...NASTY, 'ada.byron@contoso.example', 'shared', 'to', 'on', 'yes'));
  return fc.oneof(
    fc.tuple(keyOf(kind), value).map(([k, v]) => `${k}=${v}`),
    fc.tuple(keyOf(kind), value, fc.constantFrom('"', "'", '“', '„', '‘', '«')).map(([k, v, q]) => `${k}=${q}${v}${q}`),
    fc.tuple(keyOf(kind), value).map(([k, v]) => `${k}="${v}`),
    value,
    fc.constantFrom('=', '==', 'a==b', '""', '"', '\\"'),
  );
}

/**
 * Now and then a Submit whose data is not what Mailroom's form sends: the kind changed (case, spaces, not a string,
 * missing, or a `__proto__` key as JSON can carry one) or the data not an object at all.
 */
type Tamper = (values: Record<string, unknown>, kind: KindId) => unknown;
const tamper: fc.Arbitrary<Tamper | null> = fc.oneof(
  { weight: 19, arbitrary: fc.constant(null) },
  {
    weight: 1,
    arbitrary: fc.constantFrom<Tamper>(
      (v, k) => ({ ...v, kind: k.toUpperCase() }),
      (v, k) => ({ ...v, kind: ` ${k}` }),
      (v, k) => ({ ...v, kind: [k] }),
      (v, k) => ({ ...v, kind: { toString: k } }),
      (v) => ({ ...v }),
      (v) => JSON.parse(`{"__proto__": {"kind": "user-mailbox"}, "firstName": ${JSON.stringify(typeof v.firstName === 'string' ? v.firstName : 'Ada')}}`) as unknown,
      () => null,
      () => 'user-mailbox',
      () => 42,
      (v, k) => [{ ...v, kind: k }],
    ),
  },
);

/** Any casing of a phrase, with any run of spaces between its words. */
const typed = (phrase: string): fc.Arbitrary<string> =>
  fc.tuple(fc.constantFrom<(s: string) => string>((s) => s, (s) => s.toUpperCase(), (s) => s.replace(/^./, (c) => c.toUpperCase())), fc.constantFrom(' ', '  ', '\t', ' \n ')).map(([c, sp]) => c(phrase).split(' ').join(sp));

/** Per kind, built once (fast-check arbitraries are costly to build and cheap to draw from). */
const perKind = <T>(make: (kind: KindId) => fc.Arbitrary<T>): fc.Arbitrary<T> => fc.oneof(...KIND_IDS.map(make));

const oneLiner: fc.Arbitrary<string> = fc.oneof(
  // A well-formed command with the form generators' values, as a person would type them.
  {
    weight: 6,
    arbitrary: perKind((kind) => {
      const own = new Set(KINDS[kind].fields.map((f) => f.id));
      return valuesFor(kind).map((v) => formatCommand(kind, Object.fromEntries(Object.entries(v).filter(([k]) => own.has(k)).map(([k, x]) => [k, asText(x)]))));
    }),
  },
  // A kind's phrase and then anything.
  {
    weight: 3,
    arbitrary: perKind((kind) => fc.tuple(fc.oneof(...KINDS[kind].command.phrases.map(typed)), fc.array(tokenOf(kind), { maxLength: 8 })).map(([p, toks]) => [p, ...toks].join(' '))),
  },
  // Any text at all.
  { weight: 1, arbitrary: fc.oneof(anyText, fc.string({ unit: 'binary', maxLength: 80 }), fc.constantFrom('new', 'new ', 'new thing', 'convert', 'add address')) },
);
/** The bot's mention, as Teams puts it in front of a message in a channel. */
const MENTION = { type: 'mention', text: '<at>Mailroom</at>', mentioned: { id: '28:mailroom', name: 'Mailroom' } };
/** Now and then behind the bot's mention. */
const message = fc.tuple(oneLiner, fc.boolean()).map(([text, mention]) => (mention ? { text: `${MENTION.text} ${text}`, entities: [MENTION] } : { text }));

/** The message text as the bot reads it (mention and other tags removed, whitespace collapsed). */
const asRead = (text: string): string => text.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim();

/** Whether the bot's table sends this text to the one-line request command (`new <kind> …` and the other request phrases). */
const sameRecord = (a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean =>
  Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([k, v]) => b[k] === v);
const PHRASE_RE = new RegExp(`^(${KIND_IDS.flatMap((k) => KINDS[k].command.phrases).map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/ /g, '\\s+')).join('|')})(\\s.*)?$`, 'i');

function cardsOf(sent: readonly Partial<Activity>[]): Card[] {
  return sent.flatMap((a) => (a.attachments ?? []).map((x) => x.content as Card));
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

describe('security: fuzzing request intake through the bot', function () {
  this.timeout(600_000);
  let w: World;
  let seq = 0;

  before(async function () {
    w = await startWorld();
    // Each person's chat is known before the fuzz: the first turn of a chat stores its conversation reference.
    for (const p of [RITA, ARNOLD]) await turn(w, clientOf(p).activity({ type: 'installationUpdate', action: 'add' }));
  });

  after(async function () {
    if (timings.length) console.log(`      fuzz timings (${RUNS} turns each):\n        ${timings.join('\n        ')}`);
    if (!w) return;
    await w.workflow.stop();
    await w.store.close();
    rmSync(w.dataDir, { recursive: true, force: true });
  });

  const client = (p: Person): TeamsClient => new TeamsClient('http://unused.invalid', 'https://smba.trafficmanager.net/emea/', p, SANDBOX_TENANT_ID);
  const clients = new Map<string, TeamsClient>();
  const clientOf = (p: Person): TeamsClient => {
    let c = clients.get(p.id);
    if (!c) clients.set(p.id, (c = client(p)));
    return c;
  };

  for (const kind of KIND_IDS) {
    it(`request.submit of the ${kind} form: ${RUNS} random inputs`, async function () {
      const fields = new Set(KINDS[kind].fields.map((f) => f.id));
      let filed = 0;
      let refused = 0;
      const started = process.hrtime.bigint();
      await fc.assert(
        fc.asyncProperty(valuesFor(kind), profiles, sender, tamper, async (values, profile, who, tampered) => {
          w.profile = profile;
          const before = await marks(w.store);
          const data: unknown = tampered ? tampered(values, kind) : { ...values, kind };
          const input = `${who.name} submits ${JSON.stringify(data) ?? String(data)}`;
          const sent = await turn(w, clientOf(who).activity({ type: 'invoke', name: 'adaptiveCard/action', replyToId: `form-${++seq}`, value: { action: { type: 'Action.Execute', verb: 'request.submit', data }, trigger: 'manual' } }));
          const responses = sent.filter((a) => a.type === 'invokeResponse');
          assert.equal(responses.length, 1, `one invoke response: ${input}`);
          const res = responses[0]?.value as { status: number; body: { statusCode: number; type: string; value: Card } };
          assert.equal(res.status, 200, `${input}\n→ ${JSON.stringify(res)}`);
          assert.equal(res.body.type, 'application/vnd.microsoft.card.adaptive', input);
          const card = res.body.value;
          const answer = visibleText({ attachments: [{ content: card }] });
          assertReadable(answer, input);
          assertNoLiveLink(sent, input);
          const after = await marks(w.store);
          const events = await auditSince(w.store, before.audit, after.audit);
          if (tampered) {
            // A card that is not Mailroom's form: refused as out of date (or for the role), nothing written.
            refused++;
            assert.ok(onlyRoleRefusals(events), `${input}: ${events.map((e) => e.event).join(', ')}`);
            assertNothingWritten(before, after, events, who, who === ARNOLD, input);
            assert.match(answer, /out of date[\s\S]*Nothing was requested|requester role[\s\S]*Nothing was changed/, `${input}\n→ ${answer}`);
          } else if (after.requests > before.requests) {
            assert.equal(who, RITA, `${who.name} may not request, yet filed: ${input}`);
            await assertFiled(w, before, after, events, kind, answer, input);
            filed++;
          } else if (who === ARNOLD) {
            // Not a requester: refused before (or by) intake, with the role named.
            refused++;
            assertNothingWritten(before, after, events, who, true, input);
            assert.match(answer, /requester role[\s\S]*nothing was (changed|requested)|nothing was (changed|requested)[\s\S]*requester role/i, `${input}\n→ ${answer}`);
          } else {
            refused++;
            assertNothingWritten(before, after, events, who, true, input);
            assert.match(answer, /nothing was requested/i, `${input}\n→ ${answer}`);
            // What was wrong: every problem is on the card, beside its field or in the summary.
            const errors = (events[0]?.data.errors as { field: string; message: string }[] | undefined) ?? [];
            const reason = typeof events[0]?.data.reason === 'string' ? events[0].data.reason : undefined;
            assert.ok(errors.length > 0 || reason, `the refusal names no reason: ${input}\n→ ${answer}`);
            const inputs = formInputs(card);
            for (const e of errors) {
              assert.ok(e.message.length > 0 && !BAD_CHARS.test(e.message), `${input}: ${e.message}`);
              if (fields.has(e.field)) assert.ok(plain(inputs.get(e.field)?.error ?? '').includes(plain(e.message)), `${e.field}: "${e.message}" is not beside the field: ${input}`);
              else assert.ok(plain(answer).includes(plain(e.message)), `"${e.message}" is not on the card: ${input}`);
            }
            if (reason) assert.ok(plain(answer).includes(plain(reason)), `the reason is not on the card: ${input}\n→ ${answer}`);
            // What was typed comes back as typed, never evaluated as a template expression (`${…}`) or cut.
            for (const f of KINDS[kind].fields) {
              const typedValue = values[f.id];
              if ((f.type === 'text' || f.type === 'email') && typeof typedValue === 'string') assert.equal(inputs.get(f.id)?.value, typedValue, `${f.id} came back changed: ${input}`);
            }
          }
        }),
        { numRuns: RUNS, ...REPLAY },
      );
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      timings.push(`${kind} form: ${ms.toFixed(0)} ms (${filed} filed, ${refused} refused)`);
      if (!process.env.FUZZ_SEED) assert.ok(filed > RUNS / 200, `only ${filed} inputs were filed: the generator no longer reaches the deeper rules`);
    });
  }

  it(`one-line commands: ${RUNS} random messages`, async function () {
    let filed = 0;
    let refused = 0;
    let forms = 0;
    let other = 0;
    const started = process.hrtime.bigint();
    await fc.assert(
      fc.asyncProperty(message, profiles, sender, async (said, profile, who) => {
        w.profile = profile;
        const before = await marks(w.store);
        const input = `${who.name} says ${JSON.stringify(said.text)}`;
        const sent = await turn(w, clientOf(who).activity({ type: 'message', ...said }));
        const read = asRead(said.entities ? said.text.slice(MENTION.text.length) : said.text);
        const answer = sent.map((a) => visibleText(a as Record<string, unknown>)).join('\n');
        const after = await marks(w.store);
        const events = await auditSince(w.store, before.audit, after.audit);
        if (!read) {
          // Nothing to read (only a mention or white space): no answer, nothing written.
          assertNothingWritten(before, after, events, who, false, input);
          other++;
          return;
        }
        assert.ok(sent.length > 0, `no answer: ${input}`);
        assertReadable(answer, input);
        assertNoLiveLink(sent, input);
        if (!PHRASE_RE.test(read)) {
          // Not a request phrase: another command (help, new, status …) or "not a Mailroom command"; nothing written
          // (but the audit of a role refusal, for a command the sender has no role for).
          assert.ok(onlyRoleRefusals(events), `${input}: ${events.map((e) => e.event).join(', ')}`);
          assertNothingWritten(before, after, events, who, true, input);
          other++;
          return;
        }
        if (who === ARNOLD) {
          assert.match(answer, /Not allowed[\s\S]*needs the requester role[\s\S]*Nothing was changed/, `${input}\n→ ${answer}`);
          assert.deepEqual(events.map((e) => e.event), ['access.refused'], `the role refusal is audited: ${input}`);
          assertNothingWritten(before, after, events, who, true, input);
          refused++;
          return;
        }
        const parsed = parseCommand(read);
        const phraseOnly = parsed.ok && (Object.keys(parsed.values).length === 0 || Object.values(KINDS[parsed.kind].command.implies ?? {}).some((v) => sameRecord(v, parsed.values)));
        if (phraseOnly) {
          // The phrase alone: the kind's form (with what the phrase says, `grant full access`), nothing written.
          assert.equal(cardsOf(sent).length, 1, input);
          assert.ok(formInputs(cardsOf(sent)[0]).size > 0, `${input}\n→ ${answer}`);
          assertNothingWritten(before, after, events, who, false, input);
          forms++;
          return;
        }
        if (after.requests > before.requests) {
          assert.ok(parsed.ok, `a command that does not parse filed a request: ${input}`);
          await assertFiled(w, before, after, events, parsed.kind, answer, input);
          filed++;
          return;
        }
        refused++;
        assert.match(answer, /Nothing was requested/, `${input}\n→ ${answer}`);
        // What was wrong: the parser's or the validator's messages, each in the answer.
        const messages = parsed.ok
          ? ((events[0]?.data.errors as { message: string }[] | undefined) ?? []).map((e) => e.message).concat(typeof events[0]?.data.reason === 'string' ? [events[0].data.reason] : [])
          : parsed.errors.map((e) => e.message);
        assert.ok(messages.length > 0, `the refusal names no reason: ${input}\n→ ${answer}`);
        for (const m of messages) assert.ok(plain(answer).includes(plain(m)), `"${m}" is not in the answer: ${input}\n→ ${answer}`);
        assertNothingWritten(before, after, events, who, parsed.ok, input);
      }),
      { numRuns: RUNS, ...REPLAY },
    );
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    timings.push(`one-line commands: ${ms.toFixed(0)} ms (${filed} filed, ${refused} refused, ${forms} forms, ${other} not a request)`);
    if (!process.env.FUZZ_SEED) assert.ok(filed > RUNS / 200, `only ${filed} commands were filed: the generator no longer reaches the deeper rules`);
  });

  it('afterwards: the rows are what the turns wrote, and the audit chain verifies', async function () {
    const count = async (table: 'requests' | 'request_cards' | 'request_decisions' | 'run_steps' | 'secrets' | 'outbox'): Promise<number> =>
      Number((await w.store.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirst())?.n ?? 0);
    const requests = await count('requests');
    assert.equal(requests, w.approvalsAsked.length, 'every filed request, and only those, went to its approvers');
    assert.equal(await count('request_cards'), requests, 'one status card per filed request');
    for (const t of ['request_decisions', 'run_steps', 'secrets', 'outbox'] as const) assert.equal(await count(t), 0, t);
    const created = Number((await w.store.db.selectFrom('audit_events').where('event', '=', 'request.created').select((eb) => eb.fn.countAll().as('n')).executeTakeFirst())?.n ?? 0);
    assert.equal(created, requests);
    const verified = await w.store.audit.verify();
    assert.ok(verified.ok, JSON.stringify(verified));
  });
});
