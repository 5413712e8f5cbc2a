import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startMailroom, Mailroom } from '../../src/app';
import { loadConfig, MailroomConfig } from '../../src/config/config';
import { createLogger, Level } from '../../src/log';
import { projectRoot } from '../../src/paths';
import { Connector, startConnector, TeamsClient, visibleText } from '../harness/connector';
import { getPostgres } from '../harness/postgres';

const TENANT = 'c0ffee00-0000-4000-8000-000000000001';
const OTHER_TENANT = 'badbad00-0000-4000-8000-000000000009';
const RITA = { id: 'rita', aadObjectId: 'c0ffee00-0000-4000-8000-0000000000a1', name: 'Rita Requester' };
const ARNOLD = { id: 'arnold', aadObjectId: 'c0ffee00-0000-4000-8000-0000000000a2', name: 'Arnold Approver' };
const ADA = { id: 'ada', aadObjectId: 'c0ffee00-0000-4000-8000-0000000000a3', name: 'Ada Admin' };

interface LogLine {
  level: Level;
  msg: string;
  [k: string]: unknown;
}

function configFor(dataDir: string, databaseUrl?: string): MailroomConfig {
  return loadConfig({
    rootDir: projectRoot(),
    envName: 'sandbox',
    env: {},
    overrides: {
      PORT: '0',
      DATA_DIR: dataDir,
      ALLOWED_TENANT_IDS: TENANT,
      ROLE_REQUESTERS: `user:${RITA.aadObjectId}`,
      ROLE_APPROVERS: `user:${ARNOLD.aadObjectId}`,
      ROLE_ADMINS: `user:${ADA.aadObjectId}`,
      ...(databaseUrl ? { DATABASE_URL: databaseUrl, SECRET_KEY: Buffer.alloc(32, 7).toString('base64') } : {}),
    },
  });
}

for (const engine of ['sqlite', 'postgres'] as const) {
  describe(`bot round trip over HTTP with a Bot Connector stand-in (${engine} store)`, function () {
    let connector: Connector;
    let dataDir: string;
    let databaseUrl: string | undefined;
    let app: Mailroom | undefined;
    const logs: LogLine[] = [];

    async function boot(): Promise<Mailroom> {
      const log = createLogger('debug', {}, (line) => logs.push(JSON.parse(line) as LogLine));
      app = await startMailroom(configFor(dataDir, databaseUrl), log);
      return app;
    }

    before(async function () {
      connector = await startConnector();
      dataDir = mkdtempSync(path.join(os.tmpdir(), 'mailroom-rt-'));
      if (engine === 'postgres') databaseUrl = await (await getPostgres()).createDatabase('roundtrip');
      await boot();
    });

    after(async function () {
      await app?.stop();
      await connector.close();
      rmSync(dataDir, { recursive: true, force: true });
    });

    const client = (person: typeof RITA, tenant = TENANT) => new TeamsClient(app!.url, connector.serviceUrl, person, tenant);

    it('answers /healthz and /readyz', async function () {
      const health = await fetch(`${app!.url}/healthz`);
      assert.equal(health.status, 200);
      assert.equal(((await health.json()) as { status: string }).status, 'ok');
      const ready = await fetch(`${app!.url}/readyz`);
      const report = (await ready.json()) as { ready: boolean; checks: { name: string; ok: boolean }[] };
      assert.equal(ready.status, 200);
      assert.equal(report.ready, true);
      assert.ok(report.checks.some((c) => c.name === `store (${engine})` && c.ok));
    });

    it('sends a welcome card on install, once, however often the client resends the event', async function () {
      const rita = client(RITA);
      const since = connector.calls.length;
      const res = await rita.install();
      assert.equal(res.status, 200);
      const welcome = await connector.waitFor((c) => visibleText(c.body).includes('Welcome to Mailroom'), 5000, since);
      assert.equal(welcome.method, 'POST');
      assert.equal(welcome.conversationId, rita.conversation.id);
      assert.match(visibleText(welcome.body), /Your roles: requester/);
      const attachment = (welcome.body.attachments as { contentType: string }[])[0];
      assert.equal(attachment?.contentType, 'application/vnd.microsoft.card.adaptive');

      await rita.install();
      await rita.post({ type: 'conversationUpdate', membersAdded: [{ id: '28:mailroom' }] });
      await rita.say('whoami'); // a later turn proves the resends were processed before it
      await connector.waitFor((c) => visibleText(c.body).includes('c0ffee00-0000-4000-8000-0000000000a1'), 5000, since);
      const welcomes = connector.calls.slice(since).filter((c) => visibleText(c.body).includes('Welcome to Mailroom'));
      assert.equal(welcomes.length, 1);
    });

    it('answers help with the commands the role allows', async function () {
      const rita = client(RITA);
      let since = connector.calls.length;
      await rita.say('help');
      const help = await connector.waitFor((c) => visibleText(c.body).includes('Mailroom commands'), 5000, since);
      const text = visibleText(help.body);
      assert.match(text, /Rita Requester with the roles: requester/);
      assert.match(text, /\*\*help\*\*/);
      assert.match(text, /\*\*whoami\*\*/);
      assert.doesNotMatch(text, /\*\*health\*\*/, 'health is for admins only');
      // Under headings; without the directory and the cloud app (requests off) only the help commands are hers.
      assert.match(text, /\nHelp\n\*\*help\*\*\n/);
      assert.ok(!text.split('\n').includes('Audit & admin'), 'no heading without a command she may use');

      const ada = client(ADA);
      since = connector.calls.length;
      await ada.say('help');
      const adminHelp = await connector.waitFor((c) => visibleText(c.body).includes('Mailroom commands'), 5000, since);
      const adminText = visibleText(adminHelp.body);
      assert.match(adminText, /\*\*health\*\*/);
      assert.match(adminText, /\nAudit & admin\n\*\*health\*\*\n[^]*\n\*\*doctor\*\*\n[^]*\nHelp\n\*\*help\*\*\n/, 'admin commands under their heading, before the help group');
    });

    it('writes the conversation reference once for a run of messages, not at every message (each has its own activity id)', async function () {
      const rita = client(RITA);
      await rita.say('whoami');
      const conversationId = `a:personal-${RITA.id}`;
      const first = await app!.store.conversations.get(conversationId);
      assert.ok(first, 'the reference is stored');
      for (let i = 0; i < 3; i++) {
        await new Promise((r) => setTimeout(r, 15));
        await rita.say('whoami');
      }
      assert.equal((await app!.store.conversations.get(conversationId))?.updatedAt, first.updatedAt, 'unchanged references are not rewritten');
    });

    it('answers help through the card button (Action.Execute) in the invoke response', async function () {
      const res = await client(RITA).execute('help');
      assert.equal(res.status, 200);
      const since = connector.calls.length - 1;
      await connector.waitFor((c) => visibleText(c.body).includes('Mailroom commands'), 5000, Math.max(0, since));
    });

    it('refuses an admin command to a requester and says why', async function () {
      const since = connector.calls.length;
      await client(RITA).say('health');
      const reply = await connector.waitFor(() => true, 5000, since);
      assert.match(visibleText(reply.body), /Not allowed/);
      assert.match(visibleText(reply.body), /needs the admin role/);
      assert.ok(logs.some((l) => l.msg === 'command refused: role missing' && l.actor === RITA.aadObjectId));
    });

    it('gives a helpful answer to unknown text, with a suggestion', async function () {
      const since = connector.calls.length;
      await client(RITA).say('hlep');
      const reply = await connector.waitFor(() => true, 5000, since);
      const text = visibleText(reply.body);
      assert.match(text, /"hlep" is not a Mailroom command/);
      assert.match(text, /Did you mean \*\*help\*\*/);
    });

    it('refuses and logs activities from a tenant that is not allowed', async function () {
      const since = connector.calls.length;
      const stranger = client({ id: 'mallory', aadObjectId: 'badbad00-0000-4000-8000-0000000000ff', name: 'Mallory' }, OTHER_TENANT);
      const msg = await stranger.say('help');
      assert.equal(msg.status, 200);
      const inv = await stranger.execute('help');
      assert.equal(inv.status, 403);
      await client(RITA).say('whoami');
      await connector.waitFor((c) => c.conversationId === `a:personal-${RITA.id}`, 5000, since);
      assert.equal(connector.calls.slice(since).filter((c) => c.conversationId.includes('mallory')).length, 0, 'nothing was sent to the stranger');
      const refused = logs.filter((l) => l.msg === 'activity refused' && l.tenantId === OTHER_TENANT);
      assert.equal(refused.length, 2);
      assert.equal(refused[0]?.reason, 'tenant-not-allowed');
    });

    it('after a restart, a proactive message reaches the stored conversation', async function () {
      await client(ARNOLD).install();
      await app!.stop();
      app = undefined;
      await boot();
      const since = connector.calls.length;
      const sent = await app!.runtime.notifier.sendToUser(ARNOLD.aadObjectId, TENANT, { text: 'Request R-1 waits for your approval.' });
      const call = await connector.waitFor((c) => c.body.text === 'Request R-1 waits for your approval.', 5000, since);
      assert.equal(call.method, 'POST');
      assert.equal(call.conversationId, `a:personal-${ARNOLD.id}`);
      assert.equal(sent.conversationId, `a:personal-${ARNOLD.id}`);
      assert.ok(sent.activityId, 'the connector returned an activity id');

      await app!.runtime.notifier.update(sent.conversationId, sent.activityId, { text: 'Request R-1 was approved.' });
      const put = await connector.waitFor((c) => c.method === 'PUT', 5000, since);
      assert.equal(put.activityId, sent.activityId);
      assert.equal(put.body.text, 'Request R-1 was approved.');
    });

    it('refuses a proactive message to someone who never installed the app, clearly', async function () {
      await assert.rejects(
        app!.runtime.notifier.sendToUser('c0ffee00-0000-4000-8000-0000000000ee', TENANT, { text: 'x' }),
        /has no conversation with user .* installed/,
      );
    });
  });
}
