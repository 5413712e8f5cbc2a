/**
 * The doctor's Active Directory checks against the sandbox's Samba DC, where Mailroom binds as svc-mailroom with
 * exactly the rights of the AD rights model: all ✔; then each knob (a right taken away, a wrong password, an
 * account disabled, an untrusted CA …) gives exactly the expected ✖ line with its advice. Every knob is undone in
 * `finally`: the other suites share the DC.
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { Attribute, Change, Client } from 'ldapts';
import { dsaclsLine } from '../../src/doctor/ad-delegation';
import type { AdRight } from '../../src/doctor/ad-rights';
import { directoryChecks, type DirectoryDoctorDeps } from '../../src/doctor/directory';
import { runChecks, type CheckLine } from '../../src/doctor/report';
import { mailroomOuSettings, type Sandbox } from '../../src/sandbox';
import { createSandboxOu, getSharedSandbox, openSandboxLdap } from '../harness/sandbox';
import type { TestOu } from '../harness/samba';

const AREA = 'Active Directory';

describe('doctor: Active Directory checks against the sandbox (Mailroom bound as its delegated service account)', function () {
  this.timeout(120_000);
  let sandbox: Sandbox;
  let deps: DirectoryDoctorDeps;
  let account: string;

  before(async function () {
    sandbox = await getSharedSandbox();
    const e = sandbox.endpoints;
    account = e.ldap.bindDn;
    // The sandbox's AD has Exchange's schema attributes, so msExchHideFromAddressLists is checked too.
    deps = { url: e.ldap.url, baseDn: e.ldap.baseDn, bindDn: e.ldap.bindDn, password: e.ldap.password, caPem: sandbox.dc.caPem, ous: mailroomOuSettings(sandbox.ous), exchangeSchema: true };
  });

  async function report(over: Partial<DirectoryDoctorDeps> = {}): Promise<CheckLine[]> {
    return [...(await runChecks(directoryChecks({ ...deps, ...over }))).lines];
  }

  /** The one ✖ line of a report (asserting there is exactly one). */
  function onlyFailure(lines: readonly CheckLine[]): CheckLine {
    const failed = lines.filter((l) => !l.ok);
    assert.equal(failed.length, 1, failed.map((l) => `${l.name}: ${l.detail}`).join('\n') || 'nothing failed');
    return failed[0]!;
  }

  function right(find: (r: AdRight) => boolean): AdRight {
    const r = sandbox.delegation.rights.find(find);
    assert.ok(r, 'no such right in the sandbox');
    return r;
  }

  /** Takes a right away for the duration of `fn`, then gives it back (also when `fn` fails). */
  async function without<T>(r: AdRight, fn: () => Promise<T>): Promise<T> {
    await sandbox.delegation.revoke(r);
    try {
      return await fn();
    } finally {
      await sandbox.delegation.restore(r);
    }
  }

  it('all ✔ on the sandbox: LDAPS, the sign-in, and every right of the model on every OU', async function () {
    const lines = await report();
    assert.deepEqual(lines.filter((l) => !l.ok), []);
    assert.ok(lines.every((l) => l.area === AREA));
    assert.deepEqual(lines.slice(0, 2).map((l) => l.name), ['LDAPS reachable, certificate trusted', 'service account signs in']);
    const names = lines.map((l) => l.name);
    const expected: [string, string[]][] = [[sandbox.ous.users, ['user accounts']], [sandbox.ous.shared, ['user accounts']], [sandbox.ous.resources, ['user accounts']], [sandbox.ous.contacts, ['contacts']], [sandbox.ous.groups, ['groups']]];
    for (const [ou, classes] of expected) {
      assert.ok(names.includes(`${ou}: exists`), ou);
      for (const c of classes) {
        for (const what of [`create ${c}`, `delete ${c}`, `write what Mailroom changes on ${c}`]) assert.ok(names.includes(`${ou}: ${what}`), `${ou}: ${what}`);
      }
      assert.equal(names.includes(`${ou}: reset passwords`), classes.includes('user accounts'));
    }
    assert.ok(!names.some((n) => n.startsWith(`${sandbox.ous.root}:`)), 'nothing is asked of the OU above them');
  });

  it('no Create child of contacts on the contacts OU: that line, with its dsacls.exe line', async function () {
    const r = right((x) => x.kind === 'create-child' && x.objectClass === 'contact');
    const line = await without(r, async () => onlyFailure(await report()));
    assert.equal(line.name, `${sandbox.ous.contacts}: create contacts`);
    assert.match(line.detail, /may not create contact objects here \(allowedChildClassesEffective lacks contact\)/);
    assert.equal(line.advice, `Grant it (as a domain admin): ${dsaclsLine(r, account)}`);
    assert.match(line.advice ?? '', /\/G 'svc-mailroom@corp\.example\.test:CC;contact'$/);
    assert.deepEqual((await report()).filter((l) => !l.ok), [], 'given back');
  });

  it('no Write property on proxyAddresses of users: the users OU\'s write line names proxyAddresses', async function () {
    const r = right((x) => x.kind === 'write-property' && x.attribute === 'proxyAddresses' && x.objectClass === 'user' && x.on === sandbox.ous.users);
    const line = await without(r, async () => onlyFailure(await report()));
    assert.equal(line.name, `${sandbox.ous.users}: write what Mailroom changes on user accounts`);
    assert.match(line.detail, /may not write proxyAddresses of user accounts here/);
    assert.equal(line.advice, `Grant it (as a domain admin): ${dsaclsLine(r, account)}`);
    assert.match(line.advice ?? '', /\/I:S \/G 'svc-mailroom@corp\.example\.test:RPWP;proxyAddresses;user'$/);
  });

  it('no Reset Password on the shared mailboxes\' OU: the reset line', async function () {
    const r = right((x) => x.kind === 'reset-password' && x.on === sandbox.ous.shared);
    const line = await without(r, async () => onlyFailure(await report()));
    assert.equal(line.name, `${sandbox.ous.shared}: reset passwords`);
    assert.match(line.detail, /may not set the password of user accounts here \(Reset Password\)/);
    assert.equal(line.advice, `Grant it (as a domain admin): ${dsaclsLine(r, account)}`);
    assert.match(line.advice ?? '', /\/I:S \/G 'svc-mailroom@corp\.example\.test:CA;Reset Password;user'$/);
  });

  it('no Delete child of groups: the groups OU\'s delete line', async function () {
    const r = right((x) => x.kind === 'delete-child' && x.objectClass === 'group');
    const line = await without(r, async () => onlyFailure(await report()));
    assert.equal(line.name, `${sandbox.ous.groups}: delete groups`);
    assert.match(line.detail, /may not delete group objects here\. Rolling back a request deletes the groups it created here/);
    assert.equal(line.advice, `Grant it (as a domain admin): ${dsaclsLine(r, account)}`);
  });

  it('Samba refuses Mailroom\'s account exactly what a knob took away (create, reset password, delete), and allows it back', async function () {
    const ldap = new Client({ url: sandbox.endpoints.ldap.url, tlsOptions: { ca: sandbox.dc.caPem }, connectTimeout: 5_000, timeout: 15_000 });
    await ldap.bind(sandbox.endpoints.ldap.bindDn, sandbox.endpoints.ldap.password);
    const suffix = Date.now().toString(36).slice(-6);
    const contactDn = `CN=doctor-probe-${suffix},${sandbox.ous.contacts}`;
    const userDn = `CN=doctor-user-${suffix},${sandbox.ous.users}`;
    const password = new Change({ operation: 'replace', modification: new Attribute({ type: 'unicodePwd', values: [Buffer.from(`"Pr0be-${suffix}-Passw0rd!"`, 'utf16le')] as unknown as string[] }) });
    try {
      const cc = right((x) => x.kind === 'create-child' && x.objectClass === 'contact');
      await without(cc, () => assert.rejects(ldap.add(contactDn, { objectClass: ['top', 'person', 'organizationalPerson', 'contact'] }), /access/i));
      await ldap.add(contactDn, { objectClass: ['top', 'person', 'organizationalPerson', 'contact'] });
      await ldap.del(contactDn);

      await ldap.add(userDn, { objectClass: ['top', 'person', 'organizationalPerson', 'user'], sAMAccountName: `dp${suffix}`, userAccountControl: '514' });
      const reset = right((x) => x.kind === 'reset-password' && x.on === sandbox.ous.users);
      await without(reset, () => assert.rejects(ldap.modify(userDn, password), /access/i));
      await ldap.modify(userDn, password);

      const del = right((x) => x.kind === 'delete-child' && x.on === sandbox.ous.users);
      await without(del, () => assert.rejects(ldap.del(userDn), /access/i));
      await ldap.del(userDn);
    } finally {
      await ldap.del(contactDn).catch(() => undefined);
      await ldap.del(userDn).catch(() => undefined);
      await ldap.unbind();
    }
  });

  describe('write rights: read on an object of the class when the OU has one, else from the OU\'s inheritable permissions', function () {
    let ou: TestOu;
    before(async function () {
      ou = await createSandboxOu(sandbox, 'doctor-rights', { delegated: true });
    });
    after(async function () {
      await ou?.cleanup();
    });

    it('both ways see a missing right, and its return', async function () {
      const one = { ous: { users: ou.dn } };
      const r = { ...right((x) => x.kind === 'write-property' && x.attribute === 'proxyAddresses' && x.objectClass === 'user'), on: ou.dn };
      assert.deepEqual((await report(one)).filter((l) => !l.ok), []);
      const writeLine = `${ou.dn}: write what Mailroom changes on user accounts`;
      await without(r, async () => {
        const empty = onlyFailure(await report(one));
        assert.equal(empty.name, writeLine);
        assert.match(empty.detail, /may not write proxyAddresses of user accounts here \(the OU's inheritable permissions: no user here yet\)/);
        const ldap = await openSandboxLdap(sandbox);
        try {
          await ldap.add(`CN=Someone,${ou.dn}`, { objectClass: ['top', 'person', 'organizationalPerson', 'user'], sAMAccountName: `doc${Date.now().toString(36).slice(-8)}` });
        } finally {
          await ldap.unbind();
        }
        const existing = onlyFailure(await report(one));
        assert.equal(existing.name, writeLine);
        assert.match(existing.detail, new RegExp(`may not write proxyAddresses of user accounts here \\(allowedAttributesEffective of CN=Someone,${ou.dn}\\)`));
        assert.equal(existing.advice, `Grant it (as a domain admin): ${dsaclsLine(r, account)}`);
      });
      const back = await report(one);
      assert.deepEqual(back.filter((l) => !l.ok), []);
      assert.match(back.find((l) => l.name === writeLine)?.detail ?? '', /allowedAttributesEffective of CN=Someone/);
    });
  });

  it('an OU that does not exist: its "exists" line names the setting', async function () {
    const missing = `OU=Nowhere,${sandbox.ous.root}`;
    const line = onlyFailure(await report({ ous: { ...deps.ous, contacts: missing } }));
    assert.equal(line.name, `${missing}: exists`);
    assert.match(line.advice ?? '', /Create the OU, or correct OU_CONTACTS/);
  });

  it('no OU configured for users: one ✖ saying so', async function () {
    const line = onlyFailure(await report({ ous: {} }));
    assert.equal(line.name, 'OUs configured');
    assert.match(line.advice ?? '', /^Set OU_USERS/);
  });

  describe('signing in', function () {
    it('a wrong password: ✖ with data 52e and what to check; the rights are not checked', async function () {
      const lines = await report({ password: `${deps.password}x` });
      assert.equal(lines[0]?.ok, true, 'LDAPS is fine');
      assert.equal(lines[1]?.ok, false);
      assert.match(lines[1].detail, /could not sign in: the password \(or the account name\) is wrong \(data 52e\)/);
      assert.match(lines[1].advice ?? '', /LDAP_BIND_DN and LDAP_PASSWORD/);
      assert.deepEqual(lines.slice(2).map((l) => [l.ok, l.detail]), [[false, 'Not checked: the service account could not sign in.']]);
    });

    for (const [state, detail, advice] of [
      ['disabled', /the account is disabled \(data 533\)/, /Enable the service account/],
      ['expired', /the account has expired \(data 701\)/, /expiry date/],
      ['must-change-password', /its password must be changed before it can sign in .*\(data 773\)/, /without "must change"/],
    ] as const) {
      it(`an account that is ${state}: ✖ naming it, with advice`, async function () {
        await sandbox.delegation.setAccountState(state);
        let lines: CheckLine[];
        try {
          lines = await report();
        } finally {
          await sandbox.delegation.setAccountState('normal');
        }
        assert.equal(lines[1]?.name, 'service account signs in');
        assert.match(lines[1].detail, detail);
        assert.match(lines[1].advice ?? '', advice);
        assert.equal((await report())[1]?.ok, true, 'signs in again');
      });
    }
  });

  describe('LDAPS and the certificate', function () {
    const servers: Server[] = [];
    const sockets: Socket[] = [];
    after(async function () {
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    });
    const listen = async (onConnection: (socket: Socket) => void): Promise<number> => {
      const server = createServer((socket) => {
        sockets.push(socket);
        onConnection(socket);
      });
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const address = server.address();
      assert.ok(address && typeof address === 'object');
      return address.port;
    };

    it('a CA Mailroom does not trust: the LDAPS line says so and says what to configure', async function () {
      const lines = await report({ caPem: sandbox.cloud.caPem });
      assert.equal(lines[0]?.ok, false);
      assert.match(lines[0].detail, /was issued by Mailroom sandbox CA .*, which Mailroom does not trust \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/);
      assert.match(lines[0].advice ?? '', /set LDAP_CA_FILE/);
      assert.deepEqual(lines.slice(1).map((l) => l.detail.split(':')[0]), ['Not tried', 'Not checked']);
    });

    it('a host name the certificate does not hold: a hostname mismatch, with the names it holds', async function () {
      const url = sandbox.endpoints.ldap.url.replace('ldaps://', 'ldaps://[::ffff:').replace(/:636$/, ']:636');
      const lines = await report({ url });
      assert.equal(lines[0]?.ok, false);
      assert.match(lines[0].detail, /is trusted, but it is for .*127\.0\.0\.\d+.*, not ::ffff:7f00:[0-9a-f]+ \(hostname mismatch\)/);
      assert.match(lines[0].advice ?? '', /Set LDAP_URL to a name the certificate holds/);
    });

    it('nothing listening: connection refused', async function () {
      const port = await listen(() => undefined);
      await new Promise<void>((resolve) => servers.pop()!.close(() => resolve()));
      const lines = await report({ url: `ldaps://127.0.0.1:${port}` });
      assert.match(lines[0]!.detail, new RegExp(`Nothing accepts connections at 127\\.0\\.0\\.1:${port} \\(connection refused\\)`));
      assert.match(lines[0]!.advice ?? '', /offers LDAPS/);
    });

    it('a server that never answers: a timeout', async function () {
      const port = await listen((socket) => socket.on('error', () => undefined));
      const lines = await report({ url: `ldaps://127.0.0.1:${port}`, connectTimeoutMs: 500 });
      assert.match(lines[0]!.detail, /did not answer within 0\.5 s \(timeout\)/);
      assert.match(lines[0]!.advice ?? '', /firewall/);
    });
  });
});
