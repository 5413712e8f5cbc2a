import type { Logger } from '../log';
import type { RequestRecord } from '../store';
import type { BatchAddress, BatchApprovalView, BatchCardContent, BatchPlace, BatchProgressView, CardPlace, CardReferences, RequestNotifications } from '../workflow/ports';
import type { RequestView } from '../workflow/request-view';
import type { SweepReport } from '../workflow/sweep';
import { batchApprovalCard, batchPreviewCard, batchProgressCard } from './batch-cards';
import type { CardRenderer } from './cards';
import { ConversationNotFoundError, Notifier } from './notifier';
import { LatestWins } from './pacing';
import { approvalCard, statusCard, sweepCard } from './request-cards';
import type { TeamsReach } from './teams-reach';

/**
 * How people hear about requests in Teams: proactive cards to approvers (and the approvals channel), in-place
 * updates of every copy of a request's cards, messages to the requester, reminders and the sweep's report.
 */
export class TeamsNotifications implements RequestNotifications {
  /** Progress card updates: per card the latest state wins (a superseded update is dropped, never sent). */
  private readonly progress = new LatestWins((card, err) => this.log.warn('a batch progress card could not be updated', { card, err }));

  constructor(
    private readonly notifier: Notifier,
    private readonly cards: CardRenderer,
    private readonly cardRefs: CardReferences,
    private readonly log: Logger,
    /** The channel that gets a kind's approval cards (approvals here, APPROVAL_CHANNEL_ID), if any. */
    private readonly channelFor: (kind: string) => Promise<string | undefined>,
    /** Installs Mailroom for people who never opened it and posts to their activity feed (TEAMS_APP_CATALOG_ID); absent: only installed people are reached. */
    private readonly reach?: TeamsReach,
    /** Who hears at once when nobody could be reached (the admins). */
    private readonly adminUserIds: readonly string[] = [],
  ) {}

  /**
   * Sends to a person's personal chat; when Mailroom has none, installs itself for them first (with reach). Returns
   * the posted card's place, or why they could not be reached.
   */
  private async sendReaching(userId: string, tenantId: string, msg: { card?: Record<string, unknown>; text?: string }): Promise<{ ok: true; conversationId: string; activityId: string | undefined } | { ok: false; why: string }> {
    try {
      return { ok: true, ...(await this.notifier.sendToUser(userId, tenantId, msg)) };
    } catch (err) {
      if (!(err instanceof ConversationNotFoundError)) throw err;
    }
    if (!this.reach) return { ok: false, why: 'Mailroom is not installed for them, and it may not install itself (TEAMS_APP_CATALOG_ID is not set)' };
    const r = await this.reach.reach(userId, tenantId);
    if (!r.ok) return { ok: false, why: r.why };
    try {
      return { ok: true, ...(await this.notifier.sendToUser(userId, tenantId, msg)) };
    } catch (err) {
      return { ok: false, why: `the card could not be posted to the chat Mailroom has with them now (${err instanceof Error ? err.message : String(err)})` };
    }
  }

  /**
   * Posts an approval card to each approver (reaching those who never opened Mailroom) and to the approvals channel of
   * its kind; answers where each copy went (aadObjectId null: the channel), who was reached, and why anyone was not.
   */
  private async postApprovalCard(what: { readonly reference: string; readonly kind: string; readonly tenantId: string }, card: Record<string, unknown>, approverUserIds: readonly string[]): Promise<{ readonly places: readonly BatchPlace[]; readonly reachedIds: readonly string[]; readonly reached: number; readonly missed: readonly string[] }> {
    const places: BatchPlace[] = [];
    const reachedIds: string[] = [];
    const missed: string[] = [];
    for (const id of approverUserIds) {
      const sent = await this.sendReaching(id, what.tenantId, { card });
      if (!sent.ok) {
        missed.push(sent.why);
        this.log.warn('approver cannot be reached', { reference: what.reference, approver: id, why: sent.why });
        continue;
      }
      reachedIds.push(id);
      if (sent.activityId) places.push({ aadObjectId: id, conversationId: sent.conversationId, activityId: sent.activityId });
    }
    let reached = reachedIds.length;
    const channel = await this.channelFor(what.kind);
    if (channel) {
      try {
        const activityId = await this.notifier.sendToConversation(channel, { card });
        reached++;
        if (activityId) places.push({ aadObjectId: null, conversationId: channel, activityId });
      } catch (err) {
        if (!(err instanceof ConversationNotFoundError)) throw err;
        this.log.warn('the approvals channel cannot be reached: Mailroom is not installed in its team', { reference: what.reference });
        missed.push('the approvals channel: Mailroom is not installed in its team');
      }
    }
    return { places, reachedIds, reached, missed: [...new Set(missed)] };
  }

  async approvalNeeded(record: RequestRecord, view: RequestView, approverUserIds: readonly string[]): Promise<void> {
    const sent = await this.postApprovalCard(record, approvalCard(this.cards, view), approverUserIds);
    for (const p of sent.places) {
      await this.cardRefs.add({ requestId: record.id, audience: p.aadObjectId === null ? 'channel' : 'approver', aadObjectId: p.aadObjectId, conversationId: p.conversationId, activityId: p.activityId });
    }
    for (const id of sent.reachedIds) {
      await this.reach?.feed(id, record.tenantId, { reference: record.reference, requester: view.requesterName, preview: `${view.requesterName} asks you to approve ${record.reference}: ${view.kindTitle}${view.summary ? ` (${view.summary})` : ''}` });
    }
    if (sent.reached === 0) await this.nobodyReached(record, sent.missed.length ? sent.missed : ['no approver was found for it']);
  }

  /**
   * One approval card for a batch, to each of its approvers (reaching those who never opened Mailroom) and to the
   * approvals channel; answers where each copy went, so that a decision updates them all. Nobody reached: its requester
   * and the admins hear why.
   */
  async batchApprovalNeeded(batch: BatchAddress, view: BatchApprovalView, approverUserIds: readonly string[]): Promise<readonly BatchPlace[]> {
    const sent = await this.postApprovalCard(batch, batchApprovalCard(this.cards, view), approverUserIds);
    if (!sent.reached) {
      const why = sent.missed.length ? sent.missed.join('; ') : 'no approver was found for it';
      for (const id of new Set([batch.requesterAadObjectId, ...this.adminUserIds])) {
        await this.notifier.sendToUser(id, batch.tenantId, { text: `Nobody could be told that ${batch.reference} waits for approval: ${why}.` }).catch((err: unknown) => this.log.warn('could not tell that nobody was reached', { batch: batch.reference, err: err instanceof Error ? err.message : String(err) }));
      }
    }
    return sent.places;
  }

  /** Every copy of a batch's preview or approval card, updated in place (a copy that cannot be is logged and left). */
  async batchCardsChanged(places: readonly BatchPlace[], content: BatchCardContent): Promise<void> {
    const card = content.type === 'preview' ? batchPreviewCard(this.cards, content.view) : batchApprovalCard(this.cards, content.view);
    for (const p of places) {
      try {
        await this.notifier.update(p.conversationId, p.activityId, { card });
      } catch (err) {
        this.log.warn('a batch card could not be updated', { batch: content.view.reference, conversation: p.conversationId, err });
      }
    }
  }

  /**
   * The requester's progress card of a batch: posted once (answers where), then updated in place with the latest
   * state only. An update is handed to the coalescer and not waited for: of the updates that pile up while one is in
   * flight, only the newest goes out.
   */
  async batchProgress(batch: BatchAddress, view: BatchProgressView, place: BatchPlace | undefined): Promise<BatchPlace | undefined> {
    const card = batchProgressCard(this.cards, view);
    if (!place) {
      const sent = await this.sendReaching(batch.requesterAadObjectId, batch.tenantId, { card });
      if (!sent.ok) {
        this.log.warn('batch progress card not delivered', { batch: batch.reference, why: sent.why });
        return undefined;
      }
      return sent.activityId ? { aadObjectId: batch.requesterAadObjectId, conversationId: sent.conversationId, activityId: sent.activityId } : undefined;
    }
    this.progress.submit(`${place.conversationId} ${place.activityId}`, () => this.notifier.update(place.conversationId, place.activityId, { card }));
    return undefined;
  }

  /** Resolves when no progress card update is in flight or waiting (shutdown, tests). */
  progressSettled(): Promise<void> {
    return this.progress.idle();
  }

  /** A message about a batch to its requester (its decision, its report). */
  async batchMessage(batch: BatchAddress, text: string): Promise<void> {
    const sent = await this.sendReaching(batch.requesterAadObjectId, batch.tenantId, { text });
    if (!sent.ok) this.log.warn('batch message not delivered', { batch: batch.reference, why: sent.why });
  }

  /** Nobody heard of a request that waits for approval: its requester and the admins are told at once, with why. */
  private async nobodyReached(record: RequestRecord, why: readonly string[]): Promise<void> {
    const text = `Nobody could be told that ${record.reference} waits for approval: ${why.join('; ')}. It waits all the same; an administrator can install Mailroom for the approvers, or set TEAMS_APP_CATALOG_ID so that Mailroom installs itself.`;
    for (const id of new Set([record.requesterAadObjectId, ...this.adminUserIds])) {
      try {
        await this.notifier.sendToUser(id, record.tenantId, { text });
      } catch (err) {
        this.log.warn('could not tell that nobody was reached', { reference: record.reference, to: id, err: err instanceof Error ? err.message : String(err) });
      }
    }
  }

  async requestChanged(record: RequestRecord, view: RequestView, message: string | undefined, answered?: CardPlace): Promise<void> {
    const cards = (await this.cardRefs.list(record.id)).filter((c) => answered === undefined || c.conversationId !== answered.conversationId || c.activityId !== answered.activityId);
    // One card per audience, rendered once however many people see it; each update gets its own copy.
    const audiences = cards.map((c) => c.audience);
    const shown = new Map<string, string>();
    const cardFor = (audience: (typeof audiences)[number]): Record<string, unknown> => {
      const text = shown.get(audience);
      if (text !== undefined) return JSON.parse(text) as Record<string, unknown>;
      const card = audience === 'requester' ? statusCard(this.cards, view) : approvalCard(this.cards, view);
      if (audiences.indexOf(audience) !== audiences.lastIndexOf(audience)) shown.set(audience, JSON.stringify(card));
      return card;
    };
    for (const c of cards) {
      const card = cardFor(c.audience);
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
      const sent = await this.sendReaching(id, record.tenantId, { text: `Reminder: ${record.reference} (${view.kindTitle} for ${view.summary}, from ${view.requesterName}) still waits for your decision.` });
      if (!sent.ok) this.log.warn('reminder not delivered', { reference: record.reference, approver: id, why: sent.why });
    }
  }

  /** The card that showed a revealed password, updated in place for everyone: the request's card with `notice`, no password. */
  async passwordHidden(card: { readonly conversationId: string; readonly activityId: string }, view: RequestView, notice: string): Promise<void> {
    await this.notifier.update(card.conversationId, card.activityId, { card: statusCard(this.cards, view, notice, { canReveal: false }) });
  }

  /** The daily audit chain head, to each admin's personal chat; the log has it too. */
  async auditHeadReported(text: string, adminUserIds: readonly string[], tenantId: string): Promise<void> {
    for (const admin of adminUserIds) {
      try {
        await this.notifier.sendToUser(admin, tenantId, { text });
      } catch (err) {
        this.log.warn('audit head report not delivered', { admin, err });
      }
    }
  }

  async sweepReported(report: SweepReport, adminUserIds: readonly string[], tenantId: string): Promise<void> {
    const card = sweepCard(this.cards, report);
    for (const admin of adminUserIds) {
      try {
        await this.notifier.sendToUser(admin, tenantId, { card });
      } catch (err) {
        this.log.warn('sweep report not delivered', { admin, err });
      }
    }
  }
}
