import type { AuditEventInput, RequestRecord, RequestStatus } from '../store';

/** A step row as the runner sees it (the store's run repository provides these). */
export interface RunStep {
  readonly id: number;
  readonly requestId: number;
  readonly stepIndex: number;
  readonly stepId: string;
  readonly action: string;
  readonly system: string;
  readonly input: unknown;
  readonly status: 'pending' | 'running' | 'waiting' | 'done' | 'failed' | 'skipped' | 'cancelled';
  readonly attempts: number;
  /** Tries (or polls) taken over after their lease ran out: they never ended. */
  readonly abandoned: number;
  /** What a try recorded it was about to do (noteIntent), or null. */
  readonly intent: unknown;
  readonly result: unknown;
  readonly error: string | null;
}

/** What the runner needs from the store. */
export interface RunStorePort {
  runs: {
    createSteps(requestId: number, steps: readonly { stepId: string; action: string; system: string; input: unknown }[], now: Date): Promise<unknown>;
    claimNext(owner: string, now: Date, leaseMs: number, limit: number): Promise<RunStep[]>;
    claimWaiting(owner: string, now: Date, leaseMs: number, limit: number): Promise<RunStep[]>;
    /** `also`: its audit event and the request's notice, written in the same transaction (see the store's RunRepository). */
    complete(stepId: number, owner: string, result: unknown, now: Date, also?: { audit: AuditEventInput; notice?: { requestId: number; message: string | null } }): Promise<boolean>;
    wait(stepId: number, owner: string, until: Date, result: unknown, now: Date): Promise<boolean>;
    retryLater(stepId: number, owner: string, nextAt: Date, error: string, now: Date): Promise<boolean>;
    fail(stepId: number, owner: string, error: string, now: Date): Promise<boolean>;
    listByRequest(requestId: number): Promise<RunStep[]>;
    resetFailed(requestId: number, now: Date): Promise<unknown>;
    heartbeat(ids: readonly number[], owner: string, leaseMs: number, now: Date): Promise<unknown>;
    /** The lease holder records what its try is about to do; false when the lease was lost. */
    noteIntent(stepId: number, owner: string, intent: unknown, now: Date): Promise<boolean>;
    /** Roll back: append the compensation steps, skipping the unfinished original ones (idempotent). */
    appendSteps(requestId: number, steps: readonly { stepId: string; action: string; system: string; input: unknown }[], now: Date, options?: { skipUnfinished?: boolean }): Promise<unknown>;
    /** The lease holder gives its step up: the request was cancelled. */
    cancelClaimed(id: number, owner: string, now: Date, note?: string): Promise<boolean>;
  };
  requests: {
    get(idOrRef: number | string): Promise<RequestRecord | undefined>;
    versionOf(id: number): Promise<{ status: RequestStatus; version: number } | undefined>;
    listByStatus(statuses: readonly RequestStatus[], opts: { limit: number }): Promise<RequestRecord[]>;
  };
  audit: { append(e: AuditEventInput): Promise<unknown> };
}

/**
 * Where the runner leaves what people must hear of a run: the store's outbox, drained by the notification sender
 * (`notification-outbox.ts`). The runner never calls Teams and never waits on it.
 */
export interface RunNoticePort {
  add(requestId: number, message: string | null, now: Date): Promise<void>;
}
