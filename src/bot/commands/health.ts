import type { HandlerDeps } from '../handler-deps';
import type { CommandHandler } from '../mailroom-bot';

/** `health` (admins): whether the store and the configured back ends are reachable. */
export function healthCommand({ cards, readiness }: Pick<HandlerDeps, 'cards' | 'readiness'>): CommandHandler {
  return {
    name: 'health',
    usage: 'health',
    description: 'Shows whether the store and the configured back ends are reachable.',
    roles: ['admin'],
    group: 'Audit & admin',
    pattern: /^health$/i,
    async handle(ctx) {
      const report = await readiness();
      await ctx.sendActivity({
        attachments: [
          cards.notice({
            title: report.ready ? 'Mailroom is ready' : 'Mailroom is not ready',
            text: report.ready ? 'Every check passed.' : 'At least one check failed; see below.',
            tone: report.ready ? 'good' : 'error',
            facts: report.checks.map((c) => ({ title: c.name, value: c.ok ? `ok (${c.ms} ms)` : `failed: ${c.detail}` })),
          }),
        ],
      });
    },
  };
}
