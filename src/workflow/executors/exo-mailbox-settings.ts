/**
 * The Exchange Online steps for a mailbox's own settings:
 *
 * - `exo.setCalendarProcessing`: the booking of a room or equipment mailbox (Set-CalendarProcessing
 *   -AutomateProcessing -BookingWindowInDays -MaximumDurationInMinutes -AllowConflicts -AllBookInPolicy -BookInPolicy),
 *   only the settings the plan names;
 * - `exo.setAutoReply`: automatic replies (Set-MailboxAutoReplyConfiguration -AutoReplyState -InternalMessage
 *   -ExternalMessage -ExternalAudience -StartTime -EndTime).
 *
 * Each reads the settings first, records them as its intent (`before`) before writing, writes only when they differ,
 * and reads back. A roll back puts `before` back. Exchange keeps automatic-reply messages as HTML ("HTML tags are
 * automatically added to the text", Set-MailboxAutoReplyConfiguration's page): Mailroom sends plain text as HTML and
 * compares messages by their text.
 */
import type { AutoReplyInput, CalendarProcessingInput, CalendarSettings, DelegateKeys } from '../../plans';
import { bareAddress } from './cloud-compare';
import { exoFailure, permanent, type Doing } from './cloud-errors';
import type { ExchangePort, RecipientRow } from './exchange-port';
import type { ReadBack } from './read-back';
import type { StepExecutor, StepOutcome, StepResult } from './types';

const EXO = 'Exchange Online';

const done = (changed: boolean, result: StepResult): StepOutcome => ({ kind: 'done', changed, result });

/** One cmdlet call, its failure as a StepError. */
async function rows<T>(exo: ExchangePort, cmdlet: string, parameters: Record<string, unknown>, doing: Doing): Promise<T[]> {
  try {
    return [...(await exo.invoke<T>(cmdlet, parameters)).value];
  } catch (err) {
    throw exoFailure(err, doing);
  }
}

async function one<T>(exo: ExchangePort, cmdlet: string, identity: string, doing: Doing): Promise<T> {
  const row = (await rows<T>(exo, cmdlet, { Identity: identity }, doing))[0];
  if (!row) throw permanent(`Mailroom could not ${doing.what}: Exchange Online has no ${doing.subject}. ${doing.unchanged} Check the address, then press Retry.`, { ...doing.detail, identity });
  return row;
}

function doingOn(identity: string, what: string, unchanged: string): Doing {
  return { what, unchanged, subject: `mailbox ${identity}`, notFoundAdvice: 'Check the address (it may have changed since the request was made), then press Retry.', detail: { identity } };
}

const norm = (v: string): string => bareAddress(v.trim()).toLowerCase();

/** The names, addresses and ids a recipient may show as (lower case). */
function keysOfRow(row: RecipientRow): string[] {
  const all = [row.Identity, row.Name, row.Alias, row.PrimarySmtpAddress, row.UserPrincipalName, row.ExchangeObjectId, row.Guid, row.ExternalDirectoryObjectId];
  return all.filter((k): k is string => typeof k === 'string' && k.trim() !== '').map(norm);
}

// ---------------------------------------------------------------------------------------------
// Calendar processing (booking)
// ---------------------------------------------------------------------------------------------

interface CalendarRow {
  AutomateProcessing?: string;
  BookingWindowInDays?: number | string;
  MaximumDurationInMinutes?: number | string;
  AllowConflicts?: boolean;
  AllBookInPolicy?: boolean;
  BookInPolicy?: string[] | null;
}

/** The settings as Get-CalendarProcessing shows them (BookInPolicy: the names it shows). */
interface ShownCalendar {
  readonly automateProcessing?: string;
  readonly bookingWindowInDays?: number;
  readonly maximumDurationInMinutes?: number;
  readonly allowConflicts?: boolean;
  readonly allBookInPolicy?: boolean;
  readonly bookInPolicy: readonly string[];
}

function shownCalendar(r: CalendarRow): ShownCalendar {
  const int = (v: number | string | undefined): number | undefined => (v === undefined || v === '' ? undefined : Number(v));
  return {
    ...(r.AutomateProcessing !== undefined ? { automateProcessing: r.AutomateProcessing } : {}),
    ...(int(r.BookingWindowInDays) !== undefined ? { bookingWindowInDays: int(r.BookingWindowInDays)! } : {}),
    ...(int(r.MaximumDurationInMinutes) !== undefined ? { maximumDurationInMinutes: int(r.MaximumDurationInMinutes)! } : {}),
    ...(typeof r.AllowConflicts === 'boolean' ? { allowConflicts: r.AllowConflicts } : {}),
    ...(typeof r.AllBookInPolicy === 'boolean' ? { allBookInPolicy: r.AllBookInPolicy } : {}),
    bookInPolicy: Array.isArray(r.BookInPolicy) ? r.BookInPolicy : [],
  };
}

/** Whether the shown names are exactly the wanted recipients (each recognised by any of its keys). */
function sameBookers(shown: readonly string[], wanted: readonly DelegateKeys[]): boolean {
  if (shown.length !== wanted.length) return false;
  const left = [...wanted];
  for (const name of shown) {
    const i = left.findIndex((w) => w.keys.some((k) => norm(k) === norm(name)));
    if (i < 0) return false;
    left.splice(i, 1);
  }
  return left.length === 0;
}

const SCALARS = ['automateProcessing', 'bookingWindowInDays', 'maximumDurationInMinutes', 'allowConflicts', 'allBookInPolicy'] as const;

function calendarAsWanted(shown: ShownCalendar, input: CalendarProcessingInput): boolean {
  const s = input.settings;
  for (const k of SCALARS) if (s[k] !== undefined && shown[k] !== s[k]) return false;
  if (s.bookInPolicy !== undefined && !sameBookers(shown.bookInPolicy, input.bookInPolicyKeys ?? s.bookInPolicy.map((b) => ({ name: b, keys: [b] })))) return false;
  return true;
}

const PARAMETER: Record<keyof CalendarSettings, string> = {
  automateProcessing: 'AutomateProcessing',
  bookingWindowInDays: 'BookingWindowInDays',
  maximumDurationInMinutes: 'MaximumDurationInMinutes',
  allowConflicts: 'AllowConflicts',
  allBookInPolicy: 'AllBookInPolicy',
  bookInPolicy: 'BookInPolicy',
};

function calendarText(shown: ShownCalendar, settings: CalendarSettings): string {
  return (Object.keys(settings) as (keyof CalendarSettings)[])
    .map((k) => `${PARAMETER[k]} ${k === 'bookInPolicy' ? (shown.bookInPolicy.length ? shown.bookInPolicy.join(', ') : 'empty') : String(shown[k])}`)
    .join(', ');
}

/**
 * The settings the step is about to change, as they are now: what a roll back sets again. BookInPolicy is kept as
 * addresses (Exchange shows names, which need not be unique) with the keys each may show as.
 */
async function calendarBefore(exo: ExchangePort, shown: ShownCalendar, settings: CalendarSettings, doing: Doing): Promise<{ settings: CalendarSettings; bookInPolicyKeys?: DelegateKeys[] }> {
  const out: Record<string, unknown> = {};
  for (const k of SCALARS) if (settings[k] !== undefined && shown[k] !== undefined) out[k] = shown[k];
  if (settings.bookInPolicy === undefined) return { settings: out };
  const keys: DelegateKeys[] = [];
  const addresses: string[] = [];
  for (const name of shown.bookInPolicy) {
    const row = await one<RecipientRow>(exo, 'Get-Recipient', name, { ...doing, subject: `recipient ${name} (who may book now)` });
    addresses.push(row.PrimarySmtpAddress ?? row.ExchangeObjectId ?? name);
    keys.push({ name, keys: [name, ...keysOfRow(row)] });
  }
  return { settings: { ...(out as CalendarSettings), bookInPolicy: addresses }, bookInPolicyKeys: keys };
}

/** Each recipient the plan allows to book, with every name it may show as (looked up in Exchange Online). */
async function bookerKeys(exo: ExchangePort, input: CalendarProcessingInput, doing: Doing): Promise<DelegateKeys[]> {
  const out: DelegateKeys[] = [];
  for (const [i, identity] of (input.settings.bookInPolicy ?? []).entries()) {
    const row = await one<RecipientRow>(exo, 'Get-Recipient', identity, { ...doing, subject: `recipient ${identity} (allowed to book)` });
    const given = input.bookInPolicyKeys?.[i];
    out.push({ name: given?.name ?? identity, keys: [...(given?.keys ?? []), identity, ...keysOfRow(row)] });
  }
  return out;
}

function setCalendarProcessing(exo: ExchangePort, readBack: ReadBack): StepExecutor<'exo.setCalendarProcessing'> {
  return {
    action: 'exo.setCalendarProcessing',
    async run(input, ctx) {
      const doing = doingOn(input.identity, `change the booking settings of ${input.mailboxName}`, 'The booking settings were not changed.');
      const mailbox = await one<RecipientRow>(exo, 'Get-Mailbox', input.identity, doing);
      const type = mailbox.RecipientTypeDetails ?? '';
      if (type !== 'RoomMailbox' && type !== 'EquipmentMailbox') {
        throw permanent(`Mailroom could not ${doing.what}: it is a ${type || 'mailbox of unknown type'} now, and booking settings are for room and equipment mailboxes. ${doing.unchanged}`, { identity: input.identity, recipientTypeDetails: type });
      }
      const id = mailbox.ExchangeObjectId || mailbox.Guid || input.identity;
      const read = async (): Promise<ShownCalendar> => shownCalendar(await one<CalendarRow>(exo, 'Get-CalendarProcessing', id, doing));
      // Get-CalendarProcessing shows who may book by name: learn the names of the ones the plan names.
      const wanted = input.settings.bookInPolicy === undefined ? input : { ...input, bookInPolicyKeys: await bookerKeys(exo, input, doing) };
      const shown = await read();
      if (calendarAsWanted(shown, wanted)) {
        const earlier = ctx.intent?.before;
        return done(false, earlier !== undefined ? { before: earlier, changedByEarlierTry: true } : { before: await calendarBefore(exo, shown, input.settings, doing) });
      }
      const before = await calendarBefore(exo, shown, input.settings, doing);
      await ctx.intend?.({ before });
      const parameters: Record<string, unknown> = { Identity: id };
      for (const [k, v] of Object.entries(input.settings)) if (v !== undefined) parameters[PARAMETER[k as keyof CalendarSettings]] = v;
      await rows(exo, 'Set-CalendarProcessing', parameters, doing);
      const check = await readBack.confirm(read, (s) => calendarAsWanted(s, wanted));
      if (!check.ok) {
        throw readBack.notTaken(ctx, EXO, `Set-CalendarProcessing ${calendarText(shownFromSettings(input.settings), input.settings)}`, calendarText(check.value, input.settings), 'Check the booking settings in the Exchange admin centre.', { identity: input.identity, cmdlet: 'Set-CalendarProcessing' });
      }
      ctx.log.info('exo: booking settings changed', { reference: ctx.reference, identity: input.identity });
      return done(true, { before, cmdlet: 'Set-CalendarProcessing' });
    },
  };
}

function shownFromSettings(s: CalendarSettings): ShownCalendar {
  return { ...s, bookInPolicy: s.bookInPolicy ?? [] };
}

// ---------------------------------------------------------------------------------------------
// Automatic replies
// ---------------------------------------------------------------------------------------------

interface AutoReplyRow {
  AutoReplyState?: string;
  InternalMessage?: string | null;
  ExternalMessage?: string | null;
  ExternalAudience?: string;
  StartTime?: string | null;
  EndTime?: string | null;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", '#39': "'", nbsp: ' ' };

/** The text of a message Exchange keeps as HTML: tags dropped, entities decoded, white space collapsed. */
export function messageText(html: string | null | undefined): string {
  if (typeof html !== 'string') return '';
  return html
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(amp|lt|gt|quot|apos|#39|nbsp);/g, (_m, e: string) => ENTITIES[e] ?? '')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Plain text as the HTML Exchange keeps: characters escaped, line breaks kept. */
export function messageHtml(text: string): string {
  const escaped = text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  return `<html><body>${escaped.replace(/\r?\n/g, '<br>')}</body></html>`;
}

/** A message that is HTML already (a roll back sets back what Exchange kept), sent as it is. */
const isHtml = (m: string): boolean => /^\s*<html[\s>]/i.test(m);

const asSent = (m: string | null): string | null => (m === null ? null : isHtml(m) ? m : messageHtml(m));

const sameMoment = (a: string | null | undefined, b: string | null | undefined): boolean =>
  (a ?? null) === (b ?? null) || (typeof a === 'string' && typeof b === 'string' && Date.parse(a) === Date.parse(b));

function autoReplyAsWanted(row: AutoReplyRow, input: AutoReplyInput): boolean {
  if (row.AutoReplyState !== input.state) return false;
  if (input.internalMessage !== undefined && messageText(row.InternalMessage) !== messageText(asSent(input.internalMessage))) return false;
  if (input.externalMessage !== undefined && messageText(row.ExternalMessage) !== messageText(asSent(input.externalMessage))) return false;
  if (input.externalAudience !== undefined && row.ExternalAudience !== input.externalAudience) return false;
  if (input.state === 'Scheduled' && (!sameMoment(row.StartTime, input.startTime) || !sameMoment(row.EndTime, input.endTime))) return false;
  return true;
}

/** What the automatic reply is now, in the step's input shape: what a roll back sets again. */
function autoReplyBefore(row: AutoReplyRow, input: AutoReplyInput): Omit<AutoReplyInput, 'identity' | 'mailboxName'> {
  const state = row.AutoReplyState === 'Enabled' || row.AutoReplyState === 'Scheduled' ? row.AutoReplyState : 'Disabled';
  const audience = row.ExternalAudience === 'None' || row.ExternalAudience === 'Known' || row.ExternalAudience === 'All' ? row.ExternalAudience : undefined;
  return {
    state,
    ...(input.internalMessage !== undefined ? { internalMessage: row.InternalMessage ?? null } : {}),
    ...(input.externalMessage !== undefined ? { externalMessage: row.ExternalMessage ?? null } : {}),
    ...(input.externalAudience !== undefined && audience ? { externalAudience: audience } : {}),
    ...(state === 'Scheduled' && row.StartTime && row.EndTime ? { startTime: row.StartTime, endTime: row.EndTime } : {}),
  };
}

const autoReplyText = (r: AutoReplyRow): string =>
  `AutoReplyState ${r.AutoReplyState ?? 'unknown'}, ExternalAudience ${r.ExternalAudience ?? 'unknown'}, InternalMessage "${messageText(r.InternalMessage).slice(0, 80)}"`;

function setAutoReply(exo: ExchangePort, readBack: ReadBack): StepExecutor<'exo.setAutoReply'> {
  return {
    action: 'exo.setAutoReply',
    async run(input, ctx) {
      const doing = doingOn(input.identity, `${input.state === 'Disabled' ? 'turn off' : 'set'} the automatic reply of ${input.mailboxName}`, 'The automatic reply was not changed.');
      const mailbox = await one<RecipientRow>(exo, 'Get-Mailbox', input.identity, doing);
      const id = mailbox.ExchangeObjectId || mailbox.Guid || input.identity;
      const read = (): Promise<AutoReplyRow> => one<AutoReplyRow>(exo, 'Get-MailboxAutoReplyConfiguration', id, doing);
      const row = await read();
      if (autoReplyAsWanted(row, input)) {
        const earlier = ctx.intent?.before;
        return done(false, earlier !== undefined ? { before: earlier, changedByEarlierTry: true } : { before: autoReplyBefore(row, input) });
      }
      const before = autoReplyBefore(row, input);
      await ctx.intend?.({ before });
      const parameters: Record<string, unknown> = { Identity: id, AutoReplyState: input.state };
      if (input.internalMessage !== undefined) parameters.InternalMessage = asSent(input.internalMessage);
      if (input.externalMessage !== undefined) parameters.ExternalMessage = asSent(input.externalMessage);
      if (input.externalAudience !== undefined) parameters.ExternalAudience = input.externalAudience;
      if (input.state === 'Scheduled') {
        parameters.StartTime = input.startTime;
        parameters.EndTime = input.endTime;
      }
      await rows(exo, 'Set-MailboxAutoReplyConfiguration', parameters, doing);
      const check = await readBack.confirm(read, (r) => autoReplyAsWanted(r, input));
      if (!check.ok) {
        throw readBack.notTaken(ctx, EXO, `Set-MailboxAutoReplyConfiguration -AutoReplyState ${input.state}`, autoReplyText(check.value), 'Check the automatic replies of the mailbox in the Exchange admin centre.', { identity: input.identity, cmdlet: 'Set-MailboxAutoReplyConfiguration' });
      }
      ctx.log.info('exo: automatic reply set', { reference: ctx.reference, identity: input.identity, state: input.state });
      return done(true, { before, autoReplyState: input.state, cmdlet: 'Set-MailboxAutoReplyConfiguration' });
    },
  };
}

/** The executors of the mailbox settings steps. */
export function mailboxSettingExecutors(exo: ExchangePort, readBack: ReadBack): StepExecutor[] {
  const list: { [A in 'exo.setCalendarProcessing' | 'exo.setAutoReply']: StepExecutor<A> } = {
    'exo.setCalendarProcessing': setCalendarProcessing(exo, readBack),
    'exo.setAutoReply': setAutoReply(exo, readBack),
  };
  return Object.values(list);
}
