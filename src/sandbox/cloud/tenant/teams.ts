/**
 * Microsoft Teams in the tenant: the app catalog, apps installed in users' personal scope (each with its 1:1 chat),
 * the activity feed notifications Graph accepted, and Teams' `installationUpdate` event to the app's bot.
 *
 * Graph's answers (status codes, messages) are raised here as {@link GraphError}s; the routes in `graph/teamwork.ts`
 * check permissions and parse requests. Sources: "Install app for user" (userteamwork-post-installedapps), "List apps
 * installed for user" (userteamwork-list-installedapps), "Get chat between user and teamsApp"
 * (userscopeteamsappinstallation-get-chat), "userTeamwork: sendActivityNotification" and "Send activity feed
 * notifications to users in Microsoft Teams" (teams-send-activityfeednotifications).
 */
import { randomUUID } from 'node:crypto';
import { GraphError, graphNotFound } from '../errors';
import type { ActivityNotificationRecord, TeamsCatalogApp, TeamsUserInstallation } from '../tenant-model';
import type { TenantCore } from './core';

/** Where Teams delivers bot events (the bot's messaging endpoint) and how the bot is addressed. */
export interface TeamsBotConfig {
  /** The bot's messaging endpoint, e.g. `http://127.0.0.1:3978/api/messages`. */
  botEndpoint: string;
  /** The Bot Connector's service URL that the activities carry (where the bot answers). */
  serviceUrl: string;
  /** The bot's Microsoft App ID (the manifest's `bots[].botId`): the activity's recipient is `28:<botId>`. */
  botId: string;
  /** Extra headers on the POST (e.g. an Authorization header for a bot that checks tokens). */
  headers?: Record<string, string>;
  /** Where delivery failures are reported. Default: console.warn. */
  log?: (message: string) => void;
}

/** One bot event the emulator sent (or tried to send). */
export interface BotEventDelivery {
  activity: Record<string, unknown>;
  /** `pending` until the bot answered; then its HTTP status, or `failed` with the error. */
  state: 'pending' | 'delivered' | 'failed';
  status?: number;
  error?: string;
}

/** What a test passes to publish an app to the tenant's catalog. */
export interface TeamsAppSeed {
  /** The catalog id; generated when absent. */
  id?: string;
  externalId: string;
  displayName: string;
  distributionMethod?: TeamsCatalogApp['distributionMethod'];
  botId?: string | null;
  webApplicationInfoId?: string | null;
  activityTypes?: readonly string[];
}

/** A notification as the route parsed it (rules on the body already checked). */
export interface ActivityNotificationInput {
  topic: ActivityNotificationRecord['topic'];
  activityType: string;
  previewText: { content: string };
  templateParameters: { name: string; value: string }[];
  chainId?: number;
}

/** The reserved activity type every app may send without declaring it (teams-send-activityfeednotifications). */
export const SYSTEM_DEFAULT_ACTIVITY = 'systemDefault';

const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

/**
 * The id Graph gives a personal-scope installation: base64 of `<userId>##<teamsAppId>` (the form of the ids Graph
 * answers), so one user and app always give the same id.
 */
export function installationIdOf(userId: string, teamsAppId: string): string {
  return Buffer.from(`${userId}##${teamsAppId}`).toString('base64');
}

/** The 1:1 chat between a user and an app's bot: `19:<userId>_<botId or app id>@unq.gbl.spaces`, stable per user and app. */
export function personalChatIdOf(userId: string, app: TeamsCatalogApp): string {
  return `19:${userId}_${app.botId ?? app.id}@unq.gbl.spaces`;
}

/** Microsoft Teams state and behaviour of one tenant (`tenant.teams`). */
export class TenantTeams {
  private bot: TeamsBotConfig | null = null;
  private readonly deliveries: BotEventDelivery[] = [];

  constructor(private readonly core: TenantCore) {}

  private get catalog(): TeamsCatalogApp[] {
    return (this.core.s.teamsApps ??= []);
  }

  private get installs(): TeamsUserInstallation[] {
    return (this.core.s.teamsInstallations ??= []);
  }

  private get sent(): ActivityNotificationRecord[] {
    return (this.core.s.activityNotifications ??= []);
  }

  private now(): string {
    return new Date(this.core.clock.now()).toISOString();
  }

  // -------------------------------------------------------------------------------------------
  // Configuration (not tenant state: the sandbox or a test tells the tenant where the bot runs)
  // -------------------------------------------------------------------------------------------

  /** Tells Teams where the bot is: from now on an installation through Graph POSTs `installationUpdate` to it. `null` stops that. */
  configure(config: TeamsBotConfig | null): void {
    this.bot = config ? { ...config } : null;
  }

  /** The bot events sent so far (in order), with how each went. */
  botDeliveries(): BotEventDelivery[] {
    return this.deliveries.map((d) => ({ ...d }));
  }

  // -------------------------------------------------------------------------------------------
  // App catalog
  // -------------------------------------------------------------------------------------------

  /** Publishes an app to the tenant's catalog, or updates the app with the same catalog id or externalId. */
  publishApp(seed: TeamsAppSeed): TeamsCatalogApp {
    const existing = this.catalog.find((a) => (seed.id !== undefined && same(a.id, seed.id)) || same(a.externalId, seed.externalId));
    const app: TeamsCatalogApp = {
      id: existing?.id ?? seed.id ?? randomUUID(),
      externalId: seed.externalId,
      displayName: seed.displayName,
      distributionMethod: seed.distributionMethod ?? 'organization',
      botId: seed.botId ?? null,
      webApplicationInfoId: seed.webApplicationInfoId ?? null,
      activityTypes: [...(seed.activityTypes ?? [])],
    };
    if (existing) Object.assign(existing, app);
    else this.catalog.push(app);
    return { ...app, activityTypes: [...app.activityTypes] };
  }

  catalogApps(): TeamsCatalogApp[] {
    return this.catalog.map((a) => ({ ...a, activityTypes: [...a.activityTypes] }));
  }

  catalogApp(id: string): TeamsCatalogApp | undefined {
    const a = this.catalog.find((x) => same(x.id, id));
    return a ? { ...a, activityTypes: [...a.activityTypes] } : undefined;
  }

  // -------------------------------------------------------------------------------------------
  // Personal-scope installations
  // -------------------------------------------------------------------------------------------

  private userIdOr404(userKey: string): string {
    const u = this.core.findUser(userKey);
    if (!u) throw graphNotFound(userKey);
    return u.id;
  }

  /**
   * Installs a catalog app for a user (Graph `POST /users/{id}/teamwork/installedApps`): 404 for an unknown user or
   * app, 409 Conflict when the app is installed for the user already. Sends `installationUpdate` to the bot when
   * the tenant knows where it is (see {@link configure}).
   */
  install(userKey: string, teamsAppId: string): TeamsUserInstallation {
    const userId = this.userIdOr404(userKey);
    const app = this.catalog.find((a) => same(a.id, teamsAppId));
    if (!app) {
      throw new GraphError(404, 'NotFound', `The Teams app '${teamsAppId}' is not in the tenant's app catalog (teamsApp@odata.bind must name a teamsApp id from GET /appCatalogs/teamsApps). Nothing was installed.`);
    }
    if (this.installs.some((i) => same(i.userId, userId) && same(i.teamsAppId, app.id))) {
      throw new GraphError(409, 'Conflict', `The Teams app '${app.id}' is already installed for user '${userId}'. Nothing was changed.`);
    }
    const inst: TeamsUserInstallation = { id: installationIdOf(userId, app.id), userId, teamsAppId: app.id, chatId: personalChatIdOf(userId, app), installedAt: this.now() };
    this.installs.push(inst);
    this.sendInstallationUpdate('add', inst, app);
    return { ...inst };
  }

  /** Removes an installation (Graph `DELETE /users/{id}/teamwork/installedApps/{id}`); 404 when there is none. */
  uninstall(userKey: string, installationId: string): void {
    const inst = this.installation(userKey, installationId);
    const i = this.installs.findIndex((x) => x.id === inst.id && same(x.userId, inst.userId));
    this.installs.splice(i, 1);
    const app = this.catalog.find((a) => same(a.id, inst.teamsAppId));
    if (app) this.sendInstallationUpdate('remove', inst, app);
  }

  /** The apps installed for a user (404 for an unknown user). */
  installations(userKey: string): TeamsUserInstallation[] {
    const userId = this.userIdOr404(userKey);
    return this.installs.filter((i) => same(i.userId, userId)).map((i) => ({ ...i }));
  }

  /** One installation of a user, or Graph's 404. */
  installation(userKey: string, installationId: string): TeamsUserInstallation {
    const found = this.installations(userKey).find((i) => i.id === installationId);
    if (!found) {
      throw new GraphError(404, 'NotFound', `No app installation '${installationId}' exists for user '${userKey}'.`);
    }
    return found;
  }

  /** Whether the catalog app is installed for the user (personal scope). */
  isInstalled(userKey: string, teamsAppId: string): boolean {
    const u = this.core.findUser(userKey);
    return u !== undefined && this.installs.some((i) => same(i.userId, u.id) && same(i.teamsAppId, teamsAppId));
  }

  // -------------------------------------------------------------------------------------------
  // Activity feed notifications
  // -------------------------------------------------------------------------------------------

  /**
   * The catalog app that sends a notification for the calling Entra app: the one whose manifest names that app in
   * `webApplicationInfo.id` ("Requirements for using the activity feed notification APIs"). Several → 409 (the FAQ of
   * teams-send-activityfeednotifications: "Found multiple applications with the same AAD App ID"); none → 403.
   */
  senderApp(callerAppId: string): TeamsCatalogApp {
    const apps = this.catalog.filter((a) => a.webApplicationInfoId !== null && same(a.webApplicationInfoId, callerAppId));
    if (apps.length > 1) throw new GraphError(409, 'Conflict', `Found multiple applications with the same AAD App ID '${callerAppId}'.`);
    const app = apps[0];
    if (!app) {
      throw new GraphError(403, 'Forbidden', `No Teams app in the tenant's app catalog names the calling application '${callerAppId}' in its manifest's webApplicationInfo.id, so there is no Teams app to send the notification from. Nothing was sent.`);
    }
    return app;
  }

  /**
   * Graph `POST /users/{id}/teamwork/sendActivityNotification` once the body is checked: the sending app must be
   * installed for the user and the activity type declared in its manifest (or `systemDefault`). Records it.
   */
  sendActivityNotification(userKey: string, callerAppId: string, n: ActivityNotificationInput): ActivityNotificationRecord {
    const userId = this.userIdOr404(userKey);
    const app = this.senderApp(callerAppId);
    if (!this.isInstalled(userId, app.id)) {
      throw new GraphError(403, 'Forbidden', `The Teams app '${app.displayName}' (${app.id}) is not installed for user '${userId}': activity feed notifications reach only users who have the app installed. Nothing was sent.`);
    }
    if (n.activityType !== SYSTEM_DEFAULT_ACTIVITY && !app.activityTypes.includes(n.activityType)) {
      const declared = app.activityTypes.length > 0 ? app.activityTypes.map((t) => `'${t}'`).join(', ') : 'none';
      throw new GraphError(400, 'BadRequest', `The activity type '${n.activityType}' is not declared in the manifest of the Teams app '${app.displayName}' (activities.activityTypes declares ${declared}). Nothing was sent.`);
    }
    const record: ActivityNotificationRecord = {
      userId,
      teamsAppId: app.id,
      activityType: n.activityType,
      topic: { ...n.topic },
      previewText: { content: n.previewText.content },
      templateParameters: n.templateParameters.map((p) => ({ ...p })),
      ...(n.chainId !== undefined ? { chainId: n.chainId } : {}),
      at: this.now(),
    };
    this.sent.push(record);
    return structuredClone(record);
  }

  /** The notifications Graph accepted, oldest first; for one user (id or UPN) when given. */
  activityNotifications(userKey?: string): ActivityNotificationRecord[] {
    const userId = userKey === undefined ? undefined : (this.core.findUser(userKey)?.id ?? userKey);
    return this.sent.filter((n) => userId === undefined || same(n.userId, userId)).map((n) => structuredClone(n));
  }

  // -------------------------------------------------------------------------------------------
  // installationUpdate to the bot
  // -------------------------------------------------------------------------------------------

  /**
   * The Bot Framework activity Teams sends a bot installed in (or removed from) a user's personal scope ("Installation
   * update event" in "Conversation events in your Teams bot"): type `installationUpdate`, action `add`/`remove`,
   * conversation `personal` with the installation's chat id. Fire and forget: failures are logged, never thrown.
   */
  private sendInstallationUpdate(action: 'add' | 'remove', inst: TeamsUserInstallation, app: TeamsCatalogApp): void {
    const bot = this.bot;
    if (!bot || (app.botId !== null && !same(app.botId, bot.botId))) return;
    const tenantId = this.core.s.tenantId;
    const user = this.core.userIndex.get(inst.userId);
    const at = this.now();
    const activity: Record<string, unknown> = {
      type: 'installationUpdate',
      action,
      id: `f:${randomUUID()}`,
      timestamp: at,
      localTimestamp: at,
      serviceUrl: bot.serviceUrl,
      channelId: 'msteams',
      from: { id: `29:${inst.userId}`, aadObjectId: inst.userId, ...(user ? { name: user.displayName } : {}) },
      recipient: { id: `28:${bot.botId}`, name: app.displayName },
      conversation: { id: inst.chatId, conversationType: 'personal', tenantId },
      channelData: { tenant: { id: tenantId }, source: { name: 'message' } },
      locale: 'en-US',
    };
    const delivery: BotEventDelivery = { activity, state: 'pending' };
    this.deliveries.push(delivery);
    const log = bot.log ?? ((m: string) => console.warn(m));
    void fetch(bot.botEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(bot.headers ?? {}) },
      body: JSON.stringify(activity),
      signal: AbortSignal.timeout(10_000),
    })
      .then(async (res) => {
        await res.arrayBuffer().catch(() => undefined);
        delivery.status = res.status;
        delivery.state = res.ok ? 'delivered' : 'failed';
        if (!res.ok) {
          delivery.error = `HTTP ${res.status}`;
          log(`teams: installationUpdate (${action}) for user ${inst.userId} to ${bot.botEndpoint} answered ${res.status}`);
        }
      })
      .catch((err: unknown) => {
        delivery.state = 'failed';
        delivery.error = err instanceof Error ? err.message : String(err);
        log(`teams: installationUpdate (${action}) for user ${inst.userId} could not reach ${bot.botEndpoint}: ${delivery.error}`);
      });
  }
}
