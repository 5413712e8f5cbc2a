import type { TurnContext } from 'botbuilder';
import type { RequestActor } from '../workflow/use-cases';
import type { TurnInfo } from './turn';

/** A request reference in a command: `R-12`, `r12` or `12`. */
export const REF = '(r-?\\d{1,9}|\\d{1,9})';

/** The workflow's actor for a turn: always from the authenticated activity, never from card data. */
export function actorOf(turn: TurnInfo): RequestActor {
  return { aadObjectId: turn.actor.aadObjectId, name: turn.actor.name, tenantId: turn.actor.tenantId, isAdmin: turn.roles.includes('admin') };
}

/** Posts a card in the turn's conversation; returns the new activity's id. */
export async function sendCard(ctx: TurnContext, card: Record<string, unknown>): Promise<string | undefined> {
  const res = await ctx.sendActivity({ attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: card }] });
  return res?.id;
}

/** A card-data value as text: only strings and numbers count; anything else is empty. */
export function str(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
}
