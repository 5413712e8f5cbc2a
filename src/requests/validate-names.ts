/**
 * The names of a new recipient (alias, logon name, UPN, primary address): those left empty are formed by the
 * naming policy with collision numbers, those typed must be free in AD and Exchange Online.
 */
import { childDn, cutName } from './dn';
import { ask } from './lookup';
import { deriveFree, holdersOf, MAX_SUFFIX, valueFor, withSuffix, type Derivation, type NameSlot } from './naming';
import { LIMITS } from './syntax';
import { show } from './text';
import { whoText } from './validate-checks';
import type { Form, ValidationContext } from './validate-form';

const SLOT_WORD: Record<NameSlot, string> = {
  alias: 'alias',
  samAccountName: 'logon name',
  userPrincipalName: 'sign-in name (UPN)',
  emailAddress: 'address',
};

/** Reports a typed value that someone else already holds. */
async function checkTypedFree(form: Form, ctx: ValidationContext, id: string, slot: NameSlot, value: string | undefined): Promise<void> {
  if (value === undefined) return;
  const holders = await holdersOf(ctx.lookup, slot, value);
  if (holders.length) {
    form.error(id, `${show(value)} is already used by ${whoText(holders)}. Choose another, or leave it empty and Mailroom picks a free one.`);
  }
}

export interface NameNeeds {
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
export async function settleNames(form: Form, ctx: ValidationContext, needs: NameNeeds): Promise<Partial<Record<NameSlot, string>> | undefined> {
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
export function upnPrefixFrom(alias: string | undefined): string {
  return (alias ?? '')
    .replace(/[^A-Za-z0-9'.\-_!#^~]/g, '')
    .replace(/\.{2,}/g, '.')
    .replace(/^\.+|\.+$/g, '');
}

/**
 * The AD name (CN) of a new object in `ou` when it cannot be its display name: AD names an object `CN=<display name>`,
 * and a name is unique within an OU, so a second Maria Garcia in the users' OU is named
 * `Maria Garcia (mgarcia2)` — her display name, and her logon name or alias (`distinct`, free: validation chose it).
 * Returns `{}` when the display name is free as a CN, `{ cn }` otherwise, null when that name is taken as well
 * (reported on displayName: nothing is requested).
 */
export async function settleCn(form: Form, ctx: ValidationContext, displayName: string, ou: string, distinct: string): Promise<{ cn?: string } | null> {
  const taken = async (cn: string): Promise<boolean> =>
    (await ask(`whether AD has an object named ${cn} in ${ou}`, () => ctx.lookup.whoHas({ dn: childDn(cn, ou) }))).length > 0;
  const plain = cutName(displayName, LIMITS.cn);
  if (!(await taken(plain))) return {};
  const suffix = ` (${distinct})`;
  const cn = `${cutName(displayName, LIMITS.cn - suffix.length)}${suffix}`;
  if (!(await taken(cn))) return { cn };
  form.error('displayName', `AD already has objects named ${show(plain)} and ${show(cn)} in ${ou}. Give a display name that tells this one apart (for example with the department).`);
  return null;
}
