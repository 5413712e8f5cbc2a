/**
 * The database schema as Kysely sees it: table and column names exactly as stored (snake_case), values in
 * their stored representation (see `dialect.ts`). Repositories map rows to the records the rest of
 * Mailroom uses; nothing outside `src/store/` should need these row types.
 */
import type { Generated } from 'kysely';

export const CONVERSATION_TYPES = ['personal', 'groupChat', 'channel'] as const;
export type ConversationType = (typeof CONVERSATION_TYPES)[number];

export interface ConversationRefsTable {
  /** Teams conversation id; primary key. */
  conversation_id: string;
  conversation_type: ConversationType;
  tenant_id: string;
  service_url: string;
  user_aad_object_id: string | null;
  channel_id: string | null;
  team_id: string | null;
  /** The serialized ConversationReference: JSON text. */
  reference_json: string;
  /** Boolean as integer: 1 installed, 0 uninstalled. */
  bot_installed: number;
  /** Number of writes to the row: 1 after the insert, +1 on every update. */
  revision: number;
  /** ISO 8601 UTC timestamps, `Date.prototype.toISOString()` form. */
  created_at: string;
  updated_at: string;
}

export const REQUEST_STATUSES = [
  'pending-approval',
  'approved',
  'rejected',
  'cancelled',
  'expired',
  'queued',
  'running',
  'waiting',
  'done',
  'failed',
  'rolled-back',
] as const;
export type RequestStatus = (typeof REQUEST_STATUSES)[number];

export interface RequestsTable {
  /** Assigned by the store on insert (see `request-repository.ts`); never reused. */
  id: number;
  /** `R-<id>`; unique. */
  reference: string;
  kind: string;
  status: RequestStatus;
  /** 1 after the insert, +1 on every transition: the optimistic-concurrency token. */
  version: number;
  /** Approval stage, 1-based. */
  stage: number;
  requester_aad_object_id: string;
  requester_name: string;
  tenant_id: string;
  /** JSON text: what the requester typed. */
  values_json: string;
  /** JSON text: the validated domain object. */
  request_json: string;
  /** JSON text or null. */
  plan_json: string | null;
  created_at: string;
  updated_at: string;
  decided_at: string | null;
  decided_by: string | null;
  decided_by_name: string | null;
  decision_reason: string | null;
  remind_at: string | null;
  reminded_at: string | null;
  expires_at: string | null;
  /** JSON text or null. */
  result_json: string | null;
  error: string | null;
  /** The batch the request was filed in (migration 0009); null for a request on its own. */
  batch_id: number | null;
  /** The line of the batch's file it was filed from (migration 0011), unique per batch; null outside a batch. */
  batch_line: number | null;
}

export const DECISIONS = ['approve', 'reject'] as const;
export type Decision = (typeof DECISIONS)[number];

/** Append-only: one row per decision an approver made. */
export interface RequestDecisionsTable {
  id: Generated<number>;
  request_id: number;
  stage: number;
  approver_aad_object_id: string;
  approver_name: string;
  decision: Decision;
  reason: string | null;
  at: string;
  /** The request version the decision was made on; unique per request. */
  request_version: number;
}

export const CARD_AUDIENCES = ['requester', 'approver', 'channel'] as const;
export type CardAudience = (typeof CARD_AUDIENCES)[number];

/** Every copy of a request's cards that was sent, so each can be updated in place. */
export interface RequestCardsTable {
  id: Generated<number>;
  request_id: number;
  audience: CardAudience;
  aad_object_id: string | null;
  conversation_id: string;
  activity_id: string;
  created_at: string;
}

/** The hash-chained audit log. Triggers refuse UPDATE and DELETE and check every INSERT extends the chain. */
export interface AuditEventsTable {
  /** 1, 2, 3, … with no gaps. */
  seq: number;
  at: string;
  actor_aad_object_id: string | null;
  actor_name: string;
  request_ref: string | null;
  event: string;
  /** Canonical JSON text (keys sorted) of the event's data object. */
  data: string;
  /** Hash of the previous event; 64 zeros for the first. */
  prev_hash: string;
  /** SHA-256 or HMAC-SHA256 hex (see `alg`), see `audit-log.ts`. */
  hash: string;
  /** How `hash` was made: `sha256` (unkeyed, events before 0007) or `hmac-sha256` (keyed). Added by 0007. */
  alg: Generated<'sha256' | 'hmac-sha256'>;
  /** Keyed events about a request: the hash of the request's previous event (64 zeros for its first). Added by 0007. */
  request_prev_hash: string | null;
}

/**
 * One row (id = 1): the last event of the audit chain. Kept by a trigger on every insert into
 * audit_events; appenders lock it to serialize, and verify() compares it with the last event, so a
 * removed tail is detected.
 */
export interface AuditChainHeadTable {
  id: number;
  last_seq: number;
  last_hash: string;
}

export const RUN_STEP_STATUSES = ['pending', 'running', 'waiting', 'done', 'failed', 'skipped', 'cancelled'] as const;
export type RunStepStatus = (typeof RUN_STEP_STATUSES)[number];

/**
 * One row per step of an approved request's plan (migration 0003), run in `step_index` order. A claimed
 * step carries a lease (`lease_owner` until `lease_until`); see `run-repository.ts`.
 */
export interface RunStepsTable {
  id: Generated<number>;
  request_id: number;
  /** 0-based position in the plan; unique per request. */
  step_index: number;
  /** The step's id within its plan, e.g. `ad.create-user`. */
  step_id: string;
  action: string;
  system: string;
  /** JSON text: the step's input (never a secret). */
  input_json: string;
  status: RunStepStatus;
  /** Claims by `claimNext` so far: +1 at every claim. */
  attempts: number;
  /**
   * Tries (and polls) that never ended: +1 whenever a claim takes the step over from a lease that ran out (its
   * holder crashed, was killed, or hung). Reset by `resetFailed` (the Retry button). Added by 0006.
   */
  abandoned: Generated<number>;
  /** JSON text or null: what a try was about to do, recorded before the effect (`noteIntent`). Added by 0006. */
  intent_json: string | null;
  /** When the step may be claimed (pending) or polled (waiting) next. */
  next_at: string;
  lease_owner: string | null;
  lease_until: string | null;
  /** JSON text or null. */
  result_json: string | null;
  error: string | null;
  started_at: string | null;
  finished_at: string | null;
  updated_at: string;
}

/** The secret vault (migration 0003): ciphertext only, taken (deleted) once. */
export interface SecretsTable {
  request_id: number;
  name: string;
  /** Base64. */
  ciphertext: string;
  created_at: string;
}

/**
 * One row per rate-limited key (migration 0004), e.g. `graph.provisionondemand:<service principal>/<job>`: the key's
 * sliding window and shared Retry-After, written only under the row's lock (see `rate-limit-repository.ts`).
 */
export interface RateLimitsTable {
  /** Primary key. */
  key: string;
  /** JSON text: the ISO 8601 times of the slots taken inside the window (at most the limit). */
  slots_json: string;
  /** No slot is given before this time (a throttled call's Retry-After); null when none. */
  blocked_until: string | null;
  updated_at: string;
}

/** What people must hear of a request (migration 0005), until the sender has delivered it. */
export interface OutboxTable {
  id: Generated<number>;
  request_id: number;
  /** The message to the requester; null: only the request's cards changed. */
  message: string | null;
  created_at: string;
  /** Claims by the sender so far. */
  attempts: number;
  claimed_by: string | null;
  claimed_until: string | null;
}

/** A password shown to its requester (migration 0007): the card that shows it is updated to hide it at `hide_at`. */
export interface SecretRevealsTable {
  id: Generated<number>;
  request_id: number;
  conversation_id: string;
  activity_id: string;
  revealed_at: string;
  /** The display name of who revealed it (the requester). */
  revealed_by: string;
  hide_at: string;
  /** Claims so far. */
  attempts: number;
  claimed_by: string | null;
  claimed_until: string | null;
}

export const EXTRA_APPROVER_WHYS = ['manager', 'owner', 'reassigned', 'escalated', 'delegate'] as const;
export type ExtraApproverWhy = (typeof EXTRA_APPROVER_WHYS)[number];

/** The extra approvers of a request's stage (migration 0008): one row per (request, stage, user). */
export interface RequestApproversTable {
  request_id: number;
  /** 1-based approval stage. */
  stage: number;
  /** Lower-cased. */
  aad_object_id: string;
  name: string;
  why: ExtraApproverWhy;
  /** Order of adding within the request: the next number, taken in the INSERT. */
  seq: number;
  added_at: string;
  added_by: string | null;
}

/** One running delegation per delegator (migration 0008); AAD object ids lower-cased. */
export interface ApprovalDelegationsTable {
  /** Primary key. */
  from_aad_object_id: string;
  from_name: string;
  to_aad_object_id: string;
  to_name: string;
  /** The delegation runs while `until` is after now. */
  until: string;
  created_at: string;
}

/** Settings changed at run time (migration 0008). */
export interface SettingsTable {
  /** Primary key. */
  key: string;
  /** JSON text. */
  value_json: string;
  updated_at: string;
  updated_by: string | null;
}

export const BATCH_STATUSES = ['preview', 'filed', 'finished', 'cancelled'] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];

/** Requests filed together (migration 0009): `B-<id>`, from preview to filed to finished (or cancelled). */
export interface BatchesTable {
  id: Generated<number>;
  /** Not empty. */
  kind: string;
  /** Lower-cased. */
  requester_aad_object_id: string;
  requester_name: string;
  tenant_id: string;
  status: BatchStatus;
  /** 1 after the insert, +1 on every transition: the optimistic-concurrency token. */
  version: Generated<number>;
  /** JSON text: the batch's rows. */
  rows_json: string;
  summary: string;
  created_at: string;
  updated_at: string;
  filed_at: string | null;
  finished_at: string | null;
  /** When every row was filed and the approvers asked (migration 0011); null while filing, or when it was interrupted. */
  filing_done_at: string | null;
}

/** A decision pressed on a batch while its rows are decided (migration 0014), so an interrupted one is taken up. */
export interface BatchDecisionsTable {
  id: Generated<number>;
  batch_id: number;
  /** Lower-cased. */
  actor_aad_object_id: string;
  actor_name: string;
  tenant_id: string;
  /** 0 or 1: whether the decider had the admin role when they pressed. */
  is_admin: number;
  outcome: 'approve' | 'reject';
  reason: string | null;
  /** Runs so far: 1 when pressed, +1 each time it is taken up again. */
  attempts: number;
  started_at: string;
  /** Moves on while the rows are decided; one that stood still was interrupted. */
  going_on_at: string;
  done_at: string | null;
}

export const BATCH_CARD_AUDIENCES = ['preview', 'approver', 'progress'] as const;
export type BatchCardAudience = (typeof BATCH_CARD_AUDIENCES)[number];

/** Where each card of a batch was posted (migration 0010), so it can be updated in place. */
export interface BatchCardsTable {
  id: Generated<number>;
  batch_id: number;
  audience: BatchCardAudience;
  /** Lower-cased; null for a channel. */
  aad_object_id: string | null;
  conversation_id: string;
  activity_id: string;
  created_at: string;
}

/** The names an open request takes when it runs (migration 0012): one key per name, e.g. "sam:mgarcia". */
export interface RequestNamesTable {
  /** Lower-cased "<kind>:<value>" (sam, upn, alias, address, dn). */
  name: string;
  request_id: number;
}

export interface Database {
  conversation_refs: ConversationRefsTable;
  requests: RequestsTable;
  request_decisions: RequestDecisionsTable;
  request_cards: RequestCardsTable;
  audit_events: AuditEventsTable;
  audit_chain_head: AuditChainHeadTable;
  run_steps: RunStepsTable;
  secrets: SecretsTable;
  rate_limits: RateLimitsTable;
  outbox: OutboxTable;
  secret_reveals: SecretRevealsTable;
  request_approvers: RequestApproversTable;
  approval_delegations: ApprovalDelegationsTable;
  settings: SettingsTable;
  batches: BatchesTable;
  batch_decisions: BatchDecisionsTable;
  batch_cards: BatchCardsTable;
  request_names: RequestNamesTable;
}
