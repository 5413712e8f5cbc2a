/**
 * A bare botbuilder echo bot on restify, for `bench/mailroom.ts` to measure what botbuilder and restify alone can
 * answer on this machine: the same CloudAdapter and authentication set-up as Mailroom in sandbox mode (no app id:
 * anonymous), restify's body parser, no store, no cards. A message is echoed through the connector (as Mailroom
 * answers `help`), an Action.Execute is answered in the invoke response with a small card. Run in its own process,
 * with the node flags of `npm start`; `{ type: 'ready', url }` goes back over IPC once it listens.
 */
import { ActivityHandler, CloudAdapter, ConfigurationBotFrameworkAuthentication, type TurnContext } from 'botbuilder';
import restify from 'restify';

class EchoBot extends ActivityHandler {
  constructor() {
    super();
    this.onMessage(async (ctx, next) => {
      await ctx.sendActivity(`You said: ${ctx.activity.text ?? ''}`);
      await next();
    });
  }

  protected override onAdaptiveCardInvoke(ctx: TurnContext): Promise<{ statusCode: number; type: string; value: Record<string, unknown> }> {
    const verb = (ctx.activity.value as { action?: { verb?: string } } | undefined)?.action?.verb ?? '';
    return Promise.resolve({
      statusCode: 200,
      type: 'application/vnd.microsoft.card.adaptive',
      value: { type: 'AdaptiveCard', version: '1.5', body: [{ type: 'TextBlock', text: `You pressed ${verb}`, wrap: true }] },
    });
  }
}

async function run(): Promise<void> {
  const auth = new ConfigurationBotFrameworkAuthentication({ MicrosoftAppId: '', MicrosoftAppPassword: '', MicrosoftAppType: 'MultiTenant', MicrosoftAppTenantId: '' });
  const adapter = new CloudAdapter(auth);
  const bot = new EchoBot();
  const server = restify.createServer({ name: 'echo', handleUncaughtExceptions: false });
  server.use(restify.plugins.bodyParser());
  server.post('/api/messages', async (req: restify.Request, res: restify.Response) => {
    await adapter.process(req, res, (ctx) => bot.run(ctx));
  });
  await new Promise<void>((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  process.on('SIGTERM', () => {
    server.close(() => process.exit(0));
  });
  process.send?.({ type: 'ready', url: `http://127.0.0.1:${address.port}` });
}

run().catch((err: unknown) => {
  process.stderr.write(`the echo bot failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
