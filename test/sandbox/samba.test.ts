import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Attribute, Change, Client, ResultCodeError, type Entry } from 'ldapts';
import {
  canConnect,
  EXTRA_ATTRIBUTES,
  isProcessAlive,
  startDomainController,
  type DomainController,
} from '../../src/sandbox/samba';
import { createTestOu, getSharedDc, ldapsClientOptions, openLdapClient, type TestOu } from '../harness/samba';

/** `unicodePwd` wants the password in double quotes, UTF-16LE. */
const unicodePwd = (password: string): Buffer => Buffer.from(`"${password}"`, 'utf16le');
const replace = (type: string, values: string[] | Buffer[]): Change =>
  new Change({ operation: 'replace', modification: new Attribute({ type, values }) });
const mib = (kib: number | undefined): string => (kib === undefined ? '?' : `${(kib / 1024).toFixed(0)} MiB`);

/** Resolve with the LDAP result code the promise was rejected with. */
async function resultCode(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ResultCodeError) return err.code;
    throw err;
  }
  assert.fail('expected the LDAP operation to be refused');
}

async function readEntry(client: Client, dn: string, attributes: string[]): Promise<Entry> {
  const { searchEntries } = await client.search(dn, { scope: 'base', attributes });
  const entry = searchEntries[0];
  assert.ok(entry, `${dn} not found`);
  return entry;
}

describe('sandbox: Samba AD domain controller', function () {
  let dc: DomainController;
  let ou: TestOu;
  let admin: Client;
  let uniq = 0;
  const name = (prefix: string): string => `${prefix}${process.pid % 10_000}x${++uniq}`;

  before(async function () {
    this.timeout(15 * 60_000); // a fresh machine installs Samba and provisions the template first
    dc = await getSharedDc();
    ou = await createTestOu(dc, 'samba');
    admin = await openLdapClient(dc);
    const t = dc.template;
    console.log(
      `    shared DC ${dc.url} (pid ${dc.pid}): template ${t.created ? `provisioned in ${t.provisionMs} ms` : 'reused'}, ` +
        `clone+start ${dc.timings.cloneAndStartMs} ms (clone ${dc.timings.cloneMs} ms, start ${dc.timings.startMs} ms), ` +
        `RSS ${mib(dc.rssKiB())}`,
    );
  });

  after(async function () {
    if (dc) console.log(`    shared DC RSS after the suite: ${mib(dc.rssKiB())}`);
    await admin?.unbind();
    await ou?.cleanup();
  });

  it('accepts a simple bind over LDAPS with the certificate verified against the sandbox CA', async function () {
    const root = await readEntry(admin, '', ['defaultNamingContext', 'dnsHostName']);
    assert.equal(root.defaultNamingContext, dc.baseDn);
    assert.equal(String(root.dnsHostName).toLowerCase(), dc.fqdn);

    const wrong = new Client(ldapsClientOptions(dc));
    assert.equal(await resultCode(wrong.bind(dc.bindDn, `${dc.password}x`)), 49);
    await wrong.unbind();

    // Without the sandbox CA the certificate must not verify.
    const unverified = new Client({ ...ldapsClientOptions(dc), tlsOptions: {} });
    await assert.rejects(unverified.bind(dc.bindDn, dc.password), /certificate/i);
    await unverified.unbind().catch(() => undefined);
  });

  it('refuses a simple bind over plain LDAP (code 8, transport encryption required)', async function () {
    const plain = new Client({ url: `ldap://${dc.address}:389`, connectTimeout: 5_000, timeout: 15_000 });
    try {
      assert.equal(await resultCode(plain.bind(dc.bindDn, dc.password)), 8);
    } finally {
      await plain.unbind().catch(() => undefined);
    }
  });

  it('has the Exchange attributes Mailroom writes, on users and contacts', async function () {
    const schemaNc = `CN=Schema,CN=Configuration,${dc.baseDn}`;
    for (const { lDAPDisplayName } of EXTRA_ATTRIBUTES) {
      const { searchEntries } = await admin.search(schemaNc, {
        scope: 'one',
        filter: `(lDAPDisplayName=${lDAPDisplayName})`,
        attributes: ['lDAPDisplayName'],
      });
      assert.equal(searchEntries.length, 1, `${lDAPDisplayName} missing from the schema`);
    }
    assert.deepEqual(
      EXTRA_ATTRIBUTES.map((a) => a.lDAPDisplayName).sort(),
      ['mailNickname', 'msExchHideFromAddressLists', 'msExchRecipientTypeDetails', 'publicDelegates', 'publicDelegatesBL', 'targetAddress'],
    );

    const sam = name('rm');
    const user = `CN=Remote Mailbox ${sam},${ou.dn}`;
    await admin.add(user, {
      objectClass: ['top', 'person', 'organizationalPerson', 'user'],
      sAMAccountName: sam,
      userPrincipalName: `${sam}@corp.example.test`,
      mail: `${sam}@example.test`,
      mailNickname: sam,
      targetAddress: `SMTP:${sam}@tenant.mail.onmicrosoft.test`,
      proxyAddresses: [`SMTP:${sam}@example.test`, `smtp:${sam}@tenant.mail.onmicrosoft.test`],
      msExchHideFromAddressLists: 'TRUE',
      msExchRecipientTypeDetails: '2147483648',
    });
    const u = await readEntry(admin, user, ['mailNickname', 'targetAddress', 'msExchHideFromAddressLists', 'msExchRecipientTypeDetails']);
    assert.equal(u.mailNickname, sam);
    assert.equal(u.targetAddress, `SMTP:${sam}@tenant.mail.onmicrosoft.test`);
    assert.equal(u.msExchHideFromAddressLists, 'TRUE');
    assert.equal(u.msExchRecipientTypeDetails, '2147483648');

    const contact = `CN=Mail Contact ${sam},${ou.dn}`;
    await admin.add(contact, {
      objectClass: ['top', 'person', 'organizationalPerson', 'contact'],
      mail: `partner-${sam}@partner.test`,
      mailNickname: `mc${sam}`,
      targetAddress: `SMTP:partner-${sam}@partner.test`,
      msExchHideFromAddressLists: 'FALSE',
      msExchRecipientTypeDetails: '64',
    });
    const c = await readEntry(admin, contact, ['mailNickname', 'targetAddress', 'msExchHideFromAddressLists', 'msExchRecipientTypeDetails']);
    assert.equal(c.mailNickname, `mc${sam}`);
    assert.equal(c.targetAddress, `SMTP:partner-${sam}@partner.test`);
    assert.equal(c.msExchHideFromAddressLists, 'FALSE');
    assert.equal(c.msExchRecipientTypeDetails, '64');
  });

  it('links publicDelegates (send on behalf) as Exchange does: the delegate shows the mailbox in publicDelegatesBL', async function () {
    const mailbox = `CN=Delegating ${name('pd')},${ou.dn}`;
    const delegate = `CN=Delegate ${name('pe')},${ou.dn}`;
    for (const [dn, sam] of [[mailbox, name('pf')], [delegate, name('pg')]] as const) {
      await admin.add(dn, { objectClass: ['top', 'person', 'organizationalPerson', 'user'], sAMAccountName: sam });
    }
    await admin.modify(mailbox, new Change({ operation: 'add', modification: new Attribute({ type: 'publicDelegates', values: [delegate] }) }));
    assert.deepEqual((await readEntry(admin, mailbox, ['publicDelegates'])).publicDelegates, delegate);
    assert.deepEqual((await readEntry(admin, delegate, ['publicDelegatesBL'])).publicDelegatesBL, mailbox);
    await admin.modify(mailbox, new Change({ operation: 'delete', modification: new Attribute({ type: 'publicDelegates', values: [delegate] }) }));
    assert.deepEqual([(await readEntry(admin, delegate, ['publicDelegatesBL'])).publicDelegatesBL].flat().filter(Boolean), [], 'the back link goes with the link');
  });

  it('takes mailNickname, targetAddress and proxyAddresses on a group', async function () {
    const sam = name('dl');
    const group = `CN=Distribution ${sam},${ou.dn}`;
    const proxies = [`SMTP:${sam}@example.test`, `smtp:${sam}@tenant.mail.onmicrosoft.test`];
    await admin.add(group, {
      objectClass: ['top', 'group'],
      sAMAccountName: sam,
      groupType: '8', // universal distribution group
      mail: `${sam}@example.test`,
      mailNickname: sam,
      targetAddress: `SMTP:${sam}@tenant.mail.onmicrosoft.test`,
      proxyAddresses: proxies,
    });
    const g = await readEntry(admin, group, ['mailNickname', 'targetAddress', 'proxyAddresses']);
    assert.equal(g.mailNickname, sam);
    assert.equal(g.targetAddress, `SMTP:${sam}@tenant.mail.onmicrosoft.test`);
    assert.deepEqual([g.proxyAddresses].flat().map(String).sort(), [...proxies].sort());
  });

  it('sets unicodePwd on a user enabled with userAccountControl 512, who can then bind', async function () {
    const sam = name('pw');
    const dn = `CN=Password User ${sam},${ou.dn}`;
    const upn = `${sam}@corp.example.test`;
    const password = `Str0ng!${sam}-Pass`;
    await admin.add(dn, { objectClass: 'user', sAMAccountName: sam, userPrincipalName: upn });
    await admin.modify(dn, replace('unicodePwd', [unicodePwd(password)]));
    await admin.modify(dn, replace('userAccountControl', ['512']));
    assert.equal((await readEntry(admin, dn, ['userAccountControl'])).userAccountControl, '512');

    const asUser = await openLdapClient(dc, { bindDn: upn, password });
    await asUser.unbind();
  });

  it('refuses a too-simple password with a constraint violation (code 19)', async function () {
    const sam = name('weak');
    const dn = `CN=Weak Password ${sam},${ou.dn}`;
    await admin.add(dn, { objectClass: 'user', sAMAccountName: sam });
    assert.equal(await resultCode(admin.modify(dn, replace('unicodePwd', [unicodePwd('password')]))), 19);
    assert.equal(await resultCode(admin.modify(dn, replace('unicodePwd', [unicodePwd('abc')]))), 19);
  });

  it('refuses a duplicate sAMAccountName (code 68 or 19)', async function () {
    const sam = name('dup');
    await admin.add(`CN=First ${sam},${ou.dn}`, { objectClass: 'user', sAMAccountName: sam });
    const code = await resultCode(admin.add(`CN=Second ${sam},${ou.dn}`, { objectClass: 'user', sAMAccountName: sam }));
    assert.ok(code === 68 || code === 19, `unexpected result code ${code}`);
  });

  it('listens only on its own loopback address', function () {
    const sockets = dc.listeningSockets();
    assert.deepEqual(
      [...new Set(sockets.map((s) => s.address))],
      [dc.address],
      `listening on ${sockets.map((s) => `${s.address}:${s.port}`).join(', ')}`,
    );
    assert.deepEqual(sockets.map((s) => s.port).sort((a, b) => a - b), [389, 636, 3268, 3269]);
  });

  describe('a second domain controller', function () {
    let second: DomainController | undefined;
    let templateInfoBefore: string;
    let startedInMs = 0;

    before(async function () {
      this.timeout(120_000);
      templateInfoBefore = await readFile(path.join(dc.template.dir, 'sandbox-template.json'), 'utf8');
      const t0 = Date.now();
      second = await startDomainController();
      startedInMs = Date.now() - t0;
    });

    after(async function () {
      await second?.stop();
    });

    it('runs at the same time on another loopback address, with its own data', async function () {
      assert.ok(second);
      assert.notEqual(second.address, dc.address);
      assert.ok(isProcessAlive(dc.pid) && isProcessAlive(second.pid));

      const other = await openLdapClient(second);
      try {
        const probe = `OU=only-on-second-${process.pid},${second.baseDn}`;
        await other.add(probe, { objectClass: 'organizationalUnit' });
        const here = await admin.search(second.baseDn, { scope: 'one', filter: `(ou=only-on-second-${process.pid})` });
        assert.equal(here.searchEntries.length, 0, 'the shared DC sees an OU created on the second one');
      } finally {
        await other.unbind();
      }
    });

    it('listens only on its own loopback address too', function () {
      assert.ok(second);
      const addresses = new Set(second.listeningSockets().map((s) => s.address));
      assert.deepEqual([...addresses], [second.address]);
    });

    it('reuses the cached template instead of provisioning again', async function () {
      assert.ok(second);
      assert.equal(second.template.created, false);
      assert.equal(second.template.dir, dc.template.dir);
      assert.equal(await readFile(path.join(dc.template.dir, 'sandbox-template.json'), 'utf8'), templateInfoBefore);
      const { cloneMs, startMs, cloneAndStartMs } = second.timings;
      this.test!.title += ` (clone+start ${cloneAndStartMs} ms: clone ${cloneMs} ms, start ${startMs} ms; call ${startedInMs} ms)`;
      console.log(`    second DC ${second.url}: RSS ${mib(second.rssKiB())}`);
    });

    it('stop() ends the samba process and frees its address', async function () {
      assert.ok(second);
      const { pid, address, dir } = second;
      assert.ok(await canConnect(address, 636));
      const t0 = Date.now();
      await second.stop();
      const stopMs = Date.now() - t0;
      this.test!.title += ` (${stopMs} ms)`;
      assert.equal(isProcessAlive(pid), false, `samba pid ${pid} still running`);
      assert.equal(await canConnect(address, 636), false, `${address}:636 still accepts connections`);
      assert.equal(existsSync(path.join(dir, 'run', 'samba.pid')), false);
      assert.equal(existsSync(dir), false, 'the default folder is removed on stop');
      await second.stop(); // idempotent
    });
  });
});
