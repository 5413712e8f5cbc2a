import type { Kysely, Migration } from 'kysely';
import type { ColumnTypes } from '../dialect';

/**
 * 0012: request_names — the names an open request takes when it runs (its logon name, sign-in name, alias,
 * addresses, the DN of the object it creates), one key per name ("sam:…", "address:…"), so a request filed before
 * another has run does not pick the same ones. A request that has ended holds nothing (the look-up joins its status).
 */
export function requestNames(t: ColumnTypes): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('request_names')
        .addColumn('name', t.text, (c) => c.notNull())
        .addColumn('request_id', t.integer, (c) => c.notNull().references('requests.id'))
        .addPrimaryKeyConstraint('request_names_pk', ['name', 'request_id'])
        .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('request_names').execute();
    },
  };
}
