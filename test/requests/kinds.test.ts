import assert from 'node:assert/strict';
import { keysOf } from '../../src/requests/command-line';
import { COUNTRY_CODES } from '../../src/requests/countries';
import { KIND_IDS, KINDS, fieldIds, pickFieldValues } from '../../src/requests/kinds';

describe('kinds: the field schema', function () {
  it('has the stable ids', function () {
    assert.deepEqual([...KIND_IDS], [
      'user-mailbox', 'shared-mailbox', 'room-mailbox', 'equipment-mailbox', 'mail-user', 'mail-contact', 'distribution-group',
      'primary-address', 'secondary-address-add', 'secondary-address-remove', 'cloud-managed', 'mailbox-type', 'offboarding',
      'mailbox-permission-grant', 'mailbox-permission-revoke', 'group-member-add', 'group-member-remove',
      'address-list-visibility', 'forwarding-set', 'forwarding-off', 'booking', 'auto-reply',
    ]);
    for (const id of KIND_IDS) assert.equal(KINDS[id].id, id);
  });

  it('defines every field once per kind, with unique command keys', function () {
    for (const id of KIND_IDS) {
      const def = KINDS[id];
      assert.ok(def.title && def.description, id);
      const ids = def.fields.map((f) => f.id);
      assert.equal(new Set(ids).size, ids.length, `${id}: duplicate field id`);
      const keys = def.fields.flatMap(keysOf);
      assert.equal(new Set(keys).size, keys.length, `${id}: a command key names two fields: ${keys.join(' ')}`);
      for (const f of def.fields) {
        assert.ok(f.label, `${id}.${f.id} label`);
        assert.ok(f.keys.length > 0 && f.keys.every((k) => k === k.toLowerCase() && /^[a-z][a-z0-9-]*$/.test(k)), `${id}.${f.id} keys`);
        if (f.type === 'choice') assert.ok((f.choices ?? []).length > 0, `${id}.${f.id} choices`);
        if (f.type === 'toggle') assert.ok(f.default === 'true' || f.default === 'false', `${id}.${f.id} default`);
        if (f.type === 'text' || f.type === 'email') assert.ok((f.maxLength ?? 0) > 0, `${id}.${f.id} maxLength`);
        if (f.default !== undefined && f.type === 'choice') assert.ok(f.choices?.some((c) => c.value === f.default), `${id}.${f.id} default is a choice`);
      }
      for (const slot of def.command.positional) if ('field' in slot) assert.ok(ids.includes(slot.field), `${id}: positional ${slot.field}`);
    }
  });

  it('gives every command phrase to exactly one kind', function () {
    const phrases = KIND_IDS.flatMap((id) => KINDS[id].command.phrases);
    assert.equal(new Set(phrases).size, phrases.length);
  });

  it('offers all 249 ISO 3166-1 countries as usage locations', function () {
    assert.equal(COUNTRY_CODES.length, 249);
    const usage = KINDS['user-mailbox'].fields.find((f) => f.id === 'usageLocation');
    assert.equal(usage?.required, true);
    assert.equal(usage?.choices?.length, 249);
    assert.deepEqual(usage?.choices?.find((c) => c.value === 'DE'), { value: 'DE', title: 'Germany (DE)' });
  });

  it('offboarding flags default to on, and full access goes to the manager', function () {
    const f = KINDS.offboarding.fields.filter((x) => x.type === 'toggle');
    assert.deepEqual(f.map((x) => [x.id, x.default]), [
      ['disableAccount', 'true'], ['revokeSessions', 'true'], ['convertToShared', 'true'], ['removeFromGroups', 'true'], ['hideFromAddressLists', 'true'], ['removeLicence', 'true'],
    ]);
    assert.equal(KINDS.offboarding.fields.find((x) => x.id === 'fullAccessFor')?.default, 'manager');
  });

  it('picks the form values out of submitted card data', function () {
    assert.deepEqual(fieldIds('cloud-managed'), ['identity', 'state']);
    assert.deepEqual(pickFieldValues('cloud-managed', { verb: 'submit', identity: 'a@b.example', state: 'on', requestId: '1' }), { identity: 'a@b.example', state: 'on' });
  });
});
