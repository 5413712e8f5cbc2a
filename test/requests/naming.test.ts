import assert from 'node:assert/strict';
import { applyTemplate, deriveFree, MAX_SUFFIX, templateProblem, withSuffix } from '../../src/requests/naming';
import { nameToken, transliterate } from '../../src/requests/transliterate';
import { FakeLookup } from './fixtures';

describe('naming: transliteration', function () {
  it('writes German umlauts and ß as two letters, strips other accents', function () {
    assert.equal(nameToken('Jürgen Müller-Lüdenscheidt'), 'juergenmueller-luedenscheidt');
    assert.equal(nameToken('Straße'), 'strasse');
    assert.equal(nameToken('ÄÖÜ'), 'aeoeue');
    assert.equal(nameToken('Zoë Saldaña'), 'zoesaldana');
    assert.equal(nameToken('François Côté'), 'francoiscote');
    assert.equal(nameToken('Łukasz Øster Ægir Þór'), 'lukaszosteraegirthor');
  });
  it('handles decomposed input like composed input', function () {
    assert.equal(nameToken('Mu\u0308ller'), 'mueller');
  });
  it('removes apostrophes and spaces, keeps hyphens, drops what has no Latin form', function () {
    assert.equal(nameToken("O'Brien"), 'obrien');
    assert.equal(nameToken('D’Angelo'), 'dangelo');
    assert.equal(nameToken('Mary Ann'), 'maryann');
    assert.equal(nameToken('李小龍'), '');
    assert.equal(nameToken('*)(cn=*'), 'cn');
    assert.equal(transliterate('Ärger'), 'aerger');
  });
});

describe('naming: templates', function () {
  const ada = { first: 'Ada', last: 'Lovelace' };
  it('applies {first}.{last}, {f}{last}, {first}{l}', function () {
    assert.equal(applyTemplate('{first}.{last}', ada), 'ada.lovelace');
    assert.equal(applyTemplate('{f}{last}', ada), 'alovelace');
    assert.equal(applyTemplate('{first}{l}', ada), 'adal');
    assert.equal(applyTemplate('ext-{first}.{last}', ada), 'ext-ada.lovelace');
    assert.equal(applyTemplate('{name}', { name: 'Team Sales' }), 'teamsales');
  });
  it('leaves no dangling periods when a name has no Latin letters', function () {
    assert.equal(applyTemplate('{first}.{last}', { first: '李', last: 'Lovelace' }), 'lovelace');
    assert.equal(applyTemplate('{first}.{last}', { first: '李', last: '王' }), '');
  });
  it('are checked for known tokens and safe literal text', function () {
    assert.equal(templateProblem('{first}.{last}', false), null);
    assert.equal(templateProblem('{name}', true), null);
    assert.match(templateProblem('{given}.{last}', false) ?? '', /\{given\}/);
    assert.match(templateProblem('{name}', false) ?? '', /\{name\}/);
    assert.match(templateProblem('plain', false) ?? '', /no \{token\}/);
    assert.match(templateProblem('{first} {last}', false) ?? '', /outside the tokens/);
  });
});

describe('naming: limits and collision numbers', function () {
  it('cuts to the limit and keeps the number within it', function () {
    assert.equal(withSuffix('averyveryverylongname', 1, 20), 'averyveryverylongnam');
    assert.equal(withSuffix('averyveryverylongname', 2, 20), 'averyveryverylongna2');
    assert.equal(withSuffix('averyveryverylongname', 10, 20), 'averyveryverylongn10');
    assert.equal(withSuffix('ada.lovelace', 2, 64), 'ada.lovelace2');
  });
  it('never ends with a period left by the cut (sAMAccountName and alias may not end with one)', function () {
    assert.equal(withSuffix('abcdefghijklmnopqrs.tuv', 1, 20), 'abcdefghijklmnopqrs');
    assert.equal(withSuffix('abcdefghijklmnopqr.tuv', 2, 20), 'abcdefghijklmnopqr2');
    assert.equal(withSuffix('_', 1, 20), '_');
    assert.equal(withSuffix('-', 2, 20), '-2');
    assert.equal(withSuffix('...', 1, 20), '');
  });
  it('picks the smallest number for which every derived value is free, the same for all', async function () {
    const lookup = new FakeLookup([
      { name: 'Ada One', where: 'ad', alias: 'ada.lovelace', sam: 'alovelace' },
      { name: 'Ada Two', where: 'exo', addresses: ['ada.lovelace2@contoso.example'] },
    ]);
    const r = await deriveFree(lookup, [
      { slot: 'alias', base: 'ada.lovelace', limit: 64 },
      { slot: 'samAccountName', base: 'alovelace', limit: 20 },
      { slot: 'emailAddress', base: 'ada.lovelace', limit: 64, domain: 'contoso.example' },
    ]);
    assert.deepEqual(r, { ok: true, suffix: 3, values: { alias: 'ada.lovelace3', samAccountName: 'alovelace3', emailAddress: 'ada.lovelace3@contoso.example' } });
  });
  it('gives up after the last number', async function () {
    const taken = Array.from({ length: MAX_SUFFIX }, (_, i) => ({ name: `x${i}`, where: 'ad' as const, alias: i === 0 ? 'x' : `x${i + 1}` }));
    const r = await deriveFree(new FakeLookup(taken), [{ slot: 'alias', base: 'x', limit: 64 }]);
    assert.deepEqual(r, { ok: false, slot: 'alias', tried: `x${MAX_SUFFIX}` });
  });
  it('checks a derived UPN against addresses too (Entra keeps them unique together)', async function () {
    const lookup = new FakeLookup([{ name: 'Someone', where: 'exo', addresses: ['ada.lovelace@contoso.example'] }]);
    const r = await deriveFree(lookup, [{ slot: 'userPrincipalName', base: 'ada.lovelace', limit: 64, domain: 'contoso.example' }]);
    assert.deepEqual(r, { ok: true, suffix: 2, values: { userPrincipalName: 'ada.lovelace2@contoso.example' } });
  });
});
