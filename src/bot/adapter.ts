import { CloudAdapter, ConfigurationBotFrameworkAuthentication, TurnContext } from 'botbuilder';
import type { BotConfig } from '../config/config';
import type { Logger } from '../log';
import { randomUUID } from 'node:crypto';

/**
 * CloudAdapter from the bot registration. With no app id (sandbox mode) it runs anonymously, as local
 * clients such as the Agents Playground expect; the configuration only allows that on a loopback address.
 */
export function createAdapter(bot: BotConfig, log: Logger): CloudAdapter {
  const auth = new ConfigurationBotFrameworkAuthentication({
    MicrosoftAppId: bot.appId,
    MicrosoftAppPassword: bot.appPassword ?? '',
    MicrosoftAppType: bot.appId ? bot.appType : 'MultiTenant',
    MicrosoftAppTenantId: bot.appTenantId ?? '',
  });
  const adapter = new CloudAdapter(auth);
  adapter.onTurnError = async (ctx: TurnContext, err: Error) => {
    const reference = randomUUID();
    log.error('turn failed', { reference, err, type: ctx.activity.type, conversation: ctx.activity.conversation?.id });
    if (ctx.activity.type === 'message') {
      await ctx.sendActivity(`Something went wrong on Mailroom's side and your message was not processed; nothing was changed. Please try again. If it keeps happening, give your admin this reference: ${reference}`);
    }
  };
  return adapter;
}
