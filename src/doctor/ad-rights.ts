/**
 * The one model of the rights Mailroom's service account needs in Active Directory, made from the code that
 * writes: the planner (which kind creates which class in which OU, which attributes a plan changes), the roll back
 * (which objects it deletes), the AD executors and DirectoryClient (what they add themselves: adWritesOf). The
 * delegation script (ad-delegation.ts), the doctor's checks (directory.ts) and the sandbox (src/sandbox/samba/
 * delegation.ts) all use it. Nothing in it is domain-wide: every right is on one OU Mailroom creates objects in
 * (or, for an AD licensing group, on that one group).
 *
 * How the model is made: the planner plans a catalogue of requests (every kind, every optional field, every
 * recipient type as a target, in every tenant mode and licensing) with the configured OUs; each AD step's writes
 * (adWritesOf), and those of the roll back of the plan, become rights:
 * - an LDAP add below an OU → Create child of that class on the OU. AD checks only that for an add: the attributes
 *   of the add need no Write property (MS-ADTS 3.1.1.5.2.1.1; Samba does the same), so they get none;
 * - a delete (roll back) → Delete child of that class on the OU;
 * - unicodePwd → the Reset Password extended right on users below the OU;
 * - any other modify → Read and Write property of that attribute on objects of that class below every OU where
 *   Mailroom creates that class: the objects it changes later are the ones it created. A modify of an object outside
 *   those OUs (an AD licensing group) → the right on that object only.
 * A test plans random valid requests of every kind and checks that the model covers every write of every plan.
 */
import type { MailroomConfig } from '../config/config';
import { planRollback, type RunStepFacts } from '../plans/rollback';
import { plan, PlanRefusedError, type Plan } from '../plans/planner';
import { KIND_IDS, KINDS, type KindId, type RecipientRequest, type TargetRecipient } from '../requests/kinds';
import { DEFAULT_NAMING } from '../requests/naming';
import { OU_GROUPS, ousWithFallbacks, type OuGroup, type TenantProfile } from '../requests/tenant-profile';
import { adClassOfRecipientType, adWritesOf, type AdObjectClass, type AdWrite } from '../workflow/executors/ad-writes';

export type { AdObjectClass } from '../workflow/executors/ad-writes';

export type AdRightKind = 'create-child' | 'delete-child' | 'reset-password' | 'write-property';

export interface AdRight {
  readonly kind: AdRightKind;
  /** The DN the permission is set on: an OU (`scope: 'ou'`), or one object (`scope: 'object'`). */
  readonly on: string;
  /**
   * `ou`: create/delete child on the OU itself, write-property and reset-password on the objects of `objectClass`
   * below it (inherited, not on the OU). `object`: on that one object.
   */
  readonly scope: 'ou' | 'object';
  readonly objectClass: AdObjectClass;
  /** write-property: the attribute (lDAPDisplayName). */
  readonly attribute?: string;
  /**
   * Only needed when AD has Exchange's schema attributes (the planner writes it only then). `public-delegates`: only when
   * AD has publicDelegates as well (Exchange's full schema has it; the sandbox's partial Exchange schema does not).
   */
  readonly onlyIf?: 'exchange-schema' | 'public-delegates';
  /** Why Mailroom needs it, one sentence. */
  readonly why: string;
  /** The request kinds whose plans (or roll backs) use it. */
  readonly neededBy: readonly KindId[];
}

export interface OuUse {
  readonly dn: string;
  /** The configuration's OU groups that name it (users, shared, rooms …). */
  readonly groups: readonly OuGroup[];
  /** The classes Mailroom creates in it. */
  readonly classes: readonly AdObjectClass[];
}

export interface AdRightsModel {
  readonly ous: readonly OuUse[];
  readonly rights: readonly AdRight[];
}

export interface AdRightsInput {
  /** The configured OUs (missing groups fall back as the tenant profile does). */
  readonly ous: Partial<Record<OuGroup, string>>;
  /** An AD group whose members get the Exchange licence (its membership is changed in AD), if any. */
  readonly licensingGroupDn?: string;
}

/** The extended right behind unicodePwd resets: its cn, its display name on Windows, its rightsGuid. */
export const RESET_PASSWORD = { cn: 'User-Force-Change-Password', displayName: 'Reset Password', rightsGuid: '00299570-246d-11d0-a768-00aa006e0529' } as const;

const CLASS_ORDER: readonly AdObjectClass[] = ['user', 'contact', 'group'];
const PLURAL: Record<AdObjectClass, string> = { user: 'user accounts', contact: 'contacts', group: 'groups' };

/** What an attribute is for, to explain a grant (the grant itself comes from the plans, not from this list). */
const PURPOSE: Readonly<Record<string, string>> = {
  useraccountcontrol: 'enables a new account once its password is set, and disables accounts (offboarding)',
  pwdlastset: 'makes the person change the first password at the first sign-in',
  mail: 'sets the primary address',
  proxyaddresses: 'adds, removes and reorders e-mail addresses',
  targetaddress: "sets a mail user's outside address",
  member: 'adds and removes group members',
  msexchhidefromaddresslists: 'hides a mailbox from address lists (offboarding, hide from / show in address lists)',
  publicdelegates: 'gives and takes away send on behalf of mailboxes AD still masters',
};

const DUMMY_GUID = '00000000-0000-4000-8000-000000000000';

// ---------------------------------------------------------------------------------------------
// The catalogue the model is made from
// ---------------------------------------------------------------------------------------------

const ADDRESS = (local: string): string => `${local}@contoso.example`;

function creationRequests(ous: Record<OuGroup, string>): RecipientRequest[] {
  const member = { identity: ADDRESS('ada'), name: 'Ada Byron', adDn: `CN=Ada Byron,${ous.users}` };
  const groups: RecipientRequest[] = [];
  for (const scope of ['global', 'universal'] as const) {
    for (const securityEnabled of [true, false]) {
      groups.push({ kind: 'distribution-group', displayName: 'Sales Team', alias: 'salesteam', samAccountName: 'salesteam', primarySmtpAddress: ADDRESS('salesteam'), scope, securityEnabled, description: 'Sales', members: [member] });
    }
  }
  const resource = { alias: 'res', samAccountName: 'res', userPrincipalName: ADDRESS('res'), primarySmtpAddress: ADDRESS('res'), usageLocation: 'DE' };
  return [
    { kind: 'user-mailbox', firstName: 'Ada', lastName: 'Lovelace', displayName: 'Ada Lovelace', alias: 'ada', samAccountName: 'ada', userPrincipalName: ADDRESS('ada'), primarySmtpAddress: ADDRESS('ada'), usageLocation: 'GB', department: 'Research', jobTitle: 'Analyst' },
    { kind: 'shared-mailbox', displayName: 'Team Sales', ...resource },
    { kind: 'room-mailbox', displayName: 'Board Room', ...resource, capacity: 12 },
    { kind: 'equipment-mailbox', displayName: 'Pool Car', ...resource },
    { kind: 'mail-user', firstName: 'Ada', lastName: 'Partner', displayName: 'Ada Partner', alias: 'adap', samAccountName: 'adap', userPrincipalName: ADDRESS('adap'), externalAddress: 'ada@partner.example', company: 'Partner', department: 'Sales' },
    { kind: 'mail-contact', displayName: 'Vera Vendor', alias: 'vera', externalAddress: 'vera@vendor.example', firstName: 'Vera', lastName: 'Vendor', company: 'Vendor' },
    ...groups,
  ];
}

const TARGET_TYPES = ['UserMailbox', 'SharedMailbox', 'RoomMailbox', 'EquipmentMailbox', 'MailUser', 'MailContact', 'MailUniversalDistributionGroup', 'MailUniversalSecurityGroup', 'MailNonUniversalGroup'];
const CLASS_OU: Record<AdObjectClass, OuGroup> = { user: 'users', contact: 'contacts', group: 'groups' };

function changeRequests(ous: Record<OuGroup, string>): RecipientRequest[] {
  const out: RecipientRequest[] = [];
  for (const type of TARGET_TYPES) {
    const cls = adClassOfRecipientType(type);
    const mailbox = /Mailbox$/.test(type);
    for (const isExchangeCloudManaged of mailbox ? [false, true] : [null]) {
      const target: TargetRecipient = {
        identity: ADDRESS('target'), name: 'Target', type, primarySmtpAddress: ADDRESS('target'), isDirSynced: true, isExchangeCloudManaged,
        adDn: `CN=Target,${ous[CLASS_OU[cls]]}`, ...(cls === 'user' ? { userPrincipalName: ADDRESS('target') } : {}),
      };
      out.push(
        { kind: 'primary-address', target, newAddress: ADDRESS('new') },
        { kind: 'secondary-address-add', target, address: ADDRESS('second') },
        { kind: 'secondary-address-remove', target, address: ADDRESS('old') },
      );
      if (mailbox) {
        for (const enabled of [true, false]) out.push({ kind: 'cloud-managed', target, enabled });
        for (const t of ['Regular', 'Shared', 'Room', 'Equipment'] as const) out.push({ kind: 'mailbox-type', target, type: t, adjustLicence: true });
        const inGroup = { identity: ADDRESS('team'), name: 'Team', type: 'MailUniversalDistributionGroup', primarySmtpAddress: ADDRESS('team'), isDirSynced: true, adDn: `CN=Team,${ous.groups}` };
        out.push({ kind: 'offboarding', target, disableAccount: true, revokeSessions: true, convertToShared: true, removeLicence: true, hideFromAddressLists: true, removeFromGroups: [inGroup] });
        out.push({ kind: 'offboarding', target, disableAccount: true, revokeSessions: true, convertToShared: false, removeLicence: true, hideFromAddressLists: true, removeFromGroups: [] });
        for (const hidden of [true, false]) out.push({ kind: 'address-list-visibility', target, hidden });
        const user = { identity: ADDRESS('ada'), name: 'Ada Byron', type: 'UserMailbox', primarySmtpAddress: ADDRESS('ada'), isDirSynced: true, adDn: `CN=Ada Byron,${ous.users}` };
        for (const permission of ['FullAccess', 'SendAs', 'SendOnBehalf'] as const) {
          out.push({ kind: 'mailbox-permission-grant', target, permission, users: [user], ...(permission === 'FullAccess' ? { autoMapping: true } : {}) });
          out.push({ kind: 'mailbox-permission-revoke', target, permission, users: [user] });
        }
      }
      if (cls === 'group') {
        const member = { identity: ADDRESS('ada'), name: 'Ada Byron', type: 'UserMailbox', primarySmtpAddress: ADDRESS('ada'), isDirSynced: true, adDn: `CN=Ada Byron,${ous.users}` };
        out.push({ kind: 'group-member-add', target, members: [member] }, { kind: 'group-member-remove', target, members: [member] });
      }
    }
  }
  return out;
}

function profiles(ous: Record<OuGroup, string>, licensingGroupDn: string | undefined, adHasExchangeSchema: boolean): TenantProfile[] {
  const base: TenantProfile = {
    exchangeAttributeMode: 'ad-mastered', sync: 'connect', licensing: { mode: 'direct', skuId: DUMMY_GUID, skuName: 'Exchange Online (Plan 1)' }, ous,
    upnSuffix: 'contoso.example', mailDomain: 'contoso.example', tenantDomain: 'contoso.onmicrosoft.com', defaultUsageLocation: 'DE',
    roomsKeepLicence: false, naming: DEFAULT_NAMING, cloudManageNewMailboxes: false, adHasExchangeSchema,
  };
  const licensings: TenantProfile['licensing'][] = [base.licensing, { mode: 'group', groupId: DUMMY_GUID, groupName: 'Licensed' }];
  if (licensingGroupDn) licensings.push({ mode: 'group', groupId: DUMMY_GUID, groupName: 'Licensed', adGroupDn: licensingGroupDn });
  const out: TenantProfile[] = [];
  // The sync engine changes only the waits, not what is written in AD: one is enough.
  for (const exchangeAttributeMode of ['ad-mastered', 'cloud-default'] as const) {
    for (const licensing of licensings) {
      for (const roomsKeepLicence of [false, true]) {
        for (const cloudManageNewMailboxes of exchangeAttributeMode === 'cloud-default' ? [true] : [false, true]) {
          out.push({ ...base, exchangeAttributeMode, licensing, roomsKeepLicence, cloudManageNewMailboxes });
        }
      }
    }
  }
  return out;
}

/** A run in which every step of the plan was done and every create step created its object. */
function everythingDone(p: Plan): RunStepFacts[] {
  return p.steps.map((s) => {
    const i = s.input as { dn?: string };
    const created = s.action === 'ad.createUser' || s.action === 'ad.createContact' || s.action === 'ad.createGroup';
    return {
      stepId: s.id,
      action: s.action,
      status: 'done',
      input: s.input,
      result: created ? { changed: true, created: true, dn: i.dn, objectGuid: DUMMY_GUID, stamp: 'Created by Mailroom for R-1' } : { changed: true },
    };
  });
}

/** Every AD write of a plan and of its roll back, with the kind that plans it. */
export function planWrites(p: Plan): AdWrite[] {
  const targetClass = p.basedOn ? adClassOfRecipientType(p.basedOn.type) : undefined;
  const rollback = planRollback(p, everythingDone(p), 'R-1');
  return [...p.steps.flatMap((s) => adWritesOf(s, targetClass)), ...rollback.steps.flatMap((s) => adWritesOf(s, targetClass))];
}

/** The AD writes of the whole catalogue, each with the kind of the plan it came from. */
function catalogueWrites(ous: Record<OuGroup, string>, licensingGroupDn: string | undefined, adHasExchangeSchema: boolean): { kind: KindId; write: AdWrite }[] {
  const requests = [...creationRequests(ous), ...changeRequests(ous)];
  const out: { kind: KindId; write: AdWrite }[] = [];
  for (const profile of profiles(ous, licensingGroupDn, adHasExchangeSchema)) {
    for (const r of requests) {
      let p: Plan;
      try {
        p = plan(r, profile);
      } catch (err) {
        if (err instanceof PlanRefusedError) continue;
        throw err;
      }
      for (const write of planWrites(p)) out.push({ kind: r.kind, write });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------------------------

const norm = (dn: string): string => dn.replace(/\s*,\s*/g, ',').toLowerCase();
const kindList = (kinds: Iterable<KindId>): KindId[] => [...new Set(kinds)].sort((a, b) => KIND_IDS.indexOf(a) - KIND_IDS.indexOf(b));
const titles = (kinds: readonly KindId[]): string => kinds.map((k) => KINDS[k].title).join(', ');

function whyOf(kind: AdRightKind, cls: AdObjectClass, attribute: string | undefined, scope: 'ou' | 'object', neededBy: readonly KindId[]): string {
  const by = titles(neededBy);
  switch (kind) {
    case 'create-child':
      return `Mailroom creates new ${PLURAL[cls]} here (${by}).`;
    case 'delete-child':
      return `Rolling back a request deletes the ${PLURAL[cls]} it created here, only while they still carry Mailroom's stamp (${by}).`;
    case 'reset-password':
      return `Mailroom sets the first password of the ${PLURAL[cls]} it creates here, as an administrator resets one (${by}).`;
    default: {
      const purpose = PURPOSE[(attribute ?? '').toLowerCase()];
      const where = scope === 'object' ? `of this ${cls}` : `of ${PLURAL[cls]} here`;
      return `Mailroom changes ${attribute} ${where}${purpose ? `: it ${purpose}` : ''} (${by}).`;
    }
  }
}

const cache = new Map<string, AdRightsModel>();

/** The model for the configured OUs (and an AD licensing group, if there is one). */
export function adRightsModel(input: AdRightsInput): AdRightsModel {
  const key = JSON.stringify([OU_GROUPS.map((g) => input.ous[g] ?? null), input.licensingGroupDn ?? null]);
  let model = cache.get(key);
  if (!model) {
    model = buildModel(input);
    cache.set(key, model);
  }
  return model;
}

function buildModel(input: AdRightsInput): AdRightsModel {
  const ous = ousWithFallbacks(input.ous);
  // Without an OU for users (OU_USERS) Mailroom creates nothing anywhere: there is nothing to grant.
  if (!ous.users) return { ous: [], rights: [] };
  const withSchema = catalogueWrites(ous, input.licensingGroupDn, true);
  const withoutSchema = catalogueWrites(ous, input.licensingGroupDn, false);
  const unconditional = new Set(withoutSchema.map(({ write }) => write.attributes.map((a) => `${write.operation}/${write.objectClass}/${a.toLowerCase()}`)).flat());

  // Which OU each class is created in, from the plans (not from the configuration's names).
  const ouByKey = new Map<string, { dn: string; classes: Set<AdObjectClass> }>();
  for (const { write } of withSchema) {
    if (write.operation !== 'create' || !write.container) continue;
    const key = norm(write.container);
    const entry = ouByKey.get(key) ?? { dn: write.container, classes: new Set<AdObjectClass>() };
    entry.classes.add(write.objectClass);
    ouByKey.set(key, entry);
  }
  const createdIn = (cls: AdObjectClass): string[] => [...ouByKey.values()].filter((o) => o.classes.has(cls)).map((o) => o.dn);

  const rights = new Map<string, { kind: AdRightKind; on: string; scope: 'ou' | 'object'; objectClass: AdObjectClass; attribute?: string; kinds: Set<KindId>; conditional: boolean }>();
  const add = (kind: AdRightKind, on: string, scope: 'ou' | 'object', objectClass: AdObjectClass, neededBy: KindId, attribute?: string, conditional = false): void => {
    const key = `${kind}|${norm(on)}|${objectClass}|${(attribute ?? '').toLowerCase()}`;
    const r = rights.get(key) ?? { kind, on, scope, objectClass, ...(attribute ? { attribute } : {}), kinds: new Set<KindId>(), conditional };
    r.kinds.add(neededBy);
    r.conditional &&= conditional;
    rights.set(key, r);
  };
  for (const { kind, write } of withSchema) {
    const conditional = (a: string): boolean => !unconditional.has(`${write.operation}/${write.objectClass}/${a.toLowerCase()}`);
    switch (write.operation) {
      case 'create':
        if (write.container) add('create-child', write.container, 'ou', write.objectClass, kind);
        break;
      case 'delete':
        if (write.container) add('delete-child', write.container, 'ou', write.objectClass, kind);
        break;
      case 'reset-password':
        for (const ou of write.container ? [write.container] : createdIn(write.objectClass)) add('reset-password', ou, 'ou', write.objectClass, kind);
        break;
      case 'modify': {
        // An object a step has just created: its OU. An existing object in an OU Mailroom creates that class in: every
        // such OU (the objects Mailroom changes later are the ones it created). Any other object: that object only.
        const inMailroomOu = write.container !== undefined && createdIn(write.objectClass).some((o) => norm(o) === norm(write.container!));
        const targets: [string, 'ou' | 'object'][] =
          write.dn === undefined
            ? write.container
              ? [[write.container, 'ou']]
              : createdIn(write.objectClass).map((o) => [o, 'ou'])
            : inMailroomOu
              ? createdIn(write.objectClass).map((o) => [o, 'ou'])
              : [[write.dn, 'object']];
        for (const [on, scope] of targets) for (const a of write.attributes) add('write-property', on, scope, write.objectClass, kind, a, conditional(a));
        break;
      }
    }
  }

  const order: Record<AdRightKind, number> = { 'create-child': 0, 'delete-child': 1, 'reset-password': 2, 'write-property': 3 };
  const ouOrder = [...ouByKey.values()].map((o) => norm(o.dn));
  const list: AdRight[] = [...rights.values()]
    .map((r) => {
      const neededBy = kindList(r.kinds);
      return {
        kind: r.kind,
        on: r.on,
        scope: r.scope,
        objectClass: r.objectClass,
        ...(r.attribute ? { attribute: r.attribute } : {}),
        ...(r.conditional ? { onlyIf: r.attribute?.toLowerCase() === 'publicdelegates' ? ('public-delegates' as const) : ('exchange-schema' as const) } : {}),
        why: whyOf(r.kind, r.objectClass, r.attribute, r.scope, neededBy),
        neededBy,
      };
    })
    .sort(
      (a, b) =>
        (a.scope === b.scope ? 0 : a.scope === 'ou' ? -1 : 1) ||
        ouOrder.indexOf(norm(a.on)) - ouOrder.indexOf(norm(b.on)) ||
        CLASS_ORDER.indexOf(a.objectClass) - CLASS_ORDER.indexOf(b.objectClass) ||
        order[a.kind] - order[b.kind] ||
        (a.attribute ?? '').localeCompare(b.attribute ?? '', 'en', { sensitivity: 'base' }),
    );

  const usedOus: OuUse[] = [...ouByKey.values()].map((o) => ({
    dn: o.dn,
    groups: OU_GROUPS.filter((g) => norm(ous[g]) === norm(o.dn)),
    classes: CLASS_ORDER.filter((c) => o.classes.has(c)),
  }));
  return { ous: usedOus, rights: list };
}

/** The model for a configuration: its OUs (config.profile.ous). */
export function adRightsFromConfig(config: Pick<MailroomConfig, 'profile'>): AdRightsModel {
  return adRightsModel({ ous: config.profile.ous });
}

/** The rights that apply: those only needed with Exchange's schema are left out when AD lacks it. */
export function applicableRights(model: AdRightsModel, exchangeSchema: boolean, publicDelegates = false): AdRight[] {
  return model.rights.filter((r) => r.onlyIf === undefined || (exchangeSchema && (r.onlyIf === 'exchange-schema' || publicDelegates)));
}

/** Whether one AD write is covered by the model (for tests: every write of every plan must be). */
export function coveredBy(model: AdRightsModel, write: AdWrite): string[] {
  const missing: string[] = [];
  const has = (kind: AdRightKind, on: string | undefined, attribute?: string): boolean =>
    model.rights.some(
      (r) =>
        r.kind === kind &&
        r.objectClass === write.objectClass &&
        (on === undefined || norm(r.on) === norm(on)) &&
        (attribute === undefined || (r.attribute ?? '').toLowerCase() === attribute.toLowerCase()),
    );
  switch (write.operation) {
    case 'create':
      if (!has('create-child', write.container)) missing.push(`create ${write.objectClass} in ${write.container}`);
      break;
    case 'delete':
      if (!has('delete-child', write.container)) missing.push(`delete ${write.objectClass} in ${write.container}`);
      break;
    case 'reset-password':
      if (!has('reset-password', write.container)) missing.push(`reset the password of a ${write.objectClass} in ${write.container}`);
      break;
    case 'modify':
      for (const a of write.attributes) {
        const onOu = model.rights.some((r) => r.kind === 'write-property' && r.scope === 'ou' && r.objectClass === write.objectClass && (r.attribute ?? '').toLowerCase() === a.toLowerCase() && (write.container === undefined || norm(r.on) === norm(write.container)));
        const onObject = write.dn !== undefined && model.rights.some((r) => r.kind === 'write-property' && r.scope === 'object' && norm(r.on) === norm(write.dn!) && (r.attribute ?? '').toLowerCase() === a.toLowerCase());
        if (!onOu && !onObject) missing.push(`write ${a} of a ${write.objectClass} in ${write.container ?? write.dn ?? '?'}`);
      }
      break;
  }
  return missing;
}
