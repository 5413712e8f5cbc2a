import { CloudAdapter, ConfigurationBotFrameworkAuthentication, TurnContext } from 'botbuilder';
import type restify from 'restify';
import type { BotConfig } from '../config/config';
import type { Logger } from '../log';
import type { MessageHandler } from '../server/http';
import { randomUUID } from 'node:crypto';
import { checkActivityShape, checkBearer, checkLocalRequest } from './activity-guard';

type ConnectorFactory = ReturnType<ConfigurationBotFrameworkAuthentication['createConnectorFactory']>;
type ClaimsIdentity = Parameters<ConfigurationBotFrameworkAuthentication['createConnectorFactory']>[0];
type ConnectorClient = Awaited<ReturnType<ConnectorFactory['create']>>;

/** Connector clients kept at most (one per bot app id, service URL and audience: Teams has a handful of service URLs). */
const MAX_CONNECTOR_CLIENTS = 64;

/**
 * The bot registration's authentication, with one connector client per bot app id, service URL and audience instead of
 * one per turn and per proactive message. botbuilder's connector factory builds a new ConnectorClient (its credentials,
 * HTTP pipeline and serializer) on every call, which costs more CPU than the send itself. A client keeps the credentials
 * the credentials factory gave it, and those fetch and renew their tokens themselves on every request, so reusing it
 * changes nothing about authentication; inbound requests are still authenticated on every turn.
 */
export class ReusingBotFrameworkAuthentication extends ConfigurationBotFrameworkAuthentication {
  private readonly clients = new Map<string, Promise<ConnectorClient>>();

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

  /** How many connector clients are kept now. */
  get connectorClients(): number {
    return this.clients.size;
  }

  private reusing(claims: ClaimsIdentity, inner: ConnectorFactory): ConnectorFactory {
    // The app id the inner factory was made for, as botbuilder takes it from the claims (audience, else appid).
    const appId = claims.getClaimValue('aud') ?? claims.getClaimValue('appid') ?? '';
    return {
      create: (serviceUrl: string, audience?: string): Promise<ConnectorClient> => {
        const key = JSON.stringify([appId, serviceUrl, audience ?? null]);
        const kept = this.clients.get(key);
        if (kept) return kept;
        const made = inner.create(serviceUrl, audience);
        // a failed creation is not kept: the next call tries again
        made.catch(() => this.clients.get(key) === made && this.clients.delete(key));
        if (this.clients.size >= MAX_CONNECTOR_CLIENTS) this.clients.delete(this.clients.keys().next().value as string);
        this.clients.set(key, made);
        return made;
      },
    };
  }
}

/**
 * CloudAdapter from the bot registration. With no app id (sandbox mode) it runs anonymously, as local
 * clients such as the Agents Playground expect; the configuration only allows that on a loopback address.
 */
export function createAdapter(bot: BotConfig, log: Logger): CloudAdapter {
  const auth = new ReusingBotFrameworkAuthentication({
    MicrosoftAppId: bot.appId,
    MicrosoftAppPassword: bot.appPassword ?? '',
    MicrosoftAppType: bot.appId ? bot.appType : 'MultiTenant',
    MicrosoftAppTenantId: bot.appTenantId ?? '',
  });
  const adapter = new CloudAdapter(auth);
  adapter.onTurnError = async (ctx: TurnContext, err: Error) => {
    const reference = randomUUID();
    log.error('turn failed', { reference, err, type: ctx.activity.type, conversation: ctx.activity.conversation?.id });
    if (ctx.activity.type === 'message') {
      await ctx.sendActivity(`Something went wrong on Mailroom's side and your message was not processed; nothing was changed. Please try again. If it keeps happening, give your admin this reference: ${reference}`);
    }
  };
  return adapter;
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
export function createMessageHandler(adapter: CloudAdapter, bot: BotConfig, log: Logger, logic: (ctx: TurnContext) => Promise<void>): MessageHandler {
  const anonymous = !bot.appId;
  return async (req: restify.Request, res: restify.Response) => {
    const body = (req as { body?: unknown }).body as Record<string, unknown>;
    const refusal = (anonymous ? checkLocalRequest(req.headers, body) : checkBearer(req.headers.authorization)) ?? checkActivityShape(body);
    if (refusal) {
      log.warn('request refused at the edge', { reason: refusal.reason, status: refusal.status });
      res.send(refusal.status, { error: refusal.error });
      return;
    }
    let status = 200;
    let payload: unknown;
    const recorder = {
      socket: res.socket,
      status(code: number) {
        status = code;
        return recorder;
      },
      header(name: string, value: unknown) {
        res.header(name, value);
        return recorder;
      },
      send(b?: unknown) {
        payload = b;
        return recorder;
      },
      end() {
        return recorder;
      },
    };
    await adapter.process({ body, headers: req.headers, method: req.method }, recorder, logic);
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
