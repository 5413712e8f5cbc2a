import net from 'node:net';
import tls from 'node:tls';

export interface ReadinessCheck {
  readonly name: string;
  readonly ok: boolean;
  readonly ms: number;
  readonly detail: string;
}

export interface ReadinessReport {
  readonly ready: boolean;
  readonly checks: readonly ReadinessCheck[];
}

export interface Probe {
  readonly name: string;
  run(): Promise<void>;
}

/** Runs every probe in parallel, each bounded by a timeout; the report never contains secrets. */
export async function runProbes(probes: readonly Probe[], timeoutMs = 3000): Promise<ReadinessReport> {
  const checks = await Promise.all(
    probes.map(async (p): Promise<ReadinessCheck> => {
      const t0 = Date.now();
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          p.run(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
        return { name: p.name, ok: true, ms: Date.now() - t0, detail: 'reachable' };
      } catch (err) {
        return { name: p.name, ok: false, ms: Date.now() - t0, detail: err instanceof Error ? err.message : String(err) };
      } finally {
        if (timer) clearTimeout(timer);
      }
    }),
  );
  return { ready: checks.every((c) => c.ok), checks };
}

/** A probe that opens a TCP (or TLS, verifying the certificate) connection to a URL's host and closes it. */
export function connectProbe(name: string, url: string, opts: { tls: boolean; ca?: string | Buffer; timeoutMs?: number }): Probe {
  return {
    name,
    run: () =>
      new Promise<void>((resolve, reject) => {
        const u = new URL(url);
        const port = Number(u.port || (u.protocol === 'ldaps:' ? 636 : u.protocol === 'https:' ? 443 : 389));
        const host = u.hostname.replace(/^\[|\]$/g, '');
        const onError = (err: Error) => {
          socket.destroy();
          reject(new Error(`${host}:${port}: ${err.message}`));
        };
        const socket = opts.tls
          ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, ca: opts.ca, timeout: opts.timeoutMs ?? 3000 }, () => {
              socket.end();
              resolve();
            })
          : net.connect({ host, port, timeout: opts.timeoutMs ?? 3000 }, () => {
              socket.end();
              resolve();
            });
        socket.once('error', onError);
        socket.once('timeout', () => onError(new Error('connection timed out')));
      }),
  };
}
