import type { Logger } from '../log';
import type { RequestRecord } from '../store';
import type { CardReferences, RequestNotifications } from '../workflow/ports';
import type { RequestView } from '../workflow/request-view';
import type { SweepReport } from '../workflow/sweep';
import type { CardRenderer } from './cards';
import { ConversationNotFoundError, Notifier } from './notifier';
import { approvalCard, statusCard, sweepCard } from './request-cards';

/**
 * How people hear about requests in Teams: proactive cards to approvers (and the approvals channel), in-place
 * updates of every copy of a request's cards, messages to the requester, reminders and the sweep's report.
 */
export class TeamsNotifications implements RequestNotifications {
  constructor(
    private readonly notifier: Notifier,
    private readonly cards: CardRenderer,
    private readonly cardRefs: CardReferences,
    private readonly log: Logger,
    private readonly channelConversationId: string | undefined,
  ) {}

  async approvalNeeded(record: RequestRecord, view: RequestView, approverUserIds: readonly string[]): Promise<void> {
    const card = approvalCard(this.cards, view);
    for (const id of approverUserIds) {
      try {
        const sent = await this.notifier.sendToUser(id, record.tenantId, { card });
        if (sent.activityId) await this.cardRefs.add({ requestId: record.id, audience: 'approver', aadObjectId: id, conversationId: sent.conversationId, activityId: sent.activityId });
      } catch (err) {
        if (!(err instanceof ConversationNotFoundError)) throw err;
        this.log.warn('approver cannot be reached: Mailroom is not installed for them', { reference: record.reference, approver: id });
      }
    }
    if (this.channelConversationId) {
      try {
        const activityId = await this.notifier.sendToConversation(this.channelConversationId, { card });
        if (activityId) await this.cardRefs.add({ requestId: record.id, audience: 'channel', aadObjectId: null, conversationId: this.channelConversationId, activityId });
      } catch (err) {
        if (!(err instanceof ConversationNotFoundError)) throw err;
        this.log.warn('the approvals channel cannot be reached: Mailroom is not installed in its team', { reference: record.reference });
      }
    }
  }

  async requestChanged(record: RequestRecord, view: RequestView, message: string | undefined): Promise<void> {
    for (const c of await this.cardRefs.list(record.id)) {
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
