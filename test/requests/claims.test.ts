/**
 * What an open request holds (src/requests/claims.ts): for every kind that creates a recipient, the names a validated
 * request takes when it runs are exactly the ones validation asks about. Held by someone, they make the next request
 * of the same values pick other names (or be refused for an outside address, which cannot be renamed); change kinds
 * hold the address they add; kinds that create nothing hold nothing. A unit test of pure modules (the in-memory
 * lookup stands for AD and Exchange; the store's part is proven in test/store/request-names.test.ts and end to end in
 * test/workflow/open-request-names.test.ts).
 */
import assert from 'node:assert/strict';
import { nameKeys, namesTaken, parseCommand, validateRequest } from '../../src/requests';
import { FakeLookup, PROFILE, type FakeObject } from './fixtures';

async function validated(command: string, held: readonly FakeObject[] = []) {
  const parsed = parseCommand(command);
  assert.ok(parsed.ok, command);
  return { kind: parsed.kind, result: await validateRequest(parsed.kind, parsed.values, { lookup: new FakeLookup(held), profile: PROFILE }) };
}

/** A stand-in holder of every name in `keys` (as an open request holds them). */
function holderOf(keys: readonly string[]): FakeObject[] {
  return keys.map((k) => {
    const [kind, ...rest] = k.split(':');
    const v = rest.join(':');
    return { name: 'R-1', where: 'ad' as const, ...(kind === 'sam' ? { sam: v } : kind === 'upn' ? { upn: v } : kind === 'alias' ? { alias: v } : kind === 'dn' ? { dn: v } : { addresses: [v] }) };
  });
}

describe('names an open request holds', function () {
  for (const command of [
    'new mailbox first=Maria last=Garcia department=Research',
    'new shared mailbox name="Team Sales"',
    'new room mailbox name="Board Room" capacity=12',
    'new equipment name="Pool Car 1"',
    'new group name="Sales Team" scope=universal security=yes',
  ]) {
    it(`${command.replace(/ \w+=.*/, '')}: every name it takes, held, makes the same request pick others`, async function () {
      const first = await validated(command);
      assert.ok(first.result.ok, JSON.stringify(first.result));
      const keys = nameKeys(namesTaken(first.result.request, PROFILE));
      for (const prefix of ['alias:', 'sam:', 'address:', 'dn:']) assert.ok(keys.some((k) => k.startsWith(prefix)), `holds a ${prefix} name: ${keys.join(', ')}`);
      const second = await validated(command, holderOf(keys));
      assert.ok(second.result.ok, JSON.stringify(second.result));
      const again = nameKeys(namesTaken(second.result.request, PROFILE));
      assert.deepEqual(again.filter((k) => keys.includes(k)), [], `no name of the first one: ${again.join(', ')}`);
    });
  }

  for (const command of ['new mail user first=Ada last=Partner email=ada@partner.example', 'new contact name="Ada Partner" email=ada@partner.example']) {
    it(`${command.replace(/ \w+=.*/, '')}: holds its outside address too, so a second one for it is refused`, async function () {
      const first = await validated(command);
      assert.ok(first.result.ok, JSON.stringify(first.result));
      const keys = nameKeys(namesTaken(first.result.request, PROFILE));
      assert.ok(keys.includes('address:ada@partner.example'), keys.join(', '));
      const second = await validated(command, holderOf(keys));
      assert.equal(second.result.ok, false);
      assert.match(JSON.stringify(second.result), /ada@partner\.example.{0,40}already used/);
    });
  }

  it('change kinds hold the address they add; kinds that create nothing hold nothing; keys are lower-cased, each once, empty ones left out', function () {
    const target = { name: 'Ada', type: 'UserMailbox', primarySmtpAddress: 'ada@contoso.example', isDirSynced: true, isExchangeCloudManaged: false, alias: 'ada' } as never;
    assert.deepEqual(nameKeys(namesTaken({ kind: 'primary-address', target, newAddress: 'Ada.L@Contoso.example' }, PROFILE)), ['address:ada.l@contoso.example']);
    assert.deepEqual(nameKeys(namesTaken({ kind: 'secondary-address-add', target, address: 'al@contoso.example' }, PROFILE)), ['address:al@contoso.example']);
    assert.deepEqual(nameKeys(namesTaken({ kind: 'secondary-address-remove', target, address: 'al@contoso.example' }, PROFILE)), []);
    assert.deepEqual(nameKeys(namesTaken({ kind: 'cloud-managed', target, enabled: true } as never, PROFILE)), []);
    assert.deepEqual(nameKeys({ samAccountName: 'MGarcia', address: 'A@x.example', addresses: ['a@X.example', ' '], alias: '' }), ['sam:mgarcia', 'address:a@x.example']);
  });
});
