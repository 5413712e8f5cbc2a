/**
 * How Graph shows users, groups, org contacts and directory objects, and `$select`.
 */
import { GraphError } from '../errors';
import { isMailboxType } from '../rules';
import type { EntraContact, EntraGroup, EntraUser, Tenant } from '../tenant';

export const USER_DEFAULT_SELECT = ['businessPhones', 'displayName', 'givenName', 'jobTitle', 'mail', 'mobilePhone', 'officeLocation', 'preferredLanguage', 'surname', 'userPrincipalName', 'id'];

export function userJson(t: Tenant, u: EntraUser, skus = t.skus()): Record<string, unknown> {
  const rec = t.recipientOf(u.id);
  const mailEnabled = rec !== undefined && (isMailboxType(rec.recipientTypeDetails) || rec.recipientTypeDetails === 'MailUser' || rec.recipientTypeDetails === 'GuestMailUser');
  const proxyAddresses = mailEnabled
    ? rec.emailAddresses
    : u.ad?.proxyAddresses && u.ad.proxyAddresses.length > 0
      ? u.ad.proxyAddresses
      : u.mail
        ? [`SMTP:${u.mail}`]
        : [];
  const active = u.licenseAssignmentStates.filter((l) => l.state === 'Active');
  const assignedLicenses: { disabledPlans: string[]; skuId: string }[] = [];
  for (const l of active) if (!assignedLicenses.some((a) => a.skuId === l.skuId)) assignedLicenses.push({ disabledPlans: l.disabledPlans, skuId: l.skuId });
  const assignedPlans = assignedLicenses.flatMap((l) =>
    (skus.find((s) => s.skuId === l.skuId)?.servicePlans ?? [])
      .filter((p) => !l.disabledPlans.includes(p.servicePlanId))
      .map((p) => ({
        assignedDateTime: u.licenseAssignmentStates.find((x) => x.skuId === l.skuId)?.lastUpdatedDateTime ?? u.createdDateTime,
        capabilityStatus: 'Enabled',
        service: p.servicePlanName.startsWith('EXCHANGE') ? 'exchange' : 'other',
        servicePlanId: p.servicePlanId,
      })),
  );
  return {
    id: u.id,
    accountEnabled: u.accountEnabled,
    assignedLicenses,
    assignedPlans,
    businessPhones: u.businessPhones,
    companyName: u.companyName,
    createdDateTime: u.createdDateTime,
    department: u.department,
    displayName: u.displayName,
    employeeId: u.employeeId,
    givenName: u.givenName,
    jobTitle: u.jobTitle,
    licenseAssignmentStates: u.licenseAssignmentStates.map((l) => ({
      assignedByGroup: l.assignedByGroup,
      disabledPlans: l.disabledPlans,
      error: l.error,
      lastUpdatedDateTime: l.lastUpdatedDateTime,
      skuId: l.skuId,
      state: l.state,
    })),
    mail: u.mail,
    mailNickname: u.mailNickname,
    mobilePhone: u.mobilePhone,
    officeLocation: u.officeLocation,
    onPremisesDistinguishedName: u.onPremisesDistinguishedName,
    onPremisesDomainName: u.onPremisesDomainName,
    onPremisesImmutableId: u.onPremisesImmutableId,
    onPremisesLastSyncDateTime: u.onPremisesLastSyncDateTime,
    onPremisesSamAccountName: u.onPremisesSamAccountName,
    onPremisesSecurityIdentifier: u.onPremisesSecurityIdentifier,
    onPremisesSyncEnabled: u.onPremisesSyncEnabled,
    onPremisesUserPrincipalName: u.onPremisesUserPrincipalName,
    otherMails: [],
    preferredLanguage: null,
    proxyAddresses,
    signInSessionsValidFromDateTime: u.signInSessionsValidFromDateTime ?? u.createdDateTime,
    surname: u.surname,
    usageLocation: u.usageLocation,
    userPrincipalName: u.userPrincipalName,
    userType: u.userType,
  };
}

export const GROUP_DEFAULT_SELECT = [
  'id', 'createdDateTime', 'description', 'displayName', 'groupTypes', 'mail', 'mailEnabled', 'mailNickname',
  'onPremisesDomainName', 'onPremisesLastSyncDateTime', 'onPremisesSamAccountName', 'onPremisesSecurityIdentifier',
  'onPremisesSyncEnabled', 'proxyAddresses', 'securityEnabled', 'visibility',
];

export function groupJson(g: EntraGroup): Record<string, unknown> {
  return {
    id: g.id,
    assignedLicenses: g.assignedLicenses.map((l) => ({ disabledPlans: l.disabledPlans, skuId: l.skuId })),
    createdDateTime: g.createdDateTime,
    description: g.description,
    displayName: g.displayName,
    groupTypes: g.groupTypes,
    mail: g.mail,
    mailEnabled: g.mailEnabled,
    mailNickname: g.mailNickname,
    onPremisesDomainName: g.onPremisesDomainName,
    onPremisesLastSyncDateTime: g.onPremisesLastSyncDateTime,
    onPremisesSamAccountName: g.onPremisesSamAccountName,
    onPremisesSecurityIdentifier: g.onPremisesSecurityIdentifier,
    onPremisesSyncEnabled: g.onPremisesSyncEnabled,
    proxyAddresses: g.proxyAddresses,
    securityEnabled: g.securityEnabled,
    visibility: null,
  };
}

export function contactJson(c: EntraContact): Record<string, unknown> {
  return {
    id: c.id,
    companyName: c.companyName,
    department: c.department,
    displayName: c.displayName,
    givenName: c.givenName,
    jobTitle: c.jobTitle,
    mail: c.mail,
    mailNickname: c.mailNickname,
    onPremisesLastSyncDateTime: c.onPremisesLastSyncDateTime,
    onPremisesSyncEnabled: c.onPremisesSyncEnabled,
    proxyAddresses: c.proxyAddresses,
    surname: c.surname,
  };
}

export function applySelect(obj: Record<string, unknown>, select: string[] | null, defaults: string[], type: string): Record<string, unknown> {
  const keys = select ?? defaults;
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const real = Object.keys(obj).find((x) => x.toLowerCase() === k.toLowerCase());
    if (!real) throw new GraphError(400, 'BadRequest', `Could not find a property named '${k}' on type 'microsoft.graph.${type}'.`);
    out[real] = obj[real];
  }
  return out;
}

export function parseSelect(query: URLSearchParams): string[] | null {
  const s = query.get('$select');
  if (s === null || s.trim() === '') return null;
  return s.split(',').map((x) => x.trim()).filter((x) => x !== '');
}

export function directoryObjectJson(t: Tenant, id: string): Record<string, unknown> | null {
  const o = t.directoryObject(id);
  if (!o) return null;
  if (o.kind === 'user') return { '@odata.type': '#microsoft.graph.user', ...userJson(t, o.obj) };
  if (o.kind === 'group') return { '@odata.type': '#microsoft.graph.group', ...groupJson(o.obj) };
  return { '@odata.type': '#microsoft.graph.orgContact', ...contactJson(o.obj) };
}

export function emptyContact(): EntraContact {
  return {
    id: '', displayName: '', givenName: null, surname: null, mail: null, mailNickname: '', companyName: null, department: null,
    jobTitle: null, proxyAddresses: [], onPremisesSyncEnabled: null, onPremisesImmutableId: null, onPremisesLastSyncDateTime: null,
    createdDateTime: '', ad: null,
  };
}
