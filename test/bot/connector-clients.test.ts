/**
 * The CloudAdapter's connector clients (src/bot/adapter.ts): botbuilder builds a new ConnectorClient, with its
 * credentials and HTTP pipeline, for every turn and every proactive message; Mailroom's authentication keeps one per
 * bot app id, service URL and audience, and one user-token client (which CloudAdapter makes for every incoming turn)
 * per bot app id. Proven through the real adapter against the connector stand-in: every
 * message still arrives, and the turns are handed the very same client.
 */
import assert from 'node:assert/strict';
import type { ConversationReference, TurnContext } from 'botbuilder';
import { createAdapter } from '../../src/bot/adapter';
import { silentLogger } from '../../src/log';
import { startConnector, type Connector } from '../harness/connector';

const SANDBOX_BOT = { appId: '', appType: 'MultiTenant', appTenantId: undefined, appPassword: undefined } as const;

describe('connector clients: one per service URL, not one per message', function () {
  let connector: Connector;
  let other: Connector;

  before(async function () {
    connector = await startConnector();
    other = await startConnector();
  });

  after(async function () {
    await connector?.close();
    await other?.close();
  });

  const reference = (serviceUrl: string, conversationId: string): Partial<ConversationReference> => ({
    channelId: 'msteams',
    serviceUrl,
    conversation: { id: conversationId, conversationType: 'personal', tenantId: 't1', isGroup: false, name: '' },
    bot: { id: '28:mailroom', name: 'Mailroom' },
    user: { id: '29:someone', name: 'Someone' },
  });

  it('proactive messages to two conversations on one service URL share one client; another service URL gets its own; every message arrives', async function () {
    const adapter = createAdapter(SANDBOX_BOT, silentLogger);
    const seen: unknown[] = [];
    const send = async (serviceUrl: string, conversationId: string, text: string) => {
      await adapter.continueConversationAsync('', reference(serviceUrl, conversationId), async (ctx: TurnContext) => {
        seen.push(ctx.turnState.get(adapter.ConnectorClientKey));
        await ctx.sendActivity(text);
      });
    };
    const since = connector.calls.length;
    await send(connector.serviceUrl, 'a:one', 'first');
    await send(connector.serviceUrl, 'a:two', 'second');
    await send(connector.serviceUrl, 'a:one', 'third');
    await send(other.serviceUrl, 'a:one', 'elsewhere');

    assert.deepEqual(
      connector.calls.slice(since).map((c) => [c.method, c.conversationId, c.body.text]),
      [
        ['POST', 'a:one', 'first'],
        ['POST', 'a:two', 'second'],
        ['POST', 'a:one', 'third'],
      ],
    );
    assert.deepEqual(other.calls.map((c) => [c.conversationId, c.body.text]), [['a:one', 'elsewhere']]);
    assert.ok(seen[0], 'the turn has a connector client');
    assert.equal(seen[1], seen[0], 'the second message reuses the first one’s client');
    assert.equal(seen[2], seen[0], 'so does the third');
    assert.notEqual(seen[3], seen[0], 'another service URL has a client of its own');
  });

  it('incoming turns share one kept connector client and one user-token client, and updates in place go through the proactive one', async function () {
    const adapter = createAdapter(SANDBOX_BOT, silentLogger);
    const proactive: unknown[] = [];
    for (const text of ['updated', 'updated again']) {
      await adapter.continueConversationAsync('', reference(connector.serviceUrl, 'a:three'), async (ctx: TurnContext) => {
        proactive.push(ctx.turnState.get(adapter.ConnectorClientKey));
        await ctx.updateActivity({ type: 'message', id: 'act-1', text });
      });
    }
    // incoming messages from this machine (sandbox mode: anonymous), each answered through the connector
    const incoming: unknown[] = [];
    const tokenClients: unknown[] = [];
    for (const id of ['in-1', 'in-2']) {
      let status = 200;
      const recorder = {
        socket: undefined,
        status(code: number) {
          status = code;
          return recorder;
        },
        header: () => recorder,
        send: () => recorder,
        end: () => recorder,
      };
      const activity = { type: 'message', text: 'hi', id, channelId: 'msteams', serviceUrl: connector.serviceUrl, from: { id: '29:someone' }, recipient: { id: '28:mailroom' }, conversation: { id: 'a:three' } };
      await adapter.process({ body: activity, headers: {}, method: 'POST' }, recorder, async (ctx) => {
        incoming.push(ctx.turnState.get(adapter.ConnectorClientKey));
        tokenClients.push(ctx.turnState.get(adapter.UserTokenClientKey));
        await ctx.sendActivity(`hello ${id}`);
      });
      assert.equal(status, 200);
    }
    const calls = connector.calls.filter((c) => c.conversationId === 'a:three').map((c) => [c.method, c.body.text]);
    assert.deepEqual(calls, [
      ['PUT', 'updated'],
      ['PUT', 'updated again'],
      ['POST', 'hello in-1'],
      ['POST', 'hello in-2'],
    ]);
    assert.ok(proactive[0] && incoming[0]);
    assert.equal(proactive[1], proactive[0], 'the second update reuses the first one’s client');
    assert.equal(incoming[1], incoming[0], 'the second incoming turn reuses the first one’s client');
    assert.ok(tokenClients[0], 'the turn has a user-token client');
    assert.equal(tokenClients[1], tokenClients[0], 'the second incoming turn reuses the first one’s user-token client');
  });
});
