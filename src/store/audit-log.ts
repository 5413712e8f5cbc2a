/**
 * The audit log: append-only and hash-chained.
 *
 * Every event has a `seq` (1, 2, 3, … with no gaps), the time from the application clock, the actor, an
 * optional request reference, an event name, a data object, the previous event's hash (`prev_hash`; 64
 * zeros for the first event) and its own hash:
 *
 *   hash = lowercase hex SHA-256 of the UTF-8 bytes of canonicalJson({
 *            seq, at, actorAadObjectId, actorName, requestRef, event, data, prevHash })
 *
 * where canonicalJson is JSON without whitespace, object keys sorted by UTF-16 code unit (JavaScript's
 * default sort) at every depth, strings and numbers as `JSON.stringify` writes them, and absent values
 * as null. The stored `data` column holds canonicalJson(data) itself, so anyone with the rows can
 * recompute the chain with `auditHash`.
 *
 * Appends are serialized so the chain never forks, however many instances append at once:
 * - PostgreSQL: one transaction locks the one-row chain head (`SELECT … FOR UPDATE` on audit_chain_head),
 *   reads the last seq and hash from it, and inserts the event; other appenders wait for the lock.
 * - SQLite: BEGIN IMMEDIATE, read the head, insert, COMMIT — synchronously, in one turn of the event loop.
 * In the database, triggers refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL), refuse an insert that
 * does not extend the chain, and move the head; see migrations/0002.
 *
 * The log refuses data that looks like it carries a secret (a key such as password, secret, token or
 * unicodePwd, a JWT, a PEM private key): callers must leave secrets out or mask them under another key.
 */
import { createHash } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import { decodeJson, encodeTimeInput, encodeTimestamp, sqliteImmediateOf, type EngineConnection } from './dialect';
import { StoreError } from './errors';
import type { AuditEventsTable, Database } from './schema';
import { checkCount, invalid, refuseIfAny } from './validation';

/** The prev_hash of the first event. */
export const AUDIT_GENESIS_HASH = '0'.repeat(64);

export interface AuditEvent {
  seq: number;
  /** ISO 8601 UTC, from the application clock. */
  at: string;
  /** null when the system acted. */
  actorAadObjectId: string | null;
  actorName: string;
  /** `R-<n>`, or null for an event about no request. */
  requestRef: string | null;
  /** e.g. request.created, request.decided, operation.started. */
  event: string;
  /** Keys come back sorted (the canonical form the hash covers). */
  data: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

export interface AuditEventInput {
  /** null for the system. */
  actorAadObjectId: string | null;
  actorName: string;
  requestRef?: string | null;
  event: string;
  /** Default {}. Must be JSON; secrets refused (see above). At most 64 KiB as JSON. */
  data?: Record<string, unknown>;
}

export interface AuditListOptions {
  requestRef?: string;
  /** Only events after this seq (for paging). */
  afterSeq?: number;
  limit: number;
}

export interface AuditExportFilter {
  requestRef?: string;
  afterSeq?: number;
  /** Events at or after this time. */
  from?: Date | string;
  /** Events before this time. */
  to?: Date | string;
}

export type AuditVerifyResult =
  /** `lastHash` is the hash of event `count` (64 zeros for an empty log): keep it elsewhere to anchor the log. */
  | { ok: true; count: number; lastHash: string }
  | { ok: false; brokenAtSeq: number; reason: string };

export interface AuditLog {
  /** Append an event at the end of the chain and return it as stored. */
  append(event: AuditEventInput): Promise<AuditEvent>;
  /** Events in seq order, optionally about one request and after a seq. */
  list(opts: AuditListOptions): Promise<AuditEvent[]>;
  /**
   * Check the whole chain up to the chain head as it was when the check began: seq continuity from 1,
   * every prev_hash link, every hash recomputed, and that the last event is the one the head records (a
   * removed tail is found). Reads in pages, so memory does not grow with the log.
   */
  verify(opts?: { pageSize?: number }): Promise<AuditVerifyResult>;
  /**
   * Write matching events as CSV (RFC 4180: CRLF line ends, fields with `"` `,` CR or LF quoted, quotes
   * doubled) with a header row, in pages, awaiting `write` for each chunk. A cell that starts with
   * = + - @ TAB or CR gets a leading `'` so a spreadsheet shows it as text instead of running it as a
   * formula. Returns the number of events written.
   */
  exportCsv(write: (chunk: string) => void | Promise<void>, filter?: AuditExportFilter): Promise<number>;
}

/** JSON with object keys sorted at every depth and no whitespace; see the file comment. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const text = JSON.stringify(value) as string | undefined;
    return text ?? 'null';
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const key of Object.keys(obj).sort()) {
    if (obj[key] === undefined) continue;
    parts.push(`${JSON.stringify(key)}:${canonicalJson(obj[key])}`);
  }
  return `{${parts.join(',')}}`;
}

/** The hash of an event from its other fields; see the file comment. */
export function auditHash(e: Omit<AuditEvent, 'hash'>): string {
  const canonical = canonicalJson({
    seq: e.seq,
    at: e.at,
    actorAadObjectId: e.actorAadObjectId,
    actorName: e.actorName,
    requestRef: e.requestRef,
    event: e.event,
    data: e.data,
    prevHash: e.prevHash,
  });
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}

const MAX_DATA_CHARS = 64 * 1024;
const EVENT_NAME = /^[a-z][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)*$/;
const REQUEST_REF = /^R-[1-9]\d{0,9}$/;
/** Key names (lowercase, letters and digits only) that say the value is a secret. */
const SECRET_KEY = /password|passwd|passphrase|secret|token|pwd$|apikey|privatekey|authorization|connectionstring/;
const JWT = /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\./;
const PEM_PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

/** Where in `data` a secret seems to be; undefined when none. Never returns the value. */
function findSecret(value: unknown, at: string): string | undefined {
  if (typeof value === 'string') {
    if (JWT.test(value)) return `${at} looks like a token (JWT)`;
    if (PEM_PRIVATE_KEY.test(value)) return `${at} holds a private key`;
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findSecret(value[i], `${at}[${i}]`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  for (const [key, v] of Object.entries(value)) {
    const path = `${at}.${key}`;
    if (SECRET_KEY.test(key.toLowerCase().replace(/[^a-z0-9]/g, ''))) return `${path} is named like a secret`;
    const found = findSecret(v, path);
    if (found !== undefined) return found;
  }
  return undefined;
}

interface Prepared {
  actorAadObjectId: string | null;
  actorName: string;
  requestRef: string | null;
  event: string;
  data: Record<string, unknown>;
  dataText: string;
}

function prepare(input: AuditEventInput): Prepared {
  const problems: string[] = [];
  const what = typeof input?.event === 'string' ? `Audit event ${JSON.stringify(input.event)}` : 'The audit event';
  if (typeof input !== 'object' || input === null) invalid(`${what} was not stored`, ['it must be an object']);
  if (typeof input.event !== 'string' || input.event.length > 100 || !EVENT_NAME.test(input.event)) {
    problems.push('event must be a dotted lowercase name such as request.created');
  }
  if (typeof input.actorName !== 'string' || input.actorName === '') problems.push('actorName must be a non-empty string');
  if (input.actorAadObjectId !== null && (typeof input.actorAadObjectId !== 'string' || input.actorAadObjectId === '')) {
    problems.push('actorAadObjectId must be a non-empty string, or null for the system');
  }
  const requestRef = input.requestRef ?? null;
  if (requestRef !== null && (typeof requestRef !== 'string' || !REQUEST_REF.test(requestRef))) {
    problems.push(`requestRef must look like R-12 (got ${JSON.stringify(requestRef)})`);
  }
  const raw = input.data ?? {};
  let data: Record<string, unknown> = {};
  let dataText = '{}';
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    problems.push('data must be a JSON object');
  } else {
    try {
      // Through JSON once, so what is hashed is exactly what a reader gets back (toJSON applied,
      // undefined dropped).
      data = JSON.parse(JSON.stringify(raw)) as Record<string, unknown>;
      dataText = canonicalJson(data);
    } catch (err) {
      problems.push(`data cannot be stored as JSON (${err instanceof Error ? err.message : String(err)})`);
    }
    if (dataText.length > MAX_DATA_CHARS) problems.push(`data is ${dataText.length} characters as JSON; the limit is ${MAX_DATA_CHARS}`);
    const secret = findSecret(data, 'data');
    if (secret !== undefined) problems.push(`${secret}: the audit log never stores secrets — leave it out or mask it under another key`);
  }
  refuseIfAny(`${what} was not stored`, problems);
  return {
    actorAadObjectId: input.actorAadObjectId,
    actorName: input.actorName,
    requestRef,
    event: input.event,
    data: JSON.parse(dataText) as Record<string, unknown>,
    dataText,
  };
}

type Row = Selectable<AuditEventsTable>;

function toEvent(row: Row): AuditEvent {
  return {
    seq: Number(row.seq),
    at: row.at,
    actorAadObjectId: row.actor_aad_object_id,
    actorName: row.actor_name,
    requestRef: row.request_ref,
    event: row.event,
    data: decodeJson(row.data) as Record<string, unknown>,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

function toRow(e: AuditEvent, dataText: string): Row {
  return {
    seq: e.seq,
    at: e.at,
    actor_aad_object_id: e.actorAadObjectId,
    actor_name: e.actorName,
    request_ref: e.requestRef,
    event: e.event,
    data: dataText,
    prev_hash: e.prevHash,
    hash: e.hash,
  };
}

const CSV_COLUMNS = ['seq', 'at', 'actor_aad_object_id', 'actor_name', 'request_ref', 'event', 'data', 'prev_hash', 'hash'] as const;

/** One CSV field: formula-looking text neutralised, then quoted when RFC 4180 requires it. */
function csvCell(value: string | number | null): string {
  if (value === null) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function csvLine(row: Row): string {
  return `${CSV_COLUMNS.map((c) => csvCell(row[c])).join(',')}\r\n`;
}

const PAGE_SIZE = 1_000;

export function createAuditLog(conn: Pick<EngineConnection, 'engine' | 'db' | 'sqliteImmediate'>, now: () => Date): AuditLog {
  const db: Kysely<Database> = conn.db;

  /** Seq, time and hashes for the next event after `head`, taken while the chain is locked. */
  const next = (p: Prepared, head: { last_seq: number | string; last_hash: string } | undefined): AuditEvent => {
    if (head === undefined) {
      throw new StoreError('query-failed', 'The audit chain head (audit_chain_head) is missing, so the audit log cannot be extended; restore the database from a backup.');
    }
    const partial = {
      seq: Number(head.last_seq) + 1,
      at: encodeTimestamp(now()),
      actorAadObjectId: p.actorAadObjectId,
      actorName: p.actorName,
      requestRef: p.requestRef,
      event: p.event,
      data: p.data,
      prevHash: head.last_hash,
    };
    return { ...partial, hash: auditHash(partial) };
  };

  const selectHead = db.selectFrom('audit_chain_head').select(['last_seq', 'last_hash']).where('id', '=', 1);

  let appendOnEngine: (p: Prepared) => Promise<AuditEvent>;
  const immediate = sqliteImmediateOf(conn, 'the audit log cannot serialize appends');
  if (immediate !== undefined) {
    const headQuery = selectHead.compile();
    appendOnEngine = (p) =>
      immediate((statement) => {
        const head = statement(headQuery.sql).get(...headQuery.parameters) as { last_seq: number; last_hash: string } | undefined;
        const event = next(p, head);
        const insert = db.insertInto('audit_events').values(toRow(event, p.dataText)).compile();
        statement(insert.sql).run(...insert.parameters);
        return event;
      });
  } else {
    appendOnEngine = (p) =>
      db.transaction().execute(async (tx) => {
        const head = await tx.selectFrom('audit_chain_head').select(['last_seq', 'last_hash']).where('id', '=', 1).forUpdate().executeTakeFirst();
        const event = next(p, head);
        await tx.insertInto('audit_events').values(toRow(event, p.dataText)).execute();
        return event;
      });
  }

  const checkSeq = (v: unknown, what: string): number => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new StoreError('invalid-record', `${what} must be a non-negative integer (got ${JSON.stringify(v)}).`);
    return v;
  };

  return {
    async append(input) {
      return appendOnEngine(prepare(input));
    },

    async list(opts) {
      const limit = checkCount(opts?.limit, 'limit', 10_000, 'Audit list');
      let q = db.selectFrom('audit_events').selectAll();
      if (opts.requestRef !== undefined) q = q.where('request_ref', '=', opts.requestRef);
      if (opts.afterSeq !== undefined) q = q.where('seq', '>', checkSeq(opts.afterSeq, 'afterSeq'));
      const rows = await q.orderBy('seq').limit(limit).execute();
      return rows.map(toEvent);
    },

    async verify(opts = {}) {
      const pageSize = opts.pageSize ?? PAGE_SIZE;
      if (!Number.isSafeInteger(pageSize) || pageSize < 1) invalid('verify', ['pageSize must be a positive integer']);
      // Events appended after this point are outside the check; the head bounds it.
      const head = await selectHead.executeTakeFirst();
      const headSeq = head === undefined ? undefined : Number(head.last_seq);
      let expected = 1;
      let prevHash = AUDIT_GENESIS_HASH;
      for (;;) {
        let q = db.selectFrom('audit_events').selectAll().where('seq', '>=', expected);
        if (headSeq !== undefined) q = q.where('seq', '<=', headSeq);
        const rows = await q.orderBy('seq').limit(pageSize).execute();
        for (const row of rows) {
          const seq = Number(row.seq);
          if (seq !== expected) {
            return { ok: false, brokenAtSeq: expected, reason: `event ${expected} is missing (the next stored event is ${seq})` };
          }
          if (row.prev_hash !== prevHash) {
            return {
              ok: false,
              brokenAtSeq: seq,
              reason: seq === 1 ? 'the first event does not start from the genesis hash' : `prev_hash does not match the hash of event ${seq - 1}`,
            };
          }
          let data: Record<string, unknown>;
          try {
            data = JSON.parse(row.data) as Record<string, unknown>;
          } catch {
            return { ok: false, brokenAtSeq: seq, reason: 'data is not valid JSON' };
          }
          const recomputed = auditHash({
            seq,
            at: row.at,
            actorAadObjectId: row.actor_aad_object_id,
            actorName: row.actor_name,
            requestRef: row.request_ref,
            event: row.event,
            data,
            prevHash: row.prev_hash,
          });
          if (recomputed !== row.hash) return { ok: false, brokenAtSeq: seq, reason: "the hash does not match the event's contents: the event was changed" };
          prevHash = row.hash;
          expected += 1;
        }
        if (rows.length < pageSize) break;
      }
      const count = expected - 1;
      if (headSeq === undefined) {
        return { ok: false, brokenAtSeq: count + 1, reason: `the chain head (audit_chain_head) is missing, so events after ${count} may have been removed` };
      }
      if (count < headSeq) {
        return { ok: false, brokenAtSeq: count + 1, reason: `events ${count + 1} to ${headSeq} are missing: the chain head records ${headSeq} events` };
      }
      if (head?.last_hash !== prevHash) {
        return { ok: false, brokenAtSeq: headSeq, reason: `the chain head's hash does not match event ${headSeq}` };
      }
      return { ok: true, count, lastHash: prevHash };
    },

    async exportCsv(write, filter = {}) {
      let q = db.selectFrom('audit_events').selectAll();
      if (filter.requestRef !== undefined) q = q.where('request_ref', '=', filter.requestRef);
      if (filter.from !== undefined) q = q.where('at', '>=', encodeTimeInput(filter.from, 'from'));
      if (filter.to !== undefined) q = q.where('at', '<', encodeTimeInput(filter.to, 'to'));
      let after = filter.afterSeq === undefined ? 0 : checkSeq(filter.afterSeq, 'afterSeq');
      await write(`${CSV_COLUMNS.join(',')}\r\n`);
      let count = 0;
      for (;;) {
        const rows = await q.where('seq', '>', after).orderBy('seq').limit(PAGE_SIZE).execute();
        if (rows.length > 0) await write(rows.map(csvLine).join(''));
        count += rows.length;
        const last = rows.at(-1);
        if (last === undefined || rows.length < PAGE_SIZE) break;
        after = Number(last.seq);
      }
      return count;
    },
  };
}
