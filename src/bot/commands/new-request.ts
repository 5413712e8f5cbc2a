import { KIND_IDS, KINDS, parseCommand, type FieldError } from '../../requests';
import type { HandlerDeps } from '../handler-deps';
import { actorOf, sendCard } from '../handler-kit';
import type { CommandHandler } from '../mailroom-bot';
import { bulletList, md, type Markdown } from '../markdown';
import { formCard, noticeReply, statusCard } from '../request-cards';

const PHRASES = KIND_IDS.flatMap((k) => KINDS[k].command.phrases.map((p) => p.toLowerCase()));
const escaped = (phrase: string) => phrase.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/ /g, '\\s+');

function errorLines(errors: readonly FieldError[]): Markdown {
  return bulletList(errors.map((e) => e.message));
}

/**
 * `new <kind> name=value …`: a request in one line. Without values, or with a value the parser cannot read, the
 * kind's form; with values the validator refuses, the problems and the form with the values filled in.
 */
export function newRequestCommand({ useCases, cards }: Pick<HandlerDeps, 'useCases' | 'cards'>): CommandHandler {
  return {
    name: 'new <kind>',
    usage: 'new mailbox first=Ada last=Lovelace department=Research',
    description: `Request in one line, or without values to get the form. Kinds: ${KIND_IDS.map((k) => KINDS[k].command.phrases[0] ?? k).join(', ')}.`,
    roles: ['requester'],
    group: 'Request',
    pattern: new RegExp(`^(${PHRASES.map(escaped).join('|')})(\\s.*)?$`, 'i'),
    async handle(ctx, turn, match) {
      const parsed = parseCommand(match[0]);
      if (!parsed.ok) {
        await ctx.sendActivity(noticeReply(cards, 'Nothing was requested', errorLines(parsed.errors), 'warning'));
        if (parsed.kind) await sendCard(ctx, formCard(cards, parsed.kind, {}, []));
        return;
      }
      // Only what the phrase itself says (`grant full access`): the form, with that filled in.
      const onlyImplied = Object.values(KINDS[parsed.kind].command.implies ?? {}).some(
        (v) => Object.keys(v).length === Object.keys(parsed.values).length && Object.entries(v).every(([k, x]) => parsed.values[k] === x),
      );
      if (Object.keys(parsed.values).length === 0 || onlyImplied) {
        await sendCard(ctx, formCard(cards, parsed.kind, parsed.values, []));
        return;
      }
      const result = await useCases.intake.submit(actorOf(turn), parsed.kind, parsed.values, 'command');
      if (!result.ok) {
        if (result.refused) await ctx.sendActivity(noticeReply(cards, 'Nothing was requested', result.refused, 'warning'));
        else {
          await ctx.sendActivity(noticeReply(cards, 'Nothing was requested', md`Please correct:\n${errorLines(result.errors)}`, 'warning'));
          await sendCard(ctx, formCard(cards, parsed.kind, parsed.values, result.errors));
        }
        return;
      }
      const activityId = await sendCard(ctx, statusCard(cards, result.view));
      if (activityId) {
        await useCases.views.trackCard(result.reference, { audience: 'requester', aadObjectId: turn.actor.aadObjectId, conversationId: ctx.activity.conversation.id, activityId });
      }
    },
  };
}
