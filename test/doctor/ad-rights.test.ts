/**
 * The AD rights model (src/doctor/ad-rights.ts): made from the plans, it must cover every AD write of every plan
 * (a property over random valid requests of every kind in random tenants), adWritesOf must say what the AD executors
 * really write (they run on a recording port, fresh and as a re-run after a crash), and nothing in it is
 * domain-wide.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DIRECTORY_WRITES, Secret, type DirectoryObject, type NewContact, type NewGroup, type NewUser } from '../../src/directory';
import { adRightsModel, applicableRights, coveredBy, planWrites, type AdRightsModel } from '../../src/doctor/ad-rights';
import { silentLogger } from '../../src/log';
import { createdByStamp, plan, PlanRefusedError, type Plan, type Step } from '../../src/plans';
import { KIND_IDS, type KindId, type RecipientRequest, type TargetRecipient } from '../../src/requests/kinds';
import { DEFAULT_NAMING } from '../../src/requests/naming';
import { ousWithFallbacks, type OuGroup, type TenantProfile } from '../../src/requests/tenant-profile';
import { adExecutors } from '../../src/workflow/executors';
import type { AdDirectoryPort } from '../../src/workflow/executors/ad-port';
import { adClassOfRecipientType, adWritesOf, type AdObjectClass, type AdWrite } from '../../src/workflow/executors/ad-writes';
import type { StepContext } from '../../src/workflow/executors/types';
import { EncryptedSecretVault, MemorySecretStore } from '../../src/workflow/secret-vault';
import { CLOUD_DEFAULT, PROFILE } from '../requests/fixtures';
import { contact, equipment, group, mailUser, room, shared, userMailbox } from '../plans/fixtures';

const BASE = 'DC=corp,DC=example';
const LICENSING_GROUP = `CN=EXO Licensed,OU=Licensing,${BASE}`;
const SEPARATE: Record<OuGroup, string> = PROFILE.ous;
const ONE_OU: Partial<Record<OuGroup, string>> = { users: `OU=Mailroom,${BASE}` };
const SANDBOX_LIKE: Partial<Record<OuGroup, string>> = {
  users: `OU=Users,OU=Mailroom,${BASE}`, shared: `OU=Shared,OU=Mailroom,${BASE}`, rooms: `OU=Resources,OU=Mailroom,${BASE}`, equipment: `OU=Resources,OU=Mailroom,${BASE}`,
  mailUsers: `OU=Users,OU=Mailroom,${BASE}`, contacts: `OU=Contacts,OU=Mailroom,${BASE}`, groups: `OU=Groups,OU=Mailroom,${BASE}`,
};

const norm = (dn: string): string => dn.toLowerCase();

// ---------------------------------------------------------------------------------------------
// Random valid requests of every kind
// ---------------------------------------------------------------------------------------------

const word = fc.constantFrom('Ada', 'Zoë', "O'Neil", 'Müller-Lüdenscheidt', 'Grace', 'X', 'Team Sales', '营销部');
const local = fc.constantFrom('ada', 'ada.lovelace', 'sales', 'x', 'o.neil', 'team-sales');
const internal = local.map((l) => `${l}@contoso.example`);
const external = local.map((l) => `${l}@partner.example`);
const sam = fc.stringMatching(/^[a-z][a-z0-9]{0,12}$/);
const opt = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(a, { nil: undefined });
const country = fc.constantFrom('DE', 'GB', 'US');
const strip = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

const TYPES = ['UserMailbox', 'SharedMailbox', 'RoomMailbox', 'EquipmentMailbox', 'MailUser', 'MailContact', 'MailUniversalDistributionGroup', 'MailUniversalSecurityGroup', 'MailNonUniversalGroup'];

/** A target in an OU Mailroom creates its class in (the model's premise: Mailroom changes the recipients it created). */
function targetIn(ous: Record<OuGroup, string>, types: readonly string[] = TYPES): fc.Arbitrary<TargetRecipient> {
  return fc.record({ type: fc.constantFrom(...types), cloudManaged: fc.boolean(), isDirSynced: fc.boolean(), hasDn: fc.boolean(), name: word, address: internal, pick: fc.nat(6) }).map((t) => {
    const cls = adClassOfRecipientType(t.type);
    const choices: OuGroup[] = cls === 'user' ? ['users', 'shared', 'rooms', 'equipment', 'mailUsers'] : cls === 'contact' ? ['contacts'] : ['groups'];
    const ou = ous[choices[t.pick % choices.length]!];
    return strip({
      identity: t.address, name: t.name, type: t.type, primarySmtpAddress: t.address, isDirSynced: t.isDirSynced,
      isExchangeCloudManaged: /Mailbox$/.test(t.type) ? t.cloudManaged : null,
      adDn: t.hasDn || t.isDirSynced ? `CN=${t.name},${ou}` : undefined,
      userPrincipalName: cls === 'user' ? t.address : undefined,
    });
  });
}

function requests(ous: Record<OuGroup, string>): fc.Arbitrary<RecipientRequest> {
  // The targets validation lets through for each kind (mailbox kinds need a mailbox; offboarding a user mailbox).
  const target = targetIn(ous);
  const mailbox = targetIn(ous, TYPES.filter((t) => /Mailbox$/.test(t)));
  const person = targetIn(ous, ['UserMailbox']);
  const member = fc.record({ identity: internal, name: word, adDn: word.map((w) => `CN=${w},${ous.users}`) });
  const group = targetIn(ous, TYPES.filter((t) => /Group$/.test(t)));
  const permissionName = fc.constantFrom('FullAccess' as const, 'SendAs' as const, 'SendOnBehalf' as const);
  const ref = fc.record({ identity: internal, name: word, type: fc.constantFrom('UserMailbox', 'MailUser', 'MailUniversalSecurityGroup'), primarySmtpAddress: internal, isDirSynced: fc.constant(true), adDn: word.map((w) => `CN=${w},${ous.users}`) });
  const groupRef = fc.record({ identity: internal, name: word, type: fc.constant('MailUniversalDistributionGroup'), primarySmtpAddress: internal, isDirSynced: fc.constant(true), adDn: word.map((w) => `CN=${w},${ous.groups}`) });
  const byKind: Record<KindId, fc.Arbitrary<RecipientRequest>> = {
    'user-mailbox': fc.record({ firstName: word, lastName: word, displayName: word, alias: local, samAccountName: sam, userPrincipalName: internal, primarySmtpAddress: internal, usageLocation: country, department: opt(word), jobTitle: opt(word) })
      .map((r) => strip({ kind: 'user-mailbox' as const, ...r })),
    'shared-mailbox': fc.record({ displayName: word, alias: local, samAccountName: sam, userPrincipalName: internal, primarySmtpAddress: internal, usageLocation: opt(country) }).map((r) => strip({ kind: 'shared-mailbox' as const, ...r })),
    'room-mailbox': fc.record({ displayName: word, alias: local, samAccountName: sam, userPrincipalName: internal, primarySmtpAddress: internal, usageLocation: opt(country), capacity: opt(fc.nat(500)) }).map((r) => strip({ kind: 'room-mailbox' as const, ...r })),
    'equipment-mailbox': fc.record({ displayName: word, alias: local, samAccountName: sam, userPrincipalName: internal, primarySmtpAddress: internal, usageLocation: opt(country) }).map((r) => strip({ kind: 'equipment-mailbox' as const, ...r })),
    'mail-user': fc.record({ firstName: word, lastName: word, displayName: word, alias: local, samAccountName: sam, userPrincipalName: internal, externalAddress: external, company: opt(word), department: opt(word) }).map((r) => strip({ kind: 'mail-user' as const, ...r })),
    'mail-contact': fc.record({ displayName: word, alias: local, externalAddress: external, firstName: opt(word), lastName: opt(word), company: opt(word) }).map((r) => strip({ kind: 'mail-contact' as const, ...r })),
    'distribution-group': fc.record({ displayName: word, alias: local, samAccountName: sam, primarySmtpAddress: internal, scope: fc.constantFrom('global' as const, 'universal' as const), securityEnabled: fc.boolean(), description: opt(word), members: fc.array(member, { maxLength: 3 }) })
      .map((r) => strip({ kind: 'distribution-group' as const, ...r })),
    'primary-address': fc.record({ target, newAddress: internal }).map((r) => ({ kind: 'primary-address' as const, ...r })),
    'secondary-address-add': fc.record({ target, address: internal }).map((r) => ({ kind: 'secondary-address-add' as const, ...r })),
    'secondary-address-remove': fc.record({ target, address: internal }).map((r) => ({ kind: 'secondary-address-remove' as const, ...r })),
    'cloud-managed': fc.record({ target: mailbox, enabled: fc.boolean() }).map((r) => ({ kind: 'cloud-managed' as const, ...r })),
    'mailbox-type': fc.record({ target: mailbox, type: fc.constantFrom('Regular' as const, 'Shared' as const, 'Room' as const, 'Equipment' as const), adjustLicence: fc.boolean() }).map((r) => ({ kind: 'mailbox-type' as const, ...r })),
    offboarding: fc.record({ target: person, disableAccount: fc.boolean(), revokeSessions: fc.boolean(), convertToShared: fc.boolean(), removeLicence: fc.boolean(), hideFromAddressLists: fc.boolean(), removeFromGroups: fc.array(groupRef, { maxLength: 2 }) }).map((r) => ({ kind: 'offboarding' as const, ...r })),
    'mailbox-permission-grant': fc.record({ target: mailbox, permission: permissionName, users: fc.array(ref, { minLength: 1, maxLength: 3 }), autoMapping: fc.boolean() })
      .map((r) => ({ kind: 'mailbox-permission-grant' as const, ...r, ...(r.permission === 'FullAccess' ? {} : { autoMapping: undefined }) }))
      .map((r) => strip(r)),
    'mailbox-permission-revoke': fc.record({ target: mailbox, permission: permissionName, users: fc.array(ref, { minLength: 1, maxLength: 3 }) }).map((r) => ({ kind: 'mailbox-permission-revoke' as const, ...r })),
    'group-member-add': fc.record({ target: group, members: fc.array(ref, { minLength: 1, maxLength: 3 }) }).map((r) => ({ kind: 'group-member-add' as const, ...r })),
    'group-member-remove': fc.record({ target: group, members: fc.array(ref, { minLength: 1, maxLength: 3 }) }).map((r) => ({ kind: 'group-member-remove' as const, ...r })),
    'address-list-visibility': fc.record({ target: mailbox, hidden: fc.boolean() }).map((r) => ({ kind: 'address-list-visibility' as const, ...r })),
    'forwarding-set': fc.record({ target: mailbox, recipient: ref, keepCopy: fc.boolean() }).map((r) => ({ kind: 'forwarding-set' as const, ...r })),
    'forwarding-off': fc.record({ target: mailbox }).map((r) => ({ kind: 'forwarding-off' as const, ...r })),
    booking: fc.record({ target: targetIn(ous, ['RoomMailbox', 'EquipmentMailbox']), bookingWindowInDays: fc.nat(1080), allowConflicts: fc.boolean() }).map((r) => ({ kind: 'booking' as const, ...r })),
    'auto-reply': fc.record({ target: mailbox, enabled: fc.boolean(), message: word }).map((r) => ({ kind: 'auto-reply' as const, ...r })),
  };
  return fc.constantFrom(...KIND_IDS).chain((k) => byKind[k]);
}

const tenants = fc.record({
  ous: fc.constantFrom(SEPARATE, ONE_OU, SANDBOX_LIKE),
  mode: fc.constantFrom('ad-mastered' as const, 'cloud-default' as const),
  sync: fc.constantFrom('connect' as const, 'cloud' as const),
  licensing: fc.constantFrom<TenantProfile['licensing']>(PROFILE.licensing, { mode: 'group', groupId: 'g-1', groupName: 'EXO' }, { mode: 'group', groupId: 'g-2', groupName: 'EXO (AD)', adGroupDn: LICENSING_GROUP }),
  roomsKeepLicence: fc.boolean(),
  cloudManageNewMailboxes: fc.boolean(),
  adHasExchangeSchema: fc.boolean(),
}).map((t): TenantProfile => ({
  ...PROFILE, ous: ousWithFallbacks(t.ous), exchangeAttributeMode: t.mode, sync: t.sync, licensing: t.licensing, roomsKeepLicence: t.roomsKeepLicence,
  cloudManageNewMailboxes: t.mode === 'cloud-default' || t.cloudManageNewMailboxes, adHasExchangeSchema: t.adHasExchangeSchema, naming: DEFAULT_NAMING,
}));

/** The model as the doctor and the script apply it for a tenant: its OUs, its AD licensing group, its schema. */
function modelFor(p: TenantProfile): AdRightsModel {
  const model = adRightsModel({ ous: p.ous, ...(p.licensing.mode === 'group' && p.licensing.adGroupDn ? { licensingGroupDn: p.licensing.adGroupDn } : {}) });
  // An AD with Exchange's schema has publicDelegates too (only the sandbox's partial schema lacks it).
  return { ous: model.ous, rights: applicableRights(model, p.adHasExchangeSchema, p.adHasExchangeSchema) };
}

describe('the AD rights model', function () {
  this.timeout(120_000);

  it('covers every AD write of random valid plans of every kind, and of their roll backs (property, 4000 runs)', function () {
    const seen = new Set<string>();
    let planned = 0;
    fc.assert(
      fc.property(
        tenants.chain((profile) => fc.tuple(fc.constant(profile), requests(profile.ous))),
        ([profile, r]) => {
          let p: Plan;
          try {
            p = plan(r, profile);
          } catch (err) {
            if (err instanceof PlanRefusedError) return;
            throw err;
          }
          planned += 1;
          const model = modelFor(profile);
          for (const w of planWrites(p)) {
            seen.add(`${w.operation}/${w.objectClass}`);
            assert.deepEqual(coveredBy(model, w), [], `${r.kind} in ${profile.exchangeAttributeMode}: ${JSON.stringify(w)}`);
          }
        },
      ),
      { numRuns: 4000 },
    );
    assert.ok(planned > 1000, `only ${planned} requests were planned`);
    // Every kind of write happened, for every class it applies to.
    for (const w of ['create/user', 'create/contact', 'create/group', 'delete/user', 'delete/contact', 'delete/group', 'reset-password/user', 'modify/user', 'modify/contact', 'modify/group']) {
      assert.ok(seen.has(w), `no plan wrote ${w}`);
    }
  });

  it('is made of rights on the OUs Mailroom creates in (and an AD licensing group), nothing domain-wide', function () {
    const model = adRightsModel({ ous: SANDBOX_LIKE, licensingGroupDn: LICENSING_GROUP });
    const ous = new Set(Object.values(SANDBOX_LIKE).map(norm));
    assert.deepEqual(model.ous.map((o) => [o.dn, o.classes.join(',')]), [
      [SANDBOX_LIKE.users, 'user'], [SANDBOX_LIKE.shared, 'user'], [SANDBOX_LIKE.rooms, 'user'], [SANDBOX_LIKE.contacts, 'contact'], [SANDBOX_LIKE.groups, 'group'],
    ]);
    for (const r of model.rights) {
      if (r.scope === 'ou') assert.ok(ous.has(norm(r.on)), `${r.kind} on ${r.on}`);
      else assert.deepEqual([r.on, r.kind, r.attribute], [LICENSING_GROUP, 'write-property', 'member']);
      assert.notEqual(norm(r.on), norm(BASE), 'nothing on the domain');
      assert.ok(r.why.length > 20 && r.neededBy.length > 0, r.why);
    }
    const users = model.rights.filter((r) => r.on === SANDBOX_LIKE.users);
    assert.deepEqual(users.map((r) => `${r.kind}${r.attribute ? `:${r.attribute}` : ''}${r.onlyIf ? '?' : ''}`), [
      'create-child', 'delete-child', 'reset-password',
      'write-property:mail', 'write-property:msExchHideFromAddressLists?', 'write-property:proxyAddresses', 'write-property:publicDelegates?', 'write-property:pwdLastSet', 'write-property:targetAddress', 'write-property:userAccountControl',
    ]);
    // The attributes of the LDAP add (displayName, givenName, sAMAccountName …) need only Create child.
    for (const a of ['displayName', 'givenName', 'sAMAccountName', 'userPrincipalName', 'description', 'mailNickname', 'cn', 'groupType']) {
      assert.ok(!model.rights.some((r) => r.attribute === a), `${a} is granted`);
    }
    assert.deepEqual(model.rights.filter((r) => r.on === SANDBOX_LIKE.contacts).map((r) => `${r.kind}${r.attribute ? `:${r.attribute}` : ''}`), ['create-child', 'delete-child', 'write-property:mail', 'write-property:proxyAddresses']);
    assert.deepEqual(model.rights.filter((r) => r.on === SANDBOX_LIKE.groups).map((r) => `${r.kind}${r.attribute ? `:${r.attribute}` : ''}`), ['create-child', 'delete-child', 'write-property:mail', 'write-property:member', 'write-property:proxyAddresses']);
    // pwdLastSet only where users who must change their first password are created (not shared/room/equipment).
    assert.ok(!model.rights.some((r) => r.attribute === 'pwdLastSet' && r.on !== SANDBOX_LIKE.users));
  });

  it('msExchHideFromAddressLists and publicDelegates are needed only when AD has Exchange\'s schema', function () {
    const model = adRightsModel({ ous: SEPARATE });
    const exchange = ['msExchHideFromAddressLists', 'publicDelegates'];
    for (const attribute of exchange) {
      const rights = model.rights.filter((r) => r.attribute === attribute);
      assert.ok(rights.length > 0 && rights.every((r) => r.onlyIf === (attribute === 'publicDelegates' ? 'public-delegates' : 'exchange-schema')), attribute);
      assert.ok(!applicableRights(model, false).some((r) => r.attribute === attribute), attribute);
    }
    // publicDelegates only where AD has it too (the sandbox's partial Exchange schema has msExchHideFromAddressLists only)
    assert.ok(!applicableRights(model, true).some((r) => r.attribute === 'publicDelegates'));
    assert.ok(applicableRights(model, true, true).some((r) => r.attribute === 'publicDelegates'));
    assert.ok(model.rights.filter((r) => !exchange.includes(r.attribute ?? '')).every((r) => r.onlyIf === undefined));
  });
});

// ---------------------------------------------------------------------------------------------
// adWritesOf is what the executors write
// ---------------------------------------------------------------------------------------------

interface Recorded {
  operation: AdWrite['operation'];
  objectClass: AdObjectClass;
  attributes: string[];
}

/** A port that records what the executors ask AD to write, in adWritesOf's terms (DIRECTORY_WRITES for the client's own). */
class RecordingPort implements AdDirectoryPort {
  readonly writes: Recorded[] = [];
  constructor(private readonly objects: Map<string, DirectoryObject>) {}
  private classOf(dn: string): AdObjectClass {
    const o = this.objects.get(norm(dn));
    return (o?.objectClass as AdObjectClass | undefined) ?? 'user';
  }
  private record(operation: Recorded['operation'], objectClass: AdObjectClass, attributes: readonly string[]): void {
    if (operation === 'modify' && attributes.length === 0) return;
    this.writes.push({ operation, objectClass, attributes: [...attributes] });
  }
  get(dn: string): Promise<DirectoryObject | null> {
    return Promise.resolve(this.objects.get(norm(dn)) ?? null);
  }
  whoHas(): Promise<never[]> {
    return Promise.resolve([]);
  }
  createUser(u: NewUser): Promise<{ dn: string; objectGuid: string }> {
    this.record('create', 'user', [...DIRECTORY_WRITES.createUser.add, ...Object.keys(u.attributes ?? {})]);
    if (u.password !== undefined) this.record('reset-password', 'user', ['unicodePwd']);
    if (u.password !== undefined && u.mustChangePassword) this.record('modify', 'user', ['pwdLastSet']);
    if (u.enabled) this.record('modify', 'user', ['userAccountControl']);
    return Promise.resolve({ dn: `CN=${u.cn},${u.parentDn}`, objectGuid: '00000000-0000-4000-8000-000000000001' });
  }
  createContact(c: NewContact): Promise<{ dn: string; objectGuid: string }> {
    this.record('create', 'contact', [...DIRECTORY_WRITES.createContact.add, ...Object.keys(c.attributes ?? {})]);
    return Promise.resolve({ dn: `CN=${c.cn},${c.parentDn}`, objectGuid: '00000000-0000-4000-8000-000000000002' });
  }
  createGroup(g: NewGroup): Promise<{ dn: string; objectGuid: string }> {
    this.record('create', 'group', [...DIRECTORY_WRITES.createGroup.add, ...Object.keys(g.attributes ?? {})]);
    return Promise.resolve({ dn: `CN=${g.cn},${g.parentDn}`, objectGuid: '00000000-0000-4000-8000-000000000003' });
  }
  setAttributes(dn: string, changes: Readonly<Record<string, unknown>>): Promise<void> {
    this.record('modify', this.classOf(dn), Object.keys(changes));
    return Promise.resolve();
  }
  addValues(dn: string, attribute: string, add: readonly string[]): Promise<{ changed: string[]; unchanged: string[] }> {
    this.record('modify', this.classOf(dn), [attribute]);
    return Promise.resolve({ changed: [...add], unchanged: [] });
  }
  removeValues(dn: string, attribute: string, remove: readonly string[]): Promise<{ changed: string[]; unchanged: string[] }> {
    this.record('modify', this.classOf(dn), [attribute]);
    return Promise.resolve({ changed: [...remove], unchanged: [] });
  }
  groupMembers(): Promise<string[]> {
    return Promise.resolve([]); // a read: nothing to record
  }
  addGroupMembers(_dn: string, members: readonly string[]): Promise<{ changed: string[]; unchanged: string[] }> {
    this.record('modify', 'group', [...DIRECTORY_WRITES.addGroupMembers.modify]);
    return Promise.resolve({ changed: [...members], unchanged: [] });
  }
  removeGroupMembers(_dn: string, members: readonly string[]): Promise<{ changed: string[]; unchanged: string[] }> {
    this.record('modify', 'group', [...DIRECTORY_WRITES.removeGroupMembers.modify]);
    return Promise.resolve({ changed: [...members], unchanged: [] });
  }
  disableAccount(dn: string): Promise<{ changed: boolean }> {
    this.record('modify', this.classOf(dn), [...DIRECTORY_WRITES.disableAccount.modify]);
    return Promise.resolve({ changed: true });
  }
  enableAccount(dn: string): Promise<{ changed: boolean }> {
    this.record('modify', this.classOf(dn), [...DIRECTORY_WRITES.enableAccount.modify]);
    return Promise.resolve({ changed: true });
  }
  delete(dn: string): Promise<'deleted'> {
    this.record('delete', this.classOf(dn), []);
    return Promise.resolve('deleted');
  }
  setPassword(dn: string, _p: Secret, options?: { mustChange?: boolean }): Promise<void> {
    this.record('reset-password', this.classOf(dn), ['unicodePwd']);
    if (options?.mustChange) this.record('modify', this.classOf(dn), ['pwdLastSet']);
    return Promise.resolve();
  }
  generatePassword(): Promise<Secret> {
    return Promise.resolve(new Secret('Aa1!generated-for-test'));
  }
}

function object(dn: string, objectClass: AdObjectClass, extra: Partial<DirectoryObject> = {}): DirectoryObject {
  return { dn, objectGuid: '00000000-0000-4000-8000-0000000000aa', objectClass, objectClasses: ['top', objectClass], proxyAddresses: ['SMTP:old@contoso.example', 'smtp:x@contoso.example'], mail: 'old@contoso.example', ...extra };
}

describe('adWritesOf: what the AD executors write', function () {
  const REFERENCE = 'R-7';
  const ctx = (stepId: string): StepContext => ({ reference: REFERENCE, requestId: 7, stepId, attempt: 1, now: new Date(), log: silentLogger, results: {} });
  const vault = (): EncryptedSecretVault => new EncryptedSecretVault(Buffer.alloc(32, 3), new MemorySecretStore());
  const target = (type: string, dn: string): TargetRecipient => ({ identity: 'target@contoso.example', name: 'Target', type, primarySmtpAddress: 'old@contoso.example', isDirSynced: true, isExchangeCloudManaged: false, adDn: dn, userPrincipalName: 'target@contoso.example' });

  function plans(): Plan[] {
    const ous = ousWithFallbacks(SANDBOX_LIKE);
    const adGroup: TenantProfile = { ...PROFILE, ous, adHasExchangeSchema: true, licensing: { mode: 'group', groupId: 'g', groupName: 'EXO', adGroupDn: LICENSING_GROUP } };
    const out: Plan[] = [];
    for (const r of [userMailbox, shared, room, equipment, mailUser, contact, group]) out.push(plan(r, { ...PROFILE, ous }), plan(r, adGroup));
    out.push(plan(userMailbox, { ...CLOUD_DEFAULT, ous }));
    for (const type of TYPES) {
      const cls = adClassOfRecipientType(type);
      const t = target(type, `CN=Target,${cls === 'user' ? ous.users : cls === 'contact' ? ous.contacts : ous.groups}`);
      const reqs: RecipientRequest[] = [
        { kind: 'primary-address', target: t, newAddress: 'new@contoso.example' },
        { kind: 'secondary-address-add', target: t, address: 'second@contoso.example' },
        { kind: 'secondary-address-remove', target: t, address: 'x@contoso.example' },
        ...(/Mailbox$/.test(type) ? [{ kind: 'mailbox-type' as const, target: t, type: 'Regular' as const, adjustLicence: true }] : []),
        ...(type === 'UserMailbox' ? [{ kind: 'offboarding' as const, target: t, disableAccount: true, revokeSessions: true, convertToShared: true, removeLicence: true, hideFromAddressLists: true, removeFromGroups: [] }] : []),
      ];
      for (const r of reqs) {
        for (const p of [adGroup, { ...CLOUD_DEFAULT, ous }]) {
          try {
            out.push(plan(r, p));
          } catch (err) {
            if (!(err instanceof PlanRefusedError)) throw err;
          }
        }
      }
    }
    return out;
  }

  /** The objects the AD steps of a plan find: its target, and (for a re-run) what its create steps made. */
  function world(p: Plan, rerun: boolean): Map<string, DirectoryObject> {
    const m = new Map<string, DirectoryObject>();
    if (p.basedOn?.adDn) m.set(norm(p.basedOn.adDn), object(p.basedOn.adDn, adClassOfRecipientType(p.basedOn.type), { description: 'made by hand', enabled: true }));
    m.set(norm(LICENSING_GROUP), object(LICENSING_GROUP, 'group'));
    for (const s of p.steps) {
      const i = s.input as { dn?: string; samAccountName?: string; userPrincipalName?: string; accountEnabled?: boolean };
      const cls = s.action === 'ad.createUser' ? 'user' : s.action === 'ad.createContact' ? 'contact' : s.action === 'ad.createGroup' ? 'group' : undefined;
      if (!cls || !i.dn) continue;
      // Created before a crash: the object is there, ours, and (users) in the state that makes the re-run finish it.
      if (rerun) m.set(norm(i.dn), object(i.dn, cls, { description: createdByStamp(REFERENCE), samAccountName: i.samAccountName, userPrincipalName: i.userPrincipalName, ...(cls === 'user' ? { enabled: !i.accountEnabled } : {}) }));
    }
    return m;
  }

  async function check(p: Plan, rerun: boolean): Promise<number> {
    const targetClass = p.basedOn ? adClassOfRecipientType(p.basedOn.type) : undefined;
    const stepsOf = (list: readonly Step[]): Step[] => list.filter((s) => s.system === 'ad');
    let checked = 0;
    for (const s of stepsOf(p.steps)) {
      const port = new RecordingPort(world(p, rerun));
      const executor = adExecutors({ directory: port, vault: vault() }).find((e) => e.action === s.action);
      assert.ok(executor, s.action);
      await executor.run(s.input, ctx(s.id));
      const declared = adWritesOf(s, targetClass);
      for (const w of port.writes) {
        const ok = declared.some((d) => d.operation === w.operation && d.objectClass === w.objectClass && w.attributes.every((a) => d.attributes.some((b) => b.toLowerCase() === a.toLowerCase())));
        assert.ok(ok, `${p.kind} ${s.action}${rerun ? ' (re-run)' : ''} wrote ${JSON.stringify(w)}, adWritesOf says ${JSON.stringify(declared)}`);
        checked += 1;
      }
    }
    return checked;
  }

  it('every write of every AD step, fresh and re-run after a crash, is among adWritesOf(step)', async function () {
    let checked = 0;
    for (const p of plans()) {
      checked += await check(p, false);
      checked += await check(p, true);
    }
    assert.ok(checked > 50, `only ${checked} writes were checked`);
  });

  it('the roll back deletes with Delete child only, of the class it created', async function () {
    for (const p of plans().filter((x) => x.steps.some((s) => s.action.startsWith('ad.create')))) {
      const deletes = planWrites(p).filter((w) => w.operation === 'delete');
      const creates = planWrites(p).filter((w) => w.operation === 'create');
      assert.deepEqual(deletes.map((d) => [d.objectClass, d.container]), creates.map((c) => [c.objectClass, c.container]), p.kind);
      await Promise.resolve();
    }
  });
});
