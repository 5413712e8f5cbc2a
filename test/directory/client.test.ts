import assert from 'node:assert/strict';
import type { Client } from 'ldapts';
import { DirectoryClient, DirectoryError, dn, guidToBuffer } from '../../src/directory';
import { groupTypeOf } from '../../src/plans';
import type { DomainController } from '../../src/sandbox/samba';
import { createTestOu, getSharedDc, openLdapClient, type TestOu } from '../harness/samba';
import { clientOptions, directoryError, list, newClient, readBack, uniqueName } from './fixture';

const DOMAIN = 'corp.example.test';

describe('directory: DirectoryClient against Samba AD', function () {
  let dc: DomainController;
  let ou: TestOu;
  let client: DirectoryClient;
  let admin: Client;

  before(async function () {
    this.timeout(15 * 60_000); // a fresh machine installs Samba and provisions the template first
    dc = await getSharedDc();
    ou = await createTestOu(dc, 'directory');
    admin = await openLdapClient(dc);
    client = newClient(dc);
  });

  after(async function () {
    await client?.close();
    await admin?.unbind();
    await ou?.cleanup();
  });

  describe('connection', function () {
    it('refuses ldap:// (and other non-LDAPS URLs) with a clear message, before any network traffic', function () {
      const plain = (): DirectoryClient => new DirectoryClient(clientOptions(dc, { url: `ldap://${dc.address}:389` }));
      assert.throws(plain, (err: unknown) => {
        assert.ok(err instanceof DirectoryError);
        assert.equal(err.kind, 'configuration');
        assert.match(err.message, /only connects to Active Directory over LDAPS.*Use ldaps:\/\/<domain controller>:636/);
        return true;
      });
      assert.throws(() => new DirectoryClient(clientOptions(dc, { url: 'https://dc1' })), /not an ldaps:\/\/ URL/);
      assert.throws(() => new DirectoryClient(clientOptions(dc, { url: `${dc.url}/DC=corp` })), /only a host and a port/);
      // An empty password would make an unauthenticated bind that AD "accepts".
      assert.throws(() => new DirectoryClient(clientOptions(dc, { password: '' })), /password .* is missing/);
      assert.throws(() => new DirectoryClient(clientOptions(dc, { connectTimeoutMs: 0 })), /connectTimeoutMs/);
      assert.throws(() => new DirectoryClient(clientOptions(dc, { caPem: 'not a pem' })), /PEM/);
    });

    it('maps a wrong service-account password to invalid-credentials with a message a person understands', async function () {
      const wrong = newClient(dc, { password: `${dc.password}x` });
      try {
        const err = await directoryError(wrong.findByIdentity('Administrator'), 'invalid-credentials');
        assert.equal(err.code, 49);
        assert.equal(err.transient, false);
        assert.equal(err.outcome, 'unchanged');
        assert.equal(
          err.message,
          `Mailroom's service account '${dc.bindDn}' could not sign in to Active Directory: the user name or password is wrong; ` +
            "nothing was changed. An administrator must fix the service account or its password in Mailroom's configuration.",
        );
        assert.match(err.serverMessage ?? '', /data 52e/);
        assert.ok(!err.message.includes(dc.password));
      } finally {
        await wrong.close();
      }
    });

    it('verifies the DC certificate against the configured CA (kind tls without it)', async function () {
      const untrusting = newClient(dc, { caPem: undefined }); // Node's public CAs only
      try {
        const err = await directoryError(untrusting.findByIdentity('Administrator'), 'tls');
        assert.equal(err.transient, false);
        assert.match(err.message, /could not verify the TLS certificate/);
      } finally {
        await untrusting.close();
      }
    });

    it('discovers the domain from the DC and reads the password policy once', async function () {
      assert.equal(await client.baseDn(), dc.baseDn);
      const policy = await client.passwordPolicy();
      assert.deepEqual({ minLength: policy.minLength, complexity: policy.complexity }, { minLength: 7, complexity: true });
      assert.equal(await client.passwordPolicy(), policy);
    });

    it('reads whether the forest has Exchange\'s schema: this Samba domain was never prepared for Exchange (no ms-Exch-Schema-Version-Pt), so null', async function () {
      assert.equal(await client.exchangeSchemaVersion(), null);
    });
  });

  describe('users', function () {
    const sam = uniqueName('ada');
    const upn = `${sam}@${DOMAIN}`;
    const mail = `Ada.Lovelace.${sam}@example.test`;
    const alias = `alovelace${sam}`;
    const secondary = `ada.${sam}@tenant.mail.onmicrosoft.test`;
    const password = `Analyt1cal!Engine-${sam}`;
    let userDn: string;
    let guid: string;

    it('creates an enabled user with mail, mailNickname, proxyAddresses and a password; the user can sign in', async function () {
      const created = await client.createUser({
        parentDn: ou.dn,
        cn: `Ada Lovelace ${sam}`,
        samAccountName: sam,
        userPrincipalName: upn,
        attributes: {
          givenName: 'Ada',
          sn: 'Lovelace',
          displayName: `Ada Lovelace ${sam}`,
          department: 'Analytical Engines',
          title: 'Programmer',
          mail,
          mailNickname: alias,
          proxyAddresses: [`SMTP:${mail}`, `smtp:${secondary}`],
          targetAddress: `SMTP:${secondary}`,
        },
        enabled: true,
        password,
      });
      userDn = created.dn;
      guid = created.objectGuid;
      assert.match(guid, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      assert.ok(dn.equal(userDn, dn.child(ou.dn, dn.rdn('CN', `Ada Lovelace ${sam}`))));

      const e = await readBack(admin, userDn, ['sAMAccountName', 'userPrincipalName', 'givenName', 'sn', 'displayName', 'department', 'title', 'mail', 'mailNickname', 'proxyAddresses', 'targetAddress', 'userAccountControl', 'objectGUID', 'pwdLastSet']);
      assert.equal(e.sAMAccountName, sam);
      assert.equal(e.userPrincipalName, upn);
      assert.equal(e.givenName, 'Ada');
      assert.equal(e.sn, 'Lovelace');
      assert.equal(e.department, 'Analytical Engines');
      assert.equal(e.title, 'Programmer');
      assert.equal(e.mail, mail);
      assert.equal(e.mailNickname, alias);
      assert.deepEqual(list(e, 'proxyAddresses'), [`SMTP:${mail}`, `smtp:${secondary}`].sort());
      assert.equal(e.targetAddress, `SMTP:${secondary}`);
      assert.equal(e.userAccountControl, '512');
      assert.notEqual(e.pwdLastSet, '0');
      assert.deepEqual(e.objectGUID, guidToBuffer(guid));

      const asUser = await openLdapClient(dc, { bindDn: upn, password });
      await asUser.unbind();
    });

    it('finds the user by every identity kind, case-insensitively', async function () {
      const identities = [
        sam,
        sam.toUpperCase(),
        upn,
        upn.toUpperCase(),
        mail,
        mail.toLowerCase(),
        alias,
        alias.toUpperCase(),
        secondary,
        `smtp:${secondary}`,
        `SMTP:${secondary.toUpperCase()}`,
        `smtp:${mail}`,
        `SMTP:${mail}`,
        userDn,
        userDn.toLowerCase(),
        dn.child(ou.dn, dn.rdn('cn', `Ada Lovelace ${sam}`)),
        guid,
        `{${guid.toUpperCase()}}`,
      ];
      for (const identity of identities) {
        const found = await client.findByIdentity(identity);
        assert.ok(found, `not found by '${identity}'`);
        assert.equal(found.objectGuid, guid, identity);
      }
      const found = await client.findByIdentity(sam);
      assert.ok(found);
      assert.deepEqual(
        {
          objectClass: found.objectClass,
          samAccountName: found.samAccountName,
          userPrincipalName: found.userPrincipalName,
          mail: found.mail,
          mailNickname: found.mailNickname,
          proxyAddresses: [...found.proxyAddresses].sort(),
          targetAddress: found.targetAddress,
          displayName: found.displayName,
          userAccountControl: found.userAccountControl,
          enabled: found.enabled,
        },
        {
          objectClass: 'user',
          samAccountName: sam,
          userPrincipalName: upn,
          mail,
          mailNickname: alias,
          proxyAddresses: [`SMTP:${mail}`, `smtp:${secondary}`].sort(),
          targetAddress: `SMTP:${secondary}`,
          displayName: `Ada Lovelace ${sam}`,
          userAccountControl: 512,
          enabled: true,
        },
      );
      assert.ok(dn.equal(found.dn, userDn));
      assert.equal(await client.findByIdentity(`nobody-${sam}`), null);
      assert.equal(await client.findByIdentity('00000000-0000-0000-0000-000000000000'), null);
      assert.equal(await client.findByIdentity(dn.child(ou.dn, dn.rdn('CN', 'nobody'))), null);
    });

    it('answers the AD half of the uniqueness check (whoHas), case-insensitively', async function () {
      const bySam = await client.whoHas({ samAccountName: sam.toUpperCase() });
      assert.equal(bySam.length, 1);
      assert.equal(bySam[0]?.where, 'ad');
      assert.equal(bySam[0]?.name, `Ada Lovelace ${sam}`);
      assert.ok(dn.equal(bySam[0]?.dn ?? '', userDn));
      assert.deepEqual(bySam[0]?.matches, [{ field: 'samAccountName', attribute: 'sAMAccountName', value: sam }]);

      const byAddress = await client.whoHas({ address: secondary.toUpperCase() });
      assert.deepEqual(
        byAddress[0]?.matches.map((m) => m.attribute).sort(),
        ['proxyAddresses', 'targetAddress'],
      );
      const byMail = await client.whoHas({ address: `SMTP:${mail.toUpperCase()}` });
      assert.deepEqual(byMail[0]?.matches.map((m) => m.attribute).sort(), ['mail', 'proxyAddresses']);
      const all = await client.whoHas({ samAccountName: `free-${sam}`, userPrincipalName: upn.toUpperCase(), alias: alias.toUpperCase() });
      assert.equal(all.length, 1);
      assert.deepEqual(all[0]?.matches.map((m) => m.field).sort(), ['alias', 'userPrincipalName']);
      assert.deepEqual(await client.whoHas({ samAccountName: `free-${sam}`, address: `free-${mail}` }), []);
      assert.deepEqual(await client.whoHas({}), []);

      // by DN: the object there (a new object's name taken in its OU), however the DN is cased; nothing at a free DN
      const byDn = await client.whoHas({ dn: userDn.toUpperCase() });
      assert.equal(byDn.length, 1);
      assert.ok(dn.equal(byDn[0]?.dn ?? '', userDn));
      assert.deepEqual(byDn[0]?.matches.map((m) => m.field), ['dn']);
      assert.deepEqual(await client.whoHas({ dn: dn.child(ou.dn, dn.rdn('CN', `Free ${sam}`)) }), []);
    });

    it('refuses a duplicate sAMAccountName with kind already-exists, and creates nothing', async function () {
      const err = await directoryError(
        client.createUser({ parentDn: ou.dn, cn: `Other ${sam}`, samAccountName: sam.toUpperCase(), userPrincipalName: `other-${upn}`, attributes: { displayName: `Other ${sam}` }, enabled: false }),
        'already-exists',
      );
      assert.equal(err.message, `The sAMAccountName '${sam.toUpperCase()}' is already used by another AD account; nothing was created.`);
      assert.equal(err.outcome, 'unchanged');
      assert.equal(await client.get(dn.child(ou.dn, dn.rdn('CN', `Other ${sam}`))), null);
    });

    it('refuses a duplicate userPrincipalName with kind already-exists', async function () {
      const other = uniqueName('upn');
      const err = await directoryError(
        client.createUser({ parentDn: ou.dn, cn: `Other ${other}`, samAccountName: other, userPrincipalName: upn, attributes: { displayName: `Other ${other}` }, enabled: false }),
        'already-exists',
      );
      assert.equal(err.message, `The userPrincipalName '${upn}' is already used by another AD account; nothing was created.`);
    });

    it('refuses a second object with the same CN in the same OU with kind already-exists', async function () {
      const other = uniqueName('cn');
      const err = await directoryError(
        client.createUser({ parentDn: ou.dn, cn: `Ada Lovelace ${sam}`, samAccountName: other, userPrincipalName: `${other}@${DOMAIN}`, attributes: { displayName: 'x' }, enabled: false }),
        'already-exists',
      );
      assert.equal(err.message, `An object named 'Ada Lovelace ${sam}' already exists in '${ou.dn}'; nothing was created.`);
    });

    it('reports a missing parent OU as no-such-object', async function () {
      const other = uniqueName('nop');
      const parentDn = dn.child(ou.dn, dn.rdn('OU', 'does not exist'));
      const err = await directoryError(
        client.createUser({ parentDn, cn: other, samAccountName: other, userPrincipalName: `${other}@${DOMAIN}`, attributes: { displayName: other }, enabled: false }),
        'no-such-object',
      );
      assert.equal(err.code, 32);
      assert.equal(
        err.message,
        `The container '${parentDn}' to create the user '${other}' (${other}) in does not exist in Active Directory; nothing was created. Check the OU in Mailroom's configuration.`,
      );
    });

    it('refuses a weak password with kind password-policy and deletes the half-created account again', async function () {
      const other = uniqueName('weak');
      for (const [weak, reason] of [
        ['abc', /too short \(the domain requires at least 7 characters\)/],
        ['abcdefghij', /not complex enough/],
      ] as const) {
        const err = await directoryError(
          client.createUser({ parentDn: ou.dn, cn: other, samAccountName: other, userPrincipalName: `${other}@${DOMAIN}`, attributes: { displayName: other }, enabled: true, password: weak }),
          'password-policy',
        );
        assert.match(err.message, reason);
        assert.match(err.message, /Mailroom deleted the account it had just added, so nothing was created\.$/);
        assert.equal(err.outcome, 'unchanged');
        assert.equal(await client.findByIdentity(other), null);
      }
    });

    it('creates a disabled user without a password (shared mailbox), and refuses an enabled one without', async function () {
      const shared = uniqueName('shr');
      const created = await client.createUser({ parentDn: ou.dn, cn: `Shared ${shared}`, samAccountName: shared, userPrincipalName: `${shared}@${DOMAIN}`, attributes: { displayName: `Shared ${shared}`, mail: `${shared}@example.test` }, enabled: false });
      const e = await readBack(admin, created.dn, ['userAccountControl', 'mail']);
      assert.equal(e.userAccountControl, '514');
      assert.equal((await client.findByIdentity(`${shared}@example.test`))?.enabled, false);
      const err = await directoryError(
        client.createUser({ parentDn: ou.dn, cn: 'x', samAccountName: uniqueName('x'), userPrincipalName: `x@${DOMAIN}`, attributes: { displayName: 'x' }, enabled: true }),
        'configuration',
      );
      assert.match(err.message, /has no password; nothing was created/);
    });

    it("enforces Windows' sAMAccountName rules that Samba does not (20 characters, invalid characters)", async function () {
      const long = 'a'.repeat(21);
      const err = await directoryError(
        client.createUser({ parentDn: ou.dn, cn: long, samAccountName: long, userPrincipalName: `${long}@${DOMAIN}`, attributes: { displayName: long }, enabled: false }),
        'constraint',
      );
      assert.match(err.message, /is 21 characters long; Windows AD allows at most 20; nothing was created/);
      await directoryError(
        client.createUser({ parentDn: ou.dn, cn: 'slash', samAccountName: 'a/b', userPrincipalName: `slash@${DOMAIN}`, attributes: { displayName: 'slash' }, enabled: false }),
        'constraint',
      );
      assert.equal(await client.get(dn.child(ou.dn, dn.rdn('CN', long))), null);
    });

    it('changes, clears and adds attributes; proxyAddresses add/remove compare case-insensitively and are repeatable', async function () {
      await client.setAttributes(userDn, { title: 'Countess', department: null, msExchHideFromAddressLists: true });
      let e = await readBack(admin, userDn, ['title', 'department', 'msExchHideFromAddressLists']);
      assert.equal(e.title, 'Countess');
      assert.deepEqual(list(e, 'department'), []);
      assert.equal(e.msExchHideFromAddressLists, 'TRUE');

      const extra = `lovelace.${sam}@example.test`;
      const added = await client.addValues(userDn, 'proxyAddresses', [`smtp:${extra}`, `SMTP:${mail.toUpperCase()}`, `smtp:${extra.toUpperCase()}`]);
      assert.deepEqual(added, { changed: [`smtp:${extra}`], unchanged: [`SMTP:${mail.toUpperCase()}`] });
      assert.deepEqual(await client.addValues(userDn, 'proxyAddresses', [`smtp:${extra}`]), { changed: [], unchanged: [`smtp:${extra}`] });
      e = await readBack(admin, userDn, ['proxyAddresses']);
      assert.deepEqual(list(e, 'proxyAddresses'), [`SMTP:${mail}`, `smtp:${secondary}`, `smtp:${extra}`].sort());

      const removed = await client.removeValues(userDn, 'proxyAddresses', [`SMTP:${extra.toUpperCase()}`, 'smtp:never@example.test']);
      assert.deepEqual(removed, { changed: [`smtp:${extra}`], unchanged: ['smtp:never@example.test'] });
      e = await readBack(admin, userDn, ['proxyAddresses']);
      assert.deepEqual(list(e, 'proxyAddresses'), [`SMTP:${mail}`, `smtp:${secondary}`].sort());
    });

    it('maps attribute errors: missing from the schema, wrong object class, bad syntax, several values for a single-valued one', async function () {
      const missing = await directoryError(client.setAttributes(userDn, { mailroomNoSuchAttribute: 'x' }), 'schema-missing-attribute');
      assert.match(missing.message, /schema has no attribute 'mailroomNoSuchAttribute'/);
      const syntax = await directoryError(client.setAttributes(userDn, { mailNickname: 'x'.repeat(65) }), 'invalid-syntax');
      assert.match(syntax.message, /The value 'x{65}' for 'mailNickname' has the wrong format or is too long for Active Directory; nothing was changed on 'Ada Lovelace/);
      const single = await directoryError(client.setAttributes(userDn, { mail: ['a@example.test', 'b@example.test'] }), 'value-exists');
      assert.match(single.message, /'mail' holds one value/);
      const wrongClass = await directoryError(
        client.createContact({ parentDn: ou.dn, cn: uniqueName('wc'), attributes: { sAMAccountName: uniqueName('wc') } }),
        'wrong-object-class',
      );
      assert.match(wrongClass.message, /'sAMAccountName' cannot be set on this kind of object; nothing was created/);
      await directoryError(client.setAttributes(userDn, { unicodePwd: 'x' }), 'configuration');
    });

    it('disables and enables the account (repeatable), and sets a new password', async function () {
      assert.deepEqual(await client.disableAccount(userDn), { changed: true });
      assert.deepEqual(await client.disableAccount(userDn), { changed: false });
      assert.equal((await readBack(admin, userDn, ['userAccountControl'])).userAccountControl, '514');
      await assert.rejects(openLdapClient(dc, { bindDn: upn, password }), /data 533/);

      assert.deepEqual(await client.enableAccount(userDn), { changed: true });
      assert.deepEqual(await client.enableAccount(userDn), { changed: false });
      assert.equal((await readBack(admin, userDn, ['userAccountControl'])).userAccountControl, '512');

      const next = `Difference-Engine-2-${sam}`;
      await client.setPassword(userDn, next);
      const asUser = await openLdapClient(dc, { bindDn: upn, password: next });
      await asUser.unbind();
      await directoryError(client.setPassword(userDn, 'short'), 'password-policy');
      const contact = await client.createContact({ parentDn: ou.dn, cn: uniqueName('nc') });
      await directoryError(client.disableAccount(contact.dn), 'wrong-object-class');
      await directoryError(client.disableAccount(dn.child(ou.dn, dn.rdn('CN', 'nobody'))), 'no-such-object');
    });

    it('refuses an identity that names several objects (kind ambiguous)', async function () {
      const a = uniqueName('amb');
      await client.createUser({ parentDn: ou.dn, cn: `A ${a}`, samAccountName: a, userPrincipalName: `${a}@${DOMAIN}`, attributes: { displayName: `A ${a}` }, enabled: false });
      await client.createContact({ parentDn: ou.dn, cn: `B ${a}`, attributes: { mailNickname: a } });
      const err = await directoryError(client.findByIdentity(a), 'ambiguous');
      assert.match(err.message, new RegExp(`'${a}' names 2 objects in Active Directory`));
    });
  });

  describe('contacts and groups', function () {
    it('creates a mail contact and finds it by its address', async function () {
      const n = uniqueName('ct');
      const created = await client.createContact({
        parentDn: ou.dn,
        cn: `Partner ${n}`,
        attributes: {
          displayName: `Partner ${n}`,
          mail: `${n}@partner.test`,
          mailNickname: n,
          targetAddress: `SMTP:${n}@partner.test`,
          proxyAddresses: [`SMTP:${n}@partner.test`],
        },
      });
      const e = await readBack(admin, created.dn, ['objectClass', 'mail', 'mailNickname', 'targetAddress', 'proxyAddresses', 'displayName']);
      assert.deepEqual(list(e, 'objectClass'), ['contact', 'organizationalPerson', 'person', 'top']);
      assert.equal(e.mail, `${n}@partner.test`);
      assert.equal(e.mailNickname, n);
      assert.equal(e.targetAddress, `SMTP:${n}@partner.test`);
      const found = await client.findByIdentity(`${n}@PARTNER.test`);
      assert.equal(found?.objectClass, 'contact');
      assert.equal(found?.objectGuid, created.objectGuid);
      assert.equal(found?.enabled, undefined);
    });

    it('creates global and universal, security and distribution groups with the right groupType, and manages members', async function () {
      const member1 = await client.createContact({ parentDn: ou.dn, cn: uniqueName('m1') });
      const member2 = await client.createContact({ parentDn: ou.dn, cn: uniqueName('m2') });
      const expected = [
        ['global', false, 2],
        ['global', true, -2147483646],
        ['universal', false, 8],
        ['universal', true, -2147483640],
      ] as const;
      for (const [scope, securityEnabled, groupType] of expected) {
        const n = uniqueName('grp');
        const created = await client.createGroup({
          parentDn: ou.dn,
          cn: `Group ${n}`,
          samAccountName: n,
          groupType: groupTypeOf(scope, securityEnabled),
          attributes: {
            mail: `${n}@example.test`,
            mailNickname: n,
            proxyAddresses: [`SMTP:${n}@example.test`],
          },
          members: [member1.dn],
        });
        const e = await readBack(admin, created.dn, ['groupType', 'sAMAccountName', 'mail', 'mailNickname', 'member']);
        assert.equal(e.groupType, String(groupType), `${scope} ${securityEnabled ? 'security' : 'distribution'}`);
        assert.equal(e.sAMAccountName, n);
        assert.equal(e.mailNickname, n);
        assert.ok(dn.equal(String(e.member), member1.dn));
        const found = await client.findByIdentity(n);
        assert.deepEqual([found?.objectClass, found?.groupScope, found?.securityEnabled, found?.groupType], ['group', scope, securityEnabled, groupType]);
      }

      const g = await client.createGroup({ parentDn: ou.dn, cn: uniqueName('mg'), samAccountName: uniqueName('mg'), groupType: groupTypeOf('universal', false) });
      assert.deepEqual(await client.addGroupMembers(g.dn, [member1.dn, member2.dn]), { changed: [member1.dn, member2.dn], unchanged: [] });
      // Again, with the DN spelled differently: nothing to do.
      assert.deepEqual(await client.addGroupMembers(g.dn, [member1.dn.toLowerCase()]), { changed: [], unchanged: [dn.format(dn.parse(member1.dn.toLowerCase()))] });
      assert.deepEqual(list(await readBack(admin, g.dn, ['member']), 'member'), [member1.dn, member2.dn].sort());
      assert.deepEqual(await client.removeGroupMembers(g.dn, [member2.dn]), { changed: [member2.dn], unchanged: [] });
      assert.deepEqual(await client.removeGroupMembers(g.dn, [member2.dn]), { changed: [], unchanged: [member2.dn] });
      assert.deepEqual((await client.groupMembers(g.dn))?.map((m) => dn.normalize(m)), [dn.normalize(member1.dn)]);

      const ghost = dn.child(ou.dn, dn.rdn('CN', 'ghost'));
      const err = await directoryError(
        client.createGroup({ parentDn: ou.dn, cn: uniqueName('gg'), samAccountName: uniqueName('gg'), groupType: groupTypeOf('global', true), members: [ghost] }),
        'no-such-object',
      );
      assert.match(err.message, /One of the objects named as a member does not exist in Active Directory; nothing was created/);
    });
  });

  describe('OUs and deleting', function () {
    it('ensureOu creates a missing OU path top-down and is repeatable', async function () {
      const deep = dn.child(dn.child(ou.dn, dn.rdn('OU', 'Mailroom, Inc.')), dn.rdn('OU', '#Shared '));
      const first = await client.ensureOu(deep);
      assert.equal(first.created.length, 2);
      assert.ok(dn.equal(first.dn, deep));
      const second = await client.ensureOu(deep);
      assert.deepEqual(second.created, []);
      const e = await readBack(admin, deep, ['ou', 'objectClass']);
      assert.equal(e.ou, '#Shared ');
      await directoryError(client.ensureOu('OU=x,DC=elsewhere,DC=test'), 'configuration');
    });

    it('deletes what Mailroom created; a repeated delete reports absent; a non-leaf is refused unless asked for a tree delete', async function () {
      const n = uniqueName('del');
      const parent = await client.ensureOu(dn.child(ou.dn, dn.rdn('OU', `Delete ${n}`)));
      const contact = await client.createContact({ parentDn: parent.dn, cn: n });
      const err = await directoryError(client.delete(parent.dn), 'not-allowed-on-non-leaf');
      assert.match(err.message, /still contains other objects, so Active Directory did not delete it; nothing was deleted\./);
      assert.equal(await client.delete(contact.dn), 'deleted');
      assert.equal(await client.delete(contact.dn), 'absent');
      assert.equal(await client.get(contact.dn), null);
      await client.createContact({ parentDn: parent.dn, cn: `${n}-2` });
      assert.equal(await client.delete(parent.dn, { tree: true }), 'deleted');
      assert.equal(await client.get(parent.dn), null);
    });
  });
});
