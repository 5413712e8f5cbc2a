/**
 * Roll back of changes to things that existed before the request: the settings a step found are put back (forwarding,
 * address lists, booking, automatic replies), and an offboarding is reversed as far as it can be (the account enabled,
 * the mailbox a user mailbox again with its licence). Pure: no I/O. The walk
 * over a run's steps, and what is created or exactly reversible, is rollback.ts.
 */
import type { AutoReplyInput, CalendarProcessingInput, LicenceInput, StepAction, StepInputs } from './steps';

export type Obj = Readonly<Record<string, unknown>>;

export const objectOf = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
export const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
export const texts = (v: unknown): string[] => (typeof v === 'string' ? [v] : Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** A compensation step before it gets its id: what it runs and how it is told. */
export interface Undo {
  readonly action: StepAction;
  readonly input: unknown;
  readonly summary: string;
  readonly what: string;
}

/** The outcome of asking for a step's undo: a step, nothing to do (it changed nothing), or why it stays. */
export type SettingUndo = { readonly undo: Undo } | { readonly nothing: true } | { readonly stays: string } | undefined;

/** The step that puts back the forwarding a `exo.setForwarding` step found (its result's `before`). */
function forwardingUndo(input: Obj, result: Obj, reference: string): Undo | undefined {
  const before = result.before;
  if (!before || typeof before !== 'object' || Array.isArray(before)) return undefined;
  const b = before as Obj;
  const forwardingAddress = text(b.forwardingAddress) ?? null;
  const forwardingSmtpAddress = text(b.forwardingSmtpAddress) ?? null;
  const deliverToMailboxAndForward = b.deliverToMailboxAndForward === true;
  const identity = text(input.identity) ?? '';
  const mailboxName = text(input.mailboxName) ?? identity;
  const back: StepInputs['exo.setForwarding'] = { identity, mailboxName, forwardingAddress, forwardingSmtpAddress, deliverToMailboxAndForward };
  const to = forwardingAddress ?? forwardingSmtpAddress;
  return {
    action: 'exo.setForwarding',
    input: back,
    summary: to === null
      ? `Turn off forwarding of ${mailboxName} again (it had none before ${reference})`
      : `Forward the mail of ${mailboxName} to ${to} again, ${deliverToMailboxAndForward ? 'keeping a copy' : 'without a copy'}, as before ${reference}`,
    what: `the forwarding of ${mailboxName} (${to === null ? 'off' : `to ${to}`} again)`,
  };
}

/**
 * The step that puts the address list setting back as it was before a hide/show request: Exchange's
 * HiddenFromAddressListsEnabled (a step that changed it found the other value), or AD's msExchHideFromAddressLists
 * with the values the step found (none: cleared again). Undefined when the step changed nothing.
 */
function addressListUndo(action: StepAction, input: Obj, result: Obj, changed: unknown, reference: string): Undo | undefined {
  if (action === 'exo.setHiddenFromAddressLists') {
    if (changed !== true && result.changedByEarlierTry !== true) return undefined;
    const i = input as unknown as StepInputs['exo.setHiddenFromAddressLists'];
    const hidden = !i.hidden;
    return {
      action,
      input: { identity: i.identity, recipientType: i.recipientType, hidden },
      summary: `${hidden ? 'Hide' : 'Show'} ${i.identity} ${hidden ? 'from' : 'in'} address lists again, as before ${reference} (Set-Mailbox -HiddenFromAddressListsEnabled $${String(hidden)})`,
      what: `the address list setting of ${i.identity} (${hidden ? 'hidden' : 'shown'} again)`,
    };
  }
  const entry = Object.entries(objectOf(result.changes)).find(([a]) => a.toLowerCase() === 'msexchhidefromaddresslists');
  if (changed !== true || entry === undefined) return undefined;
  const before = texts(objectOf(entry[1]).before);
  const dn = text(input.dn) ?? '';
  return {
    action: 'ad.setAttributes',
    input: { dn, replace: { msExchHideFromAddressLists: before } },
    summary: before.length
      ? `Set msExchHideFromAddressLists back to ${before.join(', ')} on ${dn} (as before ${reference}); Exchange Online follows after sync`
      : `Clear msExchHideFromAddressLists on ${dn} again (it had no value before ${reference}); Exchange Online follows after sync`,
    what: `the address list setting of ${dn} (msExchHideFromAddressLists ${before.length ? before.join(', ') : 'cleared'} again)`,
  };
}


/** The step that sets the booking settings back as `exo.setCalendarProcessing` found them (its `before`). */
function calendarUndo(input: Obj, result: Obj, reference: string): Undo | undefined {
  const before = objectOf(result.before);
  const settings = objectOf(before.settings);
  if (!Object.keys(settings).length) return undefined;
  const i = input as unknown as CalendarProcessingInput;
  const back: CalendarProcessingInput = {
    identity: i.identity,
    mailboxName: i.mailboxName,
    settings: settings,
    ...(Array.isArray(before.bookInPolicyKeys) ? { bookInPolicyKeys: before.bookInPolicyKeys as CalendarProcessingInput['bookInPolicyKeys'] } : {}),
  };
  return {
    action: 'exo.setCalendarProcessing',
    input: back,
    summary: `Set the booking settings of ${i.mailboxName} back as they were before ${reference} (Set-CalendarProcessing ${Object.keys(settings).join(', ')})`,
    what: `the booking settings of ${i.mailboxName} (as before)`,
  };
}

/** The step that sets the automatic reply back as `exo.setAutoReply` found it (its `before`). */
function autoReplyUndo(input: Obj, result: Obj, reference: string): Undo | undefined {
  const before = objectOf(result.before);
  const state = text(before.state);
  if (state !== 'Enabled' && state !== 'Disabled' && state !== 'Scheduled') return undefined;
  const i = input as unknown as AutoReplyInput;
  const back = { ...(before as Omit<AutoReplyInput, 'identity' | 'mailboxName'>), identity: i.identity, mailboxName: i.mailboxName } as AutoReplyInput;
  return {
    action: 'exo.setAutoReply',
    input: back,
    summary: state === 'Disabled'
      ? `Turn the automatic reply of ${i.mailboxName} off again, as before ${reference}`
      : `Set the automatic reply of ${i.mailboxName} back as it was before ${reference} (${state})`,
    what: `the automatic reply of ${i.mailboxName} (${state === 'Disabled' ? 'off' : state.toLowerCase()} again)`,
  };
}

/** What an offboarding step did that a roll back reverses (the account, the conversion, the licence). */
function offboardingUndo(action: StepAction, input: Obj, reference: string): Undo | undefined {
  switch (action) {
    case 'ad.disableAccount': {
      const dn = text(input.dn) ?? '';
      return { action: 'ad.enableAccount', input: { dn }, summary: `Enable the AD account ${dn} again (disabled for ${reference})`, what: `the AD account ${dn} (enabled again)` };
    }
    case 'exo.setMailboxType': {
      const identity = text(input.identity) ?? '';
      const back: StepInputs['exo.setMailboxType'] = { identity, type: 'Regular' };
      return { action: 'exo.setMailboxType', input: back, summary: `Convert the mailbox of ${identity} back to a user mailbox (converted to shared for ${reference})`, what: `the mailbox of ${identity} (a user mailbox again)` };
    }
    case 'entra.removeLicence': {
      const l = input as unknown as LicenceInput;
      return {
        action: 'entra.assignLicence',
        input: l,
        summary: l.via === 'direct' ? `Assign the ${l.skuName} licence to ${l.userPrincipalName} again (removed for ${reference})` : `Add ${l.userPrincipalName} to the licensing group ${l.groupName} again (removed for ${reference})`,
        what: l.via === 'direct' ? `the ${l.skuName} licence of ${l.userPrincipalName} (given back)` : `${l.userPrincipalName}'s membership of the licensing group ${l.groupName} (given back)`,
      };
    }
    default:
      return undefined;
  }
}

/**
 * The undo of a done step that changed a setting or, in an offboarding, what the offboarding did; undefined when this
 * module has no rule for the step (rollback.ts decides). `changed`: the step's `changed`; `byEarlierTry`: an earlier
 * try recorded its intent and may have made the change before a crash.
 */
export function settingUndo(kind: string, action: StepAction, input: Obj, result: Obj, reference: string): SettingUndo {
  const changed = result.changed;
  const made = changed === true || result.changedByEarlierTry === true;
  const settle = (back: Undo | undefined, what: string): SettingUndo =>
    !made ? { nothing: true } : back ? { undo: back } : { stays: `Mailroom cannot show what ${what} was before ${reference}, so it stays` };
  if (action === 'exo.setForwarding') return settle(forwardingUndo(input, result, reference), 'the forwarding');
  if (action === 'exo.setCalendarProcessing') return settle(calendarUndo(input, result, reference), 'the booking settings');
  if (action === 'exo.setAutoReply') return settle(autoReplyUndo(input, result, reference), 'the automatic reply');
  const hideKinds = kind === 'address-list-visibility' || kind === 'offboarding';
  if (hideKinds && (action === 'exo.setHiddenFromAddressLists' || action === 'ad.setAttributes')) {
    const back = addressListUndo(action, input, result, changed, reference);
    return back ? { undo: back } : changed === false && result.changedByEarlierTry !== true ? { nothing: true } : { stays: `Mailroom cannot show what the address list setting was before ${reference}, so it stays` };
  }
  if (kind !== 'offboarding') return undefined;
  if (action === 'entra.revokeSessions') return { stays: 'revoked sign-in sessions cannot be given back (the person signs in again once the account is enabled)' };
  if (changed !== true) return { nothing: true };
  const back = offboardingUndo(action, input, reference);
  return back ? { undo: back } : undefined;
}
