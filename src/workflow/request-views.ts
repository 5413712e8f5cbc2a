import type { RollbackPlan } from '../plans';
import type { DecisionRecord, RequestRecord, Store } from '../store';
import type { ApprovalAccess } from './approval-access';
import type { CardReferences } from './ports';
import { buildView, type RequestView } from './request-view';
import { rollbackAllowed, rollbackFor, rollbackOf } from './rollback-info';
import type { PostedCard, RequestActor, RequestViews } from './use-cases';

export type ViewStore = Pick<Store, 'requests' | 'decisions' | 'runs'> & { readonly cards: CardReferences };

/** Reads requests for people: each view with its decisions, its run's step states and what a roll back could remove. */
export class RequestViewService implements RequestViews {
  constructor(
    private readonly store: ViewStore,
    private readonly access: ApprovalAccess,
  ) {}

  /** The view from what the caller has loaded already (no run states). */
  view(record: RequestRecord, decisions: readonly DecisionRecord[]): RequestView {
    return buildView(record, decisions, this.access.stageCount(record.kind));
  }

  /** The view with decisions and the run's step states loaded (and what a roll back could remove, when it could). */
  async viewOf(record: RequestRecord): Promise<RequestView> {
    const [decisions, steps] = await Promise.all([this.store.decisions.list(record.id), this.store.runs.listByRequest(record.id)]);
    const run = steps.map((r) => ({ stepIndex: r.stepIndex, status: r.status, error: r.error }));
    let possible: RollbackPlan | undefined;
    if (run.length && rollbackAllowed(record) && !rollbackOf(record) && !steps.some((s) => s.status === 'running')) {
      possible = rollbackFor(record, steps);
    }
    return buildView(record, decisions, this.access.stageCount(record.kind), run, possible);
  }

  async find(actor: RequestActor, reference: string): Promise<RequestView | undefined> {
    const record = await this.store.requests.get(reference);
    if (!record || !(await this.access.maySee(actor, record))) return undefined;
    return this.viewOf(record);
  }

  async listMine(actor: RequestActor, limit = 20): Promise<RequestView[]> {
    const records = await this.store.requests.listByRequester(actor.aadObjectId, { limit });
    return Promise.all(records.map(async (r) => this.view(r, await this.store.decisions.list(r.id))));
  }

  async trackCard(reference: string, card: PostedCard): Promise<void> {
    const record = await this.store.requests.get(reference);
    if (!record) return;
    await this.store.cards.add({ requestId: record.id, ...card });
  }
}
