/**
 * The test run's Active Directory: one Samba AD domain controller shared by every suite (started on first use,
 * stopped after all suites), and one OU per suite so suites cannot see each other's objects.
 */
import { randomBytes } from 'node:crypto';
import { Client, Control, NoSuchObjectError, type ClientOptions } from 'ldapts';
import { startDomainController, type DomainController } from '../../src/sandbox/samba';
import { onGlobalTeardown } from './root-hooks';

/** LDAP_SERVER_TREE_DELETE_OID: delete an entry with everything below it. */
export const TREE_DELETE_CONTROL_OID = '1.2.840.113556.1.4.805';

let shared: Promise<DomainController> | undefined;

/**
 * The shared domain controller, started on the first call (the first call of a fresh machine also provisions
 * the cached template, ~10 s; give that before() hook a long timeout).
 */
export function getSharedDc(): Promise<DomainController> {
  shared ??= startDomainController().then(
    (dc) => {
      onGlobalTeardown('samba domain controller', () => dc.stop());
      return dc;
    },
    (err: unknown) => {
      shared = undefined; // let a later suite try again (and report its own error)
      throw err;
    },
  );
  return shared;
}

export interface LdapClientOptions {
  /** Milliseconds for the TCP + TLS connection. Default 5 s. */
  readonly connectTimeoutMs?: number;
  /** Milliseconds for each LDAP operation. Default 15 s. */
  readonly timeoutMs?: number;
}

/**
 * ldapts options for the DC's LDAPS port with the sandbox CA verified and both timeouts set (ldapts has no
 * default connect timeout). A fresh object every call: ldapts may mutate TLS options.
 */
export function ldapsClientOptions(dc: DomainController, options: LdapClientOptions = {}): ClientOptions {
  return {
    url: dc.url,
    tlsOptions: { ca: dc.caPem },
    connectTimeout: options.connectTimeoutMs ?? 5_000,
    timeout: options.timeoutMs ?? 15_000,
  };
}

export interface BindOptions extends LdapClientOptions {
  /** Default: the Administrator's UPN. */
  readonly bindDn?: string;
  /** Default: the Administrator's password. */
  readonly password?: string;
}

/** An ldapts Client connected over LDAPS (CA verified) and bound; unbind it when done. */
export async function openLdapClient(dc: DomainController, options: BindOptions = {}): Promise<Client> {
  const client = new Client(ldapsClientOptions(dc, options));
  try {
    await client.bind(options.bindDn ?? dc.bindDn, options.password ?? dc.password);
  } catch (err) {
    await client.unbind().catch(() => undefined);
    throw err;
  }
  return client;
}

export interface TestOu {
  /** e.g. `OU=t-mailboxes-1234-1-a1b2c3,DC=corp,DC=example,DC=test` */
  readonly dn: string;
  readonly name: string;
  /** Delete the OU and everything below it (tree-delete control); safe to call twice. */
  cleanup(): Promise<void>;
}

let ouCounter = 0;

/** Create a uniquely named OU directly below the domain for one suite. */
export async function createTestOu(dc: DomainController, name: string): Promise<TestOu> {
  const label = name.replace(/[^A-Za-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 24) || 'suite';
  ouCounter += 1;
  const ouName = `t-${label}-${process.pid}-${ouCounter}-${randomBytes(3).toString('hex')}`;
  const dn = `OU=${ouName},${dc.baseDn}`;
  const client = await openLdapClient(dc);
  try {
    await client.add(dn, { objectClass: ['top', 'organizationalUnit'], description: `test OU for ${name}` });
  } finally {
    await client.unbind();
  }
  let removed: Promise<void> | undefined;
  const cleanup = (): Promise<void> => {
    removed ??= (async () => {
      const admin = await openLdapClient(dc);
      try {
        await admin.del(dn, new Control(TREE_DELETE_CONTROL_OID, { critical: true }));
      } catch (err) {
        if (!(err instanceof NoSuchObjectError)) throw err;
      } finally {
        await admin.unbind();
      }
    })();
    return removed;
  };
  return { dn, name: ouName, cleanup };
}
