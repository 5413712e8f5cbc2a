/**
 * Mailroom's Bot Connector calls (src/bot/connector-rest.ts, used by the adapter for every message and card update):
 * the connector must receive exactly what botbuilder's own generated client sends (paths, verbs, bodies), signed by
 * the turn's credentials, with core-rest-pipeline's retries (Retry-After on 429 and 503, back-off on 5xx) and a clear
 * error when the connector refuses. Proven against connector stand-ins on loopback.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloudAdapter, ConfigurationBotFrameworkAuthentication, type Activity, type ConversationReference, type TurnContext } from 'botbuilder';
import { createAdapter } from '../../src/bot/adapter';
import { ConnectorCallError, ConnectorRest, type ConnectorCredentials } from '../../src/bot/connector-rest';
import { silentLogger } from '../../src/log';
import { startConnector, type Connector } from '../harness/connector';

const SANDBOX_BOT = { appId: '', appType: 'MultiTenant', appTenantId: undefined, appPassword: undefined } as const;

const reference = (serviceUrl: string, conversationId: string): Partial<ConversationReference> => ({
  channelId: 'msteams',
  serviceUrl,
  locale: 'de-DE',
  conversation: { id: conversationId, conversationType: 'personal', tenantId: 't1', isGroup: false, name: '' },
  bot: { id: '28:mailroom', name: 'Mailroom' },
  user: { id: '29:someone', name: 'Someone', aadObjectId: 'a0000000-0000-4000-8000-000000000001' },
});

const card = {
  type: 'AdaptiveCard',
  version: '1.5',
  body: [{ type: 'TextBlock', text: 'R-7 · Shared mailbox', wrap: true }, { type: 'FactSet', facts: [{ title: 'Name', value: 'Ünïcödé & <b>' }] }],
  actions: [{ type: 'Action.Execute', title: 'Approve', verb: 'approve', data: { reference: 'R-7', version: 3 } }],
};

/** The activities Mailroom sends: plain text, a card, a card with a summary and channel data, mentions. */
const outgoing = (): Partial<Activity>[] => [
  { type: 'message', text: 'Your request R-7 was approved by Arnold Approver.', textFormat: 'plain' },
  { type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: card }] },
  { type: 'message', summary: 'R-7', channelData: { notification: { alert: true } }, attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: card }] },
  { type: 'message', text: '<at>Someone</at> please look', entities: [{ type: 'mention', text: '<at>Someone</at>', mentioned: { id: '29:someone', name: 'Someone' } }] },
];

describe('Bot Connector calls: as botbuilder sends them, without its generated client', function () {
  let ours: Connector;
  let theirs: Connector;

  before(async function () {
    ours = await startConnector();
    theirs = await startConnector();
  });

  after(async function () {
    await ours?.close();
    await theirs?.close();
  });

  it("proactive messages, replies in a turn and updates reach the connector with the paths, verbs and bodies botbuilder's own CloudAdapter sends", async function () {
    const scenario = async (adapter: CloudAdapter, serviceUrl: string): Promise<void> => {
      for (const a of outgoing()) {
        // proactive: a new message, then the same content as an update of it
        await adapter.continueConversationAsync('', reference(serviceUrl, 'a:one;x=1'), async (ctx: TurnContext) => {
          const sent = await ctx.sendActivity({ ...a });
          assert.match(sent?.id ?? '', /^activity-\d+$/, "the connector's id comes back");
          await ctx.updateActivity({ ...a, id: sent?.id });
        });
      }
      // an incoming message answered in its turn
      const activity = { type: 'message', text: 'hi', id: 'in-7', channelId: 'msteams', serviceUrl, from: { id: '29:someone' }, recipient: { id: '28:mailroom' }, conversation: { id: 'a:one;x=1' } };
      const res = { socket: undefined, status: () => res, header: () => res, send: () => res, end: () => res };
      await adapter.process({ body: activity, headers: {}, method: 'POST' }, res, async (ctx) => {
        await ctx.sendActivity({ type: 'message', text: 'a reply', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: card }] });
      });
    };
    const ourAdapter = createAdapter(SANDBOX_BOT, silentLogger);
    await scenario(ourAdapter, ours.serviceUrl);
    await scenario(new CloudAdapter(new ConfigurationBotFrameworkAuthentication({ MicrosoftAppId: '', MicrosoftAppPassword: '', MicrosoftAppType: 'MultiTenant', MicrosoftAppTenantId: '' })), theirs.serviceUrl);
    ourAdapter.close();

    // the ids botbuilder makes up (continuation activities) and the connector's own differ from run to run
    const normal = (c: Connector) => JSON.parse(JSON.stringify(c.calls.map((x) => ({ method: x.method, path: x.path, body: x.body }))).replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, 'UUID').replace(/activity-\d+/g, 'ID').replace(/127\.0\.0\.1:\d+/g, 'HOST')) as unknown;
    assert.equal(ours.calls.length, outgoing().length * 2 + 1);
    assert.deepEqual(normal(ours), normal(theirs));
    assert.deepEqual(
      ours.calls.map((c) => c.method),
      [...outgoing().flatMap(() => ['POST', 'PUT']), 'POST'],
    );
    assert.equal(ours.calls.at(-1)?.path, '/v3/conversations/a%3Aone%3Bx%3D1/activities/in-7', 'the answer in a turn replies to the incoming activity, its conversation id encoded as botbuilder encodes it');
  });

  describe('ConnectorRest against a scripted connector', function () {
    type Seen = { method: string; path: string; authorization: string | undefined; body: string };
    let server: http.Server;
    let url: string;
    let seen: Seen[];
    let script: ((res: http.ServerResponse) => void)[];

    beforeEach(async function () {
      seen = [];
      script = [];
      server = http.createServer((req, res) => {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          seen.push({ method: req.method ?? '', path: req.url ?? '', authorization: req.headers.authorization, body });
          const next = script.shift();
          if (next) return next(res);
          res.writeHead(201, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ id: `m-${seen.length}` }));
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/emea`;
    });

    afterEach(async function () {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    const answer = (status: number, headers: Record<string, string> = {}, body: unknown = { error: { code: 'Throttled', message: 'slow down' } }) => (res: http.ServerResponse) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    // what AppCredentials does to sign (botframework-connector's TokenCredentials): Authorization on the headers
    const signing = (token: string): ConnectorCredentials => ({ signRequest: (r) => Promise.resolve(r.headers.set('Authorization', `Bearer ${token}`)) });
    const anonymous: ConnectorCredentials = { signRequest: (r) => Promise.resolve(r) };

    it('sends to the service URL with its path kept, signed by the credentials on every try; anonymous credentials send no Authorization', async function () {
      const waits: number[] = [];
      const rest = new ConnectorRest({ sleep: (ms) => Promise.resolve(void waits.push(ms)) });
      script.push(answer(429, { 'retry-after': '2' }));
      const sent = await rest.send(url, 'a:1', { type: 'message', text: 'hello' }, signing('tok-1'));
      assert.deepEqual(sent, { id: 'm-2' });
      assert.deepEqual(
        seen.map((x) => [x.method, x.path, x.authorization]),
        [
          ['POST', '/emea/v3/conversations/a%3A1/activities', 'Bearer tok-1'],
          ['POST', '/emea/v3/conversations/a%3A1/activities', 'Bearer tok-1'],
        ],
      );
      assert.deepEqual(JSON.parse(seen[1]?.body ?? ''), { type: 'message', text: 'hello' });
      assert.deepEqual(waits, [2000], 'the 429 was retried after its Retry-After');
      await rest.update(`${url}/`, 'a:1', 'm-1', { type: 'message', text: 'changed' }, anonymous);
      assert.deepEqual([seen[2]?.method, seen[2]?.path, seen[2]?.authorization], ['PUT', '/emea/v3/conversations/a%3A1/activities/m-1', undefined]);
      rest.destroy();
    });

    it('retries 503 after Retry-After, 500 and 408 with growing back-off, and gives up after three retries with the status and code', async function () {
      const waits: number[] = [];
      const rest = new ConnectorRest({ baseDelayMs: 100, sleep: (ms) => Promise.resolve(void waits.push(ms)) });
      script.push(answer(503, { 'retry-after-ms': '250' }), answer(500), answer(408));
      assert.deepEqual(await rest.send(url, 'a:1', { type: 'message', text: 'x' }, anonymous), { id: 'm-4' });
      assert.equal(waits[0], 250);
      assert.ok(waits[1]! >= 100 && waits[1]! <= 200, `first back-off ${waits[1]}`);
      assert.ok(waits[2]! >= 200 && waits[2]! <= 400, `second back-off ${waits[2]}`);

      script.push(answer(502), answer(502), answer(502), answer(502, {}, { error: { code: 'ServiceError', message: 'upstream' } }));
      const before = seen.length;
      await assert.rejects(rest.send(url, 'a:1', { type: 'message', text: 'y' }, anonymous), (err: unknown) => {
        assert.ok(err instanceof ConnectorCallError);
        assert.equal(err.statusCode, 502);
        assert.equal(err.code, 'ServiceError');
        assert.match(err.message, /refused the message \(HTTP 502, ServiceError: upstream\)/);
        return true;
      });
      assert.equal(seen.length - before, 4, 'one try and three retries');
      rest.destroy();
    });

    it('a refusal (403, 404, 400) is not retried, and a 429 without Retry-After backs off', async function () {
      const waits: number[] = [];
      const rest = new ConnectorRest({ baseDelayMs: 100, sleep: (ms) => Promise.resolve(void waits.push(ms)) });
      for (const [status, code] of [[403, 'BotNotInConversationRoster'], [404, 'ConversationNotFound'], [400, 'BadSyntax']] as const) {
        script.push(answer(status, {}, { error: { code, message: 'no' } }));
        const before = seen.length;
        await assert.rejects(rest.update(url, 'a:1', 'm-1', { type: 'message' }, anonymous), (err: unknown) => err instanceof ConnectorCallError && err.statusCode === status && err.code === code && /refused the update/.test(err.message));
        assert.equal(seen.length - before, 1, `HTTP ${status} is tried once`);
      }
      assert.deepEqual(waits, []);
      script.push(answer(429));
      await rest.send(url, 'a:1', { type: 'message' }, anonymous, 'in-1');
      assert.equal(waits.length, 1);
      assert.equal(seen.at(-1)?.path, '/emea/v3/conversations/a%3A1/activities/in-1', 'a reply goes to the activity it answers');
      rest.destroy();
    });

    it('a connector that cannot be reached, or a service URL that is not http(s), is an error that says so', async function () {
      const rest = new ConnectorRest({ maxRetries: 1, sleep: () => Promise.resolve() });
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await assert.rejects(rest.send(url, 'a:1', { type: 'message' }, anonymous), /could not reach the Bot Connector at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
      await assert.rejects(rest.send('file:///etc/', 'a:1', { type: 'message' }, anonymous), /is not an http\(s\) URL; nothing was sent/);
      server = http.createServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
      rest.destroy();
    });
  });
});
