/**
 * fast-check generators of raw request values for every form kind: unicode, empty, huge, control characters,
 * injection-like text, quotes, wrong types, unknown keys … mixed with plausible values so that many inputs get
 * past the syntax checks to the deeper rules. Shared by the property tests and the bot-level fuzz in test/security.
 */
import fc from 'fast-check';
import { KINDS, type FieldDef, type KindId } from '../../src/requests/kinds';
import type { TenantProfile } from '../../src/requests/tenant-profile';
import { CLOUD_DEFAULT, PROFILE } from './fixtures';

export const NASTY = [
  '*)(cn=*', '*', '(', ')', '\\', '"', "'", '""', "O'Brien", 'a,b', 'CN=x,DC=y', '#lead', ' spaced ', '..', '.', 'a.', '@', 'a@b', '@@',
  'a\u0000b', 'line\nbreak', 'tab\there', '\u202Eevil', 'zero\u200Bwidth', '\uD800', 'x\uDFFFy', '🙂', '👩‍👩‍👧', 'Ⅻ', 'ﬁ', 'İstanbul',
  '<script>', '${x}', '{first}', '%s', 'null', 'undefined', 'true', '0', '-1', '1e3', '12.5', ' 12 ', '99999999999', 'Ω',
  // Card markdown: must read as these characters wherever a card shows them, never as a link or markup.
  '[Approve here](https://evil.example/phish)', 'https://evil.example/x', '**bold**', '# Heading', '- item', '&lt;b&gt;',
];
const FIRST = ['Ada', 'Jürgen', 'Zoë', 'Łukasz', "D'Arcy", 'Mary Ann', '李', 'Ægir', 'Grace', 'Ola', 'X'];
const LAST = ['Lovelace', 'Müller-Lüdenscheidt', 'Byron', 'Hopper', "O'Neil", 'van der Berg', '王', 'Ñúñez', 'Partner', 'Y'];
const NAMES = ['Team Sales', 'Board Room', 'Pool Car 1', 'Ada Partner', 'All Staff', '营销部', 'Büro Köln', 'Sales & Marketing', 'R'];
const LOCALS = ['ada', 'ada.lovelace', 'sales', 'x', 'grace', 'team-sales', 'a.b', 'boardroom2', "o'brien", 'allstaff'];
const ALL_DOMAINS = ['contoso.example', 'contoso-sales.example', 'partner.example', 'gmail.com', 'vendor.example', 'contoso.onmicrosoft.com', 'CONTOSO.EXAMPLE'];
const IDENTITIES = ['ada.byron@contoso.example', 'grace@contoso.example', 'cloud.only@contoso.example', 'sales@contoso.example', 'pat@partner.example',
  'vera@vendor.example', 'allstaff@contoso.example', 'boardroom@contoso.example', 'gary@elsewhere.example', 'ada', 'nobody@contoso.example'];

export const anyText = fc.oneof(
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
export function plausible(f: FieldDef): fc.Arbitrary<string> {
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
      if (f.label === 'Group') return fc.oneof(fc.constantFrom(...IDENTITIES), fc.constantFrom('allstaff@contoso.example', 'cloudteam@contoso.example', 'helpdesk@contoso.example'));
      if (f.label === 'Room or equipment mailbox') return fc.oneof(fc.constantFrom(...IDENTITIES), fc.constantFrom('boardroom@contoso.example', 'boardroom@contoso.example', 'sales@contoso.example'));
      if (f.label === 'Mailbox') return fc.oneof(fc.constantFrom(...IDENTITIES), fc.constantFrom('sales@contoso.example', 'cloud.only@contoso.example', 'grace.hopper@contoso.example'));
      // Half of the time a synced mailbox that holds a secondary address, so that address changes reach the deeper rules.
      return fc.oneof(fc.constantFrom(...IDENTITIES), fc.constantFrom('ada.byron@contoso.example', 'grace.hopper@contoso.example'));
    case 'bookers':
      return fc.oneof(fc.constantFrom('everyone', 'Everyone', 'all'), fc.array(fc.constantFrom('ada.byron@contoso.example', 'allstaff@contoso.example', 'boardroom@contoso.example', 'pat@partner.example'), { minLength: 1, maxLength: 3 }).map((a) => a.join(', ')));
    case 'bookingWindow':
    case 'maxDuration':
      return fc.oneof(fc.nat(50000).map(String), fc.constantFrom('ninety', '-1'));
    case 'when':
    case 'start':
    case 'end':
      return fc.constantFrom('now', '2027-01-03', '2027-01-03 17:30', '2027-02-30', '2027-01-03T08:00Z', 'tomorrow', '2026-12-20');
    case 'fullAccessFor':
      return fc.constantFrom('manager', 'none', 'grace.hopper@contoso.example', 'ada.byron@contoso.example', 'allstaff@contoso.example', 'nobody@contoso.example');
    case 'message':
    case 'externalMessage':
    case 'autoReply':
      return fc.constantFrom('I am away until 3 January.', 'Ada has left. Please write to *sales@contoso.example*.', '<b>Away</b>');
    case 'forwardTo':
      return fc.oneof(fc.constantFrom(...IDENTITIES), fc.constantFrom('grace.hopper@contoso.example', 'allstaff@contoso.example', 'pat@partner.example', 'ada@elsewhere.example', 'nobody@contoso.example'));
    case 'members':
    case 'users':
      return fc.oneof(
        fc.array(fc.constantFrom(...IDENTITIES), { maxLength: 4 }).map((a) => a.join(', ')),
        fc.array(fc.constantFrom('ada.byron@contoso.example', 'grace.hopper@contoso.example', 'helpdesk@contoso.example', 'pat@partner.example'), { minLength: 1, maxLength: 3 }).map((a) => a.join(', ')),
      );
    case 'permission':
      return fc.constantFrom('FullAccess', 'SendAs', 'SendOnBehalf', 'full access', 'send-as', 'nope');
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

export function valuesFor(kind: KindId): fc.Arbitrary<Record<string, unknown>> {
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

export const profiles: fc.Arbitrary<TenantProfile> = fc.constantFrom<TenantProfile>(
  PROFILE,
  PROFILE,
  { ...PROFILE, roomsKeepLicence: true, sync: 'cloud', naming: { ...PROFILE.naming, samAccountName: '{first}{l}', resourceSamAccountName: 'res-{name}' } },
  CLOUD_DEFAULT,
  { ...PROFILE, adHasExchangeSchema: true },
);
