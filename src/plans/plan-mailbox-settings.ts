/**
 * Planning of a mailbox's own settings, which are Exchange Online's (AD holds no copy that sync would carry, so no
 * cloud-managed switch is needed): the booking of a room or equipment mailbox (Set-CalendarProcessing) and automatic
 * replies (Set-MailboxAutoReplyConfiguration).
 */
import { describeType } from '../requests/tenant-profile';
import { isMailboxType, type AutoReplyRequest, type BookingRequest, type TargetRecipient } from '../requests/kinds';
import { delegateKeys, exoIdentity, PlanRefusedError, refIdentity, type Builder } from './plan-builder';
import { namesText } from './plan-settings';
import type { CalendarSettings, StepInputs } from './steps';

const PROCESSING_TEXT = { AutoAccept: 'accepted or declined by the mailbox itself', AutoUpdate: 'held for its delegates to decide', None: 'not processed at all' } as const;

export function planBooking(b: Builder, r: BookingRequest): string {
  const t = r.target;
  if (t.type !== 'RoomMailbox' && t.type !== 'EquipmentMailbox') throw new PlanRefusedError(`${t.name} is a ${describeType(t.type)}, not a room or equipment mailbox.`);
  const settings: { -readonly [K in keyof CalendarSettings]: CalendarSettings[K] } = {};
  const said: string[] = [];
  if (r.processing !== undefined) {
    settings.automateProcessing = r.processing;
    said.push(`requests ${PROCESSING_TEXT[r.processing]} (AutomateProcessing ${r.processing})`);
  }
  if (r.bookingWindowInDays !== undefined) {
    settings.bookingWindowInDays = r.bookingWindowInDays;
    said.push(`bookable up to ${r.bookingWindowInDays} days ahead (BookingWindowInDays)`);
  }
  if (r.maximumDurationInMinutes !== undefined) {
    settings.maximumDurationInMinutes = r.maximumDurationInMinutes;
    said.push(`bookings of at most ${r.maximumDurationInMinutes} minutes (MaximumDurationInMinutes)`);
  }
  if (r.allowConflicts !== undefined) {
    settings.allowConflicts = r.allowConflicts;
    said.push(r.allowConflicts ? 'conflicting bookings accepted (AllowConflicts $true)' : 'conflicting bookings declined (AllowConflicts $false)');
  }
  let keys: StepInputs['exo.setCalendarProcessing']['bookInPolicyKeys'];
  if (r.bookers === 'everyone') {
    settings.allBookInPolicy = true;
    settings.bookInPolicy = [];
    said.push('everyone may book (AllBookInPolicy $true, BookInPolicy cleared)');
  } else if (r.bookers !== undefined) {
    settings.allBookInPolicy = false;
    settings.bookInPolicy = r.bookers.map(refIdentity);
    keys = r.bookers.map(delegateKeys);
    said.push(`only ${namesText(r.bookers)} may book (AllBookInPolicy $false, BookInPolicy)`);
  }
  b.add('exo.booking', 'exo.setCalendarProcessing', { identity: exoIdentity(t), mailboxName: t.name, settings, ...(keys ? { bookInPolicyKeys: keys } : {}) },
    `Set the booking of ${t.name} in Exchange Online (Set-CalendarProcessing): ${said.join('; ')}`);
  b.note('Booking settings are Exchange Online\'s own (Set-CalendarProcessing): Mailroom writes them there for synced and cloud-only mailboxes alike. Settings not named here stay as they are; a roll back restores the ones it changed.');
  if (r.processing !== undefined && r.processing !== 'AutoAccept') b.note('Requests that are not accepted by the mailbox itself wait for its resource delegates (Set-CalendarProcessing -ResourceDelegates), whom Mailroom does not change.');
  return `Booking of ${t.name}: ${said.map((s) => s.replace(/ \(.*\)$/, '')).join('; ')}`;
}

/** The automatic-reply step (shared with offboarding). */
export function autoReplyStep(b: Builder, t: TargetRecipient, r: Pick<AutoReplyRequest, 'enabled' | 'message' | 'externalMessage' | 'externalAudience' | 'start' | 'end'>): void {
  const identity = exoIdentity(t);
  if (!r.enabled) {
    b.add('exo.auto-reply', 'exo.setAutoReply', { identity, mailboxName: t.name, state: 'Disabled' },
      `Turn the automatic replies of ${t.name} off in Exchange Online (Set-MailboxAutoReplyConfiguration -AutoReplyState Disabled)`);
    return;
  }
  const message = r.message ?? '';
  const scheduled = r.start !== undefined && r.end !== undefined;
  const input: StepInputs['exo.setAutoReply'] = {
    identity, mailboxName: t.name, state: scheduled ? 'Scheduled' : 'Enabled',
    internalMessage: message, externalMessage: r.externalMessage ?? message, externalAudience: r.externalAudience ?? 'All',
    ...(scheduled ? { startTime: r.start?.iso ?? '', endTime: r.end?.iso ?? '' } : {}),
  };
  const quoted = message.length > 120 ? `${message.slice(0, 120)}…` : message;
  b.add('exo.auto-reply', 'exo.setAutoReply', input,
    `Set the automatic reply of ${t.name}${scheduled ? ` from ${r.start?.text ?? ''} until ${r.end?.text ?? ''}` : ' (on until turned off)'} in Exchange Online: "${quoted}" (Set-MailboxAutoReplyConfiguration -AutoReplyState ${input.state}, outside senders: ${(r.externalAudience ?? 'All').toLowerCase()})`);
}

export function planAutoReply(b: Builder, r: AutoReplyRequest): string {
  const t = r.target;
  if (!isMailboxType(t.type)) throw new PlanRefusedError(`${t.name} is a ${describeType(t.type)}, not a mailbox.`);
  autoReplyStep(b, t, r);
  b.note('Automatic replies are Exchange Online\'s own setting: Mailroom writes them there for synced and cloud-only mailboxes alike. A roll back puts back the reply the mailbox had.');
  if (r.enabled && r.externalAudience === 'None') b.note('Outside senders get no reply; people in the organisation do.');
  if (r.enabled && r.externalMessage === undefined) b.note('Outside senders get the same reply as people in the organisation.');
  return r.enabled ? `Automatic replies on for ${t.name}${r.end ? ` until ${r.end.text}` : ''}` : `Automatic replies off for ${t.name}`;
}
