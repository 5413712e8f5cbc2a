/**
 * Roll back, where safe: from a plan and what its run did, the steps that undo what Mailroom created for the
 * request (in reverse order) and, for everything else it did, a sentence saying why it stays. Pure: no I/O.
 *
 * What is undone:
 * - an AD user, contact or group that THIS request created (its create step's result says `created: true`, with
 *   the stamp it wrote into `description` and its objectGUID): `ad.deleteObject`, which deletes only while the
 *   object still carries that stamp (and GUID). A re-run after a crash reports its own stamped object as
 *   `created: true` too, even though it changed nothing then.
 * - an Exchange licence the run assigned (the step changed something, or the user is one this request created):
 *   `entra.removeLicence`, before the AD deletion (reverse order gives that). A try after a crash that finds the
 *   licence an earlier try had recorded it was about to assign (its intent, stored before the write) reports
 *   `assignedByEarlierTry: true`: it is removed too. A licence the step found before it went to assign anything
 *   (no intent) stays.
 * - a group membership the run added: `ad.removeGroupMember`. Like the licence, a membership a try after a crash found
 *   that an earlier try had recorded it was about to add (`addedByEarlierTry: true`) is removed too; one the step found
 *   before it went to add anything (no intent) stays.
 *
 * - a mailbox permission the run gave or took away (`exo.grantMailboxPermission` ↔ `exo.revokeMailboxPermission`), send
 *   on behalf written in AD (`ad.addPublicDelegate` ↔ `ad.removePublicDelegate`), a member the run added to or removed
 *   from an existing group (`ad.addGroupMember` ↔ `ad.removeGroupMember` for group member requests,
 *   `exo.addGroupMember` ↔ `exo.removeGroupMember`): the reverse step, only where the step reports `changed: true`.
 *   A step that found the permission or membership already as wanted (`changed: false`) changed nothing, so the roll
 *   back never takes away a permission a user held before the request (or gives back one they did not hold).
 *
 * - hiding from or showing in address lists (`address-list-visibility`): the setting as the step found it, in Exchange
 *   Online (HiddenFromAddressListsEnabled) or AD (msExchHideFromAddressLists, its earlier values or none), where the
 *   step reports `changed: true`.
 *
 * - the forwarding of a mailbox (`exo.setForwarding`), its booking settings (`exo.setCalendarProcessing`) and its
 *   automatic reply (`exo.setAutoReply`): as the step found them (its `before`), where the step (or an earlier try,
 *   `changedByEarlierTry`) changed them (rollback-settings.ts).
 * - an offboarding, as far as it can be: the account enabled, the mailbox converted back to a user mailbox with its
 *   licence, the groups it was removed from given back, the manager's full access taken away, forwarding, automatic
 *   reply and address lists as before. Revoked sign-in sessions cannot be given back.
 *
 * What stays: changes to objects that existed before (attributes, addresses, other Exchange Online settings, mailbox
 * conversions). Settings on an object the rollback deletes go with it and get no line; waits change
 * nothing and get none either; a step that reports `changed: false` changed nothing.
 */
import type { Plan } from './planner';
import { permissionWords } from '../requests/kinds';
import { objectOf, settingUndo, text, texts, type Obj } from './rollback-settings';
import { STEP_ACTIONS, systemOf, type GroupMemberInput, type LicenceInput, type MailboxPermissionInput, type Step, type StepAction, type StepInputs } from './steps';

/** Step ids of compensation steps start with this: `undo.<n>.<original step id>`. */
const UNDO_PREFIX = 'undo.';

export function isUndoStepId(stepId: string): boolean {
  return stepId.startsWith(UNDO_PREFIX);
}

/** The stamp Mailroom writes into `description` of the objects it creates for a request. */
export function createdByStamp(reference: string): string {
  return `Created by Mailroom for ${reference}`;
}

/** A step of the run as stored: what ran, how it ended, what it reported. */
export interface RunStepFacts {
  readonly stepId: string;
  readonly action: string;
  /** pending, running, waiting, done, failed, skipped, cancelled. */
  readonly status: string;
  readonly input: unknown;
  /** The executor's result (the runner adds `changed`); null until the step reports one. */
  readonly result: unknown;
  readonly error?: string | null;
}

/** A compensation step: a plan step that undoes `undoes`, with a short name for messages. */
export type CompensationStep = Step & {
  /** The original step's id. */
  readonly undoes: string;
  /** What it removes, e.g. "the AD user 'Ada Lovelace' (CN=Ada Lovelace,OU=Users,…)". */
  readonly what: string;
};

/** Something the run did that the rollback leaves as it is. */
export interface KeptStep {
  readonly stepId: string;
  /** The original step's summary. */
  readonly summary: string;
  /** Why it stays, e.g. "changes to an existing object are not undone automatically". */
  readonly reason: string;
}

export interface RollbackPlan {
  /** In the order they run: the reverse of the steps they undo. Ids `undo.<n>.<original step id>`. */
  readonly steps: readonly CompensationStep[];
  /** Done steps that changed something and stay, in plan order. */
  readonly kept: readonly KeptStep[];
  /** What happens after the rollback (sync removes the cloud objects of deleted AD objects). */
  readonly notes: readonly string[];
}

/** "Changes to an existing object are not undone automatically: Set mail … ." */
export function keptLine(k: KeptStep): string {
  const summary = k.summary.replace(/[.\s]+$/, '');
  return `${k.reason[0]?.toUpperCase() ?? ''}${k.reason.slice(1)}: ${summary}.`;
}

const key = (v: string): string => v.trim().toLowerCase();
const isAction = (a: string): a is StepAction => (STEP_ACTIONS as readonly string[]).includes(a);

const CREATE_ACTIONS = new Set<string>(['ad.createUser', 'ad.createContact', 'ad.createGroup']);
const CLASS_OF: Record<string, 'user' | 'contact' | 'group'> = { 'ad.createUser': 'user', 'ad.createContact': 'contact', 'ad.createGroup': 'group' };

interface Created {
  readonly stepId: string;
  readonly dn: string;
  readonly cn: string;
  readonly objectClass: 'user' | 'contact' | 'group';
  readonly stamp: string;
  readonly objectGuid?: string;
  /** DNs, names and addresses that identify it (lower case). */
  readonly keys: ReadonlySet<string>;
}

/** Names and addresses of an object a create step made, from its input and result. */
function identities(input: Obj, result: Obj): Set<string> {
  const out = new Set<string>();
  const attributes = objectOf(input.attributes);
  for (const v of [input.dn, result.dn, result.plannedDn, input.userPrincipalName, result.userPrincipalName, input.samAccountName, result.samAccountName, attributes.mail, attributes.mailNickname]) {
    const t = text(v);
    if (t) out.add(key(t));
  }
  for (const p of texts(attributes.proxyAddresses)) out.add(key(p.replace(/^smtp:/i, '')));
  return out;
}

/** What a step acts on (DN, UPN or Exchange identity), lower case; [] for waits. */
function targetsOf(action: StepAction, input: Obj): string[] {
  const keys = (...vs: unknown[]): string[] => vs.map(text).filter((v): v is string => v !== undefined).map(key);
  switch (action) {
    case 'ad.setAttributes':
    case 'ad.setPrimaryAddress':
    case 'ad.disableAccount':
    case 'ad.deleteObject':
      return keys(input.dn);
    case 'ad.addGroupMember':
    case 'ad.removeGroupMember':
      return keys(input.memberDn);
    case 'entra.ensureUsageLocation':
    case 'entra.assignLicence':
    case 'entra.removeLicence':
      return keys(input.userPrincipalName);
    default:
      return action.startsWith('exo.') ? keys(input.identity) : [];
  }
}

const sameLicence = (a: Obj, b: Obj): boolean =>
  key(text(a.userPrincipalName) ?? '') === key(text(b.userPrincipalName) ?? '') &&
  a.via === b.via &&
  key(text(a.skuId) ?? text(a.groupId) ?? '') === key(text(b.skuId) ?? text(b.groupId) ?? '');

const sameMembership = (a: Obj, b: Obj): boolean => key(text(a.groupDn) ?? '') === key(text(b.groupDn) ?? '') && key(text(a.memberDn) ?? '') === key(text(b.memberDn) ?? '');

/** Steps whose effect the reverse step undoes exactly (one permission, one delegate, one member). */
const INVERSE: Partial<Record<StepAction, StepAction>> = {
  'exo.grantMailboxPermission': 'exo.revokeMailboxPermission',
  'exo.revokeMailboxPermission': 'exo.grantMailboxPermission',
  'ad.addPublicDelegate': 'ad.removePublicDelegate',
  'ad.removePublicDelegate': 'ad.addPublicDelegate',
  'exo.addGroupMember': 'exo.removeGroupMember',
  'exo.removeGroupMember': 'exo.addGroupMember',
};

const sameInput = (a: Obj, b: Obj, keys: readonly string[]): boolean => keys.every((k) => key(text(a[k]) ?? '') === key(text(b[k]) ?? ''));
const INPUT_KEYS: Partial<Record<StepAction, readonly string[]>> = {
  'exo.grantMailboxPermission': ['identity', 'permission', 'user'],
  'exo.revokeMailboxPermission': ['identity', 'permission', 'user'],
  'ad.addPublicDelegate': ['dn', 'delegateDn'],
  'ad.removePublicDelegate': ['dn', 'delegateDn'],
  'exo.addGroupMember': ['identity', 'member'],
  'exo.removeGroupMember': ['identity', 'member'],
};

/** The reverse step of an exactly reversible one, as the roll back runs it. */
function reverseOf(action: StepAction, inverse: StepAction, input: Obj, reference: string): { input: unknown; summary: string; what: string } {
  if (action === 'exo.grantMailboxPermission' || action === 'exo.revokeMailboxPermission') {
    const i = input as unknown as MailboxPermissionInput;
    const words = permissionWords(i.permission);
    if (inverse === 'exo.revokeMailboxPermission') {
      return {
        input: { identity: i.identity, mailboxName: i.mailboxName, permission: i.permission, user: i.user, userName: i.userName, ...(i.userKeys ? { userKeys: i.userKeys } : {}) },
        summary: `Take ${words} on ${i.mailboxName} away from ${i.userName} again (given for ${reference})`,
        what: `${words} of ${i.userName} on ${i.mailboxName}`,
      };
    }
    // Exchange does not tell whether a FullAccess had auto-mapping: it comes back with Exchange's default (on).
    return {
      input: { identity: i.identity, mailboxName: i.mailboxName, permission: i.permission, user: i.user, userName: i.userName, ...(i.userKeys ? { userKeys: i.userKeys } : {}), ...(i.permission === 'FullAccess' ? { autoMapping: true } : {}) },
      summary: `Give ${i.userName} ${words} on ${i.mailboxName} again (taken away for ${reference}${i.permission === 'FullAccess' ? '; with auto-mapping, Exchange\'s default' : ''})`,
      what: `${words} of ${i.userName} on ${i.mailboxName} (given back)`,
    };
  }
  if (action === 'ad.addPublicDelegate' || action === 'ad.removePublicDelegate') {
    const i = input as unknown as StepInputs['ad.addPublicDelegate'];
    const adding = inverse === 'ad.addPublicDelegate';
    return {
      input: { dn: i.dn, delegateDn: i.delegateDn },
      summary: `${adding ? 'Add' : 'Remove'} ${i.delegateDn} ${adding ? 'to' : 'from'} publicDelegates of ${i.dn} again (${adding ? 'removed' : 'added'} for ${reference})`,
      what: `send on behalf of ${i.delegateDn} on ${i.dn}${adding ? ' (given back)' : ''}`,
    };
  }
  const i = input as unknown as GroupMemberInput;
  const adding = inverse === 'exo.addGroupMember';
  return {
    input: { identity: i.identity, groupName: i.groupName, member: i.member, memberName: i.memberName, ...(i.memberKeys ? { memberKeys: i.memberKeys } : {}) },
    summary: `${adding ? 'Add' : 'Remove'} ${i.memberName} ${adding ? 'to' : 'from'} ${i.groupName} again (${adding ? 'removed' : 'added'} for ${reference})`,
    what: `the membership of ${i.memberName} in ${i.groupName}${adding ? ' (given back)' : ''}`,
  };
}

const ADDRESS_KINDS = new Set(['primary-address', 'secondary-address-add', 'secondary-address-remove']);

/** Why a change to something that existed before stays. */
function reasonFor(kind: string, action: StepAction): string {
  if (kind === 'offboarding') return 'offboarding is not undone automatically';
  if (ADDRESS_KINDS.has(kind)) return 'address changes are not undone automatically';
  if (action === 'exo.setMailboxType') return 'mailbox conversions are not undone automatically';
  if (action === 'exo.setCloudManaged') return 'the cloud-managed setting is not changed back automatically';
  if (action.startsWith('exo.')) return 'Exchange Online settings are not undone automatically';
  return 'changes to an existing object are not undone automatically';
}

const KIND_WORD = { user: 'user', contact: 'contact', group: 'group' } as const;

/**
 * The compensation steps for what the run of `plan` did (`run`: its steps as stored) and what stays. Only done
 * steps count; compensation steps of an earlier rollback (`undo.*`) are ignored.
 */
export function planRollback(plan: Pick<Plan, 'kind' | 'steps'>, run: readonly RunStepFacts[], reference: string): RollbackPlan {
  const summaryOf = (stepId: string, action: string): string => plan.steps.find((s) => s.id === stepId)?.summary ?? action;
  const originals = run.filter((r) => !isUndoStepId(r.stepId));
  const done = originals.filter((r) => r.status === 'done');

  // 1. The objects this request created (they will be deleted).
  const created: Created[] = [];
  const kept: KeptStep[] = [];
  for (const r of done) {
    if (!CREATE_ACTIONS.has(r.action)) continue;
    const input = objectOf(r.input);
    const result = objectOf(r.result);
    const dn = text(result.dn) ?? text(input.dn);
    const stamp = text(result.stamp);
    if (result.created === true && dn && stamp) {
      const guid = text(result.objectGuid);
      created.push({
        stepId: r.stepId,
        dn,
        cn: text(input.cn) ?? dn,
        objectClass: CLASS_OF[r.action] ?? 'user',
        stamp,
        ...(guid ? { objectGuid: guid } : {}),
        keys: identities(input, result),
      });
    } else {
      kept.push({
        stepId: r.stepId,
        summary: summaryOf(r.stepId, r.action),
        reason:
          result.created === false
            ? `Mailroom did not create this object for ${reference} (it was there already, or it cannot show that it made it), so it stays`
            : `Mailroom cannot show that it created this object for ${reference}, so it stays`,
      });
    }
  }
  const createdKeys = new Set(created.flatMap((c) => [...c.keys]));
  const onCreated = (action: StepAction, input: Obj): boolean => targetsOf(action, input).some((t) => createdKeys.has(t));

  // 2. Walk the done steps in plan order: compensate, pass over, or say why it stays.
  const undo: { undoes: string; action: StepAction; input: unknown; summary: string; what: string }[] = [];
  done.forEach((r, i) => {
    const later = done.slice(i + 1);
    const input = objectOf(r.input);
    const result = objectOf(r.result);
    const summary = summaryOf(r.stepId, r.action);
    if (!isAction(r.action)) {
      kept.push({ stepId: r.stepId, summary, reason: 'Mailroom does not know how to undo this step' });
      return;
    }
    const action = r.action;
    if (systemOf(action) === 'wait') return; // waits change nothing
    if (CREATE_ACTIONS.has(action)) {
      const c = created.find((x) => x.stepId === r.stepId);
      if (!c) return; // said above why it stays
      const word = KIND_WORD[c.objectClass];
      const del: StepInputs['ad.deleteObject'] = { dn: c.dn, expectStamp: c.stamp, objectClass: c.objectClass, ...(c.objectGuid ? { objectGuid: c.objectGuid } : {}) };
      undo.push({
        undoes: r.stepId,
        action: 'ad.deleteObject',
        input: del,
        summary: `Delete the AD ${word} '${c.cn}' (${c.dn}) that Mailroom created for ${reference}, only if it still carries "${c.stamp}"`,
        what: `the AD ${word} '${c.cn}' (${c.dn})`,
      });
      return;
    }
    const changed = result.changed;
    if (action === 'entra.assignLicence') {
      // this try assigned it, or an earlier one may have (it recorded its intent, then crashed before its outcome)
      const assigned = changed === true || result.assignedByEarlierTry === true;
      if (later.some((x) => x.action === 'entra.removeLicence' && sameLicence(objectOf(x.input), input))) return; // the run removed it itself
      if (Array.isArray(result.throughGroups)) return; // it came through a group: nothing was assigned
      const l = r.input as LicenceInput;
      if (!onCreated(action, input) && later.some((x) => x.action === 'exo.setMailboxType')) {
        // A conversion that stays may need the licence (a Regular mailbox without one is deleted after 30 days).
        if (changed !== false || assigned) kept.push({ stepId: r.stepId, summary, reason: 'the licence stays because the mailbox conversion that needs it is not undone automatically' });
        return;
      }
      if (assigned || onCreated(action, input)) {
        undo.push({
          undoes: r.stepId,
          action: 'entra.removeLicence',
          input: l,
          summary:
            l.via === 'direct'
              ? `Remove the ${l.skuName} licence from ${l.userPrincipalName} (assigned for ${reference})`
              : `Remove ${l.userPrincipalName} from the licensing group ${l.groupName} (added for ${reference})`,
          what: l.via === 'direct' ? `the ${l.skuName} licence of ${l.userPrincipalName}` : `${l.userPrincipalName}'s membership of the licensing group ${l.groupName}`,
        });
      } else if (changed !== false) {
        kept.push({ stepId: r.stepId, summary, reason: `Mailroom cannot show that ${reference} assigned this licence, so it stays` });
      }
      return;
    }
    if (action === 'ad.addGroupMember') {
      const m = r.input as StepInputs['ad.addGroupMember'];
      if (createdKeys.has(key(m.groupDn))) return; // the group itself goes
      if (later.some((x) => x.action === 'ad.removeGroupMember' && sameMembership(objectOf(x.input), input))) return;
      // this try added it, or an earlier one may have (it recorded its intent, then crashed before its outcome)
      if (changed === true || result.added === true || result.addedByEarlierTry === true || onCreated(action, input)) {
        undo.push({
          undoes: r.stepId,
          action: 'ad.removeGroupMember',
          input: { groupDn: m.groupDn, memberDn: m.memberDn },
          summary: `Remove ${m.memberDn} from the AD group ${m.groupDn} again (added for ${reference})`,
          what: `the membership of ${m.memberDn} in ${m.groupDn}`,
        });
      } else if (changed !== false && result.added !== false) {
        kept.push({ stepId: r.stepId, summary, reason: `Mailroom cannot show that ${reference} added this membership, so it stays` });
      }
      return;
    }
    const inverse = INVERSE[action];
    if (inverse !== undefined) {
      if (onCreated(action, input)) return; // a permission on an object the rollback deletes goes with it
      const keys = INPUT_KEYS[action] ?? [];
      if (later.some((x) => x.action === inverse && sameInput(objectOf(x.input), input, keys))) return; // the run reversed it itself
      // this try changed it, or an earlier one may have (it recorded its intent, then crashed before its outcome)
      if (changed === true || result.changedByEarlierTry === true) undo.push({ undoes: r.stepId, action: inverse, ...reverseOf(action, inverse, input, reference) });
      else if (changed !== false) kept.push({ stepId: r.stepId, summary, reason: `Mailroom cannot show that ${reference} made this change, so it stays` });
      return;
    }
    if (action === 'ad.removeGroupMember' && (plan.kind === 'group-member-remove' || plan.kind === 'offboarding')) {
      const m = r.input as StepInputs['ad.removeGroupMember'];
      if (later.some((x) => x.action === 'ad.addGroupMember' && sameMembership(objectOf(x.input), input))) return;
      if (changed === true || result.removed === true) {
        undo.push({
          undoes: r.stepId,
          action: 'ad.addGroupMember',
          input: { groupDn: m.groupDn, memberDn: m.memberDn },
          summary: `Add ${m.memberDn} to the AD group ${m.groupDn} again (removed for ${reference})`,
          what: `the membership of ${m.memberDn} in ${m.groupDn} (given back)`,
        });
      }
      return;
    }
    if (!onCreated(action, input)) {
      const setting = settingUndo(plan.kind, action, input, result, reference);
      if (setting !== undefined) {
        if ('undo' in setting) undo.push({ undoes: r.stepId, ...setting.undo });
        else if ('stays' in setting) kept.push({ stepId: r.stepId, summary, reason: setting.stays });
        return;
      }
    }
    if (onCreated(action, input)) return; // settings on an object the rollback deletes go with it
    if (changed === false) return; // nothing was changed
    kept.push({ stepId: r.stepId, summary, reason: reasonFor(plan.kind, action) });
  });

  // 3. Create steps cut short by a cancel: nobody knows whether the object exists; a person looks.
  for (const r of originals) {
    if (!CREATE_ACTIONS.has(r.action) || r.status !== 'cancelled' || !r.error) continue;
    kept.push({
      stepId: r.stepId,
      summary: summaryOf(r.stepId, r.action),
      reason: `this step was interrupted by the cancel (${r.error.replace(/[.\s]+$/, '')}); if AD has an object whose description is "${createdByStamp(reference)}", delete it by hand`,
    });
  }

  const steps = undo.reverse().map(
    (u, n): CompensationStep =>
      ({
        id: `${UNDO_PREFIX}${n + 1}.${u.undoes}`,
        system: systemOf(u.action),
        action: u.action,
        input: u.input,
        summary: u.summary,
        waits: false,
        undoes: u.undoes,
        what: u.what,
      }) as CompensationStep,
  );
  const notes: string[] = [];
  if (created.some((c) => c.objectClass === 'user')) {
    notes.push('Once AD has deleted the user, the next sync cycle removes the synced Entra user and its mailbox: they are soft-deleted and can be restored for 30 days.');
  }
  if (created.some((c) => c.objectClass !== 'user')) {
    notes.push('Once AD has deleted a contact or group, the next sync cycle removes it from Entra ID and Exchange Online.');
  }
  const order = new Map(plan.steps.map((s, i) => [s.id, i]));
  kept.sort((a, b) => (order.get(a.stepId) ?? 0) - (order.get(b.stepId) ?? 0));
  return { steps, kept, notes };
}
