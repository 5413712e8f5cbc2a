import { isKindId } from '../../requests';
import type { HandlerDeps } from '../handler-deps';
import { str } from '../handler-kit';
import type { GatedCardAction } from '../mailroom-bot';
import { formCard, noticeCard } from '../request-cards';

/** `request.form` (the kind picker's "Open form"): the kind's empty form, for requesters. */
export function formAction({ cards }: Pick<HandlerDeps, 'cards'>): GatedCardAction {
  return {
    verb: 'request.form',
    name: 'new request',
    roles: ['requester'],
    handle(_ctx, turn, data) {
      const kind = str(data.kind);
      if (!isKindId(kind)) return Promise.resolve(noticeCard(cards, 'Unknown request kind', 'This card is out of date. Nothing was changed.', 'warning'));
      if (!turn.roles.includes('requester')) return Promise.resolve(noticeCard(cards, 'Not allowed', 'Making requests needs the requester role. Nothing was changed.', 'warning'));
      return Promise.resolve(formCard(cards, kind, {}, []));
    },
  };
}
