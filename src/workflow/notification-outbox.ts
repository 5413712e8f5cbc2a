import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { Logger } from '../log';
import type { OutboxEntry, OutboxRepository, RequestRecord } from '../store';
import type { RequestNotifications } from './ports';
import type { RequestViewService } from './request-views';

export interface NotificationSenderOptions {
  readonly outbox: OutboxRepository;
  readonly requests: { get(id: number): Promise<RequestRecord | undefined> };
  readonly views: RequestViewService;
  readonly notifications: RequestNotifications;
  readonly log: Logger;
  /** A row of a batch changed: the batch reports once all its rows have ended (batches.ts). */
  readonly onBatchRow?: (record: RequestRecord) => Promise<void>;
  /** How often the outbox is drained (ms): card changes without a message wait for it, so they coalesce. */
  readonly intervalMs?: number;
  /**
   * How long a request's card changes wait (ms, default intervalMs) before a pass sends them, unless a message of
   * that request goes first (the message's pass refreshes its cards too): the steps of a run that moves on within
   * this time become one card update instead of one per step.
   */
  readonly settleMs?: number;
  /**
   * How long a claimed entry is this sender's (ms, on the database's clock, so senders whose clocks disagree still
   * agree on it); a failed delivery is tried again after it.
   */
  readonly leaseMs?: number;
  /** Deliveries tried before an entry is given up (and logged). */
  readonly maxAttempts?: number;
}

/**
 * Delivers the outbox: per request, the latest state of its cards (every card change recorded since the last pass
 * coalesces into one update) and each message to its requester, in the order they were recorded. Teams allows a
 * bot only a few messages per conversation per second, and a run can move through several steps in that time.
 * Several instances may drain one outbox: entries are claimed under a lease, timed by the database's clock.
 */
export class NotificationSender {
  private readonly owner = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}:notify`;
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(private readonly options: NotificationSenderOptions) {}

  start(): void {
    this.timer = setInterval(() => this.kick(), this.options.intervalMs ?? 1000);
    this.timer.unref();
  }

  /** Drains now (a message was recorded); a pass under way is followed by another. */
  kick(): void {
    if (this.stopped) return;
    if (this.pass) {
      this.again = true;
      return;
    }
    this.pass = this.drain({ settled: true })
      .then(() => undefined)
      .catch((err: unknown) => this.options.log.error('notification pass failed', { err }))
      .finally(() => {
        this.pass = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  /** Stops the timer and delivers what is left (before a stop). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.pass;
    this.stopped = true;
    await this.drain().catch((err: unknown) => this.options.log.warn('notifications left undelivered at stop', { err }));
  }

  /**
   * Delivers everything claimable; returns how many entries were handled. `settled`: only the requests that have a
   * message to send or whose card changes have waited settleMs (what the timer and a kick deliver).
   */
  async drain(options: { settled?: boolean } = {}): Promise<number> {
    let handled = 0;
    for (;;) {
      const settleMs = this.options.settleMs ?? this.options.intervalMs ?? 1000;
      const claimed = await this.options.outbox.claim(this.owner, this.options.leaseMs ?? 30_000, 200, options.settled ? { settledBefore: new Date(Date.now() - settleMs) } : undefined);
      if (!claimed.length) return handled;
      const byRequest = new Map<number, OutboxEntry[]>();
      for (const e of claimed) byRequest.set(e.requestId, [...(byRequest.get(e.requestId) ?? []), e]);
      for (const [requestId, entries] of byRequest) {
        const done = await this.deliver(requestId, entries);
        if (done.length) await this.options.outbox.remove(done, this.owner);
        handled += entries.length;
      }
    }
  }

  /** Returns the ids of the entries delivered or given up. */
  private async deliver(requestId: number, entries: readonly OutboxEntry[]): Promise<number[]> {
    try {
      const record = await this.options.requests.get(requestId);
      if (record) {
        const view = await this.options.views.viewOf(record);
        const messages = entries.map((e) => e.message).filter((m): m is string => m !== null);
        if (record.batchId !== null && this.options.onBatchRow) {
          // A row of a batch: its requester hears once, when the batch has finished (batches.ts), not per row and step.
          await this.options.notifications.requestChanged(record, view, undefined);
          await this.options.onBatchRow(record);
        } else {
          if (!messages.length) await this.options.notifications.requestChanged(record, view, undefined);
          for (const message of messages) await this.options.notifications.requestChanged(record, view, message);
        }
      }
      return entries.map((e) => e.id);
    } catch (err) {
      const max = this.options.maxAttempts ?? 5;
      const given = entries.filter((e) => e.attempts >= max);
      if (given.length) this.options.log.error('notifications given up after repeated failures', { requestId, entries: given.length, err });
      else this.options.log.warn('notification not delivered; it is tried again', { requestId, err });
      return given.map((e) => e.id);
    }
  }
}
