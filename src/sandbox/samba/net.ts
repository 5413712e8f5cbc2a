import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';

export const LDAPS_PORT = 636;
/** Every TCP port Samba's LDAP service binds (LDAP, LDAPS, global catalog plain and TLS). */
export const SAMBA_LDAP_PORTS = [389, 636, 3268, 3269] as const;

/** Is `address` an IPv4 loopback address (127.0.0.0/8)? */
export function isLoopbackIPv4(address: string): boolean {
  if (net.isIPv4(address) === false) return false;
  return address.split('.')[0] === '127';
}

/** Can we bind `address:port` right now? Falls back to a connect probe where binding is not allowed. */
export function isPortFree(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EACCES') {
        resolve(canConnect(address, port, 500).then((open) => !open));
      } else {
        resolve(false);
      }
    });
    server.listen({ host: address, port, exclusive: true }, () => {
      server.close(() => resolve(true));
    });
  });
}

/** Does something accept TCP connections on `address:port`? */
export function canConnect(address: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port });
    const done = (open: boolean): void => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** One TLS handshake to `address:port`, verified against `caPem` (including the address SAN). */
export function tlsHandshake(address: string, port: number, caPem: string, timeoutMs = 2000): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: address, port, ca: caPem });
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      reject(new Error(`TLS handshake with ${address}:${port} timed out`));
    });
    socket.once('secureConnect', () => {
      socket.end();
      socket.destroy();
      resolve();
    });
    socket.once('error', (err: Error) => {
      socket.destroy();
      reject(err);
    });
  });
}

export interface ListeningSocket {
  readonly address: string;
  readonly port: number;
}

/** TCP sockets in LISTEN state owned by process `pid` (Linux /proc; needs permission to read its fds). */
export function listeningSockets(pid: number): ListeningSocket[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match?.[1]) inodes.add(match[1]);
    } catch {
      // fd closed meanwhile
    }
  }
  const result: ListeningSocket[] = [];
  for (const table of ['tcp', 'tcp6'] as const) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      const [local, state, inode] = [cols[1], cols[3], cols[9]];
      if (!local || state !== '0A' || !inode || !inodes.has(inode)) continue; // 0A = LISTEN
      const [hexAddr, hexPort] = local.split(':');
      if (!hexAddr || !hexPort) continue;
      result.push({ address: decodeProcAddress(hexAddr), port: parseInt(hexPort, 16) });
    }
  }
  return result;
}

/** /proc/net/tcp{,6} addresses are 32-bit words in host (little-endian) order. */
function decodeProcAddress(hex: string): string {
  const words = hex.match(/.{8}/g) ?? [];
  const bytes = words.flatMap((w) => [w.slice(6, 8), w.slice(4, 6), w.slice(2, 4), w.slice(0, 2)].map((b) => parseInt(b, 16)));
  if (bytes.length === 4) return bytes.join('.');
  const isV4Mapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  if (isV4Mapped) return bytes.slice(12).join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}
