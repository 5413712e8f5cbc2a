/**
 * Batches (migration 0009): several requests of one kind filed together, `B-<id>`. A batch is created as a preview
 * (its rows and a summary), then filed (its requests are created with `batchId`, see RequestRepository.create), then
 * finished — or cancelled. Every move is version-guarded, as on requests: one `UPDATE … WHERE id = ? AND version = ?
 * RETURNING` statement, so of two concurrent moves from the same version exactly one wins.
 */
import type { Kysely, Selectable } from 'kysely';
import { decodeJson } from './dialect';
import { BATCH_CARD_AUDIENCES, BATCH_STATUSES, type BatchCardAudience, type BatchCardsTable, type BatchDecisionsTable, type BatchStatus, type BatchesTable, type Database } from './schema';
import { MAX_ID, checkTime, isId, jsonText, refuseIfAny } from './validation';

export { BATCH_CARD_AUDIENCES, BATCH_STATUSES, type BatchCardAudience, type BatchStatus } from './schema';

/** One posted card of a batch (migration 0010): where it is, so it can be updated in place. */
export interface BatchCardRecord {
  readonly id: number;
  readonly batchId: number;
  readonly audience: BatchCardAudience;
  /** Lower-cased; null for a channel. */
  readonly aadObjectId: string | null;
  readonly conversationId: string;
  readonly activityId: string;
  /** ISO 8601 UTC. */
  readonly createdAt: string;
}

export type BatchCardInput = Omit<BatchCardRecord, 'id' | 'createdAt'>;

/** A batch as stored. `rows` comes back exactly as it was given (key order kept). */
export interface BatchRecord {
  readonly id: number;
  /** `B-<id>` */
  readonly reference: string;
  readonly kind: string;
  /** Lower-cased. */
  readonly requesterAadObjectId: string;
  readonly requesterName: string;
  readonly tenantId: string;
  readonly status: BatchStatus;
  /** 1 after create, +1 on every transition. Pass it back to transition() to move the batch. */
  readonly version: number;
  readonly rows: unknown;
  readonly summary: string;
  /** ISO 8601 UTC. */
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly filedAt: string | null;
  readonly finishedAt: string | null;
  /** When every row was filed and the approvers asked; null before, and while filing (or when it was interrupted). */
  readonly filingDoneAt: string | null;
}

export interface BatchInput {
  kind: string;
  requesterAadObjectId: string;
  requesterName: string;
  tenantId: string;
  /** Any JSON value. */
  rows: unknown;
  summary: string;
}

/** What a transition changes: the status always, the times when given. `updatedAt` moves to now, `version` up by one. */
export interface BatchPatch {
  status: BatchStatus;
  filedAt?: string;
  finishedAt?: string;
}

/** `ok: false`: the batch was no longer at the expected version (`current` is what it is now), or does not exist. */
export type BatchTransitionResult = { ok: true; record: BatchRecord } | { ok: false; current: BatchRecord | undefined };

export interface BatchRepository {
  /** Stores a new batch as a preview (version 1). Bad input throws `invalid-record` (nothing written). */
  create(input: BatchInput, now: Date): Promise<BatchRecord>;
  /** By id, or by reference `B-12` / `b12` / `12`; undefined when there is no such batch. */
  get(idOrReference: number | string): Promise<BatchRecord | undefined>;
  /** Like get, without reading the rows (`rows` is undefined): for the checks made on every change of a row. */
  head(idOrReference: number | string): Promise<Omit<BatchRecord, 'rows'> | undefined>;
  /** Moves the batch if it is still at `version` (one statement, version + 1): ok with the new record, or the current one. */
  transition(id: number, version: number, patch: BatchPatch, now: Date): Promise<BatchTransitionResult>;
  /**
   * Remembers a posted card of the batch. Idempotent: the same (batch, conversation, activity) again returns the stored
   * record. Bad input throws `invalid-record` (nothing written).
   */
  addCard(card: BatchCardInput, now: Date): Promise<BatchCardRecord>;
  /** The batch's posted cards, optionally of one audience, in the order they were added. */
  cards(batchId: number, audience?: BatchCardAudience): Promise<BatchCardRecord[]>;
  /**
   * Filing the batch goes on: its `updatedAt` moves to `now` (a filed batch whose filing is not done; false for any
   * other). With `ifStillSince`, only when it has not moved since then (one statement: of several callers taking up
   * the same interrupted filing, one gets true).
   */
  filingGoesOn(id: number, now: Date, ifStillSince?: Date): Promise<boolean>;
  /** Every row of the filed batch was filed and the approvers asked: `filingDoneAt` is set. False when it was already. */
  filingDone(id: number, now: Date): Promise<boolean>;
  /** Filed batches whose filing is not done and has not moved since `before` (interrupted), oldest first, at most `limit`. */
  interruptedFilings(before: Date, limit: number): Promise<BatchRecord[]>;
  /** A decision pressed on the batch begins (its rows are decided one by one now): kept until `decisionDone`. */
  decisionStarted(input: BatchDecisionInput, now: Date): Promise<BatchDecisionRecord>;
  /**
   * The decision is still deciding its rows (`goingOnAt` moves to now). With `ifStillSince`: only when it has not moved
   * since then, and it counts as taken up again (`attempts` + 1): of several instances taking up an interrupted one,
   * one gets true. False when it is done (or, with `ifStillSince`, moved meanwhile).
   */
  decisionGoesOn(id: number, now: Date, ifStillSince?: Date): Promise<boolean>;
  /** Every row the decision could decide was decided and people were told. False when it was marked already. */
  decisionDone(id: number, now: Date): Promise<boolean>;
  /** Decisions not done that have not moved since `before` and ran fewer than `maxAttempts` times, oldest first. */
  interruptedDecisions(before: Date, maxAttempts: number, limit: number): Promise<BatchDecisionRecord[]>;
}

/** A decision pressed on a batch, as the decider was authenticated when they pressed it. */
export interface BatchDecisionInput {
  batchId: number;
  actorAadObjectId: string;
  actorName: string;
  tenantId: string;
  isAdmin: boolean;
  outcome: 'approve' | 'reject';
  reason: string | null;
}

export interface BatchDecisionRecord extends Readonly<BatchDecisionInput> {
  readonly id: number;
  /** Lower-cased. */
  readonly actorAadObjectId: string;
  readonly attempts: number;
  readonly startedAt: string;
  readonly goingOnAt: string;
  readonly doneAt: string | null;
}

const MAX_TEXT = 500;
/** The longest reason a decision may give (as the approval policy allows). */
const MAX_DECISION_REASON = 1000;
const PATCH_KEYS = new Set(['status', 'filedAt', 'finishedAt']);

/** The reference of batch `id`: `B-12`. */
export function batchReference(id: number): string {
  return `B-${id}`;
}

/** The id in `12`, `B-12`, `b-12`, `B12` or `b12` (surrounding spaces allowed); undefined when it is not one. */
export function parseBatchId(ref: string | number): number | undefined {
  let n: number;
  if (typeof ref === 'number') {
    n = ref;
  } else if (typeof ref === 'string') {
    const m = /^\s*(?:[Bb]-?)?(\d{1,10})\s*$/.exec(ref);
    if (m?.[1] === undefined) return undefined;
    n = Number(m[1]);
  } else {
    return undefined;
  }
  return isId(n) ? n : undefined;
}

type Row = Selectable<BatchesTable>;
type CardRow = Selectable<BatchCardsTable>;

function toCardRecord(row: CardRow): BatchCardRecord {
  return {
    id: Number(row.id),
    batchId: Number(row.batch_id),
    audience: row.audience,
    aadObjectId: row.aad_object_id,
    conversationId: row.conversation_id,
    activityId: row.activity_id,
    createdAt: row.created_at,
  };
}

const MAX_PLACE = 1_000;

function toRecord(row: Row): BatchRecord {
  const id = Number(row.id);
  return {
    id,
    reference: batchReference(id),
    kind: row.kind,
    requesterAadObjectId: row.requester_aad_object_id,
    requesterName: row.requester_name,
    tenantId: row.tenant_id,
    status: row.status,
    version: Number(row.version),
    rows: decodeJson(row.rows_json),
    summary: row.summary,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    filedAt: row.filed_at,
    finishedAt: row.finished_at,
    filingDoneAt: row.filing_done_at,
  };
}

/** Refuses (`invalid-record`, naming `what`) an id that cannot be a batch's. */
function checkBatchId(id: unknown, what: string): void {
  if (!isId(id)) refuseIfAny(what, [`id must be an integer from 1 to ${MAX_ID} (got ${JSON.stringify(id)})`]);
}

/** The checked arguments of a "goes on" mark: now, and the time it must not have moved since (when given). */
function goesOnArgs(what: string, id: unknown, now: Date, ifStillSince: Date | undefined): { at: string; since: string | undefined } {
  const at = checkTime(now, 'now', what);
  const since = ifStillSince === undefined ? undefined : checkTime(ifStillSince, 'ifStillSince', what);
  checkBatchId(id, what);
  return { at, since };
}

function toDecisionRecord(row: Selectable<BatchDecisionsTable>): BatchDecisionRecord {
  return {
    id: Number(row.id),
    batchId: Number(row.batch_id),
    actorAadObjectId: row.actor_aad_object_id,
    actorName: row.actor_name,
    tenantId: row.tenant_id,
    isAdmin: Number(row.is_admin) === 1,
    outcome: row.outcome,
    reason: row.reason,
    attempts: Number(row.attempts),
    startedAt: row.started_at,
    goingOnAt: row.going_on_at,
    doneAt: row.done_at,
  };
}

function textProblem(v: unknown, key: string): string | undefined {
  return typeof v !== 'string' || v.trim() === '' || v.length > MAX_TEXT ? `${key} must be a non-empty string of at most ${MAX_TEXT} characters (got ${JSON.stringify(v)})` : undefined;
}

function statusProblem(v: unknown): string | undefined {
  return (BATCH_STATUSES as readonly unknown[]).includes(v) ? undefined : `status must be one of ${BATCH_STATUSES.join(', ')} (got ${JSON.stringify(v)})`;
}

function only(problems: readonly (string | undefined)[]): string[] {
  return problems.filter((p): p is string => p !== undefined);
}

export function createBatchRepository(db: Kysely<Database>): BatchRepository {
  const getById = async (id: number): Promise<BatchRecord | undefined> => {
    const row = await db.selectFrom('batches').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toRecord(row);
  };

  return {
    async create(input, now) {
      const what = 'The batch was not stored, nothing was changed';
      if (typeof input !== 'object' || (input as unknown) === null) refuseIfAny(what, ['the batch must be an object']);
      const rows = jsonText(input.rows, 'rows');
      const problems = only([
        textProblem(input.kind, 'kind'),
        textProblem(input.requesterAadObjectId, 'requesterAadObjectId'),
        textProblem(input.requesterName, 'requesterName'),
        textProblem(input.tenantId, 'tenantId'),
        rows.problem,
        typeof input.summary === 'string' ? undefined : `summary must be a string (got ${JSON.stringify(input.summary)})`,
      ]);
      refuseIfAny(what, problems);
      const at = checkTime(now, 'now', what);
      const row = await db
        .insertInto('batches')
        .values({
          kind: input.kind,
          requester_aad_object_id: input.requesterAadObjectId.toLowerCase(),
          requester_name: input.requesterName,
          tenant_id: input.tenantId,
          status: 'preview',
          version: 1,
          rows_json: rows.text ?? 'null',
          summary: input.summary,
          created_at: at,
          updated_at: at,
          filed_at: null,
          finished_at: null,
          filing_done_at: null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toRecord(row);
    },

    async get(idOrReference) {
      const id = parseBatchId(idOrReference);
      return id === undefined ? undefined : getById(id);
    },

    async head(idOrReference) {
      const id = parseBatchId(idOrReference);
      if (id === undefined) return undefined;
      const row = await db
        .selectFrom('batches')
        .select(['id', 'kind', 'requester_aad_object_id', 'requester_name', 'tenant_id', 'status', 'version', 'summary', 'created_at', 'updated_at', 'filed_at', 'finished_at', 'filing_done_at'])
        .where('id', '=', id)
        .executeTakeFirst();
      if (!row) return undefined;
      const { rows: _rows, ...rest } = toRecord({ ...row, rows_json: 'null' });
      return rest;
    },

    async transition(id, version, patch, now) {
      const what = `The change to batch ${isId(id) ? batchReference(id) : JSON.stringify(id)} was not made, nothing was changed`;
      const problems = only([
        isId(id) ? undefined : `id must be an integer from 1 to ${MAX_ID} (got ${JSON.stringify(id)})`,
        isId(version) ? undefined : `version must be an integer from 1 to ${MAX_ID} (got ${JSON.stringify(version)})`,
      ]);
      if (typeof patch !== 'object' || (patch as unknown) === null) {
        problems.push('the patch must be an object');
      } else {
        const unknown = Object.keys(patch).filter((k) => !PATCH_KEYS.has(k));
        if (unknown.length > 0) problems.push(`unknown field${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`);
        const bad = statusProblem(patch.status);
        if (bad !== undefined) problems.push(bad);
      }
      refuseIfAny(what, problems);
      const filedAt = patch.filedAt === undefined ? undefined : checkTime(patch.filedAt, 'filedAt', what);
      const finishedAt = patch.finishedAt === undefined ? undefined : checkTime(patch.finishedAt, 'finishedAt', what);
      const at = checkTime(now, 'now', what);

      const row = await db
        .updateTable('batches')
        .set((eb) => ({
          status: patch.status,
          ...(filedAt === undefined ? {} : { filed_at: filedAt }),
          ...(finishedAt === undefined ? {} : { finished_at: finishedAt }),
          version: eb(eb.ref('version'), '+', 1),
          updated_at: at,
        }))
        .where('id', '=', id)
        .where('version', '=', version)
        .returningAll()
        .executeTakeFirst();
      if (row !== undefined) return { ok: true, record: toRecord(row) };
      return { ok: false, current: await getById(id) };
    },

    async addCard(card, now) {
      const what = 'The card of the batch was not stored, nothing was changed';
      const c = (typeof card === 'object' && (card as unknown) !== null ? card : {}) as Partial<BatchCardInput>;
      const problems = only([
        isId(c.batchId) ? undefined : `batchId must be an integer from 1 to ${MAX_ID} (got ${JSON.stringify(c.batchId)})`,
        (BATCH_CARD_AUDIENCES as readonly unknown[]).includes(c.audience) ? undefined : `audience must be one of ${BATCH_CARD_AUDIENCES.join(', ')} (got ${JSON.stringify(c.audience)})`,
        c.aadObjectId === null || (typeof c.aadObjectId === 'string' && c.aadObjectId !== '' && c.aadObjectId.length <= MAX_TEXT) ? undefined : 'aadObjectId must be a non-empty string or null',
        ...(['conversationId', 'activityId'] as const).map((k) => (typeof c[k] === 'string' && c[k] !== '' && c[k].length <= MAX_PLACE ? undefined : `${k} must be a non-empty string of at most ${MAX_PLACE} characters`)),
      ]);
      refuseIfAny(what, problems);
      const input = card;
      const at = checkTime(now, 'now', what);
      const inserted = await db
        .insertInto('batch_cards')
        .values({
          batch_id: input.batchId,
          audience: input.audience,
          aad_object_id: input.aadObjectId === null ? null : input.aadObjectId.toLowerCase(),
          conversation_id: input.conversationId,
          activity_id: input.activityId,
          created_at: at,
        })
        .onConflict((oc) => oc.columns(['batch_id', 'conversation_id', 'activity_id']).doNothing())
        .returningAll()
        .executeTakeFirst();
      const row =
        inserted ??
        (await db
          .selectFrom('batch_cards')
          .selectAll()
          .where('batch_id', '=', input.batchId)
          .where('conversation_id', '=', input.conversationId)
          .where('activity_id', '=', input.activityId)
          .executeTakeFirstOrThrow());
      return toCardRecord(row);
    },

    async filingGoesOn(id, now, ifStillSince) {
      const { at, since } = goesOnArgs('The filing of the batch was not marked as going on, nothing was changed', id, now, ifStillSince);
      let q = db.updateTable('batches').set({ updated_at: at }).where('id', '=', id).where('status', '=', 'filed').where('filing_done_at', 'is', null);
      if (since !== undefined) q = q.where('updated_at', '<', since);
      return Number((await q.executeTakeFirst()).numUpdatedRows) === 1;
    },

    async filingDone(id, now) {
      const what = 'The filing of the batch was not marked done, nothing was changed';
      const at = checkTime(now, 'now', what);
      checkBatchId(id, what);
      const res = await db.updateTable('batches').set({ filing_done_at: at, updated_at: at }).where('id', '=', id).where('status', '<>', 'preview').where('filing_done_at', 'is', null).executeTakeFirst();
      return Number(res.numUpdatedRows) === 1;
    },

    async decisionStarted(input, now) {
      const what = 'The decision on the batch was not recorded, nothing was changed';
      const at = checkTime(now, 'now', what);
      const i = (typeof input === 'object' && input !== null ? input : {}) as Partial<BatchDecisionInput>;
      refuseIfAny(what, [
        ...(isId(i.batchId) ? [] : [`batchId must be an integer from 1 to ${MAX_ID} (got ${JSON.stringify(i.batchId)})`]),
        ...only([textProblem(i.actorAadObjectId, 'actorAadObjectId'), textProblem(i.actorName, 'actorName'), textProblem(i.tenantId, 'tenantId')]),
        ...(typeof i.isAdmin === 'boolean' ? [] : ['isAdmin must be true or false']),
        ...(i.outcome === 'approve' || i.outcome === 'reject' ? [] : [`outcome must be approve or reject (got ${JSON.stringify(i.outcome)})`]),
        ...(i.reason === null || (typeof i.reason === 'string' && i.reason.length <= MAX_DECISION_REASON) ? [] : [`the reason must be at most ${MAX_DECISION_REASON} characters`]),
      ]);
      const row = await db
        .insertInto('batch_decisions')
        .values({
          batch_id: input.batchId,
          actor_aad_object_id: input.actorAadObjectId.toLowerCase(),
          actor_name: input.actorName,
          tenant_id: input.tenantId,
          is_admin: input.isAdmin ? 1 : 0,
          outcome: input.outcome,
          reason: input.reason,
          attempts: 1,
          started_at: at,
          going_on_at: at,
          done_at: null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toDecisionRecord(row);
    },

    async decisionGoesOn(id, now, ifStillSince) {
      const { at, since } = goesOnArgs('The decision on the batch was not marked as going on, nothing was changed', id, now, ifStillSince);
      let q = db.updateTable('batch_decisions').set((eb) => ({ going_on_at: at, attempts: since === undefined ? eb.ref('attempts') : eb(eb.ref('attempts'), '+', 1) })).where('id', '=', id).where('done_at', 'is', null);
      if (since !== undefined) q = q.where('going_on_at', '<', since);
      return Number((await q.executeTakeFirst()).numUpdatedRows) === 1;
    },

    async decisionDone(id, now) {
      const what = 'The decision on the batch was not marked done, nothing was changed';
      const at = checkTime(now, 'now', what);
      checkBatchId(id, what);
      const res = await db.updateTable('batch_decisions').set({ done_at: at, going_on_at: at }).where('id', '=', id).where('done_at', 'is', null).executeTakeFirst();
      return Number(res.numUpdatedRows) === 1;
    },

    async interruptedDecisions(before, maxAttempts, limit) {
      const what = 'The interrupted decisions were not listed';
      const at = checkTime(before, 'before', what);
      if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1) refuseIfAny(what, [`maxAttempts must be a positive integer (got ${JSON.stringify(maxAttempts)})`]);
      if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1000) refuseIfAny(what, [`limit must be an integer from 1 to 1000 (got ${JSON.stringify(limit)})`]);
      const rows = await db.selectFrom('batch_decisions').selectAll().where('done_at', 'is', null).where('going_on_at', '<', at).where('attempts', '<', maxAttempts).orderBy('going_on_at').orderBy('id').limit(limit).execute();
      return rows.map(toDecisionRecord);
    },

    async interruptedFilings(before, limit) {
      const what = 'The interrupted filings were not listed';
      const at = checkTime(before, 'before', what);
      if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1000) refuseIfAny(what, [`limit must be an integer from 1 to 1000 (got ${JSON.stringify(limit)})`]);
      const rows = await db.selectFrom('batches').selectAll().where('status', '=', 'filed').where('filing_done_at', 'is', null).where('updated_at', '<', at).orderBy('updated_at').orderBy('id').limit(limit).execute();
      return rows.map(toRecord);
    },

    async cards(batchId, audience) {
      if (!isId(batchId)) refuseIfAny('The cards of the batch were not listed', [`batchId must be an integer from 1 to ${MAX_ID} (got ${JSON.stringify(batchId)})`]);
      let q = db.selectFrom('batch_cards').selectAll().where('batch_id', '=', batchId);
      if (audience !== undefined) q = q.where('audience', '=', audience);
      return (await q.orderBy('id').execute()).map(toCardRecord);
    },
  };
}
