import restify from 'restify';
import type { Logger } from '../log';
import type { ReadinessReport } from './readiness';

/** Handles one POST /api/messages; the bot runtime supplies it. */
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
  server.use(restify.plugins.bodyParser({ maxBodySize: 256 * 1024, mapParams: false, rejectUnknown: true }));

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
