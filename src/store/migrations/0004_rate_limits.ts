import { sql, type Kysely, type Migration } from 'kysely';
import type { ColumnTypes } from '../dialect';

/**
 * 0004: rate limits shared by every instance on one database (`rate_limits`, one row per limited key, e.g.
 * Graph provisionOnDemand per Cloud Sync job).
 *
 * A row holds the key's sliding window itself: `slots_json` is a JSON array of the ISO 8601 times of the
 * calls still inside the window (at most the limit: older times are dropped whenever a slot is taken), and
 * `blocked_until` a shared Retry-After (null when none was seen). So the table has one small row per key
 * and never grows with the number of calls. Takes lock the key's row (see rate-limit-repository.ts).
 */
export function rateLimits(t: ColumnTypes): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('rate_limits')
        .addColumn('key', t.text, (c) => c.primaryKey().check(sql`length(${sql.ref('key')}) between 1 and 500`))
        .addColumn('slots_json', t.json, (c) => c.notNull())
        .addColumn('blocked_until', t.timestamp)
        .addColumn('updated_at', t.timestamp, (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('rate_limits').execute();
    },
  };
}
