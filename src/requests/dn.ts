/**
 * Distinguished names as strings (RFC 4514): escaping an attribute value for an RDN, and a light parser
 * that checks a configured OU is a well-formed DN under a domain (`…,DC=corp,DC=example`). The directory
 * adapter still escapes and compares parsed DNs itself; this is for building and showing the plan.
 */

/** Escapes a value for `CN=<value>`: , + " \ < > ; = and a leading # or space, a trailing space, NUL. */
export function escapeRdnValue(value: string): string {
  let out = value.replace(/[,+"\\<>;=]/g, (c) => `\\${c}`).split(String.fromCharCode(0)).join('\\00');
  if (out.startsWith('#') || out.startsWith(' ')) out = `\\${out}`;
  if (out.endsWith(' ') && !out.endsWith('\\ ')) out = `${out.slice(0, -1)}\\ `;
  return out;
}

/** Splits a DN into its RDNs (type=value), honouring escapes; null when it is not well formed. */
export function parseDn(dn: string): { type: string; value: string }[] | null {
  const rdns: { type: string; value: string }[] = [];
  let i = 0;
  while (i < dn.length) {
    const eq = dn.indexOf('=', i);
    if (eq < 0) return null;
    const type = dn.slice(i, eq).trim();
    if (!/^([A-Za-z][A-Za-z0-9-]*|\d+(\.\d+)*)$/.test(type)) return null;
    let j = eq + 1;
    let value = '';
    while (j < dn.length && dn[j] !== ',' && dn[j] !== '+') {
      if (dn[j] === '\\') {
        const next = dn.slice(j + 1, j + 3);
        if (/^[0-9A-Fa-f]{2}$/.test(next)) {
          value += String.fromCharCode(parseInt(next, 16));
          j += 3;
          continue;
        }
        const c = dn[j + 1];
        if (c === undefined) return null;
        value += c;
        j += 2;
        continue;
      }
      if ('"<>;'.includes(dn[j] ?? '')) return null;
      value += dn[j];
      j++;
    }
    if (value.trim() === '') return null;
    rdns.push({ type, value: value.trim() });
    i = j + 1;
    if (j < dn.length && j + 1 >= dn.length) return null; // trailing separator
  }
  return rdns.length ? rdns : null;
}

/** Why a configured OU DN cannot be used, or null. */
export function ouDnProblem(dn: string): string | null {
  const rdns = parseDn(dn);
  if (!rdns) return `"${dn}" is not a distinguished name (e.g. OU=Users,OU=Mailroom,DC=corp,DC=example)`;
  if (!rdns.some((r) => r.type.toUpperCase() === 'DC')) return `"${dn}" has no DC= parts; give the full DN down to the domain`;
  const first = rdns[0];
  if (first && first.type.toUpperCase() === 'DC') return `"${dn}" is the domain root; give an OU or container below it`;
  return null;
}

/** A name cut to `limit` characters (whole code points, no trailing space): a CN holds at most 64. */
export function cutName(name: string, limit: number): string {
  if (name.length <= limit) return name;
  let out = '';
  for (const c of name) {
    if (out.length + c.length > limit) break;
    out += c;
  }
  return out.trimEnd();
}

/** The DN of a new object: `CN=<escaped cn>,<ou>`. */
export function childDn(cn: string, ou: string): string {
  return `CN=${escapeRdnValue(cn)},${ou}`;
}
