import { sql, type Kysely, type Migration } from 'kysely';
import type { ColumnTypes } from '../dialect';

/**
 * 0011: filing a batch survives a crash.
 *
 * - `requests.batch_line`: the line of the batch's file a request was filed from, unique per batch, so a row is filed
 *   once whoever files it (the filing that was interrupted, or the one that takes it up again).
 * - `batches.filing_done_at`: when every row was filed and the approvers were asked. A filed batch without it was
 *   interrupted while filing (or is being filed now: its `updated_at` moves on while it is). Batches filed before
 *   this migration count as done.
 */
export function batchFiling(t: ColumnTypes): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .alterTable('requests')
        .addColumn('batch_line', t.integer, (c) => c.check(sql`${sql.ref('batch_line')} >= 1`))
        .execute();
      // NULLs never clash: requests outside a batch (and rows filed before this migration) have none.
      await db.schema.createIndex('requests_batch_line_unique').on('requests').columns(['batch_id', 'batch_line']).unique().execute();
      await db.schema.alterTable('batches').addColumn('filing_done_at', t.timestamp).execute();
      await sql`update batches set filing_done_at = coalesce(filed_at, updated_at) where status <> 'preview'`.execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('batches').dropColumn('filing_done_at').execute();
      await db.schema.dropIndex('requests_batch_line_unique').execute();
      await db.schema.alterTable('requests').dropColumn('batch_line').execute();
    },
  };
}
