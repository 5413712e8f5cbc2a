/**
 * Automatic replies of a mailbox (Get-/Set-MailboxAutoReplyConfiguration): Exchange Online's own data, taken on
 * synced mailboxes as well (see `delegation.ts`).
 */
import { ExoError } from '../errors';
import type { AutoReplyState, ExoRecipient } from '../tenant';
import { noChangeWarning } from './changes';
import { byType, MAILBOXES, mailboxSettingGet, resolve } from './lookup';
import { enumValue, required, str, type Cmdlet, type Params } from './params';

// --- Automatic replies (Set-MailboxAutoReplyConfiguration) -----------------------------------------------------------

const AUTO_REPLY_STATES = ['Disabled', 'Enabled', 'Scheduled'];
const EXTERNAL_AUDIENCES = ['None', 'Known', 'All'];
const AUTO_REPLY_DEFAULT: AutoReplyState = { autoReplyState: 'Disabled', externalAudience: 'All', internalMessage: null, externalMessage: null, startTime: null, endTime: null };

function autoReplyProps(r: ExoRecipient): Record<string, unknown> {
  const a = r.autoReply ?? AUTO_REPLY_DEFAULT;
  return {
    Identity: r.name,
    MailboxOwnerId: r.name,
    AutoReplyState: a.autoReplyState,
    StartTime: a.startTime,
    EndTime: a.endTime,
    InternalMessage: a.internalMessage,
    ExternalMessage: a.externalMessage,
    ExternalAudience: a.externalAudience,
    AutoDeclineFutureRequestsWhenOOF: false,
    CreateOOFEvent: false,
    DeclineAllEventsForScheduledOOF: false,
    DeclineEventsForScheduledOOF: false,
    IsValid: true,
    ObjectState: 'Unchanged',
  };
}

function dateParam(p: Params, name: string): string | null | undefined {
  if (!p.has(name)) return undefined;
  const v = str(p, name);
  if (v === undefined || v.trim() === '') return null;
  const ms = Date.parse(v);
  if (Number.isNaN(ms)) throw new ExoError('ParameterBinding', `Cannot process argument transformation on parameter '${name}'. Cannot convert value "${v}" to type "System.DateTime".`);
  return new Date(ms).toISOString();
}

/**
 * The message as Exchange keeps it. Set-MailboxAutoReplyConfiguration's page, InternalMessage and ExternalMessage: "HTML
 * tags are automatically added to the text. For example, if you enter the text: "I'm on vacation", the value
 * automatically becomes: <html><body>I'm on vacation</body></html>". A message that is HTML already is kept as given.
 */
function asKept(message: string | undefined): string | null {
  if (message === undefined || message === '') return null;
  return /^\s*<html[\s>]/i.test(message) ? message : `<html><body>${message}</body></html>`;
}

const setAutoReply: Cmdlet = {
  parameters: ['Identity', 'AutoReplyState', 'ExternalAudience', 'InternalMessage', 'ExternalMessage', 'StartTime', 'EndTime', 'IgnoreDefaultScope'],
  run: (ctx, p) => {
    const t = ctx.tenant;
    const r = resolve(ctx, byType(t, MAILBOXES), required(p, 'Identity', 'Set-MailboxAutoReplyConfiguration'));
    const next: AutoReplyState = { ...(r.autoReply ?? AUTO_REPLY_DEFAULT) };
    const state = str(p, 'AutoReplyState');
    if (state !== undefined) next.autoReplyState = enumValue('AutoReplyState', state, AUTO_REPLY_STATES, 'Microsoft.Exchange.Data.Storage.Management.OofState');
    const audience = str(p, 'ExternalAudience');
    if (audience !== undefined) next.externalAudience = enumValue('ExternalAudience', audience, EXTERNAL_AUDIENCES, 'Microsoft.Exchange.Data.Storage.Management.ExternalAudience');
    if (p.has('InternalMessage')) next.internalMessage = asKept(str(p, 'InternalMessage'));
    if (p.has('ExternalMessage')) next.externalMessage = asKept(str(p, 'ExternalMessage'));
    const start = dateParam(p, 'StartTime');
    if (start !== undefined) next.startTime = start;
    const end = dateParam(p, 'EndTime');
    if (end !== undefined) next.endTime = end;
    if (next.autoReplyState === 'Scheduled') {
      // "StartTime … used only when AutoReplyState is Scheduled"; a schedule needs both ends, the start first.
      if (!next.startTime || !next.endTime) {
        throw new ExoError('Argument', `A Scheduled automatic reply for "${r.name}" needs StartTime and EndTime. Nothing was changed.`);
      }
      if (Date.parse(next.endTime) <= Date.parse(next.startTime)) {
        throw new ExoError('Argument', `The EndTime (${next.endTime}) of the automatic reply for "${r.name}" must be later than its StartTime (${next.startTime}). Nothing was changed.`);
      }
    }
    const changed = t.updateRecipient(r.guid, { autoReply: next });
    return { values: [], warnings: changed ? [] : [noChangeWarning(r)] };
  },
};

/** The automatic reply cmdlets. */
export const AUTO_REPLY_CMDLETS: Record<string, Cmdlet> = {
  'Get-MailboxAutoReplyConfiguration': mailboxSettingGet('Get-MailboxAutoReplyConfiguration', (_t, r) => autoReplyProps(r)),
  'Set-MailboxAutoReplyConfiguration': setAutoReply,
};
