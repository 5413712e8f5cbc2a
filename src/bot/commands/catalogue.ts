import type { Role } from '../roles';

/**
 * The headings `help` lists commands under, in this order. Every command names its group where it is defined (its
 * `commands/<cmd>.ts`), so a new command cannot be left out of the list.
 */
export const COMMAND_GROUPS = ['Look up', 'Request', 'Decide', 'Run', 'Audit & admin', 'Help'] as const;
export type CommandGroup = (typeof COMMAND_GROUPS)[number];

/** What `help` lists: each command with the roles that may use it ('anyone' = every allowed user) and its heading. */
export interface CommandInfo {
  readonly name: string;
  readonly usage: string;
  readonly description: string;
  readonly roles: readonly Role[] | 'anyone';
  readonly group: CommandGroup;
}

export function allowedFor(cmd: Pick<CommandInfo, 'roles'>, roles: readonly Role[]): boolean {
  return cmd.roles === 'anyone' || cmd.roles.some((r) => roles.includes(r));
}

/** The commands these roles allow, under their headings in COMMAND_GROUPS order (registration order within one); no empty heading. */
export function groupedFor<C extends Pick<CommandInfo, 'roles' | 'group'>>(commands: readonly C[], roles: readonly Role[]): { title: CommandGroup; commands: C[] }[] {
  const allowed = commands.filter((c) => allowedFor(c, roles));
  return COMMAND_GROUPS.map((title) => ({ title, commands: allowed.filter((c) => c.group === title) })).filter((g) => g.commands.length > 0);
}

/** Edit distance counting a swap of neighbours as one edit (optimal string alignment), for "did you mean". */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  const at = (i: number, j: number) => d[i]?.[j] ?? 0;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, at(i - 2, j - 2) + 1);
      (d[i] as number[])[j] = v;
    }
  }
  return at(a.length, b.length);
}

/**
 * How much of a message the "did you mean" matcher reads: the longest command name is far shorter, so a longer
 * head can never be within the allowed distance; reading only this keeps the cost of any message a few microseconds.
 */
export const MATCHER_MAX_CHARS = 40;

/** The first (at most three) words of a message, lower-cased, from at most its first MATCHER_MAX_CHARS characters. */
export function commandHead(text: string): string {
  return text
    .slice(0, MATCHER_MAX_CHARS + 1)
    .toLowerCase()
    .trim()
    .split(/\s+/)
    .slice(0, 3)
    .join(' ')
    .slice(0, MATCHER_MAX_CHARS);
}

export function suggest<C extends Pick<CommandInfo, 'name'>>(text: string, commands: readonly C[]): C | undefined {
  const words = commandHead(text).split(' ');
  let best: { cmd: C; d: number } | undefined;
  for (const cmd of commands) {
    const n = cmd.name.split(' ').length;
    const head = words.slice(0, n).join(' ');
    const allowed = Math.max(1, Math.floor(cmd.name.length / 4));
    if (Math.abs(head.length - cmd.name.length) > allowed) continue; // the distance is at least the difference in length
    const d = editDistance(head, cmd.name);
    if (d <= allowed && (!best || d < best.d)) best = { cmd, d };
  }
  return best?.cmd;
}
