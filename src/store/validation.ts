/**
 * How the repositories check what callers pass before anything reaches the database: one wording for a
 * refused call (`invalid-record`, "<what>: <problem>; <problem>."), and the checks several repositories make.
 */
import { encodeTimeInput, type TimeInput } from './dialect';
import { StoreError } from './errors';

/** Largest id a PostgreSQL integer column holds. */
export const MAX_ID = 2_147_483_647;

/** Refuses the call: `invalid-record`, naming `what` was refused and every problem. */
export function invalid(what: string, problems: readonly string[]): never {
  throw new StoreError('invalid-record', `${what}: ${problems.join('; ')}.`);
}

/** Refuses the call (see {@link invalid}) when there is any problem. */
export function refuseIfAny(what: string, problems: readonly string[]): void {
  if (problems.length > 0) invalid(what, problems);
}

/** Whether `v` can be a row id: a whole number from 1 to {@link MAX_ID}. */
export function isId(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 1 && v <= MAX_ID;
}

/** `v` when it is a whole number from 1 to `max`; else refuses the call, naming `key`. */
export function checkCount(v: unknown, key: string, max: number, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1 || v > max) invalid(what, [`${key} must be an integer from 1 to ${max} (got ${JSON.stringify(v)})`]);
  return v;
}

/** The stored form of the time `v` (see `encodeTimeInput`); refuses the call, naming `key`, when it is not a time. */
export function checkTime(v: unknown, key: string, what: string): string {
  try {
    return encodeTimeInput(v as TimeInput, key);
  } catch (err) {
    return invalid(what, [err instanceof Error ? err.message.replace(/\.$/, '') : String(err)]);
  }
}

/** The JSON text of `v`, or what keeps it from being stored as JSON (naming `key`). */
export function jsonText(v: unknown, key: string): { text: string; problem?: undefined } | { text?: undefined; problem: string } {
  let text: string | undefined;
  try {
    text = JSON.stringify(v);
  } catch (err) {
    return { problem: `${key} cannot be stored as JSON (${err instanceof Error ? err.message : String(err)})` };
  }
  return text === undefined ? { problem: `${key} must be a JSON value (got ${typeof v})` } : { text };
}
