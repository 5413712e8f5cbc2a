import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { TurnContext } from 'botbuilder';
import type { Logger } from '../log';
import { COMMAND_FIELD, KIND_IDS, KINDS, isKindId, parseCommand, type FieldError, type KindId } from '../requests';
import type { RequestRecord, Store } from '../store';
import { keptLine, type RollbackPlan } from '../plans';
import type { RequestActor, RequestNotifications, RequestService, RequestView } from '../workflow/request-service';
import type { CloudManagedSweep, SweepReport } from '../workflow/sweep';
import type { CardRenderer } from './cards';
import type { CardActionHandler, CommandHandler, MailroomBot } from './mailroom-bot';
import { ConversationNotFoundError, Notifier } from './notifier';
import type { TurnInfo } from './turn';

type Card = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// Cards
// ---------------------------------------------------------------------------------------------

export function formCard(cards: CardRenderer, kind: KindId, values: Record<string, unknown>, errors: readonly FieldError[]): Card {
  const def = KINDS[kind];
  const byField = new Map<string, string[]>();
  for (const e of errors) byField.set(e.field, [...(byField.get(e.field) ?? []), e.message]);
  const known = new Set(def.fields.map((f) => f.id));
  const general = errors.filter((e) => !known.has(e.field)).map((e) => e.message);
  const fields = def.fields.map((f) => {
    const v = values[f.id];
    const value = typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : f.type === 'toggle' ? (f.default ?? 'false') : (f.default ?? '');
    return {
      id: f.id,
      label: f.label,
      type: f.type,
      required: f.required,
      placeholder: f.placeholder ?? '',
      help: f.help ?? '',
      maxLength: f.maxLength ?? 256,
      choices: f.choices ?? [],
      value,
      error: (byField.get(f.id) ?? []).join(' '),
    };
  });
  const n = errors.length;
  return cards.render('request-form', {
    kind,
    title: `New request: ${def.title}`,
    description: def.description,
    errors,
    summary: n ? `${n} problem${n === 1 ? '' : 's'} — nothing was requested. ${general.join(' ')}`.trim() : '',
    fields,
  });
}

function approvalCard(cards: CardRenderer, view: RequestView, notice = ''): Card {
  return cards.render('request-approval', { ...view, canDecide: view.approvalStatus === 'pending', notice });
}

function statusCard(cards: CardRenderer, view: RequestView, notice = '', extra: { canReveal?: boolean; secret?: string } = {}): Card {
  return cards.render('request-status', {
    ...view,
    notice,
    canReveal: extra.canReveal ?? (view.status === 'done' && (view.kind === 'user-mailbox' || view.kind === 'mail-user') && !extra.secret),
    secret: extra.secret ?? '',
  });
}

/**
 * The confirmation of a roll back: exactly what will be removed (in order) and what stays, with "Roll back now"
 * (carrying the version and a fingerprint of that list) and "Keep".
 */
export function rollbackCard(cards: CardRenderer, view: RequestView, plan: RollbackPlan | undefined, digest: string, notice = ''): Card {
  return cards.render('request-rollback', {
    reference: view.reference,
    kindTitle: view.kindTitle,
    version: view.version,
    statusText: view.statusText,
    notice,
    remove: (plan?.steps ?? []).map((s, i) => ({ n: i + 1, summary: s.summary })),
    kept: (plan?.kept ?? []).map((k) => ({ text: keptLine(k) })),
    notes: (plan?.notes ?? []).map((text) => ({ text })),
    canConfirm: (plan?.steps.length ?? 0) > 0 && digest !== '',
    digest,
  });
}

// ---------------------------------------------------------------------------------------------
// Notifications: proactive cards and in-place updates of every copy
// ---------------------------------------------------------------------------------------------

export class TeamsRequestNotifications implements RequestNotifications {
  constructor(
    private readonly notifier: Notifier,
    private readonly cards: CardRenderer,
    private readonly store: Store,
    private readonly log: Logger,
    private readonly channelConversationId: string | undefined,
  ) {}

  async approvalNeeded(record: RequestRecord, view: RequestView, approverUserIds: readonly string[]): Promise<void> {
    const card = approvalCard(this.cards, view);
    for (const id of approverUserIds) {
      try {
        const sent = await this.notifier.sendToUser(id, record.tenantId, { card });
        if (sent.activityId) await this.store.cards.add({ requestId: record.id, audience: 'approver', aadObjectId: id, conversationId: sent.conversationId, activityId: sent.activityId });
      } catch (err) {
        if (!(err instanceof ConversationNotFoundError)) throw err;
        this.log.warn('approver cannot be reached: Mailroom is not installed for them', { reference: record.reference, approver: id });
      }
    }
    if (this.channelConversationId) {
      try {
        const activityId = await this.notifier.sendToConversation(this.channelConversationId, { card });
        if (activityId) await this.store.cards.add({ requestId: record.id, audience: 'channel', aadObjectId: null, conversationId: this.channelConversationId, activityId });
      } catch (err) {
        if (!(err instanceof ConversationNotFoundError)) throw err;
        this.log.warn('the approvals channel cannot be reached: Mailroom is not installed in its team', { reference: record.reference });
      }
    }
  }

  async requestChanged(record: RequestRecord, view: RequestView, message: string | undefined): Promise<void> {
    for (const c of await this.store.cards.list(record.id)) {
      const card = c.audience === 'requester' ? statusCard(this.cards, view) : approvalCard(this.cards, view);
      try {
        await this.notifier.update(c.conversationId, c.activityId, { card });
      } catch (err) {
        this.log.warn('a card could not be updated', { reference: record.reference, conversation: c.conversationId, err });
      }
    }
    if (message) {
      try {
        await this.notifier.sendToUser(record.requesterAadObjectId, record.tenantId, { text: message });
      } catch (err) {
        if (!(err instanceof ConversationNotFoundError)) throw err;
        this.log.warn('requester cannot be reached', { reference: record.reference });
      }
    }
  }

  async remind(record: RequestRecord, view: RequestView, approverUserIds: readonly string[]): Promise<void> {
    for (const id of approverUserIds) {
      try {
        await this.notifier.sendToUser(id, record.tenantId, { text: `Reminder: ${record.reference} (${view.kindTitle} for ${view.summary}, from ${view.requesterName}) still waits for your decision.` });
      } catch (err) {
        if (!(err instanceof ConversationNotFoundError)) throw err;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Commands and card verbs
// ---------------------------------------------------------------------------------------------

const REF = '(r-?\\d{1,9}|\\d{1,9})';

function actorOf(turn: TurnInfo): RequestActor {
  return { aadObjectId: turn.actor.aadObjectId, name: turn.actor.name, tenantId: turn.actor.tenantId, isAdmin: turn.roles.includes('admin') };
}

function errorLines(errors: readonly FieldError[]): string {
  return errors.map((e) => `- ${e.message}`).join('\n');
}

const REQUEST_PHRASES = KIND_IDS.flatMap((k) => KINDS[k].command.phrases.map((p) => p.toLowerCase()));

export interface RequestHandlersDeps {
  readonly service: RequestService;
  readonly cards: CardRenderer;
  readonly store: Store;
  readonly log: Logger;
  readonly exportDir: string;
  /** Returns a generated password once (the secret vault), or undefined when there is none any more. */
  readonly revealOnce?: (requestId: number) => Promise<string | undefined>;
  readonly sweep?: CloudManagedSweep;
}

/** The sweep's report as a card for admins. */
export function sweepCard(cards: CardRenderer, report: SweepReport): Card {
  const lines = [
    ...report.changed.map((c) => ({ title: 'made cloud-managed', value: `${c.name} <${c.address}>` })),
    ...report.failed.map((f) => ({ title: 'failed', value: `${f.name} <${f.address}>: ${f.error}` })),
  ].slice(0, 40);
  return cards.render('notice', {
    title: 'Cloud-managed sweep',
    text: `${report.checked} mailboxes checked: ${report.changed.length} made cloud-managed, ${report.failed.length} failed, ${report.alreadyCloudManaged} were cloud-managed already.${report.changed.length ? ' From now on, edit their Exchange attributes in Exchange Online: AD changes no longer reach them, except mail.' : ''}`,
    tone: report.failed.length ? 'warning' : 'good',
    facts: lines,
  });
}

/** Registers every request command and card verb on the bot. */
export function registerRequestHandlers(bot: MailroomBot, deps: RequestHandlersDeps): void {
  const { service, cards, store } = deps;
  const notice = (title: string, text: string, tone: 'info' | 'good' | 'warning' | 'error' = 'info') => ({ attachments: [cards.notice({ title, text, tone })] });

  const reply = async (ctx: TurnContext, card: Card) => {
    const res = await ctx.sendActivity({ attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: card }] });
    return res?.id;
  };

  const fileRequest = async (ctx: TurnContext, turn: TurnInfo, kind: KindId, values: Record<string, unknown>, source: 'form' | 'command') => {
    const result = await service.submit(actorOf(turn), kind, values, source);
    return result;
  };

  const commands: CommandHandler[] = [
    {
      name: 'new',
      usage: 'new',
      description: 'Pick a request kind and fill in its form.',
      roles: ['requester'],
      pattern: /^new( request)?$/i,
      async handle(ctx) {
        const kinds = KIND_IDS.map((k) => ({ id: k, title: KINDS[k].title, description: KINDS[k].description }));
        await reply(ctx, cards.render('kind-picker', { kinds, example: KINDS['user-mailbox'].command.example }));
      },
    },
    {
      name: 'new <kind>',
      usage: 'new mailbox first=Ada last=Lovelace department=Research',
      description: `Request in one line, or without values to get the form. Kinds: ${KIND_IDS.map((k) => KINDS[k].command.phrases[0] ?? k).join(', ')}.`,
      roles: ['requester'],
      pattern: new RegExp(`^(${REQUEST_PHRASES.map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/ /g, '\\s+')).join('|')})(\\s.*)?$`, 'i'),
      async handle(ctx, turn, match) {
        const text = match[0];
        const parsed = parseCommand(text);
        if (!parsed.ok) {
          if (parsed.kind) {
            await ctx.sendActivity(notice('Nothing was requested', errorLines(parsed.errors), 'warning'));
            await reply(ctx, formCard(cards, parsed.kind, {}, []));
          } else {
            await ctx.sendActivity(notice('Nothing was requested', errorLines(parsed.errors), 'warning'));
          }
          return;
        }
        if (Object.keys(parsed.values).length === 0) {
          await reply(ctx, formCard(cards, parsed.kind, {}, []));
          return;
        }
        const result = await fileRequest(ctx, turn, parsed.kind, parsed.values, 'command');
        if (!result.ok) {
          if (result.refused) await ctx.sendActivity(notice('Nothing was requested', result.refused, 'warning'));
          else {
            await ctx.sendActivity(notice('Nothing was requested', `Please correct:\n${errorLines(result.errors)}`, 'warning'));
            await reply(ctx, formCard(cards, parsed.kind, parsed.values, result.errors));
          }
          return;
        }
        const id = await reply(ctx, statusCard(cards, result.view));
        if (id) await store.cards.add({ requestId: result.record.id, audience: 'requester', aadObjectId: turn.actor.aadObjectId, conversationId: ctx.activity.conversation.id, activityId: id });
      },
    },
    {
      name: 'status',
      usage: 'status R-12',
      description: 'Shows a request, its plan and where it stands.',
      roles: 'anyone',
      pattern: new RegExp(`^status\\s+${REF}$`, 'i'),
      async handle(ctx, turn, m) {
        const found = await service.get(m[1] ?? '');
        if (!found || !(await service.maySee(actorOf(turn), found.record))) {
          await ctx.sendActivity(notice('Not found', `There is no request ${m[1] ?? ''} that you may see.`, 'warning'));
          return;
        }
        await reply(ctx, statusCard(cards, await service.viewOf(found.record)));
      },
    },
    {
      name: 'my requests',
      usage: 'my requests',
      description: 'Lists your requests, newest first.',
      roles: ['requester'],
      pattern: /^my requests?$/i,
      async handle(ctx, turn) {
        const items = await service.listMine(actorOf(turn));
        await reply(ctx, cards.render('request-list', { title: 'Your requests', empty: 'You have made no requests yet. Type **new** to make one.', items }));
      },
    },
    {
      name: 'my approvals',
      usage: 'my approvals',
      description: 'Lists the requests that wait for your decision.',
      roles: ['approver', 'admin'],
      pattern: /^my approvals?$/i,
      async handle(ctx, turn) {
        const items = await service.listAwaiting(actorOf(turn));
        await reply(ctx, cards.render('request-list', { title: 'Waiting for your decision', empty: 'Nothing waits for your decision.', items }));
        for (const v of items.slice(0, 5)) await reply(ctx, approvalCard(cards, v));
      },
    },
    {
      name: 'cancel',
      usage: 'cancel R-12',
      description: 'Cancels a request that has not finished: before it runs, or while it runs (the step under way finishes, nothing after it runs).',
      roles: ['requester', 'approver', 'admin'],
      pattern: new RegExp(`^cancel\\s+${REF}$`, 'i'),
      async handle(ctx, turn, m) {
        const res = await service.cancel(actorOf(turn), m[1] ?? '', undefined);
        if (!res.ok) return void (await ctx.sendActivity(notice('Not cancelled', res.message, 'warning')));
        await ctx.sendActivity(notice('Cancelled', `${res.record.reference} was cancelled.`, 'good'));
        if (res.view.running) await reply(ctx, statusCard(cards, res.view));
      },
    },
    {
      name: 'rollback',
      usage: 'rollback R-12',
      description: 'Shows what a roll back of a stopped or cancelled request removes (what Mailroom created) and what stays, to confirm; "rollback R-12 now" starts it.',
      // The request's requester, its kind's approvers and admins: checked (and refusals audited) per request.
      roles: 'anyone',
      pattern: new RegExp(`^roll\\s?-?back\\s+${REF}(\\s+now)?$`, 'i'),
      async handle(ctx, turn, m) {
        const reference = m[1] ?? '';
        if (m[2]) {
          const res = await service.rollback(actorOf(turn), reference, undefined);
          if (res.ok) {
            await ctx.sendActivity(notice('Rolling back', `${res.record.reference} is being rolled back; its status card follows the steps.`, 'good'));
            await reply(ctx, statusCard(cards, res.view));
          } else {
            await ctx.sendActivity(notice('Not rolled back', res.message, 'warning'));
          }
          return;
        }
        const preview = await service.rollbackPreview(actorOf(turn), reference, undefined);
        if (!preview.ok) return void (await ctx.sendActivity(notice('Not rolled back', preview.message, 'warning')));
        await reply(ctx, rollbackCard(cards, preview.view, preview.plan, preview.digest));
      },
    },
    {
      name: 'approve',
      usage: 'approve R-12',
      description: 'Approves a request that waits for you.',
      roles: ['approver', 'admin'],
      pattern: new RegExp(`^approve\\s+${REF}$`, 'i'),
      async handle(ctx, turn, m) {
        const found = await service.get(m[1] ?? '');
        const res = await service.decide(actorOf(turn), m[1] ?? '', found?.record.version ?? -1, 'approve', undefined);
        await ctx.sendActivity(res.ok ? notice('Approved', `${res.record.reference}: ${res.view.statusText}`, 'good') : notice('Not approved', res.message, 'warning'));
      },
    },
    {
      name: 'reject',
      usage: 'reject R-12 <reason>',
      description: 'Rejects a request that waits for you; the reason goes to the requester.',
      roles: ['approver', 'admin'],
      pattern: new RegExp(`^reject\\s+${REF}(?:\\s+(.*))?$`, 'is'),
      async handle(ctx, turn, m) {
        const found = await service.get(m[1] ?? '');
        const res = await service.decide(actorOf(turn), m[1] ?? '', found?.record.version ?? -1, 'reject', m[2]);
        await ctx.sendActivity(res.ok ? notice('Rejected', `${res.record.reference}: ${res.view.statusText}`, 'good') : notice('Not rejected', res.message, 'warning'));
      },
    },
    {
      name: 'audit',
      usage: 'audit R-12',
      description: "Shows a request's audit trail.",
      roles: 'anyone',
      pattern: new RegExp(`^audit\\s+${REF}$`, 'i'),
      async handle(ctx, turn, m) {
        const found = await service.get(m[1] ?? '');
        if (!found || !(await service.maySee(actorOf(turn), found.record))) {
          await ctx.sendActivity(notice('Not found', `There is no request ${m[1] ?? ''} that you may see.`, 'warning'));
          return;
        }
        const events = await store.audit.list({ requestRef: found.record.reference, limit: 200 });
        const check = await store.audit.verify();
        await reply(
          ctx,
          cards.render('audit-trail', {
            reference: found.record.reference,
            chainText: check.ok ? `The audit chain verifies (${check.count} events in all).` : `The audit chain is BROKEN at event ${check.brokenAtSeq}: ${check.reason}`,
            events: events.map((e) => ({ seq: e.seq, at: e.at.replace('T', ' ').slice(0, 19), event: e.event, actor: e.actorName, detail: detailOf(e.data) })),
          }),
        );
      },
    },
    {
      name: 'export audit',
      usage: 'export audit',
      description: 'Exports the whole audit log as CSV.',
      roles: ['admin'],
      pattern: /^export audit( log)?$/i,
      async handle(ctx, turn) {
        let csv = '';
        const rows = await store.audit.exportCsv((chunk) => {
          csv += chunk;
        });
        const check = await store.audit.verify();
        mkdirSync(deps.exportDir, { recursive: true });
        const file = path.join(deps.exportDir, `audit-${new Date().toISOString().replace(/[:.]/g, '-')}.csv`);
        writeFileSync(file, csv, { mode: 0o600 });
        await store.audit.append({ actorAadObjectId: turn.actor.aadObjectId, actorName: turn.actor.name, event: 'audit.exported', data: { rows, file: path.basename(file) } });
        const head = check.ok ? `chain verified, last hash ${check.lastHash}` : `chain BROKEN at event ${check.brokenAtSeq}`;
        const preview = csv.length <= 12_000 ? csv : `${csv.slice(0, 12_000)}\n… (${rows} rows in the file)`;
        await ctx.sendActivity(`Audit log exported: ${rows} events, ${head}. Saved on the Mailroom server as ${file}.\n\n\`\`\`\n${preview}\n\`\`\``);
      },
    },
    {
      name: 'check audit',
      usage: 'check audit',
      description: 'Verifies the hash chain of the audit log.',
      roles: ['admin'],
      pattern: /^(check|verify) audit( log)?$/i,
      async handle(ctx) {
        const check = await store.audit.verify();
        await ctx.sendActivity(
          check.ok
            ? notice('Audit chain verified', `${check.count} events; every hash and link checks out. Last hash: ${check.lastHash}`, 'good')
            : notice('Audit chain broken', `The chain breaks at event ${check.brokenAtSeq}: ${check.reason}`, 'error'),
        );
      },
    },
    {
      name: 'sweep cloud-managed',
      usage: 'sweep cloud-managed',
      description: 'Makes every dir-synced mailbox that is not yet cloud-managed cloud-managed, and reports.',
      roles: ['admin'],
      pattern: /^sweep( cloud-?managed)?$/i,
      async handle(ctx, turn) {
        if (!deps.sweep) return void (await ctx.sendActivity(notice('Not available', 'Exchange Online is not configured.', 'warning')));
        const report = await deps.sweep.sweep({ aadObjectId: turn.actor.aadObjectId, name: turn.actor.name });
        await reply(ctx, sweepCard(cards, report));
      },
    },
    {
      name: 'drift report',
      usage: 'drift report',
      description: 'Lists cloud-managed mailboxes whose Exchange attributes differ between AD and Exchange Online.',
      roles: ['admin'],
      pattern: /^drift( report)?$/i,
      async handle(ctx, turn) {
        if (!deps.sweep) return void (await ctx.sendActivity(notice('Not available', 'Exchange Online is not configured.', 'warning')));
        const { checked, items } = await deps.sweep.drift({ aadObjectId: turn.actor.aadObjectId, name: turn.actor.name });
        await reply(
          ctx,
          cards.render('notice', {
            title: 'Drift report',
            text: items.length ? `${items.length} of ${checked} cloud-managed mailboxes differ between AD and Exchange Online.` : `All ${checked} cloud-managed mailboxes agree between AD and Exchange Online.`,
            tone: items.length ? 'warning' : 'good',
            facts: items.slice(0, 40).map((i) => ({ title: i.address, value: i.differences.join('; ') })),
          }),
        );
      },
    },
  ];
  for (const c of commands) bot.command(c);

  const verbs: CardActionHandler[] = [
    {
      verb: 'request.form',
      handle(_ctx, turn, data) {
        return Promise.resolve(formFor(turn, data));
      },
    },
    {
      verb: 'request.submit',
      async handle(ctx, turn, data) {
        const kind = str(data.kind);
        if (!isKindId(kind)) return cards.render('notice', { title: 'Unknown request kind', text: 'This card is out of date. Nothing was requested.', tone: 'warning', facts: [] });
        const values: Record<string, unknown> = {};
        for (const f of KINDS[kind].fields) if (data[f.id] !== undefined) values[f.id] = data[f.id];
        if (!turn.roles.includes('requester')) {
          await store.audit.append({ actorAadObjectId: turn.actor.aadObjectId, actorName: turn.actor.name, event: 'request.refused', data: { kind, reason: 'not a requester' } });
          return formCard(cards, kind, values, [{ field: COMMAND_FIELD, message: 'Making requests needs the requester role; ask your Mailroom admin.' }]);
        }
        const result = await fileRequest(ctx, turn, kind, values, 'form');
        if (!result.ok) return formCard(cards, kind, values, result.refused ? [{ field: COMMAND_FIELD, message: result.refused }] : result.errors);
        const cardId = ctx.activity.replyToId;
        if (cardId) await store.cards.add({ requestId: result.record.id, audience: 'requester', aadObjectId: turn.actor.aadObjectId, conversationId: ctx.activity.conversation.id, activityId: cardId });
        return statusCard(cards, result.view);
      },
    },
    {
      verb: 'request.retry',
      async handle(_ctx, turn, data) {
        const res = await service.retry(actorOf(turn), str(data.reference), Number(data.version));
        if (res.ok) return statusCard(cards, res.view);
        if (res.view) return statusCard(cards, res.view, res.message);
        return cards.render('notice', { title: 'Not retried', text: res.message, tone: 'warning', facts: [] });
      },
    },
    {
      verb: 'request.reveal',
      async handle(_ctx, turn, data) {
        const found = await service.get(str(data.reference));
        if (!found || found.record.requesterAadObjectId !== turn.actor.aadObjectId) {
          await store.audit.append({ actorAadObjectId: turn.actor.aadObjectId, actorName: turn.actor.name, requestRef: found?.record.reference ?? null, event: 'secret.reveal-refused', data: {} });
          return cards.render('notice', { title: 'Not allowed', text: 'Only the requester can reveal the password of the account Mailroom created. Nothing was shown.', tone: 'warning', facts: [] });
        }
        const view = await service.viewOf(found.record);
        const secret = deps.revealOnce ? await deps.revealOnce(found.record.id) : undefined;
        await store.audit.append({ actorAadObjectId: turn.actor.aadObjectId, actorName: turn.actor.name, requestRef: found.record.reference, event: secret ? 'secret.revealed' : 'secret.reveal-empty', data: {} });
        if (!secret) return statusCard(cards, view, 'The password was revealed already (it is shown once) or none was generated. An admin can reset it in Active Directory.');
        return statusCard(cards, view, '', { secret: `Initial password (shown once; the user must change it at first sign-in): ${secret}` });
      },
    },
    decisionVerb('request.approve', 'approve'),
    decisionVerb('request.reject', 'reject'),
    {
      // Roll back: without `confirm` the confirmation card (what goes, what stays); with it, the roll back starts.
      verb: 'request.rollback',
      async handle(_ctx, turn, data) {
        const reference = str(data.reference).slice(0, 40);
        const version = data.version === undefined ? undefined : Number(data.version);
        if (data.confirm !== true && data.confirm !== 'true') {
          const preview = await service.rollbackPreview(actorOf(turn), reference, version);
          if (preview.ok) return rollbackCard(cards, preview.view, preview.plan, preview.digest);
          if (preview.view) return statusCard(cards, preview.view, preview.message);
          return cards.render('notice', { title: 'Not rolled back', text: preview.message, tone: 'warning', facts: [] });
        }
        const res = await service.rollback(actorOf(turn), reference, version, str(data.digest) || undefined);
        if (res.ok) return statusCard(cards, res.view);
        if (res.preview && res.view) return rollbackCard(cards, res.view, res.preview.plan, res.preview.digest, res.message);
        if (res.view) return statusCard(cards, res.view, res.message);
        return cards.render('notice', { title: 'Not rolled back', text: res.message, tone: 'warning', facts: [] });
      },
    },
    {
      // "Keep" on the confirmation: back to the status card, nothing changed.
      verb: 'request.keep',
      async handle(_ctx, turn, data) {
        const found = await service.get(str(data.reference).slice(0, 40));
        if (!found || !(await service.maySee(actorOf(turn), found.record))) {
          return cards.render('notice', { title: 'Nothing was changed', text: `There is no request ${str(data.reference).slice(0, 40)} that you may see.`, tone: 'info', facts: [] });
        }
        return statusCard(cards, await service.viewOf(found.record), 'Kept as it is: nothing was rolled back.');
      },
    },
    {
      verb: 'request.cancel',
      async handle(_ctx, turn, data) {
        const res = await service.cancel(actorOf(turn), str(data.reference), Number(data.version));
        if (res.ok) return statusCard(cards, res.view);
        if (res.view) return statusCard(cards, res.view, res.message);
        return cards.render('notice', { title: 'Not cancelled', text: res.message, tone: 'warning', facts: [] });
      },
    },
  ];
  for (const v of verbs) bot.cardAction(v);

  function formFor(turn: TurnInfo, data: Record<string, unknown>): Card {
    const kind = str(data.kind);
    if (!isKindId(kind)) return cards.render('notice', { title: 'Unknown request kind', text: 'This card is out of date. Nothing was changed.', tone: 'warning', facts: [] });
    if (!turn.roles.includes('requester')) return cards.render('notice', { title: 'Not allowed', text: 'Making requests needs the requester role. Nothing was changed.', tone: 'warning', facts: [] });
    return formCard(cards, kind, {}, []);
  }

  function decisionVerb(verb: string, outcome: 'approve' | 'reject'): CardActionHandler {
    return {
      verb,
      async handle(_ctx, turn, data) {
        const reason = typeof data.reason === 'string' ? data.reason : undefined;
        const res = await service.decide(actorOf(turn), str(data.reference).slice(0, 40), Number(data.version), outcome, reason);
        if (res.ok) return approvalCard(cards, res.view);
        if (res.view) return approvalCard(cards, res.view, res.message);
        return cards.render('notice', { title: 'Nothing was changed', text: res.message, tone: 'warning', facts: [] });
      },
    };
  }
}

/** A card-data value as text: only strings and numbers count; anything else is empty. */
function str(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
}

function detailOf(data: Record<string, unknown>): string {
  const parts = Object.entries(data)
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  const s = parts.join(' · ');
  return s.length > 300 ? `${s.slice(0, 299)}…` : s;
}
