/**
 * Time source for the cloud simulator. Everything time-dependent in the tenant (mailbox provisioning
 * delays, rate-limit windows, token lifetimes, timestamps) reads this clock, so tests can inject a
 * {@link ManualClock} and move time forward instead of sleeping.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

/** The wall clock. */
export const systemClock: Clock = { now: () => Date.now() };

/** A clock that only moves when told to. */
export class ManualClock implements Clock {
  private current: number;

  constructor(start: number | string = '2026-01-05T09:00:00Z') {
    this.current = typeof start === 'number' ? start : Date.parse(start);
  }

  now(): number {
    return this.current;
  }

  /** Move the clock forward by `ms` milliseconds. */
  advance(ms: number): void {
    if (ms < 0) throw new Error('ManualClock cannot go backwards');
    this.current += ms;
  }

  /** Set the clock to an absolute time. */
  set(time: number | string): void {
    this.current = typeof time === 'number' ? time : Date.parse(time);
  }
}
