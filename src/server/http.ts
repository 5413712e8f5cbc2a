import restify from 'restify';
import type { Logger } from '../log';
import type { ReadinessReport } from './readiness';

/**
 * The largest body /api/messages reads, in bytes as they arrive. Compressed bodies are refused (see `readJson`), so
 * this is also the most a request can make Mailroom hold in memory. A Teams message is at most ~28 KB.
 */
export const MAX_BODY_BYTES = 256 * 1024;
/** How much of a refused body is read and dropped so that the client still gets its answer; beyond it the connection is cut. */
const MAX_DRAIN_BYTES = 1024 * 1024;

/**
 * Handles one POST /api/messages; the bot runtime supplies it. `req.body` holds the parsed JSON object (the server
 * has checked the media type, the size and the syntax); the handler validates it as an activity.
 */
export type MessageHandler = (req: restify.Request, res: restify.Response) => Promise<void>;

export interface HttpServerOptions {
  readonly host: string;
  readonly port: number;
  readonly log: Logger;
  readonly onMessage: MessageHandler;
  readonly readiness: () => Promise<ReadinessReport>;
}

export interface HttpServer {
  readonly url: string;
  readonly port: number;
  /** Stops accepting requests and waits (up to timeoutMs) for in-flight turns to finish. */
  close(timeoutMs: number): Promise<{ drained: boolean; inFlight: number }>;
}

export async function startHttpServer(opts: HttpServerOptions): Promise<HttpServer> {
  const server = restify.createServer({ name: 'mailroom', handleUncaughtExceptions: false });

  let inFlight = 0;
  let draining = false;
  const idle: (() => void)[] = [];

  server.post('/api/messages', async (req: restify.Request, res: restify.Response) => {
    if (draining) {
      res.header('Retry-After', '5');
      res.send(503, { error: 'Mailroom is shutting down; retry shortly.' });
      return;
    }
    inFlight++;
    try {
      const body = await readJson(req);
      if (!body.ok) {
        opts.log.warn('request refused at the edge', { reason: body.reason, status: body.status });
        if (body.cut) res.header('Connection', 'close');
        if (!res.headersSent) res.send(body.status, { error: body.error });
        if (body.cut) res.once('finish', () => req.destroy());
        return;
      }
      (req as { body?: unknown }).body = body.value;
      await opts.onMessage(req, res);
    } catch (err) {
      opts.log.error('turn failed outside the bot', { err });
      if (!res.headersSent) res.send(500, { error: 'internal error' });
    } finally {
      inFlight--;
      if (inFlight === 0) idle.splice(0).forEach((f) => f());
    }
  });

  server.get('/healthz', async (_req: restify.Request, res: restify.Response) => {
    res.send(200, { status: 'ok', uptimeSeconds: Math.round(process.uptime()) });
    return Promise.resolve();
  });

  server.get('/readyz', async (_req: restify.Request, res: restify.Response) => {
    if (draining) {
      res.send(503, { ready: false, checks: [{ name: 'server', ok: false, ms: 0, detail: 'shutting down' }] });
      return;
    }
    const report = await opts.readiness();
    res.send(report.ready ? 200 : 503, report);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = address.port;
  const hostForUrl = opts.host.includes(':') ? `[${opts.host}]` : opts.host;

  return {
    url: `http://${hostForUrl}:${port}`,
    port,
    async close(timeoutMs: number) {
      draining = true;
      const closed = new Promise<void>((resolve) => {
        server.close(() => resolve());
      });
      server.server.closeIdleConnections();
      let drained = true;
      if (inFlight > 0) {
        drained = await Promise.race([
          new Promise<boolean>((resolve) => idle.push(() => resolve(true))),
          new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref()),
        ]);
      }
      const left = inFlight;
      server.server.closeAllConnections();
      await closed;
      return { drained, inFlight: left };
    },
  };
}

type JsonBody =
  | { ok: true; value: Record<string, unknown> }
  | { ok: false; status: 400 | 413 | 415; reason: string; error: string; cut: boolean };

/**
 * Reads the body of /api/messages: JSON only (415 otherwise), never compressed (415: the Bot Connector sends plain
 * JSON, and inflating would let 50 KB on the wire become 50 MB in memory), at most MAX_BODY_BYTES (413), one JSON
 * object (400). A refused body is read and dropped up to MAX_DRAIN_BYTES, so the client gets the answer; `cut` says
 * the connection must be closed instead.
 */
async function readJson(req: restify.Request): Promise<JsonBody> {
  const refuse = async (status: 400 | 413 | 415, reason: string, error: string): Promise<JsonBody> => {
    const drained = await consume(req, 0);
    return { ok: false, status, reason, error, cut: !drained.complete };
  };
  const encoding = (req.headers['content-encoding'] ?? '').trim().toLowerCase();
  if (encoding !== '' && encoding !== 'identity') {
    return refuse(415, 'content-encoding', 'Mailroom does not accept a Content-Encoding (compressed bodies); send the activity as plain JSON. Nothing was processed.');
  }
  const [mediaType = '', ...params] = (req.headers['content-type'] ?? '').split(';').map((p) => p.trim().toLowerCase());
  const charset = params.find((p) => p.startsWith('charset='))?.slice('charset='.length).replace(/"/g, '');
  if (mediaType !== 'application/json' || (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8')) {
    return refuse(415, 'content-type', 'Mailroom accepts only Content-Type: application/json (UTF-8). Nothing was processed.');
  }
  const tooLarge = `The body is larger than ${MAX_BODY_BYTES / 1024} KiB. Nothing was processed.`;
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > MAX_BODY_BYTES) return refuse(413, 'too-large', tooLarge);
  const read = await consume(req, MAX_BODY_BYTES);
  if (!read.data) return { ok: false, status: 413, reason: 'too-large', error: tooLarge, cut: !read.complete };
  let value: unknown;
  try {
    value = JSON.parse(read.data.toString('utf8').replace(/^\uFEFF/, ''));
  } catch {
    return { ok: false, status: 400, reason: 'not-json', error: 'The body is not valid JSON. Nothing was processed.', cut: false };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, status: 400, reason: 'not-an-object', error: 'The body must be one JSON object (a Bot Framework activity). Nothing was processed.', cut: false };
  }
  return { ok: true, value: value as Record<string, unknown> };
}

/**
 * Reads a request body, keeping it only while it fits in `keep` bytes (`data` is undefined beyond that) and reading
 * at most MAX_DRAIN_BYTES in all (`complete` is false when it stopped early or the client went away).
 */
function consume(req: restify.Request, keep: number): Promise<{ data: Buffer | undefined; complete: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (complete: boolean) => {
      if (done) return;
      done = true;
      req.removeListener('data', onData);
      if (!complete) req.pause();
      resolve({ data: size <= keep ? Buffer.concat(chunks) : undefined, complete });
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= keep) chunks.push(chunk);
      else chunks.length = 0;
      if (size > Math.max(keep, MAX_DRAIN_BYTES)) finish(false);
    };
    req.on('data', onData);
    req.once('end', () => finish(true));
    req.once('error', () => finish(false));
    req.once('close', () => finish(false));
  });
}
