import { Agent, request as httpsRequest } from 'node:https';
import { randomUUID } from 'node:crypto';
import type { TokenCredential } from '@azure/identity';
import { EXCHANGE_SCOPE, trustedCas, trustingAgent } from './credential';

/**
 * Exchange Online cmdlets over the admin REST endpoint the ExchangeOnlineManagement module uses:
 * `POST …/adminapi/beta/{tenant}/InvokeCommand` with `{"CmdletInput":{"CmdletName","Parameters"}}`.
 */
export type CmdletParameters = Record<string, unknown>;

/** A hashtable parameter such as `-EmailAddresses @{Add=…; Remove=…}`. */
export function hashtable(entries: { Add?: string | string[]; Remove?: string | string[] }): Record<string, unknown> {
  return { '@odata.type': '#Exchange.GenericHashTable', ...entries };
}

export class ExoCommandError extends Error {
  /** From the last answer's Retry-After header, when Exchange sent one. */
  retryAfterMs: number | undefined;

  constructor(
    readonly cmdlet: string,
    readonly status: number,
    /** EXO's error code, e.g. `ManagementObjectNotFoundException` family codes like `0x8…` or a name. */
    readonly code: string,
    readonly exceptionType: string,
    readonly detail: string,
  ) {
    super(`${cmdlet} failed in Exchange Online (HTTP ${status}${exceptionType ? `, ${exceptionType}` : ''}): ${detail}`);
    this.name = 'ExoCommandError';
  }

  /** Throttling and service hiccups that are worth retrying later. */
  get transient(): boolean {
    return this.status === 408 || this.status === 429 || this.status === 502 || this.status === 503 || this.status === 504 || /maximum number of concurrent/i.test(this.detail);
  }

  get notFound(): boolean {
    return /ManagementObjectNotFoundException/.test(this.exceptionType) || /couldn't be found/i.test(this.detail);
  }

  /** The identity matched several objects (`… matches multiple entries`). */
  get ambiguous(): boolean {
    return /ManagementObjectAmbiguousException/.test(this.exceptionType) || /matches multiple entries/i.test(this.detail);
  }
}

/** A property of `o` by name, ignoring case (`internalexception` / `internalException`). */
function prop(o: unknown, name: string): unknown {
  if (typeof o !== 'object' || o === null) return undefined;
  const key = Object.keys(o).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : (o as Record<string, unknown>)[key];
}

function text(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v : undefined;
}

/**
 * One `error.details[].message`: `"<id>|<ExceptionType>|<text>"` (the form quoted from live answers, e.g.
 * `Ex6F9304|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The operation couldn't be
 * performed …`), or a JSON string `{"Message":"…","TypeName":"…"}` (reported by other InvokeCommand clients), else
 * the plain text.
 */
function detailOf(message: string): { code: string; type: string; text: string } {
  const parts = message.split('|');
  if (parts.length >= 3) return { code: parts[0] ?? '', type: parts[1] ?? '', text: parts.slice(2).join('|') };
  if (message.trimStart().startsWith('{')) {
    try {
      const j = JSON.parse(message) as unknown;
      const m = text(prop(j, 'Message'));
      if (m) return { code: '', type: text(prop(j, 'TypeName')) ?? '', text: m };
    } catch {
      // not JSON after all
    }
  }
  return { code: '', type: '', text: message };
}

/**
 * Reads EXO's error body: `{"error":{"code","message":"Error executing cmdlet","details":[{"code":"Context"|"Client",
 * "target","message"}],"innererror":{"message","type","internalexception":{"message","type"}}}}`. The cmdlet's own
 * reason is in `error.details[].message` (see {@link detailOf}), else in the inner error's internal exception (read
 * whatever the case of its name: OData writes `internalexception`, clients spell it `internalException`), else in
 * `innererror.message` / `error.message`; some answers are plain text (kept as they are).
 */
export function parseExoError(cmdlet: string, status: number, body: string): ExoCommandError {
  let code = '';
  let type = '';
  let reason = body.trim() || `HTTP ${status}`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    // a plain-text body: keep it as the detail
  }
  const e = prop(parsed, 'error');
  if (typeof e === 'object' && e !== null) {
    const details = prop(e, 'details');
    const first = Array.isArray(details) ? details.map((d) => text(prop(d, 'message'))).find((m) => m !== undefined) : undefined;
    const inner = prop(e, 'innererror');
    const internal = prop(inner, 'internalexception');
    code = text(prop(e, 'code')) ?? '';
    if (first !== undefined) {
      const d = detailOf(first);
      code = d.code || code;
      type = d.type || (text(prop(internal, 'type')) ?? '');
      reason = d.text;
    } else if (text(prop(internal, 'message'))) {
      type = text(prop(internal, 'type')) ?? '';
      reason = text(prop(internal, 'message'))!;
    } else {
      reason = text(prop(inner, 'message')) ?? text(prop(e, 'message')) ?? reason;
    }
  }
  return new ExoCommandError(cmdlet, status, code, type, reason);
}

export interface ExoClientOptions {
  readonly url: string;
  readonly tenantId: string;
  readonly credential: TokenCredential;
  readonly extraCaPem?: string | Buffer;
  /** Attempts for throttled or unavailable answers (honouring Retry-After). Default 4. */
  readonly attempts?: number;
  /** Cap on one wait, ms. Default 30 s. */
  readonly maxWaitMs?: number;
  readonly timeoutMs?: number;
}

export interface ExoResult<T> {
  readonly value: T[];
  readonly warnings: string[];
}

export class ExoClient {
  private readonly agent: Agent;
  private readonly attempts: number;
  private readonly maxWaitMs: number;

  constructor(private readonly opts: ExoClientOptions) {
    this.agent = trustingAgent(trustedCas(opts.extraCaPem));
    this.attempts = opts.attempts ?? 4;
    this.maxWaitMs = opts.maxWaitMs ?? 30_000;
  }

  /** Runs one cmdlet and returns every result object, following `@odata.nextLink` pages. */
  async invoke<T = Record<string, unknown>>(cmdlet: string, parameters: CmdletParameters = {}): Promise<ExoResult<T>> {
    const body = JSON.stringify({ CmdletInput: { CmdletName: cmdlet, Parameters: parameters } });
    const value: T[] = [];
    const warnings: string[] = [];
    let url: string | undefined = this.opts.url;
    while (url) {
      const page = (await this.post(cmdlet, url, body)) as { value?: T[]; '@odata.nextLink'?: string; '@adminapi.warnings'?: string[] };
      value.push(...(page.value ?? []));
      warnings.push(...(page['@adminapi.warnings'] ?? []));
      url = page['@odata.nextLink'];
    }
    return { value, warnings };
  }

  close(): void {
    this.agent.destroy();
  }

  private async post(cmdlet: string, url: string, body: string): Promise<unknown> {
    for (let attempt = 1; ; attempt++) {
      const token = await this.opts.credential.getToken(EXCHANGE_SCOPE);
      if (!token) throw new Error('no access token for Exchange Online');
      const res = await this.sendOnce(url, body, token.token, cmdlet);
      if (res.status >= 200 && res.status < 300) return res.body ? JSON.parse(res.body) : {};
      const err = parseExoError(cmdlet, res.status, res.body);
      const retryAfter = Number(res.retryAfter);
      if (res.retryAfter !== undefined && Number.isFinite(retryAfter) && retryAfter >= 0) err.retryAfterMs = retryAfter * 1000;
      if (!err.transient || attempt >= this.attempts) throw err;
      const wait = Math.min(this.maxWaitMs, Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter * 1000 : 500 * 2 ** (attempt - 1));
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  /**
   * A kept-alive connection the server closed while idle fails at once with ECONNRESET/EPIPE: that request never
   * reached the server, so it is sent again once on a new connection.
   */
  private async sendOnce(url: string, body: string, token: string, cmdlet: string): Promise<{ status: number; body: string; retryAfter: string | undefined }> {
    try {
      return await this.send(url, body, token, cmdlet);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code === 'ECONNRESET' || code === 'EPIPE') && (err as { reusedSocket?: boolean }).reusedSocket) return this.send(url, body, token, cmdlet);
      throw err;
    }
  }

  private send(url: string, body: string, token: string, cmdlet: string): Promise<{ status: number; body: string; retryAfter: string | undefined }> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        url,
        {
          method: 'POST',
          agent: this.agent,
          timeout: this.opts.timeoutMs ?? 60_000,
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            accept: 'application/json',
            'x-anchormailbox': `APP:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@${this.opts.tenantId}`,
            'x-cmdletname': cmdlet,
            prefer: 'odata.maxpagesize=1000',
            'client-request-id': randomUUID(),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const ra = res.headers['retry-after'] as string | string[] | undefined;
            const retryAfter: string | undefined = Array.isArray(ra) ? ra[0] : ra;
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), retryAfter });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${cmdlet}: Exchange Online did not answer in time`)));
      req.on('error', (err) => reject(Object.assign(err, { reusedSocket: req.reusedSocket })));
      req.end(body);
    });
  }
}
