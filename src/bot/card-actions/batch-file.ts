import { batchPreviewCard } from '../batch-cards';
import type { HandlerDeps } from '../handler-deps';
import { actorOf, str } from '../handler-kit';
import type { GatedCardAction } from '../mailroom-bot';
import { noticeCard } from '../request-cards';

/**
 * `batch.file` (File all N / File the N valid ones on a batch's preview card), for requesters and admins like the
 * `file` command. The batch's own checks decide: only its requester files it, once; with invalid rows only when the
 * button said "the valid ones". Answers with the preview as it stands (filed: by whom, how many).
 */
export function batchFileAction({ useCases, cards }: Pick<HandlerDeps, 'useCases' | 'cards'>): GatedCardAction {
  return {
    verb: 'batch.file',
    name: 'file a batch',
    roles: ['requester', 'admin'],
    async handle(_ctx, turn, data) {
      const validOnly = data.validOnly === true || data.validOnly === 'true';
      const res = await useCases.batches.file(actorOf(turn), str(data.reference).slice(0, 20), validOnly);
      if (res.preview) return batchPreviewCard(cards, res.preview, res.ok ? '' : res.message);
      return noticeCard(cards, res.ok ? 'Batch filed' : 'Not filed', res.message, res.ok ? 'good' : 'warning');
    },
  };
}
