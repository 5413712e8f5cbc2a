/**
 * The sandbox's least-privilege service account for Mailroom: `svc-mailroom` (in CN=Users, outside Mailroom's OUs)
 * with exactly the rights of the AD rights model (src/doctor/ad-rights.ts), set as object-specific ACEs on the OUs:
 *
 *   create/delete child   (OA;;CC;<class>;;<sid>)  (OA;;DC;<class>;;<sid>)            on the OU only
 *   write an attribute    (OA;CIIO;RPWP;<attribute>;<class>;<sid>)                   objects of the class below it
 *   Reset Password        (OA;CIIO;CR;<User-Force-Change-Password>;<user>;<sid>)     users below it
 *   one object (a group)  (OA;;RPWP;<attribute>;;<sid>)
 *
 * The GUIDs are read from the DC's schema and its Extended-Rights container over LDAP, never written in here.
 * The ACEs are added with `samba-tool dsacl set --sddl`'s own code (samba.netcmd.dsacl: it reads the descriptor,
 * skips an ACE that is there already, drops the inherited ACEs that Samba recomputes, writes it back), for all OUs in
 * one Python process (samba-tool takes one OU per run, ~0.25 s each). Samba 4.17's samba-tool has no `dsacl delete`:
 * taking one right away again (the doctor tests' knobs) is the same edit in reverse, in the same script.
 *
 * It runs at every sandbox start (≈0.4 s; nothing is added when the ACEs are there already), not in the cached
 * Samba template: the OUs are the sandbox's (made at start, not by the Samba recipe), the rights come from Mailroom's
 * planner, which would otherwise be part of the template's cache key, and a persistent sandbox made from an older
 * template gets the account and its rights on its next start.
 *
 * Samba 4.17 enforces these as Windows AD does (measured; test/doctor/directory.test.ts keeps it so): an LDAP add needs
 * only Create child of its class on the parent, whatever attributes the add carries; replacing unicodePwd (an
 * administrator's reset) is refused without the Reset Password extended right; a delete without Delete child is
 * refused; allowedChildClassesEffective and allowedAttributesEffective answer per account. Where it differs:
 * - the extended right's displayName is "User Force Change Password" (Windows: "Reset Password", the name dsacls.exe
 *   takes); its cn and rightsGuid are the same;
 * - samba-tool dsacl set wants --trusteedn even with --sddl, writes one modify per ACE, and 4.17 has no dsacl delete;
 * - Samba recomputes the inherited ACEs of existing children as soon as an OU's DACL changes; Windows' SD propagator
 *   does it in the background, so right after dsacls.exe existing objects may show the old rights for a while;
 * - reading nTSecurityDescriptor needs the SD flags control with its value (DACL only); ldapts' plain Control sends
 *   none, which Samba answers with unavailableCriticalExtension.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Attribute, Change, Client, EqualityFilter, OrFilter, type Entry } from 'ldapts';
import { RESET_PASSWORD, type AdRight } from '../../doctor/ad-rights';
import { guidToString, sidToString } from '../../directory';
import { writeSecret } from './certs';
import { run } from './exec';
import type { SambaTools } from './install';

/** The sandbox's Mailroom service account. */
export interface ServiceAccount {
  readonly dn: string;
  /** What Mailroom binds with (LDAP_BIND_DN). */
  readonly upn: string;
  readonly samAccountName: string;
  readonly password: string;
  readonly sid: string;
}

const SERVICE_ACCOUNT_NAME = 'svc-mailroom';
/** The account's password, in the DC's folder (mode 600), so a restarted sandbox keeps it. */
const PASSWORD_FILE = 'mailroom-service-password';

/** What the helpers need of the DC. */
interface DcAccess {
  readonly url: string;
  readonly baseDn: string;
  readonly realm: string;
  /** The Administrator. */
  readonly bindDn: string;
  readonly password: string;
  readonly caPem: string;
  readonly dir: string;
}

async function admin(dc: DcAccess): Promise<Client> {
  const client = new Client({ url: dc.url, tlsOptions: { ca: dc.caPem }, connectTimeout: 5_000, timeout: 15_000 });
  try {
    await client.bind(dc.bindDn, dc.password);
  } catch (err) {
    await client.unbind().catch(() => undefined);
    throw err;
  }
  return client;
}

const replace = (type: string, values: (string | Buffer)[]): Change => new Change({ operation: 'replace', modification: new Attribute({ type, values: values as string[] }) });

function generatePassword(): string {
  return `Svc-${randomBytes(18).toString('base64url')}#9q`;
}

async function readBase(client: Client, dn: string, attributes: string[], buffers: string[] = []): Promise<Entry | undefined> {
  try {
    const { searchEntries } = await client.search(dn, { scope: 'base', attributes, explicitBufferAttributes: buffers });
    return searchEntries[0];
  } catch (err) {
    if ((err as { code?: number }).code === 32) return undefined;
    throw err;
  }
}

/**
 * The service account, created (enabled, password never expires) if missing. Its password is kept in the DC's
 * folder; a missing file (or one that no longer works) gets a new password.
 */
async function ensureServiceAccount(dc: DcAccess): Promise<ServiceAccount> {
  const dn = `CN=${SERVICE_ACCOUNT_NAME},CN=Users,${dc.baseDn}`;
  const upn = `${SERVICE_ACCOUNT_NAME}@${dc.realm.toLowerCase()}`;
  const file = path.join(dc.dir, PASSWORD_FILE);
  const client = await admin(dc);
  try {
    let entry = await readBase(client, dn, ['objectSid', 'userAccountControl'], ['objectSid']);
    let password = existsSync(file) ? (await readFile(file, 'utf8')).trim() : '';
    const setPassword = async (): Promise<void> => {
      password = generatePassword();
      await writeSecret(file, `${password}\n`);
      await client.modify(dn, replace('unicodePwd', [Buffer.from(`"${password}"`, 'utf16le')]));
    };
    if (!entry) {
      // Disabled until it has a password, as Windows requires; then NORMAL_ACCOUNT | DONT_EXPIRE_PASSWORD.
      await client.add(dn, {
        objectClass: ['top', 'person', 'organizationalPerson', 'user'],
        sAMAccountName: SERVICE_ACCOUNT_NAME,
        userPrincipalName: upn,
        userAccountControl: '514',
        description: 'Mailroom: the service account Mailroom binds with; rights delegated on its OUs only',
      });
      await setPassword();
      entry = await readBase(client, dn, ['objectSid', 'userAccountControl'], ['objectSid']);
    } else if (!password || !(await canBind(dc, upn, password))) {
      await setPassword();
    }
    await client.modify(dn, replace('userAccountControl', ['66048']));
    const sid = entry?.objectSid;
    if (!Buffer.isBuffer(sid)) throw new Error(`${dn} has no objectSid`);
    return { dn, upn, samAccountName: SERVICE_ACCOUNT_NAME, password, sid: sidToString(sid) };
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

async function canBind(dc: DcAccess, upn: string, password: string): Promise<boolean> {
  const c = new Client({ url: dc.url, tlsOptions: { ca: dc.caPem }, connectTimeout: 5_000, timeout: 15_000 });
  try {
    await c.bind(upn, password);
    return true;
  } catch {
    return false;
  } finally {
    await c.unbind().catch(() => undefined);
  }
}

/** The account's state for the doctor's sign-in knobs: as it should be, disabled, expired, or must change its password. */
async function setServiceAccountState(dc: DcAccess, account: ServiceAccount, state: 'normal' | 'disabled' | 'expired' | 'must-change-password'): Promise<void> {
  const client = await admin(dc);
  try {
    await client.modify(account.dn, [
      replace('userAccountControl', [state === 'disabled' ? '66050' : state === 'must-change-password' ? '512' : '66048']),
      // 1970-01-01: long expired. 0: never expires.
      replace('accountExpires', [state === 'expired' ? '116444736000000000' : '0']),
    ]);
    await client.modify(account.dn, replace('pwdLastSet', [state === 'must-change-password' ? '0' : '-1']));
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

/** The GUIDs the ACEs of some rights name: the classes, the attributes, and the Reset Password extended right. */
async function delegationGuids(dc: DcAccess, rights: readonly AdRight[]): Promise<Map<string, string>> {
  const names = [...new Set(rights.flatMap((r) => [r.objectClass, ...(r.attribute ? [r.attribute] : [])]))];
  const client = await admin(dc);
  try {
    const root = await readBase(client, '', ['schemaNamingContext', 'configurationNamingContext']);
    const schema = String(root?.schemaNamingContext ?? '');
    const configuration = String(root?.configurationNamingContext ?? '');
    const out = new Map<string, string>();
    const { searchEntries } = await client.search(schema, {
      scope: 'one',
      filter: new OrFilter({ filters: names.map((n) => new EqualityFilter({ attribute: 'lDAPDisplayName', value: n })) }),
      attributes: ['lDAPDisplayName', 'schemaIDGUID'],
      explicitBufferAttributes: ['schemaIDGUID'],
    });
    for (const e of searchEntries) {
      const name = names.find((n) => n.toLowerCase() === String(e.lDAPDisplayName).toLowerCase());
      if (name && Buffer.isBuffer(e.schemaIDGUID)) out.set(name, guidToString(e.schemaIDGUID));
    }
    const missing = names.filter((n) => !out.has(n));
    if (missing.length) throw new Error(`the sandbox's schema lacks ${missing.join(', ')}`);
    if (rights.some((r) => r.kind === 'reset-password')) {
      const right = await readBase(client, `CN=${RESET_PASSWORD.cn},CN=Extended-Rights,${configuration}`, ['rightsGuid']);
      if (!right?.rightsGuid) throw new Error(`the sandbox has no ${RESET_PASSWORD.cn} extended right`);
      out.set(RESET_PASSWORD.cn, String(right.rightsGuid).toLowerCase());
    }
    return out;
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

/** The ACE (SDDL) that grants one right of the model to a SID. */
function sddlAce(right: AdRight, guids: ReadonlyMap<string, string>, sid: string): string {
  const guid = (name: string): string => {
    const g = guids.get(name);
    if (!g) throw new Error(`no GUID for ${name}`);
    return g;
  };
  const cls = guid(right.objectClass);
  switch (right.kind) {
    case 'create-child':
      return `(OA;;CC;${cls};;${sid})`;
    case 'delete-child':
      return `(OA;;DC;${cls};;${sid})`;
    case 'reset-password':
      return `(OA;CIIO;CR;${guid(RESET_PASSWORD.cn)};${cls};${sid})`;
    case 'write-property': {
      const attribute = guid(right.attribute ?? '');
      return right.scope === 'object' ? `(OA;;RPWP;${attribute};;${sid})` : `(OA;CIIO;RPWP;${attribute};${cls};${sid})`;
    }
  }
}

/**
 * Adds (`add`) or removes (`remove`) ACEs on objects, as `samba-tool dsacl set --sddl` adds them (its own add_ace);
 * argv: smb.conf; stdin: JSON [{op, dn, aces}]. Works on the running DC's database directly (as root).
 */
const DSACL_PY = `
import json, re, sys
import ldb
from samba.auth import system_session
from samba.dcerpc import security
from samba.ndr import ndr_pack, ndr_unpack
from samba.param import LoadParm
from samba.samdb import SamDB

lp = LoadParm()
lp.load(sys.argv[1])
db = SamDB(url=lp.private_path("sam.ldb"), session_info=system_session(), lp=lp)
domain_sid = security.dom_sid(db.get_domain_sid())

def read(dn):
    res = db.search(base=dn, scope=ldb.SCOPE_BASE, attrs=["nTSecurityDescriptor"])
    return ndr_unpack(security.descriptor, res[0]["nTSecurityDescriptor"][0])

def write(dn, desc):
    m = ldb.Message()
    m.dn = ldb.Dn(db, dn)
    m["nTSecurityDescriptor"] = ldb.MessageElement(ndr_pack(desc), ldb.FLAG_MOD_REPLACE, "nTSecurityDescriptor")
    db.modify(m)

def explicit(desc):
    # Inherited ACEs (flag ID) are left out: Samba recomputes them, as samba-tool dsacl set relies on.
    sddl = desc.as_sddl(domain_sid)
    for ace in re.findall(r"\\([^()]*\\)", sddl):
        if "ID" in ace.split(";")[1]:
            sddl = sddl.replace(ace, "")
    return sddl

def canonical(aces):
    return re.findall(r"\\([^()]*\\)", security.descriptor.from_sddl("D:" + "".join(aces), domain_sid).as_sddl(domain_sid))

try:
    from samba.netcmd.dsacl import cmd_dsacl_set
    samba_tool_add_ace = cmd_dsacl_set().add_ace
except Exception:
    samba_tool_add_ace = None

changed = 0
for op in json.loads(sys.stdin.read()):
    aces = canonical(op["aces"])
    if op["op"] == "add" and samba_tool_add_ace is not None:
        samba_tool_add_ace(db, op["dn"], "".join(aces))
        continue
    sddl = explicit(read(op["dn"]))
    for ace in aces:
        if op["op"] == "add" and ace not in sddl:
            sddl = sddl[:sddl.index("(")] + ace + sddl[sddl.index("("):] if "(" in sddl else sddl + ace
        elif op["op"] == "remove":
            sddl = sddl.replace(ace, "")
    write(op["dn"], security.descriptor.from_sddl(sddl, domain_sid))
print("ok")
`;

interface AceChange {
  readonly op: 'add' | 'remove';
  readonly dn: string;
  readonly aces: readonly string[];
}

/** Apply ACE changes to the running DC (one Python process for all of them). */
async function changeAces(tools: SambaTools, dcDir: string, changes: readonly AceChange[]): Promise<void> {
  if (changes.length === 0) return;
  await run(tools.python, ['-c', DSACL_PY, path.join(dcDir, 'etc', 'smb.conf')], { input: JSON.stringify(changes), timeoutMs: 60_000 });
}

/** The sandbox's delegation: the account, the model's rights on the OUs, and knobs that take one away again. */
export interface SandboxDelegation {
  readonly account: ServiceAccount;
  /** The rights applied: the model's (with Exchange's schema: the sandbox's AD has msExchHideFromAddressLists). */
  readonly rights: readonly AdRight[];
  /** The ACE a right is set as. */
  aceOf(right: AdRight): string;
  /** Takes one right away (removes its ACE). Put it back with {@link SandboxDelegation.restore} (in `finally`). */
  revoke(right: AdRight): Promise<void>;
  restore(right: AdRight): Promise<void>;
  /**
   * Gives the account on another OU (a test's own) the rights it has on Mailroom's OUs, for every class: tests whose
   * Mailroom works in an OU of their own need that, as an admin would delegate an extra OU.
   */
  delegateOu(ouDn: string): Promise<void>;
  /** Sign-in knobs: the account disabled, expired, or with a password that must be changed; `normal` undoes them. */
  setAccountState(state: 'normal' | 'disabled' | 'expired' | 'must-change-password'): Promise<void>;
}

/** Creates (or finds) the service account and gives it exactly `rights`. */
export async function delegateToServiceAccount(dc: DcAccess, tools: SambaTools, rights: readonly AdRight[]): Promise<SandboxDelegation> {
  const account = await ensureServiceAccount(dc);
  const guids = await delegationGuids(dc, rights);
  const aceOf = (r: AdRight): string => sddlAce(r, guids, account.sid);
  const byObject = (list: readonly AdRight[], op: 'add' | 'remove'): AceChange[] => {
    const out = new Map<string, AceChange>();
    for (const r of list) {
      const c = out.get(r.on.toLowerCase()) ?? { op, dn: r.on, aces: [] };
      out.set(r.on.toLowerCase(), { ...c, aces: [...c.aces, aceOf(r)] });
    }
    return [...out.values()];
  };
  await changeAces(tools, dc.dir, byObject(rights, 'add'));
  return {
    account,
    rights,
    aceOf,
    revoke: (r) => changeAces(tools, dc.dir, byObject([r], 'remove')),
    restore: (r) => changeAces(tools, dc.dir, byObject([r], 'add')),
    async delegateOu(ouDn) {
      // Every right the account has on some OU for some class, once, on the new OU.
      const union = new Map<string, AdRight>();
      for (const r of rights) if (r.scope === 'ou') union.set(`${r.kind}|${r.objectClass}|${r.attribute ?? ''}`.toLowerCase(), { ...r, on: ouDn });
      const moved = [...union.values()];
      await changeAces(tools, dc.dir, byObject(moved, 'add'));
    },
    setAccountState: (state) => setServiceAccountState(dc, account, state),
  };
}
