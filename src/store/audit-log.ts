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
 * Keyed chain (migration 0007). Given a key (kept outside the database: AUDIT_KEY, or derived from SECRET_KEY), the
 * log writes `hmac-sha256` events: hash = lowercase hex HMAC-SHA256(key, canonicalJson({ alg, seq, at,
 * actorAadObjectId, actorName, requestRef, event, data, prevHash, requestPrevHash })), where requestPrevHash is the
 * hash of the previous event about the same request (64 zeros for its first; null for events about no request). An
 * unkeyed SHA-256 chain can be rewritten and recomputed by anyone who can write to the database; a keyed one only by
 * whoever holds the key. Events written before there was a key stay `sha256` and verify as what they were: the first
 * keyed event after them is the marked re-anchor event `audit.chain-keyed` (written when a keyed store opens), whose
 * HMAC covers the last unkeyed hash, so the unkeyed prefix can no longer be rewritten either. After the anchor every
 * event must be keyed. Because requestPrevHash links one request's events, `verifyRequest` checks one request's
 * trail from its own rows only, without reading (or revealing the size of) the rest of the log.
 *
 * The log refuses data that looks like it carries a secret (a key such as password, secret, token or
 * unicodePwd, a JWT, a PEM private key): callers must leave secrets out or mask them under another key.
 */
import { createHash, createHmac } from 'node:crypto';
import type { Insertable, Kysely, Selectable } from 'kysely';
import { compiledSqlOnce, decodeJson, encodeTimeInput, encodeTimestamp, sqliteImmediateOf, type EngineConnection, type SqliteStatements } from './dialect';
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
  /** How `hash` was made: unkeyed SHA-256 (events from before the chain was keyed) or HMAC-SHA256; always set when read. */
  alg?: AuditAlg;
  /** Keyed events about a request: the hash of its previous event (64 zeros for its first); otherwise null. Always set when read. */
  requestPrevHash?: string | null;
}

export type AuditAlg = 'sha256' | 'hmac-sha256';

/** The event name of the re-anchor event: the first keyed event after unkeyed ones. */
export const AUDIT_ANCHOR_EVENT = 'audit.chain-keyed';

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
  /**
   * `lastHash` is the hash of event `count` (64 zeros for an empty log): keep it elsewhere to anchor the log.
   * `keyed`: the chain ends in keyed (HMAC) events, or is empty and will be keyed; `legacyEvents`: how many unkeyed
   * events precede the re-anchor event.
   */
  | { ok: true; count: number; lastHash: string; keyed?: boolean; legacyEvents?: number }
  | { ok: false; brokenAtSeq: number; reason: string };

/**
 * One request's trail checked on its own (`verifyRequest`): positions are 1-based within the trail, never global
 * sequence numbers, so the answer says nothing of the rest of the log.
 */
export type AuditTrailCheck =
  | { ok: true; events: number; keyed: number; legacy: number }
  | { ok: false; brokenAt: number; reason: string };

/** The last event of the chain, to publish outside the database (the admins' chat, or the log). */
export interface AuditHead {
  seq: number;
  hash: string;
  alg: AuditAlg | null;
  /** When the last event was written; null for an empty log. */
  at: string | null;
}

/**
 * Writes of the store made in one transaction with an audit event (see {@link AuditLog.appendAlong}): the same change
 * for each engine. SQLite: synchronous statements inside the append's BEGIN IMMEDIATE; PostgreSQL: queries on the
 * append's transaction, which holds the chain head locked.
 */
export interface AlongChange<T> {
  sqlite(statement: SqliteStatements): T;
  postgres(tx: Kysely<Database>): Promise<T>;
}

export interface AuditLog {
  /** Append an event at the end of the chain and return it as stored. */
  append(event: AuditEventInput): Promise<AuditEvent>;
  /**
   * Append an event and make `change` in the same transaction: both are stored, or neither (a change that throws
   * undoes the event, and the caller gets the error). For the store's repositories, whose writes and their audit
   * events must not part (a step's outcome).
   */
  appendAlong<T>(event: AuditEventInput, change: AlongChange<T>): Promise<{ event: AuditEvent; value: T }>;
  /** Events in seq order, optionally about one request and after a seq. */
  list(opts: AuditListOptions): Promise<AuditEvent[]>;
  /**
   * Check the whole chain up to the chain head as it was when the check began: seq continuity from 1,
   * every prev_hash link, every hash recomputed, and that the last event is the one the head records (a
   * removed tail is found). Reads in pages, so memory does not grow with the log.
   */
  verify(opts?: { pageSize?: number; expect?: { seq: number; hash: string } }): Promise<AuditVerifyResult>;
  /**
   * One request's events in order, checked from those rows alone: each hash (HMAC for keyed events) and each
   * keyed event's link to the request's previous event; unkeyed events must come before the re-anchor event.
   * Reads that request's events and the re-anchor event's position, nothing else.
   */
  verifyRequest(requestRef: string): Promise<{ events: AuditEvent[]; check: AuditTrailCheck }>;
  /** The chain head: the last event's seq and hash. */
  head(): Promise<AuditHead>;
  /**
   * With a key: when the chain ends in unkeyed events, append the re-anchor event (returned); otherwise nothing.
   * The store calls it when it opens.
   */
  anchor(): Promise<AuditEvent | undefined>;
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
  if (value instanceof CanonicalText) return value.text;
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

/** JSON text that is canonical already (an event's data as prepared): {@link canonicalJson} puts it in as it is. */
class CanonicalText {
  constructor(readonly text: string) {}
}

/**
 * The fields an event's hash covers, in canonical form; a keyed event also covers its algorithm and request link.
 * `dataText`: canonicalJson(e.data) when the caller has it already (an append has), so it is not made again.
 */
function canonicalEvent(e: Omit<AuditEvent, 'hash' | 'alg'>, keyed: boolean, dataText?: string): string {
  const data = dataText === undefined ? e.data : new CanonicalText(dataText);
  const fields = { seq: e.seq, at: e.at, actorAadObjectId: e.actorAadObjectId, actorName: e.actorName, requestRef: e.requestRef, event: e.event, data, prevHash: e.prevHash };
  return canonicalJson(keyed ? { alg: 'hmac-sha256', ...fields, requestPrevHash: e.requestPrevHash ?? null } : fields);
}

/** The hash of an event from its other fields; see the file comment. */
export function auditHash(e: Omit<AuditEvent, 'hash' | 'alg' | 'requestPrevHash'>, dataText?: string): string {
  return createHash('sha256').update(canonicalEvent({ ...e, requestPrevHash: null }, false, dataText), 'utf8').digest('hex');
}

/** The HMAC of a keyed event from its other fields; see the file comment. */
export function auditHmac(key: Uint8Array, e: Omit<AuditEvent, 'hash' | 'alg'>, dataText?: string): string {
  return createHmac('sha256', key).update(canonicalEvent(e, true, dataText), 'utf8').digest('hex');
}

const MAX_DATA_CHARS = 64 * 1024;
const EVENT_NAME = /^[a-z][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)*$/;
/** A request (`R-12`) or a batch of requests (`B-3`). */
const REQUEST_REF = /^[RB]-[1-9]\d{0,9}$/;
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
    problems.push(`requestRef must look like R-12 or B-3 (got ${JSON.stringify(requestRef)})`);
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
    alg: row.alg,
    requestPrevHash: row.request_prev_hash,
  };
}

function toRow(e: AuditEvent, dataText: string): Omit<Row, 'alg'> & { alg: AuditAlg } {
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
    alg: e.alg ?? 'sha256',
    request_prev_hash: e.requestPrevHash ?? null,
  };
}

/** The columns of an audit row, in the order the CSV export has them and every insert names them. */
const AUDIT_COLUMNS = ['seq', 'at', 'actor_aad_object_id', 'actor_name', 'request_ref', 'event', 'data', 'prev_hash', 'hash', 'alg', 'request_prev_hash'] as const satisfies readonly (keyof Row)[];

/** One CSV field: formula-looking text neutralised, then quoted when RFC 4180 requires it. */
function csvCell(value: string | number | null): string {
  if (value === null) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function csvLine(row: Row): string {
  return `${AUDIT_COLUMNS.map((c) => csvCell(row[c])).join(',')}\r\n`;
}

const PAGE_SIZE = 1_000;

export interface AuditLogOptions {
  /** The HMAC key of the chain (32 bytes or more), kept outside the database; without it events are unkeyed SHA-256. */
  readonly key?: Uint8Array;
}

type Head = { last_seq: number | string; last_hash: string };
/** The chain head, with the hash of the last event about a request when one was asked for (null: it has none). */
type HeadRead = Head & { request_hash?: string | null };

/** What one locked append needs to read, on either engine. */
interface ChainReads {
  /** The chain head and, for a `requestRef`, the hash of the last event about that request (one read on SQLite). */
  head(requestRef: string | null): HeadRead | undefined | Promise<HeadRead | undefined>;
  algOf(seq: number): AuditAlg | undefined | Promise<AuditAlg | undefined>;
}

/** An event sealed for the chain, and its data as stored (canonical JSON, made once when the event was prepared). */
interface Sealed {
  event: AuditEvent;
  dataText: string;
}

/** Check one stored row against its hash; undefined when it holds, else why not. */
function rowProblem(row: Row, key: Uint8Array | undefined): string | undefined {
  let data: Record<string, unknown>;
  try {
    data = JSON.parse(row.data) as Record<string, unknown>;
  } catch {
    return 'data is not valid JSON';
  }
  const fields = {
    seq: Number(row.seq),
    at: row.at,
    actorAadObjectId: row.actor_aad_object_id,
    actorName: row.actor_name,
    requestRef: row.request_ref,
    event: row.event,
    data,
    prevHash: row.prev_hash,
    requestPrevHash: row.request_prev_hash,
  };
  if (row.alg === 'hmac-sha256') {
    if (key === undefined) return 'the event is keyed (HMAC-SHA256); verifying it needs the audit key (AUDIT_KEY or SECRET_KEY)';
    return auditHmac(key, fields) === row.hash ? undefined : 'its HMAC does not match its contents: the event was changed, or the audit key is not the one that wrote it';
  }
  return auditHash(fields) === row.hash ? undefined : "the hash does not match the event's contents: the event was changed";
}

export function createAuditLog(conn: Pick<EngineConnection, 'engine' | 'db' | 'sqliteImmediate'>, now: () => Date, options: AuditLogOptions = {}): AuditLog {
  const db: Kysely<Database> = conn.db;
  const key = options.key === undefined ? undefined : Buffer.from(options.key);
  if (key !== undefined && key.length < 32) throw new StoreError('invalid-record', 'The audit key must be at least 32 bytes; the audit log was not opened.');
  /** This process has seen the chain end in a keyed event (or start keyed): appends need not look for the anchor. */
  let anchored = false;

  /** The next event after `head`, sealed with the key (or unkeyed without one), and its data as stored. */
  const seal = (p: Prepared, head: Head, requestPrev: string | undefined): Sealed => ({ event: sealEvent(p, head, requestPrev), dataText: p.dataText });
  const sealEvent = (p: Prepared, head: Head, requestPrev: string | undefined): AuditEvent => {
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
    if (key === undefined) return { ...partial, requestPrevHash: null, alg: 'sha256', hash: auditHash(partial, p.dataText) };
    const keyed = { ...partial, requestPrevHash: p.requestRef === null ? null : (requestPrev ?? AUDIT_GENESIS_HASH) };
    return { ...keyed, alg: 'hmac-sha256', hash: auditHmac(key, keyed, p.dataText) };
  };

  const missingHead = (): never => {
    throw new StoreError('query-failed', 'The audit chain head (audit_chain_head) is missing, so the audit log cannot be extended; restore the database from a backup.');
  };

  /** The re-anchor event after the unkeyed `head`. */
  const anchorAfter = (head: Head): Sealed =>
    seal(
      prepare({
        actorAadObjectId: null,
        actorName: 'Mailroom',
        event: AUDIT_ANCHOR_EVENT,
        data: { legacyEvents: Number(head.last_seq), legacyAlg: 'sha256', legacyHeadHash: head.last_hash, alg: 'hmac-sha256' },
      }),
      head,
      undefined,
    );

  /**
   * The events to insert while the chain is locked (PostgreSQL): the re-anchor event first when a keyed log meets
   * an unkeyed head, then `p` (when given). `planSync` below is the same for SQLite, without awaits.
   */
  const plan = async (reads: ChainReads, p: Prepared | undefined): Promise<Sealed[]> => {
    const ref = linkedRef(p);
    const read = (await reads.head(ref)) ?? missingHead();
    let head: Head = read;
    const out: Sealed[] = [];
    if (key !== undefined && !anchored && Number(head.last_seq) > 0 && (await reads.algOf(Number(head.last_seq))) === 'sha256') {
      const anchor = anchorAfter(head);
      out.push(anchor);
      head = { last_seq: anchor.event.seq, last_hash: anchor.event.hash };
    }
    // the re-anchor event is about no request, so the request's last event is the one read with the head
    if (p !== undefined) out.push(seal(p, head, ref === null ? undefined : (read.request_hash ?? undefined)));
    return out;
  };

  /** The request whose previous event a keyed event about it links to; null for none (unkeyed, or about no request). */
  const linkedRef = (p: Prepared | undefined): string | null => (key !== undefined && p !== undefined ? p.requestRef : null);

  const selectHead = db.selectFrom('audit_chain_head').select(['last_seq', 'last_hash']).where('id', '=', 1);
  const selectAlg = (seq: number) => db.selectFrom('audit_events').select('alg').where('seq', '=', seq);
  const selectRequestLast = (ref: string) => db.selectFrom('audit_events').select('hash').where('request_ref', '=', ref).orderBy('seq', 'desc').limit(1);

  let appendOnEngine: <T = undefined>(p: Prepared | undefined, change?: AlongChange<T>) => Promise<{ events: AuditEvent[]; value: T | undefined }>;
  const immediate = sqliteImmediateOf(conn, 'the audit log cannot serialize appends');
  if (immediate !== undefined) {
    // compiled once: building and compiling with Kysely on every append cost more than the statements
    const headQuery = selectHead.compile();
    const headWithRequestQuery = compiledSqlOnce((arg) => selectHead.select(() => selectRequestLast(arg<string>(0)).as('request_hash')));
    const algQuery = compiledSqlOnce((arg) => selectAlg(arg<number>(0)));
    const insertQuery = compiledSqlOnce((arg) => db.insertInto('audit_events').values(Object.fromEntries(AUDIT_COLUMNS.map((c, i) => [c, arg(i)])) as Insertable<AuditEventsTable>));
    appendOnEngine = (p, change) =>
      immediate((statement) => {
        const one = <T>(q: { readonly sql: string; readonly parameters: readonly unknown[] }) => statement(q.sql).get(...q.parameters) as T | undefined;
        const reads: ChainReads = {
          head: (ref) => (ref === null ? one<Head>(headQuery) : one<HeadRead>(headWithRequestQuery(ref))),
          algOf: (seq) => one<{ alg: AuditAlg }>(algQuery(seq))?.alg,
        };
        // Every read is synchronous here: no await inside the lock.
        const sealed = planSync(reads, p);
        for (const { event, dataText } of sealed) {
          const row = toRow(event, dataText);
          const insert = insertQuery(...AUDIT_COLUMNS.map((c) => row[c]));
          statement(insert.sql).run(...insert.parameters);
        }
        return { events: sealed.map((s) => s.event), value: change?.sqlite(statement) };
      });
  } else {
    appendOnEngine = (p, change) =>
      db.transaction().execute(async (tx) => {
        const reads: ChainReads = {
          // the head locked first: the request's last event is read while no other append can add one
          head: async (ref) => {
            const head = await tx.selectFrom('audit_chain_head').select(['last_seq', 'last_hash']).where('id', '=', 1).forUpdate().executeTakeFirst();
            if (head === undefined || ref === null) return head;
            const last = await tx.selectFrom('audit_events').select('hash').where('request_ref', '=', ref).orderBy('seq', 'desc').limit(1).executeTakeFirst();
            return { ...head, request_hash: last?.hash ?? null };
          },
          algOf: async (seq) => (await tx.selectFrom('audit_events').select('alg').where('seq', '=', seq).executeTakeFirst())?.alg,
        };
        const sealed = await plan(reads, p);
        for (const { event, dataText } of sealed) await tx.insertInto('audit_events').values(toRow(event, dataText)).execute();
        return { events: sealed.map((s) => s.event), value: change === undefined ? undefined : await change.postgres(tx) };
      });
  }

  /** The synchronous twin of `plan` for SQLite (same steps, no promises). */
  function planSync(reads: ChainReads, p: Prepared | undefined): Sealed[] {
    const syncOf = <T>(v: T | Promise<T>): T => {
      if (v instanceof Promise) throw new Error('a SQLite read of the audit log was not synchronous');
      return v;
    };
    const ref = linkedRef(p);
    const read = syncOf(reads.head(ref)) ?? missingHead();
    let head: Head = read;
    const out: Sealed[] = [];
    if (key !== undefined && !anchored && Number(head.last_seq) > 0 && syncOf(reads.algOf(Number(head.last_seq))) === 'sha256') {
      const anchor = anchorAfter(head);
      out.push(anchor);
      head = { last_seq: anchor.event.seq, last_hash: anchor.event.hash };
    }
    if (p !== undefined) out.push(seal(p, head, ref === null ? undefined : (read.request_hash ?? undefined)));
    return out;
  }

  const run = async <T = undefined,>(p: Prepared | undefined, change?: AlongChange<T>): Promise<{ events: AuditEvent[]; value: T | undefined }> => {
    const done = await appendOnEngine(p, change);
    if (key !== undefined) anchored = true;
    return done;
  };

  const checkSeq = (v: unknown, what: string): number => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new StoreError('invalid-record', `${what} must be a non-negative integer (got ${JSON.stringify(v)}).`);
    return v;
  };

  /** The seq of the re-anchor event (the first keyed event after unkeyed ones), or undefined. */
  const anchorSeq = async (): Promise<number | undefined> => {
    const row = await db.selectFrom('audit_events').select('seq').where('event', '=', AUDIT_ANCHOR_EVENT).where('alg', '=', 'hmac-sha256').orderBy('seq').limit(1).executeTakeFirst();
    return row === undefined ? undefined : Number(row.seq);
  };

  /** Why an unkeyed event at `seq` is not acceptable here; undefined when it is. */
  const unkeyedProblem = (seq: number, anchor: number | undefined): string | undefined => {
    if (key === undefined) return undefined;
    if (anchor === undefined) return 'the event is not authenticated with the audit key, and no re-anchor event precedes it: the log was written without the key, or rewritten';
    if (seq > anchor) return 'the event is not authenticated with the audit key but comes after the re-anchor event: it was written or rewritten without the key';
    return undefined;
  };

  return {
    async append(input) {
      const prepared = prepare(input);
      const { events } = await run(prepared);
      const event = events.at(-1);
      if (event === undefined) throw new StoreError('query-failed', 'The audit event was not stored.');
      return event;
    },

    async appendAlong<T>(input: AuditEventInput, change: AlongChange<T>) {
      const prepared = prepare(input);
      const { events, value } = await run(prepared, change);
      const event = events.at(-1);
      if (event === undefined) throw new StoreError('query-failed', 'The audit event was not stored.');
      return { event, value: value as T };
    },

    async anchor() {
      if (key === undefined) return undefined;
      const { events } = await run(undefined);
      return events[0];
    },

    async head() {
      const h = await selectHead.executeTakeFirst();
      if (h === undefined) return missingHead();
      const seq = Number(h.last_seq);
      if (seq === 0) return { seq: 0, hash: h.last_hash, alg: null, at: null };
      const row = await db.selectFrom('audit_events').select(['alg', 'at']).where('seq', '=', seq).executeTakeFirst();
      return { seq, hash: h.last_hash, alg: row?.alg ?? null, at: row?.at ?? null };
    },

    async list(opts) {
      const limit = checkCount(opts?.limit, 'limit', 10_000, 'Audit list');
      let q = db.selectFrom('audit_events').selectAll();
      if (opts.requestRef !== undefined) q = q.where('request_ref', '=', opts.requestRef);
      if (opts.afterSeq !== undefined) q = q.where('seq', '>', checkSeq(opts.afterSeq, 'afterSeq'));
      const rows = await q.orderBy('seq').limit(limit).execute();
      return rows.map(toEvent);
    },

    async verifyRequest(requestRef) {
      if (typeof requestRef !== 'string' || !REQUEST_REF.test(requestRef)) invalid('The trail was not read', [`requestRef must look like R-12 or B-3 (got ${JSON.stringify(requestRef)})`]);
      const anchor = key === undefined ? undefined : await anchorSeq();
      const rows: Row[] = [];
      let after = 0;
      for (;;) {
        const page = await db.selectFrom('audit_events').selectAll().where('request_ref', '=', requestRef).where('seq', '>', after).orderBy('seq').limit(PAGE_SIZE).execute();
        rows.push(...page);
        const last = page.at(-1);
        if (last === undefined || page.length < PAGE_SIZE) break;
        after = Number(last.seq);
      }
      const events = rows.map(toEvent);
      let prev = AUDIT_GENESIS_HASH;
      let keyed = 0;
      let legacy = 0;
      let sawKeyed = false;
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i]!;
        const n = i + 1;
        if (row.alg === 'sha256') {
          if (sawKeyed) return { events, check: { ok: false, brokenAt: n, reason: 'an unkeyed event follows a keyed one in this trail: it was written or rewritten without the audit key' } };
          const problem = unkeyedProblem(Number(row.seq), anchor) ?? rowProblem(row, key);
          if (problem !== undefined) return { events, check: { ok: false, brokenAt: n, reason: problem } };
          legacy += 1;
        } else {
          const problem = rowProblem(row, key);
          if (problem !== undefined) return { events, check: { ok: false, brokenAt: n, reason: problem } };
          if (row.request_prev_hash !== prev) {
            return { events, check: { ok: false, brokenAt: n, reason: "its link to the request's previous event does not match: an event of this request was removed, reordered or inserted" } };
          }
          sawKeyed = true;
          keyed += 1;
        }
        prev = row.hash;
      }
      return { events, check: { ok: true, events: rows.length, keyed, legacy } };
    },

    async verify(opts = {}) {
      const pageSize = opts.pageSize ?? PAGE_SIZE;
      if (!Number.isSafeInteger(pageSize) || pageSize < 1) invalid('verify', ['pageSize must be a positive integer']);
      const expect = opts.expect;
      if (expect !== undefined && (!Number.isSafeInteger(expect.seq) || expect.seq < 1 || !/^[0-9a-f]{64}$/.test(expect.hash))) {
        invalid('verify', ['expect must be an event number (1 or more) and a 64-character lowercase hex hash']);
      }
      // Events appended after this point are outside the check; the head bounds it.
      const head = await selectHead.executeTakeFirst();
      const headSeq = head === undefined ? undefined : Number(head.last_seq);
      const anchor = key === undefined ? undefined : await anchorSeq();
      let expected = 1;
      let prevHash = AUDIT_GENESIS_HASH;
      let prevAlg: AuditAlg | undefined;
      let legacyEvents = 0;
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
          if (row.alg === 'sha256') {
            const problem = unkeyedProblem(seq, anchor);
            if (problem !== undefined) return { ok: false, brokenAtSeq: seq, reason: problem };
            if (prevAlg === 'hmac-sha256') return { ok: false, brokenAtSeq: seq, reason: 'an unkeyed event follows a keyed one: it was written or rewritten without the audit key' };
            legacyEvents += 1;
          } else if (prevAlg === 'sha256' && row.event !== AUDIT_ANCHOR_EVENT) {
            return { ok: false, brokenAtSeq: seq, reason: `the first keyed event after unkeyed ones must be the re-anchor event (${AUDIT_ANCHOR_EVENT})` };
          }
          const problem = rowProblem(row, key);
          if (problem !== undefined) return { ok: false, brokenAtSeq: seq, reason: problem };
          if (expect !== undefined && seq === expect.seq && row.hash !== expect.hash) {
            return { ok: false, brokenAtSeq: seq, reason: `the hash of event ${seq} is not the one published for it: the log was rewritten` };
          }
          prevHash = row.hash;
          prevAlg = row.alg;
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
      if (expect !== undefined && expect.seq > count) {
        return { ok: false, brokenAtSeq: expect.seq, reason: `event ${expect.seq} was published, but the log ends at event ${count}: events were removed` };
      }
      // Without a key the answer is the unkeyed one it always was; `keyed` and `legacyEvents` come with a key.
      if (key === undefined) return { ok: true, count, lastHash: prevHash };
      return { ok: true, count, lastHash: prevHash, keyed: count === 0 || prevAlg === 'hmac-sha256', legacyEvents };
    },

    async exportCsv(write, filter = {}) {
      let q = db.selectFrom('audit_events').selectAll();
      if (filter.requestRef !== undefined) q = q.where('request_ref', '=', filter.requestRef);
      if (filter.from !== undefined) q = q.where('at', '>=', encodeTimeInput(filter.from, 'from'));
      if (filter.to !== undefined) q = q.where('at', '<', encodeTimeInput(filter.to, 'to'));
      let after = filter.afterSeq === undefined ? 0 : checkSeq(filter.afterSeq, 'afterSeq');
      await write(`${AUDIT_COLUMNS.join(',')}\r\n`);
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
