/**
 * The extra approvers of a request's stage (migration 0008): people who may decide it besides the kind's configured
 * approvers — the requester's manager, the owner of what is asked for, someone the request was reassigned or
 * escalated to, a delegate. One row per (request, stage, user); adding the same one again keeps the stored row.
 *
 * `add` is one INSERT … ON CONFLICT DO NOTHING on both engines, so instances adding the same approver at the same
 * time never see a unique violation: one of them adds it, the others are told it was there. The order of adding is
 * kept in `seq`, the next number within the request taken inside the INSERT (on SQLite, the single writer makes it
 * exact; on PostgreSQL, two concurrent adds to one request may share a number and are then ordered by time and id).
 */
import { sql, type Kysely, type Selectable } from 'kysely';
import { compiledOnce } from './dialect';
import { writeForRequest } from './errors';
import { EXTRA_APPROVER_WHYS, type Database, type ExtraApproverWhy, type RequestApproversTable } from './schema';
import { MAX_ID, checkTime, isId, refuseIfAny } from './validation';

export type { ExtraApproverWhy } from './schema';

/** An extra approver of one stage of a request. */
export interface ExtraApprover {
  readonly requestId: number;
  /** 1-based approval stage. */
  readonly stage: number;
  /** Lower-cased. */
  readonly aadObjectId: string;
  readonly name: string;
  readonly why: ExtraApproverWhy;
  /** ISO 8601 UTC. */
  readonly addedAt: string;
  /** Who added them (as the caller gave it), or null for Mailroom itself. */
  readonly addedBy: string | null;
}

export interface ApproverRepository {
  /**
   * Adds the approver of a request's stage; an existing row (same request, stage, user) is kept as it is. Returns
   * whether it was added now. An unknown request throws `not-found`; bad input `invalid-record` (nothing written).
   */
  add(a: Omit<ExtraApprover, 'addedAt'>, now: Date): Promise<boolean>;
  /** The extra approvers of a request (of one stage when given), in the order they were added. */
  list(requestId: number, stage?: number): Promise<ExtraApprover[]>;
}

const MAX_TEXT = 500;

type Row = Selectable<RequestApproversTable>;

function toRecord(row: Row): ExtraApprover {
  return {
    requestId: Number(row.request_id),
    stage: Number(row.stage),
    aadObjectId: row.aad_object_id,
    name: row.name,
    why: row.why,
    addedAt: row.added_at,
    addedBy: row.added_by,
  };
}

function textProblem(v: unknown, key: string): string | undefined {
  return typeof v !== 'string' || v.trim() === '' || v.length > MAX_TEXT ? `${key} must be a non-empty string of at most ${MAX_TEXT} characters (got ${JSON.stringify(v)})` : undefined;
}

function stageProblem(v: unknown): string | undefined {
  return isId(v) ? undefined : `stage must be an integer from 1 to ${MAX_ID} (got ${JSON.stringify(v)})`;
}

function requestIdProblem(v: unknown): string | undefined {
  return isId(v) ? undefined : `requestId must be an integer from 1 to ${MAX_ID} (got ${JSON.stringify(v)})`;
}

export function createApproverRepository(db: Kysely<Database>): ApproverRepository {
  // read for every card of a request: compiled once (see compiledOnce)
  const inOrder = (requestId: number, stage?: number) => {
    const q = db.selectFrom('request_approvers').selectAll().where('request_id', '=', requestId);
    return (stage === undefined ? q : q.where('stage', '=', stage)).orderBy('seq').orderBy('added_at').orderBy('stage').orderBy('aad_object_id');
  };
  const selectAll = compiledOnce(db, (arg) => inOrder(arg(0)));
  const selectStage = compiledOnce(db, (arg) => inOrder(arg(0), arg(1)));
  return {
    async add(a, now) {
      const what = `The extra approver of request R-${String(a.requestId)} was not added, nothing was changed`;
      const problems = [requestIdProblem(a.requestId), stageProblem(a.stage), textProblem(a.aadObjectId, 'aadObjectId'), textProblem(a.name, 'name')];
      if (!(EXTRA_APPROVER_WHYS as readonly unknown[]).includes(a.why)) problems.push(`why must be one of ${EXTRA_APPROVER_WHYS.join(', ')} (got ${JSON.stringify(a.why)})`);
      if (a.addedBy !== null) problems.push(textProblem(a.addedBy, 'addedBy (or null)'));
      refuseIfAny(what, problems.filter((p): p is string => p !== undefined));
      const at = checkTime(now, 'now', what);
      const aad = a.aadObjectId.toLowerCase();

      const row = await writeForRequest(a.requestId, 'the extra approver', () =>
        db
          .insertInto('request_approvers')
          .values((eb) => ({
            request_id: a.requestId,
            stage: a.stage,
            aad_object_id: aad,
            name: a.name,
            why: a.why,
            seq: eb
              .selectFrom('request_approvers')
              .select(sql<number>`coalesce(max(${sql.ref('seq')}), 0) + 1`.as('next'))
              .where('request_id', '=', a.requestId),
            added_at: at,
            added_by: a.addedBy,
          }))
          .onConflict((oc) => oc.columns(['request_id', 'stage', 'aad_object_id']).doNothing())
          .returning('seq')
          .executeTakeFirst(),
      );
      return row !== undefined;
    },

    async list(requestId, stage) {
      const problems = [requestIdProblem(requestId), stage === undefined ? undefined : stageProblem(stage)].filter((p): p is string => p !== undefined);
      refuseIfAny(`The extra approvers of request R-${String(requestId)} were not listed`, problems);
      const { rows } = stage === undefined ? await selectAll(requestId) : await selectStage(requestId, stage);
      return rows.map(toRecord);
    },
  };
}
