/**
 * The names a request takes when it runs: its alias, logon name, sign-in name, addresses and the DN of the object it
 * creates. An open request holds them from filing on, so a second request filed before the first has run does not
 * pick the same names (it would pass every AD and Exchange check, and fail when it runs).
 */
import { childDn, cutName } from './dn';
import type { NameQuery } from './lookup';
import type { RecipientRequest } from './request-types';
import { LIMITS } from './syntax';
import { NEW_OBJECT_OU, type TenantProfile } from './tenant-profile';

/** The names `request` takes when it runs (empty for a kind that takes none). */
export function namesTaken(request: RecipientRequest, profile: Pick<TenantProfile, 'ous'>): NameQuery {
  switch (request.kind) {
    case 'user-mailbox':
    case 'shared-mailbox':
    case 'room-mailbox':
    case 'equipment-mailbox':
    case 'mail-user':
    case 'mail-contact':
    case 'distribution-group': {
      const r = request;
      return {
        alias: r.alias,
        ...('samAccountName' in r ? { samAccountName: r.samAccountName } : {}),
        ...('userPrincipalName' in r ? { userPrincipalName: r.userPrincipalName } : {}),
        ...('primarySmtpAddress' in r ? { address: r.primarySmtpAddress } : {}),
        // a mail user's or contact's outside address is checked as an address at filing, so it is held as one
        ...('externalAddress' in r ? { addresses: [r.externalAddress] } : {}),
        dn: childDn(r.cn ?? cutName(r.displayName, LIMITS.cn), profile.ous[NEW_OBJECT_OU[r.kind]]),
      };
    }
    case 'primary-address':
      return { address: request.newAddress };
    case 'secondary-address-add':
      return { address: request.address };
    default:
      return {};
  }
}

/** Each name of `q` as one key ("sam:…", "upn:…", "alias:…", "address:…", "dn:…"), lower-cased: how open requests hold them. */
export function nameKeys(q: NameQuery): string[] {
  const keys = new Set<string>();
  const add = (kind: string, v: string | undefined) => {
    if (v !== undefined && v.trim() !== '') keys.add(`${kind}:${v.trim().toLowerCase()}`);
  };
  add('sam', q.samAccountName);
  add('upn', q.userPrincipalName);
  add('alias', q.alias);
  add('address', q.address);
  for (const a of q.addresses ?? []) add('address', a);
  add('dn', q.dn);
  return [...keys];
}
