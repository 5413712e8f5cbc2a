/**
 * Validation of a mailbox's own settings: the booking of a room or equipment mailbox (only what is filled in changes;
 * "everyone" or the users and groups who may book) and automatic replies (on until further notice, on for a time,
 * off). The target has been looked up (validate-change.ts).
 */
import { REQUEST_FIELD, isGroupType, isMailboxType, type AutoReplyRequest, type BookingRequest, type TargetRecipient } from './kinds';
import { describeType } from './tenant-profile';
import { show } from './text';
import type { Form, ValidationContext } from './validate-form';
import { resolveList, sameRecipient } from './validate-recipients';
import { momentText, parseMoment } from './when';

const PROCESSING = { accept: 'AutoAccept', delegates: 'AutoUpdate', none: 'None' } as const;

/** Whether a "who may book" list says everyone. */
export const EVERYONE = (text: string): boolean => /^(everyone|everybody|all|anyone)$/i.test(text.trim());

/** Who may book a room or equipment: users (mailboxes, mail users) and groups with an address. */
const BOOKER_TYPES = (t: string): boolean => isMailboxType(t) || t === 'MailUser' || isGroupType(t);

export async function validateBooking(form: Form, ctx: ValidationContext, target: TargetRecipient, wanted: readonly string[]): Promise<BookingRequest | undefined> {
  const what = `${target.name} (${describeType(target.type)})`;
  if (target.type !== 'RoomMailbox' && target.type !== 'EquipmentMailbox') {
    form.error('identity', `${what} is not a room or equipment mailbox; booking settings are for those.`);
    return undefined;
  }
  const choice = form.choice('processing') as keyof typeof PROCESSING | undefined;
  const window = form.number('bookingWindow');
  const duration = form.number('maxDuration');
  const conflicts = form.choice('conflicts');
  const bookersText = form.get('bookers');
  if (choice === undefined && window === undefined && duration === undefined && conflicts === undefined && bookersText === undefined) {
    if (!form.errors.length) form.error(REQUEST_FIELD, 'Nothing to change: fill in at least one of Booking requests, Booking window, Longest booking, Conflicting bookings or Who may book.');
    return undefined;
  }
  let bookers: BookingRequest['bookers'];
  if (bookersText !== undefined) {
    if (EVERYONE(bookersText)) bookers = 'everyone';
    else {
      const list = await resolveList(form, ctx, 'bookers', wanted, 'booker');
      if (!list) return undefined;
      const self = list.filter((r) => sameRecipient(r, target));
      if (self.length) form.error('bookers', `${show(self[0]?.identity ?? target.name)} is ${target.name} itself.`);
      const wrong = list.filter((r) => !BOOKER_TYPES(r.type));
      if (wrong.length) form.error('bookers', `${wrong.slice(0, 5).map((r) => `${r.name} (${describeType(r.type)})`).join(', ')} cannot be allowed to book: give users or groups with an email address.`);
      bookers = list;
    }
  }
  if (form.errors.length) return undefined;
  return {
    kind: 'booking',
    target,
    ...(choice !== undefined ? { processing: PROCESSING[choice] } : {}),
    ...(window !== undefined ? { bookingWindowInDays: window } : {}),
    ...(duration !== undefined ? { maximumDurationInMinutes: duration } : {}),
    ...(conflicts !== undefined ? { allowConflicts: conflicts === 'allow' } : {}),
    ...(bookers !== undefined ? { bookers } : {}),
  };
}

const AUDIENCE = { all: 'All', known: 'Known', none: 'None' } as const;

/** At most this far ahead (days) for a typed date: Exchange keeps schedules, but a typo of a year is more likely. */
const MAX_AHEAD_DAYS = 366;

/** A typed moment checked against now: `future` (a leave date, an end) must lie ahead; nothing beyond a year. */
export function readMoment(form: Form, ctx: ValidationContext, field: string, endOfDay: boolean, future: boolean): { iso: string; text: string } | undefined | null {
  const typed = form.get(field);
  if (typed === undefined || /^now$/i.test(typed)) return undefined;
  const zone = ctx.timeZone ?? 'UTC';
  const m = parseMoment(typed, zone, endOfDay);
  if ('error' in m) {
    form.error(field, m.error);
    return null;
  }
  // Without a clock (a unit test of other rules) the checks against now are not made; Mailroom always passes one.
  if (ctx.now === undefined) return { iso: m.at.toISOString(), text: momentText(m.at, zone) };
  const now = ctx.now().getTime();
  if (future && m.at.getTime() <= now) {
    form.error(field, `${momentText(m.at, zone)} has passed. Give a later date, or leave it empty for now.`);
    return null;
  }
  if (m.at.getTime() > now + MAX_AHEAD_DAYS * 86_400_000) {
    form.error(field, `${momentText(m.at, zone)} is more than a year ahead. Give a date within a year.`);
    return null;
  }
  return { iso: m.at.toISOString(), text: momentText(m.at, zone) };
}

export function validateAutoReply(form: Form, ctx: ValidationContext, target: TargetRecipient): AutoReplyRequest | undefined {
  const what = `${target.name} (${describeType(target.type)})`;
  if (!isMailboxType(target.type)) {
    form.error('identity', `${what} is not a mailbox; only mailboxes send automatic replies.`);
    return undefined;
  }
  const state = form.choice('state');
  if (state === undefined) return undefined;
  if (state === 'off') {
    for (const f of ['message', 'externalMessage', 'start', 'end']) {
      if (form.get(f) !== undefined) form.error(f, 'is only used to turn replies on; leave it empty to turn them off.');
    }
    return form.errors.length ? undefined : { kind: 'auto-reply', target, enabled: false };
  }
  const message = form.get('message');
  if (message === undefined) {
    if (!form.isBad('message')) form.error('message', 'is needed to turn automatic replies on: what should people who write get back?');
    return undefined;
  }
  const start = readMoment(form, ctx, 'start', false, false);
  const end = readMoment(form, ctx, 'end', true, true);
  if (start === null || end === null) return undefined;
  if (start !== undefined && end === undefined) {
    form.error('end', 'is needed with a start: Exchange schedules replies from a start to an end. Give the end too, or leave both empty to turn replies on now.');
    return undefined;
  }
  if (start !== undefined && end !== undefined && Date.parse(end.iso) <= Date.parse(start.iso)) {
    form.error('end', `${end.text} is not after the start, ${start.text}.`);
    return undefined;
  }
  const from = start ?? (end !== undefined ? { iso: ctx.now ? ctx.now().toISOString() : new Date(Date.parse(end.iso) - 86_400_000).toISOString(), text: 'now' } : undefined);
  const audience = AUDIENCE[(form.choice('audience') ?? 'all') as keyof typeof AUDIENCE];
  const external = form.get('externalMessage');
  return {
    kind: 'auto-reply',
    target,
    enabled: true,
    message,
    ...(external !== undefined ? { externalMessage: external } : {}),
    externalAudience: audience,
    ...(from !== undefined && end !== undefined ? { start: from, end } : {}),
  };
}
