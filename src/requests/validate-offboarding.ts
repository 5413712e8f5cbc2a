/**
 * Validation of an offboarding: which switches are on, the leave date, who gets full access to the mailbox (the
 * manager AD names, a named person, or nobody), the automatic reply and forwarding, and the mail-enabled groups the
 * person is removed from (found now, so the approver sees the list). The target has been looked up (validate-change.ts).
 */
import { REQUEST_FIELD, type OffboardingRequest, type RecipientRef, type TargetRecipient } from './kinds';
import { ask } from './lookup';
import { identityProblem, identityWildcardProblem } from './syntax';
import { describeType } from './tenant-profile';
import { show } from './text';
import type { Form, ValidationContext } from './validate-form';
import { readMoment } from './validate-mailbox-settings';
import { candidatesText, PERMISSION_HOLDER_TYPES, refOf, sameRecipient } from './validate-recipients';
import { validateForwardTo } from './validate-settings';

/** Who gets full access: the manager, a named person, or nobody (with why, for the plan). */
async function fullAccessFor(form: Form, ctx: ValidationContext, target: TargetRecipient, wanted: string, managerMatch: Awaited<ReturnType<ValidationContext['lookup']['relationsOf']>>['manager']): Promise<Pick<OffboardingRequest, 'fullAccessFor' | 'managerMissing'> | undefined> {
  if (/^(none|nobody|no|off)$/i.test(wanted)) return {};
  if (/^manager$/i.test(wanted)) {
    if (managerMatch === null) return { managerMissing: `AD names no manager for ${target.name}, so nobody is given full access to the mailbox.` };
    if (managerMatch.found !== 'one') return { managerMissing: `The manager AD names for ${target.name} was not found ${managerMatch.found === 'several' ? 'uniquely ' : ''}in Exchange Online, so nobody is given full access to the mailbox.` };
    const person = refOf('manager', managerMatch.recipient);
    if (!PERMISSION_HOLDER_TYPES(person.type) || sameRecipient(person, target)) return { managerMissing: `The manager AD names for ${target.name}, ${person.name} (${describeType(person.type)}), cannot hold full access, so nobody is given it.` };
    return { fullAccessFor: { person, as: 'manager' } };
  }
  if (identityWildcardProblem(wanted) !== null || identityProblem(wanted) !== null) {
    form.error('fullAccessFor', `${show(wanted)} is not "manager", "none", or one person's email address, UPN or alias.`);
    return undefined;
  }
  const match = await ask(`the recipient ${wanted}`, () => ctx.lookup.findRecipient(wanted));
  if (match.found === 'several') {
    form.error('fullAccessFor', `${candidatesText(wanted, match.candidates)}. Give the exact primary email address of the one you mean.`);
    return undefined;
  }
  if (match.found === 'none') {
    form.error('fullAccessFor', `no recipient ${show(wanted)} was found in Exchange Online. Give "manager", "none", or a person's email address, UPN or alias.`);
    return undefined;
  }
  const person = refOf(wanted, match.recipient);
  if (sameRecipient(person, target)) {
    form.error('fullAccessFor', `${show(wanted)} is ${target.name}, the person who leaves. Give someone else, "manager" or "none".`);
    return undefined;
  }
  if (!PERMISSION_HOLDER_TYPES(person.type)) {
    form.error('fullAccessFor', `${person.name} (${describeType(person.type)}) cannot hold full access: give a person's mailbox or a mail-enabled security group.`);
    return undefined;
  }
  return { fullAccessFor: { person, as: 'named' } };
}

export async function validateOffboarding(form: Form, ctx: ValidationContext, target: TargetRecipient): Promise<OffboardingRequest | undefined> {
  const what = `${target.name} (${describeType(target.type)})`;
  const flags = {
    disableAccount: form.toggle('disableAccount'),
    revokeSessions: form.toggle('revokeSessions'),
    convertToShared: form.toggle('convertToShared'),
    removeLicence: form.toggle('removeLicence'),
    hideFromAddressLists: form.toggle('hideFromAddressLists'),
  };
  const removeFromGroups = form.toggle('removeFromGroups');
  const reply = form.get('autoReply');
  const access = form.get('fullAccessFor') ?? 'manager';
  const forwardTyped = form.get('forwardTo');
  if (target.type !== 'UserMailbox') {
    form.error('identity', `${what} is not a person's mailbox; offboarding is for user mailboxes.`);
    return undefined;
  }
  const when = readMoment(form, ctx, 'when', true, true);
  if (when === null) return undefined;
  if (flags.disableAccount && (!target.isDirSynced || target.adDn === undefined)) {
    form.error('disableAccount', `${target.name} is cloud-only: there is no AD account to disable. Switch this off (block sign-in in Entra ID instead).`);
    return undefined;
  }
  if ((flags.removeLicence || flags.revokeSessions) && target.userPrincipalName === undefined) {
    form.error(flags.removeLicence ? 'removeLicence' : 'revokeSessions', `Mailroom could not tell the sign-in name (UPN) of ${target.name}, which ${flags.removeLicence ? 'removing the licence' : 'revoking the sessions'} needs. Switch this off, or try again later.`);
    return undefined;
  }
  const relations = await ask(`the manager and groups of ${target.name}`, () => ctx.lookup.relationsOf(target));
  const access2 = await fullAccessFor(form, ctx, target, access, relations.manager);
  if (access2 === undefined) return undefined;
  let forwarding: OffboardingRequest['forwarding'];
  if (forwardTyped !== undefined) {
    const f = await validateForwardTo(form, ctx, target);
    if (f === undefined || f.kind !== 'forwarding-set') return undefined;
    forwarding = f.recipient ? { recipient: f.recipient } : { smtpAddress: f.smtpAddress ?? '' };
  }
  const groups: RecipientRef[] = removeFromGroups ? relations.groups.map((g) => refOf(g.primarySmtpAddress, g)) : [];
  if (form.errors.length) return undefined;
  if (!Object.values(flags).some(Boolean) && !groups.length && access2.fullAccessFor === undefined && reply === undefined && forwarding === undefined) {
    const why = removeFromGroups ? ` (${target.name} is in no mail-enabled group${access2.managerMissing ? ', and has no manager to give full access' : ''})` : access2.managerMissing ? ` (${target.name} has no manager to give full access)` : '';
    form.error(REQUEST_FIELD, `Every offboarding step is switched off${why}; there is nothing to do. Switch on at least one.`);
    return undefined;
  }
  return {
    kind: 'offboarding',
    target,
    ...(when !== undefined ? { when } : {}),
    ...flags,
    ...access2,
    ...(reply !== undefined ? { autoReply: reply } : {}),
    ...(forwarding !== undefined ? { forwarding } : {}),
    removeFromGroups: groups,
  };
}
