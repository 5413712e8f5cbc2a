import { sql, type Kysely, type Migration } from 'kysely';
import type { ColumnTypes } from '../dialect';

/**
 * 0009: batches — several requests filed together from one upload.
 *
 * - `batches`: one row per batch (`B-<id>`), from its preview until it is filed and then finished (or cancelled).
 *   `version` is the optimistic-concurrency token (as on requests): 1 after the insert, +1 on every transition.
 *   `rows_json` holds the batch's rows (JSON text), `summary` what people are shown of it.
 * - `requests.batch_id`: the batch a request was filed in, null for a request on its own (every request before 0009).
 *
 * The status list is spelled out here (not imported from schema.ts) so this migration stays what it was when it
 * shipped. AAD object ids are stored lower-cased (the repository lower-cases them).
 */
export function batches(t: ColumnTypes): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('batches')
        .addColumn('id', t.integer, t.identity)
        .addColumn('kind', t.text, (c) => c.notNull().check(sql`length(${sql.ref('kind')}) >= 1`))
        .addColumn('requester_aad_object_id', t.text, (c) => c.notNull().check(sql`length(${sql.ref('requester_aad_object_id')}) >= 1`))
        .addColumn('requester_name', t.text, (c) => c.notNull())
        .addColumn('tenant_id', t.text, (c) => c.notNull())
        .addColumn('status', t.text, (c) => c.notNull().check(sql`${sql.ref('status')} in ('preview', 'filed', 'finished', 'cancelled')`))
        .addColumn('version', t.integer, (c) => c.notNull().defaultTo(1).check(sql`${sql.ref('version')} >= 1`))
        .addColumn('rows_json', t.json, (c) => c.notNull())
        .addColumn('summary', t.text, (c) => c.notNull())
        .addColumn('created_at', t.timestamp, (c) => c.notNull())
        .addColumn('updated_at', t.timestamp, (c) => c.notNull())
        .addColumn('filed_at', t.timestamp)
        .addColumn('finished_at', t.timestamp)
        .execute();

      await db.schema
        .alterTable('requests')
        .addColumn('batch_id', t.integer, (c) => c.references('batches.id'))
        .execute();
      // listByBatch: a batch's requests in id order.
      await db.schema.createIndex('requests_batch_idx').on('requests').columns(['batch_id', 'id']).execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropIndex('requests_batch_idx').execute();
      await db.schema.alterTable('requests').dropColumn('batch_id').execute();
      await db.schema.dropTable('batches').execute();
    },
  };
}
