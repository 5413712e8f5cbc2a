import assert from 'node:assert/strict';
import fc from 'fast-check';
import { dn, DirectoryError, escapeFilterValue } from '../../src/directory';

describe('directory: DN escaping and parsing (RFC 4514)', function () {
  it('escapes , + " \\ < > ; = anywhere, # and space at the start, space at the end, NUL and control characters', function () {
    assert.equal(dn.escapeValue('Lovelace, Ada'), 'Lovelace\\, Ada');
    assert.equal(dn.escapeValue('a+b"c\\d<e>f;g=h'), 'a\\+b\\"c\\\\d\\<e\\>f\\;g\\=h');
    assert.equal(dn.escapeValue('#hash'), '\\#hash');
    assert.equal(dn.escapeValue('mid#hash'), 'mid#hash');
    assert.equal(dn.escapeValue(' lead'), '\\ lead');
    assert.equal(dn.escapeValue('trail '), 'trail\\ ');
    assert.equal(dn.escapeValue(' '), '\\ ');
    assert.equal(dn.escapeValue('in side'), 'in side');
    assert.equal(dn.escapeValue('nul\0x'), 'nul\\00x');
    assert.equal(dn.escapeValue('line\nfeed'), 'line\\0Afeed');
    assert.equal(dn.escapeValue('Zoë 中文 🙂'), 'Zoë 中文 🙂');
  });

  it('builds DNs only from escaped RDNs: a value cannot add a level', function () {
    const base = 'OU=Staff,DC=corp,DC=example,DC=test';
    const made = dn.child(base, dn.rdn('CN', 'a,OU=x'));
    assert.equal(made, 'CN=a\\,OU\\=x,OU=Staff,DC=corp,DC=example,DC=test');
    assert.equal(dn.parse(made).length, 5);
    assert.equal(dn.leafValue(made), 'a,OU=x');
    // An RDN that was not built with rdn() and names two levels is refused.
    assert.throws(() => dn.child(base, 'CN=a,OU=x'), (err: unknown) => err instanceof DirectoryError && err.kind === 'invalid-dn');
    assert.throws(() => dn.rdn('CN', ''), DirectoryError);
    assert.throws(() => dn.rdn('C N', 'x'), DirectoryError);
  });

  it("parses the escapes Samba returns (\\3B, \\3D, \\#, '\\ ', \\00) and UTF-8 hex pairs", function () {
    const samba = 'CN=a\\\\\\,b\\+c\\"d\\<e\\>f\\3Bg\\3Dh \\#x é中,OU=probe,DC=corp,DC=example,DC=test';
    assert.equal(dn.leafValue(samba), 'a\\,b+c"d<e>f;g=h #x é中');
    assert.equal(dn.leafValue('CN=\\ lead nul\\00x,OU=p'), ' lead nul\0x');
    assert.equal(dn.leafValue('CN=\\#hash\\ ,OU=p'), '#hash ');
    assert.equal(dn.leafValue('CN=Zo\\C3\\AB,OU=p'), 'Zoë');
    assert.equal(dn.leafValue('CN="quoted, value",OU=p'), 'quoted, value');
    assert.equal(dn.parse('CN=a, OU=b ,DC=c').map((r) => r[0]?.value).join('|'), 'a|b|c');
  });

  it('compares DNs parsed: escaping style, case and spacing do not matter; values do', function () {
    assert.ok(dn.equal('CN=f\\3Bg\\3Dh,OU=X,DC=corp', 'cn=f\\;g\\=h, ou=x,dc=CORP'));
    assert.ok(dn.equal('CN=\\#hash\\ ,OU=p', 'CN=\\23hash\\20,OU=p'));
    assert.ok(dn.equal('CN=a+UID=b,OU=p', 'UID=b+CN=a,OU=p'));
    assert.ok(!dn.equal('CN=a\\,OU=x,OU=p', 'CN=a,OU=x,OU=p'));
    assert.ok(!dn.equal('CN=trail\\ ,OU=p', 'CN=trail,OU=p'));
    assert.ok(dn.isWithin('CN=a,OU=b,DC=c', 'ou=B,dc=C'));
    assert.ok(!dn.isWithin('CN=a,OU=bb,DC=c', 'OU=b,DC=c'));
    assert.equal(dn.parent('CN=a\\,b,OU=p,DC=c'), 'OU=p,DC=c');
  });

  it('refuses malformed DNs with kind invalid-dn', function () {
    for (const bad of ['garbage', 'CN=a,', 'CN=a,,OU=b', 'CN=a\\', 'CN="open,OU=b', '=x']) {
      assert.throws(() => dn.parse(bad), (err: unknown) => err instanceof DirectoryError && err.kind === 'invalid-dn', bad);
    }
    assert.deepEqual(dn.parse(''), []);
  });

  it('round-trips any non-empty value through rdn() and parse() (property)', function () {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40, unit: 'binary' }), (value) => {
        const built = dn.child('OU=p,DC=c', dn.rdn('CN', value));
        const parsed = dn.parse(built);
        assert.equal(parsed.length, 3);
        assert.equal(parsed[0]?.[0]?.value, value);
        assert.ok(dn.equal(built, dn.format(parsed)));
      }),
      { numRuns: 1000 },
    );
  });

  it('escapes filter values per RFC 4515: * ( ) \\ NUL', function () {
    assert.equal(escapeFilterValue('*)(cn=*'), '\\2a\\29\\28cn=\\2a');
    assert.equal(escapeFilterValue('a\\b\0c'), 'a\\5cb\\00c');
    assert.equal(escapeFilterValue('Zoë'), 'Zoë');
  });
});
