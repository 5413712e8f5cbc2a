import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { startMailroom, Mailroom } from '../../src/app';
import { commandHead, suggest, type CommandInfo } from '../../src/bot/commands/catalogue';
import { loadConfig, MailroomConfig } from '../../src/config/config';
import { createLogger, Level } from '../../src/log';
import { projectRoot } from '../../src/paths';
import { Connector, startConnector, TeamsClient, visibleText } from '../harness/connector';

const TENANT = 'c0ffee00-0000-4000-8000-000000000001';
const OTHER_TENANT = 'badbad00-0000-4000-8000-000000000009';
const RITA = { id: 'rita', aadObjectId: 'c0ffee00-0000-4000-8000-0000000000a1', name: 'Rita Requester' };
const ADA = { id: 'ada', aadObjectId: 'c0ffee00-0000-4000-8000-0000000000a3', name: 'Ada Admin' };

interface LogLine {
  level: Level;
  msg: string;
  [k: string]: unknown;
}

interface RawResponse {
  status: number;
  text: string;
}

/** A POST with full control over the headers (fetch forbids setting Host), as any HTTP client could send it. */
function rawPost(url: string, headers: Record<string, string>, body: Buffer | string): Promise<RawResponse> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname: u.hostname, port: u.port, path: '/api/messages', method: 'POST', headers: { 'content-length': String(Buffer.byteLength(body)), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** What an HTTP answer must never carry: an exception's text, a stack, a library's own message. */
function assertNoInternals(res: RawResponse): void {
  assert.doesNotMatch(res.text, /TypeError|ReferenceError|Cannot read|undefined|at .*\.(js|ts):\d+|Zod|req\.body|AuthenticationError|Unauthorized Access|stack/i, `the answer leaks an internal message: ${res.text}`);
}

function configFor(dataDir: string): MailroomConfig {
  return loadConfig({
    rootDir: projectRoot(),
    envName: 'sandbox',
    env: {},
    overrides: {
      PORT: '0',
      DATA_DIR: dataDir,
      ALLOWED_TENANT_IDS: TENANT,
      ROLE_REQUESTERS: `user:${RITA.aadObjectId}`,
      ROLE_ADMINS: `user:${ADA.aadObjectId}`,
    },
  });
}

/** The same bot with a bot registration: every activity must then carry a Bot Framework token. */
function registeredBot(config: MailroomConfig): MailroomConfig {
  return { ...config, bot: { appId: randomUUID(), appType: 'SingleTenant', appTenantId: TENANT, appPassword: 'not-a-real-secret' } };
}

/** An activity whose text inflates to `bytes` bytes, gzip-compressed to a few dozen KB. */
function bomb(client: TeamsClient, bytes: number): Buffer {
  const activity = JSON.stringify(client.activity({ type: 'message', text: 'x' }));
  const [head, tail] = activity.split('"text":"x"') as [string, string];
  return gzipSync(Buffer.concat([Buffer.from(`${head}"text":"`), Buffer.alloc(bytes, 'a'), Buffer.from(`"${tail}`)]), { level: 9 });
}

describe('the HTTP edge of /api/messages', function () {
  let connector: Connector;
  let dataDir: string;
  let app: Mailroom | undefined;
  const logs: LogLine[] = [];

  before(async function () {
    connector = await startConnector();
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'mailroom-edges-'));
    const log = createLogger('debug', {}, (line) => logs.push(JSON.parse(line) as LogLine));
    app = await startMailroom(configFor(dataDir), log);
  });

  after(async function () {
    await app?.stop();
    await connector.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const client = (person = ADA, tenant = TENANT) => new TeamsClient(app!.url, connector.serviceUrl, person, tenant);
  const json = { 'content-type': 'application/json' };

  /** Proves the bot still answers (and the connector records it): the turn after a refused one is handled. */
  async function stillAnswers(): Promise<void> {
    const since = connector.calls.length;
    const res = await client().say('whoami');
    assert.equal(res.status, 200);
    await connector.waitFor((c) => visibleText(c.body).includes(ADA.aadObjectId), 5000, since);
  }

  it('refuses a compressed body (a gzip bomb) with 415 before inflating it, and processes nothing', async function () {
    const since = connector.calls.length;
    const body = bomb(client(), 48 * 1024 * 1024);
    assert.ok(body.length < 256 * 1024, `the bomb is ${body.length} bytes on the wire, under the body limit`);
    const res = await rawPost(app!.url, { ...json, 'content-encoding': 'gzip' }, body);
    assert.equal(res.status, 415, res.text);
    assert.match(res.text, /Content-Encoding/);
    assert.match(res.text, /[Nn]othing was processed/);
    assertNoInternals(res);
    const small = await rawPost(app!.url, { ...json, 'content-encoding': 'deflate' }, gzipSync(JSON.stringify(client().activity({ type: 'message', text: 'whoami' }))));
    assert.equal(small.status, 415, 'every Content-Encoding is refused, however small the body');
    // uncompressed, the limit counts the bytes that arrive
    const big = await rawPost(app!.url, json, JSON.stringify(client().activity({ type: 'message', text: 'y'.repeat(300 * 1024) })));
    assert.equal(big.status, 413, big.text);
    assert.match(big.text, /256 KiB/);
    assertNoInternals(big);
    await stillAnswers();
    assert.equal(connector.calls.slice(since).filter((c) => visibleText(c.body).includes('not a Mailroom command')).length, 0, 'the inflated message was never handled');
  });

  it('takes JSON only: a form-encoded or text/plain activity gets 415 and no answer', async function () {
    const since = connector.calls.length;
    const activity = client().activity({ type: 'message', text: 'whoami' });
    const form = new URLSearchParams({ type: 'message', text: 'whoami', serviceUrl: connector.serviceUrl, channelId: 'msteams' }).toString();
    const formRes = await rawPost(app!.url, { 'content-type': 'application/x-www-form-urlencoded' }, form);
    assert.equal(formRes.status, 415, formRes.text);
    assert.match(formRes.text, /application\/json/);
    const textRes = await rawPost(app!.url, { 'content-type': 'text/plain' }, JSON.stringify(activity));
    assert.equal(textRes.status, 415, textRes.text);
    const none = await rawPost(app!.url, {}, JSON.stringify(activity));
    assert.equal(none.status, 415, none.text);
    for (const r of [formRes, textRes, none]) assertNoInternals(r);
    // with charset, as the Bot Connector sends it, the same activity is taken
    const ok = await rawPost(app!.url, { 'content-type': 'application/json; charset=utf-8' }, JSON.stringify(activity));
    assert.equal(ok.status, 200, ok.text);
    await connector.waitFor((c) => visibleText(c.body).includes(ADA.aadObjectId), 5000, since);
  });

  it('answers 400 with what is wrong for a malformed activity, never an internal message', async function () {
    const base = client().activity({ type: 'message', text: 'whoami' });
    const without = (key: string): Record<string, unknown> => Object.fromEntries(Object.entries(base).filter(([k]) => k !== key));
    const cases: { name: string; body: string; says: RegExp }[] = [
      { name: 'no conversation', body: JSON.stringify(without('conversation')), says: /conversation/ },
      { name: 'no type', body: JSON.stringify(without('type')), says: /type/ },
      { name: 'no from', body: JSON.stringify(without('from')), says: /from/ },
      { name: 'no serviceUrl', body: JSON.stringify(without('serviceUrl')), says: /serviceUrl/ },
      { name: 'conversation without id', body: JSON.stringify({ ...base, conversation: { tenantId: TENANT } }), says: /conversation\.id/ },
      { name: 'type not a string', body: JSON.stringify({ ...base, type: 7 }), says: /type/ },
      { name: 'entities not a list', body: JSON.stringify({ ...base, entities: 'x' }), says: /entities/ },
      { name: 'membersAdded not a list', body: JSON.stringify({ ...base, type: 'conversationUpdate', membersAdded: { id: 'x' } }), says: /membersAdded/ },
      { name: 'an array', body: JSON.stringify([base]), says: /JSON object/ },
      { name: 'not JSON', body: '{"type": "message", ', says: /not valid JSON/ },
    ];
    for (const c of cases) {
      const res = await rawPost(app!.url, json, c.body);
      assert.equal(res.status, 400, `${c.name}: ${res.status} ${res.text}`);
      assert.match(res.text, c.says, c.name);
      assert.match(res.text, /[Nn]othing was processed/, c.name);
      assertNoInternals(res);
    }
    await stillAnswers();
  });

  it('caps message text: a 200 KB one-word message gets a clear "too long" answer and changes nothing', async function () {
    const since = connector.calls.length;
    const res = await client().say('x'.repeat(200_000));
    assert.equal(res.status, 200);
    const answer = await connector.waitFor((c) => /too long/.test(visibleText(c.body)), 5000, since);
    const text = visibleText(answer.body);
    assert.match(text, /200,000 characters/);
    assert.match(text, /at most 16,000/);
    assert.match(text, /Nothing was changed/);
    assert.doesNotMatch(text, /xxxxxxxxxx/, 'the text is not echoed back');
  });

  it('bounds what the "did you mean" matcher reads, and still suggests for typos', async function () {
    const commands: CommandInfo[] = ['help', 'whoami', 'my approvals', 'check audit'].map((name) => ({ name, usage: name, description: '', roles: 'anyone', group: 'Help' }));
    for (const text of ['x'.repeat(200_000), `my ${'y'.repeat(200_000)} z`, `${'a '.repeat(100_000)}b`]) {
      const head = commandHead(text);
      assert.ok(head.length <= 40, `the matcher reads ${head.length} characters of a ${text.length}-character message`);
      assert.equal(suggest(text, commands), undefined);
    }
    assert.equal(suggest('hepl', commands)?.name, 'help');
    assert.equal(suggest('my aprovals please', commands)?.name, 'my approvals');
    assert.equal(suggest('WHOAMII', commands)?.name, 'whoami');
    // and through the bot, a typo still gets its hint
    const since = connector.calls.length;
    await client().say('hepl');
    await connector.waitFor((c) => /Did you mean \S*help\S*\?/.test(visibleText(c.body)), 5000, since);
  });

  describe('local (anonymous) mode', function () {
    it('refuses a browser-forged post: a foreign Origin, a foreign Host (DNS rebinding), a form-encoded body', async function () {
      const since = connector.calls.length;
      const body = JSON.stringify(client().activity({ type: 'message', text: 'whoami' }));
      const port = new URL(app!.url).port;
      const foreignOrigin = await rawPost(app!.url, { ...json, origin: 'https://evil.example' }, body);
      assert.equal(foreignOrigin.status, 403, foreignOrigin.text);
      assert.match(foreignOrigin.text, /Origin/);
      const nullOrigin = await rawPost(app!.url, { ...json, origin: 'null' }, body);
      assert.equal(nullOrigin.status, 403, nullOrigin.text);
      const rebound = await rawPost(app!.url, { ...json, host: `evil.example:${port}` }, body);
      assert.equal(rebound.status, 403, rebound.text);
      assert.match(rebound.text, /Host/);
      const formFromPage = await rawPost(
        app!.url,
        { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' },
        new URLSearchParams({ type: 'message', text: 'whoami' }).toString(),
      );
      assert.ok(formFromPage.status === 403 || formFromPage.status === 415, `${formFromPage.status} ${formFromPage.text}`);
      for (const r of [foreignOrigin, nullOrigin, rebound, formFromPage]) assertNoInternals(r);
      assert.equal(connector.calls.length, since, 'nothing was answered');
      assert.ok(logs.some((l) => l.msg === 'request refused at the edge' && l.reason === 'origin'));
      assert.ok(logs.some((l) => l.msg === 'request refused at the edge' && l.reason === 'host'));

      // a loopback Host and Origin (a local tool, the Agents Playground) are fine
      for (const headers of [{ host: `localhost:${port}`, origin: `http://localhost:${port}` }, { host: `[::1]:${port}`, origin: 'http://127.0.0.1:56150' }]) {
        const ok = await rawPost(app!.url, { ...json, ...headers }, body);
        assert.equal(ok.status, 200, `${JSON.stringify(headers)}: ${ok.text}`);
      }
      await connector.waitFor((c) => visibleText(c.body).includes(ADA.aadObjectId), 5000, since);
    });

    it('calls back only a loopback serviceUrl', async function () {
      for (const serviceUrl of ['https://evil.example/', 'http://10.0.0.1:8080/', 'http://127.0.0.1.evil.example/', 'file:///etc/passwd']) {
        const res = await rawPost(app!.url, json, JSON.stringify(client().activity({ type: 'message', text: 'whoami', serviceUrl })));
        assert.equal(res.status, 403, `${serviceUrl}: ${res.status} ${res.text}`);
        assert.match(res.text, /serviceUrl/);
        assertNoInternals(res);
      }
      assert.ok(logs.some((l) => l.msg === 'request refused at the edge' && l.reason === 'service-url'));
      for (const serviceUrl of [connector.serviceUrl, connector.serviceUrl.replace('127.0.0.1', 'localhost')]) {
        const since = connector.calls.length;
        const res = await rawPost(app!.url, json, JSON.stringify(client().activity({ type: 'message', text: 'whoami', serviceUrl })));
        assert.equal(res.status, 200, `${serviceUrl}: ${res.text}`);
        await connector.waitFor((c) => visibleText(c.body).includes(ADA.aadObjectId), 5000, since);
      }
    });
  });

  describe('every mode', function () {
    it('takes only msteams activities whose two tenant fields are present and equal', async function () {
      const ada = client();
      const cases: { name: string; extra: Record<string, unknown>; reason: string }[] = [
        { name: 'another channel', extra: { channelId: 'webchat' }, reason: 'not-teams' },
        { name: 'no conversation.tenantId', extra: { conversation: { ...ada.conversation } }, reason: 'no-tenant' },
        { name: 'no channelData.tenant.id', extra: { channelData: {} }, reason: 'no-tenant' },
        { name: 'tenant fields disagree', extra: { channelData: { tenant: { id: OTHER_TENANT } } }, reason: 'tenant-mismatch' },
        { name: 'tenant fields disagree the other way', extra: { conversation: { ...ada.conversation, tenantId: OTHER_TENANT } }, reason: 'tenant-mismatch' },
      ];
      for (const c of cases) {
        const before = logs.length;
        const res = await ada.post({ type: 'invoke', name: 'adaptiveCard/action', value: { action: { type: 'Action.Execute', verb: 'help', data: {} }, trigger: 'manual' }, ...c.extra });
        assert.equal(res.status, 403, `${c.name}: ${res.status} ${JSON.stringify(res.body)}`);
        assert.equal(res.body, undefined, `${c.name}: the refusal carries no details`);
        const refused = logs.slice(before).find((l) => l.msg === 'activity refused');
        assert.equal(refused?.reason, c.reason, c.name);
      }
      // the same click with both fields equal is answered
      const ok = await ada.execute('help');
      assert.equal(ok.status, 200);
    });
  });
});

describe('the HTTP edge with a bot registration (tenant mode)', function () {
  let connector: Connector;
  let dataDir: string;
  let app: Mailroom | undefined;

  before(async function () {
    connector = await startConnector();
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'mailroom-edges-t-'));
    app = await startMailroom(registeredBot(configFor(dataDir)), createLogger('error', {}, () => undefined));
  });

  after(async function () {
    await app?.stop();
    await connector.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses a gzip bomb with 415 before authentication, and an unauthenticated activity with a 401 that carries no SDK message', async function () {
    const rita = new TeamsClient(app!.url, connector.serviceUrl, RITA, TENANT);
    const res = await rawPost(app!.url, { 'content-type': 'application/json', 'content-encoding': 'gzip' }, bomb(rita, 48 * 1024 * 1024));
    assert.equal(res.status, 415, res.text);
    assertNoInternals(res);
    const activity = JSON.stringify(rita.activity({ type: 'message', text: 'whoami' }));
    const unauthenticated = await rawPost(app!.url, { 'content-type': 'application/json' }, activity);
    assert.equal(unauthenticated.status, 401, unauthenticated.text);
    assertNoInternals(unauthenticated);
    const forged = await rawPost(app!.url, { 'content-type': 'application/json', authorization: 'Bearer not.a.token' }, activity);
    assert.equal(forged.status, 401, forged.text);
    assertNoInternals(forged);
    const malformed = await rawPost(app!.url, { 'content-type': 'application/json', authorization: 'Bearer not.a.token' }, JSON.stringify({ type: 'message' }));
    assert.equal(malformed.status, 400, malformed.text);
    assertNoInternals(malformed);
    // a foreign Host and Origin are the norm behind a public host name: not refused for that (but still unauthenticated)
    const proxied = await rawPost(app!.url, { 'content-type': 'application/json', host: 'mailroom.example.com', origin: 'https://teams.microsoft.com' }, JSON.stringify(rita.activity({ type: 'message', text: 'whoami', serviceUrl: 'https://smba.trafficmanager.net/emea/' })));
    assert.equal(proxied.status, 401, proxied.text);
    assert.equal(connector.calls.length, 0);
  });
});
