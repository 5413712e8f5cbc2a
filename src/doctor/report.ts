/**
 * The doctor's report: each check is a function over one port (the directory, Graph, Exchange Online, the store,
 * the app package) that answers one line or more, ✔ or ✖ with what to do. The CLI (`npm run doctor`) and the chat
 * command (`doctor`, admins) only format the report.
 */

/** One line of the report. */
export interface CheckLine {
  /** What was checked, e.g. "Active Directory" or "Microsoft Graph". */
  readonly area: string;
  /** The check, e.g. "LDAPS reachable, certificate trusted". */
  readonly name: string;
  readonly ok: boolean;
  /** What was found, in a sentence (never a secret). */
  readonly detail: string;
  /** With ✖: what to do about it. */
  readonly advice?: string;
}

/** A check: runs against one port and returns its lines. A check that throws is reported as one ✖ line. */
export interface Check {
  readonly area: string;
  readonly name: string;
  run(): Promise<CheckLine[]>;
}

export interface DoctorReport {
  readonly lines: readonly CheckLine[];
  readonly ok: boolean;
}

export function pass(area: string, name: string, detail: string): CheckLine {
  return { area, name, ok: true, detail };
}

export function fail(area: string, name: string, detail: string, advice: string): CheckLine {
  return { area, name, ok: false, detail, advice };
}

/** Runs every check (one after the other, so a slow back end is not asked everything at once); never throws. */
export async function runChecks(checks: readonly Check[]): Promise<DoctorReport> {
  const lines: CheckLine[] = [];
  for (const check of checks) {
    try {
      const out = await check.run();
      lines.push(...(out.length ? out : [fail(check.area, check.name, 'The check answered nothing.', 'This is a defect in Mailroom: please report it.')]));
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      lines.push(fail(check.area, check.name, `The check could not run: ${message}`, 'Fix what the message names, then run the doctor again.'));
    }
  }
  return { lines, ok: lines.every((l) => l.ok) };
}

/** The report as text, one line per check: `✔ area: name — detail` and, under a ✖, what to do. */
export function formatReport(report: DoctorReport): string {
  const out: string[] = [];
  for (const l of report.lines) {
    out.push(`${l.ok ? '✔' : '✖'} ${l.area}: ${l.name} — ${l.detail}`);
    if (!l.ok && l.advice) out.push(`    → ${l.advice}`);
  }
  const failed = report.lines.filter((l) => !l.ok).length;
  out.push(failed ? `${failed} of ${report.lines.length} checks failed.` : `All ${report.lines.length} checks passed.`);
  return out.join('\n');
}
