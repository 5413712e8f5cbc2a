/**
 * A small pool of bound LDAPS connections. Each caller leases one connection exclusively for one operation or one
 * multi-step sequence (create, set password, enable), so concurrent callers never interleave on a connection and a
 * sequence sees its own writes; callers beyond the pool size wait in FIFO order.
 */
import type { Client } from 'ldapts';
import { DirectoryError } from './errors';

export interface Lease {
  readonly client: Client;
  /** Give the connection back for reuse. */
  release(): void;
  /** Close the connection (it broke or is in doubt) instead of reusing it. */
  discard(): void;
}

export interface PoolOptions {
  readonly size: number;
  /** Idle connections older than this are replaced before use (the DC or a firewall may have dropped them silently). */
  readonly maxIdleMs: number;
  /** Connect and bind a new connection; throws a DirectoryError. */
  readonly create: () => Promise<Client>;
  readonly onDiscard?: (reason: string) => void;
}

interface Idle {
  readonly client: Client;
  readonly since: number;
}

interface Waiter {
  readonly resolve: (lease: Lease) => void;
  readonly reject: (err: unknown) => void;
}

export class ConnectionPool {
  private readonly idle: Idle[] = [];
  private readonly busy = new Set<Client>();
  private creating = 0;
  private readonly waiters: Waiter[] = [];
  private closed = false;
  private drained?: () => void;
  /** Connections opened so far (for tests and metrics). */
  opened = 0;

  constructor(private readonly options: PoolOptions) {}

  get stats(): { idle: number; busy: number; creating: number; waiting: number; opened: number } {
    return { idle: this.idle.length, busy: this.busy.size, creating: this.creating, waiting: this.waiters.length, opened: this.opened };
  }

  async acquire(): Promise<Lease> {
    if (this.closed) throw closedError();
    // Synchronous up to the first await, so dispatch() sees the counters change at once.
    for (let idle = this.idle.pop(); idle; idle = this.idle.pop()) {
      if (idle.client.isBound && Date.now() - idle.since <= this.options.maxIdleMs) return this.lease(idle.client);
      this.destroy(idle.client, idle.client.isBound ? 'idle too long' : 'closed by the server while idle');
    }
    if (this.busy.size + this.creating < this.options.size) {
      this.creating += 1;
      let client: Client;
      try {
        client = await this.options.create();
      } catch (err) {
        this.creating -= 1;
        this.dispatch();
        throw err;
      }
      this.creating -= 1;
      this.opened += 1;
      // Even if close() came meanwhile: this caller was accepted before it, so it gets its connection;
      // release() closes it afterwards.
      return this.lease(client);
    }
    return new Promise<Lease>((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Refuse new leases, close idle connections, and wait until leased ones are given back (then close them). */
  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w.reject(closedError());
    for (const idle of this.idle.splice(0)) this.destroy(idle.client, 'pool closed');
    if (this.busy.size + this.creating > 0) {
      await new Promise<void>((resolve) => {
        this.drained = resolve;
      });
    }
  }

  private lease(client: Client): Lease {
    this.busy.add(client);
    let done = false;
    const finish = (reuse: boolean, reason: string): void => {
      if (done) return;
      done = true;
      this.busy.delete(client);
      if (reuse && client.isBound && !this.closed) {
        this.idle.push({ client, since: Date.now() });
      } else {
        this.destroy(client, this.closed ? 'pool closed' : reason);
      }
      this.dispatch();
    };
    return {
      client,
      release: () => finish(true, 'no longer bound'),
      discard: () => finish(false, 'discarded after an error'),
    };
  }

  private dispatch(): void {
    while (this.waiters.length > 0 && !this.closed && (this.idle.length > 0 || this.busy.size + this.creating < this.options.size)) {
      const waiter = this.waiters.shift()!;
      this.acquire().then(waiter.resolve, waiter.reject);
    }
    if (this.closed && this.busy.size + this.creating === 0 && this.drained) {
      const drained = this.drained;
      this.drained = undefined;
      drained();
    }
  }

  private destroy(client: Client, reason: string): void {
    this.options.onDiscard?.(reason);
    client.unbind().catch(() => undefined);
  }
}

function closedError(): DirectoryError {
  return new DirectoryError({
    code: 89,
    kind: 'closed',
    transient: false,
    outcome: 'unchanged',
    message: "Mailroom's connection to Active Directory has been closed (Mailroom is shutting down); nothing was changed.",
  });
}
