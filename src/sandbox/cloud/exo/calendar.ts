/**
 * Calendar processing of a mailbox (Get-/Set-CalendarProcessing): Exchange Online's own data, taken on synced
 * mailboxes as well (see `delegation.ts`).
 */
import { ExoError } from '../errors';
import type { CalendarProcessingChanges, ExoRecipient, Tenant } from '../tenant';
import { noChangeWarning, recipientListChange } from './changes';
import { ALL_TYPES, byType, MAILBOXES, mailboxSettingGet, recipientOfTypes, resolve } from './lookup';
import { bool, enumValue, required, str, type Cmdlet } from './params';
import { names } from './views';

// --- Calendar processing (Set-CalendarProcessing's page: valid values and defaults) ----------------------------------

type CalendarSetting =
  | { kind: 'bool'; def: boolean }
  | { kind: 'int'; def: number; min: number; max: number }
  | { kind: 'enum'; def: string; values: string[]; type: string }
  | { kind: 'text' }
  | { kind: 'recipients' };

const INT32_MAX = 2147483647;
const CALENDAR_SETTINGS: Record<string, CalendarSetting> = {
  // Default: AutoAccept on resource mailboxes (Exchange Online, since November 2018), AutoUpdate on user mailboxes.
  AutomateProcessing: { kind: 'enum', def: 'AutoUpdate', values: ['None', 'AutoUpdate', 'AutoAccept'], type: 'Microsoft.Exchange.Data.Storage.CalendarProcessingFlags' },
  AddAdditionalResponse: { kind: 'bool', def: false },
  AdditionalResponse: { kind: 'text' },
  AddNewRequestsTentatively: { kind: 'bool', def: true },
  AddOrganizerToSubject: { kind: 'bool', def: true },
  AllBookInPolicy: { kind: 'bool', def: true },
  AllowConflicts: { kind: 'bool', def: false },
  AllowRecurringMeetings: { kind: 'bool', def: true },
  AllRequestInPolicy: { kind: 'bool', def: false },
  AllRequestOutOfPolicy: { kind: 'bool', def: false },
  BookingType: { kind: 'enum', def: 'Standard', values: ['Standard', 'Reserved'], type: 'Microsoft.Exchange.Data.Storage.ResourceBookingType' },
  BookingWindowInDays: { kind: 'int', def: 180, min: 0, max: 1080 },
  BookInPolicy: { kind: 'recipients' },
  ConflictPercentageAllowed: { kind: 'int', def: 0, min: 0, max: 100 },
  DeleteAttachments: { kind: 'bool', def: true },
  DeleteComments: { kind: 'bool', def: true },
  DeleteNonCalendarItems: { kind: 'bool', def: true },
  DeleteSubject: { kind: 'bool', def: true },
  EnableResponseDetails: { kind: 'bool', def: true },
  EnforceCapacity: { kind: 'bool', def: false },
  EnforceSchedulingHorizon: { kind: 'bool', def: true },
  ForwardRequestsToDelegates: { kind: 'bool', def: true },
  MaximumConflictInstances: { kind: 'int', def: 0, min: 0, max: INT32_MAX },
  MaximumDurationInMinutes: { kind: 'int', def: 1440, min: 0, max: INT32_MAX },
  MinimumDurationInMinutes: { kind: 'int', def: 0, min: 0, max: INT32_MAX },
  OrganizerInfo: { kind: 'bool', def: true },
  ProcessExternalMeetingMessages: { kind: 'bool', def: false },
  RemoveCanceledMeetings: { kind: 'bool', def: false },
  RemoveForwardedMeetingNotifications: { kind: 'bool', def: false },
  RemoveOldMeetingMessages: { kind: 'bool', def: true },
  RemovePrivateProperty: { kind: 'bool', def: true },
  RequestInPolicy: { kind: 'recipients' },
  RequestOutOfPolicy: { kind: 'recipients' },
  ResourceDelegates: { kind: 'recipients' },
  ScheduleOnlyDuringWorkHours: { kind: 'bool', def: false },
  TentativePendingApproval: { kind: 'bool', def: true },
};

function isResource(r: ExoRecipient): boolean {
  return r.recipientTypeDetails === 'RoomMailbox' || r.recipientTypeDetails === 'EquipmentMailbox';
}

function calendarDefault(r: ExoRecipient, name: string, s: CalendarSetting): string | number | boolean | string[] | null {
  if (name === 'AutomateProcessing') return isResource(r) ? 'AutoAccept' : 'AutoUpdate';
  if (s.kind === 'recipients') return [];
  if (s.kind === 'text') return null;
  return s.def;
}

function calendarProcessingProps(t: Tenant, r: ExoRecipient): Record<string, unknown> {
  const out: Record<string, unknown> = { Identity: r.name, MailboxOwnerId: r.name };
  const changed = r.calendarProcessing ?? {};
  for (const [name, s] of Object.entries(CALENDAR_SETTINGS)) {
    const v = name in changed ? changed[name]! : calendarDefault(r, name, s);
    out[name] = s.kind === 'recipients' ? names(t, Array.isArray(v) ? v : []) : v;
  }
  out.IsValid = true;
  out.ObjectState = 'Unchanged';
  return out;
}

const setCalendarProcessing: Cmdlet = {
  parameters: ['Identity', 'IgnoreDefaultScope', ...Object.keys(CALENDAR_SETTINGS)],
  run: (ctx, p) => {
    const t = ctx.tenant;
    const r = resolve(ctx, byType(t, MAILBOXES), required(p, 'Identity', 'Set-CalendarProcessing'));
    const next: CalendarProcessingChanges = structuredClone(r.calendarProcessing ?? {});
    for (const [name, s] of Object.entries(CALENDAR_SETTINGS)) {
      if (!p.has(name)) continue;
      const raw = p.get(name);
      let v: string | number | boolean | string[] | null;
      if (s.kind === 'bool') v = bool(p, name) ?? s.def;
      else if (s.kind === 'text') v = str(p, name) ?? null;
      else if (s.kind === 'enum') v = enumValue(name, str(p, name) ?? '', s.values, s.type);
      else if (s.kind === 'int') {
        const n = Number(raw);
        if (raw === null || typeof raw === 'boolean' || !Number.isInteger(n)) {
          throw new ExoError('ParameterBinding', `Cannot process argument transformation on parameter '${name}'. Cannot convert value "${String(raw)}" to type "System.Int32".`);
        }
        if (n < s.min || n > s.max) {
          throw new ExoError('ParameterBinding', `Cannot validate argument on parameter '${name}'. The ${n} argument is outside the valid range ${s.min} to ${s.max}. Nothing was changed.`);
        }
        v = n;
      } else {
        v = recipientListChange([], raw, (id) => recipientOfTypes(ctx, id, ALL_TYPES.filter((x) => x !== 'User'), name, 'users or groups with an address').externalDirectoryObjectId);
      }
      if (name === 'AutomateProcessing' && !isResource(r) && v !== calendarDefault(r, name, s)) {
        // "The default value for user mailboxes is AutoUpdate, but you can't change the value on a user mailbox."
        throw new ExoError('InvalidOperation', `AutomateProcessing can only be changed on a room or equipment mailbox; "${r.name}" is a ${r.recipientTypeDetails}, where it stays AutoUpdate. Nothing was changed.`);
      }
      next[name] = v;
    }
    const changed = t.updateRecipient(r.guid, { calendarProcessing: next });
    return { values: [], warnings: changed ? [] : [noChangeWarning(r)] };
  },
};

/** The calendar processing cmdlets. */
export const CALENDAR_CMDLETS: Record<string, Cmdlet> = {
  'Get-CalendarProcessing': mailboxSettingGet('Get-CalendarProcessing', calendarProcessingProps),
  'Set-CalendarProcessing': setCalendarProcessing,
};
