import type { Store } from '../store';
import type { RequestViewService } from './request-views';
import type { PasswordReveal, RequestActor, RevealOutcome } from './use-cases';

/** The generated password of an account Mailroom created: to its requester, once; every attempt is audited. */
export class PasswordRevealService implements PasswordReveal {
  constructor(
    private readonly store: Pick<Store, 'requests' | 'audit'>,
    private readonly views: RequestViewService,
    /** Returns the password once (the secret vault), or undefined when there is none any more. */
    private readonly takeOnce: ((requestId: number) => Promise<string | undefined>) | undefined,
  ) {}

  async reveal(actor: RequestActor, reference: string): Promise<RevealOutcome> {
    const record = await this.store.requests.get(reference);
    if (!record || record.requesterAadObjectId !== actor.aadObjectId) {
      await this.store.audit.append({ actorAadObjectId: actor.aadObjectId, actorName: actor.name, requestRef: record?.reference ?? null, event: 'secret.reveal-refused', data: {} });
      return { ok: false, message: 'Only the requester can reveal the password of the account Mailroom created. Nothing was shown.' };
    }
    const view = await this.views.viewOf(record);
    const secret = this.takeOnce ? await this.takeOnce(record.id) : undefined;
    await this.store.audit.append({ actorAadObjectId: actor.aadObjectId, actorName: actor.name, requestRef: record.reference, event: secret ? 'secret.revealed' : 'secret.reveal-empty', data: {} });
    return { ok: true, view, secret };
  }
}
