import { sql, type Kysely, type Migration } from 'kysely';
import type { ColumnTypes } from '../dialect';

/** The prev_hash of the first audit event. */
const GENESIS_HASH = '0'.repeat(64);

const REQUEST_STATUSES = [
  'pending-approval',
  'approved',
  'rejected',
  'cancelled',
  'expired',
  'queued',
  'running',
  'waiting',
  'done',
  'failed',
  'rolled-back',
];

/**
 * 0002: requests, their decisions and card copies, and the hash-chained audit log.
 *
 * The value lists are spelled out here (not imported from schema.ts) so this migration stays what it
 * was when it shipped; a later status needs a later migration.
 *
 * Audit log integrity in the database itself (both engines):
 * - UPDATE and DELETE on audit_events are refused by triggers (and TRUNCATE on PostgreSQL);
 * - every INSERT must extend the chain: its seq is the head's last_seq + 1 and its prev_hash the head's
 *   last_hash; the same trigger moves the head (audit_chain_head, one row) to the new event;
 * - the head may only move forward one event at a time and cannot be deleted.
 * Hashes themselves are computed and verified by the application (audit-log.ts).
 */
export function requestsAndAudit(t: ColumnTypes): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('requests')
        .addColumn('id', t.integer, t.identity)
        .addColumn('reference', t.text, (c) => c.notNull().unique())
        .addColumn('kind', t.text, (c) => c.notNull())
        .addColumn('status', t.text, (c) => c.notNull().check(sqlIn('status', REQUEST_STATUSES)))
        .addColumn('version', t.integer, (c) => c.notNull().check(sql`${sql.ref('version')} >= 1`))
        .addColumn('stage', t.integer, (c) => c.notNull().check(sql`${sql.ref('stage')} >= 1`))
        .addColumn('requester_aad_object_id', t.text, (c) => c.notNull())
        .addColumn('requester_name', t.text, (c) => c.notNull())
        .addColumn('tenant_id', t.text, (c) => c.notNull())
        .addColumn('values_json', t.json, (c) => c.notNull())
        .addColumn('request_json', t.json, (c) => c.notNull())
        .addColumn('plan_json', t.json)
        .addColumn('created_at', t.timestamp, (c) => c.notNull())
        .addColumn('updated_at', t.timestamp, (c) => c.notNull())
        .addColumn('decided_at', t.timestamp)
        .addColumn('decided_by', t.text)
        .addColumn('decided_by_name', t.text)
        .addColumn('decision_reason', t.text)
        .addColumn('remind_at', t.timestamp)
        .addColumn('reminded_at', t.timestamp)
        .addColumn('expires_at', t.timestamp)
        .addColumn('result_json', t.json)
        .addColumn('error', t.text)
        .addCheckConstraint('requests_reference_is_id', sql`${sql.ref('reference')} = 'R-' || ${sql.ref('id')}`)
        .execute();
      // listByRequester: newest first
      await db.schema.createIndex('requests_requester_idx').on('requests').columns(['requester_aad_object_id', 'id']).execute();
      // listByStatus: oldest first
      await db.schema.createIndex('requests_status_idx').on('requests').columns(['status', 'id']).execute();
      // dueForReminder / dueForExpiry: only pending requests are indexed
      await db.schema
        .createIndex('requests_remind_idx')
        .on('requests')
        .columns(['remind_at', 'id'])
        .where(sql.ref('status'), '=', 'pending-approval')
        .execute();
      await db.schema
        .createIndex('requests_expiry_idx')
        .on('requests')
        .columns(['expires_at', 'id'])
        .where(sql.ref('status'), '=', 'pending-approval')
        .execute();

      await db.schema
        .createTable('request_decisions')
        .addColumn('id', t.integer, t.identity)
        .addColumn('request_id', t.integer, (c) => c.notNull().references('requests.id'))
        .addColumn('stage', t.integer, (c) => c.notNull().check(sql`${sql.ref('stage')} >= 1`))
        .addColumn('approver_aad_object_id', t.text, (c) => c.notNull())
        .addColumn('approver_name', t.text, (c) => c.notNull())
        .addColumn('decision', t.text, (c) => c.notNull().check(sqlIn('decision', ['approve', 'reject'])))
        .addColumn('reason', t.text)
        .addColumn('at', t.timestamp, (c) => c.notNull())
        .addColumn('request_version', t.integer, (c) => c.notNull())
        // One decision per request version: a version is decided once (see RequestRepository.transition).
        .addUniqueConstraint('request_decisions_version_unique', ['request_id', 'request_version'])
        .execute();

      await db.schema
        .createTable('request_cards')
        .addColumn('id', t.integer, t.identity)
        .addColumn('request_id', t.integer, (c) => c.notNull().references('requests.id'))
        .addColumn('audience', t.text, (c) => c.notNull().check(sqlIn('audience', ['requester', 'approver', 'channel'])))
        .addColumn('aad_object_id', t.text)
        .addColumn('conversation_id', t.text, (c) => c.notNull())
        .addColumn('activity_id', t.text, (c) => c.notNull())
        .addColumn('created_at', t.timestamp, (c) => c.notNull())
        // Leading request_id: also serves list(requestId).
        .addUniqueConstraint('request_cards_copy_unique', ['request_id', 'conversation_id', 'activity_id'])
        .execute();

      await db.schema
        .createTable('audit_events')
        .addColumn('seq', t.integer, (c) => c.primaryKey().check(sql`${sql.ref('seq')} >= 1`))
        .addColumn('at', t.timestamp, (c) => c.notNull())
        .addColumn('actor_aad_object_id', t.text)
        .addColumn('actor_name', t.text, (c) => c.notNull())
        .addColumn('request_ref', t.text)
        .addColumn('event', t.text, (c) => c.notNull())
        .addColumn('data', t.json, (c) => c.notNull())
        .addColumn('prev_hash', t.text, (c) => c.notNull().check(sql`length(${sql.ref('prev_hash')}) = 64`))
        .addColumn('hash', t.text, (c) => c.notNull().check(sql`length(${sql.ref('hash')}) = 64`))
        .execute();
      await db.schema.createIndex('audit_events_request_idx').on('audit_events').columns(['request_ref', 'seq']).execute();

      await db.schema
        .createTable('audit_chain_head')
        .addColumn('id', t.integer, (c) => c.primaryKey().check(sql`${sql.ref('id')} = 1`))
        .addColumn('last_seq', t.integer, (c) => c.notNull())
        .addColumn('last_hash', t.text, (c) => c.notNull())
        .execute();
      await sql`insert into audit_chain_head (id, last_seq, last_hash) values (1, 0, ${sql.lit(GENESIS_HASH)})`.execute(db);

      for (const statement of t.engine === 'postgres' ? POSTGRES_TRIGGERS : SQLITE_TRIGGERS) {
        await sql.raw(statement).execute(db);
      }
    },
    async down(db: Kysely<unknown>): Promise<void> {
      if (t.engine === 'postgres') {
        await sql.raw('drop function audit_refuse_change() cascade').execute(db);
        await sql.raw('drop function audit_link_event() cascade').execute(db);
        await sql.raw('drop function audit_guard_head() cascade').execute(db);
      }
      for (const table of ['audit_chain_head', 'audit_events', 'request_cards', 'request_decisions', 'requests']) {
        await db.schema.dropTable(table).execute();
      }
    },
  };
}

const POSTGRES_TRIGGERS: readonly string[] = [
  `create function audit_refuse_change() returns trigger language plpgsql as $$
begin
  raise exception '% is append-only: % is refused', tg_table_name, tg_op using errcode = 'restrict_violation';
end
$$`,
  `create function audit_link_event() returns trigger language plpgsql as $$
declare
  head_seq integer;
  head_hash text;
begin
  select last_seq, last_hash into head_seq, head_hash from audit_chain_head where id = 1 for update;
  if head_seq is null then
    raise exception 'audit_chain_head is missing: the audit log cannot be extended' using errcode = 'restrict_violation';
  end if;
  if new.seq <> head_seq + 1 or new.prev_hash <> head_hash then
    raise exception 'audit event % does not extend the chain (last event is %)', new.seq, head_seq using errcode = 'restrict_violation';
  end if;
  update audit_chain_head set last_seq = new.seq, last_hash = new.hash where id = 1;
  return new;
end
$$`,
  `create function audit_guard_head() returns trigger language plpgsql as $$
begin
  if new.id <> old.id or new.last_seq <> old.last_seq + 1 then
    raise exception 'audit_chain_head only moves forward one event at a time' using errcode = 'restrict_violation';
  end if;
  return new;
end
$$`,
  'create trigger audit_events_link before insert on audit_events for each row execute function audit_link_event()',
  'create trigger audit_events_no_update before update on audit_events for each row execute function audit_refuse_change()',
  'create trigger audit_events_no_delete before delete on audit_events for each row execute function audit_refuse_change()',
  'create trigger audit_events_no_truncate before truncate on audit_events for each statement execute function audit_refuse_change()',
  'create trigger audit_chain_head_guard before update on audit_chain_head for each row execute function audit_guard_head()',
  'create trigger audit_chain_head_no_delete before delete on audit_chain_head for each row execute function audit_refuse_change()',
  'create trigger audit_chain_head_no_truncate before truncate on audit_chain_head for each statement execute function audit_refuse_change()',
];

const SQLITE_TRIGGERS: readonly string[] = [
  `create trigger audit_events_link before insert on audit_events
begin
  select raise(abort, 'audit event does not extend the chain')
  where not exists (select 1 from audit_chain_head h where h.id = 1 and new.seq = h.last_seq + 1 and new.prev_hash = h.last_hash);
end`,
  `create trigger audit_events_advance_head after insert on audit_events
begin
  update audit_chain_head set last_seq = new.seq, last_hash = new.hash where id = 1;
end`,
  `create trigger audit_events_no_update before update on audit_events
begin
  select raise(abort, 'audit_events is append-only: UPDATE is refused');
end`,
  `create trigger audit_events_no_delete before delete on audit_events
begin
  select raise(abort, 'audit_events is append-only: DELETE is refused');
end`,
  `create trigger audit_chain_head_guard before update on audit_chain_head
when new.id <> old.id or new.last_seq <> old.last_seq + 1
begin
  select raise(abort, 'audit_chain_head only moves forward one event at a time');
end`,
  `create trigger audit_chain_head_no_delete before delete on audit_chain_head
begin
  select raise(abort, 'audit_chain_head is append-only: DELETE is refused');
end`,
];

function sqlIn(column: string, values: readonly (string | number)[]) {
  return sql`${sql.ref(column)} in (${sql.join(values.map((v) => sql.lit(v)))})`;
}
