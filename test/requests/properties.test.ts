/**
 * Property-based tests: for every form kind, 10,000 random inputs (unicode, empty, huge, control characters,
 * injection-like text, quotes, wrong types, unknown keys …) never make validation throw; each yields either
 * FieldErrors (a known field, a non-empty message) or a request that passes an invariant check written
 * independently of the validator — and that the planner accepts in the same tenant. The command line
 * round-trips values and never throws on any text.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { plan } from '../../src/plans/planner';
import { formatCommand, parseCommand } from '../../src/requests/command-line';
import { COUNTRY_CODES } from '../../src/requests/countries';
import { KIND_IDS, KINDS, type FieldDef, type KindId, type RecipientRequest } from '../../src/requests/kinds';
import type { TenantProfile } from '../../src/requests/tenant-profile';
import { validateRequest } from '../../src/requests/validate';
import { CLOUD_DEFAULT, DOMAINS, FakeLookup, PROFILE, sampleObjects } from './fixtures';

const RUNS = 10_000;
const timings: string[] = [];

// ---------------------------------------------------------------------------------------------
// Invariants, written independently of the validator
// ---------------------------------------------------------------------------------------------

const ATOM = "[A-Za-z0-9!#$%&'*+\\-/=?^_`{|}~]+";
const ALIAS_RE = new RegExp(`^${ATOM}(\\.${ATOM})*$`);
const LABEL = '[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?';
const DOMAIN_RE = new RegExp(`^(${LABEL}\\.)+[A-Za-z]{2,63}$`);
const UPN_PREFIX_RE = /^[A-Za-z0-9'\-_!#^~]+(\.[A-Za-z0-9'\-_!#^~]+)*$/;
const ACCEPTED = new Set(DOMAINS.map((d) => d.name.toLowerCase()));
// eslint-disable-next-line no-control-regex
const BAD_CHARS = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/;

function isAddress(a: string): boolean {
  const at = a.lastIndexOf('@');
  if (at < 1 || a.length > 254) return false;
  const local = a.slice(0, at);
  const domain = a.slice(at + 1);
  return local.length <= 64 && ALIAS_RE.test(local) && DOMAIN_RE.test(domain) && domain.split('.').every((l) => l.length <= 63);
}
const domainOf = (a: string): string => a.slice(a.lastIndexOf('@') + 1).toLowerCase();
const internal = (a: string): boolean => isAddress(a) && ACCEPTED.has(domainOf(a));
const external = (a: string): boolean => isAddress(a) && !ACCEPTED.has(domainOf(a));

function legalSam(s: string, limit: number): boolean {
  return s.length >= 1 && s.length <= limit && !/["/\\[\]:;|=,+*?<>]/.test(s) && !s.endsWith('.') && !BAD_CHARS.test(s) && s.trim() === s;
}
function legalText(s: string | undefined, max: number, required: boolean): boolean {
  if (s === undefined) return !required;
  return s.length >= 1 && s.length <= max && s.trim() === s && !BAD_CHARS.test(s);
}
function legalUpn(u: string, profile: TenantProfile): boolean {
  const at = u.indexOf('@');
  const prefix = u.slice(0, at);
  const suffix = u.slice(at + 1).toLowerCase();
  return at > 0 && prefix.length <= 64 && UPN_PREFIX_RE.test(prefix) && (ACCEPTED.has(suffix) || suffix === profile.upnSuffix);
}
const legalAlias = (a: string): boolean => a.length <= 64 && ALIAS_RE.test(a);

async function isFree(lookup: FakeLookup, q: Parameters<FakeLookup['whoHas']>[0]): Promise<boolean> {
  return (await lookup.whoHas(q)).length === 0;
}

/** Returns the broken invariants of a valid request (empty when it is sound). */
async function broken(r: RecipientRequest, profile: TenantProfile, lookup: FakeLookup): Promise<string[]> {
  const bad: string[] = [];
  const check = (ok: boolean, what: string): void => {
    if (!ok) bad.push(what);
  };
  if ('displayName' in r) {
    check(legalText(r.displayName, 256, true), 'displayName');
    check(legalAlias(r.alias), 'alias');
    check(await isFree(lookup, { alias: r.alias }), 'alias free');
  }
  if ('samAccountName' in r) {
    check(legalSam(r.samAccountName, r.kind === 'distribution-group' ? 64 : 20), 'samAccountName');
    check(await isFree(lookup, { samAccountName: r.samAccountName }), 'sam free');
  }
  if ('userPrincipalName' in r) {
    check(legalUpn(r.userPrincipalName, profile), 'upn');
    check(await isFree(lookup, { userPrincipalName: r.userPrincipalName }), 'upn free');
  }
  if ('primarySmtpAddress' in r) {
    check(internal(r.primarySmtpAddress), 'primary address');
    check(await isFree(lookup, { address: r.primarySmtpAddress }), 'address free');
  }
  if ('externalAddress' in r) {
    check(external(r.externalAddress), 'external address');
    check(await isFree(lookup, { address: r.externalAddress }), 'external free');
  }
  if ('firstName' in r) check(legalText(r.firstName, 64, r.kind !== 'mail-contact'), 'firstName');
  if ('lastName' in r) check(legalText(r.lastName, 64, r.kind !== 'mail-contact'), 'lastName');
  switch (r.kind) {
    case 'user-mailbox':
      check(COUNTRY_CODES.includes(r.usageLocation), 'usageLocation');
      check(legalText(r.department, 64, false) && legalText(r.jobTitle, 128, false), 'department/title');
      break;
    case 'room-mailbox':
      check(r.capacity === undefined || (Number.isInteger(r.capacity) && r.capacity >= 0 && r.capacity <= 10000), 'capacity');
      check(!profile.roomsKeepLicence || COUNTRY_CODES.includes(r.usageLocation ?? ''), 'room usageLocation');
      break;
    case 'distribution-group':
      check(r.members.every((m) => m.adDn.length > 0), 'members in AD');
      check(r.scope === 'global' || r.scope === 'universal', 'scope');
      break;
    case 'primary-address':
      check(isAddress(r.newAddress) && r.newAddress !== r.target.primarySmtpAddress, 'newAddress');
      break;
    case 'secondary-address-add':
      check(internal(r.address), 'address to add');
      check(await isFree(lookup, { address: r.address }), 'address to add is free');
      break;
    case 'secondary-address-remove':
      check(isAddress(r.address) && r.address.toLowerCase() !== r.target.primarySmtpAddress.toLowerCase(), 'address to remove');
      break;
    case 'cloud-managed':
      check(r.target.isDirSynced && ['UserMailbox', 'SharedMailbox', 'RoomMailbox', 'EquipmentMailbox'].includes(r.target.type), 'cloud-managed target');
      break;
    case 'mailbox-type':
      check(['UserMailbox', 'SharedMailbox', 'RoomMailbox', 'EquipmentMailbox'].includes(r.target.type), 'convertible');
      break;
    case 'offboarding':
      check(r.target.type === 'UserMailbox' && (!r.disableAccount || r.target.adDn !== undefined), 'offboarding target');
      check(r.disableAccount || r.convertToShared || r.removeLicence || r.hideFromAddressLists, 'something to do');
      break;
    default:
      break;
  }
  return bad;
}

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------

const NASTY = [
  '*)(cn=*', '*', '(', ')', '\\', '"', "'", '""', "O'Brien", 'a,b', 'CN=x,DC=y', '#lead', ' spaced ', '..', '.', 'a.', '@', 'a@b', '@@',
  'a\u0000b', 'line\nbreak', 'tab\there', '\u202Eevil', 'zero\u200Bwidth', '\uD800', 'x\uDFFFy', '🙂', '👩‍👩‍👧', 'Ⅻ', 'ﬁ', 'İstanbul',
  '<script>', '${x}', '{first}', '%s', 'null', 'undefined', 'true', '0', '-1', '1e3', '12.5', ' 12 ', '99999999999', 'Ω',
];
const FIRST = ['Ada', 'Jürgen', 'Zoë', 'Łukasz', "D'Arcy", 'Mary Ann', '李', 'Ægir', 'Grace', 'Ola', 'X'];
const LAST = ['Lovelace', 'Müller-Lüdenscheidt', 'Byron', 'Hopper', "O'Neil", 'van der Berg', '王', 'Ñúñez', 'Partner', 'Y'];
const NAMES = ['Team Sales', 'Board Room', 'Pool Car 1', 'Ada Partner', 'All Staff', '营销部', 'Büro Köln', 'Sales & Marketing', 'R'];
const LOCALS = ['ada', 'ada.lovelace', 'sales', 'x', 'grace', 'team-sales', 'a.b', 'boardroom2', "o'brien", 'allstaff'];
const ALL_DOMAINS = ['contoso.example', 'contoso-sales.example', 'partner.example', 'gmail.com', 'vendor.example', 'contoso.onmicrosoft.com', 'CONTOSO.EXAMPLE'];
const IDENTITIES = ['ada.byron@contoso.example', 'grace@contoso.example', 'cloud.only@contoso.example', 'sales@contoso.example', 'pat@partner.example',
  'vera@vendor.example', 'allstaff@contoso.example', 'boardroom@contoso.example', 'gary@elsewhere.example', 'ada', 'nobody@contoso.example'];

const anyText = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 24 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 24 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 24 }) },
  { weight: 3, arbitrary: fc.constantFrom(...NASTY) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 200, maxLength: 1500 }) },
  { weight: 1, arbitrary: fc.constant('') },
);
const address = fc.tuple(fc.oneof(fc.constantFrom(...LOCALS), fc.stringMatching(/^[a-z][a-z0-9.]{0,10}[a-z0-9]$/)), fc.constantFrom(...ALL_DOMAINS)).map(([l, d]) => `${l}@${d}`);
const aliasLike = fc.oneof(fc.constantFrom(...LOCALS), fc.stringMatching(/^[a-z][a-z0-9._-]{0,24}$/));

/** Plausible values per field, so that many inputs get past the syntax checks to the deeper rules. */
function plausible(f: FieldDef): fc.Arbitrary<string> {
  switch (f.id) {
    case 'firstName':
      return fc.constantFrom(...FIRST);
    case 'lastName':
      return fc.constantFrom(...LAST);
    case 'displayName':
      return fc.constantFrom(...NAMES, 'Ada Lovelace');
    case 'alias':
    case 'samAccountName':
      return aliasLike;
    case 'userPrincipalName':
    case 'emailAddress':
    case 'externalAddress':
    case 'newAddress':
      return address;
    case 'address':
      return fc.oneof({ weight: 1, arbitrary: address }, { weight: 2, arbitrary: fc.constantFrom('ada@contoso.example', 'grace@contoso.example', 'grace.hopper@contoso.example', 'ada.byron@contoso.example', 'allstaff@contoso.example') });
    case 'identity':
      // Half of the time a synced mailbox that holds a secondary address, so that address changes reach the deeper rules.
      return fc.oneof(fc.constantFrom(...IDENTITIES), fc.constantFrom('ada.byron@contoso.example', 'grace.hopper@contoso.example'));
    case 'members':
      return fc.array(fc.constantFrom(...IDENTITIES), { maxLength: 4 }).map((a) => a.join(', '));
    case 'usageLocation':
      return fc.constantFrom('DE', 'gb', 'Germany', 'XX', 'us');
    case 'capacity':
      return fc.oneof(fc.nat(20000).map(String), fc.constantFrom('twelve', '-3', '1.5'));
    default:
      if (f.type === 'toggle') return fc.constantFrom('yes', 'no', 'true', 'false', 'On', '0', 'maybe');
      if (f.type === 'choice') return fc.oneof(fc.constantFrom(...(f.choices ?? []).map((c) => c.value)), fc.constantFrom('ON', 'shared', 'Global', 'nope'));
      return fc.constantFrom('Research', 'Analyst', 'Partner Ltd', 'A group for sales');
  }
}

function valuesFor(kind: KindId): fc.Arbitrary<Record<string, unknown>> {
  const def = KINDS[kind];
  const wild = (f: FieldDef): fc.Arbitrary<unknown> =>
    fc.oneof(
      { weight: 10, arbitrary: plausible(f) },
      { weight: 4, arbitrary: anyText },
      { weight: 3, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 2 }), fc.object({ maxDepth: 1 })) },
    );
  // Half of the inputs are "tame" (plausible or empty values only), so that many reach the deeper rules.
  const tame = (f: FieldDef): fc.Arbitrary<unknown> => fc.oneof({ weight: 3, arbitrary: plausible(f) }, { weight: 2, arbitrary: fc.constant(undefined) });
  const recordOf = (gen: (f: FieldDef) => fc.Arbitrary<unknown>): fc.Arbitrary<Record<string, unknown>> =>
    fc.record(Object.fromEntries(def.fields.map((f) => [f.id, gen(f)])));
  const extra = fc.oneof({ weight: 20, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 2 }) });
  return fc.tuple(fc.oneof(recordOf(wild), recordOf(tame)), extra).map(([r, e]) => {
    const out: Record<string, unknown> = { ...e };
    for (const [k, v] of Object.entries(r)) if (v !== undefined) out[k] = v;
    return out;
  });
}

const profiles: fc.Arbitrary<TenantProfile> = fc.constantFrom<TenantProfile>(
  PROFILE,
  PROFILE,
  { ...PROFILE, roomsKeepLicence: true, sync: 'cloud', naming: { ...PROFILE.naming, samAccountName: '{first}{l}', resourceSamAccountName: 'res-{name}' } },
  CLOUD_DEFAULT,
);

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

describe('properties: validation never throws and yields errors or sound requests', function () {
  this.timeout(300_000);
  const lookup = new FakeLookup(sampleObjects());

  for (const kind of KIND_IDS) {
    it(`${kind}: ${RUNS} random inputs`, async function () {
      const known = new Set([...KINDS[kind].fields.map((f) => f.id), 'request', 'kind']);
      let valid = 0;
      let rejected = 0;
      const started = process.hrtime.bigint();
      await fc.assert(
        fc.asyncProperty(valuesFor(kind), profiles, async (values, profile) => {
          const r = await validateRequest(kind, values, { lookup, profile });
          if (r.ok) {
            valid++;
            assert.equal(r.request.kind, kind);
            assert.deepEqual(await broken(r.request, profile, lookup), [], JSON.stringify(r.request));
            const p = plan(r.request, profile); // validated in this tenant → the planner accepts it
            assert.ok(p.steps.length > 0);
          } else {
            rejected++;
            assert.ok(r.errors.length > 0);
            for (const e of r.errors) {
              assert.ok(known.has(e.field), `unknown field ${e.field}`);
              assert.ok(typeof e.message === 'string' && e.message.length > 0 && e.message.length < 2000, e.message);
              assert.doesNotMatch(e.message, BAD_CHARS, 'messages never carry control or invisible characters');
              assert.doesNotMatch(e.message, /could not be validated/, 'every rejection names its reason');
            }
          }
        }),
        { numRuns: RUNS },
      );
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      timings.push(`${kind}: ${ms.toFixed(0)} ms (${valid} valid, ${rejected} with errors)`);
      assert.equal(valid + rejected, RUNS);
      assert.ok(valid > RUNS / 100, `only ${valid} valid inputs: the generator no longer reaches the deeper rules`);
    });
  }
});

describe('properties: the command line', function () {
  this.timeout(120_000);

  after(function () {
    console.log(`      property test timings (${RUNS} runs each):\n        ${timings.join('\n        ')}`);
  });

  it(`round-trips any values of every kind (${RUNS} runs)`, function () {
    const started = process.hrtime.bigint();
    const value = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' }), fc.constantFrom(...NASTY, '"quoted"', 'a=b', '“smart”', '\\"', 'to'));
    const kindAndValues = fc.constantFrom(...KIND_IDS).chain((kind) =>
      fc.tuple(fc.constant(kind), fc.dictionary(fc.constantFrom(...KINDS[kind].fields.map((f) => f.id)), value, { maxKeys: KINDS[kind].fields.length })),
    );
    fc.assert(
      fc.property(kindAndValues, ([kind, values]) => {
        const line = formatCommand(kind, values);
        const parsed = parseCommand(line);
        assert.ok(parsed.ok, `${line}: ${JSON.stringify(parsed)}`);
        assert.equal(parsed.kind, kind);
        assert.deepEqual(parsed.values, { ...values });
      }),
      { numRuns: RUNS },
    );
    timings.push(`command line round trip: ${(Number(process.hrtime.bigint() - started) / 1e6).toFixed(0)} ms`);
  });

  it(`never throws on any text (${RUNS} runs)`, function () {
    const started = process.hrtime.bigint();
    const phrase = fc.constantFrom('', 'new mailbox ', 'new shared ', 'convert ', 'offboard ', 'cloud-managed ', 'add address ', 'new ');
    fc.assert(
      fc.property(phrase, fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom(...NASTY)), (p, rest) => {
        const r = parseCommand(p + rest);
        if (!r.ok) for (const e of r.errors) assert.ok(e.message.length > 0 && e.field.length > 0);
      }),
      { numRuns: RUNS },
    );
    timings.push(`command line, any text: ${(Number(process.hrtime.bigint() - started) / 1e6).toFixed(0)} ms`);
  });
});
