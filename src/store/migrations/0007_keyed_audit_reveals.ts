import { sql, type Kysely, type Migration } from 'kysely';
import type { ColumnTypes } from '../dialect';

/**
 * 0007: the keyed audit chain and the durable hiding of revealed passwords.
 *
 * - `audit_events.alg`: how the event's hash was made. Events written before this migration are `sha256` (the
 *   unkeyed chain of 0002, still verifiable as what they were); from now on Mailroom writes `hmac-sha256` events
 *   under a key kept outside the database (see audit-log.ts). The first keyed event after unkeyed ones is a marked
 *   re-anchor event (`audit.chain-keyed`), found through a small partial index.
 * - `audit_events.request_prev_hash`: the hash of the previous event of the same request (64 zeros for its first),
 *   covered by the event's HMAC, so one request's trail is verified on its own, without reading the whole log.
 * - `secret_reveals`: a password shown to its requester, and when the card that shows it must be updated to hide it
 *   (a durable timer: claimed under a lease like the outbox, so a restart or a second instance loses nothing).
 *
 * Adding columns is not an UPDATE: the append-only triggers of 0002 are not involved.
 */
export function keyedAuditAndReveals(t: ColumnTypes): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .alterTable('audit_events')
        .addColumn('alg', t.text, (c) => c.notNull().defaultTo('sha256').check(sql`${sql.ref('alg')} in ('sha256', 'hmac-sha256')`))
        .execute();
      await db.schema
        .alterTable('audit_events')
        .addColumn('request_prev_hash', t.text, (c) => c.check(sql`${sql.ref('request_prev_hash')} is null or length(${sql.ref('request_prev_hash')}) = 64`))
        .execute();
      await db.schema
        .createIndex('audit_events_anchor_idx')
        .on('audit_events')
        .column('seq')
        .where(sql.ref('event'), '=', 'audit.chain-keyed')
        .execute();

      await db.schema
        .createTable('secret_reveals')
        .addColumn('id', t.integer, t.identity)
        .addColumn('request_id', t.integer, (c) => c.notNull().references('requests.id'))
        .addColumn('conversation_id', t.text, (c) => c.notNull())
        .addColumn('activity_id', t.text, (c) => c.notNull())
        .addColumn('revealed_at', t.timestamp, (c) => c.notNull())
        .addColumn('revealed_by', t.text, (c) => c.notNull())
        .addColumn('hide_at', t.timestamp, (c) => c.notNull())
        .addColumn('attempts', t.integer, (c) => c.notNull().check(sql`${sql.ref('attempts')} >= 0`))
        .addColumn('claimed_by', t.text)
        .addColumn('claimed_until', t.timestamp)
        .addCheckConstraint('secret_reveals_claim_whole', sql`(${sql.ref('claimed_by')} is null) = (${sql.ref('claimed_until')} is null)`)
        .execute();
      await db.schema.createIndex('secret_reveals_hide_idx').on('secret_reveals').columns(['hide_at', 'id']).execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('secret_reveals').execute();
      await db.schema.dropIndex('audit_events_anchor_idx').execute();
      await db.schema.alterTable('audit_events').dropColumn('request_prev_hash').execute();
      await db.schema.alterTable('audit_events').dropColumn('alg').execute();
    },
  };
}
