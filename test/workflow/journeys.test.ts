import assert from 'node:assert/strict';
import type { CloudClients } from '../../src/cloud';
import type { DirectoryClient } from '../../src/directory';
import { visibleText, type Person } from '../harness/connector';
import { TestMailroom } from '../harness/mailroom';
import { ARNOLD, RITA, storedRequest } from '../harness/requests';
import { getSharedSandbox } from '../harness/sandbox';

describe('provisioning runs: approved requests are carried out in AD, Entra and Exchange Online', function () {
  this.timeout(120000);
  let m: TestMailroom;
  let cloud: CloudClients;
  let directory: DirectoryClient;
  const suffix = Date.now().toString(36).slice(-5);

  before(async function () {
    m = await TestMailroom.start({ sandbox: await getSharedSandbox(), name: 'runs' });
    cloud = m.cloud;
    directory = m.directory;
  });
  after(async function () {
    await m?.close();
  });

  const requestAndApprove = (command: string, title: string) => m.requestAndApprove(command, title);
  const untilDone = (reference: string) => m.untilDone(reference);
  const client = (p: Person) => m.chat(p).client;

  it('a shared mailbox: disabled AD user with mail, licence, Shared, licence removed; the status card shows Done', async function () {
    const alias = `run-shared-${suffix}`;
    const { reference, status } = await requestAndApprove(`new shared mailbox name="Run Shared ${suffix}" alias=${alias}`, 'Shared mailbox');
    await untilDone(reference);

    const ad = await directory.findByIdentity(alias);
    assert.ok(ad, 'the AD user exists');
    assert.equal(ad.enabled, false, 'a shared mailbox account is disabled');
    assert.equal(ad.mail, `${alias}@contoso.example`);
    assert.equal(ad.mailNickname, alias);

    const mbx = (await cloud.exo.invoke<{ RecipientTypeDetails: string; PrimarySmtpAddress: string }>('Get-Mailbox', { Identity: `${alias}@contoso.example` })).value[0];
    assert.equal(mbx?.RecipientTypeDetails, 'SharedMailbox');
    assert.equal(mbx?.PrimarySmtpAddress, `${alias}@contoso.example`);

    const upn = ((await storedRequest(m.app.store, reference))!.record.request as { userPrincipalName: string }).userPrincipalName;
    const entra = await cloud.graph.user<{ assignedLicenses?: unknown[]; accountEnabled?: boolean }>(upn, ['assignedLicenses', 'accountEnabled']);
    assert.deepEqual(entra?.assignedLicenses, [], 'the licence was removed again');
    assert.equal(entra?.accountEnabled, false);

    const steps = await m.app.store.runs.listByRequest((await storedRequest(m.app.store, reference))!.record.id);
    assert.ok(steps.length >= 6 && steps.every((s) => s.status === 'done'), steps.map((s) => `${s.stepId}:${s.status}`).join(', '));
    const events = (await m.app.store.audit.list({ requestRef: reference, limit: 200 })).map((e) => e.event);
    assert.ok(events.includes('run.queued') && events.includes('operation.done') && events.includes('run.done'), events.join(','));
    assert.equal((await m.app.store.audit.verify()).ok, true);

    // the requester's status card was updated in place to Done, with every step ticked
    const put = await m.connector.waitFor((c) => c.method === 'PUT' && c.conversationId === status.conversationId && /Done at/.test(visibleText(c.body)), 15000);
    assert.match(visibleText(put.body), /✔ 1\./);
    await m.connector.waitFor((c) => c.conversationId === `a:personal-${RITA.id}` && new RegExp(`${reference} is done`).test(String(c.body.text)), 10000);
  });

  it('a user mailbox: enabled AD user, licence, mailbox; the password is revealed once to the requester', async function () {
    const { reference } = await requestAndApprove(`new mailbox first=Run last=User${suffix} department=Research`, 'User mailbox');
    await untilDone(reference);
    const record = (await storedRequest(m.app.store, reference))!.record;
    const req = record.request as { userPrincipalName?: string; alias?: string };
    const ad = await directory.findByIdentity(req.userPrincipalName ?? '');
    assert.ok(ad?.enabled, 'the account is enabled');
    const mbx = (await cloud.exo.invoke<{ RecipientTypeDetails: string }>('Get-Mailbox', { Identity: req.userPrincipalName ?? '' })).value[0];
    assert.equal(mbx?.RecipientTypeDetails, 'UserMailbox');

    const first = await client(RITA).execute('request.reveal', { reference });
    assert.match(JSON.stringify(first.body), /Initial password \(shown once/);
    const again = await client(RITA).execute('request.reveal', { reference });
    assert.match(JSON.stringify(again.body), /revealed already/);
    const stranger = await client(ARNOLD).execute('request.reveal', { reference });
    assert.match(JSON.stringify(stranger.body), /Only the requester can reveal/);
    const events = (await m.app.store.audit.list({ requestRef: reference, limit: 200 })).map((e) => e.event);
    assert.ok(events.includes('secret.revealed'));
    for (const e of await m.app.store.audit.list({ requestRef: reference, limit: 200 })) assert.doesNotMatch(JSON.stringify(e.data), /Initial password/);
  });
});
