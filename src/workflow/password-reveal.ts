import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { Logger } from '../log';
import type { Store } from '../store';
import type { RequestNotifications } from './ports';
import type { RequestViewService } from './request-views';
import { SecretVaultError, type PurgedSecret } from './secret-vault';
import type { PasswordReveal, RequestActor, RevealOutcome } from './use-cases';

/**
 * How long a revealed password stays on the requester's card: 10 minutes. Long enough to open the card, copy the
 * password into a password manager or read it out to the new user (and for Teams, which re-fetches a card at most
 * once a minute); short enough that a screen left open, a screen share or a look over the shoulder later that day
 * finds nothing. The user must change it at first sign-in anyway.
 */
export const PASSWORD_SHOWN_FOR_MS = 10 * 60_000;

/** Card time for Teams: `{{TIME(…)}}` shows it in the reader's own time zone (the server does not know it). */
export function cardTime(d: Date | string): string {
  const iso = (typeof d === 'string' ? new Date(d) : d).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return `{{TIME(${iso})}}`;
}

/** Markdown-significant characters of a display name, escaped so a name cannot become a link or formatting. */
export function plainName(name: string): string {
  return name.replace(/[\\`*_[\]()<>~]/g, (c) => `\\${c}`);
}

/** The words a card says once a revealed password is no longer shown. */
export function hiddenNotice(revealedAt: Date | string, revealedBy: string): string {
  return `Password revealed at ${cardTime(revealedAt)} by ${plainName(revealedBy)}; it is no longer shown.`;
}

/** The generated password of an account Mailroom created: to its requester, once; every attempt is audited. */
export class PasswordRevealService implements PasswordReveal {
  constructor(
    private readonly store: Pick<Store, 'requests' | 'audit' | 'secrets'>,
    private readonly views: RequestViewService,
    /** Returns the password once (the secret vault), or undefined when there is none any more. */
    private readonly takeOnce: ((requestId: number) => Promise<string | undefined>) | undefined,
    private readonly options: { readonly now?: () => Date; readonly shownForMs?: number; readonly log?: Logger } = {},
  ) {}

  async reveal(actor: RequestActor, reference: string, card?: { readonly conversationId: string; readonly activityId: string }): Promise<RevealOutcome> {
    const record = await this.store.requests.get(reference);
    if (!record || record.requesterAadObjectId !== actor.aadObjectId) {
      await this.store.audit.append({ actorAadObjectId: actor.aadObjectId, actorName: actor.name, requestRef: record?.reference ?? null, event: 'secret.reveal-refused', data: {} });
      return { ok: false, message: 'Only the requester can reveal the password of the account Mailroom created. Nothing was shown.' };
    }
    const view = await this.views.viewOf(record);
    let secret: string | undefined;
    try {
      secret = this.takeOnce ? await this.takeOnce(record.id) : undefined;
    } catch (err) {
      if (!(err instanceof SecretVaultError)) throw err;
      // Decrypt-then-delete: the stored password is still there; the message says what to check.
      await this.store.audit.append({ actorAadObjectId: actor.aadObjectId, actorName: actor.name, requestRef: record.reference, event: 'secret.reveal-failed', data: { reason: 'the stored password could not be decrypted; it was kept' } });
      this.options.log?.error('a stored password could not be decrypted (it was kept)', { reference: record.reference, err: err.message });
      return { ok: false, title: 'Password not revealed', message: err.message };
    }
    await this.store.audit.append({ actorAadObjectId: actor.aadObjectId, actorName: actor.name, requestRef: record.reference, event: secret ? 'secret.revealed' : 'secret.reveal-empty', data: {} });
    if (!secret) return { ok: true, view, secret };
    const now = (this.options.now ?? (() => new Date()))();
    const shownUntil = new Date(now.getTime() + (this.options.shownForMs ?? PASSWORD_SHOWN_FOR_MS));
    if (card && card.conversationId && card.activityId) {
      await this.store.secrets.addReveal({ requestId: record.id, conversationId: card.conversationId, activityId: card.activityId, revealedAt: now, revealedBy: actor.name, hideAt: shownUntil });
    } else {
      this.options.log?.warn('a password was revealed on a card Mailroom cannot update later (the action named no message)', { reference: record.reference });
    }
    return { ok: true, view, secret, shownUntil };
  }

  async afterReveal(actor: RequestActor, reference: string) {
    return this.views.find(actor, reference);
  }
}

/**
 * The durable timer that hides revealed passwords: each reveal is a row in the store with the time its card must be
 * updated; a pass claims the due rows under a lease (several instances share them, a crash leaves them to the next
 * pass) and updates each card in place through the chat layer (Teams `updateActivity`), for everyone who sees it.
 */
export class RevealedPasswordHider {
  private readonly owner = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}:hide`;

  constructor(
    private readonly store: Pick<Store, 'requests' | 'secrets'>,
    private readonly views: RequestViewService,
    private readonly notifications: Pick<RequestNotifications, 'passwordHidden'>,
    private readonly log: Logger,
    private readonly now: () => Date,
    /** Updates tried before a card is given up (and logged). */
    private readonly maxAttempts = 10,
  ) {}

  /** Hides every due card; resolves with how many were updated. */
  async hideDue(): Promise<number> {
    let hidden = 0;
    for (;;) {
      const due = await this.store.secrets.claimDueReveals(this.owner, this.now(), 60_000, 50);
      if (due.length === 0) return hidden;
      for (const reveal of due) {
        try {
          const record = await this.store.requests.get(reveal.requestId);
          if (record && this.notifications.passwordHidden) {
            await this.notifications.passwordHidden(reveal, await this.views.viewOf(record), hiddenNotice(reveal.revealedAt, reveal.revealedBy));
            hidden += 1;
          } else if (record) {
            this.log.error('a revealed password cannot be hidden: the chat layer cannot update cards', { requestId: reveal.requestId });
          }
          await this.store.secrets.removeReveal(reveal.id, this.owner);
        } catch (err) {
          if (reveal.attempts >= this.maxAttempts) {
            this.log.error('a revealed password card could not be updated; given up', { requestId: reveal.requestId, err });
            await this.store.secrets.removeReveal(reveal.id, this.owner);
          } else {
            this.log.warn('a revealed password card could not be updated; it is tried again', { requestId: reveal.requestId, err });
          }
        }
      }
      if (due.length < 50) return hidden;
    }
  }
}

/**
 * Deletes generated passwords nobody revealed in time and audits each deletion (`secret.purged`: which request and
 * when it was stored — never the value).
 */
export class SecretPurge {
  constructor(
    private readonly vault: { purgeOlderThan(date: Date): Promise<PurgedSecret[]> },
    private readonly audit: Pick<Store['audit'], 'append'>,
    private readonly afterMs: number,
    private readonly now: () => Date,
  ) {}

  /** Resolves with how many secrets were deleted. */
  async run(): Promise<number> {
    const cutoff = new Date(this.now().getTime() - this.afterMs);
    const purged = await this.vault.purgeOlderThan(cutoff);
    const days = Math.round((this.afterMs / 86_400_000) * 100) / 100;
    for (const p of purged) {
      await this.audit.append({
        actorAadObjectId: null,
        actorName: 'Mailroom (scheduled)',
        requestRef: `R-${p.requestId}`,
        event: 'secret.purged',
        data: { entry: p.name, storedAt: p.storedAt, unrevealedForDays: days },
      });
    }
    return purged.length;
  }
}
