import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import {
  characterClasses,
  containsAccountName,
  DEFAULT_GENERATED_LENGTH,
  DirectoryClient,
  generatePassword,
  nameTokens,
  Secret,
  type PasswordPolicy,
} from '../../src/directory';
import type { DomainController } from '../../src/sandbox/samba';
import { createTestOu, getSharedDc, openLdapClient, type TestOu } from '../harness/samba';
import { newClient, uniqueName } from './fixture';

const POLICY: PasswordPolicy = { minLength: 7, complexity: true, historyLength: 24, psoCount: 0 };

describe('directory: generated passwords', function () {
  it("meet Windows' complexity rules: 4 classes, policy length, no part of the account's names", function () {
    const names = ['ada.lovelace', 'Ada King-Noel, Countess of Lovelace', 'Ada', 'Lovelace'];
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i += 1) {
      const p = generatePassword(POLICY, { accountNames: names }).reveal();
      assert.equal(p.length, DEFAULT_GENERATED_LENGTH);
      assert.equal(characterClasses(p), 4, p);
      assert.ok(!containsAccountName(p, names), p);
      seen.add(p);
    }
    assert.equal(seen.size, 5000);
    assert.equal(generatePassword({ ...POLICY, minLength: 32 }).reveal().length, 32);
    assert.equal(generatePassword(POLICY, { length: 8 }).reveal().length, 8);
    assert.equal(generatePassword({ ...POLICY, minLength: 12 }, { length: 8 }).reveal().length, 12);
  });

  it('split names as Windows does (parts of 3+ characters; the whole name too)', function () {
    assert.deepEqual(nameTokens(['Ada King-Noel, Countess of Lovelace']).sort(), ['ada', 'ada king-noel, countess of lovelace', 'countess', 'king', 'lovelace', 'noel'].sort());
    assert.ok(containsAccountName('xxLOVELACExx', ['Ada Lovelace']));
    assert.ok(!containsAccountName('xxOFxx', ['Countess of Lovelace']));
    assert.ok(containsAccountName('a-ada.l', ['ada.l']));
  });

  it('come back as a Secret that prints as [redacted]', function () {
    const s = generatePassword(POLICY);
    const clear = s.reveal();
    for (const printed of [String(s), `${s.toString()}`, JSON.stringify({ s }), inspect(s), inspect({ nested: { s } }, { depth: 5 })]) {
      assert.ok(!printed.includes(clear), printed);
      assert.match(printed, /\[redacted\]/);
    }
    assert.equal(new Secret('abc').length, 3);
  });

  describe('against Samba AD', function () {
    let dc: DomainController;
    let ou: TestOu;
    let client: DirectoryClient;

    before(async function () {
      this.timeout(15 * 60_000);
      dc = await getSharedDc();
      ou = await createTestOu(dc, 'directory-passwords');
      client = newClient(dc);
    });

    after(async function () {
      await client?.close();
      await ou?.cleanup();
    });

    it("are accepted by the domain's policy 200 times in a row, and the user can sign in with the last", async function () {
      this.timeout(120_000);
      const sam = uniqueName('gen');
      const upn = `${sam}@corp.example.test`;
      const account = { samAccountName: sam, displayName: `Generated Password ${sam}`, givenName: 'Generated', sn: 'Password' };
      const first = await client.generatePassword(account);
      const user = await client.createUser({ parentDn: ou.dn, cn: sam, samAccountName: sam, userPrincipalName: upn, attributes: { displayName: account.displayName, givenName: 'Generated', sn: 'Password' }, enabled: true, password: first });
      let last = first;
      const t0 = Date.now();
      for (let i = 0; i < 200; i += 1) {
        last = await client.generatePassword(account);
        await client.setPassword(user.dn, last);
      }
      const ms = Date.now() - t0;
      this.test!.title += ` (${ms} ms)`;
      const asUser = await openLdapClient(dc, { bindDn: upn, password: last.reveal() });
      await asUser.unbind();
    });
  });
});
