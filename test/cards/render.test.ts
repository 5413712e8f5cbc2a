/**
 * Every card template in `cards/`, expanded through the bot's own CardRenderer with realistic data and drawn
 * by the `adaptivecards` renderer in headless Chromium: no template binding left, no renderer complaint, no
 * property the renderer ignores, within Teams' size limit, Teams' rules (version 1.5, Action.Execute with
 * verb and data, labelled inputs), and what a person sees and sends. Screenshots go to test-output/cards/.
 *
 * The data comes from the project's own code wherever it exists: form cards from formCard() with values
 * typed as a person would and errors from the real validator; request cards from buildView() over records
 * whose requests and plans come from the validator and the planner; approval and status cards through
 * TeamsNotifications; help, kind picker, lists and audit trail through the bot's command handlers.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import type { TurnContext } from 'botbuilder';
import { batchApprovalCard, batchPlanCard, batchPreviewCard, batchProgressCard } from '../../src/bot/batch-cards';
import { CardRenderer, type CardName } from '../../src/bot/cards';
import { allowedFor, COMMAND_GROUPS } from '../../src/bot/commands/catalogue';
import { registerHandlers } from '../../src/bot/handlers';
import { MailroomBot, type CardActionHandler, type CommandHandler, type GatedCardAction, type MailroomBotDeps } from '../../src/bot/mailroom-bot';
import type { Notifier, OutgoingMessage } from '../../src/bot/notifier';
import { approvalCard, formCard } from '../../src/bot/request-cards';
import { TeamsNotifications } from '../../src/bot/teams-notifications';
import type { Role } from '../../src/bot/roles';
import { silentLogger } from '../../src/log';
import { projectRoot } from '../../src/paths';
import { createdByStamp, plan as makePlan, planRollback, type Plan, type RollbackPlan, type RunStepFacts } from '../../src/plans';
import { COMMAND_FIELD, KIND_IDS, KINDS, validateRequest, type FieldError, type KindId, type RecipientRequest } from '../../src/requests';
import type { AuditEvent, AuditTrailCheck, CardRecord, DecisionRecord, RequestRecord, Store } from '../../src/store';
import type { ApprovalAccess } from '../../src/workflow/approval-access';
import { AuditTrailService } from '../../src/workflow/audit-trail';
import { PasswordRevealService } from '../../src/workflow/password-reveal';
import type { CardReferences } from '../../src/workflow/ports';
import { buildView, type RequestView, type StepState } from '../../src/workflow/request-view';
import type { RequestViewService } from '../../src/workflow/request-views';
import type { DoctorReport } from '../../src/doctor';
import type { DecisionOutcome, RollbackOutcome, RollbackPreview, UseCases } from '../../src/workflow/use-cases';
import type { RecipientView, RecipientViews } from '../../src/workflow/recipient-view';
import { digestOf, type RollbackInfo } from '../../src/workflow/rollback-info';
import { CardPage, cardBytes, hostRuleProblems, ignoredProperties, TEAMS_CARD_LIMIT_BYTES, unresolvedBindings, type RenderedCard, type SeenInput, type SeenText } from '../harness/card-render';
import { FakeLookup, PROFILE, sampleObjects } from '../requests/fixtures';

type Card = Record<string, unknown>;

const CARDS_DIR = path.join(projectRoot(), 'cards');
const cards = new CardRenderer(CARDS_DIR);

// ---------------------------------------------------------------------------------------------
// People, typed values, validated requests and plans
// ---------------------------------------------------------------------------------------------

const TENANT = '6c3f2a7e-2b4d-4d7e-9a51-0c1d2e3f4a5b';
const RITA = { aadObjectId: '00000000-0000-4000-8000-0000000000a1', name: 'Rita Requester', tenantId: TENANT };
const ARNOLD = { aadObjectId: '00000000-0000-4000-8000-0000000000a2', name: 'Arnold Approver', tenantId: TENANT };
const BEATRIX = { aadObjectId: '00000000-0000-4000-8000-0000000000a4', name: 'Beatrix Second-Stage', tenantId: TENANT };

/** What a requester types into each form (all valid against the sample directory). */
const TYPED: Record<KindId, Record<string, string>> = {
  'user-mailbox': { firstName: 'Zoë', lastName: 'Ångström-Müller', department: 'Research', jobTitle: 'Analyst', usageLocation: 'AT' },
  'shared-mailbox': { displayName: 'Team Marketing', alias: 'marketing' },
  'room-mailbox': { displayName: 'Board Room 2', capacity: '8' },
  'equipment-mailbox': { displayName: 'Pool Car 2' },
  'mail-user': { firstName: 'Ada', lastName: 'Partner', externalAddress: 'ada@partner.example', company: 'Partner Ltd' },
  'mail-contact': { displayName: 'Ada Partner', externalAddress: 'ada.partner@partner.example', company: 'Partner Ltd' },
  'distribution-group': { displayName: 'Sales Team', scope: 'global', securityEnabled: 'true', members: 'ada.byron@contoso.example, grace.hopper@contoso.example' },
  'primary-address': { identity: 'ada.byron@contoso.example', newAddress: 'ada.b@contoso.example' },
  'secondary-address-add': { identity: 'ada.byron@contoso.example', address: 'a.byron@contoso.example' },
  'secondary-address-remove': { identity: 'ada.byron@contoso.example', address: 'ada@contoso.example' },
  'cloud-managed': { identity: 'ada.byron@contoso.example', state: 'on' },
  'mailbox-type': { identity: 'sales@contoso.example', type: 'Regular', adjustLicence: 'true' },
  offboarding: { identity: 'grace.hopper@contoso.example', disableAccount: 'true', convertToShared: 'false', removeLicence: 'true', hideFromAddressLists: 'true' },
  'mailbox-permission-grant': { identity: 'sales@contoso.example', permission: 'FullAccess', users: 'ada.byron@contoso.example, grace.hopper@contoso.example', autoMapping: 'true' },
  'mailbox-permission-revoke': { identity: 'sales@contoso.example', permission: 'SendAs', users: 'ada.byron@contoso.example' },
  'group-member-add': { identity: 'allstaff@contoso.example', members: 'ada.byron@contoso.example, grace.hopper@contoso.example' },
  'group-member-remove': { identity: 'allstaff@contoso.example', members: 'grace.hopper@contoso.example' },
  'address-list-visibility': { identity: 'grace.hopper@contoso.example', visibility: 'hidden' },
  'forwarding-set': { identity: 'ada.byron@contoso.example', forwardTo: 'grace.hopper@contoso.example', keepCopy: 'true' },
  'forwarding-off': { identity: 'ada.byron@contoso.example' },
  booking: { identity: 'boardroom@contoso.example', processing: 'accept', bookingWindow: '90', conflicts: 'decline', bookers: 'ada.byron@contoso.example, allstaff@contoso.example' },
  'auto-reply': { identity: 'ada.byron@contoso.example', state: 'on', message: 'I am away <until> *Monday*.', audience: 'known' },
};

/** Typed with mistakes the validator finds (taken names, bad syntax, wrong domains, unknown recipients). */
const MISTYPED: Record<KindId, Record<string, string>> = {
  'user-mailbox': { firstName: '', lastName: 'Lovelace', department: 'Research', usageLocation: 'GB', alias: 'ada lovelace', userPrincipalName: 'ada lovelace@contoso' },
  'shared-mailbox': { displayName: 'Team Sales', alias: 'sales' },
  'room-mailbox': { displayName: 'Board Room 3', capacity: '8', alias: 'sales' },
  'equipment-mailbox': { displayName: '', emailAddress: 'car@nowhere.example' },
  'mail-user': { firstName: 'Ada', lastName: 'Partner', externalAddress: 'ada@contoso.example' },
  'mail-contact': { displayName: 'Vera Vendor', externalAddress: 'vera@vendor.example' },
  'distribution-group': { displayName: 'Sales Team', scope: 'global', securityEnabled: 'false', members: 'ada.byron@contoso.example, nobody@contoso.example' },
  'primary-address': { identity: 'nobody@contoso.example', newAddress: 'ada@contoso.example' },
  'secondary-address-add': { identity: 'ada.byron@contoso.example', address: 'grace@contoso.example' },
  'secondary-address-remove': { identity: 'ada.byron@contoso.example', address: 'ada.byron@contoso.example' },
  'cloud-managed': { identity: 'vera@vendor.example', state: 'on' },
  'mailbox-type': { identity: 'pat@partner.example', type: 'Shared', adjustLicence: 'false' },
  offboarding: { identity: 'pat@partner.example', disableAccount: 'true', convertToShared: 'true', removeLicence: 'true', hideFromAddressLists: 'false' },
  'mailbox-permission-grant': { identity: 'allstaff@contoso.example', permission: 'FullAccess', users: 'ada.byron@contoso.example' },
  'mailbox-permission-revoke': { identity: 'sales@contoso.example', permission: 'SendAs', users: 'vera@vendor.example, nobody@contoso.example' },
  'group-member-add': { identity: 'sales@contoso.example', members: 'ada.byron@contoso.example' },
  'group-member-remove': { identity: 'allstaff@contoso.example', members: 'ada*@contoso.example' },
  'address-list-visibility': { identity: 'allstaff@contoso.example', visibility: 'hidden' },
  'forwarding-set': { identity: 'ada.byron@contoso.example', forwardTo: 'nobody@contoso.example', keepCopy: 'true' },
  'forwarding-off': { identity: 'allstaff@contoso.example' },
  booking: { identity: 'ada.byron@contoso.example', bookingWindow: '2000' },
  'auto-reply': { identity: 'ada.byron@contoso.example', state: 'on', start: '2027-13-01' },
};

const validation = { lookup: new FakeLookup(sampleObjects()), profile: PROFILE };
const planned = new Map<KindId, Promise<{ request: RecipientRequest; plan: Plan }>>();

function validated(kind: KindId): Promise<{ request: RecipientRequest; plan: Plan }> {
  let p = planned.get(kind);
  if (!p) {
    p = validateRequest(kind, TYPED[kind], validation).then((r) => {
      if (!r.ok) throw new Error(`sample values for ${kind} do not validate: ${JSON.stringify(r.errors)}`);
      return { request: r.request, plan: makePlan(r.request, PROFILE) };
    });
    planned.set(kind, p);
  }
  return p;
}

async function validationErrors(kind: KindId): Promise<FieldError[]> {
  const r = await validateRequest(kind, MISTYPED[kind], validation);
  if (r.ok) throw new Error(`the mistyped sample for ${kind} validates`);
  return r.errors;
}

// ---------------------------------------------------------------------------------------------
// Records and views
// ---------------------------------------------------------------------------------------------

const at = (minutes: number) => new Date(Date.parse('2025-03-03T09:14:00.000Z') + minutes * 60_000).toISOString();

async function sampleRecord(kind: KindId, id: number, over: Partial<RequestRecord> = {}): Promise<RequestRecord> {
  const { request, plan } = await validated(kind);
  return {
    id,
    reference: `R-${id}`,
    kind,
    status: 'pending-approval',
    version: 1,
    stage: 1,
    requesterAadObjectId: RITA.aadObjectId,
    requesterName: RITA.name,
    tenantId: TENANT,
    values: { ...TYPED[kind] },
    request,
    plan,
    createdAt: at(0),
    updatedAt: at(0),
    decidedAt: null,
    decidedBy: null,
    decidedByName: null,
    decisionReason: null,
    remindAt: at(24 * 60),
    remindedAt: null,
    expiresAt: at(7 * 24 * 60),
    result: null,
    error: null,
    batchId: null,
    batchLine: null,
    ...over,
  };
}

function decision(record: Pick<RequestRecord, 'id'>, stage: number, who: typeof ARNOLD, outcome: 'approve' | 'reject', minutes: number, reason: string | null = null): DecisionRecord {
  return { id: record.id * 10 + stage, requestId: record.id, stage, approverAadObjectId: who.aadObjectId, approverName: who.name, decision: outcome, reason, at: at(minutes), requestVersion: stage };
}

const REJECTION = 'We already have "Sales" (sales@contoso.example) for this; ask Marta in Sales to add you to it instead.';

interface RequestSample {
  readonly record: RequestRecord;
  readonly decisions: DecisionRecord[];
  readonly stages: number;
  readonly run: StepState[];
  readonly view: RequestView;
}

function sample(record: RequestRecord, decisions: DecisionRecord[], stages: number, run: StepState[] = [], possible?: RollbackPlan): RequestSample {
  return { record, decisions, stages, run, view: buildView(record, decisions, stages, run, possible) };
}

/** The run of a plan as stored: the first `done` steps done (creates made their object, the rest changed it), then `then`. */
function runFacts(record: RequestRecord, done: number, then: string): RunStepFacts[] {
  return (record.plan as Plan).steps.map((s, i) => {
    const input = s.input as { dn?: string };
    const result = s.action.startsWith('ad.create')
      ? { dn: input.dn, objectGuid: '6f9619ff-8b86-d011-b42d-00c04fc964ff', created: true, stamp: createdByStamp(record.reference), changed: true }
      : { changed: true };
    return { stepId: s.id, action: s.action, status: i < done ? 'done' : i === done ? then : 'pending', input: s.input, result: i < done ? result : null };
  });
}

/** A record whose run did its first `done` steps and failed, with a roll back asked for by Rita whose first `undone` steps are done. */
function rollingBack(record: RequestRecord, done: number, undone: number, then?: { status: string; error?: string }): { record: RequestRecord; run: StepState[] } {
  const n = (record.plan as Plan).steps.length;
  const facts = runFacts(record, done, 'failed');
  const plan = planRollback(record.plan as Plan, facts, record.reference);
  const info: RollbackInfo = { by: RITA.name, byId: RITA.aadObjectId, at: at(40), from: 'failed', firstIndex: n, steps: plan.steps, kept: plan.kept, notes: plan.notes, digest: digestOf(plan) };
  const run: StepState[] = [
    ...facts.map((f, i) => ({ stepIndex: i, status: f.status === 'done' ? 'done' : 'skipped', error: null })),
    ...plan.steps.map((_s, k) => ({ stepIndex: n + k, status: k < undone ? 'done' : k === undone && then ? then.status : 'pending', error: k === undone && then?.error ? then.error : null })),
  ];
  return { record: { ...record, result: { rollback: info } }, run };
}

/** Run states of a plan's steps: the first `done` done, then one step in `then`, the rest pending. */
function runOf(record: RequestRecord, done: number, then?: { status: string; error?: string }): StepState[] {
  const steps = (record.plan as Plan).steps;
  return steps.map((_s, i) => ({
    stepIndex: i,
    status: i < done ? 'done' : i === done && then ? then.status : 'pending',
    error: i === done && then?.error ? then.error : null,
  }));
}

const approvedBy = (who: typeof ARNOLD, minutes: number): Partial<RequestRecord> => ({ decidedAt: at(minutes), decidedBy: who.aadObjectId, decidedByName: who.name, remindAt: null });

/** A request in each state the cards show, from records as the store keeps them. */
const REQUEST_STATES = {
  'pending-1-stage': async () => sample(await sampleRecord('user-mailbox', 12), [], 1),
  'pending-stage-1-of-2': async () => sample(await sampleRecord('shared-mailbox', 13), [], 2),
  'pending-stage-2-of-2-warnings': async () => {
    const r = await sampleRecord('offboarding', 14, { stage: 2, version: 2, updatedAt: at(50) });
    return sample(r, [decision(r, 1, ARNOLD, 'approve', 50)], 2);
  },
  approved: async () => {
    const r = await sampleRecord('room-mailbox', 15, { status: 'approved', version: 2, ...approvedBy(ARNOLD, 95), updatedAt: at(95) });
    return sample(r, [decision(r, 1, ARNOLD, 'approve', 95)], 1);
  },
  'approved-2-stages': async () => {
    const r = await sampleRecord('mailbox-type', 16, { status: 'approved', stage: 2, version: 3, ...approvedBy(BEATRIX, 300), updatedAt: at(300) });
    return sample(r, [decision(r, 1, ARNOLD, 'approve', 40), decision(r, 2, BEATRIX, 'approve', 300)], 2);
  },
  rejected: async () => {
    const r = await sampleRecord('distribution-group', 17, { status: 'rejected', version: 2, ...approvedBy(ARNOLD, 61), decisionReason: REJECTION, updatedAt: at(61) });
    return sample(r, [decision(r, 1, ARNOLD, 'reject', 61, REJECTION)], 1);
  },
  cancelled: async () => sample(await sampleRecord('mail-user', 18, { status: 'cancelled', version: 2, remindAt: null, updatedAt: at(7) }), [], 1),
  expired: async () => sample(await sampleRecord('primary-address', 19, { status: 'expired', version: 2, decidedAt: at(7 * 24 * 60), remindAt: null, updatedAt: at(7 * 24 * 60) }), [], 1),
  queued: async () => {
    const r = await sampleRecord('cloud-managed', 20, { status: 'queued', version: 3, ...approvedBy(ARNOLD, 20), updatedAt: at(20) });
    return sample(r, [decision(r, 1, ARNOLD, 'approve', 20)], 1);
  },
  running: async () => {
    const r = await sampleRecord('secondary-address-add', 21, { status: 'running', version: 4, ...approvedBy(ARNOLD, 20), updatedAt: at(21) });
    return sample(r, [decision(r, 1, ARNOLD, 'approve', 20)], 1, runOf(r, 0, { status: 'running' }));
  },
  waiting: async () => {
    const r = await sampleRecord('shared-mailbox', 22, { status: 'waiting', version: 5, ...approvedBy(ARNOLD, 20), updatedAt: at(22) });
    return sample(r, [decision(r, 1, ARNOLD, 'approve', 20)], 1, runOf(r, 1, { status: 'waiting' }));
  },
  done: async () => {
    const r = await sampleRecord('user-mailbox', 23, { status: 'done', version: 7, ...approvedBy(ARNOLD, 20), updatedAt: at(48) });
    return sample(r, [decision(r, 1, ARNOLD, 'approve', 20)], 1, runOf(r, (r.plan as Plan).steps.length));
  },
  failed: async () => {
    const error = 'New-MailContact: the proxy address "SMTP:ada.partner@partner.example" is already being used by "Ada P. (old)".';
    const r = await sampleRecord('mail-contact', 24, { status: 'failed', version: 5, ...approvedBy(ARNOLD, 20), error, updatedAt: at(24) });
    return sample(r, [decision(r, 1, ARNOLD, 'approve', 20)], 1, runOf(r, 1, { status: 'failed', error }));
  },
  'failed-can-roll-back': async () => {
    const error = 'No mailbox for zoe.angstrom-mueller@contoso.example appeared in Exchange Online within 3 hours of the licence.';
    const r = await sampleRecord('user-mailbox', 25, { status: 'failed', version: 6, ...approvedBy(ARNOLD, 20), error, updatedAt: at(200) });
    return sample(r, [decision(r, 1, ARNOLD, 'approve', 20)], 1, runOf(r, 4, { status: 'failed', error }), planRollback(r.plan as Plan, runFacts(r, 4, 'failed'), r.reference));
  },
  'cancelled-during-run': async () => {
    const r = await sampleRecord('user-mailbox', 26, { status: 'cancelled', version: 6, ...approvedBy(ARNOLD, 20), updatedAt: at(30) });
    const c = { ...r, result: { cancelled: { by: RITA.name, byId: RITA.aadObjectId, at: at(30), from: 'waiting' } } };
    return sample(c, [decision(r, 1, ARNOLD, 'approve', 20)], 1, runOf(r, 4, { status: 'cancelled' }), planRollback(r.plan as Plan, runFacts(r, 4, 'cancelled'), r.reference));
  },
  'rolling-back': async () => {
    const { record, run } = rollingBack(await sampleRecord('user-mailbox', 27, { status: 'running', version: 8, ...approvedBy(ARNOLD, 20), updatedAt: at(41) }), 4, 0, { status: 'running' });
    return sample(record, [decision(record, 1, ARNOLD, 'approve', 20)], 1, run);
  },
  'rollback-failed': async () => {
    const error = "Mailroom did not delete the user 'Zoë Ångström-Müller' (CN=Zoë Ångström-Müller,OU=Users,OU=Mailroom,DC=contoso,DC=example): its description is 'Lab account', not 'Created by Mailroom for R-28'. Nothing was deleted.";
    const { record, run } = rollingBack(await sampleRecord('user-mailbox', 28, { status: 'failed', version: 9, ...approvedBy(ARNOLD, 20), error, updatedAt: at(42) }), 4, 1, { status: 'failed', error });
    return sample(record, [decision(record, 1, ARNOLD, 'approve', 20)], 1, run);
  },
  'rolled-back': async () => {
    // A conversion to Regular that stopped after the licence: the licence goes, the usage location stays.
    const base = await sampleRecord('mailbox-type', 29, { status: 'rolled-back', version: 10, ...approvedBy(ARNOLD, 20), updatedAt: at(43) });
    const { record, run } = rollingBack(base, 2, (base.plan as Plan).steps.length);
    return sample(record, [decision(record, 1, ARNOLD, 'approve', 20)], 1, run);
  },
} satisfies Record<string, () => Promise<RequestSample>>;
type RequestState = keyof typeof REQUEST_STATES;
const STATE_NAMES = Object.keys(REQUEST_STATES) as RequestState[];

/**
 * The approval card and the requester's status card of a request, as the bot sends them when the request
 * changes (TeamsNotifications.requestChanged updates every copy in place).
 */
async function requestCards(s: RequestSample): Promise<{ approval: Card; status: Card }> {
  const updates: { conversationId: string; card: Card | undefined }[] = [];
  const notifier = {
    update: (conversationId: string, _activityId: string, msg: OutgoingMessage) => {
      updates.push({ conversationId, card: msg.card });
      return Promise.resolve();
    },
    sendToUser: () => Promise.resolve({ conversationId: 'personal-rita', activityId: undefined }),
  } as unknown as Notifier;
  const copies: Partial<CardRecord>[] = [
    { requestId: s.record.id, audience: 'requester', conversationId: 'requester', activityId: 'a1' },
    { requestId: s.record.id, audience: 'approver', conversationId: 'approver', activityId: 'a2' },
  ];
  const cardRefs = { list: () => Promise.resolve(copies) } as unknown as CardReferences;
  await new TeamsNotifications(notifier, cards, cardRefs, silentLogger, () => Promise.resolve(undefined)).requestChanged(s.record, s.view, undefined);
  const of = (id: string) => {
    const card = updates.find((u) => u.conversationId === id)?.card;
    if (!card) throw new Error(`no ${id} card was sent`);
    return card;
  };
  return { approval: of('approver'), status: of('requester') };
}

// ---------------------------------------------------------------------------------------------
// The bot's command handlers, with fakes for what lies behind them
// ---------------------------------------------------------------------------------------------

interface BotWorld {
  readonly mine?: RequestView[];
  readonly awaiting?: RequestView[];
  /** The request that the use cases find (status, keep, audit, reveal). */
  readonly found?: RequestSample;
  readonly audit?: { events: AuditEvent[]; check: AuditTrailCheck };
  /** What decide, cancel and retry answer. */
  readonly outcome?: DecisionOutcome;
  /** What rollbackPreview and rollback answer. */
  readonly preview?: RollbackPreview;
  readonly rollback?: RollbackOutcome;
  readonly password?: string;
  /** What the doctor reports. */
  readonly doctor?: DoctorReport;
  /** What show and find answer. */
  readonly recipients?: RecipientViews;
}

const ME = { aadObjectId: RITA.aadObjectId, name: RITA.name, tenantId: TENANT };

/**
 * The bot with its real command and card-verb handlers, and fakes for the use cases behind them (the audit trail
 * and the password reveal are the workflow's own, over a fake store).
 */
function wiredBot(world: BotWorld): { commands: readonly CommandHandler[]; verbs: Map<string, CardActionHandler>; sent: unknown[]; ctx: TurnContext } {
  const deps = { log: silentLogger, cards, roles: {}, conversations: {}, allowedTenantIds: [TENANT] };
  const bot = new MailroomBot(deps as unknown as MailroomBotDeps);
  const verbs = new Map<string, CardActionHandler>();
  const register = bot.cardAction.bind(bot);
  bot.cardAction = (h: GatedCardAction) => {
    verbs.set(h.verb, h);
    return register(h);
  };
  const notFound = { ok: false, code: 'not-found', message: 'There is no such request. Nothing was changed.' } as const;
  const outcome = () => Promise.resolve(world.outcome ?? notFound);
  const store = {
    requests: { get: () => Promise.resolve(world.found?.record) },
    audit: {
      list: () => Promise.resolve(world.audit?.events ?? []),
      verify: () => Promise.resolve({ ok: true, count: 0, lastHash: '0'.repeat(64) }),
      verifyRequest: () => Promise.resolve({ events: world.audit?.events ?? [], check: world.audit?.check ?? { ok: true, events: 0, keyed: 0, legacy: 0 } }),
      append: () => Promise.resolve(),
    },
  } as unknown as Store;
  const views = {
    viewOf: () => (world.found ? Promise.resolve(world.found.view) : Promise.reject(new Error('no request'))),
    find: () => Promise.resolve(world.found?.view),
    listMine: () => Promise.resolve(world.mine ?? []),
    trackCard: () => Promise.resolve(),
  } as unknown as RequestViewService;
  const access = { maySee: () => Promise.resolve(true) } as unknown as ApprovalAccess;
  const useCases = {
    intake: { submit: () => Promise.reject(new Error('not here')), refused: () => Promise.resolve(), previewBulk: () => Promise.reject(new Error('not here')) },
    approvals: {
      decide: outcome,
      listAwaiting: () => Promise.resolve(world.awaiting ?? []),
      delegate: () => Promise.resolve(notFound),
      undelegate: () => Promise.resolve(notFound),
      reassign: () => Promise.resolve(notFound),
    },
    runControl: {
      cancel: outcome,
      retry: outcome,
      rollbackPreview: () => Promise.resolve(world.preview ?? notFound),
      rollback: () => Promise.resolve(world.rollback ?? notFound),
    },
    views,
    passwords: new PasswordRevealService(store, views, () => Promise.resolve(world.password)),
    audit: new AuditTrailService(store, access, '/nonexistent', () => new Date()),
    cloudManaged: undefined,
    channels: { setHere: () => Promise.resolve(notFound), describe: () => Promise.resolve('') },
    batches: {
      preview: () => Promise.reject(new Error('not here')),
      file: () => Promise.resolve(notFound),
      decide: () => Promise.resolve(notFound),
      status: () => Promise.resolve(notFound),
      export: () => Promise.resolve(notFound),
      trackPreview: () => Promise.resolve(),
      plan: () => Promise.resolve(notFound),
    },
    ...(world.recipients ? { recipients: world.recipients } : {}),
  } satisfies UseCases;
  const doctor = () => Promise.resolve(world.doctor ?? { lines: [], ok: true });
  registerHandlers(bot, { useCases, cards, log: silentLogger, readiness: () => Promise.reject(new Error('not here')), doctor });
  const sent: unknown[] = [];
  const ctx = {
    activity: { conversation: { id: 'personal-rita' } },
    sendActivity: (activity: unknown) => {
      sent.push(activity);
      return Promise.resolve({ id: `activity-${sent.length}` });
    },
  } as unknown as TurnContext;
  return { commands: bot.listCommands() as readonly CommandHandler[], verbs, sent, ctx };
}

/** Runs a chat command through the bot's real handler and returns the cards it sent. */
async function botCards(text: string, roles: Role[], world: BotWorld = {}): Promise<Card[]> {
  const { commands, sent, ctx } = wiredBot(world);
  for (const cmd of commands) {
    const m = cmd.pattern.exec(text);
    if (!m) continue;
    await cmd.handle(ctx, { actor: ME, roles }, m);
    return sent.flatMap((a) => ((a as { attachments?: { content: Card }[] }).attachments ?? []).map((x) => x.content));
  }
  throw new Error(`no command matches "${text}"`);
}

/** Presses a card button as far as the bot is concerned: the card its verb handler answers with. */
async function verbCard(verb: string, data: Record<string, unknown>, world: BotWorld, roles: Role[] = ['requester']): Promise<Card> {
  const { verbs, ctx } = wiredBot(world);
  const handler = verbs.get(verb);
  if (!handler) throw new Error(`the bot has no verb ${verb}`);
  const card = await handler.handle(ctx, { actor: ME, roles }, data);
  if (!card) throw new Error(`${verb} answered with no card`);
  return card;
}

async function oneBotCard(text: string, roles: Role[], world: BotWorld = {}): Promise<Card> {
  const [card] = await botCards(text, roles, world);
  if (!card) throw new Error(`"${text}" sent no card`);
  return card;
}

async function auditWorld(check: AuditTrailCheck, withEvents = true): Promise<BotWorld> {
  const found = await REQUEST_STATES.approved();
  const steps = (found.record.plan as Plan).steps.map((s) => s.action);
  const ev = (seq: number, minutes: number, who: { aadObjectId: string; name: string } | null, event: string, data: Record<string, unknown>): AuditEvent => ({
    seq, at: at(minutes), actorAadObjectId: who?.aadObjectId ?? null, actorName: who?.name ?? 'Mailroom', requestRef: found.record.reference, event, data, prevHash: 'a'.repeat(64), hash: 'b'.repeat(64),
  });
  const events = withEvents
    ? [
        ev(57, 0, RITA, 'request.created', { kind: 'room-mailbox', source: 'form', steps, version: 1 }),
        ev(58, 1, RITA, 'request.decision-refused', { code: 'own-request', outcome: 'approve', version: 1 }),
        ev(61, 60, null, 'request.reminded', { stage: 1 }),
        ev(63, 95, ARNOLD, 'request.decided', { effect: 'approved', outcome: 'approve', stage: 1, version: 1 }),
        ev(64, 96, null, 'request.queued', {}),
      ]
    : [];
  return { found, audit: { events, check } };
}

// ---------------------------------------------------------------------------------------------
// What a person sees
// ---------------------------------------------------------------------------------------------

const texts = (seen: RenderedCard) => seen.blocks.filter((b): b is SeenText => b.kind === 'text');
const inputs = (seen: RenderedCard) => seen.blocks.filter((b): b is SeenInput => b.kind === 'input');
const facts = (seen: RenderedCard) => seen.blocks.flatMap((b) => (b.kind === 'facts' ? b.facts : []));

function inputOf(seen: RenderedCard, id: string): SeenInput {
  const found = inputs(seen).find((i) => i.id === id);
  assert.ok(found, `no input "${id}" on the card (inputs: ${inputs(seen).map((i) => i.id).join(', ')})`);
  return found;
}

/** The text blocks between an input and the next input: its help and its error. */
function textsAfter(seen: RenderedCard, id: string): SeenText[] {
  const start = seen.blocks.findIndex((b) => b.kind === 'input' && b.id === id);
  assert.ok(start >= 0, `no input "${id}"`);
  const out: SeenText[] = [];
  for (const b of seen.blocks.slice(start + 1)) {
    if (b.kind === 'input') break;
    if (b.kind === 'text') out.push(b);
  }
  return out;
}

function assertShows(seen: RenderedCard, ...wanted: string[]): void {
  for (const w of wanted) assert.ok(seen.text.includes(w), `the card does not show ${JSON.stringify(w)}:\n${seen.text}`);
}

function assertButtons(seen: RenderedCard, titles: string[]): void {
  assert.deepEqual(seen.buttons, titles, 'buttons on the card');
}

/** Colour of the status line: red only when the request stopped, was refused or lapsed. */
const STATUS_COLOUR: Partial<Record<string, string>> = {
  'pending-approval': 'Accent',
  approved: 'Good',
  done: 'Good',
  rejected: 'Attention',
  cancelled: 'Attention',
  expired: 'Attention',
  failed: 'Attention',
  'rolled-back': 'Attention',
};

/** A request card shows its heading, status, facts and plan. */
function assertRequestBasics(seen: RenderedCard, view: RequestView): void {
  assertShows(seen, `${view.reference} · ${view.kindTitle}`, `Requested by ${view.requesterName} on ${view.createdAt}.`, view.statusText.trim());
  assert.deepEqual(facts(seen), view.facts, 'facts');
  for (const s of view.steps) assertShows(seen, `${s.icon}${s.n}. ${s.summary}`);
  const status = texts(seen).find((t) => t.text === view.statusText);
  assert.ok(status, 'status line');
  const colour = STATUS_COLOUR[view.status];
  if (colour) assert.equal(status.color, colour, `colour of "${view.statusText}" (${view.status})`);
  else assert.notEqual(status.color, 'Attention', `"${view.statusText}" (${view.status}, under way) is shown in the error colour`);
}

// ---------------------------------------------------------------------------------------------
// Samples: every template, every variant
// ---------------------------------------------------------------------------------------------

interface Sample {
  /** Part of the test title and the screenshot's name; '' for a template's only sample. */
  readonly variant: string;
  card(): Promise<Card>;
  check?(seen: RenderedCard, page: CardPage, card: Card): Promise<void> | void;
}

function formSamples(): Sample[] {
  return KIND_IDS.flatMap((kind): Sample[] => {
    const def = KINDS[kind];
    const labelsAndHelp = (seen: RenderedCard) => {
      assertShows(seen, `New request: ${def.title}`, def.description);
      assert.deepEqual(inputs(seen).map((i) => i.id), def.fields.map((f) => f.id), 'one input per field, in order');
      for (const f of def.fields) {
        const i = inputOf(seen, f.id);
        assert.equal(i.label, f.label, `label of ${f.id}`);
        assert.equal(i.required, f.required, `${f.id} required`);
        assertShows(seen, f.label);
        if (f.help) assert.ok(textsAfter(seen, f.id).some((t) => t.text === f.help && t.subtle), `help of ${f.id} under it`);
        if (f.choices) assert.equal(i.choiceCount, f.choices.length, `choices of ${f.id}`);
      }
      assertButtons(seen, ['Submit request']);
      assert.deepEqual(seen.actions.map((a) => [a.verb, a.data]), [['request.submit', { kind }]]);
    };
    return [
      {
        variant: kind,
        card: () => Promise.resolve(formCard(cards, kind, {}, [])),
        check(seen) {
          labelsAndHelp(seen);
          assert.ok(!texts(seen).some((t) => t.color === 'Attention'), 'a fresh form shows no error');
          for (const f of def.fields) assert.equal(inputOf(seen, f.id).value, f.default ?? (f.type === 'toggle' ? 'false' : ''), `initial value of ${f.id}`);
        },
      },
      {
        variant: `${kind}-errors`,
        card: async () => formCard(cards, kind, MISTYPED[kind], await validationErrors(kind)),
        async check(seen) {
          labelsAndHelp(seen);
          const errors = await validationErrors(kind);
          const summary = texts(seen).find((t) => t.color === 'Attention' && t.weight === 'Bolder');
          assert.ok(summary, 'a summary of the problems above the fields');
          assert.match(summary.text, new RegExp(`^${errors.length} problems? — nothing was requested\\.`));
          for (const f of def.fields) {
            const mine = errors.filter((e) => e.field === f.id).map((e) => e.message);
            const shown = textsAfter(seen, f.id).filter((t) => t.color === 'Attention').map((t) => t.text);
            assert.deepEqual(shown, mine.length ? [mine.join(' ')] : [], `error under ${f.id}`);
          }
          for (const [id, typed] of Object.entries(MISTYPED[kind])) {
            const i = inputOf(seen, id);
            assert.equal(i.value, typed, `the form keeps what was typed into ${id} (it shows ${JSON.stringify(i.shown)})`);
            const choice = def.fields.find((f) => f.id === id)?.choices?.find((c) => c.value === typed);
            if (choice) assert.equal(i.shown, choice.title, `${id} shows the chosen ${choice.title}`);
          }
        },
      },
    ];
  });
}

const FORM_EXTRAS: Sample[] = [
  {
    variant: 'user-mailbox-filled',
    card: () => Promise.resolve(formCard(cards, 'user-mailbox', TYPED['user-mailbox'], [])),
    async check(_seen, page) {
      const sent = await page.press('Submit request');
      assert.ok(sent, 'a filled form is sent');
      assert.equal(sent.verb, 'request.submit');
      assert.deepEqual(
        Object.fromEntries(Object.entries(sent.data).filter(([, v]) => v !== '')),
        { kind: 'user-mailbox', ...TYPED['user-mailbox'] },
        'the host gets the kind and every typed value',
      );
    },
  },
  {
    variant: 'user-mailbox-submitted-empty',
    card: () => Promise.resolve(formCard(cards, 'user-mailbox', {}, [])),
    async check(_seen, page) {
      assert.equal(await page.press('Submit request'), null, 'an empty form with required fields is not sent');
      await page.screenshot('request-form-user-mailbox-submitted-empty');
      const shown = await page.page.locator('#card').innerText();
      for (const f of KINDS['user-mailbox'].fields.filter((x) => x.required)) assert.ok(shown.includes(`${f.label} is required`), `says that ${f.label} is required`);
    },
  },
  {
    variant: 'user-mailbox-refused',
    card: () => Promise.resolve(formCard(cards, 'user-mailbox', TYPED['user-mailbox'], [{ field: COMMAND_FIELD, message: 'Making requests needs the requester role; ask your Mailroom admin.' }])),
    check(seen) {
      assertShows(seen, '1 problem — nothing was requested. Making requests needs the requester role; ask your Mailroom admin.');
      for (const [id, typed] of Object.entries(TYPED['user-mailbox'])) assert.equal(inputOf(seen, id).value, typed, `keeps ${id}`);
    },
  },
];

function approvalSamples(): Sample[] {
  const pendingPerKind = KIND_IDS.map(
    (kind, n): Sample => ({
      variant: `pending-${kind}`,
      card: async () => (await requestCards(sample(await sampleRecord(kind, 30 + n), [], 1))).approval,
      async check(seen) {
        const { view } = sample(await sampleRecord(kind, 30 + n), [], 1);
        assertRequestBasics(seen, view);
        for (const note of view.notes) assertShows(seen, `⚠ ${note}`);
        assertButtons(seen, ['Approve', 'Reject']);
      },
    }),
  );
  const states = STATE_NAMES.map(
    (state): Sample => ({
      variant: state,
      card: async () => (await requestCards(await REQUEST_STATES[state]())).approval,
      async check(seen, page) {
        const s = await REQUEST_STATES[state]();
        assertRequestBasics(seen, s.view);
        for (const note of s.view.notes) assertShows(seen, `⚠ ${note}`);
        if (s.stages > 1) assertShows(seen, 'Approval in 2 stages.');
        if (s.view.approvalStatus !== 'pending') {
          assertButtons(seen, []);
          assert.deepEqual(inputs(seen), [], 'a decided request asks for nothing');
          return;
        }
        assertButtons(seen, ['Approve', 'Reject']);
        assert.equal(inputOf(seen, 'reason').label, 'Reason (required to reject)');
        const approve = await page.press('Approve', { reason: 'looks fine' });
        assert.deepEqual(approve, { type: 'Action.Execute', verb: 'request.approve', data: { reference: s.view.reference, version: s.view.version } }, 'Approve sends the version and no reason');
        const reason = 'Not needed: use the Sales DL.';
        const reject = await page.press('Reject', { reason });
        assert.deepEqual(reject, { type: 'Action.Execute', verb: 'request.reject', data: { reference: s.view.reference, version: s.view.version, reason } }, 'Reject sends the reason');
      },
    }),
  );
  const notice = `R-15 was already approved by ${ARNOLD.name} at ${at(95)}. Nothing was changed.`;
  return [
    ...pendingPerKind,
    ...states,
    {
      variant: 'refused-decision',
      card: async () => {
        const found = await REQUEST_STATES.approved();
        return verbCard('request.approve', { reference: 'R-15', version: 1 }, { outcome: { ok: false, code: 'already-decided', message: notice, view: found.view } }, ['approver']);
      },
      check(seen) {
        const second = texts(seen)[1];
        assert.deepEqual(second && [second.text, second.color], [notice, 'Attention'], 'the notice right under the heading');
        assertButtons(seen, []);
      },
    },
  ];
}

/**
 * Buttons of the requester's card: Cancel until the run ends (not during a roll back), Retry after a failure, Roll
 * back when a stopped or cancelled request created something, Reveal for a new account's password.
 */
function statusButtons(view: RequestView, revealed = false): string[] {
  return [
    ...(['pending-approval', 'approved', 'queued', 'running', 'waiting'].includes(view.status) && !view.rollingBack ? ['Cancel request'] : []),
    ...(view.canRetry ? ['Retry'] : []),
    ...(view.canRollBack ? ['Roll back'] : []),
    ...(view.status === 'done' && ['user-mailbox', 'mail-user'].includes(view.kind) && !revealed ? ['Reveal password'] : []),
  ];
}

function statusSamples(): Sample[] {
  const states = STATE_NAMES.map(
    (state): Sample => ({
      variant: state,
      card: async () => (await requestCards(await REQUEST_STATES[state]())).status,
      async check(seen, page) {
        const s = await REQUEST_STATES[state]();
        const v = s.view;
        assertRequestBasics(seen, v);
        assert.deepEqual(inputs(seen), [], 'the status card asks for nothing');
        for (const step of v.steps) {
          const line = texts(seen).find((t) => t.text === `${step.icon}${step.n}. ${step.summary}`);
          assert.equal(line?.weight, step.state === 'running' || step.state === 'waiting' ? 'Bolder' : 'Default', `weight of step ${step.n} (${step.state})`);
          if (step.detail) assert.ok(texts(seen).some((t) => t.text === step.detail && t.color === 'Attention'), `the error of step ${step.n}`);
        }
        const buttons = statusButtons(v);
        assertButtons(seen, buttons);
        const data = { reference: v.reference, version: v.version };
        if (buttons.includes('Cancel request')) assert.deepEqual(await page.press('Cancel request'), { type: 'Action.Execute', verb: 'request.cancel', data });
        if (buttons.includes('Retry')) assert.deepEqual(await page.press('Retry'), { type: 'Action.Execute', verb: 'request.retry', data });
        if (buttons.includes('Roll back')) assert.deepEqual(await page.press('Roll back'), { type: 'Action.Execute', verb: 'request.rollback', data });
        for (const u of v.undoSteps) assertShows(seen, `${u.icon}${u.n}. ${u.summary}`);
        for (const k of v.kept) assertShows(seen, `• ${k.text}`);
        if (buttons.includes('Reveal password')) assert.deepEqual(await page.press('Reveal password'), { type: 'Action.Execute', verb: 'request.reveal', data: { reference: v.reference } });
      },
    }),
  );
  const refused = 'R-27 is being rolled back (asked by Rita Requester); a roll back is not stopped halfway. Nothing was changed.';
  const password = 'Vq7#mT2p-Lk9xW4z';
  return [
    ...states,
    {
      variant: 'refused-cancel',
      card: async () => {
        const found = await REQUEST_STATES['rolling-back']();
        return verbCard('request.cancel', { reference: 'R-27', version: 8 }, { outcome: { ok: false, code: 'rolling-back', message: refused, view: found.view } });
      },
      check(seen) {
        assert.ok(texts(seen).some((t) => t.text === refused && t.color === 'Attention'), 'the notice');
        assertButtons(seen, []);
      },
    },
    {
      variant: 'refused-rollback',
      card: async () => {
        const found = await REQUEST_STATES['rolled-back']();
        const message = `R-29 was already rolled back (asked by ${RITA.name} at 2025-03-03 09:54 UTC). Nothing was changed.`;
        return verbCard('request.rollback', { reference: 'R-29', version: 9 }, { preview: { ok: false, code: 'already', message, view: found.view } });
      },
      check(seen) {
        assert.ok(texts(seen).some((t) => t.text.startsWith('R-29 was already rolled back') && t.color === 'Attention'), 'the notice');
        assertShows(seen, 'Rolled back at', 'Stays as it is');
        assertButtons(seen, []);
      },
    },
    {
      variant: 'password-revealed',
      card: async () => verbCard('request.reveal', { reference: 'R-23' }, { found: await REQUEST_STATES.done(), password }),
      async check(seen) {
        assertRequestBasics(seen, (await REQUEST_STATES.done()).view);
        const secret = texts(seen).find((t) => t.text.endsWith(password));
        assert.ok(secret, 'the password is shown');
        assert.match(secret.text, /shown once/);
        assertButtons(seen, []);
      },
    },
    {
      variant: 'password-gone',
      card: async () => verbCard('request.reveal', { reference: 'R-23' }, { found: await REQUEST_STATES.done() }),
      check(seen) {
        assert.ok(texts(seen).some((t) => t.color === 'Attention' && t.text.startsWith('The password was revealed already')), 'says why there is no password');
        assert.ok(!seen.text.includes(password));
      },
    },
  ];
}

/** The confirmation of a roll back: what goes (in order), what stays, Roll back now and Keep. */
function rollbackSamples(): Sample[] {
  const preview = async (): Promise<Extract<RollbackPreview, { ok: true }>> => {
    const s = await REQUEST_STATES['failed-can-roll-back']();
    const plan = planRollback(s.record.plan as Plan, runFacts(s.record, 4, 'failed'), s.record.reference);
    return { ok: true, reference: s.record.reference, view: s.view, plan, digest: digestOf(plan) };
  };
  const changed = 'What a roll back of R-25 would do has changed since this card was made (a step finished meanwhile). Nothing was changed; check the list below and confirm again.';
  return [
    {
      variant: 'confirm',
      card: async () => verbCard('request.rollback', { reference: 'R-25', version: 6 }, { preview: await preview() }),
      async check(seen, page) {
        const p = await preview();
        assertShows(seen, 'Roll back R-25 · User mailbox?', p.view.statusText, 'Mailroom removes, in this order');
        assert.ok(p.plan.steps.length >= 2, 'a licence and a user to remove');
        p.plan.steps.forEach((st, i) => assertShows(seen, `${i + 1}. ${st.summary}`));
        assert.match(p.plan.steps[0]!.summary, /licence/, 'the licence goes first');
        assert.match(p.plan.steps[p.plan.steps.length - 1]!.summary, /^Delete the AD user/, 'the AD user goes last');
        for (const n of p.plan.notes) assertShows(seen, n);
        assertButtons(seen, ['Roll back now', 'Keep']);
        assert.deepEqual(await page.press('Roll back now'), { type: 'Action.Execute', verb: 'request.rollback', data: { reference: 'R-25', version: 6, confirm: true, digest: p.digest } });
        assert.deepEqual(await page.press('Keep'), { type: 'Action.Execute', verb: 'request.keep', data: { reference: 'R-25' } });
      },
    },
    {
      variant: 'changed',
      card: async () => {
        const p = await preview();
        return verbCard('request.rollback', { reference: 'R-25', version: 6, confirm: true, digest: 'old' }, { rollback: { ok: false, code: 'changed', message: changed, view: p.view, preview: { plan: p.plan, digest: p.digest } } });
      },
      check(seen) {
        assert.ok(texts(seen).some((t) => t.text === changed && t.color === 'Attention'), 'says the list changed');
        assertButtons(seen, ['Roll back now', 'Keep']);
      },
    },
  ];
}

/** A recipient as RecipientViewService composes it (values as the sandbox's AD and Exchange Online answer them). */
const MAILBOX_VIEW: RecipientView = {
  name: 'Ada Lovelace',
  kind: 'User mailbox',
  recipientTypeDetails: 'UserMailbox',
  identity: 'ada.lovelace@contoso.com',
  adDn: 'CN=Ada Lovelace,OU=Staff,DC=corp,DC=contoso,DC=com',
  userPrincipalName: 'ada.lovelace@contoso.com',
  primarySmtpAddress: 'ada.lovelace@contoso.com',
  addresses: ['ada.lovelace@contoso.com', 'ada@contoso.com', 'ada.lovelace@contoso.onmicrosoft.com'],
  isDirSynced: true,
  isExchangeCloudManaged: false,
  authority: 'AD masters it (synced, IsExchangeCloudManaged = False): Exchange attributes are changed in AD.',
  accountEnabled: true,
  licences: { ok: true, value: ['EXCHANGESTANDARD'] },
  mailboxType: 'Regular',
  hidden: false,
  forwarding: { ok: true, value: 'to ada@partner.example, keeping a copy in the mailbox' },
  memberOf: { ok: true, value: ['All Staff', 'Research [EU]', 'Project *Babbage* (cloud group)'] },
  members: null,
  managedBy: null,
  fullAccess: { ok: true, value: ['grace.hopper@contoso.com'] },
  sendAs: { ok: true, value: [] },
  sendOnBehalf: { ok: true, value: ['Charles Babbage'] },
  drift: { ok: true, value: { master: 'ad', differences: ['only in AD: ada.l@contoso.com'] } },
};

function recipientWorld(show: Awaited<ReturnType<RecipientViews['show']>>, find: Awaited<ReturnType<RecipientViews['find']>> = { ok: true, items: [], more: false }): BotWorld {
  return { recipients: { show: () => Promise.resolve(show), find: () => Promise.resolve(find) } };
}

const MANY = Array.from({ length: 20 }, (_, i) => ({ name: `Sales Team ${String(i + 1).padStart(2, '0')}`, kind: 'Distribution group', address: `sales-${i + 1}@contoso.com` }));

const BATCH_PREVIEW = { reference: 'B-7', kind: 'user-mailbox', kindTitle: 'User mailbox', rows: 3, valid: 3, invalid: [], summary: '3 user mailboxes: bo@contoso.com, cy@contoso.com, ed@contoso.com.' };
const BATCH_APPROVAL = {
  reference: 'B-7',
  requesterName: 'Rita Requester',
  kindTitle: 'User mailbox',
  stage: 1,
  waiting: 3,
  total: 3,
  summary: '3 user mailboxes: bo@contoso.com, cy@contoso.com, ed@contoso.com.',
  steps: ['Create the AD user Bo Batch', 'Wait for the mailbox'],
  stepsOfLine: 3,
  counts: [{ status: 'pending-approval', n: 3 }],
};

const SAMPLES: Record<CardName, readonly Sample[]> = {
  'request-rollback': rollbackSamples(),
  'request-form': [...formSamples(), ...FORM_EXTRAS],
  'request-approval': approvalSamples(),
  'request-status': statusSamples(),
  welcome: [
    {
      variant: 'requester',
      card: () => Promise.resolve(cards.render('welcome', { name: RITA.name, roles: ['requester'] })),
      async check(seen, page) {
        assertShows(seen, 'Welcome to Mailroom', 'Your roles: requester.');
        assert.deepEqual(await page.press('Show commands'), { type: 'Action.Execute', verb: 'help', data: {} });
      },
    },
    {
      variant: 'no-role',
      card: () => Promise.resolve(cards.render('welcome', { name: RITA.name, roles: [] })),
      check: (seen) => assertShows(seen, 'You have no Mailroom role yet.'),
    },
  ],
  help: (
    [
      ['requester', ['requester'], ['Look up', 'Request', 'Run', 'Audit & admin', 'Help']],
      ['approver', ['approver'], ['Look up', 'Decide', 'Run', 'Audit & admin', 'Help']],
      ['admin', ['requester', 'approver', 'admin'], COMMAND_GROUPS],
      ['no-role', [], ['Look up', 'Run', 'Audit & admin', 'Help']],
    ] as const
  ).map(
    ([variant, roles, headings]): Sample => ({
      variant,
      card: () => oneBotCard('help', [...roles]),
      check(seen) {
        assertShows(seen, 'Mailroom commands', roles.length ? `with the roles: ${roles.join(', ')}.` : 'have no Mailroom role yet');
        for (const u of ['help', ...(roles.length ? ['status R-12'] : [])]) assert.ok(texts(seen).some((t) => t.text === u && t.markdown === `**${u}**`), `lists ${u} in bold`);
        // Under each heading (bold, in the fixed order), the usage of each command of that group the roles allow, in the
        // order they were registered; no heading without a command, no command the roles do not allow.
        const registered = wiredBot({}).commands;
        const expected = COMMAND_GROUPS.map((g) => ({ heading: g, usages: registered.filter((c) => c.group === g && allowedFor(c, [...roles])).map((c) => c.usage) })).filter((g) => g.usages.length > 0);
        const shown: { heading: string; usages: string[] }[] = [];
        for (const t of texts(seen)) {
          if ((COMMAND_GROUPS as readonly string[]).includes(t.text)) {
            assert.equal(t.weight, 'Bolder', `the heading ${t.text} is bold`);
            shown.push({ heading: t.text, usages: [] });
          } else if (!t.subtle) shown.at(-1)?.usages.push(t.text);
        }
        assert.deepEqual(shown, expected);
        assert.deepEqual(shown.map((g) => g.heading), [...headings]);
        if (variant === 'admin') {
          // Every registered command names a group the card shows; whoever holds every role sees each exactly once.
          assert.deepEqual(registered.filter((c) => !(COMMAND_GROUPS as readonly string[]).includes(c.group)).map((c) => c.name), [], 'commands without a known group');
          assert.deepEqual(shown.flatMap((g) => g.usages).sort(), registered.map((c) => c.usage).sort());
          assertShows(seen, 'export audit', 'reject R-12 <reason>', 'new mailbox first=Ada last=Lovelace department=Research');
          const under = (usage: string) => shown.find((g) => g.usages.includes(usage))?.heading;
          assert.deepEqual(
            ['show ada.lovelace@contoso.com', 'new', 'approve R-12', 'cancel R-12', 'check audit [<event> <hash>]', 'whoami'].map(under),
            ['Look up', 'Request', 'Decide', 'Run', 'Audit & admin', 'Help'],
          );
        }
        if (variant === 'requester') assert.ok(!seen.text.includes('export audit') && !seen.text.includes('approve R-12'), 'no admin or approver command for a requester');
      },
    }),
  ),
  'kind-picker': [
    {
      variant: '',
      card: () => oneBotCard('new', ['requester']),
      async check(seen, page) {
        for (const k of KIND_IDS) assertShows(seen, KINDS[k].title, KINDS[k].description);
        assert.deepEqual(seen.buttons, KIND_IDS.map(() => 'Open form'));
        assert.deepEqual(seen.actions.map((a) => [a.verb, a.data]), KIND_IDS.map((kind) => ['request.form', { kind }]));
        assert.deepEqual(await page.press('Open form', {}, 2), { type: 'Action.Execute', verb: 'request.form', data: { kind: KIND_IDS[2] } });
      },
    },
  ],
  'bulk-form': [
    {
      variant: '',
      card: () => oneBotCard('bulk', ['requester']),
      check(seen) {
        assertShows(seen, 'Bulk request', 'bulk template new mailbox', 'attach the .csv file');
        const kind = inputOf(seen, 'kind');
        assert.deepEqual([kind.type, kind.required, kind.choiceCount], ['Input.ChoiceSet', true, KIND_IDS.length]);
        const csv = inputOf(seen, 'csv');
        assert.deepEqual([csv.type, csv.required], ['Input.Text', true]);
        assert.deepEqual(seen.actions.map((a) => [a.title, a.verb]), [['Check', 'bulk.check']]);
      },
    },
  ],
  'batch-preview': [
    {
      variant: 'some-invalid',
      card: () => Promise.resolve(batchPreviewCard(cards, { ...BATCH_PREVIEW, invalid: Array.from({ length: 27 }, (_, i) => ({ line: i + 10, message: `Usage location "[x](https://evil.example)" is not a country (row ${i}).` })), rows: 30, valid: 3 })),
      check(seen) {
        assertShows(seen, 'B-7 · Bulk User mailbox: 3 of 30 rows valid', 'Line 10: Usage location "[x](https://evil.example)"', '… and 2 more invalid rows.');
        assertButtons(seen, ['File the 3 valid ones', 'Plan per row']);
        assert.deepEqual(seen.actions.map((a) => [a.verb, a.data]), [['batch.file', { reference: 'B-7', validOnly: true }], ['batch.plan', { reference: 'B-7', from: 0 }]]);
      },
    },
    {
      variant: 'all-valid',
      card: () => Promise.resolve(batchPreviewCard(cards, BATCH_PREVIEW)),
      check: (seen) => assertButtons(seen, ['File all 3', 'Plan per row']),
    },
    {
      variant: 'filed',
      card: () => Promise.resolve(batchPreviewCard(cards, { ...BATCH_PREVIEW, filed: { byName: 'Rita *Requester*', count: 3 } })),
      check(seen) {
        assertShows(seen, 'Filed by Rita *Requester*: 3 requests.');
        assertButtons(seen, ['Plan per row']);
      },
    },
  ],
  'batch-plan': [
    {
      variant: '',
      card: () => Promise.resolve(batchPlanCard(cards, { reference: 'B-7', kindTitle: 'User mailbox', total: 30, from: 0, nextFrom: 2, leftOut: 28, rows: [{ line: 3, steps: ['Create the AD user Bo *Batch*', 'Wait for the mailbox'] }, { line: 4, problem: 'The alias bo is taken now.' }] })),
      check(seen, _page, card) {
        assertShows(seen, 'Rows 1 to 2 of the 30 valid rows', 'Create the AD user Bo *Batch*', 'Line 4: The alias bo is taken now.', '28 rows left out here');
        assert.deepEqual(seen.actions.map((a) => [a.title, a.verb, a.data]), [['Next rows', 'batch.plan', { reference: 'B-7', from: 2, replace: true }]]);
        assert.ok(JSON.stringify(card).includes('Bo \\\\*Batch\\\\*'), 'step text escaped');
      },
    },
  ],
  'batch-approval': [
    {
      variant: 'waiting',
      card: () => Promise.resolve(batchApprovalCard(cards, BATCH_APPROVAL)),
      check(seen) {
        assertShows(seen, 'B-7 · Bulk User mailbox', 'Waits for approval: 3 requests', 'Rita Requester', 'Plan of each row (as for line 3; 2 steps)', 'approve B-7');
        assertButtons(seen, ['Approve', 'Reject']);
        const reason = inputOf(seen, 'reason');
        assert.equal(reason.required, true);
      },
    },
    {
      variant: 'rejected',
      card: () => Promise.resolve(batchApprovalCard(cards, { ...BATCH_APPROVAL, waiting: 0, decided: { outcome: 'reject', byName: 'Arnold Approver', reason: 'Not [now](https://evil.example).' } })),
      check(seen) {
        assertShows(seen, 'Rejected by Arnold Approver: Not [now](https://evil.example).');
        assertButtons(seen, []);
      },
    },
  ],
  'batch-progress': [
    {
      variant: 'finished',
      card: () => Promise.resolve(batchProgressCard(cards, { reference: 'B-7', kindTitle: 'User mailbox', finished: true, total: 14, counts: [{ status: 'done', n: 2 }, { status: 'failed', n: 12 }], failed: Array.from({ length: 10 }, (_, i) => ({ reference: `R-${i + 40}`, error: 'The alias is *taken*.' })), failedMore: 2 })),
      check(seen) {
        assertShows(seen, 'B-7 · Bulk User mailbox: progress', 'Finished: 2 done, 12 failed', 'R-40: The alias is *taken*.', '… and 2 more failed.');
        assertButtons(seen, []);
      },
    },
  ],
  notice: [
    {
      variant: 'info',
      card: () => Promise.resolve(cards.notice({ title: 'I did not understand that', text: '"hepl" is not a Mailroom command. Did you mean **help**? Type **help** to see the commands you can use.' }).content as Card),
      check: (seen) => assert.deepEqual(texts(seen)[0] && [texts(seen)[0]?.text, texts(seen)[0]?.color], ['I did not understand that', 'Default']),
    },
    {
      variant: 'warning',
      card: () => Promise.resolve(cards.notice({ title: 'Nothing was requested', text: 'Please correct:\n- First name: First name is required, e.g. Ada.\n- Alias: "ada lovelace" contains a space.', tone: 'warning' }).content as Card),
      check: (seen) => assert.equal(texts(seen)[0]?.color, 'Warning'),
    },
    {
      variant: 'error-facts',
      card: () =>
        Promise.resolve(
          cards.notice({
            title: 'Audit chain broken',
            text: 'The chain breaks at event 61: the hash does not match the event.',
            tone: 'error',
            facts: [
              { title: 'Events', value: '212' },
              { title: 'Last good hash', value: '9f2c51e0a4b7d3e8f1c6a5b4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4' },
            ],
          }).content as Card,
        ),
      check(seen) {
        assert.equal(texts(seen)[0]?.color, 'Attention');
        assert.deepEqual(facts(seen).map((f) => f.title), ['Events', 'Last good hash']);
      },
    },
    {
      variant: 'doctor',
      card: () =>
        oneBotCard('doctor', ['admin'], {
          doctor: {
            ok: false,
            lines: [
              { area: 'Active Directory', name: 'LDAPS reachable, certificate trusted', ok: true, detail: 'dc1.corp.example:636 answers; its certificate chains to the configured CA.' },
              { area: 'Microsoft Graph', name: 'application permissions', ok: false, detail: 'The token lacks User.ReadWrite.All.', advice: 'Grant User.ReadWrite.All (application) to the app and give admin consent.' },
            ],
          },
        }),
      check(seen) {
        assertShows(seen, 'Mailroom doctor: 1 of 2 checks failed');
        assert.deepEqual(facts(seen).map((f) => f.title), ['✔ Active Directory', '✖ Microsoft Graph']);
        assert.match(facts(seen)[1]?.value ?? '', /application permissions: The token lacks User\.ReadWrite\.All\. → Grant User\.ReadWrite\.All/);
      },
    },
    {
      variant: 'good',
      card: () => Promise.resolve(cards.notice({ title: 'Cancelled', text: 'R-18 was cancelled.', tone: 'good' }).content as Card),
      check: (seen) => assert.equal(texts(seen)[0]?.color, 'Good'),
    },
  ],
  'request-list': [
    {
      variant: 'mine',
      card: async () => oneBotCard('my requests', ['requester'], { mine: await Promise.all(STATE_NAMES.map(async (s) => (await REQUEST_STATES[s]()).view)) }),
      async check(seen) {
        assertShows(seen, 'Your requests');
        for (const s of STATE_NAMES) {
          const v = (await REQUEST_STATES[s]()).view;
          assertShows(seen, `${v.reference} · ${v.kindTitle} · ${v.summary}`, v.statusText.trim());
        }
      },
    },
    {
      variant: 'empty',
      card: () => oneBotCard('my requests', ['requester']),
      check: (seen) => assertShows(seen, 'Your requests', 'You have made no requests yet. Type new to make one.'),
    },
    {
      variant: 'awaiting',
      card: async () => oneBotCard('my approvals', ['approver'], { awaiting: [(await REQUEST_STATES['pending-1-stage']()).view, (await REQUEST_STATES['pending-stage-2-of-2-warnings']()).view] }),
      check: (seen) => assertShows(seen, 'Waiting for your decision', 'R-12', 'R-14'),
    },
  ],
  recipient: [
    {
      variant: 'mailbox',
      card: () => oneBotCard('show ada.lovelace@contoso.com', ['requester'], recipientWorld({ found: 'one', recipient: MAILBOX_VIEW })),
      async check(seen, page) {
        assertShows(seen, 'Ada Lovelace', 'User mailbox');
        assert.equal(facts(seen).find((f) => f.title === 'Licences')?.value, 'EXCHANGESTANDARD');
        assertShows(
          seen,
          'Addresses\n\nada.lovelace@contoso.com (primary), ada@contoso.com, ada.lovelace@contoso.onmicrosoft.com',
          'AD DN\n\nCN=Ada Lovelace,OU=Staff,DC=corp,DC=contoso,DC=com',
          'Member of\n\nAll Staff, Research [EU], Project *Babbage* (cloud group)',
          'AD and Exchange\n\nAD masters the Exchange attributes; they differ: only in AD: ada.l@contoso.com',
        );
        assertButtons(seen, ['Add address', 'Remove address', 'Change primary', 'Grant access', 'Revoke access', 'Convert', 'Cloud-managed', 'Offboard', 'Address lists', 'Forward', 'Automatic replies']);
        assert.deepEqual(seen.actions.map((a) => a.verb), seen.actions.map(() => 'request.form'));
        assert.deepEqual(await page.press('Convert'), { type: 'Action.Execute', verb: 'request.form', data: { kind: 'mailbox-type', values: { identity: 'ada.lovelace@contoso.com' } } });
      },
    },
    {
      variant: 'partial',
      card: () =>
        oneBotCard(
          'show ada.lovelace@contoso.com',
          ['approver'],
          recipientWorld({ found: 'one', recipient: { ...MAILBOX_VIEW, fullAccess: { ok: false, error: 'could not read Get-MailboxPermission: User is not allowed to call Get-MailboxPermission' }, sendAs: { ok: false, error: 'could not read Get-RecipientPermission: HTTP 503' } } }),
        ),
      check(seen) {
        assertShows(seen, 'Part of this card could not be read (2 parts, marked "could not read"); the rest is current.', 'Changes need the requester role.');
        assert.equal(facts(seen).find((f) => f.title === 'Full access')?.value, 'could not read Get-MailboxPermission: User is not allowed to call Get-MailboxPermission');
        assertButtons(seen, []);
      },
    },
    {
      variant: 'group',
      card: () =>
        oneBotCard(
          'show sales@contoso.com',
          ['requester'],
          recipientWorld({
            found: 'one',
            recipient: {
              ...MAILBOX_VIEW,
              name: 'Sales Team',
              kind: 'Distribution group',
              recipientTypeDetails: 'MailUniversalDistributionGroup',
              identity: 'sales@contoso.com',
              primarySmtpAddress: 'sales@contoso.com',
              addresses: ['sales@contoso.com'],
              isExchangeCloudManaged: null,
              authority: 'AD masters it (synced): Exchange attributes are changed in AD.',
              accountEnabled: null,
              licences: null,
              mailboxType: null,
              forwarding: null,
              fullAccess: null,
              members: { ok: true, value: { count: 2, more: false, names: ['Ada Lovelace', 'Grace Hopper'] } },
              managedBy: ['Ada Lovelace'],
              drift: { ok: true, value: { master: 'ad', differences: [] } },
            },
          }),
        ),
      check(seen) {
        assertShows(seen, 'Sales Team', 'Distribution group');
        assertShows(seen, 'Members\n\n2: Ada Lovelace, Grace Hopper');
        assertButtons(seen, ['Add address', 'Change primary', 'Add member', 'Remove member']);
      },
    },
  ],
  'recipient-list': [
    {
      variant: 'find-more',
      card: () => oneBotCard('find sales', ['requester'], recipientWorld({ found: 'none' }, { ok: true, items: MANY, more: true })),
      check(seen) {
        assertShows(seen, 'More than 20 recipients start with "sales"', 'The first 20 are listed', 'Sales Team 01', 'sales-20@contoso.com');
      },
    },
    {
      variant: 'several',
      card: () => oneBotCard('show ada', ['approver'], recipientWorld({ found: 'several', candidates: [{ name: '[Ada](https://evil.example)', kind: '', address: 'ada@contoso.com' }, { name: 'Ada Admin', kind: '', address: 'ada.admin@contoso.com' }] })),
      check(seen) {
        assertShows(seen, '"ada" names 2 recipients', '[Ada](https://evil.example)', 'ada.admin@contoso.com');
        assert.deepEqual(seen.links, []);
      },
    },
    {
      variant: 'none-found',
      card: () => oneBotCard('find zz', ['requester'], recipientWorld({ found: 'none' })),
      check: (seen) => assertShows(seen, 'No recipient starts with "zz"'),
    },
  ],
  'audit-trail': [
    {
      variant: 'verified',
      card: async () => oneBotCard('audit R-15', ['admin'], await auditWorld({ ok: true, events: 5, keyed: 5, legacy: 0 })),
      check(seen) {
        assertShows(seen, 'Audit trail of R-15', 'This trail verifies: 5 events, each authenticated with the audit key and linked to the one before.', '#4 · 2025-03-03 10:49:00 · request.decided · Arnold Approver');
        assert.ok(texts(seen).some((t) => t.text.startsWith('kind: room-mailbox · source: form · steps: ["ad.createUser"')), 'event details');
        assert.ok(!texts(seen).some((t) => t.text === ''), 'no empty detail line');
      },
    },
    {
      variant: 'broken',
      card: async () => oneBotCard('audit R-15', ['admin'], await auditWorld({ ok: false, brokenAt: 3, reason: 'its HMAC does not match its contents' })),
      check: (seen) => assertShows(seen, 'This trail is BROKEN at its event 3: its HMAC does not match its contents.'),
    },
    {
      variant: 'no-events',
      card: async () => oneBotCard('audit R-15', ['admin'], await auditWorld({ ok: true, events: 0, keyed: 0, legacy: 0 }, false)),
      check: (seen) => assertShows(seen, 'Audit trail of R-15'),
    },
  ],
};

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

/** Words that mean a value was missing or not text. */
const NOT_TEXT = /\bundefined\b|\bnull\b|\bNaN\b|\[object Object\]|\{"/;

describe('card templates rendered like Teams', function () {
  this.timeout(60_000);
  let page: CardPage;
  const sizes: { name: string; bytes: number }[] = [];

  before(async function () {
    page = await CardPage.open();
  });

  after(async function () {
    await page?.close();
    const top = [...sizes].sort((a, b) => b.bytes - a.bytes).slice(0, 6);
    if (top.length) console.log(`      largest cards (limit ${TEAMS_CARD_LIMIT_BYTES} bytes): ${top.map((s) => `${s.name} ${s.bytes}`).join(', ')}`);
  });

  const templates = readdirSync(CARDS_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => path.basename(f, '.json'))
    .sort();

  it('has samples for every template, and no samples without one', function () {
    assert.deepEqual(templates.filter((t) => !(t in SAMPLES)), [], 'templates in cards/ without sample data in this test');
    assert.deepEqual(Object.keys(SAMPLES).filter((n) => !templates.includes(n)).sort(), [], 'samples for templates that do not exist');
  });

  for (const name of templates) {
    const samples = (SAMPLES as Partial<Record<string, readonly Sample[]>>)[name] ?? [];
    describe(name, function () {
      for (const s of samples) {
        const shot = s.variant ? `${name}-${s.variant}` : name;
        it(s.variant || 'renders', async function () {
          let card: Card;
          try {
            card = await s.card();
          } catch (err) {
            assert.fail(`${shot}: the card could not be made: ${err instanceof Error ? err.message : String(err)}`);
          }
          const bytes = cardBytes(card);
          sizes.push({ name: shot, bytes });
          const seen = await page.render(card);
          await page.screenshot(shot);
          const problems = [
            ...unresolvedBindings(card).map((p) => `unresolved binding ${p}`),
            ...hostRuleProblems(card),
            ...(bytes > TEAMS_CARD_LIMIT_BYTES ? [`the card is ${bytes} bytes, over Teams' ${TEAMS_CARD_LIMIT_BYTES}`] : []),
            ...seen.problems.map((p) => `renderer (${p.phase}) ${p.event}: ${p.message}`),
            ...ignoredProperties(card, seen.understood).map((p) => `renderer ignored ${p}`),
            ...(NOT_TEXT.test(seen.text) ? [`shows a missing or non-text value: ${seen.text.split('\n').filter((l) => NOT_TEXT.test(l)).join(' | ')}`] : []),
          ];
          assert.deepEqual(problems, [], `${shot}: see test-output/cards/${shot}.png`);
          await s.check?.(seen, page, card);
        });
      }
    });
  }
});

describe('cards: expanded cards are kept for the same data', function () {
  const kept = new CardRenderer(CARDS_DIR);

  it("leaves the caller's data as it was, and a key named __proto__ in it stays a key (no prototype is set)", function () {
    const data = JSON.parse('{"title":"Keys","text":"Marker \\ue000 here","facts":[{"title":"a","__proto__":{"value":"injected","polluted":"yes"}}]}') as { text: string; facts: Record<string, unknown>[] };
    const before = JSON.stringify(data);
    const card = new CardRenderer(CARDS_DIR).render('notice', data);
    assert.equal(JSON.stringify(data), before, 'the data was changed');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.getPrototypeOf(data.facts[0]), Object.prototype);
    const text = JSON.stringify(card);
    assert.match(text, /Marker \ue000 here/, 'a marker character typed in a value comes back as typed');
    assert.doesNotMatch(text, /polluted|injected/, 'a value came from a key named __proto__');
  });

  it('the same data gives the same kept card, frozen all through so no caller can change it for the next; other data its own card', function () {
    const data = { title: 'Kept', text: 'Line *one*', tone: 'info', facts: [{ title: 'A', value: '1' }] };
    const first = kept.render('notice', data);
    const again = kept.render('notice', { ...data });
    assert.equal(again, first, 'the same data gives the kept card');
    const frozenAllThrough = (v: unknown): boolean => v === null || typeof v !== 'object' || (Object.isFrozen(v) && Object.values(v).every(frozenAllThrough));
    assert.ok(frozenAllThrough(first), 'every object and array in the kept card is frozen');
    assert.throws(() => {
      (first.body as unknown[]).length = 0;
    }, TypeError);
    assert.throws(() => {
      ((first.body as Record<string, unknown>[])[0] as Record<string, unknown>).text = 'changed';
    }, TypeError);
    assert.notEqual((kept.render('notice', data).body as unknown[]).length, 0, 'the kept card is as it was');
    const other = kept.render('notice', { ...data, title: 'Other' });
    assert.match(JSON.stringify(other), /Other/);
    assert.doesNotMatch(JSON.stringify(kept.render('notice', data)), /Other/);
  });

  it('the cards of one request as it stands are not kept: each render is new and the caller may change it', async function () {
    const s = await REQUEST_STATES['pending-1-stage']();
    const first = approvalCard(kept, s.view);
    const again = approvalCard(kept, s.view);
    assert.deepEqual(again, first);
    assert.notEqual(again, first);
    assert.ok(!Object.isFrozen(first));
  });

  it("a request's change renders each audience's card once: every approver gets an equal copy of their own, the card answered in the turn none", async function () {
    const s = await REQUEST_STATES['pending-1-stage']();
    const rendered: string[] = [];
    const counting = new CardRenderer(CARDS_DIR);
    const render = counting.render.bind(counting);
    counting.render = (name, data) => {
      rendered.push(name);
      return render(name, data);
    };
    const updates: { conversationId: string; card: Card | undefined }[] = [];
    const notifier = {
      update: (conversationId: string, _activityId: string, msg: OutgoingMessage) => {
        updates.push({ conversationId, card: msg.card });
        return Promise.resolve();
      },
    } as unknown as Notifier;
    const copies: Partial<CardRecord>[] = [
      { requestId: s.record.id, audience: 'requester', conversationId: 'requester', activityId: 'a1' },
      ...['ann', 'bob', 'cy'].map((who) => ({ requestId: s.record.id, audience: 'approver' as const, conversationId: who, activityId: `card-${who}` })),
    ];
    const cardRefs = { list: () => Promise.resolve(copies) } as unknown as CardReferences;
    await new TeamsNotifications(notifier, counting, cardRefs, silentLogger, () => Promise.resolve(undefined)).requestChanged(s.record, s.view, undefined, { conversationId: 'cy', activityId: 'card-cy' });
    assert.deepEqual(rendered.sort(), ['request-approval', 'request-status']);
    assert.deepEqual(updates.map((u) => u.conversationId), ['requester', 'ann', 'bob']);
    const [ann, bob] = [updates[1]?.card, updates[2]?.card];
    assert.deepEqual(ann, bob);
    assert.notEqual(ann, bob, 'each update has its own copy');
    assert.match(JSON.stringify(ann), /request\.approve/, "the approvers' card has the Approve button");
    assert.doesNotMatch(JSON.stringify(updates[0]?.card), /request\.approve/);
  });
});
