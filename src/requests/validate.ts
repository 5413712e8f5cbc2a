/**
 * Validation of a request's raw values (from the form card or the one-line command; the same shape) into a
 * typed request. Every bad input yields FieldErrors that say which field, why, and what would be accepted;
 * nothing here throws for bad input. Only a failing lookup (an outage) rejects, with a
 * LookupUnavailableError saying which check could not be made.
 *
 * Windows AD's rules apply, not Samba's leniency (docs/samba-ad.md). Names and addresses must be free in
 * AD and Exchange Online; values left empty are filled from the naming policy.
 */
import { countryCodeFrom } from './countries';
import {
  KIND_FIELD,
  KINDS,
  REQUEST_FIELD,
  isGroupType,
  isKindId,
  isMailboxType,
  recipientTypeOfMailboxType,
  type DistributionGroupRequest,
  type FieldDef,
  type FieldError,
  type GroupMember,
  type KindDef,
  type KindId,
  type MailboxPermissionName,
  type MailboxTypeName,
  type RecipientRef,
  type RecipientRequest,
  type TargetRecipient,
} from './kinds';
import { ask, type AcceptedDomain, type FoundRecipient, type Holder, type RecipientCandidate, type RecipientLookup } from './lookup';
import { applyTemplate, deriveFree, holdersOf, MAX_SUFFIX, valueFor, withSuffix, type Derivation, type NameSlot } from './naming';
import {
  ALIAS_RULE,
  LIMITS,
  aliasProblem,
  domainOf,
  exampleFrom,
  identityProblem,
  identityWildcardProblem,
  samAccountNameProblem,
  smtpAddressProblem,
  upnProblem,
} from './syntax';
import { describeType, exchangeAuthority, kindRefusal, primaryAuthority, type TenantProfile } from './tenant-profile';
import { lengthOf, show, unusableCharacters } from './text';

export interface ValidationContext {
  readonly lookup: RecipientLookup;
  readonly profile: TenantProfile;
}

export type ValidationResult = { readonly ok: true; readonly request: RecipientRequest } | { readonly ok: false; readonly errors: FieldError[] };

/** At most this many initial members in one request. */
const MAX_INITIAL_MEMBERS = 100;

/** At most this many users in one permission request, and members in one membership request. */
const MAX_PERMISSION_USERS = 50;
const MAX_MEMBERS_CHANGED = 100;

/** An error lists at most this many of the recipients an identity matched. */
const MAX_LISTED_CANDIDATES = 10;

/** "matches 2 recipients: "Team Sales" (sales@…), "Sales" (sales@…)": each by name and primary address, at most 10. */
function candidatesText(identity: string, candidates: readonly RecipientCandidate[]): string {
  const listed = [...candidates]
    .sort((a, b) => a.name.localeCompare(b.name) || a.primarySmtpAddress.localeCompare(b.primarySmtpAddress))
    .slice(0, MAX_LISTED_CANDIDATES)
    .map((c) => `${show(c.name, 80)}${c.primarySmtpAddress ? ` (${c.primarySmtpAddress})` : ''}`);
  const more = candidates.length - listed.length;
  if (candidates.length < 2) return `${show(identity)} matches more than one recipient in Exchange Online${listed.length ? `, among them ${listed.join(', ')}` : ''}`;
  return `${show(identity)} matches ${candidates.length} recipients: ${listed.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}

const TRUE_WORDS = ['yes', 'y', 'true', '1', 'on'];
const FALSE_WORDS = ['no', 'n', 'false', '0', 'off'];

/** Reads and checks the generic rules of every field (type, characters, length, required, choices). */
class Form {
  readonly errors: FieldError[] = [];
  private readonly text = new Map<string, string>();
  private readonly bad = new Set<string>();

  constructor(
    readonly def: KindDef,
    raw: Readonly<Record<string, unknown>>,
    private readonly optionalAfterAll: ReadonlySet<string> = new Set(),
  ) {
    const unknown = Object.keys(raw).filter((key) => !def.fields.some((f) => f.id === key));
    if (unknown.length) {
      const named = unknown.slice(0, 3).map((k) => show(k)).join(', ') + (unknown.length > 3 ? ` and ${unknown.length - 3} more` : '');
      this.errors.push({ field: REQUEST_FIELD, message: `Unknown field${unknown.length === 1 ? '' : 's'} ${named} for ${def.title}. Fields: ${def.fields.map((f) => f.id).join(', ')}.` });
    }
    for (const f of def.fields) this.read(f, Object.prototype.hasOwnProperty.call(raw, f.id) ? raw[f.id] : undefined);
  }

  private fail(f: FieldDef | string, message: string): void {
    const id = typeof f === 'string' ? f : f.id;
    this.bad.add(id);
    this.errors.push({ field: id, message });
  }

  /** Adds an error for a field (by id) with its label in front. */
  error(id: string, message: string): void {
    const f = this.def.fields.find((x) => x.id === id);
    this.fail(id, f ? `${f.label}: ${message}` : message);
  }

  private read(f: FieldDef, v: unknown): void {
    let s: string;
    if (v === undefined || v === null) s = '';
    else if (typeof v === 'string') s = v;
    else if (typeof v === 'boolean' && f.type === 'toggle') s = String(v);
    else if (typeof v === 'number' && f.type === 'number' && Number.isFinite(v)) s = String(v);
    else {
      this.fail(f, `${f.label}: must be text, not ${Array.isArray(v) ? 'a list' : typeof v}.`);
      return;
    }
    s = s.trim();
    const unusable = unusableCharacters(s);
    if (unusable) return this.fail(f, `${f.label}: ${show(s)} ${unusable}. Type it again without it.`);
    if (f.maxLength !== undefined && lengthOf(s) > f.maxLength) {
      return this.fail(f, `${f.label}: ${show(s)} is ${lengthOf(s)} characters long; at most ${f.maxLength}.`);
    }
    if (s === '') {
      if (f.required && !this.optionalAfterAll.has(f.id)) this.fail(f, `${f.label} is required${f.placeholder ? `, e.g. ${f.placeholder}` : ''}.`);
      return;
    }
    this.text.set(f.id, s);
    if (f.type === 'toggle') {
      const w = s.toLowerCase();
      if (!TRUE_WORDS.includes(w) && !FALSE_WORDS.includes(w)) this.fail(f, `${f.label}: ${show(s)} is not yes or no. Use yes or no.`);
    } else if (f.type === 'number') {
      const n = /^\d{1,9}$/.test(s) ? Number(s) : NaN;
      if (!Number.isInteger(n) || (f.min !== undefined && n < f.min) || (f.max !== undefined && n > f.max)) {
        this.fail(f, `${f.label}: ${show(s)} is not a whole number from ${f.min ?? 0} to ${f.max ?? 'any'}. Use digits only, e.g. ${f.placeholder ?? '1'}.`);
      }
    } else if (f.type === 'choice') {
      if (this.matchChoice(f, s) === undefined) {
        const list = f.id === 'usageLocation' ? 'a two-letter ISO country code such as DE, GB, US' : (f.choices ?? []).map((c) => c.value).join(', ');
        this.fail(f, `${f.label}: ${show(s)} is not one of the choices. Use ${list}.`);
      }
    }
  }

  private matchChoice(f: FieldDef, s: string): string | undefined {
    const w = s.toLowerCase();
    if (f.id === 'usageLocation') return countryCodeFrom(w);
    if (f.id === 'permission') {
      const bare = w.replace(/[^a-z]/g, '');
      if (bare === 'fullaccess' || bare === 'full') return 'FullAccess';
      if (bare === 'sendas') return 'SendAs';
      if (bare === 'sendonbehalf' || bare === 'onbehalf' || bare === 'sendonbehalfof' || bare === 'grantsendonbehalfto') return 'SendOnBehalf';
    }
    if (f.id === 'state') {
      if (TRUE_WORDS.includes(w) || w === 'enable' || w === 'enabled') return 'on';
      if (FALSE_WORDS.includes(w) || w === 'disable' || w === 'disabled') return 'off';
    }
    return (f.choices ?? []).find((c) => c.value.toLowerCase() === w || c.title.toLowerCase() === w)?.value;
  }

  isBad(id: string): boolean {
    return this.bad.has(id);
  }

  /** The trimmed value of a field that passed the generic checks, or undefined when empty or bad. */
  get(id: string): string | undefined {
    return this.bad.has(id) ? undefined : this.text.get(id);
  }

  /** Raw trimmed text, even if it failed (for examples). */
  typed(id: string): string | undefined {
    return this.text.get(id);
  }

  toggle(id: string): boolean {
    const f = this.def.fields.find((x) => x.id === id);
    const v = (this.get(id) ?? f?.default ?? 'false').toLowerCase();
    return TRUE_WORDS.includes(v);
  }

  choice(id: string): string | undefined {
    const f = this.def.fields.find((x) => x.id === id);
    const v = this.get(id) ?? f?.default;
    return f && v !== undefined ? this.matchChoice(f, v) : undefined;
  }

  number(id: string): number | undefined {
    const v = this.get(id);
    return v === undefined ? undefined : Number(v);
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers for names and addresses
// ---------------------------------------------------------------------------------------------

function whoText(holders: readonly Holder[]): string {
  const shown = holders.slice(0, 3).map((h) => `${h.name} (${h.where === 'ad' ? 'AD' : 'Exchange Online'})`);
  return shown.join(', ') + (holders.length > 3 ? ` and ${holders.length - 3} more` : '');
}

const SLOT_WORD: Record<NameSlot, string> = {
  alias: 'alias',
  samAccountName: 'logon name',
  userPrincipalName: 'sign-in name (UPN)',
  emailAddress: 'address',
};

interface Domains {
  readonly list: readonly AcceptedDomain[];
  has(domain: string): boolean;
  names(): string;
}

function domainsOf(list: readonly AcceptedDomain[]): Domains {
  const set = new Set(list.map((d) => d.name.toLowerCase()));
  return { list, has: (d) => set.has(d.toLowerCase()), names: () => list.map((d) => d.name).join(', ') || 'none' };
}

function checkAliasSyntax(form: Form, id = 'alias'): string | undefined {
  const v = form.get(id);
  if (v === undefined) return undefined;
  const p = aliasProblem(v);
  if (!p) return v;
  const eg = exampleFrom(v, LIMITS.alias);
  form.error(id, `${show(v)} ${p}. ${ALIAS_RULE}${eg ? `, e.g. ${eg}` : ''}.`);
  return undefined;
}

function checkSamSyntax(form: Form, limit: number): string | undefined {
  const v = form.get('samAccountName');
  if (v === undefined) return undefined;
  const p = samAccountNameProblem(v, limit);
  if (!p) return v;
  const eg = exampleFrom(v, limit)?.replace(/\./g, '');
  form.error('samAccountName', `${show(v)} ${p}.${eg ? ` E.g. ${eg}.` : ''} Or leave it empty and Mailroom forms one.`);
  return undefined;
}

function checkUpnSyntax(form: Form, domains: Domains, upnSuffix: string): string | undefined {
  const v = form.get('userPrincipalName');
  if (v === undefined) return undefined;
  const p = upnProblem(v);
  if (p) {
    form.error('userPrincipalName', `${show(v)} ${p}. A UPN looks like ada.lovelace@${upnSuffix}.`);
    return undefined;
  }
  const d = domainOf(v);
  if (!domains.has(d) && d !== upnSuffix.toLowerCase()) {
    form.error('userPrincipalName', `${show(v)} ends in @${d}, which is not a domain of this tenant. Use one of: ${[upnSuffix, ...domains.list.map((x) => x.name)].filter((x, i, a) => a.indexOf(x) === i).join(', ')}.`);
    return undefined;
  }
  return v;
}

/** An address syntax check; `inTenant`: true = must be an accepted domain, false = must not be one. */
function checkAddress(form: Form, id: string, domains: Domains, inTenant: boolean | null): string | undefined {
  const v = form.get(id);
  if (v === undefined) return undefined;
  const p = smtpAddressProblem(v);
  if (p) {
    const eg = exampleFrom(v.split('@')[0] ?? '', LIMITS.localPart);
    form.error(id, `${show(v)} ${p}. An address looks like ${eg ?? 'ada.lovelace'}@${inTenant === false ? 'partner.example' : (domains.list.find((d) => d.default)?.name ?? 'contoso.com')}.`);
    return undefined;
  }
  const d = domainOf(v);
  if (inTenant === true && !domains.has(d)) {
    form.error(id, `${show(v)} is in ${d}, which is not an accepted domain of this tenant. Use one of: ${domains.names()}.`);
    return undefined;
  }
  if (inTenant === false && domains.has(d)) {
    form.error(id, `${show(v)} is in ${d}, one of this tenant's own domains; mail to it would loop. Give the outside address.`);
    return undefined;
  }
  return v;
}

/** Reports a typed value that someone else already holds. */
async function checkTypedFree(form: Form, ctx: ValidationContext, id: string, slot: NameSlot, value: string | undefined): Promise<void> {
  if (value === undefined) return;
  const holders = await holdersOf(ctx.lookup, slot, value);
  if (holders.length) {
    form.error(id, `${show(value)} is already used by ${whoText(holders)}. Choose another, or leave it empty and Mailroom picks a free one.`);
  }
}

interface NameNeeds {
  readonly alias: { typed?: string; base: string; baseFrom: string } | null;
  readonly samAccountName: { typed?: string; base: string; baseFrom: string; limit: number } | null;
  readonly userPrincipalName: { typed?: string; base: string; baseFrom: string } | null;
  readonly emailAddress: { typed?: string } | null;
}

const FIELD_OF_SLOT: Record<NameSlot, string> = {
  alias: 'alias',
  samAccountName: 'samAccountName',
  userPrincipalName: 'userPrincipalName',
  emailAddress: 'emailAddress',
};

/**
 * Fills the names the requester left empty (policy + collision numbers) and checks that typed names are free.
 * Returns the final values, or undefined when an error was added.
 */
async function settleNames(form: Form, ctx: ValidationContext, needs: NameNeeds): Promise<Partial<Record<NameSlot, string>> | undefined> {
  const p = ctx.profile;
  const out: Partial<Record<NameSlot, string>> = {};
  const derivations: Derivation[] = [];
  const typedFree: [string, NameSlot, string | undefined][] = [];
  let failed = false;
  const noBase = (slot: NameSlot, from: string): void => {
    failed = true;
    form.error(FIELD_OF_SLOT[slot], `Mailroom could not form a ${SLOT_WORD[slot]} from ${show(from)}: the naming policy needs Latin letters or digits. Type one.`);
  };
  const derive = (d: Derivation, from: string): void => {
    if (withSuffix(d.base, 1, d.limit) === '') noBase(d.slot, from);
    else derivations.push(d);
  };

  if (needs.alias) {
    if (needs.alias.typed !== undefined) {
      out.alias = needs.alias.typed;
      typedFree.push(['alias', 'alias', needs.alias.typed]);
    } else if (needs.alias.base === '') noBase('alias', needs.alias.baseFrom);
    else derive({ slot: 'alias', base: needs.alias.base, limit: LIMITS.alias }, needs.alias.baseFrom);
  }
  if (needs.samAccountName) {
    const s = needs.samAccountName;
    if (s.typed !== undefined) {
      out.samAccountName = s.typed;
      typedFree.push(['samAccountName', 'samAccountName', s.typed]);
    } else if (s.base === '') noBase('samAccountName', s.baseFrom);
    else derive({ slot: 'samAccountName', base: s.base, limit: s.limit }, s.baseFrom);
  }
  if (needs.userPrincipalName) {
    const u = needs.userPrincipalName;
    if (u.typed !== undefined) {
      out.userPrincipalName = u.typed;
      typedFree.push(['userPrincipalName', 'userPrincipalName', u.typed]);
    } else if (u.base === '') noBase('userPrincipalName', u.baseFrom);
    else derive({ slot: 'userPrincipalName', base: u.base, limit: LIMITS.upnPrefix, domain: p.upnSuffix }, u.baseFrom);
  }
  if (needs.emailAddress) {
    const e = needs.emailAddress;
    if (e.typed !== undefined) {
      out.emailAddress = e.typed;
      typedFree.push(['emailAddress', 'emailAddress', e.typed]);
    } else {
      // The primary address is alias@mail domain: with a typed alias its base is that alias, else the alias base.
      const base = needs.alias?.typed ?? needs.alias?.base ?? '';
      if (base !== '') derive({ slot: 'emailAddress', base, limit: LIMITS.localPart, domain: p.mailDomain }, base);
    }
  }
  for (const [field, slot, value] of typedFree) {
    const before = form.errors.length;
    await checkTypedFree(form, ctx, field, slot, value);
    if (form.errors.length > before) failed = true;
  }
  if (failed) return undefined;
  const r = await deriveFree(ctx.lookup, derivations);
  if (!r.ok) {
    const d = derivations.find((x) => x.slot === r.slot);
    const from = d ? valueFor(d, 1) : r.tried;
    form.error(FIELD_OF_SLOT[r.slot], `${show(from)} and the numbered variants up to ${show(r.tried)} are all taken (${MAX_SUFFIX} tries). Type a ${SLOT_WORD[r.slot]}.`);
    return undefined;
  }
  return { ...out, ...r.values };
}

/** The part of an alias a UPN prefix may hold (letters, digits and ' . - _ ! # ^ ~; periods tidied). */
function upnPrefixFrom(alias: string | undefined): string {
  return (alias ?? '')
    .replace(/[^A-Za-z0-9'.\-_!#^~]/g, '')
    .replace(/\.{2,}/g, '.')
    .replace(/^\.+|\.+$/g, '');
}

function toTarget(identity: string, f: FoundRecipient): TargetRecipient {
  return {
    identity,
    name: f.name,
    type: f.type,
    primarySmtpAddress: f.primarySmtpAddress,
    isDirSynced: f.isDirSynced,
    isExchangeCloudManaged: f.isExchangeCloudManaged,
    ...(f.adDn !== undefined ? { adDn: f.adDn } : {}),
    ...(f.userPrincipalName !== undefined ? { userPrincipalName: f.userPrincipalName } : {}),
    ...(f.exoId !== undefined ? { exoId: f.exoId } : {}),
  };
}

function isTarget(h: Holder, t: TargetRecipient): boolean {
  if (h.id !== undefined) {
    const id = h.id.toLowerCase();
    if ([t.adDn, t.exoId].some((x) => x !== undefined && x.toLowerCase() === id)) return true;
  }
  const n = h.name.toLowerCase();
  return [t.name, t.primarySmtpAddress, t.adDn, t.userPrincipalName, t.exoId].some((x) => x !== undefined && x.toLowerCase() === n);
}

const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

// ---------------------------------------------------------------------------------------------
// The validator
// ---------------------------------------------------------------------------------------------

export async function validateRequest(kind: string, rawValues: unknown, ctx: ValidationContext): Promise<ValidationResult> {
  if (typeof kind !== 'string' || !isKindId(kind)) {
    return { ok: false, errors: [{ field: KIND_FIELD, message: `${show(String(kind))} is not a request kind. Kinds: ${Object.keys(KINDS).join(', ')}.` }] };
  }
  if (typeof rawValues !== 'object' || rawValues === null || Array.isArray(rawValues)) {
    return { ok: false, errors: [{ field: REQUEST_FIELD, message: 'The request has no field values (expected an object of field id → text).' }] };
  }
  const refusal = kindRefusal(kind, ctx.profile);
  if (refusal) return { ok: false, errors: [{ field: REQUEST_FIELD, message: refusal }] };

  const raw = rawValues as Readonly<Record<string, unknown>>;
  const def = KINDS[kind];
  // Usage location is required for licensed mailboxes but may come from the tenant's default.
  const form = new Form(def, raw, new Set(ctx.profile.defaultUsageLocation ? ['usageLocation'] : []));
  const request = await validateKind(kind, form, ctx);
  if (form.errors.length || !request) {
    return { ok: false, errors: form.errors.length ? form.errors : [{ field: REQUEST_FIELD, message: 'The request could not be validated.' }] };
  }
  return { ok: true, request };
}

async function acceptedDomains(ctx: ValidationContext): Promise<Domains> {
  return domainsOf(await ask('the accepted domains', () => ctx.lookup.acceptedDomains()));
}

async function validateKind(kind: KindId, form: Form, ctx: ValidationContext): Promise<RecipientRequest | undefined> {
  switch (kind) {
    case 'user-mailbox':
    case 'mail-user':
      return validatePerson(kind, form, ctx);
    case 'shared-mailbox':
    case 'room-mailbox':
    case 'equipment-mailbox':
      return validateResourceMailbox(kind, form, ctx);
    case 'mail-contact':
      return validateContact(form, ctx);
    case 'distribution-group':
      return validateGroup(form, ctx);
    default:
      return validateChange(kind, form, ctx);
  }
}

function usageLocationOf(form: Form, profile: TenantProfile, needed: boolean): string | undefined {
  const v = form.choice('usageLocation');
  if (v) return v;
  if (!needed || form.isBad('usageLocation')) return undefined;
  if (profile.defaultUsageLocation) return profile.defaultUsageLocation;
  form.error('usageLocation', 'is required for the licence. Use a two-letter ISO country code such as DE, GB, US.');
  return undefined;
}

async function validatePerson(kind: 'user-mailbox' | 'mail-user', form: Form, ctx: ValidationContext): Promise<RecipientRequest | undefined> {
  const p = ctx.profile;
  const domains = await acceptedDomains(ctx);
  const firstName = form.get('firstName');
  const lastName = form.get('lastName');
  const displayName = form.get('displayName') ?? (firstName !== undefined && lastName !== undefined ? `${firstName} ${lastName}` : undefined);
  const alias = checkAliasSyntax(form);
  const sam = checkSamSyntax(form, LIMITS.samAccountName);
  const upn = checkUpnSyntax(form, domains, p.upnSuffix);
  const email = kind === 'user-mailbox' ? checkAddress(form, 'emailAddress', domains, true) : undefined;
  const external = kind === 'mail-user' ? checkAddress(form, 'externalAddress', domains, false) : undefined;
  const usageLocation = kind === 'user-mailbox' ? usageLocationOf(form, p, true) : undefined;
  if (firstName === undefined || lastName === undefined || form.errors.length) return undefined;

  if (external !== undefined) {
    const holders = await ask(`whether the address ${external} is taken`, () => ctx.lookup.whoHas({ address: external }));
    if (holders.length) form.error('externalAddress', `${show(external)} is already used by ${whoText(holders)}. Mail to it already reaches that recipient.`);
  }
  const from = `${firstName} ${lastName}`;
  const names = await settleNames(form, ctx, {
    alias: { ...(alias !== undefined ? { typed: alias } : {}), base: applyTemplate(p.naming.alias, { first: firstName, last: lastName }), baseFrom: from },
    samAccountName: { ...(sam !== undefined ? { typed: sam } : {}), base: applyTemplate(p.naming.samAccountName, { first: firstName, last: lastName }), baseFrom: from, limit: LIMITS.samAccountName },
    userPrincipalName: { ...(upn !== undefined ? { typed: upn } : {}), base: applyTemplate(p.naming.upnPrefix, { first: firstName, last: lastName }), baseFrom: from },
    emailAddress: kind === 'user-mailbox' ? (email !== undefined ? { typed: email } : {}) : null,
  });
  if (!names || form.errors.length || displayName === undefined) return undefined;
  const { alias: a, samAccountName: s, userPrincipalName: u, emailAddress: e } = names;
  if (a === undefined || s === undefined || u === undefined) return undefined;
  const department = form.get('department');
  if (kind === 'user-mailbox') {
    if (e === undefined || usageLocation === undefined) return undefined;
    const jobTitle = form.get('jobTitle');
    return {
      kind, firstName, lastName, displayName, alias: a, samAccountName: s, userPrincipalName: u, primarySmtpAddress: e, usageLocation,
      ...(department !== undefined ? { department } : {}), ...(jobTitle !== undefined ? { jobTitle } : {}),
    };
  }
  if (external === undefined) return undefined;
  const company = form.get('company');
  return {
    kind, firstName, lastName, displayName, alias: a, samAccountName: s, userPrincipalName: u, externalAddress: external,
    ...(department !== undefined ? { department } : {}), ...(company !== undefined ? { company } : {}),
  };
}

async function validateResourceMailbox(kind: 'shared-mailbox' | 'room-mailbox' | 'equipment-mailbox', form: Form, ctx: ValidationContext): Promise<RecipientRequest | undefined> {
  const p = ctx.profile;
  const domains = await acceptedDomains(ctx);
  const displayName = form.get('displayName');
  const alias = checkAliasSyntax(form);
  const sam = checkSamSyntax(form, LIMITS.samAccountName);
  const upn = checkUpnSyntax(form, domains, p.upnSuffix);
  const email = checkAddress(form, 'emailAddress', domains, true);
  const usageLocation = kind === 'shared-mailbox' ? undefined : usageLocationOf(form, p, p.roomsKeepLicence);
  const capacity = kind === 'room-mailbox' ? form.number('capacity') : undefined;
  const wanted = kind === 'shared-mailbox' ? listOf(form.get('members')) : [];
  if (kind === 'shared-mailbox') checkIdentityList(form, 'members', wanted, MAX_PERMISSION_USERS, 'members');
  if (displayName === undefined || form.errors.length) return undefined;
  let members: RecipientRef[] = [];
  if (wanted.length) {
    // The members get full access and send as on the new mailbox: each must be able to hold a permission.
    const found = await resolveList(form, ctx, 'members', wanted, 'member');
    if (!found) return undefined;
    const wrong = found.filter((u) => !PERMISSION_HOLDER_TYPES(u.type));
    if (wrong.length) {
      form.error('members', `${wrong.slice(0, 5).map((u) => `${u.name} (${describeType(u.type)})`).join(', ')} cannot hold mailbox permissions: only mailboxes, mail users and mail-enabled security groups can.`);
      return undefined;
    }
    members = found;
  }

  const aliasBase = applyTemplate(p.naming.resourceAlias, { name: displayName });
  const names = await settleNames(form, ctx, {
    alias: { ...(alias !== undefined ? { typed: alias } : {}), base: aliasBase, baseFrom: displayName },
    samAccountName: { ...(sam !== undefined ? { typed: sam } : {}), base: applyTemplate(p.naming.resourceSamAccountName, { name: displayName }), baseFrom: displayName, limit: LIMITS.samAccountName },
    // Resource mailboxes sign in nowhere: their UPN follows the alias (as far as a UPN allows its characters).
    userPrincipalName: { ...(upn !== undefined ? { typed: upn } : {}), base: upnPrefixFrom(alias) || aliasBase, baseFrom: displayName },
    emailAddress: email !== undefined ? { typed: email } : {},
  });
  if (!names || form.errors.length) return undefined;
  const { alias: a, samAccountName: s, userPrincipalName: u, emailAddress: e } = names;
  if (a === undefined || s === undefined || u === undefined || e === undefined) return undefined;
  const common = { displayName, alias: a, samAccountName: s, userPrincipalName: u, primarySmtpAddress: e, ...(usageLocation !== undefined ? { usageLocation } : {}) };
  if (kind === 'room-mailbox') return { kind, ...common, ...(capacity !== undefined ? { capacity } : {}) };
  if (kind === 'shared-mailbox') return { kind, ...common, ...(members.length ? { members } : {}) };
  return { kind, ...common };
}

async function validateContact(form: Form, ctx: ValidationContext): Promise<RecipientRequest | undefined> {
  const p = ctx.profile;
  const domains = await acceptedDomains(ctx);
  const displayName = form.get('displayName');
  const alias = checkAliasSyntax(form);
  const external = checkAddress(form, 'externalAddress', domains, false);
  if (displayName === undefined || external === undefined || form.errors.length) return undefined;
  const holders = await ask(`whether the address ${external} is taken`, () => ctx.lookup.whoHas({ address: external }));
  if (holders.length) {
    form.error('externalAddress', `${show(external)} is already used by ${whoText(holders)}. Mail to it already reaches that recipient.`);
    return undefined;
  }
  const names = await settleNames(form, ctx, {
    alias: { ...(alias !== undefined ? { typed: alias } : {}), base: applyTemplate(p.naming.resourceAlias, { name: displayName }), baseFrom: displayName },
    samAccountName: null,
    userPrincipalName: null,
    emailAddress: null,
  });
  if (!names?.alias || form.errors.length) return undefined;
  const firstName = form.get('firstName');
  const lastName = form.get('lastName');
  const company = form.get('company');
  return {
    kind: 'mail-contact', displayName, alias: names.alias, externalAddress: external,
    ...(firstName !== undefined ? { firstName } : {}), ...(lastName !== undefined ? { lastName } : {}), ...(company !== undefined ? { company } : {}),
  };
}

async function validateGroup(form: Form, ctx: ValidationContext): Promise<RecipientRequest | undefined> {
  const p = ctx.profile;
  const domains = await acceptedDomains(ctx);
  const displayName = form.get('displayName');
  const alias = checkAliasSyntax(form);
  const sam = checkSamSyntax(form, LIMITS.groupSamAccountName);
  const email = checkAddress(form, 'emailAddress', domains, true);
  const scope = form.choice('scope') === 'global' ? 'global' : 'universal';
  const securityEnabled = form.toggle('securityEnabled');
  const description = form.get('description');
  const memberText = form.get('members');
  const wanted = memberText === undefined ? [] : [...new Map(memberText.split(/[,;\s]+/u).filter((m) => m !== '').map((m) => [m.toLowerCase(), m])).values()];
  if (wanted.length > MAX_INITIAL_MEMBERS) form.error('members', `${wanted.length} members given; at most ${MAX_INITIAL_MEMBERS} in one request. Add the rest in AD later.`);
  const wildcards = wanted.filter((m) => identityWildcardProblem(m) !== null);
  if (wildcards.length) {
    const chars = [...new Set(wildcards.flatMap((m) => [...m].filter((c) => c === '*' || c === '?')))].map((c) => `"${c}"`).join(' and ');
    form.error('members', `${wildcards.slice(0, 5).map((m) => show(m)).join(', ')}${wildcards.length > 5 ? ` and ${wildcards.length - 5} more` : ''} ${wildcards.length === 1 ? 'contains' : 'contain'} ${chars}, which Exchange reads as a wildcard that can match other recipients. Give each member's exact email address.`);
  }
  const badSyntax = wanted.filter((m) => identityWildcardProblem(m) === null && identityProblem(m) !== null);
  if (badSyntax.length) form.error('members', `${badSyntax.slice(0, 5).map((m) => show(m)).join(', ')} ${badSyntax.length === 1 ? 'is' : 'are'} not an email address or alias. Separate members with commas.`);
  if (displayName === undefined || form.errors.length) return undefined;

  const members: GroupMember[] = [];
  const missing: string[] = [];
  const cloudOnly: string[] = [];
  for (const m of wanted) {
    const match = await ask(`the member ${m}`, () => ctx.lookup.findRecipient(m));
    if (match.found === 'several') {
      form.error('members', `${candidatesText(m, match.candidates)}. Give the exact primary email address of the one you mean.`);
      continue;
    }
    const found = match.found === 'one' ? match.recipient : null;
    if (!found) missing.push(m);
    else if (!found.isDirSynced || found.adDn === undefined) cloudOnly.push(`${m} (${found.name})`);
    else if (!members.some((x) => same(x.adDn, found.adDn ?? ''))) members.push({ identity: m, name: found.name, adDn: found.adDn });
  }
  if (missing.length) form.error('members', `no recipient found for ${missing.slice(0, 5).map((m) => show(m)).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}. Use their email addresses.`);
  // HB: synced groups are managed in AD, membership too: members must be AD objects.
  if (cloudOnly.length) form.error('members', `${cloudOnly.slice(0, 5).join(', ')} ${cloudOnly.length === 1 ? 'is' : 'are'} not in AD (cloud-only); a group made in AD can only have AD members.`);

  const aliasBase = applyTemplate(p.naming.resourceAlias, { name: displayName });
  const names = await settleNames(form, ctx, {
    alias: { ...(alias !== undefined ? { typed: alias } : {}), base: aliasBase, baseFrom: displayName },
    samAccountName: { ...(sam !== undefined ? { typed: sam } : {}), base: applyTemplate(p.naming.resourceSamAccountName, { name: displayName }), baseFrom: displayName, limit: LIMITS.groupSamAccountName },
    userPrincipalName: null,
    emailAddress: email !== undefined ? { typed: email } : {},
  });
  if (!names || form.errors.length) return undefined;
  const { alias: a, samAccountName: s, emailAddress: e } = names;
  if (a === undefined || s === undefined || e === undefined) return undefined;
  const request: DistributionGroupRequest = {
    kind: 'distribution-group', displayName, alias: a, samAccountName: s, primarySmtpAddress: e, scope, securityEnabled, members,
    ...(description !== undefined ? { description } : {}),
  };
  return request;
}

/** The identities in a list field: split on commas, semicolons and spaces, each once (case-insensitively). */
function listOf(text: string | undefined): string[] {
  return text === undefined ? [] : [...new Map(text.split(/[,;\s]+/u).filter((m) => m !== '').map((m) => [m.toLowerCase(), m])).values()];
}

function listed(values: readonly string[], n = 5): string {
  return `${values.slice(0, n).map((m) => show(m)).join(', ')}${values.length > n ? ` and ${values.length - n} more` : ''}`;
}

/** Syntax of a list of identities (count, wildcards, what is not an address or alias); errors on `field`. */
function checkIdentityList(form: Form, field: string, wanted: readonly string[], max: number, what: string): void {
  if (wanted.length === 0 && !form.isBad(field) && form.typed(field) !== undefined) form.error(field, `${show(form.typed(field) ?? '')} names nobody. Give at least one email address, UPN or alias.`);
  if (wanted.length > max) form.error(field, `${wanted.length} ${what} given; at most ${max} in one request. Make a second request for the rest.`);
  const wildcards = wanted.filter((m) => identityWildcardProblem(m) !== null);
  if (wildcards.length) {
    const chars = [...new Set(wildcards.flatMap((m) => [...m].filter((c) => c === '*' || c === '?')))].map((c) => `"${c}"`).join(' and ');
    form.error(field, `${listed(wildcards)} ${wildcards.length === 1 ? 'contains' : 'contain'} ${chars}, which Exchange reads as a wildcard that can match other recipients. Give each one's exact email address.`);
  }
  const badSyntax = wanted.filter((m) => identityWildcardProblem(m) === null && identityProblem(m) !== null);
  if (badSyntax.length) form.error(field, `${listed(badSyntax)} ${badSyntax.length === 1 ? 'is' : 'are'} not an email address, UPN or alias. Separate them with commas.`);
}

function refOf(identity: string, f: FoundRecipient): RecipientRef {
  return {
    identity, name: f.name, type: f.type, primarySmtpAddress: f.primarySmtpAddress, isDirSynced: f.isDirSynced,
    ...(f.adDn !== undefined ? { adDn: f.adDn } : {}), ...(f.exoId !== undefined ? { exoId: f.exoId } : {}),
    ...(f.userPrincipalName !== undefined ? { userPrincipalName: f.userPrincipalName } : {}),
  };
}

/** Whether two found recipients are the same object (by AD DN, Exchange id or primary address). */
function sameRecipient(a: { adDn?: string; exoId?: string; primarySmtpAddress: string }, b: { adDn?: string; exoId?: string; primarySmtpAddress: string }): boolean {
  if (a.exoId !== undefined && b.exoId !== undefined) return same(a.exoId, b.exoId);
  if (a.adDn !== undefined && b.adDn !== undefined) return same(a.adDn, b.adDn);
  return a.primarySmtpAddress !== '' && same(a.primarySmtpAddress, b.primarySmtpAddress);
}

/**
 * Each identity of a list as exactly one recipient (none and several are errors on `field`), each recipient once
 * (two spellings of one recipient count once). Undefined when an error was added.
 */
async function resolveList(form: Form, ctx: ValidationContext, field: string, wanted: readonly string[], role: string): Promise<RecipientRef[] | undefined> {
  const out: RecipientRef[] = [];
  const missing: string[] = [];
  const before = form.errors.length;
  for (const m of wanted) {
    const match = await ask(`the ${role} ${m}`, () => ctx.lookup.findRecipient(m));
    if (match.found === 'several') {
      form.error(field, `${candidatesText(m, match.candidates)}. Give the exact primary email address of the one you mean.`);
      continue;
    }
    if (match.found === 'none') {
      missing.push(m);
      continue;
    }
    const ref = refOf(m, match.recipient);
    if (!out.some((x) => sameRecipient(x, ref))) out.push(ref);
  }
  if (missing.length) form.error(field, `no recipient found in Exchange Online for ${listed(missing)}. Use their email addresses, UPNs or aliases.`);
  return form.errors.length > before ? undefined : out;
}

/** Who can hold a mailbox permission: a security principal with a recipient (Exchange's rule for -User, -Trustee and -GrantSendOnBehalfTo). */
const PERMISSION_HOLDER_TYPES = (t: string): boolean => isMailboxType(t) || t === 'MailUser' || t === 'MailUniversalSecurityGroup';

async function validatePermission(kind: 'mailbox-permission-grant' | 'mailbox-permission-revoke', form: Form, ctx: ValidationContext, target: TargetRecipient, wanted: readonly string[]): Promise<RecipientRequest | undefined> {
  const what = `${target.name} (${describeType(target.type)})`;
  const perm = form.choice('permission') as MailboxPermissionName | undefined;
  if (!isMailboxType(target.type)) {
    form.error('identity', `${what} is not a mailbox; mailbox permissions are given on user, shared, room and equipment mailboxes.`);
    return undefined;
  }
  if (perm === undefined) return undefined;
  const users = await resolveList(form, ctx, 'users', wanted, 'user');
  if (!users) return undefined;
  const self = users.filter((u) => sameRecipient(u, target));
  if (self.length) form.error('users', `${show(self[0]?.identity ?? target.name)} is the mailbox ${target.name} itself; a mailbox needs no permission on itself.`);
  const wrong = users.filter((u) => !PERMISSION_HOLDER_TYPES(u.type));
  if (wrong.length) {
    form.error('users', `${wrong.slice(0, 5).map((u) => `${u.name} (${describeType(u.type)})`).join(', ')} cannot hold mailbox permissions: only mailboxes, mail users and mail-enabled security groups can. For a distribution group, give a mail-enabled security group instead.`);
  }
  if (form.errors.length) return undefined;
  if (perm === 'SendOnBehalf') {
    // Where GrantSendOnBehalfTo is written: AD publicDelegates (DNs) while AD masters the mailbox's Exchange attributes.
    const a = exchangeAuthority(target, ctx.profile);
    if (a.side === 'refused') {
      form.error(REQUEST_FIELD, a.reason);
      return undefined;
    }
    if (a.side === 'ad' && ctx.profile.adHasExchangeSchema) {
      const notInAd = users.filter((u) => !u.isDirSynced || u.adDn === undefined);
      if (notInAd.length) {
        form.error('users', `${notInAd.slice(0, 5).map((u) => `${u.name} (${u.primarySmtpAddress})`).join(', ')} ${notInAd.length === 1 ? 'is' : 'are'} not in AD (cloud-only), but send on behalf of ${target.name} is kept in AD (publicDelegates, synced), which can only name AD objects. Make ${target.name} cloud-managed first (cloud-managed ${target.primarySmtpAddress} on), or give AD users.`);
        return undefined;
      }
    }
  }
  if (kind === 'mailbox-permission-grant') {
    return { kind, target, permission: perm, users, ...(perm === 'FullAccess' ? { autoMapping: form.toggle('autoMapping') } : {}) };
  }
  return { kind, target, permission: perm, users };
}

async function validateMembers(kind: 'group-member-add' | 'group-member-remove', form: Form, ctx: ValidationContext, target: TargetRecipient, wanted: readonly string[]): Promise<RecipientRequest | undefined> {
  const what = `${target.name} (${describeType(target.type)})`;
  if (!isGroupType(target.type)) {
    form.error('identity', `${what} is not a distribution or mail-enabled security group; Mailroom changes the members of those only.${target.type === 'GroupMailbox' ? ' The members of a Microsoft 365 group are managed in Entra ID, Outlook or Teams.' : ''}`);
    return undefined;
  }
  const members = await resolveList(form, ctx, 'members', wanted, 'member');
  if (!members) return undefined;
  const self = members.filter((m) => sameRecipient(m, target));
  if (self.length) {
    form.error('members', `${show(self[0]?.identity ?? target.name)} is the group ${target.name} itself; a group cannot be its own member.`);
    return undefined;
  }
  if (target.isDirSynced) {
    if (target.adDn === undefined) {
      form.error('identity', `${target.name} is synced from AD, but Mailroom did not find its AD object; ask again once it is found.`);
      return undefined;
    }
    // HB: a synced group, membership included, is managed in AD: its members must be AD objects.
    const cloudOnly = members.filter((m) => !m.isDirSynced || m.adDn === undefined);
    if (cloudOnly.length) {
      form.error('members', `${cloudOnly.slice(0, 5).map((m) => `${m.name} (${m.primarySmtpAddress})`).join(', ')} ${cloudOnly.length === 1 ? 'is' : 'are'} not in AD (cloud-only); ${target.name} is synced from AD, where its members are kept, and AD can only hold AD objects as members.`);
      return undefined;
    }
  }
  return { kind, target, members };
}

const ADDRESS_TARGET_TYPES = (t: string): boolean => isMailboxType(t) || isGroupType(t) || t === 'MailUser' || t === 'MailContact';

/** Recipients Exchange forwards to with -ForwardingAddress (mail-enabled recipients). */
const FORWARDING_TYPES = (t: string): boolean => isMailboxType(t) || t === 'MailUser' || t === 'MailContact' || isGroupType(t);

/**
 * Where the mail goes: a recipient of this organisation (exactly one; not the mailbox itself), or an outside address
 * (valid syntax, not in an accepted domain, no recipient has it).
 */
async function validateForwarding(form: Form, ctx: ValidationContext, target: TargetRecipient): Promise<RecipientRequest | undefined> {
  const keepCopy = form.toggle('keepCopy');
  const to = form.get('forwardTo');
  if (to === undefined) return undefined;
  if (identityWildcardProblem(to) !== null) {
    form.error('forwardTo', `${show(to)} contains a wildcard ("*" or "?"), which could match other recipients. Give the exact email address.`);
    return undefined;
  }
  if (identityProblem(to) !== null) {
    form.error('forwardTo', `${show(to)} is not an email address, UPN or alias. Give one recipient or one outside address.`);
    return undefined;
  }
  const match = await ask(`the recipient ${to}`, () => ctx.lookup.findRecipient(to));
  if (match.found === 'several') {
    form.error('forwardTo', `${candidatesText(to, match.candidates)}. Give the exact primary email address of the one you mean.`);
    return undefined;
  }
  if (match.found === 'one') {
    const ref = refOf(to, match.recipient);
    if (sameRecipient(ref, target)) {
      form.error('forwardTo', `${show(to)} is the mailbox ${target.name} itself; mail would loop. Give another recipient.`);
      return undefined;
    }
    if (!FORWARDING_TYPES(ref.type)) {
      form.error('forwardTo', `${ref.name} (${describeType(ref.type)}) cannot receive forwarded mail. Give a mailbox, mail user, contact or group.`);
      return undefined;
    }
    return { kind: 'forwarding-set', target, recipient: ref, keepCopy };
  }
  const problem = smtpAddressProblem(to);
  if (problem) {
    form.error('forwardTo', `no recipient ${show(to)} was found in Exchange Online, and as an outside address ${show(to)} ${problem}. Give a recipient's email address, UPN or alias, or an outside address.`);
    return undefined;
  }
  const domains = await acceptedDomains(ctx);
  if (domains.has(domainOf(to))) {
    form.error('forwardTo', `no recipient has ${show(to)}, which is in ${domainOf(to)}, one of this tenant's own domains. Give an existing recipient, or an outside address.`);
    return undefined;
  }
  return { kind: 'forwarding-set', target, smtpAddress: to.toLowerCase(), keepCopy };
}

async function validateChange(kind: KindId, form: Form, ctx: ValidationContext): Promise<RecipientRequest | undefined> {
  const p = ctx.profile;
  const typedIdentity = form.get('identity');
  let identity: string | undefined;
  if (typedIdentity !== undefined) {
    const problem = identityProblem(typedIdentity);
    if (problem) form.error('identity', `${show(typedIdentity)} ${problem}. Use the recipient's email address, e.g. ada.lovelace@${p.mailDomain}.`);
    else identity = typedIdentity;
  }
  const listField = kind === 'mailbox-permission-grant' || kind === 'mailbox-permission-revoke' ? 'users' : kind === 'group-member-add' || kind === 'group-member-remove' ? 'members' : undefined;
  const wanted = listField ? listOf(form.get(listField)) : [];
  if (listField) checkIdentityList(form, listField, wanted, listField === 'users' ? MAX_PERMISSION_USERS : MAX_MEMBERS_CHANGED, listField === 'users' ? 'users' : 'members');
  const needsDomains = kind === 'primary-address' || kind === 'secondary-address-add' || kind === 'secondary-address-remove';
  const domains = needsDomains ? await acceptedDomains(ctx) : domainsOf([]);
  // Syntax first (tenant membership of the domain is decided once the target's type is known).
  const addressField = kind === 'primary-address' ? 'newAddress' : 'address';
  const address = needsDomains ? checkAddress(form, addressField, domains, null) : undefined;
  if (identity === undefined || form.errors.length) return undefined;

  const match = await ask(`the recipient ${identity}`, () => ctx.lookup.findRecipient(identity));
  if (match.found === 'none') {
    form.error('identity', `no recipient ${show(identity)} was found in Exchange Online. Use the primary email address, the UPN or the alias.`);
    return undefined;
  }
  if (match.found === 'several') {
    form.error('identity', `${candidatesText(identity, match.candidates)}. Use the exact primary email address of the one you mean.`);
    return undefined;
  }
  const target = toTarget(identity, match.recipient);
  const what = `${target.name} (${describeType(target.type)})`;

  switch (kind) {
    case 'primary-address':
    case 'secondary-address-add':
    case 'secondary-address-remove': {
      if (!ADDRESS_TARGET_TYPES(target.type)) {
        form.error('identity', `${what} has no email addresses Mailroom manages. Give a mailbox, mail user, contact or group.`);
        return undefined;
      }
      const authority = kind === 'primary-address' ? primaryAuthority(target, p) : exchangeAuthority(target, p);
      if (authority.side === 'refused') {
        form.error(REQUEST_FIELD, authority.reason);
        return undefined;
      }
      if (address === undefined) return undefined;
      const external = target.type === 'MailUser' || target.type === 'MailContact';
      if (kind === 'primary-address') {
        // Mailboxes and groups: an address of ours. Mail users and contacts: their outside address.
        if (!external && !domains.has(domainOf(address))) {
          form.error('newAddress', `${show(address)} is in ${domainOf(address)}, which is not an accepted domain of this tenant. Use one of: ${domains.names()}.`);
          return undefined;
        }
        if (external && domains.has(domainOf(address))) {
          form.error('newAddress', `${show(address)} is one of this tenant's own domains; ${what} forwards to an outside address. Give the new outside address.`);
          return undefined;
        }
        if (address === target.primarySmtpAddress) {
          form.error('newAddress', `${show(address)} is already the primary address of ${target.name}.`);
          return undefined;
        }
        const holders = await ask(`whether the address ${address} is taken`, () => ctx.lookup.whoHas({ address }));
        const others = holders.filter((h) => !isTarget(h, target));
        if (others.length) {
          form.error('newAddress', `${show(address)} is already used by ${whoText(others)}. Remove it there first, or choose another.`);
          return undefined;
        }
        return { kind, target, newAddress: address };
      }
      if (same(address, target.primarySmtpAddress)) {
        form.error('address', kind === 'secondary-address-add'
          ? `${show(address)} is already the primary address of ${target.name}.`
          : `${show(address)} is the primary address of ${target.name}; make another address primary first (change primary).`);
        return undefined;
      }
      const holders = await ask(`who has the address ${address}`, () => ctx.lookup.whoHas({ address }));
      const mine = holders.some((h) => isTarget(h, target));
      const others = holders.filter((h) => !isTarget(h, target));
      if (kind === 'secondary-address-add') {
        if (!domains.has(domainOf(address))) {
          form.error('address', `${show(address)} is in ${domainOf(address)}, which is not an accepted domain of this tenant. Use one of: ${domains.names()}.`);
          return undefined;
        }
        if (mine) form.error('address', `${target.name} already has ${show(address)}.`);
        else if (others.length) form.error('address', `${show(address)} is already used by ${whoText(others)}. Remove it there first.`);
        return form.errors.length ? undefined : { kind, target, address };
      }
      if (!mine) {
        form.error('address', others.length ? `${show(address)} belongs to ${whoText(others)}, not to ${target.name}.` : `${target.name} has no address ${show(address)}; nothing to remove.`);
        return undefined;
      }
      return { kind, target, address };
    }
    case 'cloud-managed': {
      const state = form.choice('state');
      if (state === undefined) return undefined;
      const enabled = state === 'on';
      if (!isMailboxType(target.type)) {
        form.error('identity', `${what}: there is no IsExchangeCloudManaged for it (only user, shared, room and equipment mailboxes have it); it stays managed in AD. Groups and contacts can move to the cloud as whole objects (object-level source of authority).`);
        return undefined;
      }
      if (!target.isDirSynced) {
        form.error('identity', `${what} is cloud-only: its Exchange attributes are always managed in Exchange Online.`);
        return undefined;
      }
      if ((target.isExchangeCloudManaged ?? false) === enabled) {
        form.error('state', `${target.name} is already ${enabled ? '' : 'not '}cloud-managed.`);
        return undefined;
      }
      if (!enabled && p.exchangeAttributeMode === 'cloud-default') {
        form.error(REQUEST_FIELD, `This tenant has the organisation default ExchangeAttributesCloudManagedByDefault on: Mailroom does not hand Exchange attributes back to AD, where it writes none. Turning it off for ${target.name} would mix the two modes, which Microsoft does not support.`);
        return undefined;
      }
      return { kind, target, enabled };
    }
    case 'mailbox-type': {
      const type = form.choice('type') as MailboxTypeName | undefined;
      if (type === undefined) return undefined;
      if (!isMailboxType(target.type)) {
        form.error('identity', `${what} is not a mailbox; only mailboxes can be converted.`);
        return undefined;
      }
      if (recipientTypeOfMailboxType(type) === target.type) {
        form.error('type', `${target.name} is already a ${describeType(target.type)}.`);
        return undefined;
      }
      const adjustLicence = form.toggle('adjustLicence');
      if (adjustLicence && target.userPrincipalName === undefined) {
        form.error('identity', `Mailroom could not tell the sign-in name (UPN) of ${target.name}, which the licence change needs. Switch off "Adjust the licence", or try again later.`);
        return undefined;
      }
      return { kind, target, type, adjustLicence };
    }
    case 'offboarding': {
      const flags = {
        disableAccount: form.toggle('disableAccount'),
        convertToShared: form.toggle('convertToShared'),
        removeLicence: form.toggle('removeLicence'),
        hideFromAddressLists: form.toggle('hideFromAddressLists'),
      };
      if (target.type !== 'UserMailbox') {
        form.error('identity', `${what} is not a person's mailbox; offboarding is for user mailboxes.`);
        return undefined;
      }
      if (!Object.values(flags).some(Boolean)) {
        form.error(REQUEST_FIELD, 'Every offboarding step is switched off; there is nothing to do. Switch on at least one.');
        return undefined;
      }
      if (flags.disableAccount && (!target.isDirSynced || target.adDn === undefined)) {
        form.error('disableAccount', `${target.name} is cloud-only: there is no AD account to disable. Switch this off (block sign-in in Entra ID instead).`);
        return undefined;
      }
      if (flags.removeLicence && target.userPrincipalName === undefined) {
        form.error('removeLicence', `Mailroom could not tell the sign-in name (UPN) of ${target.name}, which removing the licence needs. Switch this off, or try again later.`);
        return undefined;
      }
      return { kind, target, ...flags };
    }
    case 'mailbox-permission-grant':
    case 'mailbox-permission-revoke':
      return validatePermission(kind, form, ctx, target, wanted);
    case 'group-member-add':
    case 'group-member-remove':
      return validateMembers(kind, form, ctx, target, wanted);
    case 'forwarding-set':
    case 'forwarding-off': {
      if (!isMailboxType(target.type)) {
        form.error('identity', `${what} is not a mailbox; only mailboxes forward their mail.`);
        return undefined;
      }
      if (kind === 'forwarding-off') return { kind, target };
      return validateForwarding(form, ctx, target);
    }
    case 'address-list-visibility': {
      const state = form.choice('visibility');
      if (state === undefined) return undefined;
      if (!isMailboxType(target.type)) {
        form.error('identity', `${what} is not a mailbox; Mailroom hides and shows user, shared, room and equipment mailboxes.`);
        return undefined;
      }
      const authority = exchangeAuthority(target, p);
      if (authority.side === 'refused') {
        form.error(REQUEST_FIELD, authority.reason);
        return undefined;
      }
      return { kind, target, hidden: state === 'hidden' };
    }
    default:
      form.error(REQUEST_FIELD, `${kind} is not a change request.`);
      return undefined;
  }
}
