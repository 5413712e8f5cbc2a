/**
 * Trusting an extra CA (a private PKI, or the sandbox's own CA) in-process, without NODE_EXTRA_CA_CERTS
 * (which Node reads only at start-up):
 *
 * - **@azure/identity**: pass `tlsOptions: { ca }` in the credential options. They reach the
 *   core-rest-pipeline client that MSAL uses for discovery and token calls, which builds its
 *   https.Agent from them. (`https.globalAgent.options.ca` does not help: the pipeline makes its own
 *   keep-alive agents.)
 * - **@microsoft/microsoft-graph-client**: its last middleware calls the global `fetch` (undici), which
 *   ignores https agents and has no CA option of its own. Build the middleware chain yourself and end
 *   it with {@link NodeHttpsMessageHandler}, which sends the request with node:https and the given CA;
 *   {@link graphMiddlewareTrusting} does that with the SDK's own auth, retry, redirect and telemetry
 *   handlers, so Retry-After handling stays the SDK's.
 * - plain HTTPS (Exchange InvokeCommand): `https.request(url, { ca })` or an `https.Agent({ ca })`.
 */
import { Agent, request as httpsRequest, type RequestOptions } from 'node:https';
import { trustingAgent } from './credential';
import {
  AuthenticationHandler,
  RedirectHandler,
  RedirectHandlerOptions,
  RetryHandler,
  RetryHandlerOptions,
  TelemetryHandler,
  type AuthenticationProvider,
  type Context,
  type Middleware,
} from '@microsoft/microsoft-graph-client';

type CaInput = string | Buffer | (string | Buffer)[];

function headersToRecord(h: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h) return out;
  if (h instanceof Headers) {
    h.forEach((v, k) => (out[k] = v));
    return out;
  }
  if (Array.isArray(h)) {
    for (const pair of h as [string, string][]) out[pair[0]] = pair[1];
    return out;
  }
  for (const [k, v] of Object.entries(h as Record<string, unknown>)) if (typeof v === 'string') out[k] = v;
  return out;
}

async function bodyToBuffer(body: unknown): Promise<Buffer | undefined> {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return Buffer.from(body);
  if (Buffer.isBuffer(body)) return body;
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (body instanceof Blob) return Buffer.from(await body.arrayBuffer());
  return Buffer.from(String(body as string));
}

/**
 * The last middleware of a Graph client chain: sends the request with node:https, trusting `ca`
 * (and the system CAs unless `ca` replaces them — node's `ca` option replaces the default list).
 */
export class NodeHttpsMessageHandler implements Middleware {
  private readonly agent: Agent;

  constructor(options: { ca?: CaInput; agent?: Agent } = {}) {
    this.agent = options.agent ?? trustingAgent(options.ca);
  }

  async execute(context: Context): Promise<void> {
    let url: string;
    let method = context.options?.method ?? 'GET';
    let headers = headersToRecord(context.options?.headers);
    let body = await bodyToBuffer(context.options?.body);
    // Context.request is typed with the DOM's RequestInfo, which this project's lib settings lack.
    const target = context.request as unknown;
    if (typeof target === 'string') {
      url = target;
    } else if (target instanceof Request) {
      const r = target;
      url = r.url;
      method = context.options?.method ?? r.method;
      headers = { ...headersToRecord(r.headers), ...headers };
      if (body === undefined && r.body !== null) body = Buffer.from(await r.clone().arrayBuffer());
    } else {
      url = String(target);
    }
    const opts: RequestOptions = { method, headers, agent: this.agent };
    const send = () =>
      new Promise<Response>((resolve, reject) => {
        const req = httpsRequest(url, opts, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const status = res.statusCode ?? 500;
            const h = new Headers();
            for (const [k, v] of Object.entries(res.headers)) {
              if (Array.isArray(v)) for (const x of v) h.append(k, x);
              else if (v !== undefined) h.set(k, v);
            }
            const payload = status === 204 || status === 304 || chunks.length === 0 ? null : Buffer.concat(chunks);
            resolve(new Response(payload, { status, statusText: res.statusMessage ?? '', headers: h }));
          });
        });
        req.on('error', (err) => reject(Object.assign(err, { reusedSocket: req.reusedSocket })));
        if (body !== undefined) req.write(body);
        req.end();
      });
    try {
      context.response = await send();
    } catch (err) {
      // a kept-alive connection the server closed while idle: the request never arrived, so send it once more
      const code = (err as NodeJS.ErrnoException).code;
      if ((code === 'ECONNRESET' || code === 'EPIPE') && (err as { reusedSocket?: boolean }).reusedSocket) context.response = await send();
      else throw err;
    }
  }

  /** Closes idle keep-alive connections. */
  destroy(): void {
    this.agent.destroy();
  }
}

/**
 * The Graph SDK's default middleware chain (authentication, retry honouring Retry-After, redirect,
 * telemetry) ending in a {@link NodeHttpsMessageHandler} that trusts `ca`. Use as
 * `Client.initWithMiddleware({ middleware: graphMiddlewareTrusting(auth, ca).chain, baseUrl, customHosts })`.
 */
export function graphMiddlewareTrusting(
  authProvider: AuthenticationProvider,
  ca: CaInput,
  retry: RetryHandlerOptions = new RetryHandlerOptions(),
): { chain: Middleware[]; http: NodeHttpsMessageHandler } {
  const http = new NodeHttpsMessageHandler({ ca });
  const chain: Middleware[] = [
    new AuthenticationHandler(authProvider),
    new RetryHandler(retry),
    new RedirectHandler(new RedirectHandlerOptions()),
    new TelemetryHandler(),
    http,
  ];
  return { chain, http };
}
