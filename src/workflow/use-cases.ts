/**
 * The workflow's use cases as the chat layer sees them: one interface per use case, each implemented by one module
 * of `src/workflow/` and built together by `createWorkflow()` (`create-workflow.ts`). The bot's command and
 * card-action handlers call only these; none of them touches the store.
 */
import type { DecideAnswer, FileAnswer, PlanAnswer } from './batches';
import type { BatchPlace, BatchPreviewView, BulkCheck, CardPlace } from './ports';
import type { RollbackPlan } from '../plans';
import type { BulkTextOptions, FieldError } from '../requests';
import type { AuditTrailCheck, AuditVerifyResult, CardAudience } from '../store';
import type { DriftItem, SweepReport } from './sweep';
import type { RequestView } from './request-view';
import type { RecipientViews } from './recipient-view';

/** Who acts: always from the authenticated activity (never from card data). */
export interface RequestActor {
  readonly aadObjectId: string;
  readonly name: string;
  readonly tenantId: string;
  readonly isAdmin: boolean;
}

export type SubmitResult =
  | { readonly ok: true; readonly reference: string; readonly view: RequestView }
  | { readonly ok: false; readonly errors: FieldError[]; readonly refused?: string };

/** A decision, retry or cancel: done, or refused with a message (and the card to show when the actor may see it). */
export type DecisionOutcome =
  | { readonly ok: true; readonly reference: string; readonly view: RequestView; readonly effect: 'next-stage' | 'approved' | 'rejected' }
  | { readonly ok: false; readonly code: string; readonly message: string; readonly view?: RequestView };

/** A roll back as the confirmation card shows it. */
export type RollbackPreview =
  | { readonly ok: true; readonly reference: string; readonly view: RequestView; readonly plan: RollbackPlan; readonly digest: string }
  | { readonly ok: false; readonly code: string; readonly message: string; readonly view?: RequestView };

/** A roll back asked for: started, refused, or (code `changed`) what it would do now differs from what was confirmed. */
export type RollbackOutcome =
  | { readonly ok: true; readonly reference: string; readonly view: RequestView }
  | {
      readonly ok: false;
      readonly code: string;
      readonly message: string;
      readonly view?: RequestView;
      /** With code `changed`: the roll back as it stands now, to confirm again. */
      readonly preview?: { readonly plan: RollbackPlan; readonly digest: string };
    };

/** Intake: validate, plan and file a request; audit a refusal the chat layer decided on (a missing role). */
export interface Intake {
  submit(actor: RequestActor, kind: string, values: Record<string, unknown>, source: 'form' | 'command' | 'bulk', batch?: { readonly id: number; readonly line: number }): Promise<SubmitResult>;
  refused(actor: RequestActor, kind: string, reason: string): Promise<void>;
  /** `bulk <kind>` and CSV lines: every row checked against AD and Exchange Online as a single request would be; nothing is filed. */
  previewBulk(actor: RequestActor, text: string, options?: BulkTextOptions): Promise<BulkPreview>;
}

export type BulkPreview =
  | { readonly ok: false; readonly errors: readonly { readonly line?: number; readonly message: string }[]; readonly refused?: string }
  | (BulkCheck & {
      readonly ok: true;
      /** The valid rows as typed, to file them (batches.ts). */
      readonly rowsToFile?: readonly { readonly line: number; readonly values: Record<string, string> }[];
      /** The batch the preview was kept as (`file B-n`). */
      readonly reference?: string;
    });

/** Approvals: decisions (`version` undefined: the request as it stands now), what waits for whom. */
export interface Approvals {
  /** `answered`: the approval card the decision was pressed on in a personal chat (its invoke answer shows the outcome). */
  decide(actor: RequestActor, reference: string, version: number | undefined, outcome: 'approve' | 'reject', reason: string | undefined, options?: { readonly answered?: CardPlace }): Promise<DecisionOutcome>;
  listAwaiting(actor: RequestActor): Promise<RequestView[]>;
  delegate(actor: RequestActor, to: string, until: string): Promise<{ readonly ok: boolean; readonly message: string }>;
  undelegate(actor: RequestActor): Promise<{ readonly ok: boolean; readonly message: string }>;
  reassign(actor: RequestActor, reference: string, to: string): Promise<{ readonly ok: boolean; readonly message: string }>;
}

/** Retry, cancel and roll back a request (each checked against the actor and the card's version). */
export interface RunControl {
  retry(actor: RequestActor, reference: string, version: number | undefined): Promise<DecisionOutcome>;
  cancel(actor: RequestActor, reference: string, version: number | undefined): Promise<DecisionOutcome>;
  rollbackPreview(actor: RequestActor, reference: string, version: number | undefined): Promise<RollbackPreview>;
  rollback(actor: RequestActor, reference: string, version: number | undefined, digest?: string): Promise<RollbackOutcome>;
}

/** Where a card showing a request was posted, so that it is updated in place as the request moves on. */
export interface PostedCard {
  readonly audience: CardAudience;
  readonly aadObjectId: string | null;
  readonly conversationId: string;
  readonly activityId: string;
}

/** Reading requests: only what the actor may see. */
export interface RequestViews {
  /** The request's view, or undefined when there is none the actor may see (the two are not told apart). */
  find(actor: RequestActor, reference: string): Promise<RequestView | undefined>;
  listMine(actor: RequestActor): Promise<RequestView[]>;
  trackCard(reference: string, card: PostedCard): Promise<void>;
}

export type RevealOutcome =
  | {
      readonly ok: true;
      readonly view: RequestView;
      readonly secret: string | undefined;
      /** When the card showing the password is updated to hide it (set when a password was revealed). */
      readonly shownUntil?: Date;
    }
  | { readonly ok: false; readonly message: string; readonly title?: string };

/** The generated password of an account Mailroom created: shown once, to the requester only. */
export interface PasswordReveal {
  /**
   * `card`: the message whose card shows the password (the clicked card); it is updated to hide the password after a
   * short time (durably: a restart does not lose it).
   */
  reveal(actor: RequestActor, reference: string, card?: { readonly conversationId: string; readonly activityId: string }): Promise<RevealOutcome>;
  /** What a card shows after the reveal, to anyone who may see the request: never the password. */
  afterReveal(actor: RequestActor, reference: string): Promise<RequestView | undefined>;
}

export interface AuditTrailView {
  readonly reference: string;
  /** The request's own events checked on their own (positions within the trail, never global numbers). */
  readonly chain: AuditTrailCheck;
  /** `n`: the event's position in this request's trail (1, 2, …). */
  readonly events: readonly { n: number; at: string; event: string; actor: string; detail: string }[];
}

export interface AuditExport {
  readonly rows: number;
  /** Where the CSV was saved on the Mailroom server. */
  readonly file: string;
  readonly csv: string;
  readonly chain: AuditVerifyResult;
}

/** The audit log: a request's trail, the whole log as CSV, the chain check. */
export interface AuditTrail {
  trail(actor: RequestActor, reference: string): Promise<AuditTrailView | undefined>;
  exportAll(actor: RequestActor): Promise<AuditExport>;
  /** The whole chain; with `expect`, also that event `seq` still has the hash published for it. */
  verify(expect?: { seq: number; hash: string }): Promise<AuditVerifyResult>;
}

/** The cloud-managed sweep and the drift report (admins). */
export interface CloudManagedUseCases {
  sweep(actor: { aadObjectId: string | null; name: string }): Promise<SweepReport>;
  drift(actor: { aadObjectId: string | null; name: string }): Promise<{ checked: number; items: DriftItem[] }>;
}

/** Everything the chat layer may ask of the workflow. */
export interface UseCases {
  readonly intake: Intake;
  readonly approvals: Approvals;
  readonly runControl: RunControl;
  readonly views: RequestViews;
  readonly passwords: PasswordReveal;
  readonly audit: AuditTrail;
  /** Undefined when Exchange Online is not configured. */
  readonly cloudManaged: CloudManagedUseCases | undefined;
  /** `show` and `find`: one recipient across AD, Entra ID and Exchange Online (reads; audited, never approved). */
  readonly recipients?: RecipientViews;
  /** `approvals here` and `approvals channel`: the Teams channels that get approval cards. */
  readonly channels: ApprovalChannelsUseCase;
  /** Bulk requests: preview (kept as a batch), file, decide, status, export. */
  readonly batches: BatchUseCases;
}

export interface BatchUseCases {
  preview(actor: RequestActor, text: string, options?: BulkTextOptions): Promise<BulkPreview & { readonly view?: BatchPreviewView }>;
  /** Where the requester's preview card was posted, so that filing updates it in place. */
  trackPreview(actor: RequestActor, reference: string, place: BatchPlace): Promise<void>;
  file(actor: RequestActor, reference: string, validOnly: boolean): Promise<FileAnswer>;
  decide(actor: RequestActor, reference: string, outcome: 'approve' | 'reject', reason: string | undefined): Promise<DecideAnswer>;
  /** Each valid row's line and plan steps, one page (fit for one Teams message) from `from` on. */
  plan(actor: RequestActor, reference: string, from?: number): Promise<PlanAnswer>;
  status(actor: RequestActor, reference: string): Promise<{ readonly ok: true; readonly message: string; readonly facts?: readonly { title: string; value: string }[] } | { readonly ok: false; readonly message: string }>;
  export(actor: RequestActor, reference: string): Promise<{ readonly ok: true; readonly csv: string; readonly reference: string } | { readonly ok: false; readonly message: string }>;
}

export interface ApprovalChannelsUseCase {
  setHere(actor: RequestActor, conversationId: string, conversationType: string, kindText?: string): Promise<{ ok: boolean; message: string }>;
  describe(): Promise<string>;
}
