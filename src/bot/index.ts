import { TeamsPacer } from './pacing';
import path from 'node:path';
import type { MailroomConfig } from '../config/config';
import type { Logger } from '../log';
import type { MessageHandler } from '../server/http';
import type { AuditLog, ConversationRepository } from '../store';
import { createAdapter, createMessageHandler } from './adapter';
import { CardRenderer } from './cards';
import { MailroomBot } from './mailroom-bot';
import { Notifier } from './notifier';
import { GroupMembership, RoleResolver } from './roles';

export { Notifier, ConversationNotFoundError } from './notifier';
export { registerHandlers, type RegistrationDeps } from './handlers';
export type { HandlerDeps } from './handler-deps';
export { TeamsNotifications } from './teams-notifications';
export { TeamsReach } from './teams-reach';

export interface BotRuntime {
  readonly onMessage: MessageHandler;
  readonly notifier: Notifier;
  readonly bot: MailroomBot;
  readonly cards: CardRenderer;
  /** Closes the kept-alive connections to the Bot Connector (at stop, after the last notification). */
  close(): void;
}

export interface BotRuntimeDeps {
  readonly log: Logger;
  readonly conversations: ConversationRepository;
  /** Where the bot audits role refusals. */
  readonly audit: Pick<AuditLog, 'append'>;
  readonly groups?: GroupMembership;
}

/**
 * Wires the CloudAdapter, the router and the notifier. With `registerHandlers` (the commands and card verbs) and
 * `TeamsNotifications` (the workflow's notifications port), the only entry points into src/bot/.
 */
export function createBotRuntime(config: MailroomConfig, deps: BotRuntimeDeps): BotRuntime {
  const log = deps.log.child({ component: 'bot' });
  const adapter = createAdapter(config.bot, log);
  const cards = new CardRenderer(path.join(config.rootDir, 'cards'));
  const roles = new RoleResolver(config.roles, deps.groups);
  if (roles.configuredGroupIds().length && !deps.groups) {
    log.warn('roles name Entra groups, but no group membership source is configured: group-based roles match nobody', {
      groups: roles.configuredGroupIds(),
    });
  }
  const bot = new MailroomBot({
    log,
    cards,
    roles,
    conversations: deps.conversations,
    audit: deps.audit,
    allowedTenantIds: config.allowedTenantIds,
  });
  const notifier = new Notifier(adapter, config.bot.appId, deps.conversations, log, config.teamsPacing ? new TeamsPacer() : undefined);
  const onMessage: MessageHandler = createMessageHandler(adapter, config.bot, log, (ctx) => bot.run(ctx));
  return { onMessage, notifier, bot, cards, close: () => adapter.close() };
}
