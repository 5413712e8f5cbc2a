import { CompiledQuery, sql, type Kysely, type Selectable } from 'kysely';
import { compiledOnce, compiledSqlOnce, decodeJson, decodeNullableJson, encodeTimeInput, encodeTimestamp, keptByShape, sqliteImmediateOf, type EngineConnection, type TimeInput } from './dialect';
import { toDecisionRecord, validateDecision, type DecisionInput, type DecisionRecord } from './decision-repository';
import { StoreError, writeForBatch, writeForRequest } from './errors';
import { MAX_NOTICE_MESSAGE } from './outbox-repository';
import { REQUEST_STATUSES, type Database, type RequestDecisionsTable, type RequestStatus, type RequestsTable } from './schema';
import { checkCount, invalid, isId, jsonText, MAX_ID, refuseIfAny } from './validation';

export { REQUEST_STATUSES, type RequestStatus } from './schema';
export type { TimeInput } from './dialect';

/** A recipient request as stored. JSON fields come back exactly as they were given (key order kept). */
export interface RequestRecord {
  id: number;
  /** `R-<id>`, what people type and see. */
  reference: string;
  kind: string;
  status: RequestStatus;
  /** 1 after create, +1 on every transition. Pass it back to transition() to change the request. */
  version: number;
  /** Approval stage, 1-based. */
  stage: number;
  requesterAadObjectId: string;
  requesterName: string;
  tenantId: string;
  /** What the requester typed. */
  values: Record<string, unknown>;
  /** The validated domain object. */
  request: unknown;
  /** null until planned. */
  plan: unknown;
  /** ISO 8601 UTC. */
  createdAt: string;
  updatedAt: string;
  decidedAt: string | null;
  /** Entra (AAD) object id of who decided. */
  decidedBy: string | null;
  decidedByName: string | null;
  decisionReason: string | null;
  remindAt: string | null;
  remindedAt: string | null;
  expiresAt: string | null;
  /** null until there is one. */
  result: unknown;
  error: string | null;
  /** The batch (`B-<id>`) the request was filed in; null for a request on its own. */
  batchId: number | null;
  /** The line of the batch's file it was filed from; null outside a batch. */
  batchLine: number | null;
}

export interface RequestInput {
  kind: string;
  requesterAadObjectId: string;
  requesterName: string;
  tenantId: string;
  values: Record<string, unknown>;
  /** Any JSON value except null. */
  request: unknown;
  /** Default 'pending-approval'. */
  status?: RequestStatus;
  /** Default 1. */
  stage?: number;
  /** Default null. */
  plan?: unknown;
  remindAt?: TimeInput | null;
  expiresAt?: TimeInput | null;
  /** The batch the request is filed in (it must exist); none when left out. */
  batchId?: number;
  /**
   * The line of the batch's file it is filed from (with `batchId` only). A line is filed once: a second request for
   * the same line of the same batch throws `conflict` and is not stored.
   */
  batchLine?: number;
}

/**
 * The fields a transition may change. A field left out (or undefined) is kept; null clears a nullable
 * field. `updatedAt` always moves to now and `version` always goes up by one.
 */
export interface RequestPatch {
  status?: RequestStatus;
  stage?: number;
  decidedAt?: TimeInput | null;
  decidedBy?: string | null;
  decidedByName?: string | null;
  decisionReason?: string | null;
  remindAt?: TimeInput | null;
  remindedAt?: TimeInput | null;
  expiresAt?: TimeInput | null;
  result?: unknown;
  error?: string | null;
  plan?: unknown;
}

/** `ok: false` means the request was no longer at the expected version; `current` is what it is now. */
export type TransitionResult = { ok: true; record: RequestRecord } | { ok: false; current: RequestRecord };

/** An approver's decision as {@link RequestRepository.decide} takes it: the request and its version are the transition's. */
export type DecisionTransitionInput = Omit<DecisionInput, 'requestId' | 'requestVersion'>;

/**
 * The outcome of {@link RequestRepository.decide}: the request moved and the decision stored (together), or
 * nothing written because the request changed first (`changed`, `current` is what it is now) or because the
 * approver already decided on this request (`decided-before`, with that decision).
 */
export type DecisionTransitionResult =
  | { ok: true; record: RequestRecord; decision: DecisionRecord }
  | { ok: false; code: 'changed'; current: RequestRecord }
  | { ok: false; code: 'decided-before'; current: RequestRecord; earlier: DecisionRecord };

export interface RequestListOptions {
  /** Only requests in one of these statuses; all statuses when left out. */
  statuses?: readonly RequestStatus[];
  limit: number;
}

/** An open request that holds a name (see {@link RequestRepository.holdersOfNames}). */
export interface NameHolder {
  readonly key: string;
  readonly reference: string;
  readonly kind: string;
  readonly status: RequestStatus;
  readonly requesterName: string;
}

/** Statuses of requests that will not run again: they hold no names. */
const ENDED_STATUSES: readonly RequestStatus[] = ['done', 'rejected', 'expired', 'cancelled', 'rolled-back'];
const MAX_NAME_KEYS = 500;
/** How many shapes of a request's update, and of the look-up of names' holders (by number of names), are kept compiled. */
const MAX_UPDATE_SHAPES = 64;
const MAX_KEPT_NAME_QUERIES = 16;
const MAX_NAME_KEY = 1_000;

/** What {@link RequestRepository.countByBatch} answers. */
export interface BatchCounts {
  readonly total: number;
  readonly byStatus: Partial<Record<RequestStatus, number>>;
  readonly failed: readonly { readonly reference: string; readonly error: string | null }[];
}

export interface RequestRepository {
  /** Store a new request; its id and `R-<id>` reference are allocated atomically. */
  create(input: RequestInput): Promise<RequestRecord>;
  /** By id (12) or reference (`R-12`, `r-12`, `12`); undefined when there is no such request. */
  get(idOrRef: number | string): Promise<RequestRecord | undefined>;
  /**
   * Only the status and version of a request (undefined when there is none): enough to tell whether a record read
   * earlier is still the latest, without reading and decoding the whole row again.
   */
  versionOf(id: number): Promise<{ status: RequestStatus; version: number } | undefined>;
  /** The requester's requests, newest first. */
  listByRequester(aadObjectId: string, opts: RequestListOptions): Promise<RequestRecord[]>;
  /** Requests in any of `statuses`, oldest first. */
  listByStatus(statuses: readonly RequestStatus[], opts: { limit: number }): Promise<RequestRecord[]>;
  /** The requests filed in batch `batchId`, in id order ([] for an unknown batch). */
  listByBatch(batchId: number): Promise<RequestRecord[]>;
  /**
   * How many requests of batch `batchId` stand in each status (one grouped count, no rows read), with the first
   * `failedListed` failed ones (id order) and their errors. Statuses no request is in are left out.
   */
  countByBatch(batchId: number, failedListed?: number): Promise<BatchCounts>;
  /**
   * Records the names request `id` takes when it runs (keys like "sam:mgarcia", lower-cased; see src/requests/claims.ts).
   * Idempotent. A request that does not exist throws `not-found`, bad keys `invalid-record` (nothing written).
   */
  holdNames(id: number, keys: readonly string[]): Promise<void>;
  /** The open requests (every status but done, rejected, expired, cancelled, rolled-back) that hold any of `keys`: one entry per key held. */
  holdersOfNames(keys: readonly string[]): Promise<NameHolder[]>;
  /**
   * Change a request if, and only if, it is still at `expectedVersion`: one atomic statement
   * (`UPDATE … WHERE id = ? AND version = ? RETURNING`). Of several concurrent transitions from the same
   * version exactly one succeeds; the others get `{ ok: false, current }` with the winner's changes
   * (who decided, when), so a replayed or late card action is refused. Throws `not-found` for an
   * unknown id.
   *
   * `notice`: what people must hear of the change (the request's cards, and a message to its requester or
   * none), left in the notification outbox in the same transaction: a change that happened is never left
   * untold, and nothing is told of a change that did not.
   */
  transition(id: number, expectedVersion: number, patch: RequestPatch, notice?: { message: string | null }): Promise<TransitionResult>;
  /**
   * An approver's decision and the move it causes (next stage, approved, rejected), as one transaction: the
   * request changes if, and only if, it is still at `expectedVersion` AND the approver has no decision on it yet
   * (read inside the same transaction, with the request locked); the decision is stored at that version in the
   * same transaction. Either both are written or neither is: a failure between them (a crash, a full disk)
   * leaves the request as it was, so an approver of one stage can never pass as a new face for the next.
   * Throws `not-found` for an unknown id, `invalid-record` for a bad decision or patch.
   */
  decide(id: number, expectedVersion: number, patch: RequestPatch, decision: DecisionTransitionInput): Promise<DecisionTransitionResult>;
  /**
   * Pending-approval requests whose `remindAt` has come (<= now) and that have not been reminded since
   * (`remindedAt` null or before `remindAt`), earliest first. Set `remindedAt` (or move `remindAt`)
   * after reminding.
   */
  dueForReminder(now: Date, opts?: { limit?: number }): Promise<RequestRecord[]>;
  /** Pending-approval requests whose `expiresAt` has come (<= now), earliest first. */
  dueForExpiry(now: Date, opts?: { limit?: number }): Promise<RequestRecord[]>;
}

const DEFAULT_DUE_LIMIT = 500;
const MAX_LIMIT = 10_000;

/** The id in `12`, `R-12` or `r-12` (surrounding spaces allowed); undefined when it is not one. */
export function parseRequestId(idOrRef: number | string): number | undefined {
  let n: number;
  if (typeof idOrRef === 'number') {
    n = idOrRef;
  } else if (typeof idOrRef === 'string') {
    const m = /^\s*(?:[Rr]-)?(\d{1,10})\s*$/.exec(idOrRef);
    if (m?.[1] === undefined) return undefined;
    n = Number(m[1]);
  } else {
    return undefined;
  }
  return Number.isSafeInteger(n) && n >= 1 && n <= MAX_ID ? n : undefined;
}

/** The reference of request `id`. */
export function requestReference(id: number): string {
  return `R-${id}`;
}

type Row = Selectable<RequestsTable>;
type DecisionRow = Selectable<RequestDecisionsTable>;

function toRecord(row: Row): RequestRecord {
  return {
    id: Number(row.id),
    reference: row.reference,
    kind: row.kind,
    status: row.status,
    version: Number(row.version),
    stage: Number(row.stage),
    requesterAadObjectId: row.requester_aad_object_id,
    requesterName: row.requester_name,
    tenantId: row.tenant_id,
    values: decodeJson(row.values_json) as Record<string, unknown>,
    request: decodeJson(row.request_json),
    plan: decodeNullableJson(row.plan_json),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    decidedAt: row.decided_at,
    decidedBy: row.decided_by,
    decidedByName: row.decided_by_name,
    decisionReason: row.decision_reason,
    remindAt: row.remind_at,
    remindedAt: row.reminded_at,
    expiresAt: row.expires_at,
    result: decodeNullableJson(row.result_json),
    error: row.error,
    batchId: row.batch_id === null ? null : Number(row.batch_id),
    batchLine: row.batch_line === null ? null : Number(row.batch_line),
  };
}

class Problems {
  readonly list: string[] = [];
  add(p: string): void {
    this.list.push(p);
  }
  text(key: string, v: unknown): void {
    if (typeof v !== 'string' || v === '') this.add(`${key} must be a non-empty string`);
  }
  nullableText(key: string, v: unknown): void {
    if (v !== null && typeof v !== 'string') this.add(`${key} must be a string or null`);
  }
  status(key: string, v: unknown): void {
    if (!(REQUEST_STATUSES as readonly unknown[]).includes(v)) {
      this.add(`${key} must be one of ${REQUEST_STATUSES.join(', ')} (got ${JSON.stringify(v)})`);
    }
  }
  positiveInteger(key: string, v: unknown): void {
    if (!isId(v)) this.add(`${key} must be a positive integer (got ${JSON.stringify(v)})`);
  }
  /** JSON text of v; null for null when `nullable`. */
  json(key: string, v: unknown, nullable: boolean): string | null {
    if (v === null) {
      if (!nullable) this.add(`${key} must not be null`);
      return null;
    }
    const { text, problem } = jsonText(v, key);
    if (problem !== undefined) this.add(problem);
    return text ?? null;
  }
  time(key: string, v: TimeInput | null): string | null {
    if (v === null) return null;
    try {
      return encodeTimeInput(v, key);
    } catch (err) {
      this.add(err instanceof Error ? err.message.replace(/\.$/, '') : String(err));
      return null;
    }
  }
  throwIfAny(what: string): void {
    refuseIfAny(`${what} was not stored`, this.list);
  }
}

function checkLimit(limit: unknown, what: string): number {
  return checkCount(limit, 'limit', MAX_LIMIT, what);
}

function checkStatuses(statuses: unknown, what: string): readonly RequestStatus[] {
  if (!Array.isArray(statuses) || statuses.some((s) => !(REQUEST_STATUSES as readonly unknown[]).includes(s))) {
    invalid(what, [`statuses must be a list of ${REQUEST_STATUSES.join(', ')} (got ${JSON.stringify(statuses)})`]);
  }
  return statuses as RequestStatus[];
}

const PATCH_KEYS = new Set<string>([
  'status',
  'stage',
  'decidedAt',
  'decidedBy',
  'decidedByName',
  'decisionReason',
  'remindAt',
  'remindedAt',
  'expiresAt',
  'result',
  'error',
  'plan',
]);

type RowChanges = Partial<Omit<Row, 'id' | 'reference' | 'version' | 'created_at'>>;

/** The update of a request's row that applies only at `expectedVersion` and moves the version on (returns the new row). */
function versionedUpdate(q: Kysely<Database>, id: number, expectedVersion: number, changes: RowChanges, at: string) {
  return q
    .updateTable('requests')
    .set((eb) => ({ ...changes, version: eb(eb.ref('version'), '+', 1), updated_at: at }))
    .where('id', '=', id)
    .where('version', '=', expectedVersion)
    .returningAll();
}

function patchToChanges(id: number, patch: RequestPatch): RowChanges {
  const p = new Problems();
  if (typeof patch !== 'object' || patch === null) {
    p.add('the patch must be an object');
    p.throwIfAny(`The change to request ${id}`);
  }
  const unknown = Object.keys(patch).filter((k) => !PATCH_KEYS.has(k));
  if (unknown.length > 0) p.add(`unknown field${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`);
  const c: RowChanges = {};
  if (patch.status !== undefined) {
    p.status('status', patch.status);
    c.status = patch.status;
  }
  if (patch.stage !== undefined) {
    p.positiveInteger('stage', patch.stage);
    c.stage = patch.stage;
  }
  if (patch.decidedAt !== undefined) c.decided_at = p.time('decidedAt', patch.decidedAt);
  if (patch.remindAt !== undefined) c.remind_at = p.time('remindAt', patch.remindAt);
  if (patch.remindedAt !== undefined) c.reminded_at = p.time('remindedAt', patch.remindedAt);
  if (patch.expiresAt !== undefined) c.expires_at = p.time('expiresAt', patch.expiresAt);
  for (const [key, column] of [
    ['decidedBy', 'decided_by'],
    ['decidedByName', 'decided_by_name'],
    ['decisionReason', 'decision_reason'],
    ['error', 'error'],
  ] as const) {
    const v = patch[key];
    if (v === undefined) continue;
    p.nullableText(key, v);
    c[column] = v;
  }
  if (patch.plan !== undefined) c.plan_json = p.json('plan', patch.plan, true);
  if (patch.result !== undefined) c.result_json = p.json('result', patch.result, true);
  p.throwIfAny(`The change to request ${id}`);
  return c;
}

export function createRequestRepository(conn: Pick<EngineConnection, 'engine' | 'db' | 'sqliteImmediate'>, now: () => Date): RequestRepository {
  const { db, engine } = conn;
  const immediate = sqliteImmediateOf(conn, 'a change and its notice cannot be written together');
  /**
   * The next id, computed inside the INSERT itself on SQLite: a write statement holds the database's
   * write lock from start to end, so two writers (connections or processes) never read the same value.
   * The AUTOINCREMENT counter is consulted too, so an id is never reused even after a deletion.
   */
  const sqliteNextId = sql<number>`(select max(coalesce((select seq from sqlite_sequence where name = 'requests'), 0), coalesce((select max(id) from requests), 0)) + 1)`;

  /** The query of pending-approval requests whose `column` time has come (<= now), earliest first. */
  const pendingDue = (column: 'remind_at' | 'expires_at', now: Date, opts: { limit?: number }, what: string) => {
    const limit = checkLimit(opts.limit ?? DEFAULT_DUE_LIMIT, what);
    const at = encodeTimeInput(now, 'now');
    return db
      .selectFrom('requests')
      .selectAll()
      .where('status', '=', 'pending-approval')
      .where(column, 'is not', null)
      .where(column, '<=', at)
      .orderBy(column)
      .orderBy('id')
      .limit(limit);
  };

  // read several times per run step: compiled once (see compiledOnce)
  const selectById = compiledOnce(db, (arg) => db.selectFrom('requests').selectAll().where('id', '=', arg<number>(0)));
  const getById = async (id: number): Promise<RequestRecord | undefined> => {
    const row = (await selectById(id)).rows[0];
    return row && toRecord(row);
  };
  const selectVersion = compiledOnce(db, (arg) => db.selectFrom('requests').select(['status', 'version']).where('id', '=', arg<number>(0)));

  /**
   * {@link versionedUpdate} as SQL, compiled once for each set of changed columns (a move, a decision, a result: a
   * handful of shapes) instead of built and compiled on every transition.
   */
  const updateShapes = keptByShape<ReturnType<typeof compiledSqlOnce>>(MAX_UPDATE_SHAPES);
  const versionedUpdateSql = (id: number, expectedVersion: number, changes: RowChanges, at: string) => {
    const columns = Object.keys(changes) as (keyof RowChanges)[];
    const compiled = updateShapes(columns.join(','), () => compiledSqlOnce((arg) => versionedUpdate(db, arg(0), arg(1), Object.fromEntries(columns.map((c, i) => [c, arg(i + 3)])), arg(2))));
    return compiled(id, expectedVersion, at, ...columns.map((c) => changes[c]));
  };
  /** The outbox entry that tells of a transition (see `transition`'s notice). */
  const toldSql = compiledSqlOnce((arg) =>
    db.insertInto('outbox').values({ request_id: arg<number>(0), message: arg<string | null>(1), created_at: arg<string>(2), attempts: 0, claimed_by: null, claimed_until: null }),
  );
  /** {@link RequestRepository.holdersOfNames}'s query, compiled once for each number of names asked for. */
  const holdersQueries = keptByShape<ReturnType<typeof holdersQuery>>(MAX_KEPT_NAME_QUERIES);
  const holdersQuery = (n: number) =>
    compiledOnce(db, (arg) =>
      db
        .selectFrom('request_names as n')
        .innerJoin('requests as r', 'r.id', 'n.request_id')
        .select(['n.name', 'r.reference', 'r.kind', 'r.status', 'r.requester_name'])
        .where('n.name', 'in', Array.from({ length: n }, (_, i) => arg<string>(i)))
        .where('r.status', 'not in', ENDED_STATUSES)
        .orderBy('r.id')
        .orderBy('n.name'),
    );

  return {
    async create(input) {
      const p = new Problems();
      if (typeof input !== 'object' || input === null) {
        p.add('the request must be an object');
        p.throwIfAny('The request');
      }
      p.text('kind', input.kind);
      p.text('requesterAadObjectId', input.requesterAadObjectId);
      p.text('requesterName', input.requesterName);
      p.text('tenantId', input.tenantId);
      const status = input.status ?? 'pending-approval';
      p.status('status', status);
      const stage = input.stage ?? 1;
      p.positiveInteger('stage', stage);
      if (typeof input.values !== 'object' || input.values === null || Array.isArray(input.values)) p.add('values must be a JSON object');
      const valuesJson = p.json('values', input.values, false);
      const requestJson = p.json('request', input.request, false);
      const planJson = p.json('plan', input.plan ?? null, true);
      const remindAt = p.time('remindAt', input.remindAt ?? null);
      const expiresAt = p.time('expiresAt', input.expiresAt ?? null);
      const batchId = input.batchId ?? null;
      if (batchId !== null) p.positiveInteger('batchId', batchId);
      const batchLine = input.batchLine ?? null;
      if (batchLine !== null) {
        p.positiveInteger('batchLine', batchLine);
        if (batchId === null) p.add('batchLine needs a batchId');
      }
      p.throwIfAny(`The ${typeof input.kind === 'string' ? `${input.kind} ` : ''}request`);

      const at = encodeTimestamp(now());
      const fields = {
        kind: input.kind,
        status,
        version: 1,
        stage,
        requester_aad_object_id: input.requesterAadObjectId,
        requester_name: input.requesterName,
        tenant_id: input.tenantId,
        values_json: valuesJson ?? '{}',
        request_json: requestJson ?? 'null',
        plan_json: planJson,
        created_at: at,
        updated_at: at,
        decided_at: null,
        decided_by: null,
        decided_by_name: null,
        decision_reason: null,
        remind_at: remindAt,
        reminded_at: null,
        expires_at: expiresAt,
        result_json: null,
        error: null,
        batch_id: batchId,
        batch_line: batchLine,
      };
      let row: Row;
      const insert = (write: () => Promise<Row>): Promise<Row> => (batchId === null ? write() : writeForBatch(batchId, 'the request', write, batchLine ?? undefined));
      if (engine === 'postgres') {
        // The sequence hands every caller a distinct number, whatever the concurrency; a failed insert
        // leaves a gap in the ids, never a duplicate.
        const { rows } = await sql<{ id: string | number }>`select nextval(pg_get_serial_sequence('requests', 'id')) as id`.execute(db);
        const id = Number(rows[0]?.id);
        row = await insert(() =>
          db
            .insertInto('requests')
            .values({ id, reference: requestReference(id), ...fields })
            .returningAll()
            .executeTakeFirstOrThrow(),
        );
      } else {
        row = await insert(() =>
          db
            .insertInto('requests')
            .values({ id: sqliteNextId, reference: sql<string>`'R-' || ${sqliteNextId}`, ...fields })
            .returningAll()
            .executeTakeFirstOrThrow(),
        );
      }
      return toRecord(row);
    },

    async get(idOrRef) {
      const id = parseRequestId(idOrRef);
      return id === undefined ? undefined : getById(id);
    },

    async versionOf(id) {
      const row = (await selectVersion(id)).rows[0];
      return row && { status: row.status, version: Number(row.version) };
    },

    async listByRequester(aadObjectId, opts) {
      const limit = checkLimit(opts?.limit, 'listByRequester');
      let q = db.selectFrom('requests').selectAll().where('requester_aad_object_id', '=', aadObjectId);
      if (opts.statuses !== undefined) {
        const statuses = checkStatuses(opts.statuses, 'listByRequester');
        if (statuses.length === 0) return [];
        q = q.where('status', 'in', statuses);
      }
      const rows = await q.orderBy('id', 'desc').limit(limit).execute();
      return rows.map(toRecord);
    },

    async listByStatus(statuses, opts) {
      checkStatuses(statuses, 'listByStatus');
      const limit = checkLimit(opts?.limit, 'listByStatus');
      if (statuses.length === 0) return [];
      const rows = await db.selectFrom('requests').selectAll().where('status', 'in', statuses).orderBy('id').limit(limit).execute();
      return rows.map(toRecord);
    },

    async listByBatch(batchId) {
      if (!isId(batchId)) invalid('The requests of a batch were not listed', [`batchId must be an integer from 1 to ${MAX_ID} (got ${JSON.stringify(batchId)})`]);
      const rows = await db.selectFrom('requests').selectAll().where('batch_id', '=', batchId).orderBy('id').execute();
      return rows.map(toRecord);
    },

    async holdNames(id, keys) {
      const what = `The names of request ${isId(id) ? requestReference(id) : JSON.stringify(id)} were not recorded, nothing was changed`;
      const list: string[] = Array.isArray(keys) ? [...new Set<string>(keys as readonly string[])] : [];
      refuseIfAny(what, [
        ...(isId(id) ? [] : [`id must be an integer from 1 to ${MAX_ID} (got ${JSON.stringify(id)})`]),
        ...(Array.isArray(keys) ? [] : ['keys must be a list']),
        ...(list.length > MAX_NAME_KEYS ? [`at most ${MAX_NAME_KEYS} names (got ${list.length})`] : []),
        ...list.filter((k) => typeof k !== 'string' || !/^[a-z]+:\S/.test(k) || k.length > MAX_NAME_KEY || k !== k.toLowerCase()).slice(0, 3).map((k) => `a name key must be "<kind>:<value>" in lower case, at most ${MAX_NAME_KEY} characters (got ${JSON.stringify(k)})`),
      ]);
      if (!list.length) return;
      await writeForRequest(id, `the names of ${requestReference(id)}`, () =>
        db
          .insertInto('request_names')
          .values(list.map((name) => ({ name, request_id: id })))
          .onConflict((oc) => oc.columns(['name', 'request_id']).doNothing())
          .execute(),
      );
    },

    async holdersOfNames(keys) {
      if (!Array.isArray(keys) || keys.length > MAX_NAME_KEYS || keys.some((k) => typeof k !== 'string')) {
        invalid('The holders of names were not looked up', [`keys must be a list of at most ${MAX_NAME_KEYS} strings`]);
      }
      if (!keys.length) return [];
      const unique: string[] = [...new Set<string>(keys)];
      const { rows } = await holdersQueries(String(unique.length), () => holdersQuery(unique.length))(...unique);
      return rows.map((r) => ({ key: r.name, reference: r.reference, kind: r.kind, status: r.status, requesterName: r.requester_name }));
    },

    async countByBatch(batchId, failedListed = 10) {
      const problems: string[] = [];
      if (!isId(batchId)) problems.push(`batchId must be an integer from 1 to ${MAX_ID} (got ${JSON.stringify(batchId)})`);
      if (!Number.isSafeInteger(failedListed) || failedListed < 0 || failedListed > 1000) problems.push(`failedListed must be an integer from 0 to 1000 (got ${JSON.stringify(failedListed)})`);
      if (problems.length) invalid('The requests of a batch were not counted', problems);
      const groups = await db
        .selectFrom('requests')
        .select((eb) => ['status', eb.fn.countAll<number | string | bigint>().as('n')])
        .where('batch_id', '=', batchId)
        .groupBy('status')
        .execute();
      const byStatus: Partial<Record<RequestStatus, number>> = {};
      let total = 0;
      for (const g of groups) {
        const n = Number(g.n);
        byStatus[g.status] = n;
        total += n;
      }
      const failed =
        failedListed > 0 && byStatus.failed
          ? await db.selectFrom('requests').select(['reference', 'error']).where('batch_id', '=', batchId).where('status', '=', 'failed').orderBy('id').limit(failedListed).execute()
          : [];
      return { total, byStatus, failed: failed.map((f) => ({ reference: f.reference, error: f.error })) };
    },

    async transition(id, expectedVersion, patch, notice) {
      const p = new Problems();
      p.positiveInteger('id', id);
      p.positiveInteger('expectedVersion', expectedVersion);
      if (notice !== undefined && notice.message !== null && (typeof notice.message !== 'string' || notice.message.length > MAX_NOTICE_MESSAGE)) {
        p.add(`the notice's message must be null or text of at most ${MAX_NOTICE_MESSAGE} characters`);
      }
      p.throwIfAny(`The change to request ${String(id)}`);
      const changes = patchToChanges(id, patch);
      const at = encodeTimestamp(now());
      const update = (q: Kysely<Database>) => versionedUpdate(q, id, expectedVersion, changes, at);
      const told = (q: Kysely<Database>) =>
        q.insertInto('outbox').values({ request_id: id, message: notice?.message ?? null, created_at: at, attempts: 0, claimed_by: null, claimed_until: null });
      let row: Row | undefined;
      if (notice === undefined) {
        const u = versionedUpdateSql(id, expectedVersion, changes, at);
        row = (await db.executeQuery<Row>(CompiledQuery.raw(u.sql, u.parameters))).rows[0];
      } else if (immediate !== undefined) {
        const u = versionedUpdateSql(id, expectedVersion, changes, at);
        const i = toldSql(id, notice.message, at);
        row = await immediate((statement) => {
          const changed = statement(u.sql).get(...u.parameters) as Row | undefined;
          if (changed !== undefined) statement(i.sql).run(...i.parameters);
          return changed;
        });
      } else {
        row = await db.transaction().execute(async (tx) => {
          const changed = await update(tx).executeTakeFirst();
          if (changed !== undefined) await told(tx).execute();
          return changed;
        });
      }
      if (row !== undefined) return { ok: true, record: toRecord(row) };
      const current = await getById(id);
      if (current === undefined) throw new StoreError('not-found', `Request ${requestReference(id)} does not exist; nothing was changed.`);
      return { ok: false, current };
    },

    async decide(id, expectedVersion, patch, decision) {
      const p = new Problems();
      p.positiveInteger('id', id);
      p.positiveInteger('expectedVersion', expectedVersion);
      p.throwIfAny(`The decision on request ${String(id)}`);
      validateDecision({ ...decision, requestId: id, requestVersion: expectedVersion });
      const changes = patchToChanges(id, patch);
      const at = encodeTimestamp(now());
      const decidedAt = decision.at === undefined ? at : encodeTimeInput(decision.at, 'at');
      const earlier = (q: Kysely<Database>) =>
        q
          .selectFrom('request_decisions')
          .selectAll()
          .where('request_id', '=', id)
          .where('approver_aad_object_id', '=', decision.approverAadObjectId)
          .orderBy('id')
          .limit(1);
      const update = (q: Kysely<Database>) => versionedUpdate(q, id, expectedVersion, changes, at);
      const insert = (q: Kysely<Database>) =>
        q
          .insertInto('request_decisions')
          .values({
            request_id: id,
            stage: decision.stage,
            approver_aad_object_id: decision.approverAadObjectId,
            approver_name: decision.approverName,
            decision: decision.decision,
            reason: decision.reason ?? null,
            at: decidedAt,
            request_version: expectedVersion,
          })
          .returningAll();
      type Written = { row?: Row; decided?: DecisionRow; before?: DecisionRow };
      let written: Written;
      if (immediate !== undefined) {
        const e = earlier(db).compile();
        const u = versionedUpdateSql(id, expectedVersion, changes, at);
        const i = insert(db).compile();
        written = await immediate((statement): Written => {
          const before = statement(e.sql).get(...e.parameters) as DecisionRow | undefined;
          if (before !== undefined) return { before };
          const row = statement(u.sql).get(...u.parameters) as Row | undefined;
          if (row === undefined) return {};
          // Throws (and so rolls the change back) when the decision cannot be stored.
          return { row, decided: statement(i.sql).get(...i.parameters) as DecisionRow };
        });
      } else {
        written = await db.transaction().execute(async (tx): Promise<Written> => {
          // The request row is locked first: a concurrent decision on it waits for this one to commit, then reads it.
          await tx.selectFrom('requests').select('id').where('id', '=', id).forUpdate().executeTakeFirst();
          const before = await earlier(tx).executeTakeFirst();
          if (before !== undefined) return { before };
          const row = await update(tx).executeTakeFirst();
          if (row === undefined) return {};
          return { row, decided: await insert(tx).executeTakeFirstOrThrow() };
        });
      }
      if (written.row !== undefined && written.decided !== undefined) return { ok: true, record: toRecord(written.row), decision: toDecisionRecord(written.decided) };
      const current = await getById(id);
      if (current === undefined) throw new StoreError('not-found', `Request ${requestReference(id)} does not exist; nothing was changed.`);
      if (written.before !== undefined) return { ok: false, code: 'decided-before', current, earlier: toDecisionRecord(written.before) };
      return { ok: false, code: 'changed', current };
    },

    async dueForReminder(now, opts = {}) {
      const rows = await pendingDue('remind_at', now, opts, 'dueForReminder')
        .where((eb) => eb.or([eb('reminded_at', 'is', null), eb('reminded_at', '<', eb.ref('remind_at'))]))
        .execute();
      return rows.map(toRecord);
    },

    async dueForExpiry(now, opts = {}) {
      const rows = await pendingDue('expires_at', now, opts, 'dueForExpiry').execute();
      return rows.map(toRecord);
    },
  };
}
