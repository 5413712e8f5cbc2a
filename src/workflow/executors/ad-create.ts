/**
 * The AD steps that create objects: `ad.createUser`, `ad.createContact` and `ad.createGroup`. Each looks first
 * (ad-look.ts), creates only when the object is absent, and reports.
 *
 * The plan's attributes go to the directory as they are, in one bag (`NewObject.attributes`): the step only checks
 * them (no attribute the step sets itself) and adds `description` = "Created by Mailroom for R-12" (unless the plan
 * sets a description itself), written in the same LDAP add as the object. A step run again after a crash recognises
 * its own object by that stamp and its names, and reports it as done; any other object holding the DN, the logon
 * name, the sign-in name, the alias or an address stops the step with an error naming it.
 *
 * Passwords: `ad.createUser` generates one with the domain's policy, stores it in the vault (enabled accounts
 * only) before the account is created, so a crash after AD has the account never leaves an enabled account whose
 * password nobody has; it never appears in results, errors or logs.
 */
import type { AttributeValue, CreatedObject, DirectoryObject, Secret } from '../../directory';
import { createdByStamp, groupTypeOf, type AttributeValues, type StepInputs } from '../../plans';
import { badPlan, isAlreadyExists, isDirectoryFailure } from './ad-errors';
import { createdBy, facts, KIND_WORDS, look, quoted, type Identity, type Look } from './ad-look';
import type { AdDirectoryPort, AdExecutorDeps } from './ad-port';
import { StepError, type StepContext, type StepOutcome, type StepResult } from './types';

/**
 * The vault entry (per request) holding the first password of the user the request created, to be revealed once:
 * `vault.takeOnce(requestId, INITIAL_PASSWORD_ENTRY)`. One per request (no request kind creates two users); the
 * step's result names it as `vaultEntry` as well.
 */
export const INITIAL_PASSWORD_ENTRY = 'initial-password';

// ---------------------------------------------------------------------------------------------
// The plan's attributes
// ---------------------------------------------------------------------------------------------

/** Attributes a create step sets itself: a plan that puts them into `attributes` is refused. */
const RESERVED = new Set([
  'objectclass', 'cn', 'name', 'distinguishedname', 'objectguid', 'objectsid', 'samaccountname', 'userprincipalname', 'unicodepwd', 'userpassword',
  'useraccountcontrol', 'pwdlastset', 'grouptype', 'member',
]);

/** A single-valued attribute of the plan, whatever the case of its name ('' counts as absent). */
function one(attributes: AttributeValues, name: string): string | undefined {
  const key = Object.keys(attributes).find((k) => k.toLowerCase() === name.toLowerCase());
  const v = key === undefined ? undefined : attributes[key];
  if (v === undefined || typeof v === 'string') return v === '' ? undefined : v;
  if (v.length > 1) throw badPlan(`The plan gives '${name}' ${v.length} values, but it holds one.`);
  return v[0] === '' ? undefined : v[0];
}

/** The attributes with `name` set to `value`, replacing any other spelling of the name. */
function withValue(attributes: AttributeValues, name: string, value: string): AttributeValues {
  const out: Record<string, string | readonly string[]> = {};
  for (const [k, v] of Object.entries(attributes)) if (k.toLowerCase() !== name.toLowerCase()) out[k] = v;
  out[name] = value;
  return out;
}

/** The SMTP addresses (without prefix) among the plan's proxyAddresses. */
function smtpAddresses(attributes: AttributeValues): string[] {
  const key = Object.keys(attributes).find((k) => k.toLowerCase() === 'proxyaddresses');
  const v = key === undefined ? [] : attributes[key] ?? [];
  return (typeof v === 'string' ? [v] : v).flatMap((p) => /^smtp:(.+)$/i.exec(p)?.[1] ?? []);
}

type NewObjectInput = StepInputs['ad.createUser' | 'ad.createContact' | 'ad.createGroup'];

/**
 * The plan's attributes as they go to the directory, with `description` (the plan's, else the request's stamp)
 * and, for users, `displayName` (the plan's, else the CN); and the identity the look-first works with.
 */
function planned(kind: 'user' | 'contact' | 'group', input: NewObjectInput, ctx: StepContext): { attributes: AttributeValues; id: Identity } {
  for (const key of Object.keys(input.attributes)) {
    if (RESERVED.has(key.toLowerCase())) throw badPlan(`The plan sets '${key}' among the attributes of a new object, but the step sets it itself.`);
  }
  const description = one(input.attributes, 'description') ?? createdByStamp(ctx.reference);
  const displayName = one(input.attributes, 'displayName') ?? (kind === 'user' ? input.cn : undefined);
  let attributes = withValue(input.attributes, 'description', description);
  if (displayName !== undefined) attributes = withValue(attributes, 'displayName', displayName);
  const mail = one(attributes, 'mail');
  const alias = one(attributes, 'mailNickname');
  const id: Identity = {
    what: `${KIND_WORDS[kind]} ${quoted(displayName ?? input.cn)}`,
    dn: input.dn,
    parentDn: input.parentDn,
    kind,
    ...('samAccountName' in input ? { samAccountName: input.samAccountName } : {}),
    ...('userPrincipalName' in input ? { userPrincipalName: input.userPrincipalName } : {}),
    ...(alias !== undefined ? { alias } : {}),
    addresses: [...(mail ? [mail] : []), ...smtpAddresses(attributes)],
    description,
    reference: ctx.reference,
  };
  return { attributes, id };
}

/** The values written when an object is created, for the audit log (never the password). */
function writtenValues(values: Readonly<Record<string, AttributeValue | undefined>>): StepResult {
  const out: StepResult = {};
  for (const [k, v] of Object.entries(values)) {
    if (v === undefined || v === '' || (Array.isArray(v) && v.length === 0)) continue;
    out[k] = Array.isArray(v) ? [...(v as readonly string[])] : v;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// ad.createUser
// ---------------------------------------------------------------------------------------------

export async function createUser(deps: AdExecutorDeps, input: StepInputs['ad.createUser'], ctx: StepContext): Promise<StepOutcome> {
  const { directory } = deps;
  const { attributes, id } = planned('user', input, ctx);
  const found = await look(directory, id);
  if (found.found === 'ours') return existingUser(deps, found, input, ctx);

  const password = await directory.generatePassword({
    samAccountName: input.samAccountName,
    displayName: one(attributes, 'displayName'),
    givenName: one(attributes, 'givenName'),
    sn: one(attributes, 'sn'),
  });
  // Kept before AD has the account: a crash after the create must not leave an enabled account whose password nobody has.
  if (input.accountEnabled) await keep(deps, ctx, password, 'nothing was created in AD');
  let created: CreatedObject;
  try {
    created = await directory.createUser({
      parentDn: input.parentDn,
      cn: input.cn,
      samAccountName: input.samAccountName,
      userPrincipalName: input.userPrincipalName,
      attributes,
      enabled: input.accountEnabled,
      password,
      mustChangePassword: input.mustChangePassword,
    });
  } catch (err) {
    // Nothing was created: the stored password belongs to no account.
    if (input.accountEnabled && isDirectoryFailure(err) && err.outcome === 'unchanged') await discard(deps, ctx);
    if (isAlreadyExists(err)) {
      // Someone took the name between the look and the create: say who (or find it is ours after all).
      const again = await look(directory, id);
      if (again.found === 'ours') return existingUser(deps, again, input, ctx);
    }
    throw err;
  }
  const result: StepResult = {
    dn: created.dn,
    objectGuid: created.objectGuid,
    samAccountName: input.samAccountName,
    userPrincipalName: input.userPrincipalName,
    accountEnabled: input.accountEnabled,
    mustChangeAtSignIn: input.mustChangePassword,
    // What a roll back needs: this step made the object, and the stamp it carries.
    created: true,
    stamp: id.description,
    attributes: writtenValues({
      ...attributes,
      cn: input.cn,
      sAMAccountName: input.samAccountName,
      userPrincipalName: input.userPrincipalName,
      userAccountControl: input.accountEnabled ? 512 : 514,
    }),
  };
  if (input.accountEnabled) result.vaultEntry = INITIAL_PASSWORD_ENTRY;
  ctx.log.info('ad: created the user', { dn: created.dn, objectGuid: created.objectGuid, reference: ctx.reference, accountEnabled: input.accountEnabled });
  return { kind: 'done', changed: true, result };
}

/** The user exists and is ours: finish what a crashed attempt left half done, else report it. */
async function existingUser(deps: AdExecutorDeps, found: Extract<Look, { found: 'ours' }>, input: StepInputs['ad.createUser'], ctx: StepContext): Promise<StepOutcome> {
  const { directory } = deps;
  const o = found.object;
  const result: StepResult = { ...facts(o), accountEnabled: input.accountEnabled, mustChangeAtSignIn: input.mustChangePassword, ...createdBy(o, ctx) };
  if (found.moved) result.plannedDn = input.dn;
  let changed = false;
  if (input.accountEnabled && o.enabled === false) {
    // The add happened but the password and enabling did not (connection lost mid-create): do them now with a new
    // password, stored first. DirectoryClient enables only after the password was set, so an enabled account
    // of ours already has the password a previous attempt stored.
    const password = await directory.generatePassword({ samAccountName: input.samAccountName, displayName: o.displayName ?? input.cn, givenName: o.givenName, sn: o.sn });
    await keep(deps, ctx, password, `the account ${o.dn} exists but is still disabled and has no password Mailroom knows`);
    await directory.setPassword(o.dn, password, { mustChange: input.mustChangePassword });
    await directory.enableAccount(o.dn);
    result.completed = 'new first password generated and set, account enabled';
    changed = true;
    ctx.log.info('ad: completed a half-created user', { dn: o.dn, objectGuid: o.objectGuid, reference: ctx.reference });
  } else if (!input.accountEnabled && o.enabled === true) {
    await directory.disableAccount(o.dn);
    result.completed = 'account disabled';
    changed = true;
  }
  if (input.accountEnabled) result.vaultEntry = INITIAL_PASSWORD_ENTRY;
  if (!changed) ctx.log.info('ad: the user already exists (created by this step before)', { dn: o.dn, objectGuid: o.objectGuid, reference: ctx.reference });
  return { kind: 'done', changed, result };
}

async function keep(deps: AdExecutorDeps, ctx: StepContext, password: Secret, unchanged: string): Promise<void> {
  try {
    await deps.vault.put(ctx.requestId, INITIAL_PASSWORD_ENTRY, password.reveal());
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new StepError(`Mailroom could not keep the new password for the requester (${why}); ${unchanged}. Mailroom will try again.`, true, undefined, { vault: 'put failed' });
  }
}

async function discard(deps: AdExecutorDeps, ctx: StepContext): Promise<void> {
  try {
    await deps.vault.takeOnce(ctx.requestId, INITIAL_PASSWORD_ENTRY);
  } catch (err) {
    ctx.log.warn('ad: could not discard an unused password from the vault', { entry: INITIAL_PASSWORD_ENTRY, error: err instanceof Error ? err.message : String(err) });
  }
}

// ---------------------------------------------------------------------------------------------
// ad.createContact, ad.createGroup
// ---------------------------------------------------------------------------------------------

export async function createContact(deps: AdExecutorDeps, input: StepInputs['ad.createContact'], ctx: StepContext): Promise<StepOutcome> {
  const { attributes, id } = planned('contact', input, ctx);
  const create = (): Promise<CreatedObject> => deps.directory.createContact({ parentDn: input.parentDn, cn: input.cn, attributes });
  return createOnce(deps.directory, id, ctx, create, { ...attributes, cn: input.cn });
}

export async function createGroup(deps: AdExecutorDeps, input: StepInputs['ad.createGroup'], ctx: StepContext): Promise<StepOutcome> {
  const { attributes, id } = planned('group', input, ctx);
  const groupType = groupTypeOf(input.scope, input.securityEnabled);
  if (groupType !== (input.groupType | 0)) {
    throw badPlan(`The plan's groupType ${input.groupType} does not match a ${input.scope} ${input.securityEnabled ? 'security' : 'distribution'} group (${groupType}).`);
  }
  const create = (): Promise<CreatedObject> =>
    deps.directory.createGroup({ parentDn: input.parentDn, cn: input.cn, samAccountName: input.samAccountName, groupType, members: input.memberDns, attributes });
  const written = { ...attributes, cn: input.cn, sAMAccountName: input.samAccountName, groupType, member: input.memberDns };
  return createOnce(deps.directory, id, ctx, create, written, async (o) => {
    // The members were written in the same add; if someone removed one since, put it back.
    if (input.memberDns.length === 0) return {};
    const change = await deps.directory.addGroupMembers(o.dn, input.memberDns);
    return change.changed.length ? { membersAdded: [...change.changed] } : {};
  });
}

/** Look, create if absent, report: contacts and groups (one LDAP add each, so nothing can be half-created). */
async function createOnce(
  directory: AdDirectoryPort,
  id: Identity,
  ctx: StepContext,
  create: () => Promise<CreatedObject>,
  written: Readonly<Record<string, AttributeValue | undefined>>,
  converge?: (o: DirectoryObject) => Promise<StepResult>,
): Promise<StepOutcome> {
  let found = await look(directory, id);
  if (found.found === 'absent') {
    try {
      const created = await create();
      ctx.log.info(`ad: created ${id.what}`, { dn: created.dn, objectGuid: created.objectGuid, reference: ctx.reference });
      return {
        kind: 'done',
        changed: true,
        result: { dn: created.dn, objectGuid: created.objectGuid, objectClass: id.kind, created: true, stamp: id.description, attributes: writtenValues(written) },
      };
    } catch (err) {
      // Someone took the name between the look and the create: say who (or find it is ours after all).
      if (!isAlreadyExists(err)) throw err;
      found = await look(directory, id);
      if (found.found === 'absent') throw err;
    }
  }
  const o = found.object;
  const extra = converge ? await converge(o) : {};
  const changed = Object.keys(extra).length > 0;
  const result: StepResult = { ...facts(o), ...createdBy(o, ctx), ...extra };
  if (found.moved) result.plannedDn = id.dn;
  ctx.log.info(`ad: ${id.what} already exists (created by this step before)`, { dn: o.dn, objectGuid: o.objectGuid, reference: ctx.reference, changed });
  return { kind: 'done', changed, result };
}
