/**
 * The Bot Connector's REST calls that carry every message and card Mailroom sends to Teams (new activities, replies and
 * in-place updates), made with node:http(s) and JSON instead of botbuilder's generated connector client. That client
 * runs each call through @azure/core-client (the Activity mapper walks every property of the activity and its card)
 * and the core-rest-pipeline policies: about 0.35 ms of CPU per call on top of the HTTP request itself, several calls
 * per request, and the largest part of what a turn or a notification costs apart from the card.
 *
 * Kept as botbuilder does them: the same paths and verbs (Bot Connector API v3: POST
 * `v3/conversations/{conversationId}/activities`, POST `…/activities/{replyToId}` for a reply, PUT
 * `…/activities/{activityId}` for an update), the activity as JSON, signed by the credentials of botbuilder's own
 * connector client for the turn (so the token's app, audience and authority are botbuilder's), and the retries of
 * core-rest-pipeline's default policy: up to three, after Retry-After on 429 and 503, with exponential back-off on
 * 408, other 5xx (not 501 or 505) and network errors. One more: a 429 without Retry-After backs off too, as Teams'
 * rate-limit guidance asks of bots (botbuilder's pipeline gave up on it at once).
 */
import http from 'node:http';
import https from 'node:https';
import { backoffMs, retryAfterMs } from '../retry-timing';

/** What botbuilder's credentials need of a request to sign it: its headers (they set Authorization, or nothing). */
interface SignableRequest {
  headers: {
    set(name: string, value: string): void;
    get(name: string): string | undefined;
    contains(name: string): boolean;
    remove(name: string): boolean;
  };
}

/** botbuilder's ServiceClientCredentials as this client uses them: AppCredentials and its kinds sign with a bearer token. */
export interface ConnectorCredentials {
  signRequest(request: SignableRequest): Promise<unknown>;
}

/** The answer to a new activity: its id (Teams always gives one; an empty answer gives none). */
export interface ResourceId {
  readonly id?: string;
}

/** A call the Bot Connector refused or that could not be made, after the retries. */
export class ConnectorCallError extends Error {
  constructor(
    message: string,
    /** The HTTP status, when there was an answer. */
    readonly statusCode: number | undefined,
    /** The error code the connector gave (`error.code`), if any. */
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'ConnectorCallError';
  }
}

export interface ConnectorRestOptions {
  /** Retries after the first try (default 3, as core-rest-pipeline's). */
  readonly maxRetries?: number;
  /** The first back-off (ms, default 1000); it doubles with each retry, with jitter, up to maxDelayMs. */
  readonly baseDelayMs?: number;
  /** The longest back-off, and the longest Retry-After honoured (ms, default 64 s as core-rest-pipeline's). */
  readonly maxDelayMs?: number;
  /** How long one try may take before it is given up (ms, default 60 s). */
  readonly timeoutMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

const RETRYABLE_NETWORK = new Set(['ECONNRESET', 'ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ESOCKETTIMEDOUT', 'REQUEST_TIMEOUT']);

type Answer = { status: number; headers: http.IncomingHttpHeaders; body: string };

/** Bot Connector calls over kept-alive connections. */
export class ConnectorRest {
  private readonly agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };
  private readonly maxRetries: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly timeoutMs: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(options: ConnectorRestOptions = {}) {
    this.maxRetries = options.maxRetries ?? 3;
    this.baseDelayMs = options.baseDelayMs ?? 1000;
    this.maxDelayMs = options.maxDelayMs ?? 64_000;
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** A new activity in a conversation; a reply to `replyToId` when one is given (as botbuilder sends it). */
  async send(serviceUrl: string, conversationId: string, activity: object, credentials: ConnectorCredentials, replyToId?: string): Promise<ResourceId | undefined> {
    const path = `v3/conversations/${encodeURIComponent(conversationId)}/activities${replyToId ? `/${encodeURIComponent(replyToId)}` : ''}`;
    return this.call('POST', serviceUrl, path, activity, credentials, replyToId ? 'reply' : 'message');
  }

  /** Replaces an activity the bot sent (a card updated in place). */
  async update(serviceUrl: string, conversationId: string, activityId: string, activity: object, credentials: ConnectorCredentials): Promise<ResourceId | undefined> {
    const path = `v3/conversations/${encodeURIComponent(conversationId)}/activities/${encodeURIComponent(activityId)}`;
    return this.call('PUT', serviceUrl, path, activity, credentials, 'update');
  }

  /** Closes the kept-alive connections. */
  destroy(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  private async call(method: 'POST' | 'PUT', serviceUrl: string, path: string, activity: object, credentials: ConnectorCredentials, what: string): Promise<ResourceId | undefined> {
    const url = new URL(path, serviceUrl.endsWith('/') ? serviceUrl : `${serviceUrl}/`);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConnectorCallError(`The conversation's service URL ${JSON.stringify(serviceUrl)} is not an http(s) URL; nothing was sent.`, undefined, undefined);
    const body = Buffer.from(JSON.stringify(activity), 'utf8');
    for (let attempt = 0; ; attempt++) {
      const headers = new SignedHeaders();
      await credentials.signRequest({ headers });
      let answer: Answer;
      try {
        answer = await this.once(method, url, body, headers.all);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? '';
        if (attempt < this.maxRetries && RETRYABLE_NETWORK.has(code)) {
          await this.sleep(this.backoff(attempt));
          continue;
        }
        throw new ConnectorCallError(`The ${what} could not reach the Bot Connector at ${url.origin} (${code || (err instanceof Error ? err.message : String(err))}).`, undefined, code || undefined);
      }
      if (answer.status >= 200 && answer.status < 300) return parseResource(answer.body);
      if (attempt < this.maxRetries) {
        const wait = this.retryAfter(answer, attempt);
        if (wait !== undefined) {
          await this.sleep(wait);
          continue;
        }
      }
      const error = connectorError(answer.body);
      throw new ConnectorCallError(
        `The Bot Connector refused the ${what} (HTTP ${answer.status}${error.code ? `, ${error.code}` : ''}${error.message ? `: ${error.message}` : ''}).`,
        answer.status,
        error.code,
      );
    }
  }

  /** How long to wait before retrying this answer, or undefined when it is not retried (core-rest-pipeline's rules). */
  private retryAfter(answer: Answer, attempt: number): number | undefined {
    const s = answer.status;
    if (s === 429 || s === 503) {
      const after = retryAfterOf(answer.headers);
      if (after !== undefined) return Math.min(after, this.maxDelayMs);
    }
    if (s === 429 || s === 408 || (s >= 500 && s !== 501 && s !== 505)) return this.backoff(attempt);
    return undefined;
  }

  /** core-rest-pipeline's exponential back-off with jitter; `attempt` counts retries from 0. */
  private backoff(attempt: number): number {
    return backoffMs(attempt + 1, this.baseDelayMs, this.maxDelayMs);
  }

  private once(method: string, url: URL, body: Buffer, auth: Record<string, string>): Promise<Answer> {
    const secure = url.protocol === 'https:';
    const send = (): Promise<Answer & { reused: boolean }> =>
      new Promise((resolve, reject) => {
        const req = (secure ? https : http).request(
          url,
          {
            method,
            agent: secure ? this.agents.https : this.agents.http,
            headers: { ...auth, 'content-type': 'application/json; charset=utf-8', accept: 'application/json', 'content-length': body.length, 'user-agent': 'Mailroom' },
            timeout: this.timeoutMs,
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('error', reject);
            res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), reused: req.reusedSocket }));
          },
        );
        req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${this.timeoutMs} ms`), { code: 'REQUEST_TIMEOUT' })));
        req.on('error', (err) => reject(Object.assign(err, { reused: req.reusedSocket })));
        req.end(body);
      });
    // a kept-alive connection the server closed while idle: the request never arrived, so it is sent once more at once
    return send().catch((err: unknown) => {
      const e = err as NodeJS.ErrnoException & { reused?: boolean };
      if (e.reused && (e.code === 'ECONNRESET' || e.code === 'EPIPE')) return send();
      throw err;
    });
  }
}

/** The headers a request is signed into (only Authorization, in practice). */
class SignedHeaders {
  readonly all: Record<string, string> = {};
  set(name: string, value: string): void {
    this.all[name.toLowerCase()] = value;
  }
  get(name: string): string | undefined {
    return this.all[name.toLowerCase()];
  }
  contains(name: string): boolean {
    return name.toLowerCase() in this.all;
  }
  remove(name: string): boolean {
    const had = this.contains(name);
    delete this.all[name.toLowerCase()];
    return had;
  }
}

/** Retry-After as core-rest-pipeline reads it: retry-after-ms, x-ms-retry-after-ms, then Retry-After (seconds or a date). */
function retryAfterOf(headers: http.IncomingHttpHeaders): number | undefined {
  for (const name of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const v = Number(headers[name]);
    if (headers[name] !== undefined && Number.isFinite(v) && v >= 0) return v;
  }
  return retryAfterMs(headers['retry-after']);
}

function parseResource(body: string): ResourceId | undefined {
  if (!body.trim()) return undefined;
  try {
    const parsed = JSON.parse(body) as unknown;
    return parsed && typeof parsed === 'object' ? { id: typeof (parsed as { id?: unknown }).id === 'string' ? (parsed as { id: string }).id : undefined } : undefined;
  } catch {
    return undefined;
  }
}

/** The connector's error answer (`{ error: { code, message } }`), as far as it is one. */
function connectorError(body: string): { code?: string; message?: string } {
  try {
    const e = (JSON.parse(body) as { error?: { code?: unknown; message?: unknown } }).error;
    return { code: typeof e?.code === 'string' ? e.code : undefined, message: typeof e?.message === 'string' ? e.message.slice(0, 500) : undefined };
  } catch {
    return {};
  }
}
