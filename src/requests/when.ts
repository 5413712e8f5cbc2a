/**
 * Moments people type: a leave date, the start and end of an automatic reply. `2026-12-31`, `2026-12-31 17:30` (or
 * with a `T`), read in the organisation's time zone (TIME_ZONE, an IANA name such as Europe/Berlin; default UTC), or
 * with an explicit offset (`2026-12-31T17:30+01:00`, `…Z`). A date alone means the start of that day, or its end
 * (midnight after it) where the field says so: a leave date, the last day of an automatic reply.
 */

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?$/;
const WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})$/i;

/** Whether `zone` is a time zone this runtime knows (IANA names, or UTC). */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** The wall-clock parts of `t` in `zone`. */
function wallParts(t: number, zone: string): { y: number; mo: number; d: number; h: number; mi: number; s: number } {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }).formatToParts(new Date(t));
  const n = (type: string): number => Number(parts.find((p) => p.type === type)?.value ?? '0');
  return { y: n('year'), mo: n('month'), d: n('day'), h: n('hour'), mi: n('minute'), s: n('second') };
}

/** The zone's offset from UTC at `t` (ms; positive east of Greenwich). */
function offsetAt(t: number, zone: string): number {
  const w = wallParts(t, zone);
  return Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s) - Math.floor(t / 1000) * 1000;
}

/** The moment a wall-clock time in `zone` names (in a gap of a clock change: the moment after it). */
function fromWall(y: number, mo: number, d: number, h: number, mi: number, s: number, zone: string): number {
  const guess = Date.UTC(y, mo - 1, d, h, mi, s);
  const first = guess - offsetAt(guess, zone);
  return guess - offsetAt(first, zone);
}

function validDay(y: number, mo: number, d: number): boolean {
  const t = new Date(Date.UTC(y, mo - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d;
}

export type Moment = { readonly at: Date } | { readonly error: string };

/**
 * Reads a typed moment. `endOfDay`: a date alone means the midnight after it. The error says what is accepted;
 * range checks (in the future, not too far) are the caller's.
 */
export function parseMoment(text: string, zone: string, endOfDay: boolean): Moment {
  const t = text.trim();
  const example = `a date such as 2026-12-31, or a date and time such as 2026-12-31 17:30 (${zone})`;
  let m = DATE.exec(t);
  if (m) {
    const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
    if (!validDay(y, mo, d)) return { error: `"${t}" is not a day of the calendar; give ${example}.` };
    const day = new Date(Date.UTC(y, mo - 1, d + (endOfDay ? 1 : 0)));
    return { at: new Date(fromWall(day.getUTCFullYear(), day.getUTCMonth() + 1, day.getUTCDate(), 0, 0, 0, zone)) };
  }
  m = DATE_TIME.exec(t);
  if (m) {
    const [y, mo, d, h, mi, s] = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? '0')];
    if (!validDay(y, mo, d) || h > 23 || mi > 59 || s > 59) return { error: `"${t}" is not a valid date and time; give ${example}.` };
    return { at: new Date(fromWall(y, mo, d, h, mi, s, zone)) };
  }
  if (WITH_OFFSET.test(t) && !Number.isNaN(Date.parse(t))) return { at: new Date(Date.parse(t)) };
  return { error: `"${t.length > 40 ? `${t.slice(0, 40)}…` : t}" is not a date; give ${example}.` };
}

/** "2026-12-31 17:30 (Europe/Berlin)": a moment as people in the organisation read it. */
export function momentText(at: Date, zone: string): string {
  const w = wallParts(at.getTime(), zone);
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${w.y}-${two(w.mo)}-${two(w.d)} ${two(w.h)}:${two(w.mi)} (${zone})`;
}
