import type { Role } from '../roles';

/** What `help` lists: each command with the roles that may use it ('anyone' = every allowed user). */
export interface CommandInfo {
  readonly name: string;
  readonly usage: string;
  readonly description: string;
  readonly roles: readonly Role[] | 'anyone';
}

export function allowedFor(cmd: CommandInfo, roles: readonly Role[]): boolean {
  return cmd.roles === 'anyone' || cmd.roles.some((r) => roles.includes(r));
}

/** Levenshtein distance, for "did you mean" suggestions. */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] ?? 0;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j] ?? 0;
      prev[j] = Math.min(up + 1, (prev[j - 1] ?? 0) + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length] ?? 0;
}

export function suggest(text: string, commands: readonly CommandInfo[]): CommandInfo | undefined {
  const words = text.toLowerCase().split(/\s+/).slice(0, 3);
  let best: { cmd: CommandInfo; d: number } | undefined;
  for (const cmd of commands) {
    const n = cmd.name.split(' ').length;
    const head = words.slice(0, n).join(' ');
    const d = editDistance(head, cmd.name);
    if (d <= Math.max(1, Math.floor(cmd.name.length / 4)) && (!best || d < best.d)) best = { cmd, d };
  }
  return best?.cmd;
}
