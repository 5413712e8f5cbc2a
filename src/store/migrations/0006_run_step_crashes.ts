import { sql, type Kysely, type Migration } from 'kysely';
import type { ColumnTypes } from '../dialect';

/**
 * 0006: what a crash leaves behind on a run step.
 * - `abandoned`: tries (and polls) that never ended, counted when a claim takes a step over from a lease that ran out.
 *   The runner stops a step after a few (see runner.ts, MAX_ABANDONED) instead of starting it for ever.
 * - `intent_json`: what a try was about to do, written before the effect (e.g. "assign this licence, which the user did
 *   not have"). A later try that finds the effect in place knows it may be its own, so a roll back removes it.
 */
export function runStepCrashes(t: ColumnTypes): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .alterTable('run_steps')
        .addColumn('abandoned', t.integer, (c) => c.notNull().defaultTo(0).check(sql`${sql.ref('abandoned')} >= 0`))
        .execute();
      await db.schema.alterTable('run_steps').addColumn('intent_json', t.json).execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('run_steps').dropColumn('intent_json').execute();
      await db.schema.alterTable('run_steps').dropColumn('abandoned').execute();
    },
  };
}
