import {
  ActivityTypes,
  AdaptiveCardInvokeResponse,
  AdaptiveCardInvokeValue,
  InvokeResponse,
  TeamsActivityHandler,
  TurnContext,
} from 'botbuilder';
import type { Logger } from '../log';
import type { AuditLog, ConversationRepository } from '../store';
import type { CardRenderer } from './cards';
import { allowedFor, CommandInfo, suggest } from './commands/catalogue';
import type { Role, RoleResolver } from './roles';
import { Actor, checkActor, conversationKind, TurnInfo } from './turn';
import { md } from './markdown';
import { unexpectedFileNotice } from './csv-attachment';

/** A chat command: matched on the text with the bot's mention removed, case-insensitively. */
export interface CommandHandler extends CommandInfo {
  readonly pattern: RegExp;
  handle(ctx: TurnContext, turn: TurnInfo, match: RegExpExecArray): Promise<void>;
}

/** An Action.Execute verb. Returns the card that replaces the clicked one, or undefined to keep it. */
export interface CardActionHandler {
  readonly verb: string;
  handle(ctx: TurnContext, turn: TurnInfo, data: Record<string, unknown>): Promise<Record<string, unknown> | undefined>;
}

/**
 * A card verb as registered: with the roles that may use it, checked before it runs, exactly like a command's
 * (the same roles as the matching command). A person without one gets a refusal that names only the action.
 */
export interface GatedCardAction extends CardActionHandler {
  /** The action as the refusal names it, e.g. "approve". */
  readonly name: string;
  readonly roles: readonly Role[] | 'anyone';
}

export interface MailroomBotDeps {
  readonly log: Logger;
  readonly cards: CardRenderer;
  readonly roles: RoleResolver;
  readonly conversations: ConversationRepository;
  readonly allowedTenantIds: readonly string[];
  /** Where role refusals are audited (`access.refused`), so an admin sees who tried what. */
  readonly audit: Pick<AuditLog, 'append'>;
}

/**
 * The Teams-facing router: guards every turn (allowed tenant, authenticated user), remembers conversation
 * references for proactive messages, and dispatches commands and card verbs to small handlers (registered in
 * `handlers.ts`; one file each in `commands/` and `card-actions/`).
 */
export class MailroomBot extends TeamsActivityHandler {
  private readonly commands: CommandHandler[] = [];
  private readonly cardActions = new Map<string, GatedCardAction>();
  /** The conversation references this instance wrote lately, to skip rewriting an unchanged one on every turn. */
  private readonly remembered = new RecentWrites(10_000, 10 * 60_000);

  constructor(private readonly deps: MailroomBotDeps) {
    super();
  }

  /** Adds a command; commands are matched in the order they were added. */
  command(handler: CommandHandler): this {
    this.commands.push(handler);
    return this;
  }

  cardAction(handler: GatedCardAction): this {
    this.cardActions.set(handler.verb, handler);
    return this;
  }

  listCommands(): readonly CommandInfo[] {
    return this.commands;
  }

  /** Every activity passes the tenant and user check before any handler runs. */
  protected override async onTurnActivity(ctx: TurnContext): Promise<void> {
    const a = ctx.activity;
    const check = checkActor(a, this.deps.allowedTenantIds);
    if (!check.ok) {
      // Every field here comes from the caller: logged clipped, and the answer says nothing of why.
      this.deps.log.warn('activity refused', {
        reason: check.reason,
        tenantId: clipOrNull(check.tenantId, 64),
        channelId: clipOrNull(a.channelId, 32),
        type: clipOrNull(a.type, 32),
        from: clipOrNull(a.from?.aadObjectId ?? a.from?.id, 64),
        conversation: clipOrNull(a.conversation?.id, 128),
      });
      if (a.type === (ActivityTypes.Invoke as string)) {
        await ctx.sendActivity({ type: ActivityTypes.InvokeResponse, value: { status: 403 } as InvokeResponse });
      }
      return;
    }
    await this.remember(ctx);
    await super.onTurnActivity(ctx);
  }

  /** Stores the conversation reference (idempotent: clients resend install and update events). */
  private async remember(ctx: TurnContext): Promise<boolean> {
    const a = ctx.activity;
    if (!a.conversation?.id || !a.serviceUrl) return false;
    if (a.type === (ActivityTypes.InstallationUpdate as string) && a.action?.startsWith('remove')) {
      this.remembered.forget(a.conversation.id);
      await this.deps.conversations.markUninstalled(a.conversation.id);
      return false;
    }
    const kind = conversationKind(a);
    const channelData = (a.channelData ?? {}) as { channel?: { id?: string }; team?: { id?: string } };
    const reference = TurnContext.getConversationReference(a) as unknown as Record<string, unknown>;
    const input = {
      conversationId: a.conversation.id,
      conversationType: kind,
      tenantId: (a.conversation.tenantId ?? (a.channelData as { tenant?: { id?: string } } | undefined)?.tenant?.id ?? '').toLowerCase(),
      serviceUrl: a.serviceUrl,
      userAadObjectId: kind === 'personal' ? (a.from?.aadObjectId?.toLowerCase() ?? null) : null,
      channelId: channelData.channel?.id ?? null,
      teamId: channelData.team?.id ?? null,
      reference,
      botInstalled: true,
    };
    // Messages and card clicks repeat the reference they came with: write it only when it changed (or now and
    // then). Install and membership events always write, so a reinstall seen by another instance is never missed.
    const everyday = a.type === (ActivityTypes.Message as string) || a.type === (ActivityTypes.Invoke as string);
    // (the activity id differs on every activity and matters to no proactive message: it is left out of the comparison)
    const fingerprint = JSON.stringify({ ...input, reference: { ...reference, activityId: undefined } });
    if (everyday && this.remembered.fresh(a.conversation.id, fingerprint)) {
      ctx.turnState.set(NEW_CONVERSATION, false);
      return false;
    }
    const { created } = await this.deps.conversations.upsert(input);
    this.remembered.set(a.conversation.id, fingerprint);
    ctx.turnState.set(NEW_CONVERSATION, created);
    return created;
  }

  private async turnInfo(ctx: TurnContext): Promise<TurnInfo> {
    const check = checkActor(ctx.activity, this.deps.allowedTenantIds);
    if (!check.ok) throw new Error('turnInfo called for a refused activity');
    return { actor: check.actor, roles: await this.deps.roles.rolesOf(check.actor.aadObjectId) };
  }

  protected override async onInstallationUpdateAddActivity(ctx: TurnContext): Promise<void> {
    await this.welcomeOnce(ctx);
  }

  protected override async onConversationUpdateActivity(ctx: TurnContext): Promise<void> {
    const botId = ctx.activity.recipient?.id;
    if (ctx.activity.membersAdded?.some((m) => m.id === botId)) await this.welcomeOnce(ctx);
    await super.onConversationUpdateActivity(ctx);
  }

  /** Clients resend install and join events on every load: welcome a conversation only the first time. */
  private async welcomeOnce(ctx: TurnContext): Promise<void> {
    if (ctx.turnState.get(NEW_CONVERSATION) !== true) return;
    const turn = await this.turnInfo(ctx);
    await ctx.sendActivity({ attachments: [this.deps.cards.attachment('welcome', { name: turn.actor.name, roles: turn.roles })] });
    this.deps.log.info('welcomed conversation', { conversation: ctx.activity.conversation.id, kind: conversationKind(ctx.activity) });
  }

  protected override async onMessageActivity(ctx: TurnContext): Promise<void> {
    const turn = await this.turnInfo(ctx);
    const length = ctx.activity.text?.length ?? 0;
    if (length > MAX_MESSAGE_CHARS) {
      this.deps.log.warn('message refused: too long', { length, actor: turn.actor.aadObjectId });
      await ctx.sendActivity({
        attachments: [
          this.deps.cards.notice({
            title: 'Your message is too long',
            text: md`It has ${length.toLocaleString('en-US')} characters; Mailroom reads messages of at most ${MAX_MESSAGE_CHARS.toLocaleString('en-US')} characters. Nothing was changed. Type **help** to see the commands you can use.`,
            tone: 'warning',
          }),
        ],
      });
      return;
    }
    const text = normaliseText(TurnContext.removeRecipientMention(ctx.activity) ?? ctx.activity.text ?? '');
    // A file attached to anything but `bulk <kind>`: say how files are used (nothing is downloaded).
    const fileNotice = unexpectedFileNotice(ctx.activity, text);
    if (fileNotice) return void (await ctx.sendActivity({ attachments: [this.deps.cards.notice(fileNotice)] }));
    if (!text) {
      if (ctx.activity.value) {
        await ctx.sendActivity({
          attachments: [this.deps.cards.notice({ title: 'This card is out of date', text: md`Its button belongs to an older version of Mailroom. Nothing was changed. Type **help** for the current commands.`, tone: 'warning' })],
        });
      }
      return;
    }
    for (const cmd of this.commands) {
      const m = cmd.pattern.exec(text);
      if (!m) continue;
      if (!allowedFor(cmd, turn.roles)) {
        this.deps.log.warn('command refused: role missing', { command: cmd.name, actor: turn.actor.aadObjectId, roles: turn.roles });
        await this.auditRefusal(turn, { via: 'chat', command: cmd.name });
        await ctx.sendActivity({ attachments: [this.deps.cards.notice(refusedNotice(cmd, turn.actor))] });
        return;
      }
      await cmd.handle(ctx, turn, m);
      return;
    }
    const allowed = this.commands.filter((c) => allowedFor(c, turn.roles));
    const hint = suggest(text, allowed);
    await ctx.sendActivity({
      attachments: [
        this.deps.cards.notice({
          title: 'I did not understand that',
          text: md`"${clip(text, 60)}" is not a Mailroom command.${hint ? md` Did you mean **${hint.usage}**?` : ''} Type **help** to see the commands you can use.`,
          tone: 'info',
        }),
      ],
    });
  }

  protected override async onAdaptiveCardInvoke(ctx: TurnContext, value: AdaptiveCardInvokeValue): Promise<AdaptiveCardInvokeResponse> {
    const turn = await this.turnInfo(ctx);
    const verb = value.action?.verb ?? '';
    const handler = this.cardActions.get(verb);
    if (!handler) {
      this.deps.log.warn('unknown card verb', { verb, actor: turn.actor.aadObjectId });
      return cardResponse(this.deps.cards.render('notice', { title: 'This card is out of date', text: `Mailroom does not know the action "${clip(verb, 40)}". Nothing was changed.`, tone: 'warning', facts: [] }));
    }
    if (!allowedFor(handler, turn.roles)) {
      this.deps.log.warn('card action refused: role missing', { verb, actor: turn.actor.aadObjectId, roles: turn.roles });
      await this.auditRefusal(turn, { via: 'card', verb, action: handler.name });
      return cardResponse(this.deps.cards.render('notice', { ...refusedNotice(handler, turn.actor), facts: [] }));
    }
    const data: Record<string, unknown> = value.action?.data ?? {};
    const card = await handler.handle(ctx, turn, data);
    return card ? cardResponse(card) : { statusCode: 200, type: 'application/vnd.microsoft.activity.message', value: undefined as never };
  }

  /**
   * Audits a role refusal (`access.refused`): who tried which command or card verb, and the roles they have. Nothing
   * from the request itself (no card data, no arguments): the refusal happened before any of it was read. A failure
   * to audit is logged; the person still gets the refusal.
   */
  private async auditRefusal(turn: TurnInfo, what: { via: 'chat'; command: string } | { via: 'card'; verb: string; action: string }): Promise<void> {
    try {
      await this.deps.audit.append({ actorAadObjectId: turn.actor.aadObjectId, actorName: turn.actor.name, event: 'access.refused', data: { ...what, roles: [...turn.roles] } });
    } catch (err) {
      this.deps.log.error('the role refusal was not audited', { ...what, actor: turn.actor.aadObjectId, err });
    }
  }
}

const NEW_CONVERSATION = Symbol('mailroom.newConversation');

/**
 * The longest message text Mailroom reads. The longest valid command (a one-liner with every field of the largest
 * request kind at its limit: 4,000 characters of members, 1,024 of description, …) is about 6,000 characters; Teams
 * may add markup around pasted text, so twice that, rounded up. Teams itself allows messages of about 28 KB.
 */
export const MAX_MESSAGE_CHARS = 16_000;

/** What was written per key and when: bounded (oldest out first) and aged (a write older than `maxAgeMs` is not fresh). */
class RecentWrites {
  private readonly entries = new Map<string, { fingerprint: string; at: number }>();

  constructor(
    private readonly capacity: number,
    private readonly maxAgeMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  fresh(key: string, fingerprint: string): boolean {
    const e = this.entries.get(key);
    return e !== undefined && e.fingerprint === fingerprint && this.now() - e.at < this.maxAgeMs;
  }

  set(key: string, fingerprint: string): void {
    this.entries.delete(key);
    if (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, { fingerprint, at: this.now() });
  }

  forget(key: string): void {
    this.entries.delete(key);
  }
}

function cardResponse(card: Record<string, unknown>): AdaptiveCardInvokeResponse {
  return { statusCode: 200, type: 'application/vnd.microsoft.card.adaptive', value: card };
}

function normaliseText(text: string): string {
  return text.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim();
}

function clipOrNull(s: string | undefined, n: number): string | null {
  return typeof s === 'string' ? clip(s, n) : null;
}

function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

function refusedNotice(cmd: Pick<CommandInfo, 'name' | 'roles'>, actor: Actor) {
  const needs = cmd.roles === 'anyone' ? 'any role' : cmd.roles.join(' or ');
  return {
    title: 'Not allowed',
    text: md`**${cmd.name}** needs the ${needs} role, and ${actor.name} does not have it. Nothing was changed. Ask your Mailroom admin if you need it.`,
    tone: 'warning' as const,
  };
}
