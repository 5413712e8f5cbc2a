import { sql, type Kysely, type Migration } from 'kysely';
import type { ColumnTypes } from '../dialect';

/**
 * 0008: who else may decide a request, and settings changed at run time.
 *
 * - `request_approvers`: the extra approvers of a request's stage (its requester's manager, the owner of what is
 *   asked for, someone it was reassigned or escalated to, a delegate), one row per (request, stage, user). `seq`
 *   keeps the order they were added in (the next number within the request, taken in the INSERT itself).
 * - `approval_delegations`: one running delegation per delegator (`from`), until a time; looked up both ways.
 * - `settings`: values (JSON text) by key, with who changed them last and when.
 *
 * AAD object ids are stored lower-cased (the repositories lower-case them on write and on lookup).
 */
export function approvalsReach(t: ColumnTypes): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('request_approvers')
        .addColumn('request_id', t.integer, (c) => c.notNull().references('requests.id'))
        .addColumn('stage', t.integer, (c) => c.notNull().check(sql`${sql.ref('stage')} >= 1`))
        .addColumn('aad_object_id', t.text, (c) => c.notNull().check(sql`length(${sql.ref('aad_object_id')}) >= 1`))
        .addColumn('name', t.text, (c) => c.notNull())
        .addColumn('why', t.text, (c) => c.notNull().check(sql`${sql.ref('why')} in ('manager', 'owner', 'reassigned', 'escalated', 'delegate')`))
        .addColumn('seq', t.integer, (c) => c.notNull())
        .addColumn('added_at', t.timestamp, (c) => c.notNull())
        .addColumn('added_by', t.text)
        .addPrimaryKeyConstraint('request_approvers_pk', ['request_id', 'stage', 'aad_object_id'])
        .execute();
      await db.schema.createIndex('request_approvers_order_idx').on('request_approvers').columns(['request_id', 'seq']).execute();

      await db.schema
        .createTable('approval_delegations')
        .addColumn('from_aad_object_id', t.text, (c) => c.primaryKey().check(sql`length(${sql.ref('from_aad_object_id')}) >= 1`))
        .addColumn('from_name', t.text, (c) => c.notNull())
        .addColumn('to_aad_object_id', t.text, (c) => c.notNull().check(sql`length(${sql.ref('to_aad_object_id')}) >= 1`))
        .addColumn('to_name', t.text, (c) => c.notNull())
        .addColumn('until', t.timestamp, (c) => c.notNull())
        .addColumn('created_at', t.timestamp, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('approval_delegations_to_idx').on('approval_delegations').columns(['to_aad_object_id', 'until']).execute();

      await db.schema
        .createTable('settings')
        .addColumn('key', t.text, (c) => c.primaryKey().check(sql`length(${sql.ref('key')}) between 1 and 200`))
        .addColumn('value_json', t.json, (c) => c.notNull())
        .addColumn('updated_at', t.timestamp, (c) => c.notNull())
        .addColumn('updated_by', t.text)
        .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('settings').execute();
      await db.schema.dropTable('approval_delegations').execute();
      await db.schema.dropTable('request_approvers').execute();
    },
  };
}
