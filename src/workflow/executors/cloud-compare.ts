/**
 * How the Entra and Exchange steps and the waits compare what Graph and Exchange Online return: ids, names and
 * addresses ignoring case (as Entra ID and Exchange Online compare them), proxy addresses by type and address.
 */

/** Both are text and equal ignoring case (an absent value equals nothing). */
export function sameIgnoringCase(a: unknown, b: string | null | undefined): boolean {
  return typeof a === 'string' && typeof b === 'string' && a.toLowerCase() === b.toLowerCase();
}

/** `SMTP:a@b` → `a@b`. */
export function bareAddress(proxyOrAddress: string | null | undefined): string {
  const s = (proxyOrAddress ?? '').trim();
  return /^smtp:/i.test(s) ? s.slice(5) : s;
}

/** The key a proxy address is compared by: its type (lower case) and address (lower case); `SMTP:` and `smtp:` are one type. */
export function proxyKey(proxy: string): string {
  const s = proxy.trim();
  const i = s.indexOf(':');
  if (i <= 0) return `smtp:${s.toLowerCase()}`;
  return `${s.slice(0, i).toLowerCase()}:${s.slice(i + 1).toLowerCase()}`;
}
