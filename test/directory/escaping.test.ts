import assert from 'node:assert/strict';
import type { Client } from 'ldapts';
import { DirectoryClient, dn } from '../../src/directory';
import type { DomainController } from '../../src/sandbox/samba';
import { createTestOu, getSharedDc, openLdapClient, type TestOu } from '../harness/samba';
import { list, newClient, readBack, uniqueName } from './fixture';

/** Values that break naive DN or filter building. */
const NASTY = ['*)(cn=*', 'a,OU=x', '#hash', ' lead', 'trail ', '\\', 'a+b', '"quoted"', '<a>;b=c', 'Zoë 中文 🙂', '*', 'x)(|(objectClass=*'];

describe('directory: escaping of DNs and filters against Samba AD', function () {
  let dc: DomainController;
  let ou: TestOu;
  let client: DirectoryClient;
  let admin: Client;
  const created = new Map<string, { dn: string; objectGuid: string }>();

  before(async function () {
    this.timeout(15 * 60_000);
    dc = await getSharedDc();
    ou = await createTestOu(dc, 'directory-escaping');
    admin = await openLdapClient(dc);
    client = newClient(dc);
    // One user per nasty value: the value is its CN, displayName, description and mailNickname.
    for (const value of NASTY) {
      const sam = uniqueName('esc');
      created.set(value, await client.createUser({ parentDn: ou.dn, cn: value, samAccountName: sam, userPrincipalName: `${sam}@corp.example.test`, attributes: { displayName: value, description: value, mailNickname: value }, enabled: false }));
    }
  });

  after(async function () {
    await client?.close();
    await admin?.unbind();
    await ou?.cleanup();
  });

  it('stores each value exactly as given, in the RDN and in attributes, one level below the OU', async function () {
    for (const [value, { dn: storedDn }] of created) {
      const e = await readBack(admin, storedDn, ['cn', 'displayName', 'description', 'mailNickname', 'distinguishedName']);
      assert.equal(e.cn, value, `cn of ${JSON.stringify(value)}`);
      assert.equal(e.displayName, value);
      assert.equal(e.description, value);
      assert.equal(e.mailNickname, value);
      const parsed = dn.parse(storedDn);
      assert.equal(parsed.length, dn.parse(ou.dn).length + 1, `${storedDn} is not directly below the OU`);
      assert.equal(parsed[0]?.[0]?.value, value);
      assert.ok(dn.equal(storedDn, dn.child(ou.dn, dn.rdn('CN', value))), `${storedDn} vs what Mailroom built`);
    }
    // 'a,OU=x' did not create or need an OU named x.
    assert.equal(await client.get(`OU=x,${ou.dn}`), null);
  });

  it('a NUL in a CN round-trips too', async function () {
    const sam = uniqueName('nul');
    const value = 'nul\0inside';
    const user = await client.createUser({ parentDn: ou.dn, cn: value, samAccountName: sam, userPrincipalName: `${sam}@corp.example.test`, attributes: { displayName: sam }, enabled: false });
    assert.equal((await readBack(admin, user.dn, ['cn'])).cn, value);
    assert.equal(dn.leafValue(user.dn), value);
    assert.equal((await client.get(user.dn))?.cn, value);
  });

  it('finds each object exactly by its DN (as Samba spells it and as Mailroom builds it) and by its value', async function () {
    for (const [value, { dn: storedDn, objectGuid }] of created) {
      assert.equal((await client.findByIdentity(storedDn))?.objectGuid, objectGuid, `by stored DN ${storedDn}`);
      if (!value.startsWith(' ') && !value.endsWith(' ')) {
        // (findByIdentity trims identities a person typed; edge spaces are found by DN above)
        const found = await client.findByIdentity(value);
        assert.equal(found?.objectGuid, objectGuid, `by mailNickname ${JSON.stringify(value)}`);
        assert.equal(found?.mailNickname, value);
      }
      const who = await client.whoHas({ alias: value });
      assert.deepEqual(who.map((w) => w.dn), [storedDn], `whoHas alias ${JSON.stringify(value)}`);
    }
  });

  it('an unescaped filter would have matched more: the same values pasted into a filter string widen the search', async function () {
    const mailroomHits = await client.whoHas({ alias: '*' });
    assert.equal(mailroomHits.length, 1);

    const unescaped = async (value: string): Promise<number> => {
      const { searchEntries } = await admin.search(ou.dn, { scope: 'sub', filter: `(&(objectClass=user)(mailNickname=${value}))`, attributes: ['cn'] });
      return searchEntries.length;
    };
    // '*' as a filter is "has any mailNickname"; '*)(cn=*' closes the equality and adds a clause.
    const star = await unescaped('*');
    const injected = await unescaped('*)(cn=*');
    assert.ok(star >= NASTY.length, 'unescaped * matched only itself');
    assert.ok(injected >= NASTY.length, 'unescaped *)(cn=* matched only itself');
    this.test!.title += ` (unescaped: ${star} and ${injected} objects; Mailroom: 1 each)`;
    for (const value of ['*', '*)(cn=*']) {
      assert.deepEqual((await client.whoHas({ alias: value })).map((w) => w.dn), [created.get(value)?.dn]);
    }
  });

  it('proxyAddresses with filter metacharacters are added, found and removed exactly', async function () {
    const target = created.get('a+b');
    assert.ok(target);
    const odd = 'smtp:o*d(d)\\x@example.test';
    await client.addValues(target.dn, 'proxyAddresses', [odd]);
    assert.deepEqual(list(await readBack(admin, target.dn, ['proxyAddresses']), 'proxyAddresses'), [odd]);
    assert.equal((await client.findByIdentity('o*d(d)\\x@example.test'))?.objectGuid, target.objectGuid);
    assert.equal(await client.findByIdentity('o*@example.test'), null);
    assert.deepEqual(await client.removeValues(target.dn, 'proxyAddresses', [odd.toUpperCase()]), { changed: [odd], unchanged: [] });
  });
});
