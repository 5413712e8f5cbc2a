import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startMailroom, Mailroom } from '../../src/app';
import { loadConfig } from '../../src/config/config';
import { silentLogger } from '../../src/log';
import { projectRoot } from '../../src/paths';
import { SANDBOX_TENANT_ID } from '../../src/sandbox/people';
import { sandboxOverrides } from '../../src/sandbox/overrides';
import type { Sandbox } from '../../src/sandbox';
import { Connector, startConnector, TeamsClient, visibleText } from '../harness/connector';
import { ADA, ARNOLD, buttonData, cardOf, cardText, invokeCard, RITA, storedRequest } from '../harness/requests';
import { createSandboxOu, getSharedSandbox, openSandboxLdap } from '../harness/sandbox';

describe('requests and approvals over HTTP against the sandbox', function () {
  this.timeout(120000);
  let sandbox: Sandbox;
  let connector: Connector;
  let app: Mailroom;
  let dataDir: string;
  const suffix = Date.now().toString(36).slice(-5);

  before(async function () {
    sandbox = await getSharedSandbox();
    connector = await startConnector();
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'mailroom-requests-'));
    const config = loadConfig({
      rootDir: projectRoot(),
      envName: 'sandbox',
      env: {},
      overrides: { ...sandboxOverrides(sandbox.endpoints), PORT: '0', DATA_DIR: dataDir },
    });
    app = await startMailroom(config, silentLogger, { runRequests: false }); // approvals only: the runs are proven in test/workflow
    for (const p of [RITA, ARNOLD, ADA]) await client(p).install();
  });

  after(async function () {
    await app?.stop();
    await connector?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const client = (p: typeof RITA, tenant = SANDBOX_TENANT_ID) => new TeamsClient(app.url, connector.serviceUrl, p, tenant);

  async function fileSharedMailbox(name: string, alias: string) {
    const since = connector.calls.length;
    await client(RITA).say(`new shared mailbox name="${name}" alias=${alias}`);
    const status = await connector.waitFor((c) => c.conversationId === `a:personal-${RITA.id}` && /R-\d+ · Shared mailbox/.test(visibleText(c.body)), 15000, since);
    const reference = /(R-\d+)/.exec(visibleText(status.body))?.[1] ?? '';
    const approval = await connector.waitFor((c) => c.conversationId === `a:personal-${ARNOLD.id}` && visibleText(c.body).includes(`${reference} · Shared mailbox`), 15000, since);
    return { reference, status, approval };
  }

  it('files a shared mailbox in one line; the approver gets the plan proactively and approves; every card says so', async function () {
    const { reference, status, approval } = await fileSharedMailbox(`Team Sales ${suffix}`, `sales-${suffix}`);
    assert.match(reference, /^R-\d+$/);
    assert.match(visibleText(status.body), /Waiting for approval/);
    const plan = visibleText(approval.body);
    assert.match(plan, /Requested by Rita Requester/);
    assert.match(plan, /disabled/i, 'the plan says the AD account is created disabled');
    assert.match(plan, /Shared/);
    assert.match(plan, /licen[cs]e/i);

    const data = buttonData(cardOf(approval), 'Approve');
    assert.ok(data, 'the approval card has an Approve button');
    const since = connector.calls.length;
    // pressed on the card as Teams sends it: replyToId is the message that holds the card
    const updated = invokeCard(await client(ARNOLD).execute('request.approve', data, approval.activityId));
    assert.match(cardText(updated), /Approved by Arnold Approver at/);
    assert.equal(buttonData(updated, 'Approve'), undefined, 'no buttons once decided');

    const put = await connector.waitFor((c) => c.method === 'PUT' && c.conversationId === `a:personal-${RITA.id}`, 10000, since);
    assert.match(visibleText(put.body), /Approved by Arnold Approver/);
    const told = await connector.waitFor((c) => c.method === 'POST' && c.conversationId === `a:personal-${RITA.id}` && /was approved by Arnold Approver/.test(String(c.body.text)), 10000, since);
    assert.ok(told);
    // Teams shows the invoke's answer in the pressed card's place (a personal chat: only Arnold sees it): the same card
    // is not sent again as an update of that message
    const sameAgain = connector.calls.slice(since).filter((c) => c.method === 'PUT' && c.activityId === approval.activityId && visibleText(c.body) === cardText(updated));
    assert.deepEqual(sameAgain, [], "the approver's pressed card was updated again with what the invoke answered");

    // a second (replayed) click on the old card is refused, says who decided, and changes nothing
    const replay = invokeCard(await client(ARNOLD).execute('request.approve', data));
    assert.match(cardText(replay), /already approved by Arnold Approver/);
    const found = await storedRequest(app.store, reference);
    assert.equal(found?.record.status, 'approved');
    assert.equal(found?.decisions.length, 1);
  });

  it('refuses the requester approving her own request, a stranger tenant and a tampered id — audited, nothing changed', async function () {
    const { reference, approval } = await fileSharedMailbox(`Team Legal ${suffix}`, `legal-${suffix}`);
    const data = buttonData(cardOf(approval), 'Approve') ?? {};
    const before = await storedRequest(app.store, reference);

    // Rita is a requester, not an approver: Approve is refused by role, like the approve command.
    const own = invokeCard(await client(RITA).execute('request.approve', data));
    assert.match(cardText(own), /approve\W+needs the approver or admin role, and Rita Requester does not have it/);

    const stranger = await client({ id: 'mallory', aadObjectId: 'badbad00-0000-4000-8000-0000000000ff', name: 'Mallory' }, 'badbad00-0000-4000-8000-000000000009').execute('request.approve', data);
    assert.equal(stranger.status, 403);

    const tampered = invokeCard(await client(ARNOLD).execute('request.approve', { ...data, reference: 'R-999999' }));
    assert.match(cardText(tampered), /There is no request R-999999/);

    const stale = invokeCard(await client(ARNOLD).execute('request.approve', { ...data, version: Number(data.version) + 5 }));
    assert.match(cardText(stale), /out of date/);

    const after = await storedRequest(app.store, reference);
    assert.equal(after?.record.status, 'pending-approval');
    assert.equal(after?.record.version, before?.record.version);
    assert.equal(after?.decisions.length, 0);
    const events = await app.store.audit.list({ requestRef: reference, limit: 50 });
    const refused = events.filter((e) => e.event === 'request.decision-refused').map((e) => e.data.code);
    assert.deepEqual(refused.sort(), ['stale'], 'a role refusal comes before the request is read');
    const tamperEvents = await app.store.audit.list({ limit: 500 });
    assert.ok(tamperEvents.some((e) => e.event === 'request.decision-refused' && e.data.code === 'not-found' && e.actorAadObjectId === ARNOLD.aadObjectId));
  });

  it('rejects only with a reason, and the requester reads it', async function () {
    const { reference, approval } = await fileSharedMailbox(`Team Ops ${suffix}`, `ops-${suffix}`);
    const data = buttonData(cardOf(approval), 'Reject') ?? {};
    const noReason = invokeCard(await client(ARNOLD).execute('request.reject', { ...data, reason: '   ' }));
    assert.match(cardText(noReason), /Say why you reject the request/);
    const since = connector.calls.length;
    const rejected = invokeCard(await client(ARNOLD).execute('request.reject', { ...data, reason: 'Use the existing ops mailbox.' }));
    assert.match(cardText(rejected), /Rejected by Arnold Approver at .*: Use the existing ops mailbox\./);
    await connector.waitFor((c) => c.conversationId === `a:personal-${RITA.id}` && /rejected by Arnold Approver: Use the existing ops mailbox/.test(String(c.body.text)), 10000, since);
    assert.equal((await storedRequest(app.store, reference))?.record.status, 'rejected');
  });

  it('finds duplicates in AD and in Exchange Online and files nothing', async function () {
    const before = (await app.store.requests.listByRequester(RITA.aadObjectId, { limit: 500 })).length;
    let since = connector.calls.length;
    // a cloud-only contact in Exchange Online already uses the alias
    sandbox.cloud.tenant.createCloudMailContact({ name: `Taken ${suffix}`, alias: `taken-${suffix}`, externalEmailAddress: `taken-${suffix}@partner.example` });
    await client(RITA).say(`new shared mailbox name="Taken Box ${suffix}" alias=taken-${suffix}`);
    const exoDup = await connector.waitFor((c) => c.conversationId === `a:personal-${RITA.id}` && /Nothing was requested/.test(visibleText(c.body)), 15000, since);
    assert.match(visibleText(exoDup.body), /taken-/);

    // an AD account that already uses the alias (mailNickname), as a former Exchange server left it
    const ou = await createSandboxOu(sandbox, `dup${suffix}`);
    const ldap = await openSandboxLdap(sandbox);
    try {
      await ldap.add(`CN=Old Box ${suffix},${ou.dn}`, { objectClass: ['top', 'person', 'organizationalPerson', 'user'], sAMAccountName: `oldbox${suffix}`, mailNickname: `oldbox-${suffix}` });
    } finally {
      await ldap.unbind();
    }
    since = connector.calls.length;
    await client(RITA).say(`new shared mailbox name="Old Box Again ${suffix}" alias=oldbox-${suffix}`);
    const adDup = await connector.waitFor((c) => c.conversationId === `a:personal-${RITA.id}` && /Nothing was requested/.test(visibleText(c.body)), 15000, since);
    assert.match(visibleText(adDup.body), new RegExp(`Old Box ${suffix}`));
    await ou.cleanup();
    const after = (await app.store.requests.listByRequester(RITA.aadObjectId, { limit: 500 })).length;
    assert.equal(after, before, 'no request was stored');
  });

  it('lists, shows status and audit, cancels, and the audit chain verifies', async function () {
    const { reference } = await fileSharedMailbox(`Team Temp ${suffix}`, `temp-${suffix}`);
    let since = connector.calls.length;
    await client(ARNOLD).say('my approvals');
    const list = await connector.waitFor((c) => c.conversationId === `a:personal-${ARNOLD.id}` && visibleText(c.body).includes('Waiting for your decision'), 10000, since);
    assert.match(visibleText(list.body), new RegExp(reference));

    since = connector.calls.length;
    await client(RITA).say(`cancel ${reference}`);
    await connector.waitFor((c) => c.conversationId === `a:personal-${RITA.id}` && visibleText(c.body).includes(`${reference} was cancelled`), 10000, since);

    since = connector.calls.length;
    await client(RITA).say(`audit ${reference}`);
    const audit = await connector.waitFor((c) => c.conversationId === `a:personal-${RITA.id}` && visibleText(c.body).includes(`Audit trail of ${reference}`), 10000, since);
    const trail = visibleText(audit.body);
    assert.match(trail, /request\.created/);
    assert.match(trail, /request\.cancelled/);
    assert.match(trail, /This trail verifies: \d+ events, each authenticated with the audit key/);

    since = connector.calls.length;
    await client(ARNOLD).say(`audit ${reference}`);
    await connector.waitFor((c) => c.conversationId === `a:personal-${ARNOLD.id}` && visibleText(c.body).includes(`Audit trail of ${reference}`), 10000, since);

    since = connector.calls.length;
    await client(ADA).say('check audit');
    const check = await connector.waitFor((c) => c.conversationId === `a:personal-${ADA.id}` && /Audit chain verified/.test(visibleText(c.body)), 10000, since);
    assert.ok(check);
    const verify = await app.store.audit.verify();
    assert.equal(verify.ok, true);
  });
});
