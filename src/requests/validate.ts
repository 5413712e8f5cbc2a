/**
 * Validation of a request's raw values (from the form card or the one-line command; the same shape) into a
 * typed request. Every bad input yields FieldErrors that say which field, why, and what would be accepted;
 * nothing here throws for bad input. Only a failing lookup (an outage) rejects, with a
 * LookupUnavailableError saying which check could not be made.
 *
 * Windows AD's rules apply, not Samba's leniency (docs/samba-ad.md). Names and addresses must be free in
 * AD and Exchange Online; values left empty are filled from the naming policy.
 */
import { KIND_FIELD, KINDS, REQUEST_FIELD, isKindId, type KindId, type RecipientRequest, type FieldError } from './kinds';
import { kindRefusal } from './tenant-profile';
import { show } from './text';
import { validateChange } from './validate-change';
import { validateContact, validateGroup, validatePerson, validateResourceMailbox } from './validate-create';
import { Form, type ValidationContext } from './validate-form';

export type { ValidationContext } from './validate-form';

export type ValidationResult = { readonly ok: true; readonly request: RecipientRequest } | { readonly ok: false; readonly errors: FieldError[] };

// ---------------------------------------------------------------------------------------------
// The validator
// ---------------------------------------------------------------------------------------------

export async function validateRequest(kind: string, rawValues: unknown, ctx: ValidationContext): Promise<ValidationResult> {
  if (typeof kind !== 'string' || !isKindId(kind)) {
    return { ok: false, errors: [{ field: KIND_FIELD, message: `${show(String(kind))} is not a request kind. Kinds: ${Object.keys(KINDS).join(', ')}.` }] };
  }
  if (typeof rawValues !== 'object' || rawValues === null || Array.isArray(rawValues)) {
    return { ok: false, errors: [{ field: REQUEST_FIELD, message: 'The request has no field values (expected an object of field id → text).' }] };
  }
  const refusal = kindRefusal(kind, ctx.profile);
  if (refusal) return { ok: false, errors: [{ field: REQUEST_FIELD, message: refusal }] };

  const raw = rawValues as Readonly<Record<string, unknown>>;
  const def = KINDS[kind];
  // Usage location is required for licensed mailboxes but may come from the tenant's default.
  const form = new Form(def, raw, new Set(ctx.profile.defaultUsageLocation ? ['usageLocation'] : []));
  const request = await validateKind(kind, form, ctx);
  if (form.errors.length || !request) {
    return { ok: false, errors: form.errors.length ? form.errors : [{ field: REQUEST_FIELD, message: 'The request could not be validated.' }] };
  }
  return { ok: true, request };
}

async function validateKind(kind: KindId, form: Form, ctx: ValidationContext): Promise<RecipientRequest | undefined> {
  switch (kind) {
    case 'user-mailbox':
    case 'mail-user':
      return validatePerson(kind, form, ctx);
    case 'shared-mailbox':
    case 'room-mailbox':
    case 'equipment-mailbox':
      return validateResourceMailbox(kind, form, ctx);
    case 'mail-contact':
      return validateContact(form, ctx);
    case 'distribution-group':
      return validateGroup(form, ctx);
    default:
      return validateChange(kind, form, ctx);
  }
}
