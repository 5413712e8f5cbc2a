import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Attribute, Change } from 'ldapts';
import { startMailroom, Mailroom } from '../../src/app';
import { loadConfig } from '../../src/config/config';
import { silentLogger } from '../../src/log';
import { projectRoot } from '../../src/paths';
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { sandboxOverrides } from '../../src/sandbox/overrides';
import { SANDBOX_PEOPLE, SANDBOX_TENANT_ID } from '../../src/sandbox/people';
import { ConformanceSuite } from '../harness/conformance';
import { Connector, startConnector, TeamsClient, visibleText } from '../harness/connector';

const ADA = { id: SANDBOX_PEOPLE.admin.key, aadObjectId: SANDBOX_PEOPLE.admin.aadObjectId, name: SANDBOX_PEOPLE.admin.name };
const RITA = { id: SANDBOX_PEOPLE.requester.key, aadObjectId: SANDBOX_PEOPLE.requester.aadObjectId, name: SANDBOX_PEOPLE.requester.name };

describe('the cloud-managed sweep and the drift report (admins)', function () {
  this.timeout(90000);
  let sandbox: Sandbox;
  let suite: ConformanceSuite;
  let connector: Connector;
  let app: Mailroom;
  let dataDir: string;
  let dnA: string;

  before(async function () {
    // its own sandbox: the sweep changes every mailbox of the tenant
    sandbox = await startSandbox({ rootDir: projectRoot(), ephemeral: true, knobs: { syncMode: 'cloud', syncIntervalMs: 0, mailboxDelayMs: 0 } });
    suite = await ConformanceSuite.open(sandbox, 'sweep');
    dnA = await suite.addUser('sweepa', { mail: 'sweep.a@contoso.example', mailNickname: 'sweep.a', proxyAddresses: ['SMTP:sweep.a@contoso.example', 'smtp:sa@contoso.example'] });
    await suite.addUser('sweepb', { mail: 'sweep.b@contoso.example', mailNickname: 'sweep.b' });
    await suite.sync();
    await suite.licence(suite.upn('sweepa'));
    await suite.licence(suite.upn('sweepb'));
    connector = await startConnector();
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'mailroom-sweep-'));
    app = await startMailroom(loadConfig({ rootDir: projectRoot(), envName: 'sandbox', env: {}, overrides: { ...sandboxOverrides(sandbox.endpoints), PORT: '0', DATA_DIR: dataDir } }), silentLogger, { runRequests: false });
    await client(ADA).install();
    await client(RITA).install();
  });
  after(async function () {
    await app?.stop();
    await connector?.close();
    await suite?.close();
    await sandbox?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const client = (p: typeof ADA) => new TeamsClient(app.url, connector.serviceUrl, p, SANDBOX_TENANT_ID);

  it('is for admins only', async function () {
    const since = connector.calls.length;
    await client(RITA).say('sweep cloud-managed');
    const reply = await connector.waitFor((c) => c.conversationId === `a:personal-${RITA.id}`, 10000, since);
    assert.match(visibleText(reply.body), /needs the admin role/);
    assert.equal((await suite.mailbox(suite.upn('sweepa'))).IsExchangeCloudManaged, false);
  });

  it('makes every dir-synced mailbox cloud-managed, reports it, and a second run finds nothing to do', async function () {
    let since = connector.calls.length;
    await client(ADA).say('sweep cloud-managed');
    const card = await connector.waitFor((c) => c.conversationId === `a:personal-${ADA.id}` && /Cloud-managed sweep/.test(visibleText(c.body)), 20000, since);
    const text = visibleText(card.body);
    assert.match(text, /2 made cloud-managed, 0 failed/);
    assert.match(text, /sweep\.a@contoso\.example/);
    for (const u of ['sweepa', 'sweepb']) assert.equal((await suite.mailbox(suite.upn(u))).IsExchangeCloudManaged, true, `${u} is cloud-managed (read through EXO)`);
    since = connector.calls.length;
    await client(ADA).say('sweep');
    const again = await connector.waitFor((c) => c.conversationId === `a:personal-${ADA.id}` && /Cloud-managed sweep/.test(visibleText(c.body)), 20000, since);
    assert.match(visibleText(again.body), /0 made cloud-managed, 0 failed, 2 were cloud-managed already/);
    const events = await app.store.audit.list({ limit: 50 });
    assert.equal(events.filter((e) => e.event === 'sweep.cloud-managed').length, 2);
  });

  it('the drift report finds an address added in AD that no longer reaches the cloud-managed mailbox', async function () {
    await suite.modify(dnA, new Change({ operation: 'add', modification: new Attribute({ type: 'proxyAddresses', values: ['smtp:sweep.extra@contoso.example'] }) }));
    await suite.sync();
    const since = connector.calls.length;
    await client(ADA).say('drift report');
    const card = await connector.waitFor((c) => c.conversationId === `a:personal-${ADA.id}` && /Drift report/.test(visibleText(c.body)), 20000, since);
    const text = visibleText(card.body);
    assert.match(text, /1 of 2 cloud-managed mailboxes differ/);
    assert.match(text, /sweep\.a@contoso\.example: only in AD: sweep\.extra@contoso\.example/);
  });
});
