import type { Kysely, Migration } from 'kysely';
import { sql } from 'kysely';
import type { ColumnTypes } from '../dialect';

/**
 * 0015: a person's personal chat is found by an index of its own. SQLite never chose the partial index of 0001 (on
 * person and tenant, `where conversation_type = 'personal'`): the tenant-and-type index matches as many columns of the
 * condition, so each look-up read every personal chat of the tenant (a tenant of 5,000 people: 5,000 rows for each
 * message Mailroom sends). The new index covers the whole condition: the person, the tenant and the type.
 */
export function conversationPersonIndex(_t: ColumnTypes): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropIndex('conversation_refs_personal_idx').ifExists().execute();
      await db.schema.createIndex('conversation_refs_person_idx').on('conversation_refs').columns(['user_aad_object_id', 'tenant_id', 'conversation_type']).execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropIndex('conversation_refs_person_idx').execute();
      await db.schema
        .createIndex('conversation_refs_personal_idx')
        .on('conversation_refs')
        .columns(['user_aad_object_id', 'tenant_id'])
        .where(sql.ref('conversation_type'), '=', 'personal')
        .execute();
    },
  };
}
