/**
 * The durable workflow's steps: one row per step of an approved request's plan, claimed under a lease.
 *
 * Rules (both engines):
 * - A request's steps run in `stepIndex` order, one at a time: only the lowest step that is not `done`
 *   or `skipped` can be claimed, and only when it is `pending` (or `running` under an expired lease — its
 *   owner crashed) and due (`nextAt <= now`). A `waiting`, `failed` or `cancelled` step holds the
 *   request's later steps back.
 * - A claim sets `running`, the lease (`leaseOwner` until `leaseMs` from now on the database's clock) and
 *   counts the attempt (`attempts + 1`) in the same statement, so a crash right after a claim still counts it.
 *   A claim that takes a step over from a lease that ran out also counts it `abandoned` (+1): the try before
 *   never ended (its owner crashed, was killed or hung). The runner stops a step abandoned too often.
 * - Finishing a step (`complete`, `wait`, `retryLater`, `fail`) succeeds only for the lease owner while
 *   its lease is valid (`leaseUntil > now`) and releases the lease. An owner that wakes up after its lease
 *   expired is refused (false), whether or not another instance took the step over: it must drop its
 *   result. `heartbeat` extends leases that are still held.
 * - Leases are the database's clock, never the caller's: `lease_until` is set to the database's time plus
 *   `leaseMs`, and every check of a lease (claim, finish, heartbeat, skip, cancel) compares it with the
 *   database's time in the same statement. An instance whose clock runs minutes ahead can therefore not
 *   take a live lease, and one whose clock runs behind cannot finish on a lease that has run out. Every
 *   other time (`nextAt`, `startedAt`, `finishedAt`, `updatedAt`) is the caller's `now`, from the
 *   application clock; a skewed clock only makes a due step start a little early or late.
 * - Intent: the lease holder records what its try is about to do (`noteIntent`) before it does it; the
 *   step keeps it across tries, so a try after a crash can tell its own effect from one that was there.
 * - Owners: use one per runner (e.g. host, pid and a random suffix). A lease is told apart only by its
 *   owner, so two runners must never share one.
 *
 * Claiming, per engine:
 * - PostgreSQL: one statement; a CTE selects the due steps `FOR UPDATE SKIP LOCKED` and the UPDATE takes
 *   them. A step another instance is claiming is skipped, never waited for; a step another instance
 *   claimed after this statement's snapshot is re-checked on the new row version (READ COMMITTED) and
 *   dropped. "No earlier unfinished step" cannot go stale: `done` and `skipped` are final.
 * - SQLite: the same UPDATE … WHERE id IN (SELECT …) inside one BEGIN IMMEDIATE transaction
 *   (`sqliteImmediate`): the single writer claims alone.
 *
 * Roll back: a request's compensation steps are appended after its existing steps (`appendSteps`, indexes
 * after the last one), and its unfinished original steps become `skipped` (`skipUnfinished`, or the
 * `skipUnfinished` option of `appendSteps`, in the same transaction), so the claim rule above reaches them.
 * A step running under a valid lease is never skipped: it finishes first, and holds the later steps back
 * until it has.
 */
import { CompiledQuery, sql, type Kysely, type RawBuilder, type Selectable, type UpdateObject } from 'kysely';
import { compiledOnce, compiledSqlOnce, dbNow, dbNowPlus, decodeJson, decodeNullableJson, sqliteImmediateOf, type EngineConnection, type TimeInput } from './dialect';
import type { AuditEventInput, AuditLog } from './audit-log';
import { StoreError } from './errors';
import { RUN_STEP_STATUSES, type Database, type RunStepStatus, type RunStepsTable } from './schema';
import { checkCount, checkTime, invalid, isId, jsonText, refuseIfAny } from './validation';

export { RUN_STEP_STATUSES, type RunStepStatus } from './schema';

/** One step of a plan, as `createSteps` takes it. */
export interface RunStepInput {
  /** The step's id within its plan, e.g. `ad.create-user`; unique within the plan. */
  stepId: string;
  /** e.g. `ad.createUser`. */
  action: string;
  /** e.g. `ad`, `entra`, `exo`, `wait`. */
  system: string;
  /** Any JSON value; never a secret. */
  input: unknown;
}

/** A step as stored. */
export interface RunStepRecord {
  /** The row id: what claim, complete, wait, retryLater, fail and heartbeat take. */
  id: number;
  requestId: number;
  /** 0-based position in the plan. */
  stepIndex: number;
  stepId: string;
  action: string;
  system: string;
  input: unknown;
  status: RunStepStatus;
  /** Claims by claimNext so far (1 during the first try). */
  attempts: number;
  /** Tries (or polls) taken over after their lease ran out: they never ended. 0 again after resetFailed. */
  abandoned: number;
  /** What a try recorded it was about to do (noteIntent), or null. */
  intent: unknown;
  /** ISO 8601 UTC: when it may be claimed (pending) or polled (waiting) next. */
  nextAt: string;
  leaseOwner: string | null;
  /** ISO 8601 UTC on the database's clock. */
  leaseUntil: string | null;
  /** null until a try reports one. */
  result: unknown;
  /** The last try's error; cleared by a successful try. */
  error: string | null;
  /** First claim. */
  startedAt: string | null;
  /** done, failed or cancelled. */
  finishedAt: string | null;
  updatedAt: string;
}

export interface CreateStepsResult {
  /** true when this call stored the steps; false when the request had steps already (nothing changed). */
  created: boolean;
  /** The request's steps as stored, in order. */
  steps: RunStepRecord[];
}

interface AppendStepsResult {
  /** true when this call stored the steps; false when the request had steps with these ids already. */
  appended: boolean;
  /** The request's steps as stored, in order. */
  steps: RunStepRecord[];
}

export interface RunRepository {
  /**
   * Store the steps of a request's plan, all `pending`, due at `now`. Idempotent: when the request has
   * steps already (another instance started the same run), nothing is created and the stored steps come
   * back with `created: false`. Concurrent calls serialize on the request (PostgreSQL: its row is locked;
   * SQLite: BEGIN IMMEDIATE), and the insert is ON CONFLICT DO NOTHING besides. Throws `not-found` for an
   * unknown request, `invalid-record` for an empty plan or a repeated stepId.
   */
  createSteps(requestId: number, steps: readonly RunStepInput[], now: TimeInput): Promise<CreateStepsResult>;
  /**
   * Claim up to `limit` runnable steps, at most one per request, due earliest first (see the file
   * comment): each comes back `running`, leased to `owner` for `leaseMs` (database clock), `attempts`
   * counted, and `abandoned` counted when its last lease ran out while it ran.
   */
  claimNext(owner: string, now: TimeInput, leaseMs: number, limit: number): Promise<RunStepRecord[]>;
  /**
   * Claim up to `limit` `waiting` steps that are due (`nextAt <= now`) and not leased (or whose lease
   * expired: the poller crashed), due earliest first, for one polling cycle. They stay `waiting`, leased to
   * `owner` for `leaseMs`; `attempts` is not counted (it counts tries, not polls); `abandoned` is, when the
   * last poll's lease ran out.
   */
  claimWaiting(owner: string, now: TimeInput, leaseMs: number, limit: number): Promise<RunStepRecord[]>;
  /**
   * The step holds: `done`, `result` stored (undefined → null), error cleared. `also`: its audit event, stored in the
   * same transaction whether or not the lease still held (what the step did happened either way), and a notice for
   * the outbox (the request's cards), left only when the step was completed. All of it is stored, or none.
   */
  complete(id: number, owner: string, result: unknown, now: TimeInput, also?: StepOutcomeRecords): Promise<boolean>;
  /** Not yet: `waiting`, polled again from `until`; `result` stored (undefined → null), error cleared. */
  wait(id: number, owner: string, until: TimeInput, result: unknown, now: TimeInput): Promise<boolean>;
  /**
   * A transient error: due again at `nextAt` with `error` kept. A claimed step goes back to `pending`; a
   * waiting one (claimed by the poller) stays `waiting`. `attempts` is unchanged (counted at the claim).
   */
  retryLater(id: number, owner: string, nextAt: TimeInput, error: string, now: TimeInput): Promise<boolean>;
  /** A permanent error: `failed` with `error`; the request's later steps wait for `resetFailed`. */
  fail(id: number, owner: string, error: string, now: TimeInput): Promise<boolean>;
  /** Extend the leases `owner` still holds to `leaseMs` from now (database clock); returns the ids extended (a missing id was lost). */
  heartbeat(ids: readonly number[], owner: string, leaseMs: number, now: TimeInput): Promise<number[]>;
  /** The request's steps in order. */
  listByRequest(requestId: number): Promise<RunStepRecord[]>;
  /**
   * The Retry button: the request's `failed` steps become `pending`, due at `now`, `abandoned` back to 0; attempts,
   * error and intent kept. Returns how many.
   */
  resetFailed(requestId: number, now: TimeInput): Promise<number>;
  /**
   * The lease holder records what its try is about to do, before doing it (any JSON value; never a secret). False
   * when the lease was lost: the try must not do it then. The step keeps the latest intent across tries.
   */
  noteIntent(id: number, owner: string, intent: unknown, now: TimeInput): Promise<boolean>;
  /**
   * Cancel what has not started: `pending` and `waiting` steps, and `running` ones whose lease expired
   * (a crashed owner), become `cancelled`. A step running under a valid lease is left to finish; a
   * cancelled waiting step's poller is refused. `now` defaults to the store clock. Returns how many.
   */
  cancelPending(requestId: number, now?: TimeInput): Promise<number>;
  /**
   * Append steps after the request's existing ones (a roll back's compensation steps), all `pending`, due at
   * `now`, indexes following the last one. Idempotent: when the request already has a step with one of these
   * stepIds, nothing is appended (`appended: false`). With `skipUnfinished`, the existing steps that are not
   * finished become `skipped` in the same transaction (see `skipUnfinished`), whether or not anything was
   * appended, so a repeated call also completes an interrupted one. Concurrent calls serialize on the request,
   * as createSteps does. Throws `not-found` for an unknown request, `invalid-record` for bad steps.
   */
  appendSteps(requestId: number, steps: readonly RunStepInput[], now: TimeInput, options?: { skipUnfinished?: boolean }): Promise<AppendStepsResult>;
  /**
   * The request's steps before `beforeIndex` that will not run any more become `skipped`: `pending`, `waiting`,
   * `failed` and `cancelled` ones, and `running` ones whose lease expired (a crashed owner). Their error is
   * kept; the lease is released. A step running under a valid lease is left to finish. Returns how many.
   */
  skipUnfinished(requestId: number, beforeIndex: number, now: TimeInput): Promise<number>;
  /**
   * The lease holder gives up its step because the request was cancelled: `cancelled`, lease released,
   * `note` (e.g. the error of the try that was cut short) stored as the error when given. False when the
   * lease was lost (as for complete).
   */
  cancelClaimed(id: number, owner: string, now: TimeInput, note?: string): Promise<boolean>;
  /** Steps per status, every status present (0 when none). */
  countByStatus(): Promise<Record<RunStepStatus, number>>;
}

type Row = Selectable<RunStepsTable>;

function toRecord(row: Row): RunStepRecord {
  return {
    id: Number(row.id),
    requestId: Number(row.request_id),
    stepIndex: Number(row.step_index),
    stepId: row.step_id,
    action: row.action,
    system: row.system,
    input: decodeJson(row.input_json),
    status: row.status,
    attempts: Number(row.attempts),
    abandoned: Number(row.abandoned),
    intent: decodeNullableJson(row.intent_json),
    nextAt: row.next_at,
    leaseOwner: row.lease_owner,
    leaseUntil: row.lease_until,
    result: decodeNullableJson(row.result_json),
    error: row.error,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    updatedAt: row.updated_at,
  };
}

const byDueThenId = (a: RunStepRecord, b: RunStepRecord): number => (a.nextAt < b.nextAt ? -1 : a.nextAt > b.nextAt ? 1 : a.id - b.id);

const MAX_LIMIT = 1_000;
const MAX_STEPS = 1_000;
const MAX_LEASE_MS = 24 * 60 * 60 * 1000;
const MAX_TEXT = 200;

function checkId(v: unknown, key: string, what: string): number {
  if (!isId(v)) invalid(what, [`${key} must be a positive integer (got ${JSON.stringify(v)})`]);
  return v;
}

function checkText(v: unknown, key: string, what: string): string {
  if (typeof v !== 'string' || v === '' || v.length > MAX_TEXT) invalid(what, [`${key} must be a non-empty string of at most ${MAX_TEXT} characters`]);
  return v;
}

/** JSON text of `v` (undefined → null), or what is wrong with it. */
function toJson(v: unknown, key: string): { text: string | null; problem?: string } {
  if (v === undefined || v === null) return { text: null };
  const { text, problem } = jsonText(v, key);
  return { text: text ?? null, problem };
}

function jsonOrNull(v: unknown, key: string, what: string): string | null {
  const { text, problem } = toJson(v, key);
  if (problem !== undefined) invalid(what, [problem]);
  return text;
}

interface Lease {
  owner: string;
  now: string;
  ms: number;
  limit: number;
}

function checkLease(owner: unknown, now: unknown, leaseMs: unknown, limit: unknown, what: string): Lease {
  const o = checkText(owner, 'owner', what);
  const at = checkTime(now, 'now', what);
  const ms = checkCount(leaseMs, 'leaseMs', MAX_LEASE_MS, what);
  const n = checkCount(limit, 'limit', MAX_LIMIT, what);
  return { owner: o, now: at, ms, limit: n };
}

const lit = (v: string): RawBuilder<unknown> => sql.lit(v);

/**
 * The `next_at` of a pending step that waits for the steps before it: not due. Steps are stored with it; the
 * database's triggers (migration 0013, the same literal) make a request's first unfinished pending step due when the
 * step before it ends or when it is added behind ended ones, as of when it was added (so a started request keeps its
 * place in line).
 */
export const RUN_STEP_NOT_DUE = '9999-12-31T23:59:59.999Z';

/**
 * The limit is a literal, not a parameter: with `limit ?` SQLite ran the claim eight times slower (it gave up the
 * early end of the ordered index walk). The claim's SQL is compiled once per limit (claimQuery).
 *
 * The runnable steps, due earliest first. The status terms repeat run_steps_runnable_idx's predicate
 * literally so both engines can use that partial index. `dbTime`: the database's clock (leases). A step behind
 * unfinished ones is not due (RUN_STEP_NOT_DUE), so the index walk ends at the due ones however many requests are in
 * flight; the check of the earlier steps stays, so nothing runs out of turn whatever a row's next_at says.
 */
function runnable(now: string, dbTime: RawBuilder<string>, limit: number): RawBuilder<unknown> {
  return sql`select s.id from run_steps s
    where s.status in (${lit('pending')}, ${lit('running')})
      and (s.status = ${lit('pending')} or s.lease_until <= ${dbTime})
      and s.next_at <= ${now}
      and not exists (
        select 1 from run_steps e
        where e.request_id = s.request_id and e.step_index < s.step_index
          and e.status not in (${lit('done')}, ${lit('skipped')}))
    order by s.next_at, s.id
    limit ${sql.lit(limit)}`;
}

/** Due waiting steps no live poller holds; the status term matches run_steps_waiting_idx. */
function dueWaiting(now: string, dbTime: RawBuilder<string>, limit: number): RawBuilder<unknown> {
  return sql`select w.id from run_steps w
    where w.status = ${lit('waiting')}
      and w.next_at <= ${now}
      and (w.lease_until is null or w.lease_until <= ${dbTime})
    order by w.next_at, w.id
    limit ${sql.lit(limit)}`;
}

// Every right-hand side sees the row as it was before the UPDATE: a `running` (or leased waiting) row is one
// whose lease ran out, so its try was abandoned.
const claimSet = (l: Lease, until: RawBuilder<string>): RawBuilder<unknown> =>
  sql`status = ${lit('running')}, lease_owner = ${l.owner}, lease_until = ${until}, attempts = attempts + 1,
      abandoned = abandoned + (case when status = ${lit('running')} then 1 else 0 end),
      started_at = coalesce(started_at, ${l.now}), updated_at = ${l.now}`;

const pollSet = (l: Lease, until: RawBuilder<string>): RawBuilder<unknown> =>
  sql`lease_owner = ${l.owner}, lease_until = ${until}, abandoned = abandoned + (case when lease_until is not null then 1 else 0 end),
      updated_at = ${l.now}`;

/** What is written with a step's outcome, in its transaction (see {@link RunRepository.complete}). */
export interface StepOutcomeRecords {
  readonly audit: AuditEventInput;
  /** The request's notice: refresh its cards (`message` null) or also tell its requester. */
  readonly notice?: { readonly requestId: number; readonly message: string | null };
}

export function createRunRepository(conn: Pick<EngineConnection, 'engine' | 'db' | 'sqliteImmediate'>, clock: () => Date, audit?: Pick<AuditLog, 'appendAlong'>): RunRepository {
  const db: Kysely<Database> = conn.db;
  /** The database's clock now, and `ms` from now: what every lease is set to and compared with. */
  const dbTime = dbNow(conn.engine);
  const dbTimePlus = (ms: number): RawBuilder<string> => dbNowPlus(conn.engine, ms);

  // The runner's queries of every step, compiled once (see compiledOnce).
  const selectSteps = compiledOnce(db, (arg) => db.selectFrom('run_steps').selectAll().where('request_id', '=', arg<number>(0)).orderBy('step_index'));
  // finishing a step, as SQL text compiled once: run on its own, or inside a transaction that writes more with it
  const finishSqlAs = (status: 'done' | 'waiting') =>
    compiledSqlOnce((arg) =>
      db
        .updateTable('run_steps')
        .set({
          status,
          result_json: arg<string | null>(0),
          error: null,
          ...(status === 'done' ? { finished_at: arg<string>(1) } : { next_at: arg<string>(4) }),
          lease_owner: null,
          lease_until: null,
          updated_at: arg<string>(1),
        })
        .where('id', '=', arg<number>(2))
        .where('lease_owner', '=', arg<string>(3))
        .where('lease_until', '>', dbTime)
        .where('status', 'in', ['running', 'waiting']),
    );
  const completeStepSql = finishSqlAs('done');
  const waitStepSql = finishSqlAs('waiting');
  const execute = (q: { readonly sql: string; readonly parameters: unknown[] }) => db.executeQuery(CompiledQuery.raw(q.sql, q.parameters));
  const noticeSql = compiledSqlOnce((arg) =>
    db.insertInto('outbox').values({ request_id: arg<number>(0), message: arg<string | null>(1), created_at: arg<string>(2), attempts: 0, claimed_by: null, claimed_until: null }),
  );
  const noteIntentOf = compiledOnce(db, (arg) =>
    db
      .updateTable('run_steps')
      .set({ intent_json: arg<string | null>(0), updated_at: arg<string>(1) })
      .where('id', '=', arg<number>(2))
      .where('lease_owner', '=', arg<string>(3))
      .where('lease_until', '>', dbTime)
      .where('status', '=', 'running'),
  );
  const applied = (res: { numAffectedRows?: bigint }): boolean => Number(res.numAffectedRows ?? 0) === 1;

  const listByRequest = async (requestId: number): Promise<RunStepRecord[]> => {
    const { rows } = await selectSteps(requestId);
    return rows.map(toRecord);
  };

  // SQLite: statements run synchronously on the store's one connection inside BEGIN IMMEDIATE.
  const immediate = sqliteImmediateOf(conn, 'run steps cannot be claimed safely');

  /**
   * The claiming UPDATE of `kind` for a lease of `ms` and at most `limit` rows, compiled once per such triple (the
   * runner asks with one lease and a few limits): `set` on the rows `pick` selects, returning them. Arguments: the
   * owner, then `now`. PostgreSQL: `pick` locked FOR UPDATE SKIP LOCKED in a CTE; SQLite: run inside BEGIN IMMEDIATE.
   */
  const claimQueries = new Map<string, (...args: readonly unknown[]) => { readonly sql: string; readonly parameters: unknown[] }>();
  const claimQuery = (kind: 'runnable' | 'waiting', ms: number, limit: number) => {
    const key = `${kind}:${ms}:${limit}`;
    let q = claimQueries.get(key);
    if (q === undefined) {
      q = compiledSqlOnce((arg) => {
        const l: Lease = { owner: arg<string>(0), now: arg<string>(1), ms, limit };
        const pick = kind === 'runnable' ? runnable(l.now, dbTime, limit) : dueWaiting(l.now, dbTime, limit);
        const set = kind === 'runnable' ? claimSet(l, dbTimePlus(ms)) : pollSet(l, dbTimePlus(ms));
        const statement =
          immediate !== undefined
            ? sql<Row>`update run_steps set ${set} where id in (${pick}) returning *`
            : sql<Row>`with picked as (${pick} for update skip locked)
        update run_steps r set ${set} from picked where r.id = picked.id returning r.*`;
        return { compile: () => statement.compile(db) };
      });
      claimQueries.set(key, q);
    }
    return q;
  };

  /** Claim with the `kind` of claiming UPDATE for the lease `l`; the claimed rows, due earliest first. */
  const claim = async (kind: 'runnable' | 'waiting', l: Lease): Promise<RunStepRecord[]> => {
    const q = claimQuery(kind, l.ms, l.limit)(l.owner, l.now);
    const rows =
      immediate !== undefined
        ? await immediate((statement) => statement(q.sql).all(...q.parameters) as Row[])
        : (await db.executeQuery<Row>(CompiledQuery.raw(q.sql, q.parameters))).rows;
    return rows.map(toRecord).sort(byDueThenId);
  };

  /** One finishing UPDATE for the lease holder; true when it applied. */
  const finish = async (
    id: number,
    owner: string,
    now: string,
    changes: UpdateObject<Database, 'run_steps'>,
  ): Promise<boolean> => {
    const res = await db
      .updateTable('run_steps')
      .set({ ...changes, lease_owner: null, lease_until: null, updated_at: now })
      .where('id', '=', id)
      .where('lease_owner', '=', owner)
      .where('lease_until', '>', dbTime)
      .where('status', 'in', ['running', 'waiting'])
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  };

  const finishArgs = (id: unknown, owner: unknown, now: unknown, what: string): { id: number; owner: string; now: string } => ({
    id: checkId(id, 'id', what),
    owner: checkText(owner, 'owner', what),
    now: checkTime(now, 'now', what),
  });

  const checkError = (v: unknown, what: string): string => {
    if (typeof v !== 'string' || v === '') invalid(what, ['error must be a non-empty string']);
    return v;
  };

  /** The rows of new pending steps (indexes from `first`), or invalid-record naming every problem. */
  const newRows = (requestId: number, steps: readonly RunStepInput[], at: string, first: number, what: string) => {
    if (!Array.isArray(steps) || steps.length === 0 || steps.length > MAX_STEPS) invalid(what, [`steps must be a list of 1 to ${MAX_STEPS} steps`]);
    {
      const problems: string[] = [];
      const seen = new Set<string>();
      const rows = steps.map((s: RunStepInput, i) => {
        if (typeof s !== 'object' || s === null) {
          problems.push(`step ${i} must be an object`);
          return undefined;
        }
        for (const key of ['stepId', 'action', 'system'] as const) {
          if (typeof s[key] !== 'string' || s[key] === '' || s[key].length > MAX_TEXT) problems.push(`step ${i}: ${key} must be a non-empty string of at most ${MAX_TEXT} characters`);
        }
        if (seen.has(s.stepId)) problems.push(`step ${i}: stepId ${JSON.stringify(s.stepId)} is repeated`);
        seen.add(s.stepId);
        const input = toJson(s.input, `step ${i}: input`);
        if (input.problem !== undefined) problems.push(input.problem);
        return {
          request_id: requestId,
          step_index: first + i,
          step_id: s.stepId,
          action: s.action,
          system: s.system,
          input_json: input.text ?? 'null',
          status: 'pending' as const,
          attempts: 0,
          // the request's first unfinished step is made due at `at` by the database (migration 0013)
          next_at: RUN_STEP_NOT_DUE,
          lease_owner: null,
          lease_until: null,
          result_json: null,
          error: null,
          started_at: null,
          finished_at: null,
          updated_at: at,
        };
      });
      refuseIfAny(what, problems);
      return rows.filter((r) => r !== undefined);
    }
  };

  /** The UPDATE of skipUnfinished (a Kysely query, compiled for SQLite or run in a PostgreSQL transaction). */
  const skipQuery = (database: Kysely<Database>, requestId: number, beforeIndex: number, at: string) =>
    database
      .updateTable('run_steps')
      .set({ status: 'skipped', lease_owner: null, lease_until: null, finished_at: sql<string>`coalesce(finished_at, ${at})`, updated_at: at })
      .where('request_id', '=', requestId)
      .where('step_index', '<', beforeIndex)
      .where((eb) => eb.or([eb('status', 'in', ['pending', 'waiting', 'failed', 'cancelled']), eb.and([eb('status', '=', 'running'), eb('lease_until', '<=', dbTime)])]));

  return {
    async createSteps(requestId, steps, now) {
      const what = `The steps of request R-${String(requestId)} were not stored`;
      checkId(requestId, 'requestId', what);
      const at = checkTime(now, 'now', what);
      const values = newRows(requestId, steps, at, 0, what);
      const insert = db
        .insertInto('run_steps')
        .values(values)
        .onConflict((oc) => oc.columns(['request_id', 'step_index']).doNothing());
      const notFound = (): StoreError => new StoreError('not-found', `Request R-${requestId} does not exist; no steps were stored.`);

      let created: boolean;
      if (immediate !== undefined) {
        const exists = db.selectFrom('requests').select('id').where('id', '=', requestId).compile();
        const has = db.selectFrom('run_steps').select('id').where('request_id', '=', requestId).limit(1).compile();
        const ins = insert.compile();
        created = await immediate((statement) => {
          if (statement(exists.sql).get(...exists.parameters) === undefined) throw notFound();
          if (statement(has.sql).get(...has.parameters) !== undefined) return false;
          statement(ins.sql).run(...ins.parameters);
          return true;
        });
      } else {
        created = await db.transaction().execute(async (tx) => {
          // Serializes createSteps for this request; FOR NO KEY UPDATE leaves foreign-key checks
          // (decisions, cards) unblocked.
          const req = await tx.selectFrom('requests').select('id').where('id', '=', requestId).forNoKeyUpdate().executeTakeFirst();
          if (req === undefined) throw notFound();
          const has = await tx.selectFrom('run_steps').select('id').where('request_id', '=', requestId).limit(1).executeTakeFirst();
          if (has !== undefined) return false;
          await tx
            .insertInto('run_steps')
            .values(values)
            .onConflict((oc) => oc.columns(['request_id', 'step_index']).doNothing())
            .execute();
          return true;
        });
      }
      return { created, steps: await listByRequest(requestId) };
    },

    async claimNext(owner, now, leaseMs, limit) {
      const l = checkLease(owner, now, leaseMs, limit, 'claimNext');
      return claim('runnable', l);
    },

    async claimWaiting(owner, now, leaseMs, limit) {
      const l = checkLease(owner, now, leaseMs, limit, 'claimWaiting');
      return claim('waiting', l);
    },

    async complete(id, owner, result, now, also) {
      const a = finishArgs(id, owner, now, 'complete');
      const resultJson = jsonOrNull(result, 'result', `complete of step ${a.id}`);
      // finish(…, { status: 'done', result_json, error: null, finished_at: now }), compiled once
      if (also === undefined) return applied(await execute(completeStepSql(resultJson, a.now, a.id, a.owner)));
      if (audit === undefined) throw new Error('this run repository was made without the audit log; a step outcome cannot be written with its audit event');
      const notice = also.notice;
      if (notice !== undefined && (!isId(notice.requestId) || (notice.message !== null && (typeof notice.message !== 'string' || notice.message === '')))) {
        invalid(`complete of step ${a.id}`, ['notice must name a request id and a message (text or null)']);
      }
      const update = completeStepSql(resultJson, a.now, a.id, a.owner);
      const told = notice && noticeSql(notice.requestId, notice.message, a.now);
      const { value } = await audit.appendAlong(also.audit, {
        sqlite: (statement) => {
          const done = statement(update.sql).run(...update.parameters).changes === 1;
          if (done && told) statement(told.sql).run(...told.parameters);
          return done;
        },
        postgres: async (tx) => {
          const done = applied(await tx.executeQuery(CompiledQuery.raw(update.sql, update.parameters)));
          if (done && told) await tx.executeQuery(CompiledQuery.raw(told.sql, told.parameters));
          return done;
        },
      });
      return value;
    },

    async wait(id, owner, until, result, now) {
      const a = finishArgs(id, owner, now, 'wait');
      const nextAt = checkTime(until, 'until', 'wait');
      const resultJson = jsonOrNull(result, 'result', `wait of step ${a.id}`);
      // finish(…, { status: 'waiting', next_at, result_json, error: null }), compiled once
      return applied(await execute(waitStepSql(resultJson, a.now, a.id, a.owner, nextAt)));
    },

    async retryLater(id, owner, nextAt, error, now) {
      const a = finishArgs(id, owner, now, 'retryLater');
      const at = checkTime(nextAt, 'nextAt', 'retryLater');
      const message = checkError(error, 'retryLater');
      return finish(a.id, a.owner, a.now, {
        status: sql<RunStepStatus>`case when status = ${lit('waiting')} then ${lit('waiting')} else ${lit('pending')} end`,
        next_at: at,
        error: message,
      });
    },

    async fail(id, owner, error, now) {
      const a = finishArgs(id, owner, now, 'fail');
      const message = checkError(error, 'fail');
      return finish(a.id, a.owner, a.now, { status: 'failed', error: message, finished_at: a.now });
    },

    async heartbeat(ids, owner, leaseMs, now) {
      const what = 'heartbeat';
      if (!Array.isArray(ids) || ids.length > MAX_LIMIT) invalid(what, [`ids must be a list of at most ${MAX_LIMIT} step ids`]);
      const list: number[] = (ids as readonly unknown[]).map((id) => checkId(id, 'every id', what));
      const o = checkText(owner, 'owner', what);
      checkTime(now, 'now', what); // checked like every time given; the lease itself is the database's clock
      const ms = checkCount(leaseMs, 'leaseMs', MAX_LEASE_MS, what);
      if (list.length === 0) return [];
      const rows = await db
        .updateTable('run_steps')
        .set({ lease_until: dbTimePlus(ms) })
        .where('id', 'in', list)
        .where('lease_owner', '=', o)
        .where('lease_until', '>', dbTime)
        .where('status', 'in', ['running', 'waiting'])
        .returning('id')
        .execute();
      return rows.map((r) => Number(r.id)).sort((x, y) => x - y);
    },

    async listByRequest(requestId) {
      checkId(requestId, 'requestId', 'listByRequest');
      return listByRequest(requestId);
    },

    async resetFailed(requestId, now) {
      checkId(requestId, 'requestId', 'resetFailed');
      const at = checkTime(now, 'now', 'resetFailed');
      const res = await db
        .updateTable('run_steps')
        .set({ status: 'pending', next_at: at, finished_at: null, abandoned: 0, updated_at: at })
        .where('request_id', '=', requestId)
        .where('status', '=', 'failed')
        .executeTakeFirst();
      return Number(res.numUpdatedRows);
    },

    async noteIntent(id, owner, intent, now) {
      const a = finishArgs(id, owner, now, 'noteIntent');
      const text = jsonOrNull(intent, 'intent', `the intent of step ${a.id}`);
      return applied(await noteIntentOf(text, a.now, a.id, a.owner));
    },

    async appendSteps(requestId, steps, now, options = {}) {
      const what = `The roll-back steps of request R-${String(requestId)} were not stored`;
      checkId(requestId, 'requestId', what);
      const at = checkTime(now, 'now', what);
      const skip = options.skipUnfinished === true;
      newRows(requestId, steps, at, 0, what); // validate before any work
      const ids = steps.map((s) => s.stepId);
      const notFound = (): StoreError => new StoreError('not-found', `Request R-${requestId} does not exist; no steps were stored.`);
      const tooMany = (n: number): StoreError =>
        new StoreError('invalid-record', `${what}: the request would have ${n} steps, more than ${MAX_STEPS}.`);

      let appended: boolean;
      if (immediate !== undefined) {
        const exists = db.selectFrom('requests').select('id').where('id', '=', requestId).compile();
        const last = db
          .selectFrom('run_steps')
          .select((eb) => [eb.fn.max('step_index').as('last'), eb.fn.countAll<number>().as('n')])
          .where('request_id', '=', requestId)
          .compile();
        // The first of the request's steps that already has one of these ids (a repeated call).
        const clash = db
          .selectFrom('run_steps')
          .select('step_index')
          .where('request_id', '=', requestId)
          .where('step_id', 'in', ids)
          .orderBy('step_index')
          .limit(1)
          .compile();
        appended = await immediate((statement) => {
          if (statement(exists.sql).get(...exists.parameters) === undefined) throw notFound();
          const top = statement(last.sql).get(...last.parameters) as { last: number | null; n: number };
          const first = top.last === null ? 0 : Number(top.last) + 1;
          const stored = statement(clash.sql).get(...clash.parameters) as { step_index: number } | undefined;
          if (stored === undefined) {
            if (Number(top.n) + steps.length > MAX_STEPS) throw tooMany(Number(top.n) + steps.length);
            const ins = db.insertInto('run_steps').values(newRows(requestId, steps, at, first, what)).compile();
            statement(ins.sql).run(...ins.parameters);
          }
          if (skip) {
            const q = skipQuery(db, requestId, stored === undefined ? first : Number(stored.step_index), at).compile();
            statement(q.sql).run(...q.parameters);
          }
          return stored === undefined;
        });
      } else {
        appended = await db.transaction().execute(async (tx) => {
          // Serializes appendSteps (and createSteps) for this request, as createSteps does.
          const req = await tx.selectFrom('requests').select('id').where('id', '=', requestId).forNoKeyUpdate().executeTakeFirst();
          if (req === undefined) throw notFound();
          const top = await tx
            .selectFrom('run_steps')
            .select((eb) => [eb.fn.max('step_index').as('last'), eb.fn.countAll<string | number>().as('n')])
            .where('request_id', '=', requestId)
            .executeTakeFirstOrThrow();
          const first = top.last === null ? 0 : Number(top.last) + 1;
          const clash = await tx.selectFrom('run_steps').select('step_index').where('request_id', '=', requestId).where('step_id', 'in', ids).orderBy('step_index').executeTakeFirst();
          if (clash === undefined) {
            if (Number(top.n) + steps.length > MAX_STEPS) throw tooMany(Number(top.n) + steps.length);
            await tx.insertInto('run_steps').values(newRows(requestId, steps, at, first, what)).execute();
          }
          if (skip) await skipQuery(tx, requestId, clash === undefined ? first : Number(clash.step_index), at).execute();
          return clash === undefined;
        });
      }
      return { appended, steps: await listByRequest(requestId) };
    },

    async skipUnfinished(requestId, beforeIndex, now) {
      checkId(requestId, 'requestId', 'skipUnfinished');
      if (typeof beforeIndex !== 'number' || !Number.isSafeInteger(beforeIndex) || beforeIndex < 0) invalid('skipUnfinished', [`beforeIndex must be a whole number >= 0 (got ${JSON.stringify(beforeIndex)})`]);
      const at = checkTime(now, 'now', 'skipUnfinished');
      const res = await skipQuery(db, requestId, beforeIndex, at).executeTakeFirst();
      return Number(res.numUpdatedRows);
    },

    async cancelClaimed(id, owner, now, note) {
      const a = finishArgs(id, owner, now, 'cancelClaimed');
      if (note !== undefined && (typeof note !== 'string' || note === '')) invalid('cancelClaimed', ['note must be a non-empty string when given']);
      return finish(a.id, a.owner, a.now, { status: 'cancelled', finished_at: a.now, ...(note !== undefined ? { error: note } : {}) });
    },

    async cancelPending(requestId, now) {
      checkId(requestId, 'requestId', 'cancelPending');
      const at = now === undefined ? checkTime(clock(), 'the store clock', 'cancelPending') : checkTime(now, 'now', 'cancelPending');
      const res = await db
        .updateTable('run_steps')
        .set({ status: 'cancelled', lease_owner: null, lease_until: null, finished_at: at, updated_at: at })
        .where('request_id', '=', requestId)
        .where((eb) => eb.or([eb('status', 'in', ['pending', 'waiting']), eb.and([eb('status', '=', 'running'), eb('lease_until', '<=', dbTime)])]))
        .executeTakeFirst();
      return Number(res.numUpdatedRows);
    },

    async countByStatus() {
      const rows = await db
        .selectFrom('run_steps')
        .select((eb) => ['status', eb.fn.countAll<number | string>().as('n')])
        .groupBy('status')
        .execute();
      const counts = Object.fromEntries(RUN_STEP_STATUSES.map((s) => [s, 0])) as Record<RunStepStatus, number>;
      for (const r of rows) counts[r.status] = Number(r.n);
      return counts;
    },
  };
}
