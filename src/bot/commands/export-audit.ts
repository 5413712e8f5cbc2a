import type { HandlerDeps } from '../handler-deps';
import { actorOf } from '../handler-kit';
import type { CommandHandler } from '../mailroom-bot';

/** How much of the CSV the chat message shows; the file has it all. */
const PREVIEW_CHARS = 12_000;

/**
 * `export audit` (admins): the whole audit log as CSV (with each event's `alg` and `request_prev_hash`, so the chain
 * can be checked elsewhere with the audit key), saved on the server (by the workflow) and previewed in chat.
 */
export function exportAuditCommand({ useCases }: Pick<HandlerDeps, 'useCases'>): CommandHandler {
  return {
    name: 'export audit',
    usage: 'export audit',
    description: 'Exports the whole audit log as CSV.',
    roles: ['admin'],
    group: 'Audit & admin',
    pattern: /^export audit( log)?$/i,
    async handle(ctx, turn) {
      const { rows, file, csv, chain } = await useCases.audit.exportAll(actorOf(turn));
      const head = chain.ok ? `chain verified${chain.keyed === false ? ' (unkeyed)' : ''}, last hash ${chain.lastHash}` : `chain BROKEN at event ${chain.brokenAtSeq}`;
      const preview = csv.length <= PREVIEW_CHARS ? csv : `${csv.slice(0, PREVIEW_CHARS)}\n… (${rows} rows in the file)`;
      await ctx.sendActivity(`Audit log exported: ${rows} events, ${head}. Saved on the Mailroom server as ${file}.\n\n\`\`\`\n${preview}\n\`\`\``);
    },
  };
}
