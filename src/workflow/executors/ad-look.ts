/**
 * Look first, for the AD steps that create objects: is the object there, is it this step's own (a run again after
 * a crash), and who else holds its DN, names or addresses. Also how AD objects are named in messages and results.
 */
import { dn, type DirectoryObject, type ObjectKind, type WhoHasMatch, type WhoHasQuery } from '../../directory';
import { createdByStamp } from '../../plans';
import type { AdDirectoryPort } from './ad-port';
import { StepError, type StepContext, type StepResult } from './types';

/** What a create step makes, and how its own object is recognised. */
export interface Identity {
  /** What the step creates, e.g. `the user 'Ada Lovelace'`. */
  readonly what: string;
  readonly dn: string;
  readonly parentDn: string;
  readonly kind: ObjectKind;
  readonly samAccountName?: string;
  readonly userPrincipalName?: string;
  readonly alias?: string;
  /** mail and the smtp: proxy addresses. */
  readonly addresses: readonly string[];
  /** What `description` must say for the object to be this step's own. */
  readonly description: string;
  readonly reference: string;
}

export type Look =
  | { readonly found: 'absent' }
  /** `moved`: found by its names elsewhere than at the planned DN (moved or renamed since). */
  | { readonly found: 'ours'; readonly object: DirectoryObject; readonly moved: boolean };

/** Case-insensitive, accent-sensitive equality (how AD compares names and addresses). */
export function sameText(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a === b || a.localeCompare(b, 'en', { sensitivity: 'accent' }) === 0;
}

export function quoted(s: string): string {
  return `'${s}'`;
}

export const KIND_WORDS: Record<ObjectKind, string> = {
  user: 'the user',
  contact: 'the contact',
  group: 'the group',
  computer: 'the computer',
  'organizational-unit': 'the OU',
  other: 'the object',
};

export function describeObject(o: { readonly objectClass: ObjectKind; readonly dn: string; readonly displayName?: string; readonly cn?: string; readonly samAccountName?: string }): string {
  const name = o.displayName ?? o.cn;
  const logon = o.samAccountName ? `, logon name ${quoted(o.samAccountName)}` : '';
  return `${KIND_WORDS[o.objectClass]}${name ? ` ${quoted(name)}` : ''} (${o.dn}${logon})`;
}

/** The facts of an object for results (JSON, no secrets). */
export function facts(o: DirectoryObject): StepResult {
  const r: StepResult = { dn: o.dn, objectGuid: o.objectGuid, objectClass: o.objectClass };
  if (o.samAccountName !== undefined) r.samAccountName = o.samAccountName;
  if (o.userPrincipalName !== undefined) r.userPrincipalName = o.userPrincipalName;
  return r;
}

/** Whether an object found by a re-run is provably this request's own: it carries the request's own stamp. */
export function createdBy(o: DirectoryObject, ctx: StepContext): StepResult {
  const stamp = o.description ?? '';
  return { created: stamp === createdByStamp(ctx.reference), stamp };
}

const FIELD_WORDS: Record<string, string> = {
  samAccountName: 'logon name (sAMAccountName)',
  userPrincipalName: 'sign-in name (userPrincipalName)',
  alias: 'alias (mailNickname)',
  address: 'address',
};

function isOurs(o: DirectoryObject, id: Identity): boolean {
  return (
    o.objectClass === id.kind &&
    o.description === id.description &&
    (id.samAccountName === undefined || sameText(o.samAccountName, id.samAccountName)) &&
    (id.userPrincipalName === undefined || sameText(o.userPrincipalName, id.userPrincipalName))
  );
}

function notOurs(id: Identity): string {
  return id.description === createdByStamp(id.reference)
    ? `which Mailroom did not create for ${id.reference}`
    : `which is not the one this step creates`;
}

/** The whoHas questions for an identity: its DN, names and first address in one, each further address alone. */
function questions(id: Identity): WhoHasQuery[] {
  const queries: WhoHasQuery[] = [];
  const first: { -readonly [K in keyof WhoHasQuery]: WhoHasQuery[K] } = { dn: id.dn };
  if (id.samAccountName !== undefined) first.samAccountName = id.samAccountName;
  if (id.userPrincipalName !== undefined) first.userPrincipalName = id.userPrincipalName;
  if (id.alias !== undefined) first.alias = id.alias;
  const addresses = id.addresses.filter((a, i) => id.addresses.findIndex((b) => sameText(a, b)) === i);
  if (addresses[0] !== undefined) first.address = addresses[0];
  queries.push(first);
  for (const address of addresses.slice(1)) queries.push({ address });
  return queries;
}

/**
 * Look for the object this step creates: absent, or present and ours (at its DN, or moved elsewhere). Throws a
 * permanent StepError when a different object holds the DN or one of the names or addresses.
 */
export async function look(directory: AdDirectoryPort, id: Identity): Promise<Look> {
  // One search asks for the DN, the names and the first address at once (the usual answer: nobody); only what it
  // finds is read whole.
  const holders: WhoHasMatch[] = [];
  for (const q of questions(id)) {
    for (const m of await directory.whoHas(q)) {
      // one entry per object, however often (and however spelled) whoHas named its DN
      const i = holders.findIndex((h) => dn.equal(h.dn, m.dn));
      if (i < 0) holders.push(m);
      else holders[i] = { ...holders[i]!, matches: [...holders[i]!.matches, ...m.matches] };
    }
  }
  if (holders.length === 0) return { found: 'absent' };
  const atDn = holders.some((h) => dn.equal(h.dn, id.dn)) ? await directory.get(id.dn) : null;
  if (atDn) {
    if (isOurs(atDn, id)) return { found: 'ours', object: atDn, moved: false };
    throw new StepError(
      `Active Directory already has an object named ${quoted(atDn.cn ?? id.dn)} in '${id.parentDn}': ${describeObject(atDn)}, ${notOurs(id)}; nothing was created. ` +
        'Rename or remove that object in AD and press Retry, or cancel this request.',
      false,
      undefined,
      { conflict: 'dn', holder: atDn.dn, holderGuid: atDn.objectGuid },
    );
  }
  const conflicts: { holder: WhoHasMatch; object: DirectoryObject | null }[] = [];
  for (const holder of holders) {
    // the object at the DN was read above (gone meanwhile: it holds nothing)
    if (dn.equal(holder.dn, id.dn)) continue;
    const object = await directory.get(holder.dn);
    // Ours, but no longer at its DN (moved or renamed after a crash): the step's work is done.
    if (object && isOurs(object, id)) return { found: 'ours', object, moved: true };
    conflicts.push({ holder, object });
  }
  if (conflicts.length === 0) return { found: 'absent' };
  const parts = conflicts.map(({ holder, object }) => {
    const fields = [...new Set(holder.matches.map((m) => `the ${FIELD_WORDS[m.field] ?? m.field} ${quoted(m.value)}`))];
    const who = object ? describeObject(object) : `${KIND_WORDS[holder.objectClass]} ${quoted(holder.name)} (${holder.dn})`;
    return `${fields.join(' and ')} ${fields.length > 1 ? 'are' : 'is'} already used by ${who}`;
  });
  throw new StepError(
    `Mailroom did not create ${id.what}: ${parts.join('; ')}; nothing was created. Free the name in AD (or cancel this request and ask again with another) and press Retry.`,
    false,
    undefined,
    { conflict: 'name', holders: conflicts.map((c) => c.holder.dn) },
  );
}
