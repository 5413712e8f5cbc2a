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
import type { AutoReplyState, CalendarProcessingChanges, EntraContact, EntraUser, ExoRecipient, MailboxAce, Tenant } from './tenant';

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
    ForwardingAddress: r.forwardingAddress ? recipientName(t, r.forwardingAddress) : null,
    ForwardingSmtpAddress: r.forwardingSmtpAddress ?? null,
    DeliverToMailboxAndForward: r.deliverToMailboxAndForward ?? false,
    GrantSendOnBehalfTo: names(t, t.sendOnBehalfOf(r.externalDirectoryObjectId)),
    MessageCopyForSentAsEnabled: r.messageCopyForSentAsEnabled ?? false,
    MessageCopyForSendOnBehalfEnabled: r.messageCopyForSendOnBehalfEnabled ?? false,
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

// ---------------------------------------------------------------------------------------------
// Delegation and mailbox settings: mailbox permissions, Send As, calendar processing, automatic replies
// ---------------------------------------------------------------------------------------------
//
// All of these are Exchange Online's own data (the mailbox's security descriptor, its calendar and mailbox-store
// settings): Entra Connect syncs none of them ("Microsoft Entra Connect Sync: Attributes synchronized to Microsoft Entra
// ID", Exchange Online: publicDelegates is synced, altRecipient and the ACLs are not), so Exchange takes them on synced
// mailboxes as well, cloud-managed or not. GrantSendOnBehalfTo (publicDelegates) is the exception: rules.ts refuses it
// on a dir-synced mailbox that is not IsExchangeCloudManaged.

/** Mailbox rights Add-MailboxPermission takes ("AccessRights … Valid values are"); Remove-MailboxPermission also lists SendAs. */
const MAILBOX_RIGHTS = ['ChangeOwner', 'ChangePermission', 'DeleteItem', 'ExternalAccount', 'FullAccess', 'ReadPermission'];
const INHERITANCE_TYPES = ['None', 'All', 'Children', 'Descendents', 'SelfAndChildren'];
const SELF = 'NT AUTHORITY\\SELF';
/** "You can use this cmdlet to add a maximum of 500 permission entries (ACEs) to a mailbox." (Add-MailboxPermission) */
const MAX_MAILBOX_ACES = 500;
/** Who can be a trustee (SecurityPrincipalIdParameter): users with or without a mailbox, mail users, mail-enabled security groups. */
const PRINCIPAL_TYPES: RecipientTypeDetails[] = ['User', 'UserMailbox', 'SharedMailbox', 'RoomMailbox', 'EquipmentMailbox', 'MailUser', 'GuestMailUser', 'MailUniversalSecurityGroup'];
/** Who can send on behalf ("must a mailbox, mail user or mail-enabled security group"). */
const SEND_ON_BEHALF_TYPES: RecipientTypeDetails[] = ['UserMailbox', 'SharedMailbox', 'RoomMailbox', 'EquipmentMailbox', 'MailUser', 'GuestMailUser', 'MailUniversalSecurityGroup'];

/** An enumeration value in its documented spelling, or PowerShell's conversion error for the parameter. */
function enumValue(parameter: string, value: string, valid: readonly string[], type: string): string {
  const hit = valid.find((v) => v.toLowerCase() === value.trim().toLowerCase());
  if (hit) return hit;
  throw new ExoError(
    'ParameterBinding',
    `Cannot process argument transformation on parameter '${parameter}'. Cannot convert value "${value}" to type "${type}". Error: "Unable to match the identifier name ${value} to a valid enumerator name. Specify one of the following enumerator names and try again: ${valid.join(', ')}"`,
  );
}

function notFoundObject(identity: string): ExoError {
  return new ExoError('NotFound', `Couldn't find object "${identity}". Please make sure that it was spelled correctly or specify a different object.`);
}

/** A security principal named by any of its identities, `DOMAIN\sAMAccountName` included (synced users). */
function matchesPrincipal(t: Tenant, r: ExoRecipient, identity: string): boolean {
  if (matchesIdentity(t, r, identity)) return true;
  const bs = identity.lastIndexOf('\\');
  if (bs <= 0) return false;
  const sam = userOf(t, r)?.onPremisesSamAccountName;
  return sam !== null && sam !== undefined && sam.toLowerCase() === identity.slice(bs + 1).trim().toLowerCase();
}

/** The trustee a -User / -Trustee parameter names; anything that is not a security principal is refused. */
function securityPrincipal(ctx: EmulatorContext, identity: string, parameter: string): ExoRecipient {
  const hits = ctx.tenant.recipients().filter((r) => matchesPrincipal(ctx.tenant, r, identity));
  if (hits.length === 0) throw notFoundObject(identity);
  if (hits.length > 1) throw new ExoError('Ambiguous', `The operation couldn't be performed because '${identity}' matches multiple entries.`);
  const r = hits[0]!;
  if (!PRINCIPAL_TYPES.includes(r.recipientTypeDetails)) {
    throw new ExoError(
      'Argument',
      `"${r.name}" is a ${r.recipientTypeDetails}, not a security principal: -${parameter} takes a user, a mail user or a mail-enabled security group. Nothing was changed.`,
    );
  }
  return r;
}

/** A recipient (RecipientIdParameter) of one of `types`, by any identity; `what` says what the parameter takes. */
function recipientOfTypes(ctx: EmulatorContext, identity: string, types: readonly RecipientTypeDetails[], parameter: string, what: string): ExoRecipient {
  const hits = ctx.tenant.recipients().filter((r) => r.recipientTypeDetails !== 'User' && matchesIdentity(ctx.tenant, r, identity));
  if (hits.length === 0) throw notFoundObject(identity);
  if (hits.length > 1) throw new ExoError('Ambiguous', `The operation couldn't be performed because '${identity}' matches multiple entries.`);
  const r = hits[0]!;
  if (!types.includes(r.recipientTypeDetails)) {
    throw new ExoError('Argument', `"${r.name}" is a ${r.recipientTypeDetails}: -${parameter} takes ${what}. Nothing was changed.`);
  }
  return r;
}

/** How a trustee shows in Get-MailboxPermission's User and Get-RecipientPermission's Trustee: a user's UPN, else its name. */
function principalName(t: Tenant, entraId: string): string | null {
  const u = t.userById(entraId);
  if (u) return u.userPrincipalName;
  return t.recipientOf(entraId)?.name ?? null;
}

/** A recipient's name by Entra object id (GrantSendOnBehalfTo, ForwardingAddress, BookInPolicy …); null once it is gone. */
function recipientName(t: Tenant, entraId: string): string | null {
  return t.recipientOf(entraId)?.name ?? null;
}

function names(t: Tenant, ids: readonly string[] | undefined, name: (t: Tenant, id: string) => string | null = recipientName): string[] {
  return (ids ?? []).map((id) => name(t, id)).filter((n): n is string => n !== null);
}

/**
 * A multivalued recipient property: the full list (`Value1,Value2`, replacing what is there), `$null` (empty), or
 * `@{Add=…; Remove=…}` (`{"Add":[…],"Remove":[…]}`), each value resolved to an Entra object id.
 */
function recipientListChange(current: readonly string[], v: unknown, resolveId: (identity: string) => string): string[] {
  if (v === null) return [];
  if (isRecord(v)) {
    const get = (k: string): string[] => {
      const key = Object.keys(v).find((x) => x.toLowerCase() === k);
      return key ? list(v[key]) : [];
    };
    const keys = Object.keys(v).filter((k) => !k.startsWith('@'));
    const unknown = keys.find((k) => !['add', 'remove'].includes(k.toLowerCase()));
    if (unknown) throw new ExoError('ParameterBinding', `The hashtable key '${unknown}' is not valid for a multivalued property: use Add and Remove. Nothing was changed.`);
    const remove = new Set(get('remove').map(resolveId));
    const next = current.filter((id) => !remove.has(id));
    for (const id of get('add').map(resolveId)) if (!next.includes(id)) next.push(id);
    return next;
  }
  const out: string[] = [];
  for (const id of list(v).map(resolveId)) if (!out.includes(id)) out.push(id);
  return out;
}

/** Exchange's warning when Remove-*Permission finds nothing to remove (quoted in TechNet Wiki 31321, "The ACE doesn't exist on the object"). */
function aceMissingWarning(t: Tenant, r: ExoRecipient, trustee: ExoRecipient): string {
  return `Can't remove the access control entry on the object "${distinguishedName(t, r)}" for account "${principalName(t, trustee.externalDirectoryObjectId) ?? trustee.name}" because the ACE doesn't exist on the object.`;
}

function mailboxPermissionRow(t: Tenant, r: ExoRecipient, ace: MailboxAce): Record<string, unknown> | null {
  const user = principalName(t, ace.trusteeId);
  if (user === null) return null; // the trustee is gone: an unresolved SID, which Exchange hides by default
  return { Identity: r.name, User: user, AccessRights: [...ace.accessRights], IsInherited: false, Deny: ace.deny, InheritanceType: ace.inheritanceType, IsValid: true, ObjectState: 'Unchanged' };
}

/** Get-MailboxPermission's rows: the owner's own entry (NT AUTHORITY\SELF) for a mailbox, then the entries added. */
function mailboxPermissionRows(t: Tenant, r: ExoRecipient): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  if (isMailboxType(r.recipientTypeDetails)) {
    rows.push({ Identity: r.name, User: SELF, AccessRights: ['FullAccess', 'ReadPermission'], IsInherited: false, Deny: false, InheritanceType: 'All', IsValid: true, ObjectState: 'Unchanged' });
  }
  for (const ace of r.mailboxPermissions ?? []) {
    const row = mailboxPermissionRow(t, r, ace);
    if (row) rows.push(row);
  }
  return rows;
}

function recipientPermissionRow(r: ExoRecipient, trustee: string): Record<string, unknown> {
  return { Identity: r.name, Trustee: trustee, AccessControlType: 'Allow', AccessRights: ['SendAs'], IsInherited: false, InheritanceType: 'None', IsValid: true, ObjectState: 'Unchanged' };
}

/** Get-RecipientPermission's rows for a recipient: SELF's Send As on a mailbox, then the trustees added. */
function recipientPermissionRows(t: Tenant, r: ExoRecipient): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = isMailboxType(r.recipientTypeDetails) ? [recipientPermissionRow(r, SELF)] : [];
  for (const id of r.sendAs ?? []) {
    const name = principalName(t, id);
    if (name !== null) rows.push(recipientPermissionRow(r, name));
  }
  return rows;
}

function accessRightsList(p: Params, cmdlet: string, valid: readonly string[]): string[] {
  const raw = list(p.get('AccessRights'));
  if (raw.length === 0) throw new ExoError('ParameterBinding', `Cannot process command because of one or more missing mandatory parameters: AccessRights. (${cmdlet})`);
  return [...new Set(raw.map((v) => enumValue('AccessRights', v, valid, 'Microsoft.Exchange.Management.RecipientTasks.MailboxRights')))];
}

function sendAsRights(p: Params, cmdlet: string): void {
  const raw = list(p.get('AccessRights'));
  if (raw.length === 0) throw new ExoError('ParameterBinding', `Cannot process command because of one or more missing mandatory parameters: AccessRights. (${cmdlet})`);
  for (const v of raw) {
    if (v.trim().toLowerCase() !== 'sendas') {
      throw new ExoError('ParameterBinding', `Cannot bind parameter 'AccessRights': "${v}" is not valid. The only valid value for this parameter is SendAs. Nothing was changed.`);
    }
  }
}

function refuseUnsimulated(p: Params, parameters: string[], cmdlet: string): void {
  for (const name of parameters) {
    if (p.has(name)) {
      throw new ExoError('Argument', `${cmdlet} -${name} is valid in Exchange Online, but the Mailroom sandbox does not simulate it (no Microsoft 365 groups, owners or soft-deleted mailboxes). Nothing was changed.`);
    }
  }
}

const PERMISSION_TARGETS: RecipientTypeDetails[] = ['UserMailbox', 'SharedMailbox', 'RoomMailbox', 'EquipmentMailbox', 'MailUser'];

const getMailboxPermission: Cmdlet = {
  parameters: ['Identity', 'User', 'Owner', 'ResultSize', 'IncludeUnresolvedPermissions', 'ReadFromDomainController', 'GroupMailbox', 'SoftDeletedMailbox'],
  run: (ctx, p) => {
    refuseUnsimulated(p, ['Owner', 'GroupMailbox', 'SoftDeletedMailbox'], 'Get-MailboxPermission');
    const t = ctx.tenant;
    const r = resolve(ctx, byType(t, PERMISSION_TARGETS), required(p, 'Identity', 'Get-MailboxPermission'));
    let rows = mailboxPermissionRows(t, r);
    const user = str(p, 'User');
    if (user !== undefined) {
      const trustee = securityPrincipal(ctx, user, 'User');
      const name = principalName(t, trustee.externalDirectoryObjectId);
      rows = rows.filter((row) => row.User === name);
    }
    return { values: rows, warnings: [] };
  },
};

const addMailboxPermission: Cmdlet = {
  parameters: ['Identity', 'User', 'AccessRights', 'AutoMapping', 'Deny', 'InheritanceType', 'Owner', 'GroupMailbox', 'IgnoreDefaultScope'],
  run: (ctx, p) => {
    const cmdlet = 'Add-MailboxPermission';
    refuseUnsimulated(p, ['Owner', 'GroupMailbox'], cmdlet);
    const t = ctx.tenant;
    const r = resolve(ctx, byType(t, PERMISSION_TARGETS), required(p, 'Identity', cmdlet));
    if (list(p.get('AccessRights')).some((v) => v.trim().toLowerCase() === 'sendas')) {
      throw new ExoError('Argument', 'Exchange Online grants Send As with Add-RecipientPermission -AccessRights SendAs, not with Add-MailboxPermission. Nothing was changed.');
    }
    const rights = accessRightsList(p, cmdlet, MAILBOX_RIGHTS);
    const trustee = securityPrincipal(ctx, required(p, 'User', cmdlet), 'User');
    const deny = bool(p, 'Deny') === true;
    const inheritance = enumValue('InheritanceType', str(p, 'InheritanceType') ?? 'All', INHERITANCE_TYPES, 'System.DirectoryServices.ActiveDirectorySecurityInheritance');
    const autoMapping = bool(p, 'AutoMapping') ?? true;
    const aces = structuredClone(r.mailboxPermissions ?? []);
    const id = trustee.externalDirectoryObjectId;
    let ace = aces.find((a) => a.trusteeId === id && a.deny === deny);
    const added = rights.filter((x) => !(ace?.accessRights ?? []).includes(x));
    if (added.length === 0) {
      // Granting what the trustee already has changes nothing and is no error (the sandbox's wording).
      return { values: [mailboxPermissionRow(t, r, ace!)!], warnings: [`${principalName(t, id)} already has ${rights.join(', ')} on "${r.name}"${deny ? ' (deny)' : ''}; nothing was changed.`] };
    }
    if (!ace) {
      if (aces.length >= MAX_MAILBOX_ACES) {
        // The limit's error as Exchange Online reports it (quoted in "Exchange Online max ACL limit", thextrabit.com).
        throw new ExoError('InvalidOperation', `The mailbox ${r.exchangeGuid} has reached the limit of maximum allowed access control entries of ${MAX_MAILBOX_ACES}. Clean existing entries and rearrange them leveraging groups for assigning the same permissions to multiple users.`);
      }
      ace = { trusteeId: id, accessRights: [], deny, inheritanceType: inheritance, autoMapping };
      aces.push(ace);
    }
    ace.accessRights.push(...added);
    // Auto-mapping is set when FullAccess is granted; changing it needs a remove and a new grant (the AutoMapping note).
    if (added.includes('FullAccess')) ace.autoMapping = autoMapping && trustee.recipientTypeDetails !== 'MailUniversalSecurityGroup';
    t.updateRecipient(r.guid, { mailboxPermissions: aces });
    return { values: [mailboxPermissionRow(t, r, ace)!], warnings: [] };
  },
};

const removeMailboxPermission: Cmdlet = {
  parameters: ['Identity', 'User', 'AccessRights', 'Deny', 'InheritanceType', 'BypassMasterAccountSid', 'ClearAutoMapping', 'ResetDefault', 'GroupMailbox', 'SoftDeletedMailbox', 'IgnoreDefaultScope'],
  run: (ctx, p) => {
    const cmdlet = 'Remove-MailboxPermission';
    refuseUnsimulated(p, ['GroupMailbox', 'SoftDeletedMailbox'], cmdlet);
    const t = ctx.tenant;
    const r = resolve(ctx, byType(t, PERMISSION_TARGETS), required(p, 'Identity', cmdlet));
    const aces = structuredClone(r.mailboxPermissions ?? []);
    if (bool(p, 'ResetDefault') === true || bool(p, 'ClearAutoMapping') === true) {
      if (p.has('User') || p.has('AccessRights')) {
        throw new ExoError('ParameterBinding', 'Parameter set cannot be resolved using the specified named parameters: ResetDefault and ClearAutoMapping do not take User or AccessRights. Nothing was changed.');
      }
      // ResetDefault: "only the mailbox owner has Full Access"; ClearAutoMapping: "exclude this mailbox from auto-mapping for all users".
      const next = bool(p, 'ResetDefault') === true ? [] : aces.map((a) => ({ ...a, autoMapping: false }));
      const changed = t.updateRecipient(r.guid, { mailboxPermissions: next });
      return { values: [], warnings: changed ? [] : [noChangeWarning(r)] };
    }
    const rights = accessRightsList(p, cmdlet, [...MAILBOX_RIGHTS, 'SendAs']);
    const trustee = securityPrincipal(ctx, required(p, 'User', cmdlet), 'User');
    const deny = bool(p, 'Deny') === true;
    if (p.has('InheritanceType')) enumValue('InheritanceType', str(p, 'InheritanceType') ?? '', INHERITANCE_TYPES, 'System.DirectoryServices.ActiveDirectorySecurityInheritance');
    const ace = aces.find((a) => a.trusteeId === trustee.externalDirectoryObjectId && a.deny === deny);
    if (!ace || !rights.some((x) => ace.accessRights.includes(x))) return { values: [], warnings: [aceMissingWarning(t, r, trustee)] };
    ace.accessRights = ace.accessRights.filter((x) => !rights.includes(x));
    t.updateRecipient(r.guid, { mailboxPermissions: aces.filter((a) => a.accessRights.length > 0) });
    return { values: [], warnings: [] };
  },
};

const getRecipientPermission: Cmdlet = {
  parameters: ['Identity', 'Trustee', 'AccessRights', 'ResultSize', 'ReadFromDomainController'],
  run: (ctx, p) => {
    const t = ctx.tenant;
    const identity = str(p, 'Identity');
    const targets = t.recipients().filter((r) => r.recipientTypeDetails !== 'User');
    const scope = identity !== undefined ? [resolve(ctx, targets, identity)] : targets;
    if (p.has('AccessRights')) sendAsRights(p, 'Get-RecipientPermission');
    let rows = scope.flatMap((r) => recipientPermissionRows(t, r));
    const trusteeId = str(p, 'Trustee');
    if (trusteeId !== undefined) {
      const trustee = securityPrincipal(ctx, trusteeId, 'Trustee');
      const name = principalName(t, trustee.externalDirectoryObjectId);
      rows = rows.filter((row) => row.Trustee === name);
    }
    const size = str(p, 'ResultSize');
    if (size !== undefined && size.toLowerCase() !== 'unlimited') {
      const n = Number(size);
      if (!Number.isInteger(n) || n < 0) {
        throw new ExoError('ParameterBinding', `Cannot process argument transformation on parameter 'ResultSize'. Cannot convert value "${size}" to type "Microsoft.Exchange.Data.Unlimited\`1[System.UInt32]".`);
      }
      rows = rows.slice(0, n);
    }
    return { values: rows, warnings: [] };
  },
};

function recipientPermissionChange(cmdlet: 'Add-RecipientPermission' | 'Remove-RecipientPermission'): Cmdlet {
  return {
    parameters: ['Identity', 'Trustee', 'AccessRights', 'Deny'],
    run: (ctx, p) => {
      const t = ctx.tenant;
      const r = resolve(ctx, t.recipients().filter((x) => x.recipientTypeDetails !== 'User'), required(p, 'Identity', cmdlet));
      sendAsRights(p, cmdlet);
      if (p.has('Deny')) throw new ExoError('ParameterBinding', "A parameter cannot be found that matches parameter name 'Deny'.");
      const trustee = securityPrincipal(ctx, required(p, 'Trustee', cmdlet), 'Trustee');
      const id = trustee.externalDirectoryObjectId;
      const current = r.sendAs ?? [];
      const name = principalName(t, id) ?? trustee.name;
      if (cmdlet === 'Add-RecipientPermission') {
        if (current.includes(id)) {
          // Already there: nothing changes and it is no error (the sandbox's wording).
          return { values: [recipientPermissionRow(r, name)], warnings: [`${name} already has SendAs on "${r.name}"; nothing was changed.`] };
        }
        t.updateRecipient(r.guid, { sendAs: [...current, id] });
        return { values: [recipientPermissionRow(r, name)], warnings: [] };
      }
      if (!current.includes(id)) return { values: [], warnings: [aceMissingWarning(t, r, trustee)] };
      t.updateRecipient(r.guid, { sendAs: current.filter((x) => x !== id) });
      return { values: [], warnings: [] };
    },
  };
}

/** Set-Mailbox's delegation and forwarding parameters (validated; the write-scope check has run). */
function mailboxDelegationChanges(ctx: EmulatorContext, p: Params, r: ExoRecipient): RecipientChange {
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
    if (p.has('InternalMessage')) next.internalMessage = str(p, 'InternalMessage') ?? null;
    if (p.has('ExternalMessage')) next.externalMessage = str(p, 'ExternalMessage') ?? null;
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

function mailboxSettingGet(cmdlet: string, render: (t: Tenant, r: ExoRecipient) => Record<string, unknown>): Cmdlet {
  return {
    parameters: ['Identity', 'ReadFromDomainController', 'ResultSize'],
    run: (ctx, p) => {
      const r = resolve(ctx, byType(ctx.tenant, MAILBOXES), required(p, 'Identity', cmdlet));
      return { values: [render(ctx.tenant, r)], warnings: [] };
    },
  };
}


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
  'Get-MailboxPermission': getMailboxPermission,
  'Add-MailboxPermission': addMailboxPermission,
  'Remove-MailboxPermission': removeMailboxPermission,
  'Get-RecipientPermission': getRecipientPermission,
  'Add-RecipientPermission': recipientPermissionChange('Add-RecipientPermission'),
  'Remove-RecipientPermission': recipientPermissionChange('Remove-RecipientPermission'),
  'Get-CalendarProcessing': mailboxSettingGet('Get-CalendarProcessing', calendarProcessingProps),
  'Set-CalendarProcessing': setCalendarProcessing,
  'Get-MailboxAutoReplyConfiguration': mailboxSettingGet('Get-MailboxAutoReplyConfiguration', (_t, r) => autoReplyProps(r)),
  'Set-MailboxAutoReplyConfiguration': setAutoReply,
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
