import { sql, type Kysely, type Migration } from 'kysely';
import type { ColumnTypes } from '../dialect';

/**
 * 0014: a decision on a batch survives a crash. `batch_decisions` keeps each decision pressed on a batch (who, as what,
 * approve or reject, the reason) while its rows are decided one by one: `going_on_at` moves on while it runs, `done_at`
 * is set when every row the decider may decide was decided and people were told. One that stood still is taken up
 * again (each row still waiting is decided as a single decision is, checked again), at most `attempts` times.
 */
export function batchDecisions(t: ColumnTypes): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('batch_decisions')
        .addColumn('id', t.integer, (c) => t.identity(c))
        .addColumn('batch_id', t.integer, (c) => c.notNull().references('batches.id'))
        .addColumn('actor_aad_object_id', t.text, (c) => c.notNull())
        .addColumn('actor_name', t.text, (c) => c.notNull())
        .addColumn('tenant_id', t.text, (c) => c.notNull())
        .addColumn('is_admin', t.boolean, (c) => c.notNull().check(sql`${sql.ref('is_admin')} in (0, 1)`))
        .addColumn('outcome', t.text, (c) => c.notNull().check(sql`${sql.ref('outcome')} in ('approve', 'reject')`))
        .addColumn('reason', t.text)
        .addColumn('attempts', t.integer, (c) => c.notNull().check(sql`${sql.ref('attempts')} >= 1`))
        .addColumn('started_at', t.timestamp, (c) => c.notNull())
        .addColumn('going_on_at', t.timestamp, (c) => c.notNull())
        .addColumn('done_at', t.timestamp)
        .execute();
      await db.schema
        .createIndex('batch_decisions_open_idx')
        .on('batch_decisions')
        .columns(['going_on_at', 'id'])
        .where(sql.ref('done_at'), 'is', null)
        .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('batch_decisions').execute();
    },
  };
}
