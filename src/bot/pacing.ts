/**
 * Teams' rate limits for a bot, kept before every proactive send or update: per conversation 7 in 1 s, 8 in 2 s, 60 in
 * 30 s and 1,800 in an hour; per app and tenant about 30 a second (Microsoft's "Optimize your bot: rate limiting and
 * best practices in Microsoft Teams"). A call waits for the first moment every window has room, then takes its slot;
 * calls of one conversation keep their order. Only the notification sender waits here, never the runner (the outbox
 * stands between them).
 */

/** At most `count` calls in any `ms` milliseconds. */
export interface RateWindow {
  readonly count: number;
  readonly ms: number;
}

export const TEAMS_PER_CONVERSATION: readonly RateWindow[] = [
  { count: 7, ms: 1_000 },
  { count: 8, ms: 2_000 },
  { count: 60, ms: 30_000 },
  { count: 1_800, ms: 3_600_000 },
];
export const TEAMS_PER_TENANT: readonly RateWindow[] = [{ count: 30, ms: 1_000 }];

export interface PacerClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realClock: PacerClock = { now: () => Date.now(), sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) };

/** The times of the calls one key made, as long as the longest window needs them. */
class History {
  private readonly times: number[] = [];

  /** `marginMs`: each window is kept this much longer, as calls reach Teams a little apart from when they leave. */
  constructor(
    private readonly windows: readonly RateWindow[],
    private readonly marginMs: number,
  ) {}

  /** How long from `now` until every window has room (0: now). */
  waitAt(now: number): number {
    let wait = 0;
    for (const w of this.windows) {
      const span = w.ms + this.marginMs;
      const inWindow = this.times.filter((t) => t > now - span);
      if (inWindow.length >= w.count) {
        // the oldest call that must leave the window before one more fits
        const oldest = inWindow[inWindow.length - w.count] ?? now;
        wait = Math.max(wait, oldest + span - now);
      }
    }
    return wait;
  }

  take(now: number): void {
    this.times.push(now);
    const keep = Math.max(...this.windows.map((w) => w.ms)) + this.marginMs;
    while (this.times.length && (this.times[0] ?? 0) <= now - keep) this.times.shift();
  }
}

export class TeamsPacer {
  private readonly conversations = new Map<string, History>();
  private readonly tenants = new Map<string, History>();
  private readonly queues = new Map<string, Promise<void>>();

  constructor(
    private readonly clock: PacerClock = realClock,
    private readonly perConversation: readonly RateWindow[] = TEAMS_PER_CONVERSATION,
    private readonly perTenant: readonly RateWindow[] = TEAMS_PER_TENANT,
    /** Extra room on every window: a call's slot is when it leaves, Teams counts when it arrives. */
    private readonly marginMs = 500,
  ) {}

  private history(map: Map<string, History>, key: string, windows: readonly RateWindow[]): History {
    let h = map.get(key);
    if (!h) {
      h = new History(windows, this.marginMs);
      map.set(key, h);
    }
    return h;
  }

  /** Waits until a call to `conversationId` (in `tenantId`) is within every limit, and takes its slot. */
  slot(conversationId: string, tenantId: string): Promise<void> {
    const previous = this.queues.get(conversationId) ?? Promise.resolve();
    const mine = previous.then(async () => {
      const c = this.history(this.conversations, conversationId, this.perConversation);
      const t = this.history(this.tenants, tenantId.toLowerCase(), this.perTenant);
      for (;;) {
        const now = this.clock.now();
        const wait = Math.max(c.waitAt(now), t.waitAt(now));
        if (wait <= 0) {
          c.take(now);
          t.take(now);
          return;
        }
        await this.clock.sleep(wait);
      }
    });
    const tail = mine.catch(() => undefined);
    this.queues.set(conversationId, tail);
    void tail.then(() => {
      if (this.queues.get(conversationId) === tail) this.queues.delete(conversationId);
    });
    return mine;
  }
}

/**
 * "Latest update wins" for cards updated in place (a batch's progress card): per card, at most one update in flight
 * and one waiting. An update given while another waits replaces it (the superseded one is dropped: it would show
 * a state that is already old). `submit` never waits: whoever reports a change (the notification outbox, the
 * runner behind it) goes on at once; the updates go out at the pace the pacer allows.
 */
export class LatestWins {
  private readonly cards = new Map<string, { pending: (() => Promise<void>) | undefined; running: Promise<void> }>();
  private dropped = 0;

  /** `onError`: an update that failed (it is not tried again; a later update carries the newer state). */
  constructor(private readonly onError: (key: string, err: unknown) => void = () => undefined) {}

  /** Queues `update` for the card `key`, replacing the one that waits there (if any). Never waits. */
  submit(key: string, update: () => Promise<void>): void {
    const card = this.cards.get(key);
    if (card) {
      if (card.pending) this.dropped++;
      card.pending = update;
      return;
    }
    const entry = { pending: undefined as (() => Promise<void>) | undefined, running: Promise.resolve() };
    this.cards.set(key, entry);
    entry.running = this.drain(key, entry, update);
  }

  private async drain(key: string, entry: { pending: (() => Promise<void>) | undefined }, first: () => Promise<void>): Promise<void> {
    let next: (() => Promise<void>) | undefined = first;
    while (next) {
      try {
        await next();
      } catch (err) {
        this.onError(key, err);
      }
      next = entry.pending;
      entry.pending = undefined;
    }
    this.cards.delete(key);
  }

  /** How many updates were dropped because a newer one replaced them (since this was made). */
  get droppedCount(): number {
    return this.dropped;
  }

  /** Resolves when no update is in flight or waiting (for `key`, or for every card). */
  async idle(key?: string): Promise<void> {
    for (;;) {
      const running = key === undefined ? [...this.cards.values()].map((c) => c.running) : [this.cards.get(key)?.running].filter((p): p is Promise<void> => p !== undefined);
      if (!running.length) return;
      await Promise.all(running);
    }
  }
}
