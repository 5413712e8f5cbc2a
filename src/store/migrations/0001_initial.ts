import { sql, type Kysely, type Migration } from 'kysely';
import type { ColumnTypes } from '../dialect';

/**
 * 0001: conversation references, one row per Teams conversation the bot has been installed in.
 * Kysely keeps its own bookkeeping in `kysely_migration` and `kysely_migration_lock`.
 */
export function initial(t: ColumnTypes): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('conversation_refs')
        .addColumn('conversation_id', t.text, (c) => c.primaryKey())
        .addColumn('conversation_type', t.text, (c) =>
          c.notNull().check(sqlIn('conversation_type', ['personal', 'groupChat', 'channel'])),
        )
        .addColumn('tenant_id', t.text, (c) => c.notNull())
        .addColumn('service_url', t.text, (c) => c.notNull())
        .addColumn('user_aad_object_id', t.text)
        .addColumn('channel_id', t.text)
        .addColumn('team_id', t.text)
        .addColumn('reference_json', t.json, (c) => c.notNull())
        .addColumn('bot_installed', t.boolean, (c) => c.notNull().check(sqlIn('bot_installed', [0, 1])))
        .addColumn('revision', t.integer, (c) => c.notNull())
        .addColumn('created_at', t.timestamp, (c) => c.notNull())
        .addColumn('updated_at', t.timestamp, (c) => c.notNull())
        .execute();
      // personalFor(user, tenant)
      await db.schema
        .createIndex('conversation_refs_personal_idx')
        .on('conversation_refs')
        .columns(['user_aad_object_id', 'tenant_id'])
        .where(sql.ref('conversation_type'), '=', 'personal')
        .execute();
      // list({ tenantId, conversationType })
      await db.schema
        .createIndex('conversation_refs_tenant_type_idx')
        .on('conversation_refs')
        .columns(['tenant_id', 'conversation_type'])
        .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('conversation_refs').execute();
    },
  };
}

function sqlIn(column: string, values: readonly (string | number)[]) {
  return sql`${sql.ref(column)} in (${sql.join(values.map((v) => sql.lit(v)))})`;
}
