import type { Kysely, Selectable } from 'kysely';
import { compiledOnce, encodeTimeInput, encodeTimestamp } from './dialect';
import { StoreError, writeForRequest } from './errors';
import { DECISIONS, type Database, type Decision, type RequestDecisionsTable } from './schema';
import { isId, refuseIfAny } from './validation';

export type { Decision } from './schema';

/** One approver's decision on one stage of a request. Append-only: never changed or removed. */
export interface DecisionRecord {
  id: number;
  requestId: number;
  stage: number;
  approverAadObjectId: string;
  approverName: string;
  decision: Decision;
  reason: string | null;
  /** ISO 8601 UTC. */
  at: string;
  /** The request version the decision was made on (the `expectedVersion` of the winning transition). */
  requestVersion: number;
}

export interface DecisionInput {
  requestId: number;
  stage: number;
  approverAadObjectId: string;
  approverName: string;
  decision: Decision;
  reason?: string | null;
  /** Default: now. */
  at?: Date | string;
  requestVersion: number;
}

export interface DecisionRepository {
  /**
   * Append a decision. One decision per request version: recording the same decision again (same
   * version, approver and decision — a retried call) returns the stored one; a different decision on a
   * version that already has one throws `conflict`. An unknown request throws `not-found`. A decision on a
   * request that moves with it goes through `RequestRepository.decide` instead (both in one transaction).
   */
  record(input: DecisionInput): Promise<DecisionRecord>;
  /** The request's decisions, oldest first. */
  list(requestId: number): Promise<DecisionRecord[]>;
}

type Row = Selectable<RequestDecisionsTable>;

/** A stored decision row as a record (also used by the request repository's decision transition). */
export function toDecisionRecord(row: Row): DecisionRecord {
  return {
    id: Number(row.id),
    requestId: Number(row.request_id),
    stage: Number(row.stage),
    approverAadObjectId: row.approver_aad_object_id,
    approverName: row.approver_name,
    decision: row.decision,
    reason: row.reason,
    at: row.at,
    requestVersion: Number(row.request_version),
  };
}

/** Throws `invalid-record` naming every problem of the decision (also checked by the request repository's decision transition). */
export function validateDecision(d: DecisionInput): void {
  const problems: string[] = [];
  for (const key of ['requestId', 'stage', 'requestVersion'] as const) {
    if (!isId(d[key])) problems.push(`${key} must be a positive integer (got ${JSON.stringify(d[key])})`);
  }
  for (const key of ['approverAadObjectId', 'approverName'] as const) {
    if (typeof d[key] !== 'string' || d[key] === '') problems.push(`${key} must be a non-empty string`);
  }
  if (!(DECISIONS as readonly unknown[]).includes(d.decision)) problems.push(`decision must be approve or reject (got ${JSON.stringify(d.decision)})`);
  if (d.reason !== undefined && d.reason !== null && typeof d.reason !== 'string') problems.push('reason must be a string or null');
  refuseIfAny(`The decision on request R-${String(d.requestId)} was not stored`, problems);
}

export function createDecisionRepository(db: Kysely<Database>, now: () => Date): DecisionRepository {
  // read for every card of a request: compiled once (see compiledOnce)
  const selectByRequest = compiledOnce(db, (arg) => db.selectFrom('request_decisions').selectAll().where('request_id', '=', arg<number>(0)).orderBy('id'));
  return {
    async record(input) {
      validateDecision(input);
      const at = input.at === undefined ? encodeTimestamp(now()) : encodeTimeInput(input.at, 'at');
      const row = await writeForRequest(input.requestId, 'the decision', () =>
        db
          .insertInto('request_decisions')
          .values({
            request_id: input.requestId,
            stage: input.stage,
            approver_aad_object_id: input.approverAadObjectId,
            approver_name: input.approverName,
            decision: input.decision,
            reason: input.reason ?? null,
            at,
            request_version: input.requestVersion,
          })
          .onConflict((oc) => oc.columns(['request_id', 'request_version']).doNothing())
          .returningAll()
          .executeTakeFirst(),
      );
      if (row !== undefined) return toDecisionRecord(row);

      const existing = await db
        .selectFrom('request_decisions')
        .selectAll()
        .where('request_id', '=', input.requestId)
        .where('request_version', '=', input.requestVersion)
        .executeTakeFirstOrThrow();
      const same =
        existing.approver_aad_object_id === input.approverAadObjectId &&
        existing.decision === input.decision &&
        Number(existing.stage) === input.stage;
      if (same) return toDecisionRecord(existing);
      throw new StoreError(
        'conflict',
        `Request R-${input.requestId} version ${input.requestVersion} was already decided (${existing.decision} by ${existing.approver_name} at ${existing.at}); the decision was not stored.`,
      );
    },

    async list(requestId) {
      const { rows } = await selectByRequest(requestId);
      return rows.map(toDecisionRecord);
    },
  };
}
