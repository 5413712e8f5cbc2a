/**
 * What each `ad.*` step writes in AD, by object class: the LDAP add that creates an object, the attributes it
 * modifies afterwards or on an existing object, the password it sets, the object it deletes. It is what the AD
 * executors (ad-create.ts, ad-change.ts) do with a step's input, together with what DirectoryClient adds itself
 * (DIRECTORY_WRITES); the AD rights model (src/doctor/ad-rights.ts) is made from it, and a test runs the executors on a
 * recording port to keep the two the same.
 */
import { DIRECTORY_WRITES } from '../../directory';
import { dn as dns } from '../../directory';
import type { Step, StepInputs } from '../../plans';

export type AdObjectClass = 'user' | 'contact' | 'group';

export interface AdWrite {
  /**
   * - `create`: one LDAP add below `container` (AD checks Create child there, not the attributes of the add);
   * - `delete`: deleting the object (Delete child on its container);
   * - `modify`: changing `attributes` of an existing object (Write property on each);
   * - `reset-password`: setting unicodePwd as an administrator (the Reset Password extended right).
   */
  readonly operation: 'create' | 'delete' | 'modify' | 'reset-password';
  readonly objectClass: AdObjectClass;
  /** The container the object is (or is created) in, when the step names it. */
  readonly container?: string;
  /** The existing object a `modify` or `delete` works on. */
  readonly dn?: string;
  /** The attributes written (create: those of the add). */
  readonly attributes: readonly string[];
}

/** Attributes the create steps add themselves: the request's stamp (description) and, for users, displayName. */
const CREATE_STEP_ATTRIBUTES = ['description', 'displayName'] as const;

/** The AD class of an Exchange recipient type (MailContact, groups, else a user). */
export function adClassOfRecipientType(type: string): AdObjectClass {
  if (type === 'MailContact') return 'contact';
  return /Group$/.test(type) ? 'group' : 'user';
}

function parentOf(dn: string): string | undefined {
  try {
    return dns.parent(dn);
  } catch {
    return undefined;
  }
}

const unique = (names: readonly string[]): string[] => {
  const out: string[] = [];
  for (const n of names) if (!out.some((o) => o.toLowerCase() === n.toLowerCase())) out.push(n);
  return out;
};

/**
 * The writes of one step. `targetClass`: the class of the existing object a change step works on (from the plan's
 * `basedOn`); steps that create or delete name their class themselves.
 */
export function adWritesOf(step: Step, targetClass?: AdObjectClass): AdWrite[] {
  const on = (dn: string): { container?: string; dn: string } => {
    const c = parentOf(dn);
    return c ? { container: c, dn } : { dn };
  };
  switch (step.action) {
    case 'ad.createUser': {
      const i: StepInputs['ad.createUser'] = step.input;
      const where = { objectClass: 'user' as const, container: i.parentDn };
      return [
        { operation: 'create', ...where, attributes: unique([...DIRECTORY_WRITES.createUser.add, ...Object.keys(i.attributes), ...CREATE_STEP_ATTRIBUTES]) },
        // The password, set as an administrator sets one (a look-first re-run after a crash sets a new one).
        { operation: 'reset-password', ...where, attributes: ['unicodePwd'] },
        // pwdLastSet 0 when the person must change it; userAccountControl enables the account once it has a password
        // (a re-run enables or disables an existing one).
        { operation: 'modify', ...where, attributes: DIRECTORY_WRITES.createUser.modify.filter((a) => a !== 'unicodePwd' && (a !== 'pwdLastSet' || i.mustChangePassword)) },
      ];
    }
    case 'ad.createContact': {
      const i: StepInputs['ad.createContact'] = step.input;
      return [{ operation: 'create', objectClass: 'contact', container: i.parentDn, attributes: unique([...DIRECTORY_WRITES.createContact.add, ...Object.keys(i.attributes), 'description']) }];
    }
    case 'ad.createGroup': {
      const i: StepInputs['ad.createGroup'] = step.input;
      const writes: AdWrite[] = [{ operation: 'create', objectClass: 'group', container: i.parentDn, attributes: unique([...DIRECTORY_WRITES.createGroup.add, ...Object.keys(i.attributes), 'description']) }];
      // A re-run puts back members removed since the add.
      if (i.memberDns.length) writes.push({ operation: 'modify', objectClass: 'group', container: i.parentDn, attributes: [...DIRECTORY_WRITES.addGroupMembers.modify] });
      return writes;
    }
    case 'ad.setAttributes': {
      const i: StepInputs['ad.setAttributes'] = step.input;
      const attributes = unique([i.replace, i.add, i.remove, i.replaceIfPresent].flatMap((part) => Object.keys(part ?? {})));
      return attributes.length ? [{ operation: 'modify', objectClass: targetClass ?? 'user', ...on(i.dn), attributes }] : [];
    }
    case 'ad.setPrimaryAddress': {
      const i: StepInputs['ad.setPrimaryAddress'] = step.input;
      return [{ operation: 'modify', objectClass: targetClass ?? 'user', ...on(i.dn), attributes: i.rewriteProxyAddresses ? ['mail', 'proxyAddresses'] : ['mail'] }];
    }
    case 'ad.disableAccount':
    case 'ad.enableAccount': {
      const i: StepInputs['ad.disableAccount'] = step.input;
      return [{ operation: 'modify', objectClass: 'user', ...on(i.dn), attributes: [...DIRECTORY_WRITES.disableAccount.modify] }];
    }
    case 'ad.addGroupMember':
    case 'ad.removeGroupMember': {
      const i: StepInputs['ad.addGroupMember'] = step.input;
      return [{ operation: 'modify', objectClass: 'group', ...on(i.groupDn), attributes: [...DIRECTORY_WRITES.addGroupMembers.modify] }];
    }
    case 'ad.addPublicDelegate':
    case 'ad.removePublicDelegate': {
      const i: StepInputs['ad.addPublicDelegate'] = step.input;
      return [{ operation: 'modify', objectClass: 'user', ...on(i.dn), attributes: ['publicDelegates'] }];
    }
    case 'ad.deleteObject': {
      const i: StepInputs['ad.deleteObject'] = step.input;
      return [{ operation: 'delete', objectClass: i.objectClass ?? targetClass ?? 'user', ...on(i.dn), attributes: [] }];
    }
    default:
      return [];
  }
}
