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

function tenantOf(activity: Partial<Activity>): string | undefined {
  const fromConversation = activity.conversation?.tenantId;
  const channelData = activity.channelData as { tenant?: { id?: unknown } } | undefined;
  const fromChannelData = typeof channelData?.tenant?.id === 'string' ? channelData.tenant.id : undefined;
  const id = fromConversation ?? fromChannelData;
  return id ? id.toLowerCase() : undefined;
}

export type ActorCheck = { ok: true; actor: Actor } | { ok: false; reason: 'no-tenant' | 'tenant-not-allowed' | 'no-user'; tenantId?: string };

export function checkActor(activity: Partial<Activity>, allowedTenantIds: readonly string[]): ActorCheck {
  const tenantId = tenantOf(activity);
  if (!tenantId) return { ok: false, reason: 'no-tenant' };
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
