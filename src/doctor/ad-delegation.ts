/**
 * `npm run doctor -- --print-ad-delegation`: the PowerShell that gives Mailroom's service account exactly the rights
 * of the AD rights model (ad-rights.ts) on the configured OUs, one dsacls.exe line per right with a comment saying
 * why Mailroom needs it.
 *
 * Why dsacls.exe and not Set-Acl with ActiveDirectoryAccessRule: one readable line per right, the very line the
 * doctor prints when that right is missing; dsacls resolves class, attribute and extended-right names on the DC, so
 * nobody copies schema GUIDs by hand; and it needs neither the ActiveDirectory module nor its AD: drive (it ships
 * with the AD DS tools on every DC and RSAT machine). It creates the same object-specific ACEs the Delegation of
 * Control wizard does.
 */
import type { MailroomConfig } from '../config/config';
import { adRightsFromConfig, RESET_PASSWORD, type AdRight, type AdRightsModel } from './ad-rights';

/** A PowerShell single-quoted string (no expansion; a quote is doubled). */
function ps(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/**
 * The dsacls.exe permission statement of a right: `CC;user`, `DC;contact`, `CA;Reset Password;user`,
 * `RPWP;mail;user` (object types by name, inherited object type after the second `;`).
 */
function dsaclsPermission(right: AdRight): { permission: string; inheritance?: 'S' } {
  switch (right.kind) {
    case 'create-child':
      return { permission: `CC;${right.objectClass}` };
    case 'delete-child':
      return { permission: `DC;${right.objectClass}` };
    case 'reset-password':
      return { permission: `CA;${RESET_PASSWORD.displayName};${right.objectClass}`, inheritance: 'S' };
    case 'write-property':
      return right.scope === 'object' ? { permission: `RPWP;${right.attribute ?? ''}` } : { permission: `RPWP;${right.attribute ?? ''};${right.objectClass}`, inheritance: 'S' };
  }
}

/**
 * One dsacls.exe line granting a right to the account (`name@domain` or `DOMAIN\name`). Create and Delete child go on
 * the OU itself only (no /I: this object only); the rest with /I:S, for the objects below it (of that class).
 */
export function dsaclsLine(right: AdRight, account: string): string {
  const { permission, inheritance } = dsaclsPermission(right);
  return `dsacls.exe ${ps(right.on)}${inheritance ? ` /I:${inheritance}` : ''} /G ${ps(`${account}:${permission}`)}`;
}

/** The account as dsacls.exe wants it, from LDAP_BIND_DN: a UPN or DOMAIN\name as it is; of a DN, its CN (to replace). */
export function dsaclsAccount(bindDn: string | undefined): { account: string; note?: string } {
  const name = (bindDn ?? '').trim();
  if (!name) return { account: 'CORP\\svc-mailroom', note: 'LDAP_BIND_DN is not configured: replace CORP\\svc-mailroom below with the service account (name@domain or DOMAIN\\name).' };
  if (/^[^=,]+@[^=,]+$/.test(name) || /^[^\\=,]+\\[^\\=,]+$/.test(name)) return { account: name };
  const cn = /^\s*CN=((?:\\.|[^,])+)/i.exec(name)?.[1]?.replace(/\\(.)/g, '$1') ?? name;
  return { account: cn, note: `LDAP_BIND_DN is a distinguished name; dsacls.exe wants name@domain or DOMAIN\\name: replace '${cn}' below with that.` };
}

function groupNames(model: AdRightsModel, dn: string): string {
  const use = model.ous.find((o) => o.dn === dn);
  if (!use) return '';
  const settings = use.groups.map((g) => `OU_${g.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`);
  return settings.length ? ` (${settings.join(', ')})` : '';
}

/** The delegation script for a configuration: its service account (LDAP_BIND_DN) and its OUs (OU_*). */
export function adDelegationScript(config: Pick<MailroomConfig, 'profile' | 'directory' | 'envName'>): string {
  const model = adRightsFromConfig(config);
  return delegationScript(model, config.directory?.bindDn, config.envName);
}

/** The script for a model and an account (the doctor and tests use it with the model they hold). */
function delegationScript(model: AdRightsModel, bindDn: string | undefined, envName = 'the current environment'): string {
  const { account, note } = dsaclsAccount(bindDn);
  const out: string[] = [
    '<#',
    `  Mailroom: least-privilege delegation in Active Directory for the service account ${account}`,
    `  Made by \`npm run doctor -- --print-ad-delegation\` from the configuration of "${envName}" (LDAP_BIND_DN and the OU_* settings).`,
    '',
    '  It grants, and nothing else (nothing on the domain, nothing on other OUs):',
    '  - on each OU Mailroom creates objects in: Create child and Delete child of those classes only, on the OU itself;',
    '  - on the objects of those classes below it: Read/Write property of each attribute Mailroom changes after creating',
    `    them or on request, and, for user accounts, the ${RESET_PASSWORD.displayName} extended right.`,
    '  The attributes of the LDAP add that creates an object need no grant: AD checks only Create child for an add.',
    '  Reading and searching the domain (uniqueness of names and addresses) relies on the read access Authenticated',
    '  Users have by default; nothing is granted for it.',
    '  Change requests (addresses, offboarding) on recipients outside these OUs need the same /I:S RPWP lines on their OUs.',
    '',
    '  Run it in PowerShell on a domain-joined machine with the AD DS tools (dsacls.exe), as someone who may change',
    '  permissions on these OUs (e.g. a member of Domain Admins). Then check with: npm run doctor',
    '#>',
    "$ErrorActionPreference = 'Stop'",
    '$PSNativeCommandUseErrorActionPreference = $true  # PowerShell 7.3+: stop at the first dsacls.exe that fails',
  ];
  if (note) out.push(`# ${note}`);
  if (model.rights.length === 0) out.push('', '# No OU is configured for new users (OU_USERS): Mailroom creates nothing, so there is nothing to grant.');
  let current = '';
  for (const r of model.rights) {
    const heading = r.scope === 'ou' ? `${r.on}${groupNames(model, r.on)}` : `${r.on} (one object)`;
    if (heading !== current) {
      current = heading;
      out.push('', `# ── ${heading}`);
    }
    out.push(`# ${r.why}`);
    if (r.onlyIf !== undefined) {
      out.push(`# Only if AD has Exchange's schema attributes${r.onlyIf === 'public-delegates' ? ', publicDelegates among them,' : ''} (an Exchange server was once installed in the forest): remove the '# ' to grant it.`);
      out.push(`# ${dsaclsLine(r, account)}`);
    } else {
      out.push(dsaclsLine(r, account));
    }
  }
  out.push('');
  return out.join('\n');
}
