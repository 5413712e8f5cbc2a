/**
 * Approval delegations (migration 0008): an approver (the delegator) lets someone else (the delegate) decide in
 * their place until a time. One row per delegator: setting a new delegation replaces the earlier one (an upsert,
 * safe when two instances write at once). A delegation runs while `until` is after the time asked about; ended
 * ones are not returned (they stay until replaced or cleared). AAD object ids are lower-cased on write and lookup.
 */
import type { Kysely, Selectable } from 'kysely';
import { compiledOnce } from './dialect';
import type { ApprovalDelegationsTable, Database } from './schema';
import { checkTime, invalid } from './validation';

/** An approver's delegation of their decisions to someone else, until a time. */
export interface Delegation {
  /** The delegator, lower-cased. */
  readonly fromAadObjectId: string;
  readonly fromName: string;
  /** The delegate, lower-cased. */
  readonly toAadObjectId: string;
  readonly toName: string;
  /** ISO 8601 UTC: the delegation runs while this is after now. */
  readonly until: string;
  /** ISO 8601 UTC. */
  readonly createdAt: string;
}

export interface DelegationRepository {
  /** One per delegator: replaces the delegator's earlier delegation. Bad input throws `invalid-record` (nothing written). */
  set(d: Omit<Delegation, 'createdAt'>, now: Date): Promise<void>;
  /** Ends the delegator's delegation; whether there was one. */
  clear(fromAadObjectId: string): Promise<boolean>;
  /** The delegator's delegation that is still running at `now` (until > now), if any. */
  from(fromAadObjectId: string, now: Date): Promise<Delegation | undefined>;
  /** The delegations to this delegate still running at `now`, oldest first. */
  to(toAadObjectId: string, now: Date): Promise<Delegation[]>;
}

const MAX_TEXT = 500;

type Row = Selectable<ApprovalDelegationsTable>;

function toRecord(row: Row): Delegation {
  return {
    fromAadObjectId: row.from_aad_object_id,
    fromName: row.from_name,
    toAadObjectId: row.to_aad_object_id,
    toName: row.to_name,
    until: row.until,
    createdAt: row.created_at,
  };
}

function textProblem(v: unknown, key: string): string | undefined {
  return typeof v !== 'string' || v.trim() === '' || v.length > MAX_TEXT ? `${key} must be a non-empty string of at most ${MAX_TEXT} characters (got ${JSON.stringify(v)})` : undefined;
}

/** The lower-cased id, or refuses the call. */
function aadId(v: unknown, key: string, what: string): string {
  const problem = textProblem(v, key);
  if (problem !== undefined) invalid(what, [problem]);
  return (v as string).toLowerCase();
}

export function createDelegationRepository(db: Kysely<Database>): DelegationRepository {
  // looked up for every request filed: compiled once (see compiledOnce)
  const selectFrom = compiledOnce(db, (arg) => db.selectFrom('approval_delegations').selectAll().where('from_aad_object_id', '=', arg<string>(0)).where('until', '>', arg<string>(1)));
  const selectTo = compiledOnce(db, (arg) =>
    db.selectFrom('approval_delegations').selectAll().where('to_aad_object_id', '=', arg<string>(0)).where('until', '>', arg<string>(1)).orderBy('created_at').orderBy('from_aad_object_id'),
  );
  return {
    async set(d, now) {
      const what = 'The delegation was not set, nothing was changed';
      const problems = [
        textProblem(d.fromAadObjectId, 'fromAadObjectId'),
        textProblem(d.fromName, 'fromName'),
        textProblem(d.toAadObjectId, 'toAadObjectId'),
        textProblem(d.toName, 'toName'),
      ].filter((p): p is string => p !== undefined);
      let until: string | undefined;
      try {
        until = checkTime(d.until, 'until', what);
      } catch {
        problems.push(`until must be a valid time (a Date or an ISO 8601 string), got ${JSON.stringify(d.until)}`);
      }
      if (problems.length === 0 && d.fromAadObjectId.toLowerCase() === d.toAadObjectId.toLowerCase()) {
        problems.push('an approver cannot delegate to themselves (fromAadObjectId and toAadObjectId are the same)');
      }
      if (until === undefined || problems.length > 0) invalid(what, problems);
      const at = checkTime(now, 'now', what);
      const row = {
        from_aad_object_id: d.fromAadObjectId.toLowerCase(),
        from_name: d.fromName,
        to_aad_object_id: d.toAadObjectId.toLowerCase(),
        to_name: d.toName,
        until,
        created_at: at,
      };
      await db
        .insertInto('approval_delegations')
        .values(row)
        .onConflict((oc) =>
          oc.column('from_aad_object_id').doUpdateSet((eb) => ({
            from_name: eb.ref('excluded.from_name'),
            to_aad_object_id: eb.ref('excluded.to_aad_object_id'),
            to_name: eb.ref('excluded.to_name'),
            until: eb.ref('excluded.until'),
            created_at: eb.ref('excluded.created_at'),
          })),
        )
        .execute();
    },

    async clear(fromAadObjectId) {
      const from = aadId(fromAadObjectId, 'fromAadObjectId', 'No delegation was cleared');
      const res = await db.deleteFrom('approval_delegations').where('from_aad_object_id', '=', from).executeTakeFirst();
      return Number(res.numDeletedRows) > 0;
    },

    async from(fromAadObjectId, now) {
      const what = 'The delegation was not looked up';
      const from = aadId(fromAadObjectId, 'fromAadObjectId', what);
      const at = checkTime(now, 'now', what);
      const row = (await selectFrom(from, at)).rows[0];
      return row === undefined ? undefined : toRecord(row);
    },

    async to(toAadObjectId, now) {
      const what = 'The delegations were not looked up';
      const to = aadId(toAadObjectId, 'toAadObjectId', what);
      const at = checkTime(now, 'now', what);
      const { rows } = await selectTo(to, at);
      return rows.map(toRecord);
    },
  };
}
