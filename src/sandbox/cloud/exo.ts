/**
 * Exchange Online's admin REST endpoint, `POST /adminapi/beta/{tenantId|domain}/InvokeCommand`, as the
 * ExchangeOnlineManagement v3 module uses it: body `{"CmdletInput":{"CmdletName","Parameters"}}`,
 * answer `{"@odata.context","value":[…],"@odata.nextLink"?,"@adminapi.warnings":[…]}`, paging by
 * re-POSTing the same body to `@odata.nextLink`, errors as
 * `{"error":{"code","message","details":[{"code","target","message":"<id>|<ExceptionType>|<text>"}],"innererror":…}}`.
 *
 * The cmdlets keep to the hybrid rules (see `rules.ts`): Exchange attributes of synced objects are
 * refused unless the mailbox is IsExchangeCloudManaged, mail users take -Alias and -ExchangeGuid but
 * not custom attributes, synced contacts and groups refuse everything.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { EmulatorContext } from './context';
import { ExoError } from './errors';
import { mayBypassGroupManagerCheck, mayRunCmdlet, notAllowedBody } from './exo-authz';
import { evaluateOpath, parseOpath, type FilterCmdlet } from './exo-filter';
import type { EmulatorRequest, EmulatorResponse } from './http';
import { bearerToken, isRecord, json, parseJsonBody } from './http';
import { isGuid } from './ids';
import { EXO_AUDIENCE, verifyAccessToken } from './oauth';
import {
  applyPrimaryAddressChange,
  dualWriteMessage,
  exoWriteRefusal,
  isMailboxType,
  isPrimarySmtp,
  normaliseProxy,
  proxyKey,
  recipientTypeOf,
  splitProxy,
  writeScopeMessage,
  type RecipientTypeDetails,
} from './rules';
import type { EntraContact, EntraUser, ExoRecipient, Tenant } from './tenant';

const DEFAULT_PAGE = 1000;
const COMMON_PARAMETERS = ['ErrorAction', 'WarningAction', 'InformationAction', 'Confirm', 'Verbose', 'Debug', 'WhatIf', 'Force'];
const CUSTOM = Array.from({ length: 15 }, (_, i) => `CustomAttribute${i + 1}`);

type Params = Map<string, unknown>;

interface CmdletResult {
  values: Record<string, unknown>[];
  warnings: string[];
}

/** What a cmdlet needs to know about the caller beyond its right to run the cmdlet (exo-authz.ts). */
interface Caller {
  /** May use -BypassSecurityGroupManagerCheck. */
  mayBypassGroupManagerCheck: boolean;
}

interface Cmdlet {
  parameters: string[];
  run(ctx: EmulatorContext, p: Params, caller: Caller): CmdletResult;
}

// ---------------------------------------------------------------------------------------------
// Parameter helpers
// ---------------------------------------------------------------------------------------------

function bindParameters(spec: Cmdlet, raw: Record<string, unknown>): Params {
  const out: Params = new Map();
  for (const [k, v] of Object.entries(raw)) {
    const name = [...spec.parameters, ...COMMON_PARAMETERS].find((x) => x.toLowerCase() === k.toLowerCase());
    if (!name) throw new ExoError('ParameterBinding', `A parameter cannot be found that matches parameter name '${k}'.`);
    if (!COMMON_PARAMETERS.includes(name)) out.set(name, v);
  }
  return out;
}

function str(p: Params, name: string): string | undefined {
  const v = p.get(name);
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new ExoError('ParameterBinding', `Cannot bind parameter '${name}'. Cannot convert the value to type "System.String".`);
}

function required(p: Params, name: string, cmdlet: string): string {
  const v = str(p, name);
  if (v === undefined || v.trim() === '') {
    throw new ExoError('ParameterBinding', `Cannot process command because of one or more missing mandatory parameters: ${name}. (${cmdlet})`);
  }
  return v;
}

function bool(p: Params, name: string): boolean | undefined {
  const v = p.get(name);
  if (v === undefined) return undefined;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase().replace(/^\$/, '');
    if (s === 'true' || s === '1') return true;
    if (s === 'false' || s === '0') return false;
  }
  throw new ExoError(
    'ParameterBinding',
    `Cannot process argument transformation on parameter '${name}'. Cannot convert value "${JSON.stringify(v)}" to type "System.Boolean".`,
  );
}

function list(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) return v.map((x) => String(x as string));
  return String(v as string)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

// ---------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------

function distinguishedName(t: Tenant, r: ExoRecipient): string {
  return `CN=${r.name},OU=${t.initialDomain},OU=Microsoft Exchange Hosted Organizations,DC=SBXPR01A001,DC=PROD,DC=OUTLOOK,DC=COM`;
}

function common(t: Tenant, r: ExoRecipient): Record<string, unknown> {
  const props: Record<string, unknown> = {
    Identity: r.name,
    Id: r.name,
    Name: r.name,
    DisplayName: r.displayName,
    Alias: r.alias,
    Guid: r.guid,
    ExchangeObjectId: r.guid,
    ExternalDirectoryObjectId: r.externalDirectoryObjectId,
    DistinguishedName: distinguishedName(t, r),
    OrganizationalUnit: `SBXPR01A001.PROD.OUTLOOK.COM/Microsoft Exchange Hosted Organizations/${t.initialDomain}`,
    RecipientType: recipientTypeOf(r.recipientTypeDetails),
    RecipientTypeDetails: r.recipientTypeDetails,
    PrimarySmtpAddress: r.primarySmtpAddress ?? '',
    WindowsEmailAddress: r.windowsEmailAddress ?? '',
    EmailAddresses: [...r.emailAddresses],
    HiddenFromAddressListsEnabled: r.hiddenFromAddressListsEnabled,
    IsDirSynced: r.isDirSynced,
    WhenCreated: r.whenCreated,
    WhenChanged: r.whenChanged,
    WhenCreatedUTC: r.whenCreated,
    WhenChangedUTC: r.whenChanged,
  };
  CUSTOM.forEach((c, i) => (props[c] = r.customAttributes[i] ?? ''));
  return props;
}

function userOf(t: Tenant, r: ExoRecipient): Readonly<EntraUser> | undefined {
  return r.objectKind === 'user' ? t.userById(r.externalDirectoryObjectId) : undefined;
}

function contactOf(t: Tenant, r: ExoRecipient): Readonly<EntraContact> | undefined {
  return r.objectKind === 'contact' ? t.contacts().find((c) => c.id === r.externalDirectoryObjectId) : undefined;
}

/** The person fields Get-User, Get-Contact and Get-Recipient show (from the Entra user or contact; empty for groups). */
function personProps(t: Tenant, r: ExoRecipient): Record<string, unknown> {
  const p = userOf(t, r) ?? contactOf(t, r);
  return {
    FirstName: p?.givenName ?? '',
    LastName: p?.surname ?? '',
    Department: p?.department ?? '',
    Title: p?.jobTitle ?? '',
    Company: p?.companyName ?? '',
  };
}

function mailboxProps(t: Tenant, r: ExoRecipient): Record<string, unknown> {
  const u = userOf(t, r);
  const skuAssigned = u?.licenseAssignmentStates.some((l) => l.state === 'Active') ?? false;
  return {
    ...common(t, r),
    UserPrincipalName: u?.userPrincipalName ?? '',
    MicrosoftOnlineServicesID: u?.userPrincipalName ?? '',
    IsExchangeCloudManaged: r.isExchangeCloudManaged,
    ExchangeGuid: r.exchangeGuid,
    ResourceType: r.recipientTypeDetails === 'RoomMailbox' ? 'Room' : r.recipientTypeDetails === 'EquipmentMailbox' ? 'Equipment' : null,
    IsResource: r.recipientTypeDetails === 'RoomMailbox' || r.recipientTypeDetails === 'EquipmentMailbox',
    ResourceCapacity: r.resourceCapacity ?? null,
    IsShared: r.recipientTypeDetails === 'SharedMailbox',
    AccountDisabled: u ? !u.accountEnabled : false,
    SKUAssigned: skuAssigned,
    LicenseReconciliationNeeded: r.recipientTypeDetails === 'UserMailbox' && !skuAssigned,
    WhenMailboxCreated: r.whenMailboxCreated,
    UsageLocation: u?.usageLocation ?? null,
    ArchiveStatus: 'None',
    LitigationHoldEnabled: false,
    ForwardingSmtpAddress: null,
    GrantSendOnBehalfTo: [],
  };
}

function userProps(t: Tenant, r: ExoRecipient): Record<string, unknown> {
  const u = userOf(t, r);
  return {
    Identity: r.name,
    Id: r.name,
    Name: r.name,
    DisplayName: r.displayName,
    FirstName: u?.givenName ?? '',
    LastName: u?.surname ?? '',
    UserPrincipalName: u?.userPrincipalName ?? '',
    MicrosoftOnlineServicesID: u?.userPrincipalName ?? '',
    WindowsEmailAddress: r.windowsEmailAddress ?? '',
    RecipientType: recipientTypeOf(r.recipientTypeDetails),
    RecipientTypeDetails: r.recipientTypeDetails,
    IsDirSynced: r.isDirSynced,
    ExternalDirectoryObjectId: r.externalDirectoryObjectId,
    Department: u?.department ?? '',
    Title: u?.jobTitle ?? '',
    Company: u?.companyName ?? '',
    AccountDisabled: u ? !u.accountEnabled : false,
    UsageLocation: u?.usageLocation ?? null,
    SKUAssigned: u ? u.licenseAssignmentStates.some((l) => l.state === 'Active') : null,
    Guid: r.guid,
    ExchangeObjectId: r.guid,
    DistinguishedName: distinguishedName(t, r),
    WhenCreated: r.whenCreated,
    WhenChanged: r.whenChanged,
  };
}

function mailUserProps(t: Tenant, r: ExoRecipient): Record<string, unknown> {
  const u = userOf(t, r);
  return {
    ...common(t, r),
    ExternalEmailAddress: r.externalEmailAddress ?? '',
    ExchangeGuid: r.exchangeGuid,
    UserPrincipalName: u?.userPrincipalName ?? '',
    MicrosoftOnlineServicesID: u?.userPrincipalName ?? '',
  };
}

function contactProps(t: Tenant, r: ExoRecipient): Record<string, unknown> {
  return { ...common(t, r), ExternalEmailAddress: r.externalEmailAddress ?? '' };
}

/** Get-Contact's view of a mail contact: the contact's person fields too. */
function getContactProps(t: Tenant, r: ExoRecipient): Record<string, unknown> {
  return { ...contactProps(t, r), ...personProps(t, r) };
}

/**
 * Get-DistributionGroup's view. Defaults from New-DistributionGroup's page: MemberJoinRestriction Closed;
 * MemberDepartRestriction Open for distribution groups, Closed for security groups; RequireSenderAuthenticationEnabled true.
 */
function groupProps(t: Tenant, r: ExoRecipient): Record<string, unknown> {
  return {
    ...common(t, r),
    GroupType: r.groupType ?? 'Universal',
    ManagedBy: [...(r.managedBy ?? [])],
    MemberJoinRestriction: 'Closed',
    MemberDepartRestriction: r.recipientTypeDetails === 'MailUniversalSecurityGroup' ? 'Closed' : 'Open',
    RequireSenderAuthenticationEnabled: true,
  };
}

function getGroupProps(t: Tenant, r: ExoRecipient): Record<string, unknown> {
  const members = t
    .groupMembers(r.externalDirectoryObjectId)
    .map((m) => t.recipientOf(m.obj.id)?.name ?? m.obj.displayName);
  return {
    Identity: r.name,
    Id: r.name,
    Name: r.name,
    DisplayName: r.displayName,
    GroupType: r.groupType ?? 'Universal',
    RecipientType: recipientTypeOf(r.recipientTypeDetails),
    RecipientTypeDetails: r.recipientTypeDetails,
    WindowsEmailAddress: r.windowsEmailAddress ?? '',
    IsDirSynced: r.isDirSynced,
    ExternalDirectoryObjectId: r.externalDirectoryObjectId,
    Members: members,
    Guid: r.guid,
    ExchangeObjectId: r.guid,
    DistinguishedName: distinguishedName(t, r),
    WhenCreated: r.whenCreated,
    WhenChanged: r.whenChanged,
  };
}

function typeProps(t: Tenant, r: ExoRecipient): Record<string, unknown> {
  if (isMailboxType(r.recipientTypeDetails)) return mailboxProps(t, r);
  if (r.recipientTypeDetails === 'MailUser' || r.recipientTypeDetails === 'GuestMailUser') return mailUserProps(t, r);
  if (r.recipientTypeDetails === 'MailContact') return contactProps(t, r);
  return groupProps(t, r);
}

/** Get-Recipient's view: the recipient's own properties plus those Get-Recipient shows for every kind. */
function recipientProps(t: Tenant, r: ExoRecipient): Record<string, unknown> {
  const u = userOf(t, r);
  return {
    ExchangeGuid: r.exchangeGuid,
    ResourceType: null,
    UsageLocation: u?.usageLocation ?? null,
    SKUAssigned: u ? u.licenseAssignmentStates.some((l) => l.state === 'Active') : null,
    LitigationHoldEnabled: false,
    ...personProps(t, r),
    ...typeProps(t, r),
  };
}

// ---------------------------------------------------------------------------------------------
// Identity resolution
// ---------------------------------------------------------------------------------------------

function matchesIdentity(t: Tenant, r: ExoRecipient, identity: string): boolean {
  const id = identity.trim().toLowerCase();
  if (id === '') return false;
  if (isGuid(id)) return [r.guid, r.externalDirectoryObjectId, r.exchangeGuid].some((g) => g.toLowerCase() === id);
  if (r.name.toLowerCase() === id || r.alias.toLowerCase() === id) return true;
  if (distinguishedName(t, r).toLowerCase() === id) return true;
  const bare = id.startsWith('smtp:') ? id.slice(5) : id;
  if (r.emailAddresses.some((p) => splitProxy(p).prefix.toLowerCase() === 'smtp' && splitProxy(p).address.toLowerCase() === bare)) return true;
  if ((r.windowsEmailAddress ?? '').toLowerCase() === bare && bare !== '') return true;
  const u = userOf(t, r);
  if (u && u.userPrincipalName.toLowerCase() === bare) return true;
  return false;
}

function resolve(ctx: EmulatorContext, candidates: ExoRecipient[], identity: string): ExoRecipient {
  const hits = candidates.filter((r) => matchesIdentity(ctx.tenant, r, identity));
  if (hits.length === 0) {
    throw new ExoError('NotFound', `The operation couldn't be performed because object '${identity}' couldn't be found on '${ctx.exoServerName}'.`);
  }
  if (hits.length > 1) throw new ExoError('Ambiguous', `The operation couldn't be performed because '${identity}' matches multiple entries.`);
  return hits[0]!;
}

const ALL_TYPES: RecipientTypeDetails[] = [
  'User', 'UserMailbox', 'SharedMailbox', 'RoomMailbox', 'EquipmentMailbox', 'MailUser', 'GuestMailUser', 'MailContact',
  'MailUniversalDistributionGroup', 'MailUniversalSecurityGroup',
];

function recipientTypeFilter(p: Params): Set<RecipientTypeDetails> | null {
  const v = p.get('RecipientTypeDetails');
  if (v === undefined) return null;
  const out = new Set<RecipientTypeDetails>();
  for (const s of list(v)) {
    const t = ALL_TYPES.find((x) => x.toLowerCase() === s.toLowerCase());
    if (!t) {
      throw new ExoError(
        'ParameterBinding',
        `Cannot process argument transformation on parameter 'RecipientTypeDetails'. Cannot convert value "${s}" to type "Microsoft.Exchange.Data.Directory.Recipient.RecipientTypeDetails".`,
      );
    }
    out.add(t);
  }
  return out;
}

function query(
  ctx: EmulatorContext,
  p: Params,
  candidates: ExoRecipient[],
  render: (t: Tenant, r: ExoRecipient) => Record<string, unknown>,
  cmdlet: FilterCmdlet,
): CmdletResult {
  const t = ctx.tenant;
  let rows = candidates;
  const identity = str(p, 'Identity');
  if (identity !== undefined) rows = [resolve(ctx, rows, identity)];
  const types = recipientTypeFilter(p);
  if (types) rows = rows.filter((r) => types.has(r.recipientTypeDetails));
  let rendered = rows.map((r) => render(t, r));
  const filter = str(p, 'Filter');
  if (filter !== undefined && filter.trim() !== '') {
    const ast = parseOpath(filter, cmdlet);
    rendered = rendered.filter((x) => evaluateOpath(ast, x));
  }
  const size = str(p, 'ResultSize');
  if (size !== undefined && size.toLowerCase() !== 'unlimited') {
    const n = Number(size);
    if (!Number.isInteger(n) || n < 0) {
      throw new ExoError('ParameterBinding', `Cannot process argument transformation on parameter 'ResultSize'. Cannot convert value "${size}" to type "Microsoft.Exchange.Data.Unlimited\`1[System.UInt32]".`);
    }
    rendered = rendered.slice(0, n);
  }
  return { values: rendered, warnings: [] };
}

// ---------------------------------------------------------------------------------------------
// Writes
// ---------------------------------------------------------------------------------------------

/** EmailAddresses as a full list or as `{"@odata.type":"#Exchange.GenericHashTable","Add":…,"Remove":…}`. */
function emailAddressesChange(current: string[], v: unknown): string[] {
  if (isRecord(v)) {
    const get = (k: string): string[] => {
      const key = Object.keys(v).find((x) => x.toLowerCase() === k);
      return key ? list(v[key]) : [];
    };
    let next = [...current];
    for (const r of get('remove')) {
      const n = normaliseProxy(r);
      if (next.some((x) => isPrimarySmtp(x) && proxyKey(x) === proxyKey(n))) {
        throw new ExoError('InvalidOperation', `The primary SMTP address "${splitProxy(n).address}" can't be removed. Make another address primary first.`);
      }
      next = next.filter((x) => proxyKey(x) !== proxyKey(n));
    }
    for (const a of get('add')) {
      const n = normaliseProxy(a);
      if (isPrimarySmtp(n)) next = applyPrimaryAddressChange(next, splitProxy(n).address);
      else if (!next.some((x) => proxyKey(x) === proxyKey(n))) next.push(n);
    }
    return next;
  }
  return list(v).map(normaliseProxy);
}

function refuse(cmdlet: string, r: ExoRecipient, parameters: string[]): void {
  for (const parameter of parameters) {
    const refusal = exoWriteRefusal({
      cmdlet,
      parameter,
      recipientTypeDetails: r.recipientTypeDetails,
      isDirSynced: r.isDirSynced,
      isExchangeCloudManaged: r.isExchangeCloudManaged,
    });
    if (refusal?.kind === 'WriteScope') {
      throw new ExoError('WriteScope', writeScopeMessage(cmdlet, parameter, r.name, isMailboxType(r.recipientTypeDetails)));
    }
    if (refusal?.kind === 'DualWrite') throw new ExoError('DualWrite', dualWriteMessage(randomUUID()));
  }
}

type RecipientChange = Parameters<Tenant['updateRecipient']>[1];

/** The recipient changes that the common address/attribute parameters ask for. */
function commonChanges(p: Params, r: ExoRecipient): RecipientChange {
  const change: RecipientChange = {};
  if (p.has('EmailAddresses')) change.emailAddresses = emailAddressesChange(r.emailAddresses, p.get('EmailAddresses'));
  const wea = str(p, 'WindowsEmailAddress');
  if (wea !== undefined) change.windowsEmailAddress = wea;
  const psa = str(p, 'PrimarySmtpAddress');
  if (psa !== undefined) change.primarySmtpAddress = psa;
  const alias = str(p, 'Alias');
  if (alias !== undefined) change.alias = alias;
  const hidden = bool(p, 'HiddenFromAddressListsEnabled');
  if (hidden !== undefined) change.hiddenFromAddressListsEnabled = hidden;
  const dn = str(p, 'DisplayName');
  if (dn !== undefined) change.displayName = dn;
  const custom: Record<number, string> = {};
  CUSTOM.forEach((c, i) => {
    const v = str(p, c);
    if (v !== undefined) custom[i + 1] = v;
  });
  if (Object.keys(custom).length > 0) change.customAttributes = custom;
  const ext = str(p, 'ExternalEmailAddress');
  if (ext !== undefined) change.externalEmailAddress = ext;
  return change;
}

function noChangeWarning(r: ExoRecipient): string {
  return `The command completed successfully but no settings of '${r.name}' have been modified.`;
}

const MAILBOX_TYPE_PARAM: Record<string, RecipientTypeDetails> = {
  regular: 'UserMailbox',
  shared: 'SharedMailbox',
  room: 'RoomMailbox',
  equipment: 'EquipmentMailbox',
};

const ADDRESS_PARAMETERS = ['EmailAddresses', 'WindowsEmailAddress', 'PrimarySmtpAddress', 'Alias', 'HiddenFromAddressListsEnabled', 'DisplayName', ...CUSTOM];

// ---------------------------------------------------------------------------------------------
// Cmdlets
// ---------------------------------------------------------------------------------------------

const byType = (t: Tenant, types: RecipientTypeDetails[]): ExoRecipient[] => t.recipients().filter((r) => types.includes(r.recipientTypeDetails));
const MAILBOXES: RecipientTypeDetails[] = ['UserMailbox', 'SharedMailbox', 'RoomMailbox', 'EquipmentMailbox'];
const MAIL_USERS: RecipientTypeDetails[] = ['MailUser', 'GuestMailUser'];
const GROUPS: RecipientTypeDetails[] = ['MailUniversalDistributionGroup', 'MailUniversalSecurityGroup'];
const GET = ['Identity', 'Filter', 'ResultSize', 'RecipientTypeDetails'];

const CMDLETS: Record<string, Cmdlet> = {
  'Get-User': {
    parameters: GET,
    run: (ctx, p) => query(ctx, p, ctx.tenant.recipients().filter((r) => r.objectKind === 'user'), userProps, 'Get-User'),
  },
  'Get-Recipient': {
    parameters: [...GET, 'IncludeSoftDeletedRecipients'],
    run: (ctx, p) => query(ctx, p, ctx.tenant.recipients().filter((r) => r.recipientTypeDetails !== 'User'), recipientProps, 'Get-Recipient'),
  },
  'Get-Mailbox': {
    parameters: [...GET, 'SoftDeletedMailbox', 'InactiveMailboxOnly'],
    run: (ctx, p) => query(ctx, p, byType(ctx.tenant, MAILBOXES), mailboxProps, 'Get-Mailbox'),
  },
  'Get-MailUser': { parameters: GET, run: (ctx, p) => query(ctx, p, byType(ctx.tenant, MAIL_USERS), mailUserProps, 'Get-MailUser') },
  'Get-MailContact': { parameters: GET, run: (ctx, p) => query(ctx, p, byType(ctx.tenant, ['MailContact']), contactProps, 'Get-MailContact') },
  'Get-Contact': { parameters: GET, run: (ctx, p) => query(ctx, p, byType(ctx.tenant, ['MailContact']), getContactProps, 'Get-Contact') },
  'Get-DistributionGroup': { parameters: GET, run: (ctx, p) => query(ctx, p, byType(ctx.tenant, GROUPS), groupProps, 'Get-DistributionGroup') },
  'Get-Group': { parameters: GET, run: (ctx, p) => query(ctx, p, byType(ctx.tenant, GROUPS), getGroupProps, 'Get-Group') },
  'Get-DistributionGroupMember': {
    parameters: ['Identity', 'ResultSize'],
    run: (ctx, p) => {
      const g = resolve(ctx, byType(ctx.tenant, GROUPS), required(p, 'Identity', 'Get-DistributionGroupMember'));
      const members = ctx.tenant
        .groupMembers(g.externalDirectoryObjectId)
        .map((m) => ctx.tenant.recipientOf(m.obj.id))
        .filter((r): r is ExoRecipient => r !== undefined && r.recipientTypeDetails !== 'User')
        .map((r) => recipientProps(ctx.tenant, r));
      return { values: members, warnings: [] };
    },
  },
  'Set-Mailbox': {
    parameters: ['Identity', 'Type', 'IsExchangeCloudManaged', 'ResourceCapacity', 'ForwardingSmtpAddress', 'DeliverToMailboxAndForward', 'MessageCopyForSentAsEnabled', 'MessageCopyForSendOnBehalfEnabled', 'GrantSendOnBehalfTo', 'Name', ...ADDRESS_PARAMETERS],
    run: (ctx, p) => {
      const t = ctx.tenant;
      const r = resolve(ctx, byType(t, MAILBOXES), required(p, 'Identity', 'Set-Mailbox'));
      refuse('Set-Mailbox', r, [...p.keys()].filter((k) => k !== 'Identity' && k !== 'ResourceCapacity'));
      const warnings: string[] = [];
      const change = commonChanges(p, r);
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
  'Get-AcceptedDomain': {
    parameters: ['Identity'],
    run: (ctx, p) => {
      const id = str(p, 'Identity');
      let domains = ctx.tenant.acceptedDomains();
      if (id !== undefined) {
        domains = domains.filter((d) => d.name === id.toLowerCase());
        if (domains.length === 0) throw new ExoError('NotFound', `The operation couldn't be performed because object '${id}' couldn't be found on '${ctx.exoServerName}'.`);
      }
      return {
        values: domains.map((d) => ({
          Identity: d.name,
          Id: d.name,
          Name: d.name,
          DomainName: d.name,
          DomainType: 'Authoritative',
          Default: d.isDefault,
          InitialDomain: d.isInitial,
          AuthenticationType: 'Managed',
          MatchSubDomains: false,
        })),
        warnings: [],
      };
    },
  },
  'Get-OrganizationConfig': {
    parameters: [],
    run: (ctx) => {
      const t = ctx.tenant;
      return {
        values: [
          {
            Identity: t.initialDomain,
            Name: t.initialDomain,
            DisplayName: t.displayName,
            Guid: t.tenantId,
            ExchangeObjectId: t.tenantId,
            OrganizationId: t.tenantId,
            IsDehydrated: false,
            BlockExchangeProvisioningFromOnPremEnabled: t.exchangeAttributesCloudManagedByDefault,
          },
        ],
        warnings: [],
      };
    },
  },
  'Set-OrganizationConfig': {
    parameters: ['ExchangeAttributesCloudManagedByDefault', 'ExchangeAttributesServerManagedByDefault'],
    run: (ctx, p) => {
      const cloud = bool(p, 'ExchangeAttributesCloudManagedByDefault');
      const server = bool(p, 'ExchangeAttributesServerManagedByDefault');
      const before = ctx.tenant.exchangeAttributesCloudManagedByDefault;
      if (cloud !== undefined) ctx.tenant.exchangeAttributesCloudManagedByDefault = cloud;
      if (server !== undefined) ctx.tenant.exchangeAttributesCloudManagedByDefault = !server;
      const warnings = before === ctx.tenant.exchangeAttributesCloudManagedByDefault ? [`The command completed successfully but no settings of '${ctx.tenant.initialDomain}' have been modified.`] : [];
      return { values: [], warnings };
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
  'New-DistributionGroup': {
    parameters: ['Name', 'Alias', 'DisplayName', 'PrimarySmtpAddress', 'Type', 'Members', 'ManagedBy', 'CopyOwnerToMember', 'Notes', 'IgnoreNamingPolicy', 'MemberJoinRestriction', 'MemberDepartRestriction', 'RequireSenderAuthenticationEnabled'],
    run: (ctx, p) => {
      const t = ctx.tenant;
      const name = required(p, 'Name', 'New-DistributionGroup');
      const type = str(p, 'Type') ?? 'Distribution';
      if (!['distribution', 'security'].includes(type.toLowerCase())) {
        throw new ExoError('ParameterBinding', `Cannot process argument transformation on parameter 'Type'. Cannot convert value "${type}" to type "Microsoft.Exchange.Data.Directory.Recipient.GroupType".`);
      }
      const owners = list(p.get('ManagedBy')).map((o) => groupOwner(ctx, o));
      const members = list(p.get('Members')).map((m) => groupMember(ctx, m));
      if (bool(p, 'CopyOwnerToMember') === true) members.push(...owners);
      const rec = t.createCloudDistributionGroup({
        name,
        alias: str(p, 'Alias') ?? aliasFromName(name),
        displayName: str(p, 'DisplayName'),
        primarySmtpAddress: str(p, 'PrimarySmtpAddress'),
        security: type.toLowerCase() === 'security',
        managedBy: owners.map((o) => o.name),
        memberIds: members.map((m) => m.externalDirectoryObjectId),
      });
      return { values: [groupProps(t, rec)], warnings: [] };
    },
  },
  'Set-DistributionGroup': {
    parameters: ['Identity', 'ManagedBy', 'BypassSecurityGroupManagerCheck', 'RequireSenderAuthenticationEnabled', ...ADDRESS_PARAMETERS],
    run: (ctx, p, caller) => {
      const t = ctx.tenant;
      const r = resolve(ctx, byType(t, GROUPS), required(p, 'Identity', 'Set-DistributionGroup'));
      assertGroupManager(p, caller);
      if (p.has('EmailAddresses') && p.has('PrimarySmtpAddress')) {
        // Set-DistributionGroup's page: "You can't use the EmailAddresses and PrimarySmtpAddress parameters in the same command."
        throw new ExoError('Argument', "The EmailAddresses and PrimarySmtpAddress parameters can't be used in the same command.");
      }
      refuse('Set-DistributionGroup', r, [...p.keys()].filter((k) => k !== 'Identity' && k !== 'BypassSecurityGroupManagerCheck'));
      const change = commonChanges(p, r);
      if (p.has('ManagedBy')) change.managedBy = list(p.get('ManagedBy')).map((o) => groupOwner(ctx, o).name);
      const changed = t.updateRecipient(r.guid, change);
      return { values: [], warnings: changed ? [] : [noChangeWarning(r)] };
    },
  },
  'Remove-DistributionGroup': {
    parameters: ['Identity', 'BypassSecurityGroupManagerCheck'],
    run: (ctx, p, caller) => {
      const r = resolve(ctx, byType(ctx.tenant, GROUPS), required(p, 'Identity', 'Remove-DistributionGroup'));
      assertGroupManager(p, caller);
      if (r.isDirSynced) throw new ExoError('WriteScope', writeScopeMessage('Remove-DistributionGroup', 'Identity', r.name, false));
      ctx.tenant.removeCloudRecipient(r.guid);
      return { values: [], warnings: [] };
    },
  },
  'Add-DistributionGroupMember': groupMembership('Add-DistributionGroupMember'),
  'Remove-DistributionGroupMember': groupMembership('Remove-DistributionGroupMember'),
};

/** The default alias of a group: "The value of the Name parameter is used. Spaces are removed and unsupported characters are converted to question marks (?)." */
function aliasFromName(name: string): string {
  return name.replace(/\s+/g, '').replace(/[^A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.\u00A1-\u00FF]/g, '?');
}

/**
 * Refuses a change of a group by a caller that is not one of its managers, without -BypassSecurityGroupManagerCheck
 * ("If you aren't defined in the ManagedBy property of the group, you need to use this switch in commands that modify
 * or delete the group"). An app is never a manager: ManagedBy lists mailboxes, mail users and mail-enabled security
 * groups. The switch itself needs the roles {@link mayBypassGroupManagerCheck} names; RBAC hides it otherwise.
 */
function assertGroupManager(p: Params, caller: Caller): void {
  const bypass = bool(p, 'BypassSecurityGroupManagerCheck') === true;
  if (bypass && !caller.mayBypassGroupManagerCheck) {
    throw new ExoError('ParameterBinding', "A parameter cannot be found that matches parameter name 'BypassSecurityGroupManagerCheck'.");
  }
  if (!bypass) {
    throw new ExoError('GroupManager', "You don't have sufficient permissions. This operation can only be performed by a manager of the group.");
  }
}

/** A recipient named as a group member ("the recipients (mail-enabled objects) that are members of the group"). */
function groupMember(ctx: EmulatorContext, identity: string): ExoRecipient {
  const candidates = ctx.tenant.recipients().filter((r) => r.recipientTypeDetails !== 'User');
  const hits = candidates.filter((r) => matchesIdentity(ctx.tenant, r, identity));
  if (hits.length === 0) {
    throw new ExoError('NotFound', `Couldn't find object "${identity}". Please make sure that it was spelled correctly or specify a different object.`);
  }
  if (hits.length > 1) throw new ExoError('Ambiguous', `The operation couldn't be performed because '${identity}' matches multiple entries.`);
  return hits[0]!;
}

/** A group owner: "must be a mailbox, mail user or mail-enabled security group". */
function groupOwner(ctx: EmulatorContext, identity: string): ExoRecipient {
  const r = groupMember(ctx, identity);
  if (!isMailboxType(r.recipientTypeDetails) && r.recipientTypeDetails !== 'MailUser' && r.recipientTypeDetails !== 'MailUniversalSecurityGroup') {
    throw new ExoError('Argument', `"${r.name}" can't be an owner of the group: an owner must be a mailbox, mail user or mail-enabled security group.`);
  }
  return r;
}

/** Add-/Remove-DistributionGroupMember -Identity <group> -Member <recipient>: cloud groups only; synced ones are managed in AD. */
function groupMembership(cmdlet: 'Add-DistributionGroupMember' | 'Remove-DistributionGroupMember'): Cmdlet {
  return {
    parameters: ['Identity', 'Member', 'BypassSecurityGroupManagerCheck'],
    run: (ctx, p, caller) => {
      const t = ctx.tenant;
      const g = resolve(ctx, byType(t, GROUPS), required(p, 'Identity', cmdlet));
      const m = groupMember(ctx, required(p, 'Member', cmdlet));
      assertGroupManager(p, caller);
      if (g.isDirSynced) throw new ExoError('WriteScope', writeScopeMessage(cmdlet, 'Members', g.name, false));
      const isMember = t.groupMembers(g.externalDirectoryObjectId).some((o) => o.obj.id === m.externalDirectoryObjectId);
      if (cmdlet === 'Add-DistributionGroupMember') {
        if (isMember) throw new ExoError('MemberExists', `The recipient "${m.name}" is already a member of the group "${g.name}".`);
        t.addGroupMember(g.externalDirectoryObjectId, m.externalDirectoryObjectId, 'exchange');
      } else {
        if (!isMember) throw new ExoError('NotMember', `The recipient "${m.name}" isn't a member of the group "${g.name}".`);
        t.removeGroupMember(g.externalDirectoryObjectId, m.externalDirectoryObjectId, 'exchange');
      }
      return { values: [], warnings: [] };
    },
  };
}

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

// ---------------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------------

/**
 * A cmdlet failure as Exchange answers it. `details[].code` is `Client` for an unknown identity (the live 404 body
 * quoted in the README's table) and `Context` otherwise (the live 400 bodies quoted by InvokeCommand clients);
 * `innererror.internalexception` carries the exception as OData writes an inner error (`message`, `type`; the OData
 * JSON name is all lower case, clients read it as `internalException`).
 */
function exoErrorResponse(err: ExoError, requestId: string): EmulatorResponse {
  return json(
    err.status,
    {
      error: {
        code: err.code,
        message: 'Error executing cmdlet',
        details: [{ code: err.kind === 'NotFound' ? 'Client' : 'Context', target: '', message: err.detail }],
        innererror: {
          message: 'Error executing cmdlet',
          type: 'Microsoft.Exchange.Admin.OData.Core.ODataServiceException',
          internalexception: { message: err.message, type: err.exceptionType },
        },
      },
    },
    { 'request-id': requestId },
  );
}

function pageSize(headers: Record<string, string>): number {
  const m = /odata\.maxpagesize\s*=\s*(\d+)/i.exec(headers['prefer'] ?? '');
  const n = m ? Number(m[1]) : DEFAULT_PAGE;
  return n > 0 ? n : DEFAULT_PAGE;
}

function skipTokenFor(offset: number, bodyHash: string): string {
  return Buffer.from(JSON.stringify({ o: offset, h: bodyHash })).toString('base64url');
}

function readSkipToken(token: string | null, bodyHash: string): number {
  if (!token) return 0;
  try {
    const v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { o?: unknown; h?: unknown };
    if (typeof v.o === 'number' && v.h === bodyHash) return v.o;
  } catch {
    // fall through
  }
  throw new ExoError('Argument', 'The skip token is not valid for this request. Re-send the same request body to the @odata.nextLink URL.');
}

/** Handles `POST /adminapi/beta/{tenant}/InvokeCommand`. */
export function handleExo(ctx: EmulatorContext, req: EmulatorRequest): EmulatorResponse {
  const requestId = randomUUID();
  const m = /^\/adminapi\/beta\/([^/]+)\/InvokeCommand$/i.exec(req.url.pathname);
  if (!m) return json(404, { error: { code: 'NotFound', message: `No route for '${req.url.pathname}'.` } });
  const tenantSeg = decodeURIComponent(m[1] ?? '');
  if (req.method !== 'POST') return json(405, { error: { code: 'MethodNotAllowed', message: 'InvokeCommand only accepts POST.' } });
  const check = verifyAccessToken(ctx, bearerToken(req.headers), EXO_AUDIENCE);
  if (!check.ok) {
    return {
      status: 401,
      headers: {
        'www-authenticate': `Bearer client_id="00000002-0000-0ff1-ce00-000000000000", trusted_issuers="00000001-0000-0000-c000-000000000000@*", token_types="app_asserted_user_v1 service_asserted_app_v1", authorization_uri="${ctx.baseUrl}/common/oauth2/authorize", error="invalid_token"`,
        'request-id': requestId,
      },
      body: '',
    };
  }
  if (!ctx.tenant.matchesTenant(tenantSeg)) {
    return json(404, { error: { code: 'NotFound', message: `The tenant '${tenantSeg}' was not found.` } }, { 'request-id': requestId });
  }
  if (!check.claims.roles.includes('Exchange.ManageAsApp')) {
    return json(
      403,
      { error: { code: 'Forbidden', message: "The application does not have the 'Exchange.ManageAsApp' permission; grant it and an Exchange administrator role to the app." } },
      { 'request-id': requestId },
    );
  }
  let body: unknown;
  try {
    body = parseJsonBody(req);
  } catch {
    return json(400, { error: { code: 'BadRequest', message: 'The request body is not valid JSON.' } }, { 'request-id': requestId });
  }
  const input = isRecord(body) && isRecord(body.CmdletInput) ? body.CmdletInput : null;
  const cmdletName = input && typeof input.CmdletName === 'string' ? input.CmdletName : null;
  if (!input || !cmdletName) {
    return json(400, { error: { code: 'BadRequest', message: "The request body needs 'CmdletInput' with 'CmdletName'." } }, { 'request-id': requestId });
  }
  const name = Object.keys(CMDLETS).find((k) => k.toLowerCase() === cmdletName.toLowerCase());
  if (!name) {
    // Exchange answers an unknown cmdlet with 403 and no usable body.
    return { status: 403, headers: { 'request-id': requestId }, body: '' };
  }
  const spec = CMDLETS[name]!;
  const app = ctx.tenant.app(check.claims.appid);
  const caller: Caller = { mayBypassGroupManagerCheck: mayBypassGroupManagerCheck(check.claims.wids, app?.exchangeManagementRoles ?? []) };
  if (!mayRunCmdlet(check.claims.wids, app?.exchangeManagementRoles ?? [], name)) {
    return json(401, notAllowedBody(name), { 'request-id': requestId });
  }
  const bodyHash = createHash('sha256').update(JSON.stringify(input)).digest('base64url').slice(0, 22);
  try {
    const params = bindParameters(spec, isRecord(input.Parameters) ? input.Parameters : {});
    const result = spec.run(ctx, params, caller);
    const size = pageSize(req.headers);
    const offset = readSkipToken(req.url.searchParams.get('$skiptoken'), bodyHash);
    const page = result.values.slice(offset, offset + size);
    const out: Record<string, unknown> = {
      '@odata.context': `${ctx.baseUrl}/adminapi/beta/${tenantSeg}/$metadata#Collection(Exchange.GenericHashTable)`,
    };
    if (offset + size < result.values.length) {
      out['@odata.nextLink'] = `${ctx.baseUrl}/adminapi/beta/${encodeURIComponent(tenantSeg)}/InvokeCommand?%24skiptoken=${skipTokenFor(offset + size, bodyHash)}`;
    }
    out.value = page;
    out['@adminapi.warnings'] = result.warnings;
    return json(200, out, { 'request-id': requestId });
  } catch (err) {
    if (err instanceof ExoError) return exoErrorResponse(err, requestId);
    const e = err instanceof Error ? err : new Error(String(err));
    return json(500, { error: { code: 'InternalServerError', message: 'Error executing cmdlet', details: [{ code: 'Server', target: '', message: `|System.Exception|${e.message}` }] } }, { 'request-id': requestId });
  }
}

/** EXO's answer to an injected fault (429 or 503) with Retry-After. */
export function exoFault(status: 429 | 503, retryAfter: number): EmulatorResponse {
  const message =
    status === 429
      ? 'The request was throttled: the maximum number of concurrent requests per tenant was exceeded. Retry after the interval in the Retry-After header.'
      : 'The service is temporarily unavailable. Retry after the interval in the Retry-After header.';
  return json(status, { error: { code: status === 429 ? 'TooManyRequests' : 'ServiceUnavailable', message } }, { 'retry-after': String(retryAfter) });
}
