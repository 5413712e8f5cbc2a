/**
 * Finding recipients: by any of their identities (-Identity and the parameters that name a recipient), by type, and
 * the Get-* query (-Identity, -RecipientTypeDetails, -Filter, -ResultSize).
 */
import type { EmulatorContext } from '../context';
import { ExoError } from '../errors';
import { evaluateOpath, parseOpath, type FilterCmdlet } from '../exo-filter';
import { isGuid } from '../ids';
import { splitProxy, type RecipientTypeDetails } from '../rules';
import type { ExoRecipient, Tenant } from '../tenant';
import { list, required, str, type Cmdlet, type CmdletResult, type Params } from './params';
import { distinguishedName, userOf } from './views';

export function matchesIdentity(t: Tenant, r: Readonly<ExoRecipient>, identity: string): boolean {
  const id = identity.trim().toLowerCase();
  if (id === '') return false;
  if (isGuid(id)) return [r.guid, r.externalDirectoryObjectId, r.exchangeGuid].some((g) => g.toLowerCase() === id);
  if (r.name.toLowerCase() === id || r.alias.toLowerCase() === id) return true;
  if (distinguishedName(t, r).toLowerCase() === id) return true;
  const bare = id.startsWith('smtp:') ? id.slice(5) : id;
  if (r.emailAddresses.some((p) => splitProxy(p).prefix.toLowerCase() === 'smtp' && splitProxy(p).address.toLowerCase() === bare)) return true;
  if ((r.windowsEmailAddress ?? '').toLowerCase() === bare && bare !== '') return true;
  const u = userOf(t, r);
  if (u && u.userPrincipalName.toLowerCase() === bare) return true;
  return false;
}

export function resolve<R extends Readonly<ExoRecipient>>(ctx: EmulatorContext, candidates: readonly R[], identity: string): R {
  const hits = candidates.filter((r) => matchesIdentity(ctx.tenant, r, identity));
  if (hits.length === 0) {
    throw new ExoError('NotFound', `The operation couldn't be performed because object '${identity}' couldn't be found on '${ctx.exoServerName}'.`);
  }
  if (hits.length > 1) throw new ExoError('Ambiguous', `The operation couldn't be performed because '${identity}' matches multiple entries.`);
  return hits[0]!;
}

export const ALL_TYPES: RecipientTypeDetails[] = [
  'User', 'UserMailbox', 'SharedMailbox', 'RoomMailbox', 'EquipmentMailbox', 'MailUser', 'GuestMailUser', 'MailContact',
  'MailUniversalDistributionGroup', 'MailUniversalSecurityGroup',
];

function recipientTypeFilter(p: Params): Set<RecipientTypeDetails> | null {
  const v = p.get('RecipientTypeDetails');
  if (v === undefined) return null;
  const out = new Set<RecipientTypeDetails>();
  for (const s of list(v)) {
    const t = ALL_TYPES.find((x) => x.toLowerCase() === s.toLowerCase());
    if (!t) {
      throw new ExoError(
        'ParameterBinding',
        `Cannot process argument transformation on parameter 'RecipientTypeDetails'. Cannot convert value "${s}" to type "Microsoft.Exchange.Data.Directory.Recipient.RecipientTypeDetails".`,
      );
    }
    out.add(t);
  }
  return out;
}

/** How a Get-* cmdlet shows a recipient. */
export type View = (t: Tenant, r: ExoRecipient) => Record<string, unknown>;

/**
 * Properties every view copies straight from the recipient (or its Entra user), which -Filter clauses name most: a
 * recipient is only shown in full (its view built, with its owners, delegates and forwarding looked up) when its
 * filter needs more than these. A view that lacks one of them still refuses a filter on it.
 */
export const DIRECT_PROPERTIES: Record<string, (t: Tenant, r: Readonly<ExoRecipient>) => unknown> = {
  Name: (_, r) => r.name,
  Alias: (_, r) => r.alias,
  Guid: (_, r) => r.guid,
  ExchangeObjectId: (_, r) => r.guid,
  ExchangeGuid: (_, r) => r.exchangeGuid,
  ExternalDirectoryObjectId: (_, r) => r.externalDirectoryObjectId,
  RecipientTypeDetails: (_, r) => r.recipientTypeDetails,
  PrimarySmtpAddress: (_, r) => r.primarySmtpAddress ?? '',
  EmailAddresses: (_, r) => r.emailAddresses,
  UserPrincipalName: (t, r) => userOf(t, r)?.userPrincipalName ?? '',
};

/** The property names of each view per recipient type, learnt from the first recipient of that type it shows. */
const shapes = new WeakMap<View, Map<string, ReadonlySet<string>>>();

function shapeOf(view: View, r: Readonly<ExoRecipient>, full: () => Record<string, unknown>): ReadonlySet<string> {
  let byType = shapes.get(view);
  if (!byType) {
    byType = new Map<string, ReadonlySet<string>>();
    shapes.set(view, byType);
  }
  let shape = byType.get(r.recipientTypeDetails);
  if (!shape) byType.set(r.recipientTypeDetails, (shape = new Set(Object.keys(full()))));
  return shape;
}

/**
 * A recipient as a -Filter sees it: the properties of its view, read straight from the recipient where {@link DIRECT_PROPERTIES}
 * allows and from the full view (built once, on the first other property asked for) otherwise.
 */
function filterable(t: Tenant, r: Readonly<ExoRecipient>, view: View, extra: Record<string, () => unknown>): Record<string, unknown> {
  let shown: Record<string, unknown> | undefined;
  const full = (): Record<string, unknown> => (shown ??= view(t, r));
  const shape = shapeOf(view, r, full);
  return new Proxy({}, {
    has: (_, k) => typeof k === 'string' && (k in extra || shape.has(k)),
    get: (_, k) => {
      if (typeof k !== 'string') return undefined;
      const more = extra[k];
      if (more) return more();
      if (!shape.has(k)) return undefined;
      const direct = DIRECT_PROPERTIES[k];
      return direct ? direct(t, r) : full()[k];
    },
  });
}

export function query(ctx: EmulatorContext, p: Params, candidates: readonly Readonly<ExoRecipient>[], render: View, cmdlet: FilterCmdlet): CmdletResult {
  const t = ctx.tenant;
  let rows = candidates;
  const identity = str(p, 'Identity');
  if (identity !== undefined) rows = [resolve(ctx, rows, identity)];
  const types = recipientTypeFilter(p);
  if (types) rows = rows.filter((r) => types.has(r.recipientTypeDetails));
  const filter = str(p, 'Filter');
  if (filter !== undefined && filter.trim() !== '') {
    const ast = parseOpath(filter, cmdlet);
    // `Members` filters on a group's members (their DNs) without being an output property; only computed when asked
    const withMembers = /\bmembers\b/i.test(filter);
    rows = rows.filter((r) => evaluateOpath(ast, filterable(t, r, render, withMembers ? { Members: () => memberDns(t, r) } : {})));
  }
  const size = str(p, 'ResultSize');
  if (size !== undefined && size.toLowerCase() !== 'unlimited') {
    const n = Number(size);
    if (!Number.isInteger(n) || n < 0) {
      throw new ExoError('ParameterBinding', `Cannot process argument transformation on parameter 'ResultSize'. Cannot convert value "${size}" to type "Microsoft.Exchange.Data.Unlimited\`1[System.UInt32]".`);
    }
    rows = rows.slice(0, n);
  }
  // The recipients are the tenant's own (not copies): what is shown is a copy, so nothing in the answer aliases them.
  return { values: rows.map((r) => structuredClone(render(t, r as ExoRecipient))), warnings: [] };
}

/**
 * The DNs of a group's direct members, as the `Members` filter compares them ("Filterable properties for the Filter
 * parameter", Members: "the distinguished name or canonical distinguished name of the group member"; "Although this
 * property is multi-valued, the filter returns a match if the property contains the specified value"). Not a group:
 * no members.
 */
function memberDns(t: Tenant, r: Readonly<ExoRecipient>): string[] {
  if (!GROUPS.includes(r.recipientTypeDetails)) return [];
  return t.groupMembers(r.externalDirectoryObjectId).flatMap((m) => {
    const rec = t.recipientOf(m.obj.id);
    return rec ? [distinguishedName(t, rec)] : [];
  });
}

export const byType = (t: Tenant, types: RecipientTypeDetails[]): ExoRecipient[] => t.recipients().filter((r) => types.includes(r.recipientTypeDetails));
/** {@link byType} without copies: for the Get-* queries, which only read. */
export const viewOfType = (t: Tenant, types: readonly RecipientTypeDetails[]): readonly Readonly<ExoRecipient>[] => t.recipientsView().filter((r) => types.includes(r.recipientTypeDetails));
export const MAILBOXES: RecipientTypeDetails[] = ['UserMailbox', 'SharedMailbox', 'RoomMailbox', 'EquipmentMailbox'];
export const MAIL_USERS: RecipientTypeDetails[] = ['MailUser', 'GuestMailUser'];
export const GROUPS: RecipientTypeDetails[] = ['MailUniversalDistributionGroup', 'MailUniversalSecurityGroup'];
export const GET = ['Identity', 'Filter', 'ResultSize', 'RecipientTypeDetails'];

export function notFoundObject(identity: string): ExoError {
  return new ExoError('NotFound', `Couldn't find object "${identity}". Please make sure that it was spelled correctly or specify a different object.`);
}

/** A recipient (RecipientIdParameter) of one of `types`, by any identity; `what` says what the parameter takes. */
export function recipientOfTypes(ctx: EmulatorContext, identity: string, types: readonly RecipientTypeDetails[], parameter: string, what: string): ExoRecipient {
  const hits = ctx.tenant.recipients().filter((r) => r.recipientTypeDetails !== 'User' && matchesIdentity(ctx.tenant, r, identity));
  if (hits.length === 0) throw notFoundObject(identity);
  if (hits.length > 1) throw new ExoError('Ambiguous', `The operation couldn't be performed because '${identity}' matches multiple entries.`);
  const r = hits[0]!;
  if (!types.includes(r.recipientTypeDetails)) {
    throw new ExoError('Argument', `"${r.name}" is a ${r.recipientTypeDetails}: -${parameter} takes ${what}. Nothing was changed.`);
  }
  return r;
}

/** A Get-* cmdlet of one mailbox setting (Get-CalendarProcessing, Get-MailboxAutoReplyConfiguration). */
export function mailboxSettingGet(cmdlet: string, render: (t: Tenant, r: ExoRecipient) => Record<string, unknown>): Cmdlet {
  return {
    parameters: ['Identity', 'ReadFromDomainController', 'ResultSize'],
    run: (ctx, p) => {
      const r = resolve(ctx, byType(ctx.tenant, MAILBOXES), required(p, 'Identity', cmdlet));
      return { values: [render(ctx.tenant, r)], warnings: [] };
    },
  };
}
