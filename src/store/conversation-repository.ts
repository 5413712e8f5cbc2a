import type { Kysely, Selectable } from 'kysely';
import { compiledOnce, decodeBoolean, decodeJson, encodeBoolean, encodeJson, encodeTimestamp } from './dialect';
import { CONVERSATION_TYPES, type ConversationRefsTable, type ConversationType, type Database } from './schema';
import { refuseIfAny } from './validation';

export type { ConversationType } from './schema';

/** A Teams conversation the bot can message proactively, with the reference needed to do so. */
export interface ConversationRefRecord {
  conversationId: string;
  conversationType: ConversationType;
  tenantId: string;
  serviceUrl: string;
  /** Set for personal chats: whose chat it is. */
  userAadObjectId: string | null;
  /** The Teams channel id (teamsChannelId) when conversationType is 'channel'. */
  channelId: string | null;
  teamId: string | null;
  /** The full serialized ConversationReference. Stored as JSON text; round-trips exactly. */
  reference: Record<string, unknown>;
  /** False after the bot was uninstalled from the conversation. */
  botInstalled: boolean;
  /** ISO 8601 UTC, e.g. 2025-01-31T09:15:00.000Z. */
  createdAt: string;
  updatedAt: string;
}

export type ConversationRefInput = Omit<ConversationRefRecord, 'createdAt' | 'updatedAt'>;

export interface ConversationRefFilter {
  conversationType?: ConversationType;
  tenantId?: string;
}

export interface ConversationRepository {
  /**
   * Insert or replace the conversation's reference in one atomic statement. Idempotent: Teams resends
   * install and update events, and concurrent resends never fail or duplicate. `created` is true only
   * for the call that inserted the row. createdAt is kept; updatedAt moves to now.
   */
  upsert(rec: ConversationRefInput): Promise<{ created: boolean }>;
  get(conversationId: string): Promise<ConversationRefRecord | undefined>;
  /**
   * The personal chat of a user in a tenant. Should there be several, one where the bot is installed
   * wins, then the most recently updated.
   */
  personalFor(userAadObjectId: string, tenantId: string): Promise<ConversationRefRecord | undefined>;
  /** Record that the bot was removed; the reference is kept. A no-op for an unknown or already uninstalled one. */
  markUninstalled(conversationId: string): Promise<void>;
  /** Matching conversations, oldest first. */
  list(filter?: ConversationRefFilter): Promise<ConversationRefRecord[]>;
}

type Row = Selectable<ConversationRefsTable>;

function toRecord(row: Row): ConversationRefRecord {
  return {
    conversationId: row.conversation_id,
    conversationType: row.conversation_type,
    tenantId: row.tenant_id,
    serviceUrl: row.service_url,
    userAadObjectId: row.user_aad_object_id,
    channelId: row.channel_id,
    teamId: row.team_id,
    reference: decodeJson(row.reference_json) as Record<string, unknown>,
    botInstalled: decodeBoolean(row.bot_installed),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function validate(rec: ConversationRefInput): void {
  const problems: string[] = [];
  for (const key of ['conversationId', 'tenantId', 'serviceUrl'] as const) {
    if (typeof rec[key] !== 'string' || rec[key] === '') problems.push(`${key} must be a non-empty string`);
  }
  if (!(CONVERSATION_TYPES as readonly string[]).includes(rec.conversationType)) {
    problems.push(`conversationType must be one of ${CONVERSATION_TYPES.join(', ')} (got ${JSON.stringify(rec.conversationType)})`);
  }
  if (typeof rec.reference !== 'object' || rec.reference === null || Array.isArray(rec.reference)) {
    problems.push('reference must be a JSON object');
  }
  if (typeof rec.botInstalled !== 'boolean') problems.push('botInstalled must be a boolean');
  refuseIfAny(`Conversation reference ${JSON.stringify(rec.conversationId)} was not stored`, problems);
}

export function createConversationRepository(db: Kysely<Database>, now: () => Date): ConversationRepository {
  // read for every message and card update Mailroom sends: compiled once (see compiledOnce)
  const selectById = compiledOnce(db, (arg) => db.selectFrom('conversation_refs').selectAll().where('conversation_id', '=', arg<string>(0)));
  const selectPersonal = compiledOnce(db, (arg) =>
    db
      .selectFrom('conversation_refs')
      .selectAll()
      .where('conversation_type', '=', 'personal')
      .where('user_aad_object_id', '=', arg<string>(0))
      .where('tenant_id', '=', arg<string>(1))
      .orderBy('bot_installed', 'desc')
      .orderBy('updated_at', 'desc')
      .orderBy('conversation_id')
      .limit(1),
  );
  return {
    async upsert(rec) {
      validate(rec);
      const at = encodeTimestamp(now());
      const row = await db
        .insertInto('conversation_refs')
        .values({
          conversation_id: rec.conversationId,
          conversation_type: rec.conversationType,
          tenant_id: rec.tenantId,
          service_url: rec.serviceUrl,
          user_aad_object_id: rec.userAadObjectId,
          channel_id: rec.channelId,
          team_id: rec.teamId,
          reference_json: encodeJson(rec.reference),
          bot_installed: encodeBoolean(rec.botInstalled),
          revision: 1,
          created_at: at,
          updated_at: at,
        })
        .onConflict((oc) =>
          oc.column('conversation_id').doUpdateSet((eb) => ({
            conversation_type: eb.ref('excluded.conversation_type'),
            tenant_id: eb.ref('excluded.tenant_id'),
            service_url: eb.ref('excluded.service_url'),
            user_aad_object_id: eb.ref('excluded.user_aad_object_id'),
            channel_id: eb.ref('excluded.channel_id'),
            team_id: eb.ref('excluded.team_id'),
            reference_json: eb.ref('excluded.reference_json'),
            bot_installed: eb.ref('excluded.bot_installed'),
            revision: eb(eb.ref('conversation_refs.revision'), '+', 1),
            updated_at: eb.ref('excluded.updated_at'),
          })),
        )
        // revision is 1 only for the statement that inserted: that is how `created` is known atomically.
        .returning('revision')
        .executeTakeFirstOrThrow();
      return { created: Number(row.revision) === 1 };
    },

    async get(conversationId) {
      const row = (await selectById(conversationId)).rows[0];
      return row && toRecord(row);
    },

    async personalFor(userAadObjectId, tenantId) {
      const row = (await selectPersonal(userAadObjectId, tenantId)).rows[0];
      return row && toRecord(row);
    },

    async markUninstalled(conversationId) {
      await db
        .updateTable('conversation_refs')
        .set((eb) => ({
          bot_installed: encodeBoolean(false),
          revision: eb(eb.ref('revision'), '+', 1),
          updated_at: encodeTimestamp(now()),
        }))
        .where('conversation_id', '=', conversationId)
        // A resent uninstall event leaves the first uninstall time in place.
        .where('bot_installed', '=', encodeBoolean(true))
        .execute();
    },

    async list(filter = {}) {
      let q = db.selectFrom('conversation_refs').selectAll();
      if (filter.conversationType !== undefined) q = q.where('conversation_type', '=', filter.conversationType);
      if (filter.tenantId !== undefined) q = q.where('tenant_id', '=', filter.tenantId);
      const rows = await q.orderBy('created_at').orderBy('conversation_id').execute();
      return rows.map(toRecord);
    },
  };
}
