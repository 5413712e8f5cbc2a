/**
 * What a sound request is, written independently of the validator: the property tests (and the bot-level fuzz in
 * test/security) check every request the validator accepts against these rules.
 */
import { COUNTRY_CODES } from '../../src/requests/countries';
import type { RecipientRequest } from '../../src/requests/kinds';
import type { TenantProfile } from '../../src/requests/tenant-profile';
import { DOMAINS, type FakeLookup } from './fixtures';

const ATOM = "[A-Za-z0-9!#$%&'*+\\-/=?^_`{|}~]+";
const ALIAS_RE = new RegExp(`^${ATOM}(\\.${ATOM})*$`);
const LABEL = '[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?';
const DOMAIN_RE = new RegExp(`^(${LABEL}\\.)+[A-Za-z]{2,63}$`);
const UPN_PREFIX_RE = /^[A-Za-z0-9'\-_!#^~]+(\.[A-Za-z0-9'\-_!#^~]+)*$/;
const ACCEPTED = new Set(DOMAINS.map((d) => d.name.toLowerCase()));
// eslint-disable-next-line no-control-regex
export const BAD_CHARS = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/;

function isAddress(a: string): boolean {
  const at = a.lastIndexOf('@');
  if (at < 1 || a.length > 254) return false;
  const local = a.slice(0, at);
  const domain = a.slice(at + 1);
  return local.length <= 64 && ALIAS_RE.test(local) && DOMAIN_RE.test(domain) && domain.split('.').every((l) => l.length <= 63);
}
const domainOf = (a: string): string => a.slice(a.lastIndexOf('@') + 1).toLowerCase();
const internal = (a: string): boolean => isAddress(a) && ACCEPTED.has(domainOf(a));
const external = (a: string): boolean => isAddress(a) && !ACCEPTED.has(domainOf(a));

function legalSam(s: string, limit: number): boolean {
  return s.length >= 1 && s.length <= limit && !/["/\\[\]:;|=,+*?<>]/.test(s) && !s.endsWith('.') && !BAD_CHARS.test(s) && s.trim() === s;
}
function legalText(s: string | undefined, max: number, required: boolean): boolean {
  if (s === undefined) return !required;
  return s.length >= 1 && s.length <= max && s.trim() === s && !BAD_CHARS.test(s);
}
function legalUpn(u: string, profile: TenantProfile): boolean {
  const at = u.indexOf('@');
  const prefix = u.slice(0, at);
  const suffix = u.slice(at + 1).toLowerCase();
  return at > 0 && prefix.length <= 64 && UPN_PREFIX_RE.test(prefix) && (ACCEPTED.has(suffix) || suffix === profile.upnSuffix);
}
const legalAlias = (a: string): boolean => a.length <= 64 && ALIAS_RE.test(a);

async function isFree(lookup: FakeLookup, q: Parameters<FakeLookup['whoHas']>[0]): Promise<boolean> {
  return (await lookup.whoHas(q)).length === 0;
}

/** Returns the broken invariants of a valid request (empty when it is sound). */
export async function broken(r: RecipientRequest, profile: TenantProfile, lookup: FakeLookup): Promise<string[]> {
  const bad: string[] = [];
  const check = (ok: boolean, what: string): void => {
    if (!ok) bad.push(what);
  };
  if ('displayName' in r) {
    check(legalText(r.displayName, 256, true), 'displayName');
    check(legalAlias(r.alias), 'alias');
    check(await isFree(lookup, { alias: r.alias }), 'alias free');
  }
  if ('samAccountName' in r) {
    check(legalSam(r.samAccountName, r.kind === 'distribution-group' ? 64 : 20), 'samAccountName');
    check(await isFree(lookup, { samAccountName: r.samAccountName }), 'sam free');
  }
  if ('userPrincipalName' in r) {
    check(legalUpn(r.userPrincipalName, profile), 'upn');
    check(await isFree(lookup, { userPrincipalName: r.userPrincipalName }), 'upn free');
  }
  if ('primarySmtpAddress' in r) {
    check(internal(r.primarySmtpAddress), 'primary address');
    check(await isFree(lookup, { address: r.primarySmtpAddress }), 'address free');
  }
  if ('externalAddress' in r) {
    check(external(r.externalAddress), 'external address');
    check(await isFree(lookup, { address: r.externalAddress }), 'external free');
  }
  if ('firstName' in r) check(legalText(r.firstName, 64, r.kind !== 'mail-contact'), 'firstName');
  if ('lastName' in r) check(legalText(r.lastName, 64, r.kind !== 'mail-contact'), 'lastName');
  switch (r.kind) {
    case 'user-mailbox':
      check(COUNTRY_CODES.includes(r.usageLocation), 'usageLocation');
      check(legalText(r.department, 64, false) && legalText(r.jobTitle, 128, false), 'department/title');
      break;
    case 'shared-mailbox':
      check((r.members ?? []).every((m) => ['UserMailbox', 'SharedMailbox', 'RoomMailbox', 'EquipmentMailbox', 'MailUser', 'MailUniversalSecurityGroup'].includes(m.type)), 'members can hold permissions');
      check(r.members === undefined || r.members.length > 0, 'members given or none');
      break;
    case 'room-mailbox':
      check(r.capacity === undefined || (Number.isInteger(r.capacity) && r.capacity >= 0 && r.capacity <= 10000), 'capacity');
      check(!profile.roomsKeepLicence || COUNTRY_CODES.includes(r.usageLocation ?? ''), 'room usageLocation');
      break;
    case 'distribution-group':
      check(r.members.every((m) => m.adDn.length > 0), 'members in AD');
      check(r.scope === 'global' || r.scope === 'universal', 'scope');
      break;
    case 'primary-address':
      check(isAddress(r.newAddress) && r.newAddress !== r.target.primarySmtpAddress, 'newAddress');
      break;
    case 'secondary-address-add':
      check(internal(r.address), 'address to add');
      check(await isFree(lookup, { address: r.address }), 'address to add is free');
      break;
    case 'secondary-address-remove':
      check(isAddress(r.address) && r.address.toLowerCase() !== r.target.primarySmtpAddress.toLowerCase(), 'address to remove');
      break;
    case 'cloud-managed':
      check(r.target.isDirSynced && ['UserMailbox', 'SharedMailbox', 'RoomMailbox', 'EquipmentMailbox'].includes(r.target.type), 'cloud-managed target');
      break;
    case 'mailbox-type':
      check(['UserMailbox', 'SharedMailbox', 'RoomMailbox', 'EquipmentMailbox'].includes(r.target.type), 'convertible');
      break;
    case 'offboarding':
      check(r.target.type === 'UserMailbox' && (!r.disableAccount || r.target.adDn !== undefined), 'offboarding target');
      check(r.disableAccount || r.revokeSessions || r.convertToShared || r.removeLicence || r.hideFromAddressLists || r.removeFromGroups.length > 0 || r.fullAccessFor !== undefined || r.autoReply !== undefined || r.forwarding !== undefined, 'something to do');
      check(r.fullAccessFor === undefined || r.fullAccessFor.person.primarySmtpAddress.toLowerCase() !== r.target.primarySmtpAddress.toLowerCase(), 'full access for someone else');
      check(r.removeFromGroups.every((g) => ['MailUniversalDistributionGroup', 'MailUniversalSecurityGroup', 'MailNonUniversalGroup'].includes(g.type)), 'removed from mail-enabled groups');
      break;
    case 'booking':
      check(['RoomMailbox', 'EquipmentMailbox'].includes(r.target.type), 'a room or equipment');
      check(r.processing !== undefined || r.bookingWindowInDays !== undefined || r.maximumDurationInMinutes !== undefined || r.allowConflicts !== undefined || r.bookers !== undefined, 'something to change');
      check(r.bookingWindowInDays === undefined || (r.bookingWindowInDays >= 0 && r.bookingWindowInDays <= 1080), 'booking window in range');
      check(r.bookers === undefined || r.bookers === 'everyone' || (r.bookers.length > 0 && r.bookers.every((b) => b.primarySmtpAddress.toLowerCase() !== r.target.primarySmtpAddress.toLowerCase())), 'bookers');
      break;
    case 'auto-reply':
      check(['UserMailbox', 'SharedMailbox', 'RoomMailbox', 'EquipmentMailbox'].includes(r.target.type), 'a mailbox');
      check(!r.enabled || (r.message !== undefined && r.message.trim() !== ''), 'a reply to turn on');
      check((r.start === undefined) === (r.end === undefined), 'a schedule has both ends');
      check(r.start === undefined || r.end === undefined || Date.parse(r.end.iso) > Date.parse(r.start.iso), 'the end after the start');
      break;
    case 'mailbox-permission-grant':
    case 'mailbox-permission-revoke': {
      const mailbox = ['UserMailbox', 'SharedMailbox', 'RoomMailbox', 'EquipmentMailbox'];
      check(mailbox.includes(r.target.type), 'permission on a mailbox');
      check(['FullAccess', 'SendAs', 'SendOnBehalf'].includes(r.permission), 'permission');
      check(r.users.length >= 1 && r.users.length <= 50, 'users count');
      check(r.users.every((u) => [...mailbox, 'MailUser', 'MailUniversalSecurityGroup'].includes(u.type)), 'users can hold permissions');
      check(r.users.every((u) => u.primarySmtpAddress.toLowerCase() !== r.target.primarySmtpAddress.toLowerCase()), 'not the mailbox itself');
      check(new Set(r.users.map((u) => u.primarySmtpAddress.toLowerCase())).size === r.users.length, 'each user once');
      check(r.kind === 'mailbox-permission-revoke' || (r.permission === 'FullAccess') === (r.autoMapping !== undefined), 'auto-mapping only for full access');
      // Send on behalf kept in AD (synced, not cloud-managed, AD with Exchange's schema) names AD objects only.
      const inAd = r.permission === 'SendOnBehalf' && r.target.isDirSynced && r.target.isExchangeCloudManaged !== true && profile.exchangeAttributeMode === 'ad-mastered' && profile.adHasExchangeSchema;
      check(!inAd || r.users.every((u) => u.adDn !== undefined), 'send on behalf in AD names AD objects');
      break;
    }
    case 'forwarding-set':
      check(['UserMailbox', 'SharedMailbox', 'RoomMailbox', 'EquipmentMailbox'].includes(r.target.type), 'a mailbox');
      check((r.recipient === undefined) !== (r.smtpAddress === undefined), 'a recipient or an outside address');
      check(r.recipient === undefined || r.recipient.primarySmtpAddress.toLowerCase() !== r.target.primarySmtpAddress.toLowerCase(), 'not the mailbox itself');
      check(r.smtpAddress === undefined || !ACCEPTED.has(r.smtpAddress.slice(r.smtpAddress.lastIndexOf('@') + 1)), 'an outside address is outside');
      break;
    case 'forwarding-off':
      check(['UserMailbox', 'SharedMailbox', 'RoomMailbox', 'EquipmentMailbox'].includes(r.target.type), 'a mailbox');
      break;
    case 'address-list-visibility':
      check(['UserMailbox', 'SharedMailbox', 'RoomMailbox', 'EquipmentMailbox'].includes(r.target.type), 'a mailbox');
      check(typeof r.hidden === 'boolean', 'hidden is a flag');
      break;
    case 'group-member-add':
    case 'group-member-remove':
      check(['MailUniversalDistributionGroup', 'MailUniversalSecurityGroup', 'MailNonUniversalGroup'].includes(r.target.type), 'a mail-enabled group');
      check(r.members.length >= 1 && r.members.length <= 100, 'members count');
      check(r.members.every((m) => m.primarySmtpAddress.toLowerCase() !== r.target.primarySmtpAddress.toLowerCase()), 'not the group itself');
      check(!r.target.isDirSynced || (r.target.adDn !== undefined && r.members.every((m) => m.adDn !== undefined)), 'synced group: AD members');
      break;
    default:
      break;
  }
  return bad;
}
