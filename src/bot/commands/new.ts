import { KIND_IDS, KINDS } from '../../requests';
import type { HandlerDeps } from '../handler-deps';
import { sendCard } from '../handler-kit';
import type { CommandHandler } from '../mailroom-bot';

/** `new`: the kind picker; each kind's button opens its form (card verb `request.form`). */
export function newCommand({ cards }: Pick<HandlerDeps, 'cards'>): CommandHandler {
  return {
    name: 'new',
    usage: 'new',
    description: 'Pick a request kind and fill in its form.',
    roles: ['requester'],
    group: 'Request',
    pattern: /^new( request)?$/i,
    async handle(ctx) {
      const kinds = KIND_IDS.map((k) => ({ id: k, title: KINDS[k].title, description: KINDS[k].description }));
      await sendCard(ctx, cards.render('kind-picker', { kinds, example: KINDS['user-mailbox'].command.example }));
    },
  };
}
