import { ActivityTypes, CloudAdapter, ConfigurationBotFrameworkAuthentication, TurnContext, type Activity, type ResourceResponse } from 'botbuilder';
import type restify from 'restify';
import type { BotConfig } from '../config/config';
import type { Logger } from '../log';
import type { MessageHandler } from '../server/http';
import { randomUUID } from 'node:crypto';
import { checkActivityShape, checkBearer, checkLocalRequest } from './activity-guard';
import { ConnectorRest, type ConnectorCredentials } from './connector-rest';

type ConnectorFactory = ReturnType<ConfigurationBotFrameworkAuthentication['createConnectorFactory']>;
type ClaimsIdentity = Parameters<ConfigurationBotFrameworkAuthentication['createConnectorFactory']>[0];
type ConnectorClient = Awaited<ReturnType<ConnectorFactory['create']>>;
type UserTokenClient = Awaited<ReturnType<ConfigurationBotFrameworkAuthentication['createUserTokenClient']>>;

/** Clients of each sort kept at most (one per bot app id, service URL and audience: Teams has a handful of service URLs). */
const MAX_CONNECTOR_CLIENTS = 64;

/**
 * The bot registration's authentication, with one connector client per bot app id, service URL and audience instead of
 * one per turn and per proactive message, and one user-token client per bot app id instead of one per turn.
 * botbuilder builds a new ConnectorClient (its credentials, HTTP pipeline and serializer) on every call, and
 * CloudAdapter a new UserTokenClient (another pipeline) for every incoming turn; either costs more CPU than a send.
 * A client keeps the credentials the credentials factory gave it, and those fetch and renew their tokens themselves on
 * every request, so reusing it changes nothing about authentication; inbound requests are still authenticated on
 * every turn.
 */
export class ReusingBotFrameworkAuthentication extends ConfigurationBotFrameworkAuthentication {
  private readonly clients = new Map<string, Promise<ConnectorClient>>();
  private readonly userTokenClients = new Map<string, Promise<UserTokenClient>>();
  /** The service URL each kept connector client was made for: where its credentials' token may be sent. */
  private readonly serviceUrls = new WeakMap<ConnectorClient, string>();

  override async authenticateRequest(...args: Parameters<ConfigurationBotFrameworkAuthentication['authenticateRequest']>): ReturnType<ConfigurationBotFrameworkAuthentication['authenticateRequest']> {
    const result = await super.authenticateRequest(...args);
    return result.connectorFactory ? { ...result, connectorFactory: this.reusing(result.claimsIdentity, result.connectorFactory) } : result;
  }

  override async authenticateStreamingRequest(...args: Parameters<ConfigurationBotFrameworkAuthentication['authenticateStreamingRequest']>): ReturnType<ConfigurationBotFrameworkAuthentication['authenticateStreamingRequest']> {
    const result = await super.authenticateStreamingRequest(...args);
    return result.connectorFactory ? { ...result, connectorFactory: this.reusing(result.claimsIdentity, result.connectorFactory) } : result;
  }

  override createConnectorFactory(claimsIdentity: ClaimsIdentity): ConnectorFactory {
    return this.reusing(claimsIdentity, super.createConnectorFactory(claimsIdentity));
  }

  override createUserTokenClient(claimsIdentity: ClaimsIdentity): Promise<UserTokenClient> {
    // botbuilder makes it for the app id in the claims (audience, else appid), with that app's credentials
    const key = appIdOf(claimsIdentity);
    return kept(this.userTokenClients, key, () => super.createUserTokenClient(claimsIdentity));
  }

  /** The service URL a connector client this authentication made is for (undefined: not one of its clients). */
  serviceUrlOf(client: ConnectorClient): string | undefined {
    return this.serviceUrls.get(client);
  }

  /** How many connector clients are kept now. */
  get connectorClients(): number {
    return this.clients.size;
  }

  /** How many user-token clients are kept now. */
  get userTokenClientCount(): number {
    return this.userTokenClients.size;
  }

  private reusing(claims: ClaimsIdentity, inner: ConnectorFactory): ConnectorFactory {
    // The app id the inner factory was made for.
    const appId = appIdOf(claims);
    return {
      create: (serviceUrl: string, audience?: string): Promise<ConnectorClient> =>
        kept(this.clients, JSON.stringify([appId, serviceUrl, audience ?? null]), async () => {
          const client = await inner.create(serviceUrl, audience);
          this.serviceUrls.set(client, serviceUrl);
          return client;
        }),
    };
  }
}

/** The app id botbuilder makes clients for, as it takes it from the claims: the audience, else appid. */
function appIdOf(claims: ClaimsIdentity): string {
  return claims.getClaimValue('aud') ?? claims.getClaimValue('appid') ?? '';
}

/** The client kept under `key`, else one `make` creates (kept unless it fails: the next call then tries again). */
function kept<T>(clients: Map<string, Promise<T>>, key: string, make: () => Promise<T>): Promise<T> {
  const found = clients.get(key);
  if (found) return found;
  const made = make();
  made.catch(() => clients.get(key) === made && clients.delete(key));
  if (clients.size >= MAX_CONNECTOR_CLIENTS) clients.delete(clients.keys().next().value as string);
  clients.set(key, made);
  return made;
}

/**
 * CloudAdapter, with its processActivity (authenticate the activity, run the turn) open to the message handler, and
 * its messages and updates to the Bot Connector sent by {@link ConnectorRest} (see there why): the turn's connector
 * client (botbuilder's, made for the turn's service URL and audience) still signs each call and names where it goes.
 */
export class MailroomAdapter extends CloudAdapter {
  private readonly rest = new ConnectorRest();

  constructor(private readonly auth: ReusingBotFrameworkAuthentication) {
    super(auth);
  }

  runActivity(authorization: string, activity: Activity, logic: (ctx: TurnContext) => Promise<void>): ReturnType<CloudAdapter['processActivity']> {
    return this.processActivity(authorization, activity, logic);
  }

  /** As CloudAdapter sends them (a reply when the activity has replyToId); delays, invoke responses and traces are its own. */
  override async sendActivities(context: TurnContext, activities: Partial<Activity>[]): Promise<ResourceResponse[]> {
    if (!activities.length) return super.sendActivities(context, activities);
    const responses: ResourceResponse[] = [];
    for (const activity of activities) {
      if (activity.type === 'delay' || activity.type === ActivityTypes.InvokeResponse || activity.type === ActivityTypes.Trace) {
        responses.push(...(await super.sendActivities(context, [activity])));
        continue;
      }
      delete activity.id;
      const { serviceUrl, credentials } = this.connectorOf(context);
      const answer = await this.rest.send(serviceUrl, conversationIdOf(activity), activity, credentials, activity.replyToId || undefined);
      responses.push({ id: answer?.id ?? '' });
    }
    return responses;
  }

  override async updateActivity(context: TurnContext, activity: Partial<Activity>): Promise<ResourceResponse | void> {
    if (!activity.id) throw new TypeError('The activity to update has no id; nothing was sent.');
    const { serviceUrl, credentials } = this.connectorOf(context);
    const answer = await this.rest.update(serviceUrl, conversationIdOf(activity), activity.id, activity, credentials);
    return answer?.id ? { id: answer.id } : undefined;
  }

  /** Closes the kept-alive connections to the Bot Connector. */
  close(): void {
    this.rest.destroy();
  }

  /** The turn's connector client: where it sends (the service URL it was made for) and its credentials. */
  private connectorOf(context: TurnContext): { serviceUrl: string; credentials: ConnectorCredentials } {
    const client = context.turnState.get<ConnectorClient | undefined>(this.ConnectorClientKey);
    const serviceUrl = client && this.auth.serviceUrlOf(client);
    if (!client || !serviceUrl) throw new Error('The turn has no connector client of Mailroom\'s authentication; nothing was sent.');
    // botbuilder's ServiceClientCredentials: AppCredentials (password, certificate, managed identity) signs by setting
    // Authorization on the request's headers; without an app id (sandbox mode) it sets nothing.
    return { serviceUrl, credentials: client.credentials };
  }
}

function conversationIdOf(activity: Partial<Activity>): string {
  const id = activity.conversation?.id;
  if (!id) throw new TypeError('The activity names no conversation; nothing was sent.');
  return id;
}

/**
 * CloudAdapter from the bot registration. With no app id (sandbox mode) it runs anonymously, as local
 * clients such as the Agents Playground expect; the configuration only allows that on a loopback address.
 */
export function createAdapter(bot: BotConfig, log: Logger): MailroomAdapter {
  const auth = new ReusingBotFrameworkAuthentication({
    MicrosoftAppId: bot.appId,
    MicrosoftAppPassword: bot.appPassword ?? '',
    MicrosoftAppType: bot.appId ? bot.appType : 'MultiTenant',
    MicrosoftAppTenantId: bot.appTenantId ?? '',
  });
  const adapter = new MailroomAdapter(auth);
  adapter.onTurnError = async (ctx: TurnContext, err: Error) => {
    const reference = randomUUID();
    log.error('turn failed', { reference, err, type: ctx.activity.type, conversation: ctx.activity.conversation?.id });
    if (ctx.activity.type === 'message') {
      await ctx.sendActivity(`Something went wrong on Mailroom's side and your message was not processed; nothing was changed. Please try again. If it keeps happening, give your admin this reference: ${reference}`);
    }
  };
  return adapter;
}

/**
 * The activity as CloudAdapter.process hands it on (botbuilder's validateAndFixActivity): its time fields as Dates,
 * the texts kept beside them.
 */
function toActivity(body: Record<string, unknown>): Activity {
  const activity = body as unknown as Activity & Record<string, unknown>;
  for (const [field, raw] of [['timestamp', 'rawTimestamp'], ['expiration', 'rawExpiration'], ['localTimestamp', 'rawLocalTimestamp']] as const) {
    const v = activity[field];
    if (typeof v === 'string') {
      activity[raw] = v;
      activity[field] = new Date(v);
    }
  }
  return activity;
}

/** botframework-connector's AuthenticationError (that package is botbuilder's dependency, not Mailroom's own). */
function isAuthenticationError(err: unknown): boolean {
  return err instanceof Error && err.constructor.name === 'AuthenticationError' && typeof (err as { statusCode?: unknown }).statusCode === 'number';
}

/** What an HTTP error answer says: a fixed text per status, never the SDK's or an exception's message. */
const ERROR_TEXT: Record<number, string> = {
  400: 'The activity is malformed. Nothing was processed.',
  401: 'The request is not authenticated: a Bot Framework token for this bot is required. Nothing was processed.',
  403: 'Not allowed.',
  404: 'Not found.',
  500: 'Mailroom could not process the activity.',
};

/**
 * POST /api/messages: checks the activity at the edge (its shape; without a bot registration, that it comes from and
 * is answered on this machine), then lets the CloudAdapter authenticate and run it. Error answers carry a fixed text,
 * never an internal message; what went wrong is logged with a reference.
 */
export function createMessageHandler(adapter: MailroomAdapter, bot: BotConfig, log: Logger, logic: (ctx: TurnContext) => Promise<void>): MessageHandler {
  const anonymous = !bot.appId;
  return async (req: restify.Request, res: restify.Response) => {
    const body = (req as { body?: unknown }).body as Record<string, unknown>;
    const refusal = (anonymous ? checkLocalRequest(req.headers, body) : checkBearer(req.headers.authorization)) ?? checkActivityShape(body);
    if (refusal) {
      log.warn('request refused at the edge', { reason: refusal.reason, status: refusal.status });
      res.send(refusal.status, { error: refusal.error });
      return;
    }
    // The activity goes to CloudAdapter.processActivity, which authenticates it and runs the turn, as
    // CloudAdapter.process would after its checks: those are made above (the body is a parsed object with a type),
    // and process() would also build new zod schemas on every call and print a failure's message to the console.
    let status: number;
    let payload: unknown;
    try {
      const answer = await adapter.runActivity(req.headers.authorization ?? '', toActivity(body), logic);
      status = answer?.status ?? 200;
      payload = answer?.body;
    } catch (err) {
      // botframework-connector's AuthenticationError: the request's token was missing or not valid for this bot
      status = isAuthenticationError(err) ? 401 : 500;
      payload = err instanceof Error ? err.message : undefined;
    }
    if (status >= 400) {
      const reference = randomUUID();
      const detail = typeof payload === 'string' ? payload.slice(0, 300) : payload === undefined ? undefined : '(an object)';
      if (status >= 500) log.error('activity failed', { reference, status, detail, type: body.type });
      else log.warn('activity answered with an error', { reference, status, detail, type: body.type });
      if (payload === undefined) {
        res.send(status);
        return;
      }
      res.send(status, { error: ERROR_TEXT[status] ?? 'The activity was not processed.', reference });
      return;
    }
    if (payload === undefined) res.send(status);
    else res.send(status, payload);
  };
}
