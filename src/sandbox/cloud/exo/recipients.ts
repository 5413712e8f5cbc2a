/**
 * The recipient cmdlets: Get-User, Get-Recipient, Get-Mailbox, Get-MailUser, Get-MailContact, Get-Contact, and the
 * Set-, New- and Remove- cmdlets of mailboxes, mail users and mail contacts. They keep to the hybrid rules
 * (`rules.ts`): Exchange attributes of synced objects are refused unless the mailbox is IsExchangeCloudManaged.
 */
import { ExoError } from '../errors';
import { isGuid } from '../ids';
import type { RecipientTypeDetails } from '../rules';
import { ADDRESS_PARAMETERS, commonChanges, noChangeWarning, refuse } from './changes';
import { mailboxDelegationChanges } from './delegation';
import { byType, GET, MAIL_USERS, MAILBOXES, query, resolve, viewOfType } from './lookup';
import { bool, required, str, type Cmdlet } from './params';
import { contactProps, getContactProps, mailboxProps, mailUserProps, recipientProps, userProps } from './views';

const MAILBOX_TYPE_PARAM: Record<string, RecipientTypeDetails> = {
  regular: 'UserMailbox',
  shared: 'SharedMailbox',
  room: 'RoomMailbox',
  equipment: 'EquipmentMailbox',
};

function removeCloudOnly(cmdlet: string, types: RecipientTypeDetails[]): Cmdlet {
  return {
    parameters: ['Identity', 'Permanent'],
    run: (ctx, p) => {
      const r = resolve(ctx, byType(ctx.tenant, types), required(p, 'Identity', cmdlet));
      if (r.isDirSynced) {
        throw new ExoError(
          'WriteScope',
          `The action '${cmdlet}', '${r.name}', can't be performed on the object '${r.name}' because the object is being synchronized from your on-premises organization. This action should be performed on the object in your on-premises organization.`,
        );
      }
      ctx.tenant.removeCloudRecipient(r.guid);
      return { values: [], warnings: [] };
    },
  };
}

/** The recipient cmdlets. */
export const RECIPIENT_CMDLETS: Record<string, Cmdlet> = {
  'Get-User': {
    parameters: GET,
    run: (ctx, p) => query(ctx, p, ctx.tenant.recipientsView().filter((r) => r.objectKind === 'user'), userProps, 'Get-User'),
  },
  'Get-Recipient': {
    parameters: [...GET, 'IncludeSoftDeletedRecipients'],
    run: (ctx, p) => query(ctx, p, ctx.tenant.recipientsView().filter((r) => r.recipientTypeDetails !== 'User'), recipientProps, 'Get-Recipient'),
  },
  'Get-Mailbox': {
    parameters: [...GET, 'SoftDeletedMailbox', 'InactiveMailboxOnly'],
    run: (ctx, p) => query(ctx, p, viewOfType(ctx.tenant, MAILBOXES), mailboxProps, 'Get-Mailbox'),
  },
  'Get-MailUser': { parameters: GET, run: (ctx, p) => query(ctx, p, viewOfType(ctx.tenant, MAIL_USERS), mailUserProps, 'Get-MailUser') },
  'Get-MailContact': { parameters: GET, run: (ctx, p) => query(ctx, p, viewOfType(ctx.tenant, ['MailContact']), contactProps, 'Get-MailContact') },
  'Get-Contact': { parameters: GET, run: (ctx, p) => query(ctx, p, viewOfType(ctx.tenant, ['MailContact']), getContactProps, 'Get-Contact') },
  'Set-Mailbox': {
    parameters: ['Identity', 'Type', 'IsExchangeCloudManaged', 'ResourceCapacity', 'ForwardingAddress', 'ForwardingSmtpAddress', 'DeliverToMailboxAndForward', 'MessageCopyForSentAsEnabled', 'MessageCopyForSendOnBehalfEnabled', 'GrantSendOnBehalfTo', 'Name', ...ADDRESS_PARAMETERS],
    run: (ctx, p) => {
      const t = ctx.tenant;
      const r = resolve(ctx, byType(t, MAILBOXES), required(p, 'Identity', 'Set-Mailbox'));
      refuse('Set-Mailbox', r, [...p.keys()].filter((k) => k !== 'Identity' && k !== 'ResourceCapacity'));
      const warnings: string[] = [];
      const change = { ...commonChanges(p, r), ...mailboxDelegationChanges(ctx, p, r) };
      if (p.has('ResourceCapacity')) {
        const raw = p.get('ResourceCapacity');
        const n = raw === null ? null : Number(raw);
        if (n !== null && (!Number.isInteger(n) || n < 0)) {
          throw new ExoError('ParameterBinding', `Cannot process argument transformation on parameter 'ResourceCapacity'. Cannot convert value "${String(raw)}" to type "System.Int32".`);
        }
        change.resourceCapacity = n;
      }
      const type = str(p, 'Type');
      if (type !== undefined) {
        const mapped = MAILBOX_TYPE_PARAM[type.toLowerCase()];
        if (!mapped) {
          if (['workspace', 'desk'].includes(type.toLowerCase())) {
            // Set-Mailbox's page lists "Workspace (cloud-only)" and "Desk (cloud-only)" as valid -Type values, but no page
            // documents what such a mailbox reads back as (no Workspace/Desk value among Get-Mailbox's or Get-Recipient's
            // RecipientTypeDetails): rather than invent one, the emulator refuses, saying so.
            throw new ExoError(
              'Argument',
              `Mailbox type '${type}' is valid in Exchange Online, but Microsoft does not document the recipient type it produces, so the Mailroom sandbox does not simulate it; use Regular, Shared, Room or Equipment.`,
            );
          }
          throw new ExoError(
            'ParameterBinding',
            `Cannot process argument transformation on parameter 'Type'. Cannot convert value "${type}" to type "Microsoft.Exchange.Management.RecipientTasks.ConvertibleMailboxSubType".`,
          );
        }
        change.recipientTypeDetails = mapped;
      }
      const icm = bool(p, 'IsExchangeCloudManaged');
      if (icm !== undefined) {
        if (r.isDirSynced) change.isExchangeCloudManaged = icm;
        else warnings.push(`IsExchangeCloudManaged only applies to mailboxes of directory-synchronized users; '${r.name}' is cloud-only and was not changed.`);
      }
      const changed = t.updateRecipient(r.guid, change);
      if (!changed && warnings.length === 0) warnings.push(noChangeWarning(r));
      return { values: [], warnings };
    },
  },
  'Set-MailUser': {
    parameters: ['Identity', 'ExchangeGuid', 'ExternalEmailAddress', 'ArchiveGuid', 'Name', ...ADDRESS_PARAMETERS],
    run: (ctx, p) => {
      const t = ctx.tenant;
      const r = resolve(ctx, byType(t, MAIL_USERS), required(p, 'Identity', 'Set-MailUser'));
      refuse('Set-MailUser', r, [...p.keys()].filter((k) => k !== 'Identity'));
      const change = commonChanges(p, r);
      const eg = str(p, 'ExchangeGuid');
      if (eg !== undefined) {
        if (!isGuid(eg)) throw new ExoError('ParameterBinding', `Cannot process argument transformation on parameter 'ExchangeGuid'. Cannot convert value "${eg}" to type "System.Guid".`);
        change.exchangeGuid = eg.toLowerCase();
      }
      const changed = t.updateRecipient(r.guid, change);
      return { values: [], warnings: changed ? [] : [noChangeWarning(r)] };
    },
  },
  'Set-MailContact': {
    parameters: ['Identity', 'ExternalEmailAddress', 'Name', ...ADDRESS_PARAMETERS],
    run: (ctx, p) => {
      const t = ctx.tenant;
      const r = resolve(ctx, byType(t, ['MailContact']), required(p, 'Identity', 'Set-MailContact'));
      if (r.isDirSynced && ctx.knobs.syncedContactWrites === 'silent') {
        // The other observed variant: the cmdlet reports success and writes nothing.
        return { values: [], warnings: [] };
      }
      refuse('Set-MailContact', r, [...p.keys()].filter((k) => k !== 'Identity'));
      const changed = t.updateRecipient(r.guid, commonChanges(p, r));
      return { values: [], warnings: changed ? [] : [noChangeWarning(r)] };
    },
  },
  'New-Mailbox': {
    parameters: ['Name', 'Alias', 'DisplayName', 'PrimarySmtpAddress', 'Shared', 'Room', 'Equipment', 'ResourceCapacity', 'FirstName', 'LastName'],
    run: (ctx, p) => {
      const name = required(p, 'Name', 'New-Mailbox');
      const kinds = (['Shared', 'Room', 'Equipment'] as const).filter((k) => bool(p, k) === true);
      if (kinds.length !== 1) {
        throw new ExoError('ParameterBinding', 'Parameter set cannot be resolved using the specified named parameters. The sandbox creates cloud-only Shared, Room or Equipment mailboxes.');
      }
      const type = ({ Shared: 'SharedMailbox', Room: 'RoomMailbox', Equipment: 'EquipmentMailbox' } as const)[kinds[0]!];
      const rec = ctx.tenant.createCloudMailbox({ type, name, alias: str(p, 'Alias'), displayName: str(p, 'DisplayName'), primarySmtpAddress: str(p, 'PrimarySmtpAddress') });
      return { values: [mailboxProps(ctx.tenant, rec)], warnings: [] };
    },
  },
  'New-MailUser': {
    parameters: ['Name', 'Alias', 'DisplayName', 'ExternalEmailAddress', 'PrimarySmtpAddress', 'MicrosoftOnlineServicesID', 'Password', 'FirstName', 'LastName'],
    run: (ctx, p) => {
      const name = required(p, 'Name', 'New-MailUser');
      const external = required(p, 'ExternalEmailAddress', 'New-MailUser');
      const msol = str(p, 'MicrosoftOnlineServicesID');
      if (msol !== undefined && !p.has('Password')) {
        throw new ExoError('ParameterBinding', 'Cannot process command because of one or more missing mandatory parameters: Password.');
      }
      const rec = ctx.tenant.createCloudMailUser({
        name,
        alias: str(p, 'Alias'),
        displayName: str(p, 'DisplayName'),
        externalEmailAddress: external,
        primarySmtpAddress: str(p, 'PrimarySmtpAddress'),
        microsoftOnlineServicesId: msol,
      });
      return { values: [mailUserProps(ctx.tenant, rec)], warnings: [] };
    },
  },
  'New-MailContact': {
    parameters: ['Name', 'Alias', 'DisplayName', 'ExternalEmailAddress', 'FirstName', 'LastName'],
    run: (ctx, p) => {
      const rec = ctx.tenant.createCloudMailContact({
        name: required(p, 'Name', 'New-MailContact'),
        alias: str(p, 'Alias'),
        displayName: str(p, 'DisplayName'),
        externalEmailAddress: required(p, 'ExternalEmailAddress', 'New-MailContact'),
      });
      return { values: [contactProps(ctx.tenant, rec)], warnings: [] };
    },
  },
  'Remove-Mailbox': removeCloudOnly('Remove-Mailbox', MAILBOXES),
  'Remove-MailUser': removeCloudOnly('Remove-MailUser', MAIL_USERS),
  'Remove-MailContact': removeCloudOnly('Remove-MailContact', ['MailContact']),
};
