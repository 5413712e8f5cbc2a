/**
 * How long to wait before trying again: the parts shared by the runner's step retries, the cloud errors' Retry-After
 * and the Bot Connector calls.
 */

/** Capped exponential back-off with jitter (attempt 1: about baseMs); Retry-After wins when it is longer. */
export function backoffMs(attempt: number, baseMs: number, capMs: number, retryAfterMs?: number, random: () => number = Math.random): number {
  const exp = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  const jittered = Math.round(exp / 2 + (random() * exp) / 2);
  return Math.max(jittered, retryAfterMs ?? 0);
}

/** An HTTP Retry-After value as ms: seconds, or an HTTP date (a date that has passed: 0). */
export function retryAfterMs(value: string | number | null | undefined, nowMs = Date.now()): number | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  const n = Number(value);
  if (Number.isFinite(n) && n >= 0) return Math.round(n * 1000);
  const at = Date.parse(String(value));
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}
