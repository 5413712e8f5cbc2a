import { sql, type Kysely, type Migration } from 'kysely';
import type { ColumnTypes } from '../dialect';

/**
 * 0005: the notification outbox (`outbox`). The runner records what people must hear of a request (its cards changed,
 * and the message to its requester, if any) here, in the store, instead of calling Teams; a sender drains it
 * (see `src/workflow/notification-outbox.ts`). A row is deleted once sent; `attempts` counts the claims, so a
 * notification that cannot be delivered is given up after a few.
 */
export function outbox(t: ColumnTypes): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('outbox')
        .addColumn('id', t.integer, t.identity)
        .addColumn('request_id', t.integer, (c) => c.notNull().references('requests.id'))
        .addColumn('message', t.text)
        .addColumn('created_at', t.timestamp, (c) => c.notNull())
        .addColumn('attempts', t.integer, (c) => c.notNull().check(sql`${sql.ref('attempts')} >= 0`))
        .addColumn('claimed_by', t.text)
        .addColumn('claimed_until', t.timestamp)
        .addCheckConstraint('outbox_claim_whole', sql`(${sql.ref('claimed_by')} is null) = (${sql.ref('claimed_until')} is null)`)
        .execute();
      await db.schema.createIndex('outbox_request_idx').on('outbox').columns(['request_id', 'id']).execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('outbox').execute();
    },
  };
}
