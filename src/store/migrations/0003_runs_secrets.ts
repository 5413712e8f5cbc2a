import { sql, type Kysely, type Migration } from 'kysely';
import type { ColumnTypes } from '../dialect';

const RUN_STEP_STATUSES = ['pending', 'running', 'waiting', 'done', 'failed', 'skipped', 'cancelled'];

/**
 * 0003: the durable workflow's steps (`run_steps`, one row per step of an approved request's plan) and
 * the secret vault (`secrets`, ciphertext taken once).
 *
 * The status list is spelled out here (not imported from schema.ts) so this migration stays what it
 * was when it shipped.
 *
 * The two partial indexes carry exactly the predicates the claim queries repeat literally
 * (run-repository.ts), so both engines can use them: runnable steps (pending, or running under a lease
 * that may have expired) and waiting steps, each by due time.
 */
export function runsAndSecrets(t: ColumnTypes): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('run_steps')
        .addColumn('id', t.integer, t.identity)
        .addColumn('request_id', t.integer, (c) => c.notNull().references('requests.id'))
        .addColumn('step_index', t.integer, (c) => c.notNull().check(sql`${sql.ref('step_index')} >= 0`))
        .addColumn('step_id', t.text, (c) => c.notNull())
        .addColumn('action', t.text, (c) => c.notNull())
        .addColumn('system', t.text, (c) => c.notNull())
        .addColumn('input_json', t.json, (c) => c.notNull())
        .addColumn('status', t.text, (c) => c.notNull().check(sqlIn('status', RUN_STEP_STATUSES)))
        .addColumn('attempts', t.integer, (c) => c.notNull().check(sql`${sql.ref('attempts')} >= 0`))
        .addColumn('next_at', t.timestamp, (c) => c.notNull())
        .addColumn('lease_owner', t.text)
        .addColumn('lease_until', t.timestamp)
        .addColumn('result_json', t.json)
        .addColumn('error', t.text)
        .addColumn('started_at', t.timestamp)
        .addColumn('finished_at', t.timestamp)
        .addColumn('updated_at', t.timestamp, (c) => c.notNull())
        // Leading request_id: also serves listByRequest and the "no earlier unfinished step" probe.
        .addUniqueConstraint('run_steps_request_index_unique', ['request_id', 'step_index'])
        // A lease is an owner and an end, or neither; a running step always has one.
        .addCheckConstraint('run_steps_lease_whole', sql`(${sql.ref('lease_owner')} is null) = (${sql.ref('lease_until')} is null)`)
        .addCheckConstraint('run_steps_running_leased', sql`${sql.ref('status')} <> 'running' or ${sql.ref('lease_owner')} is not null`)
        .execute();
      await db.schema
        .createIndex('run_steps_runnable_idx')
        .on('run_steps')
        .columns(['next_at', 'id'])
        .where(sqlIn('status', ['pending', 'running']))
        .execute();
      await db.schema
        .createIndex('run_steps_waiting_idx')
        .on('run_steps')
        .columns(['next_at', 'id'])
        .where(sql.ref('status'), '=', 'waiting')
        .execute();

      await db.schema
        .createTable('secrets')
        .addColumn('request_id', t.integer, (c) => c.notNull().references('requests.id'))
        .addColumn('name', t.text, (c) => c.notNull())
        .addColumn('ciphertext', t.text, (c) => c.notNull())
        .addColumn('created_at', t.timestamp, (c) => c.notNull())
        .addPrimaryKeyConstraint('secrets_pk', ['request_id', 'name'])
        .execute();
      // purgeOlderThan
      await db.schema.createIndex('secrets_created_idx').on('secrets').column('created_at').execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('secrets').execute();
      await db.schema.dropTable('run_steps').execute();
    },
  };
}

function sqlIn(column: string, values: readonly (string | number)[]) {
  return sql<boolean>`${sql.ref(column)} in (${sql.join(values.map((v) => sql.lit(v)))})`;
}
