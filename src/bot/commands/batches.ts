import { CardFactory } from 'botbuilder';
import { batchPlanCard } from '../batch-cards';
import type { HandlerDeps } from '../handler-deps';
import { actorOf } from '../handler-kit';
import type { CommandHandler } from '../mailroom-bot';
import { noticeReply } from '../request-cards';

/** A batch reference as people type it: `B-12`, `b12`. */
const BATCH = '(b-?\\d{1,9})';

/** How much of an export the chat message shows. */
const PREVIEW_CHARS = 12_000;

/** `file B-3` (`file B-3 valid`: only the valid rows): files a previewed batch, one request per row, one approval for all. */
export function fileBatchCommand({ useCases, cards }: Pick<HandlerDeps, 'useCases' | 'cards'>): CommandHandler {
  return {
    name: 'file batch',
    usage: 'file B-3',
    description: 'Files a previewed bulk request: one request per valid row, approved once for the whole batch ("file B-3 valid" when some rows were invalid).',
    roles: ['requester', 'admin'],
    group: 'Request',
    pattern: new RegExp(`^file\\s+${BATCH}(\\s+valid)?$`, 'i'),
    async handle(ctx, turn, m) {
      const res = await useCases.batches.file(actorOf(turn), m[1] ?? '', m[2] !== undefined);
      await ctx.sendActivity(noticeReply(cards, res.ok ? 'Batch filed' : 'Not filed', res.message, res.ok ? 'good' : 'warning'));
    },
  };
}

/** `approve B-3`, `reject B-3 <reason>`: decides every request of a batch that waits for a decision. */
export function batchDecisionCommand({ useCases, cards }: Pick<HandlerDeps, 'useCases' | 'cards'>, outcome: 'approve' | 'reject'): CommandHandler {
  return {
    name: `${outcome} batch`,
    usage: outcome === 'approve' ? 'approve B-3' : 'reject B-3 <reason>',
    description: outcome === 'approve' ? 'Approves every request of a batch that waits for you.' : 'Rejects every request of a batch that waits for you, with the reason the requester reads.',
    roles: ['approver', 'admin'],
    group: 'Decide',
    pattern: outcome === 'approve' ? new RegExp(`^approve\\s+${BATCH}$`, 'i') : new RegExp(`^reject\\s+${BATCH}(?:\\s+(.+))?$`, 'i'),
    async handle(ctx, turn, m) {
      const res = await useCases.batches.decide(actorOf(turn), m[1] ?? '', outcome, m[2]);
      await ctx.sendActivity(noticeReply(cards, res.ok ? (outcome === 'approve' ? 'Approved' : 'Rejected') : 'Not decided', res.message, res.ok ? 'good' : 'warning'));
    },
  };
}

/** `status B-3`: where the rows of a batch stand. */
export function batchStatusCommand({ useCases, cards }: Pick<HandlerDeps, 'useCases' | 'cards'>): CommandHandler {
  return {
    name: 'batch status',
    usage: 'status B-3',
    description: 'How many requests of a batch stand where, and the failed ones with why.',
    roles: ['requester', 'approver', 'admin'],
    group: 'Run',
    pattern: new RegExp(`^status\\s+${BATCH}$`, 'i'),
    async handle(ctx, turn, m) {
      const res = await useCases.batches.status(actorOf(turn), m[1] ?? '');
      if (!res.ok) return void (await ctx.sendActivity(noticeReply(cards, 'No such batch', res.message, 'warning')));
      await ctx.sendActivity({ attachments: [cards.notice({ title: 'Batch', text: res.message, facts: [...(res.facts ?? [])] })] });
    },
  };
}

/** `plan B-3`: each valid row's line and the steps it runs (a page that fits in one message; Next rows shows more). */
export function batchPlanCommand({ useCases, cards }: Pick<HandlerDeps, 'useCases' | 'cards'>): CommandHandler {
  return {
    name: 'batch plan',
    usage: 'plan B-3',
    description: 'The steps each row of a batch runs, row by row (as much as fits in one message).',
    roles: ['requester', 'approver', 'admin'],
    group: 'Run',
    pattern: new RegExp(`^plan\\s+${BATCH}$`, 'i'),
    async handle(ctx, turn, m) {
      const res = await useCases.batches.plan(actorOf(turn), m[1] ?? '');
      if (!res.ok) return void (await ctx.sendActivity(noticeReply(cards, 'No such batch', res.message, 'warning')));
      await ctx.sendActivity({ attachments: [CardFactory.adaptiveCard(batchPlanCard(cards, res.plan))] });
    },
  };
}

/** `export batch B-3`: every row of the file with its request, status and error, as CSV. */
export function exportBatchCommand({ useCases, cards }: Pick<HandlerDeps, 'useCases' | 'cards'>): CommandHandler {
  return {
    name: 'export batch',
    usage: 'export batch B-3',
    description: 'Every row of a batch with its request, status and error, as CSV.',
    roles: ['requester', 'approver', 'admin'],
    group: 'Run',
    pattern: new RegExp(`^export\\s+batch\\s+${BATCH}$`, 'i'),
    async handle(ctx, turn, m) {
      const res = await useCases.batches.export(actorOf(turn), m[1] ?? '');
      if (!res.ok) return void (await ctx.sendActivity(noticeReply(cards, 'No such batch', res.message, 'warning')));
      const shown = res.csv.length <= PREVIEW_CHARS ? res.csv : `${res.csv.slice(0, PREVIEW_CHARS)}\n…`;
      await ctx.sendActivity({ type: 'message', textFormat: 'plain', text: `${res.reference} as CSV:\n${shown}` });
    },
  };
}
