import { sql, type Kysely, type Migration } from 'kysely';
import type { ColumnTypes } from '../dialect';

/**
 * 0013: a step that waits for the steps before it is not due. Its `next_at` is the far-future mark
 * `9999-12-31T23:59:59.999Z` (RUN_STEP_NOT_DUE in run-repository.ts) until the step before it ends; then the database
 * makes it due. Before, every pending step was due from its creation and the claim walked all of them,
 * skipping the ones whose earlier steps had not ended: with 1,000 requests in flight it walked thousands of rows on
 * every claim. Now the claim's walk of run_steps_runnable_idx (ordered by next_at) stops at the steps that are due.
 *
 * Kept by triggers, so every way a step ends (done, skipped; one row or many in one statement) and every way steps are
 * added (a run, a roll back's compensation steps) makes the request's first unfinished step due when it is a pending
 * step still marked not due. It is due as of when it was added (its `updated_at`, untouched while it waited), as every
 * step was before: the claim takes the earliest due first, so a request that has started goes on before the requests
 * filed after it (its steps follow each other at once, and its cards change once rather than once per step). A failed
 * or cancelled step holds the later ones back, as before. The claim still checks the earlier steps itself, so a hand
 * edit can never run a step out of turn. Existing databases: the pending steps behind an unfinished one are marked not
 * due here.
 */
const NOT_DUE = '9999-12-31T23:59:59.999Z';

/**
 * The request's first unfinished step, when it is a pending step marked not due, becomes due as of when it was added
 * (or as of `at`, the ending row's time, should that be earlier).
 */
const releaseHead = (requestId: string, at: string): string => `update run_steps set next_at = ${at}
    where id = (select h.id from run_steps h
                where h.request_id = ${requestId} and h.status not in ('done', 'skipped')
                order by h.step_index limit 1)
      and status = 'pending' and next_at = '${NOT_DUE}'`;

const SQLITE_TRIGGERS: readonly string[] = [
  `create trigger run_steps_due_after_end after update of status on run_steps
when new.status in ('done', 'skipped') and old.status not in ('done', 'skipped')
begin
  ${releaseHead('new.request_id', 'min(updated_at, new.updated_at)')};
end`,
  `create trigger run_steps_due_on_insert after insert on run_steps
when new.next_at = '${NOT_DUE}'
begin
  ${releaseHead('new.request_id', 'min(updated_at, new.updated_at)')};
end`,
];

const POSTGRES_TRIGGERS: readonly string[] = [
  `create function run_steps_release_head() returns trigger language plpgsql as $$
begin
  ${releaseHead('new.request_id', 'least(updated_at, new.updated_at)')};
  return null;
end $$`,
  `create trigger run_steps_due_after_end after update of status on run_steps for each row
when (new.status in ('done', 'skipped') and old.status not in ('done', 'skipped'))
execute function run_steps_release_head()`,
  `create trigger run_steps_due_on_insert after insert on run_steps for each row
when (new.next_at = '${NOT_DUE}')
execute function run_steps_release_head()`,
];

export function stepsDueInTurn(t: ColumnTypes): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql
        .raw(
          `update run_steps set next_at = '${NOT_DUE}'
            where status = 'pending'
              and exists (select 1 from run_steps e
                          where e.request_id = run_steps.request_id and e.step_index < run_steps.step_index
                            and e.status not in ('done', 'skipped'))`,
        )
        .execute(db);
      for (const statement of t.engine === 'postgres' ? POSTGRES_TRIGGERS : SQLITE_TRIGGERS) await sql.raw(statement).execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      const on = t.engine === 'postgres' ? ' on run_steps' : '';
      for (const trigger of ['run_steps_due_after_end', 'run_steps_due_on_insert']) await sql.raw(`drop trigger ${trigger}${on}`).execute(db);
      if (t.engine === 'postgres') await sql.raw('drop function run_steps_release_head()').execute(db);
      // the not-due mark becomes a due time again: the claim's own check of earlier steps keeps the order
      await sql.raw(`update run_steps set next_at = updated_at where next_at = '${NOT_DUE}'`).execute(db);
    },
  };
}
