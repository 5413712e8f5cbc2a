import type { Activity } from 'botbuilder';
import type { Role } from './roles';

/** Who acts in a turn: always taken from the authenticated activity, never from card data. */
export interface Actor {
  readonly aadObjectId: string;
  readonly name: string;
  readonly tenantId: string;
}

export interface TurnInfo {
  readonly actor: Actor;
  readonly roles: readonly Role[];
}

function text(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v.trim().toLowerCase() : undefined;
}

export type ActorRefusal = 'not-teams' | 'no-tenant' | 'tenant-mismatch' | 'tenant-not-allowed' | 'no-user';
export type ActorCheck = { ok: true; actor: Actor } | { ok: false; reason: ActorRefusal; tenantId?: string };

/**
 * Who sent the activity, if Mailroom takes it: it must come from Teams (`channelId` msteams), name its tenant twice
 * (`conversation.tenantId` and `channelData.tenant.id`, present and equal, so no reader can pick a different one),
 * that tenant must be allowed, and the sender must be an Entra user.
 */
export function checkActor(activity: Partial<Activity>, allowedTenantIds: readonly string[]): ActorCheck {
  if (activity.channelId !== 'msteams') return { ok: false, reason: 'not-teams' };
  const fromConversation = text(activity.conversation?.tenantId);
  const channelData = activity.channelData as { tenant?: { id?: unknown } } | undefined;
  const fromChannelData = text(channelData?.tenant?.id);
  if (!fromConversation || !fromChannelData) return { ok: false, reason: 'no-tenant', tenantId: fromConversation ?? fromChannelData };
  if (fromConversation !== fromChannelData) return { ok: false, reason: 'tenant-mismatch', tenantId: fromConversation };
  const tenantId = fromConversation;
  if (!allowedTenantIds.includes(tenantId)) return { ok: false, reason: 'tenant-not-allowed', tenantId };
  const aad = activity.from?.aadObjectId;
  if (!aad) return { ok: false, reason: 'no-user', tenantId };
  return { ok: true, actor: { aadObjectId: aad.toLowerCase(), name: activity.from?.name ?? aad, tenantId } };
}

export type ConversationKind = 'personal' | 'groupChat' | 'channel';

export function conversationKind(activity: Partial<Activity>): ConversationKind {
  const t = activity.conversation?.conversationType;
  if (t === 'channel') return 'channel';
  if (t === 'groupChat') return 'groupChat';
  return 'personal';
}
