/**
 * The approvals channel: a Teams channel that gets a copy of every approval card (all kinds, or one kind), set by an
 * admin typing `approvals here` in the channel (kept in the store's settings, so every instance sees it), else
 * APPROVAL_CHANNEL_ID from the configuration.
 */
import { isKindId, KINDS } from '../requests';
import type { AuditEventInput } from '../store';
import { actorEvent } from './use-case-deps';
import type { RequestActor } from './use-cases';

export interface ChannelSettingsPort {
  get<T = unknown>(key: string): Promise<{ readonly value: T; readonly updatedAt: string; readonly updatedBy: string | null } | undefined>;
  set(key: string, value: unknown, updatedBy: string | null, now: Date): Promise<void>;
}

interface ChannelSetting {
  readonly conversationId: string;
  readonly setByName: string;
}

const keyOf = (kind?: string): string => (kind ? `approvals.channel.${kind}` : 'approvals.channel');

/** The channel conversation that gets a kind's approval cards: the kind's own, the general one, or the configured one. */
export function approvalChannelFor(settings: ChannelSettingsPort, configured: string | undefined): (kind: string) => Promise<string | undefined> {
  return async (kind) => (await settings.get<ChannelSetting>(keyOf(kind)))?.value.conversationId ?? (await settings.get<ChannelSetting>(keyOf()))?.value.conversationId ?? configured;
}

export class ApprovalChannels {
  constructor(
    private readonly settings: ChannelSettingsPort,
    private readonly configured: string | undefined,
    private readonly audit: (e: AuditEventInput) => Promise<unknown>,
    private readonly now: () => Date,
  ) {}

  /** `approvals here [for <kind>]` in a channel, by an admin. */
  async setHere(actor: RequestActor, conversationId: string, conversationType: string, kindText?: string): Promise<{ ok: boolean; message: string }> {
    if (conversationType !== 'channel') return { ok: false, message: 'Type this in the channel of a team where Mailroom is installed: that channel then gets the approval cards. Nothing was changed.' };
    let kind: string | undefined;
    if (kindText) {
      const t = kindText.trim().toLowerCase();
      kind = isKindId(t) ? t : Object.values(KINDS).find((k) => k.title.toLowerCase() === t || k.command.phrases.includes(t))?.id;
      if (!kind) return { ok: false, message: `"${kindText.slice(0, 60)}" is not a request kind. Kinds: ${Object.keys(KINDS).join(', ')}. Nothing was changed.` };
    }
    await this.settings.set(keyOf(kind), { conversationId, setByName: actor.name } satisfies ChannelSetting, actor.aadObjectId, this.now());
    await this.audit(actorEvent(actor, 'approvals.channel-set', null, { conversationId, kind: kind ?? null }));
    return { ok: true, message: kind ? `This channel gets the approval cards of ${KINDS[kind as keyof typeof KINDS].title} requests from now on.` : 'This channel gets a copy of every approval card from now on.' };
  }

  /** What `approvals channel` shows: where approval cards go. */
  async describe(): Promise<string> {
    const general = await this.settings.get<ChannelSetting>(keyOf());
    const lines = [general ? `Every kind: the channel set by ${general.value.setByName} at ${general.updatedAt.slice(0, 16).replace('T', ' ')} UTC.` : this.configured ? 'Every kind: the channel APPROVAL_CHANNEL_ID names.' : 'No approvals channel: cards go to the approvers\' personal chats only. An admin sets one by typing "approvals here" in a team\'s channel.'];
    for (const kind of Object.keys(KINDS)) {
      const own = await this.settings.get<ChannelSetting>(keyOf(kind));
      if (own) lines.push(`${KINDS[kind as keyof typeof KINDS].title}: its own channel, set by ${own.value.setByName}.`);
    }
    return lines.join('\n');
  }
}
