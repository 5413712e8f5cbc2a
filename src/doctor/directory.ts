/**
 * The doctor's Active Directory checks: LDAPS answers with a certificate Mailroom trusts for the host it names; the
 * service account signs in; and on every OU Mailroom uses, the OU exists and the account holds each right of the AD
 * rights model (ad-rights.ts). A missing right is named with the exact dsacls.exe line of the delegation script.
 *
 * How the rights are read, without writing anything (a doctor must leave nothing behind, and a probe object in a
 * synced OU would reach Entra ID before it is deleted):
 * - create: `allowedChildClassesEffective` on the OU, as the DC computes it for the account;
 * - write attributes: `allowedAttributesEffective` on an object of the class in the OU, when there is one (the DC's
 *   own answer for an object Mailroom would change); in an OU without one, the OU's inheritable ACEs, i.e. what a
 *   new object of the class will inherit there;
 * - delete and Reset Password: no constructed attribute tells them, so the OU's DACL (readable by Authenticated Users
 *   by default) is evaluated for the account's SID and groups (tokenGroups): Delete child of the class on the OU, or
 *   Delete inherited onto the class; the Reset Password extended right inherited onto users.
 * Rights that come from a class's defaultSecurityDescriptor (e.g. for Account Operators) are not seen by the DACL
 * reading; an account that has them anyway gets a ✖ it can ignore. The model's accounts get their rights from the
 * OU, as the delegation script sets them.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import * as tls from 'node:tls';
import type { MailroomConfig } from '../config/config';
import { DirectoryError, DirectoryRightsReader, DS_RIGHTS, grants, type Ace, type ServiceAccount } from '../directory';
import type { OuGroup } from '../requests/tenant-profile';
import { dsaclsAccount, dsaclsLine } from './ad-delegation';
import { adRightsModel, applicableRights, RESET_PASSWORD, type AdObjectClass, type AdRight, type AdRightsModel } from './ad-rights';
import { fail, pass, type Check, type CheckLine } from './report';

const AREA = 'Active Directory';
const PLURAL: Record<AdObjectClass, string> = { user: 'user accounts', contact: 'contacts', group: 'groups' };

export interface DirectoryDoctorDeps {
  /** `ldaps://host[:port]` */
  readonly url: string;
  readonly baseDn?: string;
  /** The service account: a UPN, DOMAIN\name or a DN. */
  readonly bindDn: string;
  readonly password: string;
  /** PEM of the CA(s) to trust for the DC (LDAP_CA_FILE); undefined: Node's public CAs, as Mailroom itself. */
  readonly caPem?: string;
  /** The configured OUs (OU_*); missing ones fall back as the tenant profile does. */
  readonly ous: Partial<Record<OuGroup, string>>;
  /** An AD group whose members get the Exchange licence, if the tenant uses one. */
  readonly licensingGroupDn?: string;
  /**
   * Whether Mailroom writes Exchange's AD attributes (msExchHideFromAddressLists): the tenant profile's
   * adHasExchangeSchema (AD_EXCHANGE_SCHEMA, else read from AD). Default false.
   */
  readonly exchangeSchema?: boolean;
  readonly connectTimeoutMs?: number;
  readonly timeoutMs?: number;
}

/** The checks' inputs from the configuration; undefined when no directory is configured. */
export function directoryDoctorDeps(config: Pick<MailroomConfig, 'directory' | 'profile'>): DirectoryDoctorDeps | undefined {
  const d = config.directory;
  if (!d) return undefined;
  return { url: d.url, baseDn: d.baseDn, bindDn: d.bindDn, password: d.password, ...(d.caFile ? { caPem: readFileSync(d.caFile, 'utf8') } : {}), ous: config.profile.ous };
}

// ---------------------------------------------------------------------------------------------
// LDAPS and its certificate
// ---------------------------------------------------------------------------------------------

const UNTRUSTED = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_UNTRUSTED', 'CERT_SIGNATURE_FAILURE']);
const EXPIRED = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);

function endpoint(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port: u.port ? Number(u.port) : 636 };
}

function names(cert: tls.PeerCertificate): string {
  const san = (cert.subjectaltname ?? '').split(',').map((s) => s.trim().replace(/^(DNS|IP Address):/, '')).filter(Boolean);
  return san.length ? san.join(', ') : String(cert.subject?.CN ?? '(none)');
}

function issuerOf(cert: tls.PeerCertificate): string {
  const i = cert.issuer;
  return [i?.CN, i?.O].filter(Boolean).map(String).join(', ') || 'an unnamed issuer';
}

type Handshake =
  | { readonly ok: true; readonly cert: tls.PeerCertificate; readonly authorized: boolean; readonly authorizationError?: string; readonly protocol: string | null }
  | { readonly ok: false; readonly code: string; readonly message: string };

/** A TLS handshake only (no LDAP, no credentials), accepting any certificate so that it can say what is wrong with it. */
function handshake(host: string, port: number, caPem: string | undefined, timeoutMs: number): Promise<Handshake> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (h: Handshake): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(h);
    };
    const socket = tls.connect({ host, port, ...(isIP(host) ? {} : { servername: host }), ...(caPem ? { ca: caPem } : {}), rejectUnauthorized: false, minVersion: 'TLSv1.2' });
    socket.setTimeout(timeoutMs, () => done({ ok: false, code: 'ETIMEDOUT', message: `no TLS handshake within ${timeoutMs / 1000} s` }));
    socket.once('secureConnect', () => {
      const authorizationError = socket.authorizationError ? String((socket.authorizationError as { code?: string }).code ?? socket.authorizationError) : undefined;
      done({ ok: true, cert: socket.getPeerCertificate(), authorized: socket.authorized, ...(authorizationError ? { authorizationError } : {}), protocol: socket.getProtocol() });
    });
    socket.once('error', (err: NodeJS.ErrnoException) => done({ ok: false, code: err.code ?? 'ERROR', message: err.message }));
  });
}

function ldapsCheck(deps: DirectoryDoctorDeps, state: State): Check {
  const name = 'LDAPS reachable, certificate trusted';
  return {
    area: AREA,
    name,
    async run(): Promise<CheckLine[]> {
      let host: string;
      let port: number;
      try {
        ({ host, port } = endpoint(deps.url));
      } catch {
        state.blocked = 'LDAP_URL is not a URL';
        return [fail(AREA, name, `LDAP_URL '${deps.url}' is not a URL.`, 'Set LDAP_URL to ldaps://<domain controller>:636.')];
      }
      const at = isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
      const h = await handshake(host, port, deps.caPem, deps.connectTimeoutMs ?? 5_000);
      const blocked = (line: CheckLine): CheckLine[] => {
        state.blocked = `LDAPS at ${at} did not work`;
        return [line];
      };
      if (!h.ok) {
        if (h.code === 'ECONNREFUSED') {
          return blocked(fail(AREA, name, `Nothing accepts connections at ${at} (connection refused).`, `Check LDAP_URL (ldaps://<domain controller>:636), that the domain controller runs and offers LDAPS on port ${port} (it needs a server certificate for that), and that no firewall rejects Mailroom's connection.`));
        }
        if (h.code === 'ETIMEDOUT') {
          return blocked(fail(AREA, name, `${at} did not answer within ${(deps.connectTimeoutMs ?? 5_000) / 1000} s (timeout).`, `Check that a firewall lets Mailroom reach ${at} (TCP ${port}) and that LDAP_URL names a domain controller.`));
        }
        if (h.code === 'ENOTFOUND' || h.code === 'EAI_AGAIN') {
          return blocked(fail(AREA, name, `The host name ${host} does not resolve (${h.code}).`, 'Check LDAP_URL and the DNS server Mailroom uses.'));
        }
        return blocked(fail(AREA, name, `The TLS connection to ${at} failed: ${h.message} (${h.code}).`, `Check that ${at} is an LDAPS port (ldaps://, usually 636), not plain LDAP (389).`));
      }
      const { cert } = h;
      const mismatch = (): CheckLine[] =>
        blocked(fail(AREA, name, `The certificate of ${at} is trusted, but it is for ${names(cert)}, not ${host} (hostname mismatch).`, `Set LDAP_URL to a name the certificate holds (${names(cert)}), or give the DC a certificate that names ${host}.`));
      // Node checks the name as part of the handshake's verdict: ERR_TLS_CERT_ALTNAME_INVALID means the chain was trusted.
      if (!h.authorized && h.authorizationError !== 'ERR_TLS_CERT_ALTNAME_INVALID') {
        const code = h.authorizationError ?? 'UNKNOWN';
        if (EXPIRED.has(code)) {
          return blocked(fail(AREA, name, `The certificate of ${at} is not valid now (${code}: valid ${cert.valid_from} to ${cert.valid_to}).`, "Renew the domain controller's LDAPS certificate."));
        }
        if (UNTRUSTED.has(code)) {
          return blocked(
            fail(
              AREA,
              name,
              `The certificate of ${at} was issued by ${issuerOf(cert)}, which Mailroom does not trust (${code}).`,
              `Export the certificate of the CA that issued the DC's LDAPS certificate (${issuerOf(cert)}) as PEM and set LDAP_CA_FILE to that file${deps.caPem ? ' (the file configured now holds another CA)' : ''}.`,
            ),
          );
        }
        return blocked(fail(AREA, name, `The certificate of ${at} cannot be verified (${code}).`, "Check the domain controller's LDAPS certificate and LDAP_CA_FILE."));
      }
      if (h.authorizationError === 'ERR_TLS_CERT_ALTNAME_INVALID' || tls.checkServerIdentity(host, cert)) return mismatch();
      return [pass(AREA, name, `${at} answers ${h.protocol ?? 'TLS'} with a certificate for ${host}, issued by ${issuerOf(cert)}, trusted (valid until ${cert.valid_to}).`)];
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Signing in
// ---------------------------------------------------------------------------------------------

const BIND_ADVICE: Record<string, [string, string]> = {
  '52e': ['the password (or the account name) is wrong', 'Check LDAP_BIND_DN and LDAP_PASSWORD (env/.env.<name>.user); if the password was changed in AD, put the new one there.'],
  '525': ['there is no such account', 'Set LDAP_BIND_DN to the service account (name@domain, DOMAIN\\name or its DN).'],
  '533': ['the account is disabled', 'Enable the service account in AD (Enable-ADAccount, or Active Directory Users and Computers).'],
  '701': ['the account has expired', 'Clear or extend the account\'s expiry date (Clear-ADAccountExpiration).'],
  '532': ['its password has expired', 'Set a new password, put it in LDAP_PASSWORD, and give the service account a password policy that fits (a long password that does not expire, or a fine-grained policy).'],
  '773': ['its password must be changed before it can sign in ("User must change password at next logon")', 'Set a password for the account without "must change", then put it in LDAP_PASSWORD.'],
  '775': ['the account is locked out', 'Unlock it (Unlock-ADAccount) and find what locked it: usually something still using an old password.'],
  '530': ['it may not sign in at this time (logon hours)', "Remove the logon-hours restriction of the service account."],
  '531': ['it may not sign in from this computer (log on to)', "Remove the workstation restriction of the service account."],
};

function signInCheck(deps: DirectoryDoctorDeps, state: State): Check {
  const name = 'service account signs in';
  return {
    area: AREA,
    name,
    async run(): Promise<CheckLine[]> {
      if (state.blocked) return [fail(AREA, name, `Not tried: ${state.blocked}.`, 'Fix the line above first.')];
      const reader = state.reader(deps);
      try {
        await reader.signIn();
        state.account = await reader.account(deps.bindDn);
      } catch (err) {
        state.blocked = 'the service account could not sign in';
        if (err instanceof DirectoryError && err.kind === 'invalid-credentials') {
          const data = /data ([0-9a-f]{3,8})/i.exec(err.serverMessage ?? '')?.[1]?.toLowerCase() ?? '';
          const [reason, advice] = BIND_ADVICE[data] ?? ['the name or the password is wrong, or the account may not sign in', 'Check LDAP_BIND_DN and LDAP_PASSWORD, and the account in AD.'];
          return [fail(AREA, name, `'${deps.bindDn}' could not sign in: ${reason}${data ? ` (data ${data})` : ''}.`, advice)];
        }
        const message = err instanceof Error ? err.message : String(err);
        return [fail(AREA, name, `'${deps.bindDn}' could not sign in: ${message}`, 'Fix what the message names, then run the doctor again.')];
      }
      const a = state.account;
      const groups = a.groupsKnown ? '' : ' (its groups could not be read: rights given to them are not seen)';
      return [pass(AREA, name, `'${deps.bindDn}' signed in as ${a.dn}${groups}.`)];
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Rights on the OUs
// ---------------------------------------------------------------------------------------------

interface State {
  blocked?: string;
  account?: ServiceAccount;
  reader(deps: DirectoryDoctorDeps): DirectoryRightsReader;
  close(): Promise<void>;
}

function newState(): State {
  let reader: DirectoryRightsReader | undefined;
  return {
    reader(deps) {
      reader ??= new DirectoryRightsReader({
        url: deps.url,
        bindDn: deps.bindDn,
        password: deps.password,
        ...(deps.caPem ? { caPem: deps.caPem } : {}),
        ...(deps.baseDn ? { baseDn: deps.baseDn } : {}),
        connectTimeoutMs: deps.connectTimeoutMs ?? 5_000,
        timeoutMs: deps.timeoutMs ?? 15_000,
      });
      return reader;
    },
    async close() {
      await reader?.close();
      reader = undefined;
    },
  };
}

const lower = (s: string): string => s.toLowerCase();

function advise(rights: readonly AdRight[], account: string): string {
  const lines = rights.map((r) => dsaclsLine(r, account));
  return lines.length === 1 ? `Grant it (as a domain admin): ${lines[0]}` : `Grant them (as a domain admin):\n      ${lines.join('\n      ')}`;
}

function rightsCheck(deps: DirectoryDoctorDeps, model: AdRightsModel, state: State): Check {
  const name = 'rights on the OUs';
  return {
    area: AREA,
    name,
    async run(): Promise<CheckLine[]> {
      try {
        if (state.blocked || !state.account) return [fail(AREA, name, `Not checked: ${state.blocked ?? 'the service account did not sign in'}.`, 'Fix the lines above first.')];
        return await checkRights(deps, model, state.reader(deps), state.account);
      } finally {
        await state.close();
      }
    },
  };
}

async function checkRights(deps: DirectoryDoctorDeps, model: AdRightsModel, reader: DirectoryRightsReader, account: ServiceAccount): Promise<CheckLine[]> {
  if (model.ous.length === 0) {
    return [fail(AREA, 'OUs configured', 'No OU is configured for new users (OU_USERS), so Mailroom would create nothing.', 'Set OU_USERS (and OU_SHARED, OU_ROOMS, OU_EQUIPMENT, OU_MAIL_USERS, OU_CONTACTS, OU_GROUPS where they differ), then print the delegation with npm run doctor -- --print-ad-delegation.')];
  }
  const rights = applicableRights(model, deps.exchangeSchema === true);
  const configured = dsaclsAccount(deps.bindDn);
  const who = configured.note ? (account.userPrincipalName ?? account.samAccountName ?? configured.account) : configured.account;
  const schemaNames = [...new Set(rights.flatMap((r) => [r.objectClass, ...(r.attribute ? [r.attribute] : [])]))];
  const schema = await reader.schemaIds(schemaNames);
  const resetGuid = (await reader.extendedRight(RESET_PASSWORD.cn)) ?? RESET_PASSWORD.rightsGuid;
  const guid = (n: string): string | undefined => schema.guids.get(n);
  const lines: CheckLine[] = [];
  const sids = account.tokenSids;

  const attributeTypes = (a: string): string[] => [guid(a), schema.propertySets.get(a)].filter((g): g is string => g !== undefined);

  for (const ou of model.ous) {
    const here = rights.filter((r) => r.scope === 'ou' && lower(r.on) === lower(ou.dn));
    const settings = ou.groups.map((g) => `OU_${g.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`).join(', ');
    const o = await reader.objectRights(ou.dn);
    const line = (what: string): string => `${ou.dn}: ${what}`;
    if (!o) {
      lines.push(fail(AREA, line('exists'), `It does not exist, or '${deps.bindDn}' cannot see it.`, `Create the OU, or correct ${settings || 'its setting'}; then give the account its rights there (npm run doctor -- --print-ad-delegation).`));
      continue;
    }
    lines.push(pass(AREA, line('exists'), `Mailroom creates ${ou.classes.map((c) => PLURAL[c]).join(', ')} here (${settings}).`));
    const dacl: readonly Ace[] | null = o.dacl;
    const daclUnreadable = (what: string, missing: readonly AdRight[]): CheckLine =>
      fail(AREA, line(what), `Mailroom could not read the OU's permissions (its DACL), so it cannot tell.`, `Let the account read the OU's permissions (Authenticated Users may by default), or check by hand that these were granted:\n      ${missing.map((r) => dsaclsLine(r, who)).join('\n      ')}`);

    for (const cls of ou.classes) {
      const classGuid = guid(cls);
      const of = (kind: AdRight['kind']): AdRight[] => here.filter((r) => r.objectClass === cls && r.kind === kind);

      // Create: the DC's own answer.
      const create = of('create-child');
      if (create.length) {
        const ok = o.allowedChildClassesEffective.some((c) => lower(c) === lower(cls));
        lines.push(ok ? pass(AREA, line(`create ${PLURAL[cls]}`), `allowedChildClassesEffective includes ${cls}.`) : fail(AREA, line(`create ${PLURAL[cls]}`), `'${deps.bindDn}' may not create ${cls} objects here (allowedChildClassesEffective lacks ${cls}). ${create[0]!.why}`, advise(create, who)));
      }

      // Delete: Delete child of the class on the OU, or Delete inherited onto the class.
      const del = of('delete-child');
      if (del.length) {
        if (!dacl) lines.push(daclUnreadable(`delete ${PLURAL[cls]}`, del));
        else {
          const ok = classGuid !== undefined && (grants(dacl, sids, { right: DS_RIGHTS.DELETE_CHILD, objectTypes: [classGuid], on: 'object' }) || grants(dacl, sids, { right: DS_RIGHTS.DELETE, objectTypes: [], on: { childClass: classGuid } }));
          lines.push(ok ? pass(AREA, line(`delete ${PLURAL[cls]}`), `Delete child of ${cls} is granted on the OU.`) : fail(AREA, line(`delete ${PLURAL[cls]}`), `'${deps.bindDn}' may not delete ${cls} objects here. ${del[0]!.why}`, advise(del, who)));
        }
      }

      // Reset Password: the extended right inherited onto the class.
      const reset = of('reset-password');
      if (reset.length) {
        if (!dacl) lines.push(daclUnreadable('reset passwords', reset));
        else {
          const ok = classGuid !== undefined && grants(dacl, sids, { right: DS_RIGHTS.CONTROL_ACCESS, objectTypes: [resetGuid], on: { childClass: classGuid } });
          lines.push(ok ? pass(AREA, line('reset passwords'), `${RESET_PASSWORD.displayName} is granted on ${PLURAL[cls]} below the OU.`) : fail(AREA, line('reset passwords'), `'${deps.bindDn}' may not set the password of ${PLURAL[cls]} here (${RESET_PASSWORD.displayName}). ${reset[0]!.why}`, advise(reset, who)));
        }
      }

      // Write property: the DC's answer on an object of the class here, else the OU's inheritable ACEs.
      const write = of('write-property');
      if (write.length) {
        const what = `write what Mailroom changes on ${PLURAL[cls]}`;
        const sample = await reader.oneChild(ou.dn, cls);
        const effective = sample ? await reader.objectRights(sample) : null;
        let missing: AdRight[];
        let source: string;
        if (effective) {
          const allowed = new Set(effective.allowedAttributesEffective.map(lower));
          missing = write.filter((r) => !allowed.has(lower(r.attribute ?? '')));
          source = `allowedAttributesEffective of ${effective.dn}`;
        } else if (dacl && classGuid) {
          missing = write.filter((r) => guid(r.attribute ?? '') === undefined || !grants(dacl, sids, { right: DS_RIGHTS.WRITE_PROPERTY, objectTypes: attributeTypes(r.attribute ?? ''), on: { childClass: classGuid } }));
          source = `the OU's inheritable permissions: no ${cls} here yet`;
        } else {
          lines.push(daclUnreadable(what, write));
          continue;
        }
        const attributes = write.map((r) => r.attribute ?? '').join(', ');
        const unknown = missing.filter((r) => guid(r.attribute ?? '') === undefined).map((r) => r.attribute);
        if (unknown.length) source += `; AD's schema has no ${unknown.join(', ')}`;
        lines.push(
          missing.length === 0
            ? pass(AREA, line(what), `May write ${attributes} (${source}).`)
            : fail(AREA, line(what), `'${deps.bindDn}' may not write ${missing.map((r) => r.attribute).join(', ')} of ${PLURAL[cls]} here (${source}). ${missing.map((r) => r.why).join(' ')}`, advise(missing, who)),
        );
      }
    }
  }

  // Rights on single objects (an AD licensing group): the DC's answer on the object itself.
  const objects = [...new Set(rights.filter((r) => r.scope === 'object').map((r) => r.on))];
  for (const dn of objects) {
    const own = rights.filter((r) => r.scope === 'object' && r.on === dn);
    const o = await reader.objectRights(dn);
    const what = `${dn}: write ${own.map((r) => r.attribute).join(', ')}`;
    if (!o) {
      lines.push(fail(AREA, what, `It does not exist, or '${deps.bindDn}' cannot see it.`, 'Check the AD licensing group in the configuration.'));
      continue;
    }
    const allowed = new Set(o.allowedAttributesEffective.map(lower));
    const missing = own.filter((r) => !allowed.has(lower(r.attribute ?? '')));
    lines.push(missing.length === 0 ? pass(AREA, what, 'allowedAttributesEffective includes them.') : fail(AREA, what, `'${deps.bindDn}' may not write ${missing.map((r) => r.attribute).join(', ')} of this object. ${missing[0]!.why}`, advise(missing, who)));
  }
  return lines;
}

/** The checks, in order: LDAPS, signing in, the rights on each OU. Later ones say "not checked" when an earlier one failed. */
export function directoryChecks(deps: DirectoryDoctorDeps): Check[] {
  const state = newState();
  const model = adRightsModel({ ous: deps.ous, ...(deps.licensingGroupDn ? { licensingGroupDn: deps.licensingGroupDn } : {}) });
  return [ldapsCheck(deps, state), signInCheck(deps, state), rightsCheck(deps, model, state)];
}
