/**
 * The AD steps that change or delete existing objects: `ad.setAttributes`, `ad.setPrimaryAddress`,
 * `ad.disableAccount`, `ad.addGroupMember` / `ad.removeGroupMember` and `ad.deleteObject` (roll back). Each reads
 * the object first and writes only what differs, so running it again changes nothing.
 */
import { DirectoryError, dn, type DirectoryObject } from '../../directory';
import type { StepInputs } from '../../plans';
import { badPlan, missing } from './ad-errors';
import { describeObject, facts, KIND_WORDS, quoted, sameText } from './ad-look';
import type { AdDirectoryPort } from './ad-port';
import { StepError, type StepContext, type StepOutcome, type StepResult } from './types';

function list(value: string | readonly string[] | undefined): string[] {
  if (value === undefined) return [];
  return (typeof value === 'string' ? [value] : [...value]).filter((v) => v !== '');
}

/** Exact, order-insensitive equality of two value lists (a case change is a change worth writing). */
function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const x = [...a].sort();
  const y = [...b].sort();
  return x.every((v, i) => v === y[i]);
}

/** Current values of an attribute the port can read, or undefined when it cannot read it. */
function readable(o: DirectoryObject, attribute: string): string[] | undefined {
  const one = (v: string | number | undefined): string[] => (v === undefined || v === '' ? [] : [String(v)]);
  switch (attribute.toLowerCase()) {
    case 'cn': return one(o.cn);
    case 'samaccountname': return one(o.samAccountName);
    case 'userprincipalname': return one(o.userPrincipalName);
    case 'mail': return one(o.mail);
    case 'mailnickname': return one(o.mailNickname);
    case 'proxyaddresses': return [...o.proxyAddresses];
    case 'targetaddress': return one(o.targetAddress);
    case 'displayname': return one(o.displayName);
    case 'givenname': return one(o.givenName);
    case 'sn': return one(o.sn);
    case 'department': return one(o.department);
    case 'title': return one(o.title);
    case 'description': return one(o.description);
    case 'useraccountcontrol': return one(o.userAccountControl);
    case 'grouptype': return one(o.groupType);
    case 'msexchhidefromaddresslists': return o.hiddenFromAddressLists === undefined ? [] : [o.hiddenFromAddressLists ? 'TRUE' : 'FALSE'];
    case 'msexchrecipienttypedetails': return one(o.recipientTypeDetails);
    default: return undefined;
  }
}

/** Whether the current values already are the wanted ones: exact (a case change is written), except booleans and numbers. */
function sameValues(attribute: string, current: readonly string[], want: readonly string[]): boolean {
  const a = attribute.toLowerCase();
  if (a === 'msexchhidefromaddresslists') return sameList(current.map((v) => v.toUpperCase()), want.map((v) => v.toUpperCase()));
  if (a === 'useraccountcontrol' || a === 'grouptype') return sameList(current.map((v) => String(Number(v) | 0)), want.map((v) => String(Number(v) | 0)));
  return sameList(current, want);
}

// ---- ad.setAttributes -------------------------------------------------------------------------------------------

export async function setAttributes(directory: AdDirectoryPort, input: StepInputs['ad.setAttributes'], ctx: StepContext): Promise<StepOutcome> {
  const o = await directory.get(input.dn);
  if (!o) throw missing(input.dn, 'the object');
  for (const part of [input.replace, input.add, input.remove, input.replaceIfPresent]) {
    for (const key of Object.keys(part ?? {})) {
      const k = key.toLowerCase();
      if (k === 'unicodepwd' || k === 'userpassword' || k === 'objectclass') throw badPlan(`The plan changes '${key}' with ad.setAttributes, which Mailroom never does.`);
    }
  }
  const replace: Record<string, string[]> = {};
  const changes: Record<string, { before: string[]; after: string[] }> = {};
  const unchanged: string[] = [];
  const unread: string[] = [];
  const skipped: string[] = [];
  const consider = (attribute: string, value: string | readonly string[], onlyIfPresent: boolean): void => {
    const want = list(value);
    const current = readable(o, attribute);
    if (current === undefined) {
      if (onlyIfPresent) throw badPlan(`The plan changes '${attribute}' only if it has a value, but Mailroom cannot read that attribute.`);
      // Not readable through the port: replacing with the same values is harmless, so write it.
      replace[attribute] = want;
      unread.push(attribute);
      return;
    }
    if (onlyIfPresent && current.length === 0) {
      skipped.push(attribute);
      return;
    }
    if (sameValues(attribute, current, want)) {
      unchanged.push(attribute);
      return;
    }
    replace[attribute] = want;
    changes[attribute] = { before: current, after: want };
  };
  for (const [a, v] of Object.entries(input.replace ?? {})) consider(a, v, false);
  for (const [a, v] of Object.entries(input.replaceIfPresent ?? {})) consider(a, v, true);
  if (Object.keys(replace).length) await directory.setAttributes(o.dn, replace);

  const added: Record<string, string[]> = {};
  const removed: Record<string, string[]> = {};
  for (const [a, v] of Object.entries(input.add ?? {})) {
    const change = await directory.addValues(o.dn, a, list(v));
    if (change.changed.length) added[a] = [...change.changed];
    else unchanged.push(a);
  }
  for (const [a, v] of Object.entries(input.remove ?? {})) {
    const change = await directory.removeValues(o.dn, a, list(v));
    if (change.changed.length) removed[a] = [...change.changed];
    else unchanged.push(a);
  }
  const changed = Object.keys(replace).length > 0 || Object.keys(added).length > 0 || Object.keys(removed).length > 0;
  const result: StepResult = { ...facts(o) };
  if (Object.keys(changes).length) result.changes = changes;
  if (unread.length) result.written = Object.fromEntries(unread.map((a) => [a, replace[a] ?? []]));
  if (Object.keys(added).length) result.added = added;
  if (Object.keys(removed).length) result.removed = removed;
  if (unchanged.length) result.unchanged = [...new Set(unchanged)];
  if (skipped.length) result.skippedNoValue = skipped;
  ctx.log.info('ad: attributes', { dn: o.dn, reference: ctx.reference, changed, attributes: [...Object.keys(replace), ...Object.keys(added), ...Object.keys(removed)] });
  return { kind: 'done', changed, result };
}

// ---- ad.setPrimaryAddress ---------------------------------------------------------------------------------------

export async function setPrimaryAddress(directory: AdDirectoryPort, input: StepInputs['ad.setPrimaryAddress'], ctx: StepContext): Promise<StepOutcome> {
  const o = await directory.get(input.dn);
  if (!o) throw missing(input.dn, 'the object');
  const change: Record<string, string | string[]> = {};
  const result: StepResult = { ...facts(o) };
  if (o.mail !== input.mail) {
    change.mail = input.mail;
    result.mail = { before: o.mail ?? null, after: input.mail };
  }
  if (input.rewriteProxyAddresses) {
    const before = [...o.proxyAddresses];
    const after = withPrimary(before, input.mail, input.previous);
    if (!sameList(before, after)) {
      change.proxyAddresses = after;
      result.proxyAddresses = {
        added: after.filter((v) => !before.includes(v)),
        removed: before.filter((v) => !after.includes(v)),
      };
    }
  }
  if (o.mail !== undefined && !sameText(o.mail, input.previous) && !sameText(o.mail, input.mail)) {
    // Changed in AD since the plan was made; the address it had is kept as a secondary one all the same.
    result.mailWasNotPrevious = o.mail;
  }
  const changed = Object.keys(change).length > 0;
  // One modify: mail and proxyAddresses change together or not at all.
  if (changed) await directory.setAttributes(o.dn, change);
  ctx.log.info('ad: primary address', { dn: o.dn, reference: ctx.reference, changed, mail: input.mail });
  return { kind: 'done', changed, result };
}

/**
 * proxyAddresses with `SMTP:<mail>` as the only primary: the old primary (and `previous`) kept as `smtp:`
 * secondaries, an existing secondary equal to the new address dropped (it becomes the primary), other prefixes
 * (x500:, sip: …) untouched. Addresses compare case-insensitively, as AD does, so the list never holds one twice.
 */
export function withPrimary(current: readonly string[], mail: string, previous: string): string[] {
  const out: string[] = [`SMTP:${mail}`];
  const hasSmtp = (address: string): boolean => out.some((v) => /^smtp:/i.test(v) && sameText(v.slice(5), address));
  for (const v of current) {
    const m = /^smtp:(.+)$/i.exec(v);
    if (!m?.[1]) {
      if (!out.some((x) => sameText(x, v))) out.push(v);
      continue;
    }
    if (!hasSmtp(m[1])) out.push(`smtp:${m[1]}`);
  }
  if (previous && !hasSmtp(previous)) out.push(`smtp:${previous}`);
  return out;
}

// ---- ad.disableAccount / ad.enableAccount ------------------------------------------------------------------------------------------

/** `ad.disableAccount`, and `ad.enableAccount` (an offboarding's roll back): userAccountControl's ACCOUNTDISABLE bit. */
export async function accountEnabled(directory: AdDirectoryPort, input: StepInputs['ad.disableAccount'], ctx: StepContext, enabled: boolean): Promise<StepOutcome> {
  const o = await directory.get(input.dn);
  if (!o) throw missing(input.dn, 'the account');
  const { changed } = enabled ? await directory.enableAccount(o.dn) : await directory.disableAccount(o.dn);
  ctx.log.info(enabled ? 'ad: enabled the account' : 'ad: disabled the account', { dn: o.dn, reference: ctx.reference, changed });
  return { kind: 'done', changed, result: { ...facts(o), enabled } };
}

// ---- ad.addGroupMember / ad.removeGroupMember -------------------------------------------------------------------

/**
 * The intent `ad.addGroupMember` records right before it adds the member (`ctx.intend`), as the licence steps do. A
 * try after a crash that finds the membership in place and this intent from an earlier try cannot tell whether that
 * try added it (it crashed after AD acted, before its outcome was recorded) or it was there before: it reports
 * `changed: false` (this try wrote nothing; the audit counts each write once) with `addedByEarlierTry: true`, and a
 * roll back removes it. A membership found before any try went to add it (no intent) was there before: it stays.
 */
const ADD_MEMBER_INTENT = 'add-group-member';

function earlierAddIntent(ctx: StepContext, input: StepInputs['ad.addGroupMember']): boolean {
  const i = ctx.intent;
  return i !== undefined && i.action === ADD_MEMBER_INTENT && typeof i.id === 'string' && typeof i.memberDn === 'string' && dn.equal(i.id, input.groupDn) && dn.equal(i.memberDn, input.memberDn);
}

export async function groupMember(directory: AdDirectoryPort, input: StepInputs['ad.addGroupMember'], ctx: StepContext, add: boolean): Promise<StepOutcome> {
  const base = { groupDn: input.groupDn, memberDn: input.memberDn, member: add };
  if (!add) {
    const change = await directory.removeGroupMembers(input.groupDn, [input.memberDn]);
    const changed = change.changed.length > 0;
    ctx.log.info('ad: group member removed', { groupDn: input.groupDn, memberDn: input.memberDn, reference: ctx.reference, changed });
    return { kind: 'done', changed, result: { ...base, removed: changed } };
  }
  // Looked at first, so that the intent is recorded only when this step is about to add the member.
  const members = await directory.groupMembers(input.groupDn);
  if (members === null) {
    // as the directory says it when asked to change a group that is not there
    throw new DirectoryError({
      code: 32,
      kind: 'no-such-object',
      transient: false,
      outcome: 'unchanged',
      dn: input.groupDn,
      message: `The group ${dn.describe(input.groupDn)} does not exist in Active Directory (it may have been deleted, moved or renamed); nothing was changed.`,
    });
  }
  if (members.some((m) => dn.equal(m, input.memberDn))) {
    const mine = earlierAddIntent(ctx, input);
    ctx.log.info('ad: already a group member', { groupDn: input.groupDn, memberDn: input.memberDn, reference: ctx.reference, addedByEarlierTry: mine });
    return { kind: 'done', changed: false, result: { ...base, added: false, ...(mine ? { addedByEarlierTry: true } : {}) } };
  }
  // Recorded before the write: a crash after AD acted leaves the next try knowing the membership may be this step's.
  await ctx.intend?.({ action: ADD_MEMBER_INTENT, id: input.groupDn, memberDn: input.memberDn });
  const change = await directory.addGroupMembers(input.groupDn, [input.memberDn]);
  const changed = change.changed.length > 0;
  ctx.log.info('ad: group member added', { groupDn: input.groupDn, memberDn: input.memberDn, reference: ctx.reference, changed });
  return { kind: 'done', changed, result: { ...base, added: changed } };
}

// ---- ad.addPublicDelegate / ad.removePublicDelegate --------------------------------------------------------------

/**
 * Send on behalf kept in AD: one DN in publicDelegates of the mailbox's user (sync carries it to GrantSendOnBehalfTo).
 * `changed` false when the value was already there (added) or not there (removed): a roll back then changes nothing.
 */
export async function publicDelegate(directory: AdDirectoryPort, input: StepInputs['ad.addPublicDelegate'], ctx: StepContext, add: boolean): Promise<StepOutcome> {
  const o = await directory.get(input.dn);
  if (!o) throw missing(input.dn, 'the mailbox\'s AD user');
  const delegate = await directory.get(input.delegateDn);
  if (!delegate && add) throw missing(input.delegateDn, 'the delegate');
  const change = add ? await directory.addValues(o.dn, 'publicDelegates', [input.delegateDn]) : await directory.removeValues(o.dn, 'publicDelegates', [input.delegateDn]);
  const changed = change.changed.length > 0;
  ctx.log.info(add ? 'ad: send on behalf added' : 'ad: send on behalf removed', { dn: o.dn, delegateDn: input.delegateDn, reference: ctx.reference, changed });
  return {
    kind: 'done',
    changed,
    result: { ...facts(o), delegateDn: input.delegateDn, delegate: add, ...(add ? { added: changed, hadBefore: !changed } : { removed: changed, hadBefore: changed }) },
  };
}

// ---- ad.deleteObject (roll back) --------------------------------------------------------------------------------

export async function deleteObject(directory: AdDirectoryPort, input: StepInputs['ad.deleteObject'], ctx: StepContext): Promise<StepOutcome> {
  if (!input.expectStamp) throw badPlan(`The plan deletes '${input.dn}' without the stamp that proves Mailroom created it.`);
  const o = await directory.get(input.dn);
  if (!o) {
    ctx.log.info('ad: the object to delete is gone already', { dn: input.dn, reference: ctx.reference });
    return { kind: 'done', changed: false, result: { dn: input.dn, deleted: false, absent: true } };
  }
  const problems: string[] = [];
  if (o.description !== input.expectStamp) {
    problems.push(o.description ? `its description is ${quoted(o.description)}, not ${quoted(input.expectStamp)}` : `it has no description, so not ${quoted(input.expectStamp)}`);
  }
  if (input.objectGuid && o.objectGuid && o.objectGuid.toLowerCase() !== input.objectGuid.toLowerCase()) {
    problems.push(`its objectGUID is ${o.objectGuid}, not ${input.objectGuid} (the object Mailroom created)`);
  }
  if (input.objectClass && o.objectClass !== input.objectClass) problems.push(`it is ${KIND_WORDS[o.objectClass]}, not ${KIND_WORDS[input.objectClass]}`);
  if (problems.length) {
    throw new StepError(
      `Mailroom did not delete ${describeObject(o)}: ${problems.join('; ')}. It may have been changed or replaced since ${ctx.reference} created it; nothing was deleted. ` +
        'Check the object in AD: delete it by hand if it is the one to go (then press Retry), or leave it.',
      false,
      undefined,
      { dn: o.dn, objectGuid: o.objectGuid, expectedGuid: input.objectGuid ?? null, description: o.description ?? null },
    );
  }
  const outcome = await directory.delete(o.dn);
  ctx.log.info('ad: deleted the object this request created', { dn: o.dn, objectGuid: o.objectGuid, reference: ctx.reference, outcome });
  return { kind: 'done', changed: outcome === 'deleted', result: { dn: o.dn, objectGuid: o.objectGuid, objectClass: o.objectClass, deleted: outcome === 'deleted', ...(outcome === 'absent' ? { absent: true } : {}) } };
}
