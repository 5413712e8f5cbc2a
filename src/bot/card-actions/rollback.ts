import type { HandlerDeps } from '../handler-deps';
import { actorOf, str } from '../handler-kit';
import type { GatedCardAction } from '../mailroom-bot';
import { refusalCard, rollbackCard, statusCard } from '../request-cards';

/**
 * `request.rollback`: without `confirm` the confirmation card (what goes, what stays); with it (Roll back now), the
 * roll back starts, unless what it would remove changed since the card was made (then the card again, to confirm).
 */
export function rollbackAction({ useCases, cards }: Pick<HandlerDeps, 'useCases' | 'cards'>): GatedCardAction {
  return {
    verb: 'request.rollback',
    name: 'roll back',
    // Like the `rollback` command: its requester, an approver of its kind or an admin, checked per request.
    roles: 'anyone',
    async handle(_ctx, turn, data) {
      const reference = str(data.reference).slice(0, 40);
      const version = data.version === undefined ? undefined : Number(data.version);
      if (data.confirm !== true && data.confirm !== 'true') {
        const preview = await useCases.runControl.rollbackPreview(actorOf(turn), reference, version);
        return preview.ok ? rollbackCard(cards, preview.view, preview.plan, preview.digest) : refusalCard(cards, preview, 'Not rolled back');
      }
      const res = await useCases.runControl.rollback(actorOf(turn), reference, version, str(data.digest) || undefined);
      if (res.ok) return statusCard(cards, res.view);
      if (res.preview && res.view) return rollbackCard(cards, res.view, res.preview.plan, res.preview.digest, res.message);
      return refusalCard(cards, res, 'Not rolled back');
    },
  };
}
