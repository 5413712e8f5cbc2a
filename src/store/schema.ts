/**
 * The database schema as Kysely sees it: table and column names exactly as stored (snake_case), values in
 * their stored representation (see `dialect.ts`). Repositories map rows to the records the rest of
 * Mailroom uses; nothing outside `src/store/` should need these row types.
 */

export const CONVERSATION_TYPES = ['personal', 'groupChat', 'channel'] as const;
export type ConversationType = (typeof CONVERSATION_TYPES)[number];

export interface ConversationRefsTable {
  /** Teams conversation id; primary key. */
  conversation_id: string;
  conversation_type: ConversationType;
  tenant_id: string;
  service_url: string;
  user_aad_object_id: string | null;
  channel_id: string | null;
  team_id: string | null;
  /** The serialized ConversationReference: JSON text. */
  reference_json: string;
  /** Boolean as integer: 1 installed, 0 uninstalled. */
  bot_installed: number;
  /** Number of writes to the row: 1 after the insert, +1 on every update. */
  revision: number;
  /** ISO 8601 UTC timestamps, `Date.prototype.toISOString()` form. */
  created_at: string;
  updated_at: string;
}

export interface Database {
  conversation_refs: ConversationRefsTable;
}
