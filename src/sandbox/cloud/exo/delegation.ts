/**
 * Set-Mailbox's delegation and forwarding parameters: GrantSendOnBehalfTo, ForwardingAddress, ForwardingSmtpAddress,
 * DeliverToMailboxAndForward and the sent-item copies.
 */
import type { EmulatorContext } from '../context';
import { ExoError } from '../errors';
import { splitProxy, type RecipientTypeDetails } from '../rules';
import type { ExoRecipient } from '../tenant';
import { recipientListChange, type RecipientChange } from './changes';
import { ALL_TYPES, recipientOfTypes } from './lookup';
import { bool, str, type Params } from './params';

// Delegation and mailbox settings (mailbox permissions, Send As, calendar processing, automatic replies):
// all of these are Exchange Online's own data (the mailbox's security descriptor, its calendar and mailbox-store
// settings): Entra Connect syncs none of them ("Microsoft Entra Connect Sync: Attributes synchronized to Microsoft Entra
// ID", Exchange Online: publicDelegates is synced, altRecipient and the ACLs are not), so Exchange takes them on synced
// mailboxes as well, cloud-managed or not. GrantSendOnBehalfTo (publicDelegates) is the exception: rules.ts refuses it
// on a dir-synced mailbox that is not IsExchangeCloudManaged.

/** Who can send on behalf ("must a mailbox, mail user or mail-enabled security group"). */
const SEND_ON_BEHALF_TYPES: RecipientTypeDetails[] = ['UserMailbox', 'SharedMailbox', 'RoomMailbox', 'EquipmentMailbox', 'MailUser', 'GuestMailUser', 'MailUniversalSecurityGroup'];

/** Set-Mailbox's delegation and forwarding parameters (validated; the write-scope check has run). */
export function mailboxDelegationChanges(ctx: EmulatorContext, p: Params, r: ExoRecipient): RecipientChange {
  const change: RecipientChange = {};
  if (p.has('GrantSendOnBehalfTo')) {
    change.grantSendOnBehalfTo = recipientListChange(ctx.tenant.sendOnBehalfOf(r.externalDirectoryObjectId), p.get('GrantSendOnBehalfTo'), (id) =>
      recipientOfTypes(ctx, id, SEND_ON_BEHALF_TYPES, 'GrantSendOnBehalfTo', 'a mailbox, a mail user or a mail-enabled security group').externalDirectoryObjectId,
    );
  }
  if (p.has('ForwardingAddress')) {
    const v = str(p, 'ForwardingAddress');
    if (v === undefined || v.trim() === '') change.forwardingAddress = null;
    else {
      const target = recipientOfTypes(ctx, v, ALL_TYPES.filter((x) => x !== 'User'), 'ForwardingAddress', 'a recipient in the organisation');
      if (target.guid === r.guid) throw new ExoError('Argument', `"${r.name}" can't forward to itself. Nothing was changed.`);
      change.forwardingAddress = target.externalDirectoryObjectId;
    }
  }
  if (p.has('ForwardingSmtpAddress')) {
    const v = str(p, 'ForwardingSmtpAddress');
    if (v === undefined || v.trim() === '') change.forwardingSmtpAddress = null;
    else {
      const { prefix, address } = splitProxy(v.trim());
      if (prefix.toLowerCase() !== 'smtp' || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(address)) {
        throw new ExoError('ParameterBinding', `Cannot process argument transformation on parameter 'ForwardingSmtpAddress'. Cannot convert value "${v}" to type "Microsoft.Exchange.Data.ProxyAddress": it is not an SMTP address. Nothing was changed.`);
      }
      change.forwardingSmtpAddress = `smtp:${address}`;
    }
  }
  const keep = bool(p, 'DeliverToMailboxAndForward');
  if (keep !== undefined) change.deliverToMailboxAndForward = keep;
  const sentAs = bool(p, 'MessageCopyForSentAsEnabled');
  if (sentAs !== undefined) change.messageCopyForSentAsEnabled = sentAs;
  const onBehalf = bool(p, 'MessageCopyForSendOnBehalfEnabled');
  if (onBehalf !== undefined) change.messageCopyForSendOnBehalfEnabled = onBehalf;
  return change;
}
