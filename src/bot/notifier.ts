import { Activity, CloudAdapter, TurnContext } from 'botbuilder';
import type { Logger } from '../log';
import type { ConversationRepository } from '../store';
import type { TeamsPacer } from './pacing';

export type OutgoingMessage = { text?: string; card?: Record<string, unknown> };

export class ConversationNotFoundError extends Error {
  constructor(what: string) {
    super(`Mailroom has no conversation with ${what}: the app must be installed for them (or in the channel) first.`);
    this.name = 'ConversationNotFoundError';
  }
}

/** Proactive messages through stored conversation references; survives restarts because the store does. */
export class Notifier {
  constructor(
    private readonly adapter: CloudAdapter,
    private readonly botAppId: string,
    private readonly conversations: ConversationRepository,
    private readonly log: Logger,
    /** Keeps Teams' rate limits before every send and update (TEAMS_PACING); absent: none kept. */
    private readonly pacer?: TeamsPacer,
  ) {}

  /** Waits for a slot within Teams' limits for this conversation (and its tenant). */
  private async paced(reference: Record<string, unknown>): Promise<void> {
    if (!this.pacer) return;
    const conversation = (reference.conversation ?? {}) as { id?: string; tenantId?: string };
    await this.pacer.slot(conversation.id ?? '', conversation.tenantId ?? '');
  }

  private toActivity(msg: OutgoingMessage): Partial<Activity> {
    return {
      type: 'message',
      text: msg.text,
      // Notification texts carry names, reasons and errors as they are: Teams shows them as written, never as markdown.
      ...(msg.text !== undefined ? { textFormat: 'plain' } : {}),
      attachments: msg.card ? [{ contentType: 'application/vnd.microsoft.card.adaptive', content: msg.card }] : undefined,
    };
  }

  /** Sends to a user's personal chat with the bot; returns the new activity id. */
  async sendToUser(userAadObjectId: string, tenantId: string, msg: OutgoingMessage): Promise<{ conversationId: string; activityId: string | undefined }> {
    const rec = await this.conversations.personalFor(userAadObjectId.toLowerCase(), tenantId.toLowerCase());
    if (!rec || !rec.botInstalled) throw new ConversationNotFoundError(`user ${userAadObjectId}`);
    return { conversationId: rec.conversationId, activityId: await this.send(rec.reference, msg) };
  }

  async sendToConversation(conversationId: string, msg: OutgoingMessage): Promise<string | undefined> {
    const rec = await this.conversations.get(conversationId);
    if (!rec || !rec.botInstalled) throw new ConversationNotFoundError(`conversation ${conversationId}`);
    return this.send(rec.reference, msg);
  }

  async update(conversationId: string, activityId: string, msg: OutgoingMessage): Promise<void> {
    const rec = await this.conversations.get(conversationId);
    if (!rec) throw new ConversationNotFoundError(`conversation ${conversationId}`);
    await this.paced(rec.reference);
    await this.adapter.continueConversationAsync(this.botAppId, rec.reference, async (ctx: TurnContext) => {
      await ctx.updateActivity({ ...this.toActivity(msg), id: activityId });
    });
  }

  private async send(reference: Record<string, unknown>, msg: OutgoingMessage): Promise<string | undefined> {
    await this.paced(reference);
    let id: string | undefined;
    await this.adapter.continueConversationAsync(this.botAppId, reference, async (ctx: TurnContext) => {
      const res = await ctx.sendActivity(this.toActivity(msg));
      id = res?.id;
    });
    this.log.debug('proactive message sent', { conversation: (reference.conversation as { id?: string } | undefined)?.id, activityId: id });
    return id;
  }
}
