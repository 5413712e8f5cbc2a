import { sql, type Kysely, type Migration } from 'kysely';
import type { ColumnTypes } from '../dialect';

/**
 * 0010: batch_cards — where each card of a batch was posted, so it can be updated in place: the preview (updated
 * when the batch is filed), the approvers' copies of its approval card (updated when it is decided) and the
 * requester's progress card (updated as its rows move on).
 *
 * The audience list is spelled out here (not imported from schema.ts) so this migration stays what it was when it
 * shipped. AAD object ids are stored lower-cased (the repository lower-cases them).
 */
export function batchCards(t: ColumnTypes): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('batch_cards')
        .addColumn('id', t.integer, t.identity)
        .addColumn('batch_id', t.integer, (c) => c.notNull().references('batches.id'))
        .addColumn('audience', t.text, (c) => c.notNull().check(sql`${sql.ref('audience')} in ('preview', 'approver', 'progress')`))
        .addColumn('aad_object_id', t.text)
        .addColumn('conversation_id', t.text, (c) => c.notNull().check(sql`length(${sql.ref('conversation_id')}) >= 1`))
        .addColumn('activity_id', t.text, (c) => c.notNull().check(sql`length(${sql.ref('activity_id')}) >= 1`))
        .addColumn('created_at', t.timestamp, (c) => c.notNull())
        .addUniqueConstraint('batch_cards_place_unique', ['batch_id', 'conversation_id', 'activity_id'])
        .execute();
      await db.schema.createIndex('batch_cards_batch_idx').on('batch_cards').columns(['batch_id', 'audience', 'id']).execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropIndex('batch_cards_batch_idx').execute();
      await db.schema.dropTable('batch_cards').execute();
    },
  };
}
