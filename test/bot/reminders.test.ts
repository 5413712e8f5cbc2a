import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { storedRequest } from '../harness/requests';
import { startMailroom, Mailroom } from '../../src/app';
import { loadConfig } from '../../src/config/config';
import { silentLogger } from '../../src/log';
import { projectRoot } from '../../src/paths';
import { SANDBOX_PEOPLE, SANDBOX_TENANT_ID } from '../../src/sandbox/people';
import { sandboxOverrides } from '../../src/sandbox/overrides';
import { Connector, startConnector, TeamsClient, visibleText } from '../harness/connector';
import { getSharedSandbox } from '../harness/sandbox';

const person = (p: { aadObjectId: string; name: string; key: string }) => ({ id: p.key, aadObjectId: p.aadObjectId, name: p.name });
const RITA = person(SANDBOX_PEOPLE.requester);
const ARNOLD = person(SANDBOX_PEOPLE.approver);
const HOUR = 3_600_000;

describe('approval reminders and expiry, on a clock the test moves', function () {
  this.timeout(60000);
  let connector: Connector;
  let app: Mailroom;
  let dataDir: string;
  let offset = 0;
  const suffix = Date.now().toString(36).slice(-5);

  before(async function () {
    const sandbox = await getSharedSandbox();
    connector = await startConnector();
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'mailroom-reminders-'));
    const config = loadConfig({
      rootDir: projectRoot(),
      envName: 'sandbox',
      env: {},
      overrides: { ...sandboxOverrides(sandbox.endpoints), PORT: '0', DATA_DIR: dataDir, APPROVAL_REMIND_AFTER: '4h,24h', APPROVAL_EXPIRE_AFTER: '3d' },
    });
    app = await startMailroom(config, silentLogger, { now: () => new Date(Date.now() + offset), runRequests: false });
    for (const p of [RITA, ARNOLD]) await client(p).install();
  });
  after(async function () {
    await app?.stop();
    await connector?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const client = (p: typeof RITA) => new TeamsClient(app.url, connector.serviceUrl, p, SANDBOX_TENANT_ID);

  it('reminds the approver after 4 h and 24 h, then expires the request after 3 days and tells the requester', async function () {
    let since = connector.calls.length;
    await client(RITA).say(`new shared mailbox name="Team Remind ${suffix}" alias=remind-${suffix}`);
    const approval = await connector.waitFor((c) => c.conversationId === `a:personal-${ARNOLD.id}` && /R-\d+ · Shared mailbox/.test(visibleText(c.body)), 15000, since);
    const reference = /(R-\d+)/.exec(visibleText(approval.body))?.[1] ?? '';
    const approvals = app.workflow!.approvals;

    assert.deepEqual(await approvals.tick(), { reminded: 0, expired: 0 }, 'nothing is due yet');
    offset = 4 * HOUR + 60_000;
    since = connector.calls.length;
    assert.deepEqual(await approvals.tick(), { reminded: 1, expired: 0 });
    const reminder = await connector.waitFor((c) => c.conversationId === `a:personal-${ARNOLD.id}` && /Reminder: .* still waits for your decision/.test(String(c.body.text)), 5000, since);
    assert.match(String(reminder.body.text), new RegExp(reference));
    assert.deepEqual(await approvals.tick(), { reminded: 0, expired: 0 }, 'one reminder per due time');

    offset = 24 * HOUR + 60_000;
    assert.deepEqual(await approvals.tick(), { reminded: 1, expired: 0 });

    offset = 72 * HOUR + 60_000;
    since = connector.calls.length;
    assert.deepEqual(await approvals.tick(), { reminded: 0, expired: 1 });
    await connector.waitFor((c) => c.conversationId === `a:personal-${RITA.id}` && new RegExp(`${reference} expired without a decision`).test(String(c.body.text)), 5000, since);
    const put = await connector.waitFor((c) => c.method === 'PUT' && c.conversationId === `a:personal-${ARNOLD.id}`, 5000, since);
    assert.match(visibleText(put.body), /Expired at .* without a decision/);
    assert.equal((await storedRequest(app.store, reference))?.record.status, 'expired');

    const events = (await app.store.audit.list({ requestRef: reference, limit: 20 })).map((e) => e.event);
    // the first reminder also escalated the stage to the admins, once
    assert.deepEqual(events, ['request.created', 'request.reminded', 'request.escalated', 'request.reminded', 'request.expired']);

    // a late click on the expired card changes nothing
    since = connector.calls.length;
    const late = await client(ARNOLD).execute('request.approve', { reference, version: 1 });
    assert.equal(late.status, 200);
    assert.match(JSON.stringify(late.body), /already expired|expired/);
    assert.equal((await storedRequest(app.store, reference))?.record.status, 'expired');
    offset = 0;
  });
});
