/**
 * Shared pieces of the directory suites: a DirectoryClient for the shared Samba DC, unique account names, an
 * independent ldapts reader (assertions read back through plain LDAP, not through the code under test), and a TLS
 * connection factory that records sockets so a test can break one.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { Client, Entry } from 'ldapts';
import { DirectoryClient, DirectoryError, type DirectoryClientOptions, type DirectoryErrorKind } from '../../src/directory';
import type { DomainController } from '../../src/sandbox/samba';

export function clientOptions(dc: DomainController, overrides: Partial<DirectoryClientOptions> = {}): DirectoryClientOptions {
  return {
    url: dc.url,
    bindDn: dc.bindDn,
    password: dc.password,
    caPem: dc.caPem,
    connectTimeoutMs: 5_000,
    timeoutMs: 15_000,
    ...overrides,
  };
}

export function newClient(dc: DomainController, overrides: Partial<DirectoryClientOptions> = {}): DirectoryClient {
  return new DirectoryClient(clientOptions(dc, overrides));
}

const runTag = randomBytes(2).toString('hex');
let counter = 0;
/** A sAMAccountName-safe unique name (≤ 20 characters). */
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix.slice(0, 6)}${runTag}${counter}`;
}

/** Resolve with the DirectoryError the promise was rejected with; fail if it resolved or threw something else. */
export async function directoryError(promise: Promise<unknown>, kind?: DirectoryErrorKind): Promise<DirectoryError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof DirectoryError, `expected a DirectoryError, got ${String(err)}`);
    if (kind) assert.equal(err.kind, kind, `kind ${err.kind}: ${err.message}`);
    return err;
  }
  assert.fail('expected the operation to fail');
}

/** Read one entry through plain ldapts (independent of the code under test). */
export async function readBack(admin: Client, dnString: string, attributes: string[]): Promise<Entry> {
  const { searchEntries } = await admin.search(dnString, { scope: 'base', attributes });
  const entry = searchEntries[0];
  assert.ok(entry, `${dnString} not found`);
  return entry;
}

/** All values of an attribute in an ldapts entry as strings (sorted). */
export function list(entry: Entry, attribute: string): string[] {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attribute.toLowerCase());
  const v = key === undefined ? [] : entry[key];
  return [v ?? []].flat().map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : x)).sort();
}

/** The protocolOp tag of an LDAPMessage (0x60 bind, 0x63 search, 0x66 modify, 0x68 add, 0x4a delete). */
export function protocolOp(message: Buffer): number | undefined {
  if (message[0] !== 0x30) return undefined;
  let i = 1;
  const len = message[i] ?? 0;
  i += len & 0x80 ? 1 + (len & 0x7f) : 1;
  if (message[i] !== 0x02) return undefined; // messageID INTEGER
  i += 2 + (message[i + 1] ?? 0);
  return message[i];
}

export const OP = { bind: 0x60, search: 0x63, modify: 0x66, add: 0x68, del: 0x4a } as const;

/**
 * A `tls.connect` that records every socket and can break the connection right after the next request of a given
 * kind has been written (the request reaches the DC; the answer never reaches the client).
 */
export function breakableTls(): {
  readonly connect: typeof tls.connect;
  readonly sockets: tls.TLSSocket[];
  breakAfterNext(op: number): void;
  readonly broken: number[];
  /** How many requests of each protocolOp were written. */
  readonly written: Map<number, number>;
} {
  const sockets: tls.TLSSocket[] = [];
  const broken: number[] = [];
  const written = new Map<number, number>();
  let armed: number | undefined;
  const connect = ((...args: Parameters<typeof tls.connect>) => {
    const socket = (tls.connect as (...a: unknown[]) => tls.TLSSocket)(...args);
    sockets.push(socket);
    const write = socket.write.bind(socket) as (...a: unknown[]) => boolean;
    socket.write = ((chunk: unknown, ...rest: unknown[]) => {
      const result = write(chunk, ...rest);
      const op = Buffer.isBuffer(chunk) ? protocolOp(chunk) : undefined;
      if (op !== undefined) written.set(op, (written.get(op) ?? 0) + 1);
      if (armed !== undefined && Buffer.isBuffer(chunk) && protocolOp(chunk) === armed) {
        broken.push(armed);
        armed = undefined;
        socket.destroy();
      }
      return result;
    });
    return socket;
  }) as typeof tls.connect;
  return {
    connect,
    sockets,
    broken,
    written,
    breakAfterNext(op: number) {
      armed = op;
    },
  };
}

/**
 * A TCP proxy in front of the DC's LDAPS port (TLS stays end-to-end between client and Samba, so the certificate
 * still verifies): it can stop passing the DC's answers (`freeze`) or drop every connection (`dropAll`).
 */
export class TcpProxy {
  private readonly server: net.Server;
  private readonly pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();
  private frozen = false;
  /** Connections accepted so far. */
  accepted = 0;

  private constructor(private readonly target: { host: string; port: number }) {
    this.server = net.createServer((client) => {
      this.accepted += 1;
      const upstream = net.connect(this.target.port, this.target.host);
      const pair = { client, upstream };
      this.pairs.add(pair);
      client.on('data', (d: Buffer) => upstream.write(d));
      upstream.on('data', (d: Buffer) => {
        if (!this.frozen) client.write(d);
      });
      const end = (): void => {
        this.pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      client.on('close', end).on('error', end);
      upstream.on('close', end).on('error', end);
    });
  }

  static async start(host: string, port: number): Promise<TcpProxy> {
    const proxy = new TcpProxy({ host, port });
    await new Promise<void>((resolve, reject) => {
      proxy.server.once('error', reject);
      proxy.server.listen(0, host, () => resolve());
    });
    return proxy;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  get open(): number {
    return this.pairs.size;
  }

  freeze(): void {
    this.frozen = true;
  }

  thaw(): void {
    this.frozen = false;
  }

  dropAll(): void {
    for (const { client, upstream } of this.pairs) {
      client.destroy();
      upstream.destroy();
    }
  }

  async close(): Promise<void> {
    this.dropAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A TCP server that accepts connections and never says anything (a DC that hangs during the TLS handshake). */
export async function silentServer(host: string): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, host, () => resolve()));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A port on `host` that nothing listens on (bound, then closed again). */
export async function closedPort(host: string): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, host, () => resolve()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
