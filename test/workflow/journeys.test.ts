import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startMailroom, Mailroom } from '../../src/app';
import { createCloudClients, CloudClients } from '../../src/cloud';
import { loadConfig } from '../../src/config/config';
import { DirectoryClient } from '../../src/directory';
import { silentLogger } from '../../src/log';
import { projectRoot } from '../../src/paths';
import type { Sandbox } from '../../src/sandbox';
import { sandboxOverrides } from '../../src/sandbox/overrides';
import { SANDBOX_TENANT_ID } from '../../src/sandbox/people';
import { Connector, RecordedCall, startConnector, TeamsClient, visibleText } from '../harness/connector';
import { ARNOLD, buttonData, cardOf, RITA, storedRequest } from '../harness/requests';
import { getSharedSandbox } from '../harness/sandbox';

describe('provisioning runs: approved requests are carried out in AD, Entra and Exchange Online', function () {
  this.timeout(120000);
  let sandbox: Sandbox;
  let connector: Connector;
  let app: Mailroom;
  let dataDir: string;
  let cloud: CloudClients;
  let directory: DirectoryClient;
  const suffix = Date.now().toString(36).slice(-5);

  before(async function () {
    sandbox = await getSharedSandbox();
    connector = await startConnector();
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'mailroom-runs-'));
    const config = loadConfig({ rootDir: projectRoot(), envName: 'sandbox', env: {}, overrides: { ...sandboxOverrides(sandbox.endpoints), PORT: '0', DATA_DIR: dataDir } });
    app = await startMailroom(config, silentLogger, { runner: { pollMs: 100, waitPollMs: 150, backoffBaseMs: 100, backoffCapMs: 1000 }, waitIntervalMs: 100 });
    for (const p of [RITA, ARNOLD]) await client(p).install();
    const e = sandbox.endpoints;
    cloud = createCloudClients(config.cloud!, config.extraCaFile);
    directory = new DirectoryClient({ url: e.ldap.url, bindDn: e.ldap.bindDn, password: e.ldap.password, caPem: readFileSync(e.ldap.caFile, 'utf8'), connectTimeoutMs: 5000, timeoutMs: 15000 });
  });
  after(async function () {
    await app?.stop();
    cloud?.close();
    await directory?.close();
    await connector?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const client = (p: typeof RITA) => new TeamsClient(app.url, connector.serviceUrl, p, SANDBOX_TENANT_ID);

  async function requestAndApprove(command: string, title: string): Promise<{ reference: string; status: RecordedCall }> {
    let since = connector.calls.length;
    await client(RITA).say(command);
    const status = await connector.waitFor((c) => c.conversationId === `a:personal-${RITA.id}` && new RegExp(`R-\\d+ · ${title}`).test(visibleText(c.body)), 15000, since);
    const reference = /(R-\d+)/.exec(visibleText(status.body))?.[1] ?? '';
    const approval = await connector.waitFor((c) => c.conversationId === `a:personal-${ARNOLD.id}` && visibleText(c.body).includes(`${reference} · ${title}`), 15000, since);
    since = connector.calls.length;
    const res = await client(ARNOLD).execute('request.approve', buttonData(cardOf(approval), 'Approve') ?? {});
    assert.equal(res.status, 200);
    return { reference, status };
  }

  async function untilDone(reference: string, timeoutMs = 60000): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const r = (await storedRequest(app.store, reference))?.record;
      if (r?.status === 'done') return;
      if (r?.status === 'failed') assert.fail(`${reference} failed: ${r.error ?? ''}`);
      if (Date.now() > end) assert.fail(`${reference} is still ${r?.status ?? '?'} after ${timeoutMs} ms`);
      await new Promise((res) => setTimeout(res, 200));
    }
  }

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

    const upn = ((await storedRequest(app.store, reference))!.record.request as { userPrincipalName: string }).userPrincipalName;
    const entra = await cloud.graph.user<{ assignedLicenses?: unknown[]; accountEnabled?: boolean }>(upn, ['assignedLicenses', 'accountEnabled']);
    assert.deepEqual(entra?.assignedLicenses, [], 'the licence was removed again');
    assert.equal(entra?.accountEnabled, false);

    const steps = await app.store.runs.listByRequest((await storedRequest(app.store, reference))!.record.id);
    assert.ok(steps.length >= 6 && steps.every((s) => s.status === 'done'), steps.map((s) => `${s.stepId}:${s.status}`).join(', '));
    const events = (await app.store.audit.list({ requestRef: reference, limit: 200 })).map((e) => e.event);
    assert.ok(events.includes('run.queued') && events.includes('operation.done') && events.includes('run.done'), events.join(','));
    assert.equal((await app.store.audit.verify()).ok, true);

    // the requester's status card was updated in place to Done, with every step ticked
    const put = await connector.waitFor((c) => c.method === 'PUT' && c.conversationId === status.conversationId && /Done at/.test(visibleText(c.body)), 15000);
    assert.match(visibleText(put.body), /✔ 1\./);
    await connector.waitFor((c) => c.conversationId === `a:personal-${RITA.id}` && new RegExp(`${reference} is done`).test(String(c.body.text)), 10000);
  });

  it('a user mailbox: enabled AD user, licence, mailbox; the password is revealed once to the requester', async function () {
    const { reference } = await requestAndApprove(`new mailbox first=Run last=User${suffix} department=Research`, 'User mailbox');
    await untilDone(reference);
    const record = (await storedRequest(app.store, reference))!.record;
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
    const events = (await app.store.audit.list({ requestRef: reference, limit: 200 })).map((e) => e.event);
    assert.ok(events.includes('secret.revealed'));
    for (const e of await app.store.audit.list({ requestRef: reference, limit: 200 })) assert.doesNotMatch(JSON.stringify(e.data), /Initial password/);
  });
});
