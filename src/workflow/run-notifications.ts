import type { Logger } from '../log';
import type { RequestRecord } from '../store';
import type { RequestNotifications, RequestService } from './request-service';
import type { RunNotifications, RunStep } from './runner';

/**
 * Turns the runner's step changes into card updates, coalesced per request: Teams allows a bot only a few
 * messages per conversation per second, and a run can move through several steps in that time. A message
 * (done, stopped) goes out at once with the latest cards; plain step changes are flushed after `delayMs`.
 */
export class CoalescingRunNotifications implements RunNotifications {
  private readonly pending = new Map<number, NodeJS.Timeout>();

  constructor(
    private readonly service: RequestService,
    private readonly notifications: RequestNotifications,
    private readonly requests: { get(id: number): Promise<RequestRecord | undefined> },
    private readonly log: Logger,
    private readonly delayMs = 1000,
  ) {}

  async runChanged(record: RequestRecord, _steps: readonly RunStep[], message?: string): Promise<void> {
    if (message) {
      this.cancel(record.id);
      await this.flush(record.id, message);
      return;
    }
    if (this.pending.has(record.id)) return;
    const t = setTimeout(() => {
      this.pending.delete(record.id);
      this.flush(record.id, undefined).catch((err: unknown) => this.log.warn('status card update failed', { reference: record.reference, err }));
    }, this.delayMs);
    t.unref();
    this.pending.set(record.id, t);
  }

  private cancel(id: number): void {
    const t = this.pending.get(id);
    if (t) clearTimeout(t);
    this.pending.delete(id);
  }

  private async flush(id: number, message: string | undefined): Promise<void> {
    const latest = await this.requests.get(id);
    if (!latest) return;
    await this.notifications.requestChanged(latest, await this.service.viewOf(latest), message);
  }

  /** Sends every pending update now (before a stop). */
  async close(): Promise<void> {
    const ids = [...this.pending.keys()];
    ids.forEach((id) => this.cancel(id));
    await Promise.allSettled(ids.map((id) => this.flush(id, undefined)));
  }
}
