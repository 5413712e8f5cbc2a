/**
 * The planner: a validated request and the tenant profile in, the ordered steps out. Pure: no I/O, same
 * input → same plan. It encodes docs/hybrid-behaviour.md (HB): which side holds the authority, the
 * provisioning order, the shared-mailbox recipe, the pitfalls the approver must read.
 */
import { KINDS, type RecipientRequest, type TargetRecipient } from '../requests/kinds';
import { kindRefusal, type ExchangeAttributeMode, type Licensing, type SyncEngine, type TenantProfile } from '../requests/tenant-profile';
import { Builder, PlanRefusedError } from './plan-builder';
import { planMailboxType, planCloudManaged, planPrimary, planSecondary } from './plan-change';
import { planContact, planGroup, planMailUser, planResourceMailbox, planUserMailbox } from './plan-create';
import { planAutoReply, planBooking } from './plan-mailbox-settings';
import { planOffboarding } from './plan-offboarding';
import { planAddressLists, planForwarding, planMembers, planPermission } from './plan-settings';
import type { Step } from './steps';

export { CLOUD_MANAGED_WARNING, PlanRefusedError, TIMEOUTS } from './plan-builder';
export { groupTypeOf } from './plan-create';

export interface Plan {
  readonly kind: RecipientRequest['kind'];
  /** One line for the card's heading, e.g. "Create the shared mailbox Team Sales (sales@contoso.com)". */
  readonly title: string;
  readonly mode: { readonly exchangeAttributeMode: ExchangeAttributeMode; readonly sync: SyncEngine; readonly licensing: Licensing['mode'] };
  readonly steps: readonly Step[];
  /** Facts the approver should know. */
  readonly notes: readonly string[];
  /** Consequences the approver must weigh (HB pitfalls). */
  readonly warnings: readonly string[];
  /** For change requests: the recipient as validation saw it; the workflow re-checks it before running. */
  readonly basedOn?: TargetRecipient;
}

/**
 * The ordered steps for a validated request in this tenant. Throws PlanRefusedError when the tenant's mode
 * refuses the request (validation refuses the same, so this only happens when the profile changed since).
 */
export function plan(request: RecipientRequest, profile: TenantProfile): Plan {
  const b = new Builder(profile);
  const refusal = kindRefusal(request.kind, profile);
  if (refusal) throw new PlanRefusedError(refusal);
  let title: string;
  switch (request.kind) {
    case 'user-mailbox':
      title = planUserMailbox(b, request);
      break;
    case 'shared-mailbox':
    case 'room-mailbox':
    case 'equipment-mailbox':
      title = planResourceMailbox(b, request);
      break;
    case 'mail-user':
      title = planMailUser(b, request);
      break;
    case 'mail-contact':
      title = planContact(b, request);
      break;
    case 'distribution-group':
      title = planGroup(b, request);
      break;
    case 'primary-address':
      title = planPrimary(b, request);
      break;
    case 'secondary-address-add':
    case 'secondary-address-remove':
      title = planSecondary(b, request);
      break;
    case 'cloud-managed':
      title = planCloudManaged(b, request);
      break;
    case 'mailbox-type':
      title = planMailboxType(b, request);
      break;
    case 'offboarding':
      title = planOffboarding(b, request);
      break;
    case 'mailbox-permission-grant':
    case 'mailbox-permission-revoke':
      title = planPermission(b, request);
      break;
    case 'group-member-add':
    case 'group-member-remove':
      title = planMembers(b, request);
      break;
    case 'address-list-visibility':
      title = planAddressLists(b, request);
      break;
    case 'forwarding-set':
    case 'forwarding-off':
      title = planForwarding(b, request);
      break;
    case 'booking':
      title = planBooking(b, request);
      break;
    case 'auto-reply':
      title = planAutoReply(b, request);
      break;
  }
  return {
    kind: request.kind,
    title,
    mode: { exchangeAttributeMode: profile.exchangeAttributeMode, sync: profile.sync, licensing: profile.licensing.mode },
    steps: b.steps,
    notes: b.notes,
    warnings: b.warnings,
    ...('target' in request ? { basedOn: request.target } : {}),
  };
}

/** The kind's title, for cards that show a plan. */
export function kindTitle(kind: RecipientRequest['kind']): string {
  return KINDS[kind].title;
}
