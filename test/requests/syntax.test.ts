import assert from 'node:assert/strict';
import { childDn, escapeRdnValue, ouDnProblem, parseDn } from '../../src/requests/dn';
import { aliasProblem, identityProblem, samAccountNameProblem, smtpAddressProblem, upnProblem } from '../../src/requests/syntax';
import { show, unusableCharacters } from '../../src/requests/text';

describe('syntax: Windows AD sAMAccountName', function () {
  it('allows at most 20 characters (Samba would take more)', function () {
    assert.equal(samAccountNameProblem('a'.repeat(20)), null);
    assert.match(samAccountNameProblem('a'.repeat(21)) ?? '', /21 characters long; Windows allows at most 20/);
  });
  it('refuses each of " / \\ [ ] : ; | = , + * ? < >', function () {
    for (const c of '"/\\[]:;|=,+*?<>') assert.match(samAccountNameProblem(`ab${c}cd`) ?? '', /Windows does not allow/, c);
  });
  it('refuses a trailing period and names of only periods and spaces', function () {
    assert.match(samAccountNameProblem('ada.') ?? '', /ends with a period/);
    assert.match(samAccountNameProblem('. . ') ?? '', /only of periods and spaces/);
    assert.equal(samAccountNameProblem('a.lovelace'), null);
  });
  it('uses the given limit for groups', function () {
    assert.equal(samAccountNameProblem('g'.repeat(64), 64), null);
    assert.match(samAccountNameProblem('g'.repeat(65), 64) ?? '', /at most 64/);
  });
});

describe('syntax: UPN', function () {
  it('accepts prefix@suffix with letters, digits and \' . - _ ! # ^ ~', function () {
    assert.equal(upnProblem("o'brien.x-y_z!#^~@contoso.example"), null);
  });
  it('refuses spaces, a missing or doubled @, long prefixes and bad periods', function () {
    assert.match(upnProblem('ada lovelace@contoso.example') ?? '', /space/);
    assert.match(upnProblem('ada') ?? '', /no @/);
    assert.match(upnProblem('a@b@contoso.example') ?? '', /more than one @/);
    assert.match(upnProblem(`${'a'.repeat(65)}@contoso.example`) ?? '', /65 characters before the @; at most 64/);
    assert.equal(upnProblem(`${'a'.repeat(64)}@contoso.example`), null);
    assert.match(upnProblem('.ada@contoso.example') ?? '', /period/);
    assert.match(upnProblem('ada..l@contoso.example') ?? '', /period/);
    assert.match(upnProblem('ada*@contoso.example') ?? '', /"\*"/);
    assert.match(upnProblem('ada@contoso') ?? '', /not a full domain name/);
  });
});

describe('syntax: Exchange alias', function () {
  it('accepts letters, digits and ! # $ % & \' * + - / = ? ^ _ ` { | } ~ with inner periods', function () {
    assert.equal(aliasProblem("a!#$%&'*+-/=?^_`{|}~.b"), null);
  });
  it('refuses spaces, other characters, bad periods and more than 64 characters', function () {
    assert.equal(aliasProblem('ada lovelace'), 'contains a space');
    assert.match(aliasProblem('adä') ?? '', /"ä"/);
    assert.match(aliasProblem('a(b)') ?? '', /"\("/);
    assert.match(aliasProblem('.ada') ?? '', /period/);
    assert.match(aliasProblem('ada.') ?? '', /period/);
    assert.match(aliasProblem('a..b') ?? '', /two periods/);
    assert.match(aliasProblem('a'.repeat(65)) ?? '', /at most 64/);
  });
});

describe('syntax: SMTP address', function () {
  it('accepts dot-atom local parts and domains with hyphens and IDN (xn--) labels', function () {
    for (const a of ['ada@contoso.example', "o'brien+tag@mail.contoso-sales.example", 'x@xn--bcher-kva.example', 'a.b.c@d.io']) assert.equal(smtpAddressProblem(a), null, a);
  });
  it('refuses what Exchange would refuse', function () {
    const bad = ['ada', '@contoso.example', 'ada@', 'a b@c.example', 'a@@c.example', '"a"@c.example', 'a@[10.0.0.1]', 'a@c', 'a@-c.example', 'a@c-.example', 'a@c..example',
      'a.@c.example', '.a@c.example', 'a..b@c.example', `${'a'.repeat(65)}@c.example`, 'a@c.ex_ample', 'ä@c.example', 'a@c.1', `a@${'b'.repeat(64)}.example`, '*)(cn=*@c.example'];
    for (const a of bad) assert.notEqual(smtpAddressProblem(a), null, a);
  });
  it('identity: an address or an alias', function () {
    assert.equal(identityProblem('ada.lovelace@contoso.example'), null);
    assert.equal(identityProblem('ada.lovelace'), null);
    assert.notEqual(identityProblem('Ada Lovelace'), null);
    assert.notEqual(identityProblem('*)(cn=*'), null);
  });
});

describe('text: characters that never reach AD, Exchange or a card', function () {
  it('finds control, invisible, bidi and broken characters', function () {
    assert.match(unusableCharacters('a\nb') ?? '', /control/);
    assert.match(unusableCharacters('a\u0000') ?? '', /control/);
    assert.match(unusableCharacters('a\u0085') ?? '', /control/);
    assert.match(unusableCharacters('evil\u202Egnp.exe') ?? '', /invisible or text-direction/);
    assert.match(unusableCharacters('a\u200Bb') ?? '', /invisible/);
    assert.match(unusableCharacters('a\uD800b') ?? '', /broken/);
    assert.equal(unusableCharacters('Zoë 🙂 Łukasz'), null);
  });
  it('shows typed values quoted, escaped and cut', function () {
    assert.equal(show('a\nb'), '"a\\nb"');
    assert.equal(show('x'.repeat(50)), `"${'x'.repeat(40)}…"`);
    assert.equal(show('a\uD800'), '"a\uFFFD"');
    assert.equal(show('🙂'), '"🙂"');
  });
});

describe('dn: building and checking distinguished names', function () {
  it('escapes RDN values (RFC 4514)', function () {
    assert.equal(escapeRdnValue('Lovelace, Ada'), 'Lovelace\\, Ada');
    assert.equal(escapeRdnValue('#1 "Team" <a+b>;c=d\\'), '\\#1 \\"Team\\" \\<a\\+b\\>\\;c\\=d\\\\');
    assert.equal(escapeRdnValue(' x '), '\\ x\\ ');
    assert.equal(escapeRdnValue('*)(cn=*'), '*)(cn\\=*');
    assert.equal(childDn('Team Sales', 'OU=Shared,DC=corp,DC=example'), 'CN=Team Sales,OU=Shared,DC=corp,DC=example');
  });
  it('parses escaped DNs back', function () {
    const dn = childDn('Lovelace, Ada #1', 'OU=Users,DC=corp,DC=example');
    assert.deepEqual(parseDn(dn)?.[0], { type: 'CN', value: 'Lovelace, Ada #1' });
    assert.deepEqual(parseDn('CN=x\\2Cy,DC=a')?.[0], { type: 'CN', value: 'x,y' });
  });
  it('checks configured OUs', function () {
    assert.equal(ouDnProblem('OU=Users,OU=Mailroom,DC=corp,DC=example'), null);
    assert.match(ouDnProblem('Users') ?? '', /not a distinguished name/);
    assert.match(ouDnProblem('OU=Users') ?? '', /no DC=/);
    assert.match(ouDnProblem('DC=corp,DC=example') ?? '', /domain root/);
    assert.match(ouDnProblem('OU=Users,,DC=x') ?? '', /not a distinguished name/);
  });
});
