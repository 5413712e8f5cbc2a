/**
 * Pure mapping from AD entries (as ldapts returns them) to the tenant's sync inputs, and the sync scope.
 *
 * Scope (what the sandbox's sync engine exports), modelled on Entra Connect's out-of-box rules:
 * - the whole domain partition, every OU and container (Entra Connect's default: all OUs; `CN=Users` too);
 * - users: `objectCategory=person` and `objectClass=user` (computers have `objectCategory=computer`);
 *   contacts: `objectClass=contact`; groups: `objectCategory=group`;
 * - never objects with `isCriticalSystemObject=TRUE` (krbtgt, Administrator, Guest, the built-in groups,
 *   the DC's own accounts) — Entra Connect's "In from AD" rules exclude them;
 * - never accounts whose sAMAccountName starts like a sync or Exchange service account (`MSOL_`, `AAD_`,
 *   `HealthMailbox`, `SUPPORT_388945a0`, `CAS_{`, `SystemMailbox{`, …), nor objects whose `adminDescription`
 *   starts with `User_`/`Group_`/`Contact_` (objects that came from Entra by writeback);
 * - contacts and groups are exported whether or not they have `mail`: the tenant decides what reaches
 *   Exchange Online (`hybrid-behaviour.md`), as Entra ID decides for real tenants;
 * - group members are exported as immutable ids; members that are not synced (out of scope) never resolve
 *   in the tenant and so never show, as Entra Connect drops them.
 */
import type { AdContactInput, AdGroupInput, AdUserInput } from '../cloud/tenant';
import type { AdGroupScope } from '../cloud/rules';

/** An entry as ldapts returns it (attribute names as the server spells them). */
export interface LdapEntry {
  dn: string;
  [attribute: string]: Buffer | Buffer[] | string[] | string;
}

export type AdObjectKind = 'user' | 'contact' | 'group';

/** The attributes the sync engine reads (absent ones are simply not returned). */
export const SYNC_ATTRIBUTES: readonly string[] = [
  'objectGUID',
  'mS-DS-ConsistencyGuid',
  'objectSid',
  'objectClass',
  'objectCategory',
  'isCriticalSystemObject',
  'adminDescription',
  'uSNChanged',
  'distinguishedName',
  'cn',
  'sAMAccountName',
  'userPrincipalName',
  'userAccountControl',
  'displayName',
  'givenName',
  'sn',
  'department',
  'title',
  'company',
  'mobile',
  'telephoneNumber',
  'physicalDeliveryOfficeName',
  'employeeID',
  'description',
  'groupType',
  'member',
  'manager',
  'managedBy',
  'publicDelegates',
  'mail',
  'mailNickname',
  'targetAddress',
  'proxyAddresses',
  'msExchHideFromAddressLists',
  'msExchUsageLocation',
  ...Array.from({ length: 15 }, (_, i) => `extensionAttribute${i + 1}`),
];

/** Attributes ldapts must return as Buffers. */
export const BINARY_ATTRIBUTES: readonly string[] = ['objectGUID', 'mS-DS-ConsistencyGuid', 'objectSid'];

/** userAccountControl ACCOUNTDISABLE. */
const UAC_ACCOUNTDISABLE = 0x2;

/** groupType bits. */
const GROUP_TYPE_GLOBAL = 0x2;
const GROUP_TYPE_DOMAIN_LOCAL = 0x4;
const GROUP_TYPE_UNIVERSAL = 0x8;
const GROUP_TYPE_SECURITY = 0x80000000;

/** sAMAccountName prefixes of service accounts Entra Connect never exports. */
export const EXCLUDED_SAM_PREFIXES: readonly string[] = [
  'MSOL_',
  'AAD_',
  'HealthMailbox',
  'SUPPORT_388945a0',
  'CAS_{',
  'SystemMailbox{',
  'FederatedEmail',
  'DiscoverySearchMailbox',
  'Exchange Online-ApplicationAccount',
  'krbtgt',
];

/** mailNickname prefixes of Exchange system mailboxes. */
const EXCLUDED_NICKNAME_PREFIXES: readonly string[] = ['SystemMailbox{', 'CAS_{'];

function lowerKeyed(entry: LdapEntry): Map<string, Buffer | Buffer[] | string[] | string> {
  const m = new Map<string, Buffer | Buffer[] | string[] | string>();
  for (const [k, v] of Object.entries(entry)) m.set(k.toLowerCase(), v);
  return m;
}

/** A read-only, case-insensitive view of one entry. */
export class EntryView {
  private readonly attrs: Map<string, Buffer | Buffer[] | string[] | string>;

  constructor(readonly entry: LdapEntry) {
    this.attrs = lowerKeyed(entry);
  }

  /** The first string value, trimmed, or null when absent or blank. */
  one(name: string): string | null {
    const v = this.attrs.get(name.toLowerCase());
    const first = Array.isArray(v) ? v[0] : v;
    if (first === undefined) return null;
    const s = Buffer.isBuffer(first) ? first.toString('utf8') : first;
    const t = s.trim();
    return t === '' ? null : t;
  }

  /** All string values (empty when absent). */
  many(name: string): string[] {
    const v = this.attrs.get(name.toLowerCase());
    if (v === undefined) return [];
    const list = Array.isArray(v) ? v : [v];
    return list.map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : x)).filter((s) => s.trim() !== '');
  }

  /** The first value as bytes, or null. */
  binary(name: string): Buffer | null {
    const v = this.attrs.get(name.toLowerCase());
    const first = Array.isArray(v) ? v[0] : v;
    if (first === undefined) return null;
    return Buffer.isBuffer(first) ? first : null;
  }

  bool(name: string): boolean | null {
    const v = this.one(name);
    if (v === null) return null;
    return v.toUpperCase() === 'TRUE';
  }

  int(name: string): number | null {
    const v = this.one(name);
    if (v === null || !/^-?\d+$/.test(v)) return null;
    return Number(v);
  }
}

/**
 * The plain DN of an entry read with the extended-DN control (`<GUID=…>;<SID=…>;CN=…`), or the DN itself.
 */
export function plainDn(dn: string): string {
  return dn.replace(/^(?:<[A-Za-z]+=[^>]*>;)+/, '');
}

/** The GUID bytes (AD's storage order) from an extended DN (`<GUID=hex32>;…`), or null. */
function guidFromExtendedDn(dn: string): Buffer | null {
  const m = /<GUID=([0-9a-fA-F]{32})>/.exec(dn);
  return m?.[1] ? Buffer.from(m[1], 'hex') : null;
}

/** The base64 form of 16 GUID bytes as AD stores them: Entra's onPremisesImmutableId. */
export function immutableIdFromGuidBytes(bytes: Buffer): string {
  if (bytes.length !== 16) throw new Error(`a GUID has 16 bytes, not ${bytes.length}`);
  return bytes.toString('base64');
}

/** `{f48edf1d-bfa0-4e73-afca-16ae7f1e09ac}` string form of GUID bytes in AD's storage order. */
export function guidString(bytes: Buffer): string {
  const h = (b: Buffer): string => b.toString('hex');
  const rev = (start: number, end: number): string => h(Buffer.from(bytes.subarray(start, end)).reverse());
  return `${rev(0, 4)}-${rev(4, 6)}-${rev(6, 8)}-${h(bytes.subarray(8, 10))}-${h(bytes.subarray(10, 16))}`;
}

/** objectSid bytes → `S-1-5-21-…`. */
export function sidToString(bytes: Buffer): string | null {
  if (bytes.length < 8) return null;
  const revision = bytes.readUInt8(0);
  const count = bytes.readUInt8(1);
  if (bytes.length < 8 + count * 4) return null;
  const authority = bytes.readUIntBE(2, 6);
  const subs: number[] = [];
  for (let i = 0; i < count; i++) subs.push(bytes.readUInt32LE(8 + i * 4));
  return ['S', revision, authority, ...subs].join('-');
}

/** `DC=corp,DC=example,DC=test` (anywhere in the DN) → `corp.example.test`. */
function dnsDomainOf(dn: string): string {
  return [...dn.matchAll(/(?:^|,)\s*DC=([^,]+)/gi)].map((m) => m[1] ?? '').join('.');
}

/** The object's kind from its classes, or null for anything the engine does not sync (computers, OUs …). */
export function kindOf(view: EntryView): AdObjectKind | null {
  const classes = view.many('objectClass').map((c) => c.toLowerCase());
  // Read with the extended-DN control, DN values carry a `<GUID=…>;` prefix.
  const category = plainDn(view.one('objectCategory') ?? '').toLowerCase();
  if (classes.includes('computer')) return null;
  if (classes.includes('group')) return 'group';
  if (classes.includes('contact')) return 'contact';
  // Tombstones lose objectCategory; live users have CN=Person.
  if (classes.includes('user') && (category === '' || category.startsWith('cn=person,'))) return 'user';
  return null;
}

/** Why an object is out of sync scope, or null when it is in scope. */
export function outOfScopeReason(view: EntryView, kind: AdObjectKind): string | null {
  if (view.bool('isCriticalSystemObject') === true) return 'isCriticalSystemObject is TRUE (a system object)';
  const sam = view.one('sAMAccountName') ?? '';
  const samPrefix = EXCLUDED_SAM_PREFIXES.find((p) => sam.toLowerCase().startsWith(p.toLowerCase()));
  if (samPrefix) return `sAMAccountName starts with ${samPrefix} (a service account)`;
  const nick = view.one('mailNickname') ?? '';
  const nickPrefix = EXCLUDED_NICKNAME_PREFIXES.find((p) => nick.toLowerCase().startsWith(p.toLowerCase()));
  if (nickPrefix) return `mailNickname starts with ${nickPrefix} (an Exchange system mailbox)`;
  const admin = view.one('adminDescription') ?? '';
  const writeback = { user: 'User_', contact: 'Contact_', group: 'Group_' }[kind];
  if (admin.startsWith(writeback)) return `adminDescription starts with ${writeback} (written back from Entra ID)`;
  if (kind !== 'contact' && sam === '') return 'no sAMAccountName';
  return null;
}

/**
 * The source anchor: ms-DS-ConsistencyGuid when it holds a GUID (Entra Connect's default anchor since
 * 1.1.524), else objectGUID; both base64 of the 16 bytes.
 */
export function anchorOf(view: EntryView): { immutableId: string; objectGuid: string } | null {
  const guid = view.binary('objectGUID');
  if (!guid || guid.length !== 16) return null;
  const consistency = view.binary('mS-DS-ConsistencyGuid');
  const anchor = consistency && consistency.length === 16 ? consistency : guid;
  return { immutableId: immutableIdFromGuidBytes(anchor), objectGuid: guidString(guid) };
}

export function groupScopeOf(groupType: number): { scope: AdGroupScope; securityEnabled: boolean } {
  const bits = groupType >>> 0;
  const scope: AdGroupScope = bits & GROUP_TYPE_UNIVERSAL ? 'universal' : bits & GROUP_TYPE_DOMAIN_LOCAL ? 'domainLocal' : 'global';
  return { scope, securityEnabled: (bits & GROUP_TYPE_SECURITY) !== 0 };
}

function hideFromAddressLists(view: EntryView): boolean | null {
  return view.bool('msExchHideFromAddressLists');
}

function extensionAttributes(view: EntryView): Record<string, string | null> | undefined {
  const out: Record<string, string | null> = {};
  let any = false;
  for (let i = 1; i <= 15; i++) {
    const v = view.one(`extensionAttribute${i}`);
    if (v !== null) {
      out[`extensionAttribute${i}`] = v;
      any = true;
    }
  }
  return any ? out : undefined;
}

export function toUserInput(
  view: EntryView,
  anchor: { immutableId: string; objectGuid: string },
  anchorOfGuid: (objectGuidBase64: string) => string = (g) => g,
): AdUserInput {
  const dn = plainDn(view.entry.dn);
  const sam = view.one('sAMAccountName') ?? '';
  const uac = view.int('userAccountControl') ?? 0;
  const sid = view.binary('objectSid');
  const ext = extensionAttributes(view);
  // `manager` is a DN reference, read with the extended-DN control like `member`: its GUID is the manager's anchor.
  const managerValue = view.one('manager');
  const managerGuid = managerValue ? guidFromExtendedDn(managerValue) : null;
  const manager = managerGuid && managerGuid.length === 16 ? anchorOfGuid(immutableIdFromGuidBytes(managerGuid)) : null;
  // `publicDelegates` (where AD has Exchange's schema): DN references too.
  const delegates: string[] = [];
  for (const value of view.many('publicDelegates')) {
    const guid = guidFromExtendedDn(value);
    if (guid && guid.length === 16) delegates.push(anchorOfGuid(immutableIdFromGuidBytes(guid)));
  }
  return {
    objectGuid: anchor.objectGuid,
    immutableId: anchor.immutableId,
    distinguishedName: dn,
    samAccountName: sam,
    // Entra Connect: userPrincipalName, else sAMAccountName@<the domain's DNS name>.
    userPrincipalName: view.one('userPrincipalName') ?? `${sam}@${dnsDomainOf(dn)}`,
    accountEnabled: (uac & UAC_ACCOUNTDISABLE) === 0,
    displayName: view.one('displayName'),
    givenName: view.one('givenName'),
    surname: view.one('sn'),
    department: view.one('department'),
    jobTitle: view.one('title'),
    companyName: view.one('company'),
    mobilePhone: view.one('mobile'),
    telephoneNumber: view.one('telephoneNumber'),
    officeLocation: view.one('physicalDeliveryOfficeName'),
    employeeId: view.one('employeeID'),
    objectSid: sid ? sidToString(sid) : null,
    mail: view.one('mail'),
    mailNickname: view.one('mailNickname'),
    targetAddress: view.one('targetAddress'),
    proxyAddresses: view.many('proxyAddresses'),
    hideFromAddressLists: hideFromAddressLists(view),
    usageLocation: view.one('msExchUsageLocation'),
    ...(ext ? { extensionAttributes: ext } : {}),
    ...(manager ? { manager } : {}),
    ...(delegates.length > 0 ? { publicDelegates: [...new Set(delegates)].sort() } : {}),
  };
}

export function toContactInput(view: EntryView, anchor: { immutableId: string; objectGuid: string }): AdContactInput {
  return {
    objectGuid: anchor.objectGuid,
    immutableId: anchor.immutableId,
    distinguishedName: plainDn(view.entry.dn),
    displayName: view.one('displayName'),
    givenName: view.one('givenName'),
    surname: view.one('sn'),
    companyName: view.one('company'),
    department: view.one('department'),
    jobTitle: view.one('title'),
    mail: view.one('mail'),
    mailNickname: view.one('mailNickname'),
    targetAddress: view.one('targetAddress'),
    proxyAddresses: view.many('proxyAddresses'),
    hideFromAddressLists: hideFromAddressLists(view),
  };
}

/**
 * `members` are the `member` values read with the extended-DN control; `anchorOfGuid` maps a member's
 * objectGUID (base64) to its source anchor when that differs (ms-DS-ConsistencyGuid).
 */
export function toGroupInput(
  view: EntryView,
  anchor: { immutableId: string; objectGuid: string },
  anchorOfGuid: (objectGuidBase64: string) => string = (g) => g,
): AdGroupInput {
  const sid = view.binary('objectSid');
  const { scope, securityEnabled } = groupScopeOf(view.int('groupType') ?? GROUP_TYPE_GLOBAL | GROUP_TYPE_SECURITY);
  const members: string[] = [];
  for (const value of view.many('member')) {
    const guid = guidFromExtendedDn(value);
    if (guid && guid.length === 16) members.push(anchorOfGuid(immutableIdFromGuidBytes(guid)));
  }
  // `managedBy` is a DN reference like `member`, read with the extended-DN control: its GUID is the owner's anchor.
  const ownerValue = view.one('managedBy');
  const ownerGuid = ownerValue ? guidFromExtendedDn(ownerValue) : null;
  return {
    objectGuid: anchor.objectGuid,
    immutableId: anchor.immutableId,
    distinguishedName: plainDn(view.entry.dn),
    samAccountName: view.one('sAMAccountName') ?? '',
    displayName: view.one('displayName'),
    description: view.one('description'),
    scope,
    securityEnabled,
    mail: view.one('mail'),
    mailNickname: view.one('mailNickname'),
    proxyAddresses: view.many('proxyAddresses'),
    hideFromAddressLists: hideFromAddressLists(view),
    objectSid: sid ? sidToString(sid) : null,
    members: [...new Set(members)].sort(),
    managedBy: ownerGuid && ownerGuid.length === 16 ? anchorOfGuid(immutableIdFromGuidBytes(ownerGuid)) : null,
  };
}

/** What the engine knows about one AD entry after classification. */
export type ClassifiedEntry =
  | { inScope: true; kind: AdObjectKind; dn: string; objectGuidB64: string; immutableId: string; input: AdUserInput | AdContactInput | AdGroupInput }
  | { inScope: false; kind: AdObjectKind | null; dn: string; objectGuidB64: string | null; immutableId: string | null; reason: string };

/** Classifies an entry and, when in scope, maps it. Groups (members) and users (manager) need the anchor lookup. */
export function classifyEntry(entry: LdapEntry, anchorOfGuid?: (objectGuidBase64: string) => string): ClassifiedEntry {
  const view = new EntryView(entry);
  const dn = plainDn(entry.dn);
  const guid = view.binary('objectGUID');
  const objectGuidB64 = guid && guid.length === 16 ? immutableIdFromGuidBytes(guid) : null;
  const kind = kindOf(view);
  const anchor = anchorOf(view);
  if (!kind) return { inScope: false, kind: null, dn, objectGuidB64, immutableId: anchor?.immutableId ?? null, reason: 'not a user, contact or group' };
  if (!anchor || !objectGuidB64) return { inScope: false, kind, dn, objectGuidB64, immutableId: null, reason: 'no objectGUID' };
  const reason = outOfScopeReason(view, kind);
  if (reason) return { inScope: false, kind, dn, objectGuidB64, immutableId: anchor.immutableId, reason };
  const input = kind === 'user' ? toUserInput(view, anchor, anchorOfGuid) : kind === 'contact' ? toContactInput(view, anchor) : toGroupInput(view, anchor, anchorOfGuid);
  return { inScope: true, kind, dn, objectGuidB64, immutableId: anchor.immutableId, input };
}
