import type { Logger } from '../log';
import type { ConversationRepository } from '../store';

/** The Graph calls that reach a person who never opened Mailroom (src/cloud's GraphDirectory). */
export interface ReachGraphPort {
  installAppForUser(userId: string, catalogAppId: string): Promise<'installed' | 'already'>;
  appChatId(userId: string, catalogAppId: string): Promise<string | null>;
  sendActivityNotification(userId: string, n: { topic: string; webUrl: string; activityType: string; preview: string; parameters: Readonly<Record<string, string>> }): Promise<void>;
}

export interface TeamsReachOptions {
  readonly graph: ReachGraphPort;
  readonly conversations: ConversationRepository;
  /** Mailroom's app in the organisation's app catalog (TEAMS_APP_CATALOG_ID). */
  readonly catalogAppId: string;
  /** The bot's Microsoft App ID ('' in the sandbox). */
  readonly botAppId: string;
  /** The Bot Connector service URL for a chat Mailroom was never in (TEAMS_SERVICE_URL); default: the one its conversations in the tenant use. */
  readonly serviceUrl: string | undefined;
  readonly log: Logger;
}

/** The activity type the app's manifest declares for approvals (appPackage/manifest.json, activities). */
export const APPROVAL_ACTIVITY_TYPE = 'approvalRequested';

export type ReachResult = { readonly ok: true; readonly installed: boolean } | { readonly ok: false; readonly why: string };

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err)).slice(0, 300);

/**
 * Reaching people who never opened Mailroom, as Microsoft documents for proactive installation: install the app for
 * the user through Graph (it is a no-op when it is installed already), read the chat between the user and the app,
 * and keep a conversation reference for it, so the card goes there; and put approvals in the activity feed.
 */
export class TeamsReach {
  constructor(private readonly o: TeamsReachOptions) {}

  /** Makes sure Mailroom has a personal chat with the user it can post to. */
  async reach(userId: string, tenantId: string): Promise<ReachResult> {
    const user = userId.toLowerCase();
    const tenant = tenantId.toLowerCase();
    const existing = await this.o.conversations.personalFor(user, tenant);
    if (existing?.botInstalled) return { ok: true, installed: false };
    const serviceUrl = this.o.serviceUrl ?? existing?.serviceUrl ?? (await this.o.conversations.list({ tenantId: tenant })).find((c) => c.serviceUrl)?.serviceUrl;
    if (!serviceUrl) return { ok: false, why: 'Mailroom knows no Bot Connector address for this tenant yet (nobody has used it; set TEAMS_SERVICE_URL)' };
    let installed: 'installed' | 'already';
    let chatId: string | null;
    try {
      installed = await this.o.graph.installAppForUser(user, this.o.catalogAppId);
      chatId = await this.o.graph.appChatId(user, this.o.catalogAppId);
    } catch (err) {
      return { ok: false, why: `Microsoft Graph did not let Mailroom install itself for them (${errorText(err)})` };
    }
    if (!chatId) return { ok: false, why: 'Microsoft Graph shows no installation of Mailroom for them after installing it' };
    const reference: Record<string, unknown> = {
      channelId: 'msteams',
      serviceUrl,
      conversation: { id: chatId, conversationType: 'personal', tenantId: tenant },
      bot: { id: `28:${this.o.botAppId}` },
      user: { aadObjectId: user },
    };
    await this.o.conversations.upsert({ conversationId: chatId, conversationType: 'personal', tenantId: tenant, serviceUrl, userAadObjectId: user, channelId: null, teamId: null, reference, botInstalled: true });
    this.o.log.info('Mailroom reached a new person', { user, installed });
    return { ok: true, installed: installed === 'installed' };
  }

  /** An activity-feed notification that opens the person's chat with Mailroom, where the card is. Failures are logged only. */
  async feed(userId: string, tenantId: string, n: { reference: string; requester: string; preview: string }): Promise<boolean> {
    const chat = await this.o.conversations.personalFor(userId.toLowerCase(), tenantId.toLowerCase());
    const webUrl = `https://teams.microsoft.com/l/chat/${encodeURIComponent(chat?.conversationId ?? '')}/conversations?tenantId=${encodeURIComponent(tenantId)}`;
    try {
      await this.o.graph.sendActivityNotification(userId, { topic: n.reference, webUrl, activityType: APPROVAL_ACTIVITY_TYPE, preview: n.preview, parameters: { reference: n.reference, requester: n.requester } });
      return true;
    } catch (err) {
      this.o.log.warn('activity feed notification not sent', { user: userId, reference: n.reference, err: errorText(err) });
      return false;
    }
  }
}
