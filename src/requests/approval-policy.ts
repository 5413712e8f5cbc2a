/**
 * Approval policy, pure: who may decide which stage of a request, what state a decision leads to, and when
 * a request expires or its approvers are reminded. Approvers are configured per kind (users or Entra groups),
 * with an optional second stage; any one approver of a stage decides it; nobody decides their own request,
 * and nobody decides two stages of the same request. Every decision names the request version it was
 * made on (the card's), so stale or replayed cards are refused. Times come in as `now`; nothing reads a clock.
 */
import { KIND_IDS, KINDS, type KindId } from './kinds';
import { unusableCharacters } from './text';

/**
 * Who approves a stage: a user, the members of an Entra group (nested groups included), the requester's manager (as
 * AD or Entra ID names them), or the owners of the group a membership request changes. `manager` and `owners` are
 * resolved to users when the request is filed (and kept with it as its extra approvers).
 */
export type Approver =
  /** `id`: the Entra object id of the user, or the group's id. */
  | { readonly kind: 'user'; readonly id: string }
  | { readonly kind: 'group'; readonly id: string }
  | { readonly kind: 'manager' }
  | { readonly kind: 'owners' };

/** A user who may decide one stage of one request besides the configured ones: resolved, reassigned, escalated. */
export interface ExtraStageApprover {
  readonly stage: number;
  /** Entra object id, lower case. */
  readonly id: string;
}

export interface KindApproval {
  readonly approvers: readonly Approver[];
  /** An optional second stage, decided after the first one approved. */
  readonly secondStage?: readonly Approver[];
}

export interface ApprovalPolicyConfig {
  readonly kinds: Partial<Record<KindId, KindApproval>>;
  /** For kinds not listed. Without it, unlisted kinds cannot be requested. */
  readonly fallback?: KindApproval;
  /** A pending request expires this long after it was made. */
  readonly expiresAfterMs: number;
  /** Reminders to the current stage's approvers, this long after the stage started (e.g. 4 h and 24 h). */
  readonly remindAfterMs: readonly number[];
}

export interface Actor {
  /** From the authenticated activity (from.aadObjectId), never from card data. */
  readonly id: string;
  readonly name: string;
  /** The actor's Entra group ids (transitive), as far as they matter for the policy. */
  readonly groupIds: readonly string[];
}

export type ApprovalStatus = 'pending' | 'approved' | 'rejected' | 'expired';

export interface ApprovalDecision {
  readonly stage: number;
  readonly actorId: string;
  readonly actorName: string;
  readonly outcome: 'approved' | 'rejected';
  readonly reason?: string;
  /** ISO 8601. */
  readonly at: string;
}

export interface ApprovalState {
  readonly requestId: string;
  readonly kind: KindId;
  readonly requesterId: string;
  /** Increases with every transition; a decision must name the current version. */
  readonly version: number;
  readonly status: ApprovalStatus;
  /** The stage being decided (1-based); after the end, the last stage. */
  readonly stage: number;
  readonly stageCount: number;
  readonly createdAt: string;
  readonly stageStartedAt: string;
  readonly decisions: readonly ApprovalDecision[];
  readonly closedAt?: string;
  /** Users who may decide a stage of this request besides the configured ones (the manager, owners, reassigned, escalated). */
  readonly extra?: readonly ExtraStageApprover[];
}

/** The most characters a rejection reason may have. */
const MAX_REASON_LENGTH = 1000;

const lower = (s: string): string => s.toLowerCase();

function approvalFor(kind: KindId, config: ApprovalPolicyConfig): KindApproval | undefined {
  return config.kinds[kind] ?? config.fallback;
}

/** The approver lists of each stage of a kind (empty when none are configured). */
export function stagesFor(kind: KindId, config: ApprovalPolicyConfig): (readonly Approver[])[] {
  const a = approvalFor(kind, config);
  if (!a || a.approvers.length === 0) return [];
  return a.secondStage && a.secondStage.length ? [a.approvers, a.secondStage] : [a.approvers];
}

/** Problems with a configuration, in words for the administrator; empty when it is usable. */
export function checkApprovalConfig(config: ApprovalPolicyConfig): string[] {
  const problems: string[] = [];
  for (const key of Object.keys(config.kinds)) {
    if (!(KIND_IDS as readonly string[]).includes(key)) problems.push(`Approvers are configured for "${key}", which is not a request kind (kinds: ${KIND_IDS.join(', ')}).`);
  }
  const check = (label: string, list: readonly Approver[] | undefined, kind: KindId | undefined): void => {
    for (const a of list ?? []) {
      if (a.kind === 'manager') continue;
      if (a.kind === 'owners') {
        if (kind !== 'group-member-add' && kind !== 'group-member-remove') problems.push(`${label}: "owners" approve changes to a group's members only (group-member-add, group-member-remove).`);
        continue;
      }
      if (!a.id || a.id.trim() === '') problems.push(`${label}: an approver has no id.`);
    }
  };
  check('every kind (the fallback) first stage', config.fallback?.approvers, undefined);
  check('every kind (the fallback) second stage', config.fallback?.secondStage, undefined);
  for (const kind of KIND_IDS) {
    const a = approvalFor(kind, config);
    if (!a || a.approvers.length === 0) problems.push(`Nobody can approve "${KINDS[kind].title}" requests: configure approvers for ${kind} or a fallback.`);
    if (config.kinds[kind] !== undefined) {
      check(`${kind} first stage`, config.kinds[kind]?.approvers, kind);
      check(`${kind} second stage`, config.kinds[kind]?.secondStage, kind);
    }
  }
  if (!(config.expiresAfterMs > 0)) problems.push('The expiry must be a positive duration.');
  if (config.remindAfterMs.some((ms) => !(ms > 0))) problems.push('Reminder times must be positive durations.');
  return problems;
}

export type OpenResult = { readonly ok: true; readonly state: ApprovalState } | { readonly ok: false; readonly reason: string };

/** The approval state of a new request (version 1, first stage pending). */
export function openApproval(input: { requestId: string; kind: KindId; requesterId: string; now: Date }, config: ApprovalPolicyConfig): OpenResult {
  const stages = stagesFor(input.kind, config);
  if (stages.length === 0) return { ok: false, reason: `Nobody is configured to approve ${KINDS[input.kind].title} requests, so none can be made. Ask an administrator to configure approvers.` };
  const at = input.now.toISOString();
  return {
    ok: true,
    state: {
      requestId: input.requestId, kind: input.kind, requesterId: lower(input.requesterId), version: 1, status: 'pending',
      stage: 1, stageCount: stages.length, createdAt: at, stageStartedAt: at, decisions: [],
    },
  };
}

export type MayDecideResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly code: 'not-pending' | 'own-request' | 'not-an-approver' | 'decided-earlier-stage' | 'wrong-stage'; readonly reason: string };

/** May this actor decide stage `stage` (default: the current one) of this request? */
export function mayDecide(state: ApprovalState, actor: Actor, config: ApprovalPolicyConfig, stage: number = state.stage): MayDecideResult {
  if (state.status !== 'pending') return { ok: false, code: 'not-pending', reason: closedText(state) };
  if (stage !== state.stage) return { ok: false, code: 'wrong-stage', reason: `The request is at stage ${state.stage} of ${state.stageCount}, not stage ${stage}.` };
  const me = lower(actor.id);
  if (me === state.requesterId) return { ok: false, code: 'own-request', reason: 'You made this request; somebody else must decide it.' };
  if (state.decisions.some((d) => lower(d.actorId) === me)) {
    return { ok: false, code: 'decided-earlier-stage', reason: 'You already approved an earlier stage of this request; the next stage needs somebody else.' };
  }
  const approvers = stagesFor(state.kind, config)[stage - 1] ?? [];
  const groups = new Set(actor.groupIds.map(lower));
  const configured = approvers.some((a) => (a.kind === 'user' ? lower(a.id) === me : a.kind === 'group' ? groups.has(lower(a.id)) : false));
  const allowed = configured || (state.extra ?? []).some((x) => x.stage === stage && lower(x.id) === me);
  if (!allowed) return { ok: false, code: 'not-an-approver', reason: `You are not an approver of ${stage === 1 ? 'this' : `stage ${stage} of this`} ${KINDS[state.kind].title.toLowerCase()} request.` };
  return { ok: true };
}

export interface DecisionInput {
  readonly actor: Actor;
  readonly outcome: 'approve' | 'reject';
  /** Required when rejecting. */
  readonly reason?: string;
  /** The version the card showed. */
  readonly version: number;
  /** The stage the card showed (default: the current one). */
  readonly stage?: number;
  readonly now: Date;
}

export type DecideResult =
  | { readonly ok: true; readonly state: ApprovalState; readonly effect: 'next-stage' | 'approved' | 'rejected' }
  | { readonly ok: false; readonly code: 'already-decided' | 'stale' | 'expired' | 'not-allowed' | 'reason-required'; readonly message: string };

function closedText(state: ApprovalState): string {
  const last = state.decisions[state.decisions.length - 1];
  if (state.status === 'expired') return `This request expired at ${state.closedAt ?? '?'} without a decision.`;
  if (state.status === 'pending') return 'This request is still pending.';
  return last ? `This request was already ${state.status} by ${last.actorName} at ${last.at}.` : `This request was already ${state.status}.`;
}

export function expiresAt(state: ApprovalState, config: ApprovalPolicyConfig): Date {
  return new Date(Date.parse(state.createdAt) + config.expiresAfterMs);
}

/** The next state after this decision, or why the decision is refused. */
export function decide(state: ApprovalState, input: DecisionInput, config: ApprovalPolicyConfig): DecideResult {
  if (state.status !== 'pending') return { ok: false, code: 'already-decided', message: closedText(state) };
  if (input.version !== state.version) {
    return { ok: false, code: 'stale', message: `This card is out of date (it shows version ${input.version}; the request is at version ${state.version}). Open the latest card and decide there.` };
  }
  if (input.now.getTime() >= expiresAt(state, config).getTime()) {
    return { ok: false, code: 'expired', message: `This request expired at ${expiresAt(state, config).toISOString()}; the requester can make it again.` };
  }
  const may = mayDecide(state, input.actor, config, input.stage ?? state.stage);
  if (!may.ok) return { ok: false, code: 'not-allowed', message: may.reason };
  const at = input.now.toISOString();
  if (input.outcome === 'reject') {
    const reason = (input.reason ?? '').trim();
    const bad = unusableCharacters(reason);
    if (reason === '' || bad || reason.length > MAX_REASON_LENGTH) {
      return {
        ok: false, code: 'reason-required',
        message: reason === '' ? 'Say why you reject the request; the requester will read it.' : bad ? `The reason ${bad}.` : `The reason is ${reason.length} characters long; at most ${MAX_REASON_LENGTH}.`,
      };
    }
    const decision: ApprovalDecision = { stage: state.stage, actorId: lower(input.actor.id), actorName: input.actor.name, outcome: 'rejected', reason, at };
    return { ok: true, effect: 'rejected', state: { ...state, version: state.version + 1, status: 'rejected', decisions: [...state.decisions, decision], closedAt: at } };
  }
  const decision: ApprovalDecision = { stage: state.stage, actorId: lower(input.actor.id), actorName: input.actor.name, outcome: 'approved', at };
  const decisions = [...state.decisions, decision];
  if (state.stage < state.stageCount) {
    return { ok: true, effect: 'next-stage', state: { ...state, version: state.version + 1, stage: state.stage + 1, stageStartedAt: at, decisions } };
  }
  return { ok: true, effect: 'approved', state: { ...state, version: state.version + 1, status: 'approved', decisions, closedAt: at } };
}

/** The expired state when the request is pending and past its expiry; otherwise null. */
export function expireIfDue(state: ApprovalState, now: Date, config: ApprovalPolicyConfig): ApprovalState | null {
  if (state.status !== 'pending') return null;
  const at = expiresAt(state, config);
  if (now.getTime() < at.getTime()) return null;
  return { ...state, version: state.version + 1, status: 'expired', closedAt: at.toISOString() };
}

/** Every reminder time of the current stage that falls before the expiry, in order. */
export function reminderTimes(state: ApprovalState, config: ApprovalPolicyConfig): Date[] {
  if (state.status !== 'pending') return [];
  const start = Date.parse(state.stageStartedAt);
  const end = expiresAt(state, config).getTime();
  return [...config.remindAfterMs]
    .sort((a, b) => a - b)
    .map((ms) => start + ms)
    .filter((t) => t < end)
    .map((t) => new Date(t));
}

/** The first reminder after `after` (e.g. the last reminder sent, or now), or null when none is left. */
export function nextReminderAt(state: ApprovalState, config: ApprovalPolicyConfig, after: Date): Date | null {
  return reminderTimes(state, config).find((t) => t.getTime() > after.getTime()) ?? null;
}

/** Whether a reminder is due at `now`, given when the last one was sent (or never). */
export function reminderDue(state: ApprovalState, config: ApprovalPolicyConfig, now: Date, lastSentAt: Date | null): boolean {
  const due = reminderTimes(state, config).filter((t) => t.getTime() <= now.getTime());
  const latest = due[due.length - 1];
  return latest !== undefined && (lastSentAt === null || lastSentAt.getTime() < latest.getTime());
}
