/**
 * The Exchange Online permission and member executors on their own, against the sandbox: they look first, so a
 * permission (or membership) already as asked is `changed: false` — before the request, or made by an earlier try
 * that recorded its intent and crashed (`changedByEarlierTry`) — and a user Exchange does not know fails with a
 * message that says what and that nothing was changed.
 */
import assert from 'node:assert/strict';
import { createCloudClients, type CloudClients } from '../../src/cloud';
import { silentLogger } from '../../src/log';
import type { GroupMemberInput, MailboxPermissionInput } from '../../src/plans';
import { SANDBOX_MAIL_DOMAIN } from '../../src/sandbox/people';
import { cloudExecutors } from '../../src/workflow/executors';
import { StepError, type StepContext, type StepExecutor, type StepOutcome, type StepResult } from '../../src/workflow/executors/types';
import { ConformanceSuite } from '../harness/conformance';
import { getSharedSandbox } from '../harness/sandbox';

const suffix = Date.now().toString(36).slice(-5);
const D = SANDBOX_MAIL_DOMAIN;
const BOX = { name: `xbox${suffix}`, mail: `xbox.${suffix}@${D}` };
const ZOE = { name: `xzoe${suffix}`, mail: `xzoe.${suffix}@${D}`, upn: `xzoe${suffix}@${D}` };
const GROUP = `xgrp${suffix}`;

const ctx = (intent?: StepResult): StepContext => ({
  reference: 'R-1', requestId: 1, stepId: 'exo.grant', attempt: 1, now: new Date(), log: silentLogger, results: {}, ...(intent ? { intent } : {}),
});

describe('Exchange Online permission and member executors against the sandbox: look first, read back, say what failed', function () {
  this.timeout(60_000);
  let suite: ConformanceSuite;
  let clients: CloudClients;
  let x: Map<string, StepExecutor>;

  before(async function () {
    const sandbox = await getSharedSandbox();
    suite = await ConformanceSuite.open(sandbox, `xperm${suffix}`);
    const e = sandbox.endpoints;
    clients = createCloudClients(
      { credentialType: 'ClientCredentials', tenantId: e.tenantId, authorityHost: e.authorityHost, clientId: e.clientId, clientSecret: e.clientSecret, clientCertificatePath: undefined, graphUrl: e.graphUrl, exoUrl: e.exoUrl },
      e.caFile,
    );
    x = new Map(cloudExecutors({ graph: clients.graph, exo: clients.exo, sync: {}, readBack: { reads: 2, pauseMs: 10, attempts: 3, retryAfterMs: 1000 } }).map((s) => [s.action, s]));
    for (const p of [BOX, ZOE]) await suite.addUser(p.name, { mail: p.mail, mailNickname: p.name, proxyAddresses: [`SMTP:${p.mail}`] });
    await suite.sync();
    for (const p of [BOX, ZOE]) await suite.licence(suite.upn(p.name));
    await clients.exo.invoke('New-DistributionGroup', { Name: GROUP, Alias: GROUP, PrimarySmtpAddress: `${GROUP}@${D}` });
  });

  after(async function () {
    await clients?.exo.invoke('Remove-DistributionGroup', { Identity: `${GROUP}@${D}`, BypassSecurityGroupManagerCheck: true }).catch(() => undefined);
    clients?.close();
    await suite?.close();
  });

  const permission = (over: Partial<MailboxPermissionInput> = {}): MailboxPermissionInput => ({
    identity: BOX.mail, mailboxName: BOX.name, permission: 'FullAccess', user: ZOE.mail, userName: ZOE.name, autoMapping: false, ...over,
  });
  const step = (action: string, input: unknown, c: StepContext = ctx()): Promise<StepOutcome> => x.get(action)!.run(input as never, c);
  const result = (o: StepOutcome): StepResult => (o.kind === 'done' ? (o.result ?? {}) : {});

  for (const p of ['FullAccess', 'SendAs', 'SendOnBehalf'] as const) {
    it(`${p}: grant changes it once; again it finds it held (changed: false); an earlier try's intent makes that its own change; revoke takes it away`, async function () {
      if (p === 'SendOnBehalf') await clients.exo.invoke('Set-Mailbox', { Identity: BOX.mail, IsExchangeCloudManaged: true });
      const first = await step('exo.grantMailboxPermission', permission({ permission: p }));
      assert.deepEqual([first.kind === 'done' && first.changed, result(first).hadBefore], [true, false]);
      const again = await step('exo.grantMailboxPermission', permission({ permission: p }));
      assert.deepEqual([again.kind === 'done' && again.changed, result(again).hadBefore, result(again).changedByEarlierTry], [false, true, undefined]);
      const afterCrash = await step('exo.grantMailboxPermission', permission({ permission: p }), ctx({ about: 'grant' }));
      assert.deepEqual([afterCrash.kind === 'done' && afterCrash.changed, result(afterCrash).changedByEarlierTry], [false, true]);
      const revoke = await step('exo.revokeMailboxPermission', permission({ permission: p }));
      assert.equal(revoke.kind === 'done' && revoke.changed, true);
      const revokeAgain = await step('exo.revokeMailboxPermission', permission({ permission: p }));
      assert.deepEqual([revokeAgain.kind === 'done' && revokeAgain.changed, result(revokeAgain).hadBefore], [false, false]);
    });
  }

  it('a user Exchange Online does not know: a permanent error that names the user and says nothing was changed', async function () {
    await assert.rejects(step('exo.grantMailboxPermission', permission({ user: `gone${suffix}@${D}`, userName: 'Gone User' })), (err: unknown) => {
      assert.ok(err instanceof StepError && !err.transient);
      assert.match(err.message, /Exchange Online has no recipient Gone User .*The permissions were not changed/);
      return true;
    });
  });

  it('members of a cloud-only group: added once, then found (changed: false), removed', async function () {
    const input: GroupMemberInput = { identity: `${GROUP}@${D}`, groupName: GROUP, member: ZOE.mail, memberName: ZOE.name };
    const add = await step('exo.addGroupMember', input);
    assert.equal(add.kind === 'done' && add.changed, true);
    const again = await step('exo.addGroupMember', input);
    assert.deepEqual([again.kind === 'done' && again.changed, result(again).hadBefore], [false, true]);
    const members = (await clients.exo.invoke<{ PrimarySmtpAddress: string }>('Get-DistributionGroupMember', { Identity: `${GROUP}@${D}` })).value.map((r) => r.PrimarySmtpAddress.toLowerCase());
    assert.deepEqual(members, [ZOE.mail.toLowerCase()]);
    const remove = await step('exo.removeGroupMember', input);
    assert.equal(remove.kind === 'done' && remove.changed, true);
    assert.deepEqual((await clients.exo.invoke('Get-DistributionGroupMember', { Identity: `${GROUP}@${D}` })).value, []);
  });
});
