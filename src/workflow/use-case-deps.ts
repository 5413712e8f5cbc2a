import type { Logger } from '../log';
import type { AuditEventInput, RequestRecord } from '../store';
import type { ApprovalAccess } from './approval-access';
import type { RequestLifecycle } from './lifecycle';
import type { RequestNotifications } from './ports';
import type { RequestViewService } from './request-views';
import type { RequestActor } from './use-cases';

/** What approvals and run control need of the runner: start, retry and wake it. */
export interface RunStarter {
  enqueue(record: RequestRecord, actor: { aadObjectId: string | null; name: string }): Promise<void>;
  retry(record: RequestRecord, actor: { aadObjectId: string; name: string }): Promise<void>;
  kick(): void;
}

/** What every use case that changes a filed request is built from (see `create-workflow.ts`). */
export interface RequestUseCaseDeps {
  readonly lifecycle: RequestLifecycle;
  readonly access: ApprovalAccess;
  readonly views: RequestViewService;
  readonly notifications: RequestNotifications;
  /** Undefined when approved requests are not run (tests of approvals alone). */
  readonly runs: RunStarter | undefined;
  readonly log: Logger;
  readonly now: () => Date;
}

/** An audit event of something a person did (or tried) to a request. */
export function actorEvent(actor: RequestActor, event: string, requestRef: string | null, data: Record<string, unknown> = {}): AuditEventInput {
  return { actorAadObjectId: actor.aadObjectId, actorName: actor.name, requestRef, event, data };
}
