import assert from 'node:assert/strict';
import { GroupMembership, RoleResolver } from '../../src/bot/roles';
import { editDistance, suggest } from '../../src/bot/commands/catalogue';

const U1 = '11111111-1111-4111-8111-111111111111';
const U2 = '22222222-2222-4222-8222-222222222222';
const G1 = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';

describe('roles', function () {
  it('come from user ids and from Entra group membership', async function () {
    const asked: string[][] = [];
    const groups: GroupMembership = {
      memberGroups: (user, ids) => {
        asked.push([user, ...ids]);
        return Promise.resolve(user === U2 ? [G1.toUpperCase()] : []);
      },
    };
    const r = new RoleResolver({ requesters: [{ kind: 'anyone' }], approvers: [{ kind: 'group', id: G1 }], admins: [{ kind: 'user', id: U1 }] }, groups);
    assert.deepEqual(await r.rolesOf(U1.toUpperCase()), ['requester', 'admin']);
    assert.deepEqual(await r.rolesOf(U2), ['requester', 'approver']);
    assert.deepEqual(asked, [[U1, G1], [U2, G1]]);
  });

  it('are cached for a while, then asked again', async function () {
    let now = 0;
    let calls = 0;
    const groups: GroupMembership = { memberGroups: () => (calls++, Promise.resolve([G1])) };
    const r = new RoleResolver({ requesters: [], approvers: [{ kind: 'group', id: G1 }], admins: [] }, groups, 1000, () => now);
    await r.rolesOf(U1);
    await r.rolesOf(U1);
    assert.equal(calls, 1);
    now = 1001;
    await r.rolesOf(U1);
    assert.equal(calls, 2);
  });

  it('without a membership source, group entries match nobody', async function () {
    const r = new RoleResolver({ requesters: [], approvers: [{ kind: 'group', id: G1 }], admins: [] }, undefined);
    assert.deepEqual(await r.rolesOf(U1), []);
    assert.deepEqual(r.configuredGroupIds(), [G1]);
  });
});

describe('command suggestions', function () {
  const cmds = [
    { name: 'help', usage: 'help', description: '', roles: 'anyone' as const },
    { name: 'whoami', usage: 'whoami', description: '', roles: 'anyone' as const },
    { name: 'my requests', usage: 'my requests', description: '', roles: 'anyone' as const },
  ];
  it('count a swap of neighbours as one edit', function () {
    assert.equal(editDistance('hlep', 'help'), 1);
    assert.equal(editDistance('', 'abc'), 3);
    assert.equal(editDistance('kitten', 'sitting'), 3);
  });
  it('suggest the closest command and nothing for unrelated text', function () {
    assert.equal(suggest('hlep', cmds)?.name, 'help');
    assert.equal(suggest('whoamii', cmds)?.name, 'whoami');
    assert.equal(suggest('my reqests please', cmds)?.name, 'my requests');
    assert.equal(suggest('create a mailbox for Ada', cmds), undefined);
  });
});
