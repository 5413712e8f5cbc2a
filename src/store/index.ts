/**
 * The store: one schema and one query layer over embedded SQLite (the default) and PostgreSQL (when a
 * database URL is given, for several bot instances). `openStore` opens the database, checks it answers,
 * and migrates it to the latest schema before returning. Value representations and every other engine
 * difference are described in `dialect.ts`.
 */
import type { Kysely } from 'kysely';
import { createApproverRepository, type ApproverRepository } from './approver-repository';
import { createAuditLog, type AuditLog } from './audit-log';
import { createBatchRepository, type BatchRepository } from './batch-repository';
import { createCardRepository, type CardRepository } from './card-repository';
import { createConversationRepository, type ConversationRepository } from './conversation-repository';
import { createDecisionRepository, type DecisionRepository } from './decision-repository';
import { createDelegationRepository, type DelegationRepository } from './delegation-repository';
import { lockSqliteFile, openPostgres, openSqlite, type EngineConnection, type Engine, type SqliteFileLock } from './dialect';
import { StoreError } from './errors';
import { migrateToLatest } from './migrations';
import { createOutboxRepository, type OutboxRepository } from './outbox-repository';
import { createRateLimitRepository, type RateLimitRepository } from './rate-limit-repository';
import { createRequestRepository, type RequestRepository } from './request-repository';
import { createRunRepository, type RunRepository } from './run-repository';
import { createSecretRepository, type SecretRepository } from './secret-repository';
import { createSettingsRepository, type SettingsRepository } from './settings-repository';
import type { Database } from './schema';

export type { ConversationRefFilter, ConversationRefInput, ConversationRefRecord, ConversationRepository, ConversationType } from './conversation-repository';
export type { Engine } from './dialect';
export { StoreError, redactDatabaseUrl, type StoreErrorCode } from './errors';
export { LATEST_MIGRATION, MIGRATION_NAMES } from './migrations';
export {
  REQUEST_STATUSES,
  parseRequestId,
  requestReference,
  type RequestInput,
  type RequestListOptions,
  type RequestPatch,
  type BatchCounts,
  type NameHolder,
  type RequestRecord,
  type RequestRepository,
  type RequestStatus,
  type TimeInput,
  type TransitionResult,
  type DecisionTransitionInput,
  type DecisionTransitionResult,
} from './request-repository';
export type { Decision, DecisionInput, DecisionRecord, DecisionRepository } from './decision-repository';
export type { CardAudience, CardInput, CardRecord, CardRepository } from './card-repository';
export {
  AUDIT_ANCHOR_EVENT,
  AUDIT_GENESIS_HASH,
  auditHash,
  auditHmac,
  canonicalJson,
  type AuditAlg,
  type AuditHead,
  type AuditTrailCheck,
  type AuditEvent,
  type AuditEventInput,
  type AuditExportFilter,
  type AuditListOptions,
  type AuditLog,
  type AuditVerifyResult,
} from './audit-log';
export {
  RUN_STEP_NOT_DUE,
  RUN_STEP_STATUSES,
  type CreateStepsResult,
  type RunRepository,
  type RunStepInput,
  type RunStepRecord,
  type RunStepStatus,
} from './run-repository';
export type { PurgedSecretRecord, SecretRepository, SecretRevealInput, SecretRevealRecord } from './secret-repository';
export type { RateLimitRepository, RateLimitState } from './rate-limit-repository';
export type { OutboxEntry, OutboxRepository } from './outbox-repository';
export type { ApproverRepository, ExtraApprover, ExtraApproverWhy } from './approver-repository';
export { EXTRA_APPROVER_WHYS } from './schema';
export type { Delegation, DelegationRepository } from './delegation-repository';
export {
  BATCH_CARD_AUDIENCES,
  BATCH_STATUSES,
  batchReference,
  parseBatchId,
  type BatchCardAudience,
  type BatchCardInput,
  type BatchCardRecord,
  type BatchDecisionInput,
  type BatchDecisionRecord,
  type BatchInput,
  type BatchPatch,
  type BatchRecord,
  type BatchRepository,
  type BatchStatus,
  type BatchTransitionResult,
} from './batch-repository';
export type { SettingRecord, SettingsRepository } from './settings-repository';
export type { Database } from './schema';

export interface StoreOptions {
  /** postgres://user:password@host:5432/database — when set (non-empty), PostgreSQL is used. */
  databaseUrl?: string;
  /** PostgreSQL's password asked for at each new connection (an Entra token) instead of one in the URL. */
  databasePassword?: () => Promise<string>;
  /** The SQLite file used when there is no databaseUrl, e.g. data/mailroom.db; its folder is created. */
  sqliteFile: string;
  /**
   * SQLite only: hold the file for this store until it is closed (`<sqliteFile>.lock`, see `lockSqliteFile`), so
   * that a second Mailroom instance on the same file, in any process, is refused at open with a message naming the
   * file. A Mailroom instance sets it (app.ts); tools that only look (the doctor) and tests that share a file on
   * purpose do not. Ignored for PostgreSQL, which serves several instances.
   */
  singleInstance?: boolean;
  /**
   * The HMAC key of the audit chain (32 bytes), kept outside the database (AUDIT_KEY, or derived from SECRET_KEY).
   * With it, events are keyed and a chain that ends unkeyed is re-anchored at open (see audit-log.ts).
   */
  auditKey?: Uint8Array;
  /** Source of createdAt/updatedAt; defaults to the system clock. */
  clock?: () => Date;
  /** Errors that happen outside any call (an idle PostgreSQL connection dropping); default: console.error. */
  onBackgroundError?: (err: StoreError) => void;
}

export interface Store {
  readonly engine: Engine;
  /** For repositories added later; the schema is in `schema.ts`. */
  readonly db: Kysely<Database>;
  readonly conversations: ConversationRepository;
  readonly requests: RequestRepository;
  /** Append-only record of approvers' decisions. */
  readonly decisions: DecisionRepository;
  /** Where each copy of a request's cards was sent. */
  readonly cards: CardRepository;
  /** The append-only, hash-chained audit log. */
  readonly audit: AuditLog;
  /** The durable workflow's steps, claimed under leases. */
  readonly runs: RunRepository;
  /** Ciphertext of generated secrets, taken once. */
  readonly secrets: SecretRepository;
  /** Sliding-window rate limits and Retry-After blocks shared by every instance (Graph provisionOnDemand). */
  readonly rateLimits: RateLimitRepository;
  /** What people must hear of requests, until it is delivered (the runner writes, the notification sender drains). */
  readonly outbox: OutboxRepository;
  /** The extra approvers of a request's stages (manager, owner, reassigned, escalated, delegate). */
  readonly approvers: ApproverRepository;
  /** Approvers' delegations of their decisions to someone else, until a time (one per delegator). */
  readonly delegations: DelegationRepository;
  /** Settings changed at run time: JSON values by key. */
  readonly settings: SettingsRepository;
  /** Requests filed together (`B-<id>`): preview, filed, finished or cancelled; their requests carry `batchId`. */
  readonly batches: BatchRepository;
  /** Resolves when the database answers a query; throws a StoreError saying why not (readiness probe). */
  ping(): Promise<void>;
  /** Migrate to the latest schema; returns the migrations applied now ([] when already up to date). */
  migrate(): Promise<string[]>;
  /** Release the connections or the file. Safe to call twice. */
  close(): Promise<void>;
}

export async function openStore(opts: StoreOptions): Promise<Store> {
  const clock = opts.clock ?? (() => new Date());
  const onBackgroundError = opts.onBackgroundError ?? ((err: StoreError) => console.error(err.message));
  const url = opts.databaseUrl?.trim() ?? '';
  const inMemory = opts.sqliteFile === ':memory:' || opts.sqliteFile === '';
  // Taken before the database is opened: a refused instance does not even migrate it.
  const lock: SqliteFileLock | undefined = url === '' && opts.singleInstance === true && !inMemory ? lockSqliteFile(opts.sqliteFile) : undefined;
  let conn: EngineConnection;
  try {
    conn = url !== '' ? openPostgres(url, onBackgroundError, opts.databasePassword) : openSqlite(opts.sqliteFile);
  } catch (err) {
    lock?.release();
    throw err;
  }

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => (closed ??= conn.db.destroy().finally(() => lock?.release()));
  const probe = async (doing: string): Promise<void> => {
    if (closed !== undefined) throw new StoreError('closed', 'The store is closed; open it again to use the database.');
    try {
      await conn.db.selectNoFrom((eb) => eb.lit(1).as('ok')).execute();
    } catch (err) {
      throw conn.describe(err, doing);
    }
  };

  let audit: AuditLog;
  try {
    await probe('open the store');
    await migrateToLatest(conn);
    audit = createAuditLog(conn, clock, { key: opts.auditKey });
    // A keyed store re-anchors a chain that ends in unkeyed events (once, on the first keyed open).
    await audit.anchor();
  } catch (err) {
    await close().catch(() => undefined);
    throw err instanceof StoreError ? err : conn.describe(err, 'open the store');
  }

  return {
    engine: conn.engine,
    db: conn.db,
    conversations: createConversationRepository(conn.db, clock),
    requests: createRequestRepository(conn, clock),
    decisions: createDecisionRepository(conn.db, clock),
    cards: createCardRepository(conn.db, clock),
    audit,
    runs: createRunRepository(conn, clock, audit),
    secrets: createSecretRepository(conn, clock),
    rateLimits: createRateLimitRepository(conn),
    outbox: createOutboxRepository(conn),
    approvers: createApproverRepository(conn.db),
    delegations: createDelegationRepository(conn.db),
    settings: createSettingsRepository(conn.db),
    batches: createBatchRepository(conn.db),
    ping: () => probe('answer a ping'),
    migrate: () => migrateToLatest(conn),
    close,
  };
}
