import type { DoctorReport } from '../../doctor';
import { sendCard } from '../handler-kit';
import type { CardRenderer } from '../cards';
import type { CommandHandler } from '../mailroom-bot';

/** `doctor` (admins): checks the tenant Mailroom is connected to, one line per check, with what to do about each ✖. */
export function doctorCommand({ doctor, cards }: { doctor: () => Promise<DoctorReport>; cards: CardRenderer }): CommandHandler {
  return {
    name: 'doctor',
    usage: 'doctor',
    description: 'Checks the directory, Graph, Exchange Online, sync, licences and the app package, and says what to fix.',
    roles: ['admin'],
    group: 'Audit & admin',
    pattern: /^doctor$/i,
    async handle(ctx) {
      const report = await doctor();
      const failed = report.lines.filter((l) => !l.ok);
      await sendCard(
        ctx,
        cards.render('notice', {
          title: report.ok ? 'Mailroom doctor: all checks passed' : `Mailroom doctor: ${failed.length} of ${report.lines.length} checks failed`,
          text: report.ok ? 'Every check passed.' : 'Each ✖ says what was found and what to do. Run `npm run doctor` on the server for the same report.',
          tone: report.ok ? 'good' : 'error',
          facts: report.lines.slice(0, 60).map((l) => ({ title: `${l.ok ? '✔' : '✖'} ${l.area}`, value: `${l.name}: ${l.detail}${!l.ok && l.advice ? ` → ${l.advice}` : ''}` })),
        }),
      );
    },
  };
}
