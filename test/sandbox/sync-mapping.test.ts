import assert from 'node:assert/strict';
import { immutableIdFromObjectGuid } from '../../src/sandbox/cloud/ids';
import type { AdGroupInput, AdUserInput } from '../../src/sandbox/cloud/tenant';
import {
  classifyEntry,
  groupScopeOf,
  guidString,
  immutableIdFromGuidBytes,
  plainDn,
  sidToString,
  type LdapEntry,
} from '../../src/sandbox/sync/mapping';

// objectGUID {f48edf1d-bfa0-4e73-afca-16ae7f1e09ac} as AD stores it (first three fields little-endian).
const GUID_BYTES = Buffer.from('1ddf8ef4a0bf734eafca16ae7f1e09ac', 'hex');
const BASE = 'DC=corp,DC=example,DC=test';
const PERSON = `<GUID=00112233445566778899aabbccddeeff>;CN=Person,CN=Schema,CN=Configuration,${BASE}`;

function userEntry(extra: Record<string, string | string[] | Buffer> = {}): LdapEntry {
  return {
    dn: `<GUID=1ddf8ef4a0bf734eafca16ae7f1e09ac>;<SID=0105>;CN=Doe\\, Jane,OU=Staff,${BASE}`,
    objectClass: ['top', 'person', 'organizationalPerson', 'user'],
    objectCategory: PERSON,
    objectGUID: GUID_BYTES,
    sAMAccountName: 'jdoe',
    userPrincipalName: 'jdoe@contoso.example',
    userAccountControl: '512',
    isCriticalSystemObject: [],
    ...extra,
  };
}

describe('sandbox sync: mapping AD entries (pure)', function () {
  it('derives the immutable id from objectGUID bytes exactly as the tenant does from the GUID string', function () {
    assert.equal(guidString(GUID_BYTES), 'f48edf1d-bfa0-4e73-afca-16ae7f1e09ac');
    assert.equal(immutableIdFromGuidBytes(GUID_BYTES), immutableIdFromObjectGuid('f48edf1d-bfa0-4e73-afca-16ae7f1e09ac'));
  });

  it('prefers ms-DS-ConsistencyGuid as the source anchor when set', function () {
    const consistency = Buffer.from('00000000000000000000000000000001', 'hex');
    const c = classifyEntry(userEntry({ 'mS-DS-ConsistencyGuid': consistency }));
    assert.ok(c.inScope);
    assert.equal(c.immutableId, consistency.toString('base64'));
    assert.equal(c.objectGuidB64, GUID_BYTES.toString('base64'));
  });

  it('maps a user: UAC bit 2, names, Exchange attributes, the DN without the extended-DN prefix', function () {
    const c = classifyEntry(
      userEntry({
        userAccountControl: '514',
        givenName: 'Jane',
        sn: 'Doe',
        mail: 'jane.doe@contoso.example',
        mailNickname: 'jdoe',
        targetAddress: 'SMTP:jane@partner.example',
        proxyAddresses: ['SMTP:jane.doe@contoso.example', 'smtp:jd@contoso.example'],
        msExchHideFromAddressLists: 'TRUE',
        objectSid: Buffer.from('010500000000000515000000e86721fae2e26c3f3a68fc0751040000', 'hex'),
      }),
    );
    assert.ok(c.inScope && c.kind === 'user');
    const u = c.input as AdUserInput;
    assert.equal(u.distinguishedName, `CN=Doe\\, Jane,OU=Staff,${BASE}`);
    assert.equal(u.accountEnabled, false);
    assert.equal(u.surname, 'Doe');
    assert.equal(u.targetAddress, 'SMTP:jane@partner.example');
    assert.deepEqual(u.proxyAddresses, ['SMTP:jane.doe@contoso.example', 'smtp:jd@contoso.example']);
    assert.equal(u.hideFromAddressLists, true);
    assert.equal(u.objectSid, 'S-1-5-21-4196493288-1064100578-133982266-1105');
  });

  it('falls back to sAMAccountName@<domain> without a userPrincipalName', function () {
    const c = classifyEntry(userEntry({ userPrincipalName: [] }));
    assert.ok(c.inScope);
    assert.equal((c.input as { userPrincipalName: string }).userPrincipalName, 'jdoe@corp.example.test');
  });

  it('leaves out critical system objects, service accounts, writeback objects and computers', function () {
    const critical = classifyEntry(userEntry({ isCriticalSystemObject: 'TRUE' }));
    assert.ok(!critical.inScope);
    assert.match(critical.reason, /isCriticalSystemObject/);
    const msol = classifyEntry(userEntry({ sAMAccountName: 'MSOL_0123abcd' }));
    assert.ok(!msol.inScope);
    const writeback = classifyEntry(userEntry({ adminDescription: 'User_abc' }));
    assert.ok(!writeback.inScope);
    const computer = classifyEntry(
      userEntry({ objectClass: ['top', 'person', 'organizationalPerson', 'user', 'computer'], objectCategory: `CN=Computer,CN=Schema,CN=Configuration,${BASE}` }),
    );
    assert.ok(!computer.inScope);
    assert.equal(computer.kind, null);
  });

  it('maps groupType bits to scope and security', function () {
    assert.deepEqual(groupScopeOf(0x2), { scope: 'global', securityEnabled: false });
    assert.deepEqual(groupScopeOf(0x8), { scope: 'universal', securityEnabled: false });
    assert.deepEqual(groupScopeOf(-2147483646), { scope: 'global', securityEnabled: true });
    assert.deepEqual(groupScopeOf(-2147483644), { scope: 'domainLocal', securityEnabled: true });
    assert.deepEqual(groupScopeOf(-2147483640), { scope: 'universal', securityEnabled: true });
  });

  it('maps group members from extended DNs to immutable ids, through the anchor lookup', function () {
    const member = '<GUID=d9c421722653884a90b741b6a2c52e71>;<SID=0105>;CN=Jane\\, Doe,OU=Staff,' + BASE;
    const other = '<GUID=3b9f64d0604d6d43acff316e9d40bb0b>;CN=Other,OU=Staff,' + BASE;
    const memberB64 = Buffer.from('d9c421722653884a90b741b6a2c52e71', 'hex').toString('base64');
    const c = classifyEntry(
      {
        dn: `<GUID=55478b47b3b32a498510f5e786d927c8>;CN=Team,OU=Groups,${BASE}`,
        objectClass: ['top', 'group'],
        objectCategory: `CN=Group,CN=Schema,CN=Configuration,${BASE}`,
        objectGUID: Buffer.from('55478b47b3b32a498510f5e786d927c8', 'hex'),
        sAMAccountName: 'team',
        groupType: '8',
        member: [member, other],
        mail: 'team@contoso.example',
      },
      (g) => (g === memberB64 ? 'ANCHOR==' : g),
    );
    assert.ok(c.inScope && c.kind === 'group');
    const g = c.input as AdGroupInput;
    assert.equal(g.scope, 'universal');
    assert.equal(g.securityEnabled, false);
    assert.deepEqual(g.members, ['ANCHOR==', Buffer.from('3b9f64d0604d6d43acff316e9d40bb0b', 'hex').toString('base64')].sort());
  });

  it('keeps helpers honest: plainDn, sidToString', function () {
    assert.equal(plainDn('<GUID=ab>;<SID=cd>;CN=x,DC=y'), 'CN=x,DC=y');
    assert.equal(plainDn('CN=x,DC=y'), 'CN=x,DC=y');
    assert.equal(sidToString(Buffer.from('01010000000000050a000000', 'hex')), 'S-1-5-10');
    assert.equal(sidToString(Buffer.from('01', 'hex')), null);
  });
});
