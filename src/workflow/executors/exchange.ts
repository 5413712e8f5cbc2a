/**
 * The Exchange Online step executors: `exo.setMailboxType`, `exo.setCloudManaged`, `exo.setPrimaryAddress`,
 * `exo.setAlias`, `exo.setEmailAddresses`, `exo.setHiddenFromAddressLists`, `exo.setResourceCapacity` and `exo.setForwarding`. Each
 * reads the recipient first, writes only what differs (with the Set-* cmdlet of the recipient's actual type), and
 * reads back (read-back.ts); Exchange failures become StepErrors (cloud-errors.ts).
 */
import type { StepInputs } from '../../plans';
import { bareAddress, proxyKey, sameIgnoringCase } from './cloud-compare';
import { exoFailure, permanent, type Doing } from './cloud-errors';
import type { ExchangePort, RecipientRow } from './exchange-port';
import type { ReadBack } from './read-back';
import type { StepExecutor, StepOutcome, StepResult } from './types';

const EXO = 'Exchange Online';

const done = (changed: boolean, result: StepResult): StepOutcome => ({ kind: 'done', changed, result });

/** The cmdlet calls of the Exchange steps, with Exchange failures as StepErrors, and the read-back policy. */
class ExchangeCalls {
  constructor(
    private readonly exo: ExchangePort,
    readonly readBack: ReadBack,
  ) {}

  /** The recipient (or mailbox) an identity names; a permanent StepError when there is none. */
  async read(cmdlet: 'Get-Recipient' | 'Get-Mailbox', identity: string, doing: Doing): Promise<RecipientRow> {
    let rows: RecipientRow[];
    try {
      rows = (await this.exo.invoke<RecipientRow>(cmdlet, { Identity: identity })).value;
    } catch (err) {
      throw exoFailure(err, doing);
    }
    const row = rows[0];
    if (!row) {
      throw permanent(`Mailroom could not ${doing.what}: Exchange Online has no ${doing.subject}. ${doing.unchanged} ${doing.notFoundAdvice ?? 'Check the address, then press Retry.'}`, {
        ...doing.detail,
        identity,
      });
    }
    return row;
  }

  /**
   * Runs a Set-* cmdlet. Set-DistributionGroup gets -BypassSecurityGroupManagerCheck: "If you aren't defined in the
   * ManagedBy property of the group, you need to use this switch in commands that modify or delete the group"
   * (Set-DistributionGroup's page), and an app never is (ManagedBy lists mailboxes, mail users and mail-enabled security
   * groups); without it Exchange answers "You don't have sufficient permissions. This operation can only be performed
   * by a manager of the group." The switch needs Organization Management or the Security Group Creation and Membership
   * role (src/doctor/exo-rbac.ts).
   */
  async write(cmdlet: string, parameters: Record<string, unknown>, doing: Doing): Promise<void> {
    const all = cmdlet === 'Set-DistributionGroup' ? { ...parameters, BypassSecurityGroupManagerCheck: true } : parameters;
    try {
      await this.exo.invoke(cmdlet, all);
    } catch (err) {
      throw exoFailure(err, doing);
    }
  }
}

/** A stable identity for writes after a read: the object's ExchangeObjectId/Guid, else what the plan named. */
function stableIdentity(row: RecipientRow, identity: string): string {
  return row.ExchangeObjectId || row.Guid || identity;
}

const MAILBOX_TYPES = ['UserMailbox', 'SharedMailbox', 'RoomMailbox', 'EquipmentMailbox', 'LinkedMailbox', 'SchedulingMailbox'];
const GROUP_TYPES = ['MailUniversalDistributionGroup', 'MailUniversalSecurityGroup', 'MailNonUniversalGroup', 'RoomList'];

type SetCmdlet = 'Set-Mailbox' | 'Set-MailUser' | 'Set-MailContact' | 'Set-DistributionGroup';

/** The Set-* cmdlet for a recipient type, or null when Mailroom does not change such recipients. */
function setCmdletFor(recipientTypeDetails: string): SetCmdlet | null {
  if (MAILBOX_TYPES.includes(recipientTypeDetails)) return 'Set-Mailbox';
  if (recipientTypeDetails === 'MailUser' || recipientTypeDetails === 'GuestMailUser') return 'Set-MailUser';
  if (recipientTypeDetails === 'MailContact') return 'Set-MailContact';
  if (GROUP_TYPES.includes(recipientTypeDetails)) return 'Set-DistributionGroup';
  return null;
}

/** Reads a recipient and picks the Set-* cmdlet for its actual type (the plan's type may be out of date). */
async function recipientForWrite(exchange: ExchangeCalls, identity: string, doing: Doing): Promise<{ row: RecipientRow; cmdlet: SetCmdlet; id: string }> {
  const row = await exchange.read('Get-Recipient', identity, doing);
  const type = row.RecipientTypeDetails ?? '';
  const cmdlet = setCmdletFor(type);
  if (!cmdlet) {
    throw permanent(`Mailroom could not ${doing.what}: it is a ${type || 'recipient of unknown type'}, which Mailroom does not change. ${doing.unchanged} Change it in the Exchange admin centre.`, {
      ...doing.detail,
      recipientTypeDetails: type,
    });
  }
  return { row, cmdlet, id: stableIdentity(row, identity) };
}

function mailboxDoing(identity: string, what: string, unchanged: string, detail: StepResult, notFoundAdvice = 'Check the address; if the mailbox is new, wait until Exchange Online has created it, then press Retry.'): Doing {
  return { what, unchanged, subject: `mailbox ${identity}`, notFoundAdvice, detail: { identity, ...detail } };
}

function recipientDoing(identity: string, what: string, unchanged: string, detail: StepResult): Doing {
  return {
    what,
    unchanged,
    subject: `recipient ${identity}`,
    notFoundAdvice: 'Check the address (it may have changed since the request was made), then press Retry.',
    detail: { identity, ...detail },
  };
}

const SYNCED_ADVICE = 'Check the recipient in the Exchange admin centre (synced contacts, groups and mail users can only be changed in AD).';

// ---------------------------------------------------------------------------------------------
// Mailboxes
// ---------------------------------------------------------------------------------------------

const MAILBOX_TYPE_OF: Record<StepInputs['exo.setMailboxType']['type'], string> = {
  Regular: 'UserMailbox',
  Shared: 'SharedMailbox',
  Room: 'RoomMailbox',
  Equipment: 'EquipmentMailbox',
};

function setMailboxType(exchange: ExchangeCalls): StepExecutor<'exo.setMailboxType'> {
  return {
    action: 'exo.setMailboxType',
    async run(input, ctx) {
      const target = MAILBOX_TYPE_OF[input.type];
      const doing = mailboxDoing(input.identity, `convert the mailbox of ${input.identity} to ${input.type}`, 'The mailbox type was not changed.', { type: input.type });
      const before = await exchange.read('Get-Mailbox', input.identity, doing);
      if (before.RecipientTypeDetails === target) return done(false, { recipientTypeDetails: target });
      const id = stableIdentity(before, input.identity);
      await exchange.write('Set-Mailbox', { Identity: id, Type: input.type }, doing);
      const check = await exchange.readBack.confirm(
        () => exchange.read('Get-Mailbox', id, doing),
        (r) => r.RecipientTypeDetails === target,
      );
      if (!check.ok) {
        throw exchange.readBack.notTaken(ctx, EXO, `Set-Mailbox -Type ${input.type} on ${input.identity}`, `${check.value.RecipientTypeDetails ?? 'another type'}`, 'Check the mailbox in the Exchange admin centre.', {
          identity: input.identity,
          recipientTypeDetails: check.value.RecipientTypeDetails ?? null,
        });
      }
      return done(true, { recipientTypeDetails: target, previous: before.RecipientTypeDetails ?? null });
    },
  };
}

function setCloudManaged(exchange: ExchangeCalls): StepExecutor<'exo.setCloudManaged'> {
  return {
    action: 'exo.setCloudManaged',
    async run(input, ctx) {
      const flag = `IsExchangeCloudManaged=${input.enabled ? 'True' : 'False'}`;
      const doing = mailboxDoing(input.identity, `set ${flag} on the mailbox ${input.identity}`, 'The flag was not changed.', { enabled: input.enabled }, 'Check the address, then press Retry.');
      const before = await exchange.read('Get-Mailbox', input.identity, doing);
      if (before.IsDirSynced === false) {
        // A cloud-only mailbox is managed in Exchange Online anyway; the flag does not apply to it.
        return done(false, { isExchangeCloudManaged: before.IsExchangeCloudManaged ?? null, cloudOnly: true });
      }
      if (before.IsExchangeCloudManaged === input.enabled) return done(false, { isExchangeCloudManaged: input.enabled });
      const id = stableIdentity(before, input.identity);
      await exchange.write('Set-Mailbox', { Identity: id, IsExchangeCloudManaged: input.enabled }, doing);
      const check = await exchange.readBack.confirm(
        () => exchange.read('Get-Mailbox', id, doing),
        (r) => r.IsExchangeCloudManaged === input.enabled,
      );
      if (!check.ok) {
        throw exchange.readBack.notTaken(ctx, EXO, `${flag} on ${input.identity}`, `IsExchangeCloudManaged=${String(check.value.IsExchangeCloudManaged)}`, 'Check the mailbox with Get-Mailbox in Exchange Online PowerShell.', {
          identity: input.identity,
        });
      }
      return done(true, { isExchangeCloudManaged: input.enabled });
    },
  };
}

function setResourceCapacity(exchange: ExchangeCalls): StepExecutor<'exo.setResourceCapacity'> {
  return {
    action: 'exo.setResourceCapacity',
    async run(input, ctx) {
      const doing = mailboxDoing(input.identity, `set the capacity of ${input.identity} to ${input.capacity}`, 'The capacity was not changed.', { capacity: input.capacity },
        'Check the address; if the room is new, wait until Exchange Online has created its mailbox, then press Retry.');
      const before = await exchange.read('Get-Mailbox', input.identity, doing);
      const type = before.RecipientTypeDetails ?? '';
      if (type !== 'RoomMailbox' && type !== 'EquipmentMailbox') {
        throw permanent(`${input.identity} is a ${type || 'mailbox of unknown type'}, not a room or equipment mailbox, so it has no capacity. The capacity was not changed. Convert it to a room first, then press Retry.`, {
          identity: input.identity,
          recipientTypeDetails: type,
        });
      }
      const capacityOf = (r: RecipientRow): number | null => (r.ResourceCapacity === null || r.ResourceCapacity === undefined || r.ResourceCapacity === '' ? null : Number(r.ResourceCapacity));
      if (capacityOf(before) === input.capacity) return done(false, { resourceCapacity: input.capacity });
      const id = stableIdentity(before, input.identity);
      await exchange.write('Set-Mailbox', { Identity: id, ResourceCapacity: input.capacity }, doing);
      const check = await exchange.readBack.confirm(
        () => exchange.read('Get-Mailbox', id, doing),
        (r) => capacityOf(r) === input.capacity,
      );
      if (!check.ok) {
        throw exchange.readBack.notTaken(ctx, EXO, `Set-Mailbox -ResourceCapacity ${input.capacity}`, `the capacity ${String(capacityOf(check.value) ?? 'unset')}`, 'Check the room in the Exchange admin centre.', {
          identity: input.identity,
        });
      }
      return done(true, { resourceCapacity: input.capacity, previous: capacityOf(before) });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Any recipient: addresses, alias, visibility
// ---------------------------------------------------------------------------------------------

function primaryOf(row: RecipientRow, cmdlet: SetCmdlet): string {
  return cmdlet === 'Set-MailContact' || cmdlet === 'Set-MailUser' ? bareAddress(row.ExternalEmailAddress) : bareAddress(row.PrimarySmtpAddress);
}

/** The parameter that sets the primary address: mailboxes -WindowsEmailAddress, groups -PrimarySmtpAddress, contacts and mail users -ExternalEmailAddress. */
function primaryParameter(cmdlet: SetCmdlet): string {
  switch (cmdlet) {
    case 'Set-Mailbox':
      return 'WindowsEmailAddress';
    case 'Set-DistributionGroup':
      return 'PrimarySmtpAddress';
    case 'Set-MailContact':
    case 'Set-MailUser':
      return 'ExternalEmailAddress';
  }
}

function setPrimaryAddress(exchange: ExchangeCalls): StepExecutor<'exo.setPrimaryAddress'> {
  return {
    action: 'exo.setPrimaryAddress',
    async run(input, ctx) {
      const doing = recipientDoing(input.identity, `make ${input.address} the primary address of ${input.identity}`, 'The addresses were not changed.', { address: input.address });
      const { row, cmdlet, id } = await recipientForWrite(exchange, input.identity, doing);
      const before = primaryOf(row, cmdlet);
      const type = row.RecipientTypeDetails ?? input.recipientType;
      if (sameIgnoringCase(before, input.address)) return done(false, { primarySmtpAddress: before, recipientTypeDetails: type });
      const parameter = primaryParameter(cmdlet);
      await exchange.write(cmdlet, { Identity: id, [parameter]: input.address }, doing);
      const check = await exchange.readBack.confirm(
        () => exchange.read('Get-Recipient', id, doing),
        (r) => sameIgnoringCase(primaryOf(r, cmdlet), input.address),
      );
      if (!check.ok) {
        const shows = `${primaryOf(check.value, cmdlet) || 'no address'} as the ${parameter === 'ExternalEmailAddress' ? 'external' : 'primary'} address`;
        throw exchange.readBack.notTaken(ctx, EXO, `${cmdlet} -${parameter} ${input.address}`, shows, SYNCED_ADVICE, { identity: input.identity, cmdlet, address: input.address });
      }
      return done(true, { primarySmtpAddress: input.address, previous: before || null, recipientTypeDetails: type, cmdlet, parameter });
    },
  };
}

function setAlias(exchange: ExchangeCalls): StepExecutor<'exo.setAlias'> {
  return {
    action: 'exo.setAlias',
    async run(input, ctx) {
      const doing = recipientDoing(input.identity, `set the alias of ${input.identity} to ${input.alias}`, 'The alias was not changed.', { alias: input.alias });
      const { row, cmdlet, id } = await recipientForWrite(exchange, input.identity, doing);
      if (sameIgnoringCase(row.Alias, input.alias)) return done(false, { alias: row.Alias ?? input.alias });
      await exchange.write(cmdlet, { Identity: id, Alias: input.alias }, doing);
      const check = await exchange.readBack.confirm(
        () => exchange.read('Get-Recipient', id, doing),
        (r) => sameIgnoringCase(r.Alias, input.alias),
      );
      if (!check.ok) {
        throw exchange.readBack.notTaken(ctx, EXO, `${cmdlet} -Alias ${input.alias}`, `the alias ${check.value.Alias ?? '(none)'}`, SYNCED_ADVICE, { identity: input.identity, cmdlet });
      }
      return done(true, { alias: input.alias, previous: row.Alias ?? null, cmdlet });
    },
  };
}

function setEmailAddresses(exchange: ExchangeCalls): StepExecutor<'exo.setEmailAddresses'> {
  return {
    action: 'exo.setEmailAddresses',
    async run(input, ctx) {
      const listed = [...input.add.map((a) => `add ${a}`), ...input.remove.map((r) => `remove ${r}`)].join(', ');
      const doing = recipientDoing(input.identity, `change the addresses of ${input.identity} (${listed})`, 'The addresses were not changed.', { add: [...input.add], remove: [...input.remove] });
      const { row, cmdlet, id } = await recipientForWrite(exchange, input.identity, doing);
      const has = (r: RecipientRow, proxy: string): boolean => (r.EmailAddresses ?? []).some((p) => proxyKey(p) === proxyKey(proxy));
      const primary = bareAddress(row.PrimarySmtpAddress);
      const primaryRemoval = input.remove.find((r) => proxyKey(r) === proxyKey(`smtp:${primary}`));
      if (primaryRemoval !== undefined) {
        throw permanent(
          `${bareAddress(primaryRemoval)} is the primary address of ${input.identity}, so Mailroom cannot remove it. The addresses were not changed. Make another address primary first, then ask again.`,
          { identity: input.identity, primarySmtpAddress: primary },
        );
      }
      const toAdd = input.add.filter((a) => !has(row, a));
      const toRemove = input.remove.filter((r) => has(row, r));
      if (toAdd.length === 0 && toRemove.length === 0) return done(false, { emailAddresses: row.EmailAddresses ?? [] });
      const change: Record<string, unknown> = { '@odata.type': '#Exchange.GenericHashTable' };
      if (toAdd.length > 0) change.Add = toAdd;
      if (toRemove.length > 0) change.Remove = toRemove;
      await exchange.write(cmdlet, { Identity: id, EmailAddresses: change }, doing);
      const holds = (r: RecipientRow): boolean => input.add.every((a) => has(r, a)) && input.remove.every((x) => !has(r, x));
      const check = await exchange.readBack.confirm(() => exchange.read('Get-Recipient', id, doing), holds);
      if (!check.ok) {
        const missing = input.add.filter((a) => !has(check.value, a));
        const still = input.remove.filter((x) => has(check.value, x));
        const shows = [missing.length ? `${missing.join(', ')} missing` : '', still.length ? `${still.join(', ')} still there` : ''].filter(Boolean).join(' and ');
        const accepted = `${cmdlet} -EmailAddresses @{${toAdd.length ? `Add=${toAdd.join(',')}` : ''}${toAdd.length && toRemove.length ? '; ' : ''}${toRemove.length ? `Remove=${toRemove.join(',')}` : ''}}`;
        throw exchange.readBack.notTaken(ctx, EXO, accepted, shows, SYNCED_ADVICE, { identity: input.identity, cmdlet });
      }
      return done(true, { added: toAdd, removed: toRemove, emailAddresses: check.value.EmailAddresses ?? [], cmdlet });
    },
  };
}

function setHidden(exchange: ExchangeCalls): StepExecutor<'exo.setHiddenFromAddressLists'> {
  return {
    action: 'exo.setHiddenFromAddressLists',
    async run(input, ctx) {
      const doing = recipientDoing(input.identity, `${input.hidden ? 'hide' : 'show'} ${input.identity} ${input.hidden ? 'from' : 'in'} address lists`, 'Address list visibility was not changed.', { hidden: input.hidden });
      const { row, cmdlet, id } = await recipientForWrite(exchange, input.identity, doing);
      if (row.HiddenFromAddressListsEnabled === input.hidden) {
        // Already so: before this request (no intent), or made by an earlier try that crashed before its outcome.
        return done(false, { hiddenFromAddressListsEnabled: input.hidden, ...(ctx.intent !== undefined ? { changedByEarlierTry: true } : {}) });
      }
      await ctx.intend?.({ hiddenFromAddressListsEnabled: row.HiddenFromAddressListsEnabled === true });
      await exchange.write(cmdlet, { Identity: id, HiddenFromAddressListsEnabled: input.hidden }, doing);
      const check = await exchange.readBack.confirm(
        () => exchange.read('Get-Recipient', id, doing),
        (r) => r.HiddenFromAddressListsEnabled === input.hidden,
      );
      if (!check.ok) {
        const shows = `HiddenFromAddressListsEnabled=${String(check.value.HiddenFromAddressListsEnabled)}`;
        throw exchange.readBack.notTaken(ctx, EXO, `${cmdlet} -HiddenFromAddressListsEnabled ${String(input.hidden)}`, shows, SYNCED_ADVICE, { identity: input.identity, cmdlet });
      }
      return done(true, { hiddenFromAddressListsEnabled: input.hidden, cmdlet });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Forwarding
// ---------------------------------------------------------------------------------------------

/** A mailbox's forwarding as Get-Mailbox shows it (what a roll back puts back). */
interface Forwarding {
  readonly forwardingAddress: string | null;
  readonly forwardingSmtpAddress: string | null;
  readonly deliverToMailboxAndForward: boolean;
}

const orNull = (v: string | null | undefined): string | null => (typeof v === 'string' && v.trim() !== '' ? v : null);

function forwardingOf(row: RecipientRow): Forwarding {
  const smtp = orNull(row.ForwardingSmtpAddress);
  return { forwardingAddress: orNull(row.ForwardingAddress), forwardingSmtpAddress: smtp === null ? null : bareAddress(smtp).toLowerCase(), deliverToMailboxAndForward: row.DeliverToMailboxAndForward === true };
}

/** The names, addresses and ids a recipient may show as in Get-Mailbox ForwardingAddress, lower case. */
function recipientKeys(values: readonly (string | null | undefined)[], row?: RecipientRow): string[] {
  const all = [...values, row?.Identity, row?.Name, row?.Alias, row?.PrimarySmtpAddress, row?.UserPrincipalName, row?.ExchangeObjectId, row?.Guid, row?.ExternalDirectoryObjectId];
  return all.filter((k): k is string => typeof k === 'string' && k.trim() !== '').map((k) => bareAddress(k.trim()).toLowerCase());
}

/** Whether the mailbox forwards as the step wants (the recipient recognised by any of its keys). */
function forwardsAsWanted(row: RecipientRow, input: StepInputs['exo.setForwarding'], keys: readonly string[]): boolean {
  const f = forwardingOf(row);
  const want = input.forwardingAddress;
  const recipientOk = want === null ? f.forwardingAddress === null : f.forwardingAddress !== null && keys.includes(bareAddress(f.forwardingAddress.trim()).toLowerCase());
  const smtpOk = (input.forwardingSmtpAddress === null ? null : bareAddress(input.forwardingSmtpAddress).toLowerCase()) === f.forwardingSmtpAddress;
  return recipientOk && smtpOk && f.deliverToMailboxAndForward === input.deliverToMailboxAndForward;
}

const forwardingText = (f: Forwarding): string =>
  `ForwardingAddress ${f.forwardingAddress ?? 'empty'}, ForwardingSmtpAddress ${f.forwardingSmtpAddress ?? 'empty'}, DeliverToMailboxAndForward ${String(f.deliverToMailboxAndForward)}`;

/**
 * Set-Mailbox -ForwardingAddress -ForwardingSmtpAddress -DeliverToMailboxAndForward. Reads the forwarding first and
 * reports it as `before` (recorded as the intent before writing, so a try after a crash still knows what was there).
 */
function setForwarding(exchange: ExchangeCalls): StepExecutor<'exo.setForwarding'> {
  return {
    action: 'exo.setForwarding',
    async run(input, ctx) {
      const off = input.forwardingAddress === null && input.forwardingSmtpAddress === null;
      const doing = mailboxDoing(input.identity, off ? `turn off forwarding of ${input.mailboxName}` : `set the forwarding of ${input.mailboxName}`, 'Forwarding was not changed.', {});
      const row = await exchange.read('Get-Mailbox', input.identity, doing);
      const id = stableIdentity(row, input.identity);
      const before = forwardingOf(row);
      // Get-Mailbox shows the recipient forwarded to by its name: learn the names of the one the plan names.
      const wanted = input.forwardingAddress === null ? undefined : await exchange.read('Get-Recipient', input.forwardingAddress, recipientDoing(input.forwardingAddress, `forward the mail of ${input.mailboxName} to ${input.forwardingAddress}`, 'Forwarding was not changed.', {}));
      const keys = recipientKeys([input.forwardingAddress, ...(input.forwardingAddressKeys ?? [])], wanted);
      if (forwardsAsWanted(row, input, keys)) {
        // Already so: before this request (no intent), or made by an earlier try that crashed before its outcome.
        const earlier = ctx.intent?.before;
        return done(false, { forwarding: before, ...(earlier !== undefined ? { before: earlier, changedByEarlierTry: true } : { before }) });
      }
      await ctx.intend?.({ before });
      const smtp = input.forwardingSmtpAddress === null ? null : `smtp:${bareAddress(input.forwardingSmtpAddress)}`;
      await exchange.write('Set-Mailbox', { Identity: id, ForwardingAddress: input.forwardingAddress, ForwardingSmtpAddress: smtp, DeliverToMailboxAndForward: input.deliverToMailboxAndForward }, doing);
      const check = await exchange.readBack.confirm(() => exchange.read('Get-Mailbox', id, doing), (r) => forwardsAsWanted(r, input, keys));
      if (!check.ok) {
        const accepted = `Set-Mailbox -ForwardingAddress ${input.forwardingAddress ?? '(cleared)'} -ForwardingSmtpAddress ${smtp ?? '(cleared)'} -DeliverToMailboxAndForward $${String(input.deliverToMailboxAndForward)}`;
        throw exchange.readBack.notTaken(ctx, EXO, accepted, forwardingText(forwardingOf(check.value)), 'Check the mailbox\'s forwarding in the Exchange admin centre.', { identity: input.identity, cmdlet: 'Set-Mailbox' });
      }
      ctx.log.info('exo: forwarding set', { reference: ctx.reference, identity: input.identity, off });
      return done(true, { before, forwarding: forwardingOf(check.value), cmdlet: 'Set-Mailbox' });
    },
  };
}

/** The executors of every `exo.set*` action. */
export function exchangeExecutors(exo: ExchangePort, readBack: ReadBack): StepExecutor[] {
  const exchange = new ExchangeCalls(exo, readBack);
  const list: { [A in Exclude<Extract<keyof StepInputs, `exo.set${string}`>, 'exo.setCalendarProcessing' | 'exo.setAutoReply'>]: StepExecutor<A> } = {
    'exo.setMailboxType': setMailboxType(exchange),
    'exo.setCloudManaged': setCloudManaged(exchange),
    'exo.setPrimaryAddress': setPrimaryAddress(exchange),
    'exo.setAlias': setAlias(exchange),
    'exo.setEmailAddresses': setEmailAddresses(exchange),
    'exo.setHiddenFromAddressLists': setHidden(exchange),
    'exo.setResourceCapacity': setResourceCapacity(exchange),
    'exo.setForwarding': setForwarding(exchange),
  };
  return Object.values(list);
}
