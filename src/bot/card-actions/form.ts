import { isKindId, KINDS, pickFieldValues } from '../../requests';
import type { HandlerDeps } from '../handler-deps';
import { str } from '../handler-kit';
import type { GatedCardAction } from '../mailroom-bot';
import { formCard, noticeCard } from '../request-cards';

/**
 * The values a button pre-fills a form with (`data.values`, e.g. the recipient card's `{ identity }`): only the kind's
 * own fields, only text, each clipped to its field's length. They are a starting point the person sees and may change;
 * the submitted form is validated like any other.
 */
function prefill(kind: keyof typeof KINDS, raw: unknown): Record<string, string> {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return {};
  const out: Record<string, string> = {};
  for (const [id, v] of Object.entries(pickFieldValues(kind, raw as Record<string, unknown>))) {
    const text = str(v);
    const max = KINDS[kind].fields.find((f) => f.id === id)?.maxLength ?? 256;
    if (text) out[id] = text.slice(0, max);
  }
  return out;
}

/** `request.form` (the kind picker's "Open form", the recipient card's actions): the kind's form, for requesters. */
export function formAction({ cards }: Pick<HandlerDeps, 'cards'>): GatedCardAction {
  return {
    verb: 'request.form',
    name: 'new request',
    roles: ['requester'],
    handle(_ctx, turn, data) {
      const kind = str(data.kind);
      if (!isKindId(kind)) return Promise.resolve(noticeCard(cards, 'Unknown request kind', 'This card is out of date. Nothing was changed.', 'warning'));
      if (!turn.roles.includes('requester')) return Promise.resolve(noticeCard(cards, 'Not allowed', 'Making requests needs the requester role. Nothing was changed.', 'warning'));
      return Promise.resolve(formCard(cards, kind, prefill(kind, data.values), []));
    },
  };
}
