import assert from 'node:assert/strict';
import fc from 'fast-check';
import { dn } from '../../src/directory';

/** Every UTF-8 byte of a value as a `\XX` hex pair: the most escaped way to write it in a DN. */
function hexAll(value: string): string {
  return [...Buffer.from(value, 'utf8')].map((b) => `\\${b.toString(16).padStart(2, '0').toUpperCase()}`).join('');
}

/** Both ways round: equality of DNs is symmetric. */
function same(a: string, b: string): boolean {
  const there = dn.equal(a, b);
  assert.equal(dn.equal(b, a), there, `equal is not symmetric for ${a} and ${b}`);
  return there;
}

describe('directory: dn.equal, the one DN comparison', function () {
  it('hex escapes and the characters they stand for compare equal, upper or lower case hex', function () {
    assert.ok(same('CN=\\4Eils Bohr,OU=Staff,DC=corp', 'CN=Nils Bohr,OU=Staff,DC=corp'));
    assert.ok(same('CN=\\4eils Bohr,OU=Staff,DC=corp', 'CN=Nils Bohr,OU=Staff,DC=corp'));
    assert.ok(same('CN=Zo\\C3\\AB,OU=Staff,DC=corp', 'CN=Zoë,OU=Staff,DC=corp'));
    assert.ok(same(`CN=${hexAll('Ada Lovelace')},OU=Staff,DC=corp`, 'CN=Ada Lovelace,OU=Staff,DC=corp'));
  });

  it('backslash escapes and hex escapes of the same character compare equal (Samba and Windows escape differently)', function () {
    assert.ok(same('CN=Lovelace\\, Ada,OU=Staff,DC=corp', 'CN=Lovelace\\2C Ada,OU=Staff,DC=corp'));
    assert.ok(same('CN=f\\;g\\=h\\+i,OU=Staff,DC=corp', 'CN=f\\3Bg\\3Dh\\2Bi,OU=Staff,DC=corp'));
    assert.ok(same('CN=\\#hash,OU=p', 'CN=\\23hash,OU=p'));
    assert.ok(same('CN=trail\\ ,OU=p', 'CN=trail\\20,OU=p'));
    assert.ok(same('CN=back\\\\slash,OU=p', 'CN=back\\5Cslash,OU=p'));
    assert.ok(same('CN="Lovelace, Ada",OU=Staff,DC=corp', 'CN=Lovelace\\, Ada,OU=Staff,DC=corp'));
  });

  it('attribute types and values compare case-insensitively, as AD compares names', function () {
    assert.ok(same('CN=Ada Lovelace,OU=Staff,DC=corp,DC=example', 'cn=ada lovelace,ou=STAFF,dc=Corp,dc=EXAMPLE'));
    assert.ok(same('CN=Zoë,OU=p', 'cn=ZOË,ou=p'));
    assert.ok(same('CN=\\4E,OU=p', 'cn=n,ou=p'));
  });

  it('spaces around separators and the order of a multi-valued RDN do not matter', function () {
    assert.ok(same('CN=Ada , OU=Staff ,DC=corp', 'CN=Ada,OU=Staff,DC=corp'));
    assert.ok(same('CN = Ada,OU= Staff', 'CN=Ada,OU=Staff'));
    assert.ok(same('CN=a+UID=b,OU=p', 'uid=B+cn=A,ou=P'));
  });

  it('different values, levels or escaped separators are different objects', function () {
    assert.ok(!same('CN=Ada,OU=Staff,DC=corp', 'CN=Ada2,OU=Staff,DC=corp'));
    assert.ok(!same('CN=a\\,OU=x,OU=p', 'CN=a,OU=x,OU=p'), 'an escaped comma is part of the value, not a new level');
    assert.ok(!same('CN=trail\\ ,OU=p', 'CN=trail,OU=p'), 'an escaped trailing space is part of the value');
    assert.ok(!same('CN=Ada,OU=Staff,DC=corp', 'OU=Staff,DC=corp'));
    assert.ok(!same('CN=Ada,OU=Staff,DC=corp', 'CN=Ada,OU=Staff'));
    assert.ok(!same('CN=Ada,OU=Staff', 'UID=Ada,OU=Staff'));
    assert.ok(!same('CN=a+UID=b,OU=p', 'CN=a,OU=p'));
  });

  it('never throws: a string that is not a DN equals only the same text, ignoring case', function () {
    assert.ok(same('not a dn', 'NOT A DN'));
    assert.ok(!same('not a dn', 'CN=not a dn'));
    assert.ok(!same('CN=a,', 'CN=a'));
    assert.ok(same('', ''));
  });

  it('a value written as hex pairs, and its DN with upper-cased types, equal the DN built with rdn() (property)', function () {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 30, unit: 'binary' }), (value) => {
        const built = dn.child('OU=Staff,DC=corp', dn.rdn('cn', value));
        assert.ok(same(built, `CN=${hexAll(value)},ou=Staff,dc=corp`), built);
        assert.ok(same(built, dn.format(dn.parse(built))));
        assert.ok(!same(built, dn.child('OU=Staff,DC=corp', dn.rdn('CN', `${value}x`))));
      }),
      { numRuns: 500 },
    );
  });
});
