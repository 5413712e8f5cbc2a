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
  /** The request changed: update every copy of its cards in place and tell the requester. */
  requestChanged(record: RequestRecord, view: RequestView, message: string | undefined): Promise<void>;
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
  /** One approval for a batch of requests, to its approvers (batches.ts). */
  batchApprovalNeeded?(batch: BatchAddress, text: string, approverUserIds: readonly string[]): Promise<void>;
  /** A message about a batch to its requester. */
  batchMessage?(batch: BatchAddress, text: string): Promise<void>;
}

/** What the notifications need of a batch. */
export interface BatchAddress {
  readonly reference: string;
  readonly tenantId: string;
  readonly requesterAadObjectId: string;
}

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
