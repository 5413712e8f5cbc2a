/**
 * What the workflow needs from the outside world, as ports: the chat layer implements the notifications, the
 * store implements the card references, Graph implements the group look-ups.
 */
import type { CardInput, CardRecord, RequestRecord } from '../store';
import type { RequestView } from './request-view';
import type { SweepReport } from './sweep';

/** How people hear about requests (implemented by the Teams layer, `src/bot/teams-notifications.ts`). */
export interface RequestNotifications {
  /** A new request (or a request that reached a new stage) waits for these approvers. */
  approvalNeeded(record: RequestRecord, view: RequestView, approverUserIds: readonly string[]): Promise<void>;
  /**
   * The request changed: update every copy of its cards in place and tell the requester. `answered`: the card whose
   * invoke answer already shows this view (the button pressed in a personal chat), left as it is.
   */
  requestChanged(record: RequestRecord, view: RequestView, message: string | undefined, answered?: CardPlace): Promise<void>;
  /** A reminder to the approvers of the current stage. */
  remind(record: RequestRecord, view: RequestView, approverUserIds: readonly string[]): Promise<void>;
  /** The scheduled cloud-managed sweep's report, for the admins. */
  sweepReported(report: SweepReport, adminUserIds: readonly string[], tenantId: string): Promise<void>;
  /**
   * A revealed password's time is up: update the card that showed it (in place, for everyone) to the request's card
   * with `notice` and without the password. Optional so that a port without cards may leave it out.
   */
  passwordHidden?(card: { readonly conversationId: string; readonly activityId: string }, view: RequestView, notice: string): Promise<void>;
  /** The daily audit chain head, for the admins (see AuditTrailService.headReport). */
  auditHeadReported?(text: string, adminUserIds: readonly string[], tenantId: string): Promise<void>;
  /** One approval card for a batch of requests, to each of its approvers (batches.ts); answers where the copies went. */
  batchApprovalNeeded?(batch: BatchAddress, view: BatchApprovalView, approverUserIds: readonly string[]): Promise<readonly BatchPlace[]>;
  /** The batch's preview or approval cards, updated in place (every copy). */
  batchCardsChanged?(places: readonly BatchPlace[], card: BatchCardContent): Promise<void>;
  /**
   * The requester's progress card of a batch. Without `place`: posted (answers where). With it: updated in place,
   * latest state wins (a superseded update is dropped); this never waits for Teams (answers undefined at once).
   */
  batchProgress?(batch: BatchAddress, view: BatchProgressView, place: BatchPlace | undefined): Promise<BatchPlace | undefined>;
  /** A message about a batch to its requester. */
  batchMessage?(batch: BatchAddress, text: string): Promise<void>;
}

/**
 * Where a card is in Teams: its conversation and its activity (message) id. The card a button was pressed on is
 * `replyToId` of the invoke; Teams shows the invoke's answer in its place for whoever pressed it, so in a personal chat
 * (nobody else sees it) that card needs no update of its own.
 */
export interface CardPlace {
  readonly conversationId: string;
  readonly activityId: string;
}

/** What the notifications need of a batch. */
export interface BatchAddress {
  readonly reference: string;
  /** The kind of its requests (which approvals channel gets its card). */
  readonly kind: string;
  readonly tenantId: string;
  readonly requesterAadObjectId: string;
}

/** Where a card of a batch was posted. */
export interface BatchPlace {
  /** Whose personal chat it is in; null for a channel. */
  readonly aadObjectId: string | null;
  readonly conversationId: string;
  readonly activityId: string;
}

/** The check of a bulk request's rows: how many, which are invalid (by line, why), what the valid ones make. */
export interface BulkCheck {
  readonly kind: string;
  readonly kindTitle: string;
  readonly rows: number;
  readonly valid: number;
  readonly invalid: readonly { readonly line: number; readonly message: string }[];
  /** What the valid rows will create or change. */
  readonly summary: string;
}

/** A batch's preview as its card shows it: the check of every row, and whether (and by whom) it was filed. */
export interface BatchPreviewView extends BulkCheck {
  readonly reference: string;
  /** Set once the batch is filed: by whom, how many requests. */
  readonly filed?: { readonly byName: string; readonly count: number };
}

/** A batch's approval card: what is asked, what one row runs, and the decision once there is one. */
export interface BatchApprovalView {
  readonly reference: string;
  readonly requesterName: string;
  readonly kindTitle: string;
  readonly stage: number;
  /** Requests that wait for a decision now. */
  readonly waiting: number;
  /** Requests filed in the batch. */
  readonly total: number;
  readonly summary: string;
  /** The steps one row runs (its plan), and the line of that row. */
  readonly steps: readonly string[];
  readonly stepsOfLine: number | undefined;
  /** Requests per status. */
  readonly counts: readonly { readonly status: string; readonly n: number }[];
  /** The decision, once made (the last decider's name; the reason of a rejection). */
  readonly decided?: { readonly outcome: 'approve' | 'reject'; readonly byName: string; readonly reason?: string };
}

/** A batch's progress card: how many rows stand where, and the failed ones with why (the first few). */
export interface BatchProgressView {
  readonly reference: string;
  readonly kindTitle: string;
  readonly finished: boolean;
  readonly total: number;
  readonly counts: readonly { readonly status: string; readonly n: number }[];
  readonly failed: readonly { readonly reference: string; readonly error: string }[];
  /** Failed requests not listed. */
  readonly failedMore: number;
}

export type BatchCardContent = { readonly type: 'preview'; readonly view: BatchPreviewView } | { readonly type: 'approval'; readonly view: BatchApprovalView };

/** Where the cards of a request were posted (the store's card repository). */
export interface CardReferences {
  add(input: CardInput): Promise<unknown>;
  list(requestId: number): Promise<CardRecord[]>;
}

/** Answers which of the given Entra groups a user belongs to (Graph checkMemberGroups). */
export interface GroupMembershipPort {
  memberGroups(userAadObjectId: string, groupIds: readonly string[]): Promise<string[]>;
}

/** Lists the users of an Entra group (to send approval cards to its members). */
export interface GroupMembersPort {
  memberUserIds(groupId: string): Promise<string[]>;
}

/** Why a user may decide a stage of one request besides the configured approvers. */
export type ExtraApproverWhy = 'manager' | 'owner' | 'reassigned' | 'escalated' | 'delegate';

/** A request's extra approvers (the store's approver repository). */
export interface ExtraApproversPort {
  add(a: { readonly requestId: number; readonly stage: number; readonly aadObjectId: string; readonly name: string; readonly why: ExtraApproverWhy; readonly addedBy: string | null }, now: Date): Promise<boolean>;
  list(requestId: number, stage?: number): Promise<readonly { readonly stage: number; readonly aadObjectId: string; readonly name: string; readonly why: ExtraApproverWhy }[]>;
}

/** An approver's out-of-office delegation (the store's delegation repository). */
export interface DelegationView {
  readonly fromAadObjectId: string;
  readonly fromName: string;
  readonly toAadObjectId: string;
  readonly toName: string;
  readonly until: string;
}

export interface DelegationsPort {
  set(d: DelegationView, now: Date): Promise<void>;
  clear(fromAadObjectId: string): Promise<boolean>;
  from(fromAadObjectId: string, now: Date): Promise<DelegationView | undefined>;
  to(toAadObjectId: string, now: Date): Promise<readonly DelegationView[]>;
}
