import type { DecisionTransitionInput, DecisionTransitionResult, RequestPatch, RequestRecord, RequestRepository, RequestStatus, TransitionResult } from '../store';

/**
 * Where a request may go from each status. Every status change of a request goes through {@link RequestLifecycle}
 * and so through this table: intake files `pending-approval`; decisions approve, reject or move to the next stage;
 * the tick expires; the runner queues, runs, waits, finishes and stops runs; cancel and roll back come from people.
 */
const MOVES: Readonly<Record<RequestStatus, readonly RequestStatus[]>> = {
  'pending-approval': ['pending-approval', 'approved', 'rejected', 'expired', 'cancelled'],
  approved: ['approved', 'queued', 'running', 'failed', 'cancelled'],
  queued: ['queued', 'running', 'waiting', 'done', 'failed', 'cancelled'],
  running: ['running', 'waiting', 'done', 'failed', 'cancelled', 'rolled-back'],
  waiting: ['waiting', 'running', 'done', 'failed', 'cancelled', 'rolled-back'],
  // a stopped run is retried or rolled back (both run again), or cancelled
  failed: ['failed', 'running', 'cancelled'],
  // a cancelled request can still be rolled back
  cancelled: ['cancelled', 'running'],
  // a finished change can be rolled back (rollback-info.ts: rollbackAllowed)
  done: ['done', 'running'],
  rejected: ['rejected'],
  expired: ['expired'],
  'rolled-back': ['rolled-back'],
};

export function mayMove(from: RequestStatus, to: RequestStatus): boolean {
  return MOVES[from].includes(to);
}

/** A move the table does not allow: a defect in Mailroom, never a person's mistake. */
export class IllegalTransitionError extends Error {
  constructor(reference: string, from: RequestStatus, to: RequestStatus) {
    super(`${reference} cannot move from ${from} to ${to}; nothing was changed.`);
    this.name = 'IllegalTransitionError';
  }
}

/** The one owner of a request's status: version-guarded moves checked against the transition table. */
export class RequestLifecycle {
  constructor(private readonly requests: Pick<RequestRepository, 'get' | 'transition' | 'decide'>) {}

  /**
   * Moves `record` (at its version) by `patch`. `ok: false` when someone else changed it first; an illegal move
   * throws before anything is written.
   */
  async move(record: RequestRecord, patch: RequestPatch): Promise<TransitionResult> {
    if (patch.status !== undefined && !mayMove(record.status, patch.status)) throw new IllegalTransitionError(record.reference, record.status, patch.status);
    return this.requests.transition(record.id, record.version, patch);
  }

  /**
   * An approver's decision on `record` (at its version) and the move it causes, written together or not at all;
   * refused, with nothing written, when someone changed the request first or the approver already decided on it.
   */
  async decide(record: RequestRecord, patch: RequestPatch, decision: DecisionTransitionInput): Promise<DecisionTransitionResult> {
    if (patch.status !== undefined && !mayMove(record.status, patch.status)) throw new IllegalTransitionError(record.reference, record.status, patch.status);
    return this.requests.decide(record.id, record.version, patch, decision);
  }

  /**
   * The runner's moves (queued, running, waiting, done, failed, rolled-back), retried over concurrent version bumps.
   * A request that was cancelled, is done or rolled back, or cannot make the move, stays as it is. `notice`: what
   * people must hear of the move, left in the outbox in the same transaction as the move (so only when it moves).
   * Returns the latest record and whether it moved. `known`: the record as the caller read it just now (saves a read).
   */
  async runMove(
    requestId: number,
    status: RequestStatus,
    options: { error?: string | null; result?: unknown; notice?: { message: string | null }; known?: RequestRecord } = {},
  ): Promise<{ record: RequestRecord | undefined; moved: boolean }> {
    const { error, result, notice, known } = options;
    for (let i = 0; i < 5; i++) {
      // `known`: the caller read it just now; a stale one fails the versioned move, and the next try reads again
      const current = i === 0 && known?.id === requestId ? known : await this.requests.get(requestId);
      if (!current) return { record: undefined, moved: false };
      if (current.status === 'cancelled' || (current.status === status && error === undefined && result === undefined)) return { record: current, moved: false };
      if (!mayMove(current.status, status)) return { record: current, moved: false };
      const patch = { status, ...(error !== undefined ? { error } : {}), ...(result !== undefined ? { result } : {}) };
      const moved = await this.requests.transition(current.id, current.version, patch, notice);
      if (moved.ok) return { record: moved.record, moved: true };
    }
    return { record: await this.requests.get(requestId), moved: false };
  }
}
