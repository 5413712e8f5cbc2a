/**
 * Reading AD values: blanks, lists compared without case, a DN's first RDN and domain, proxy addresses and extension
 * attributes as the cloud takes them.
 */
import { isPrimarySmtp, normaliseProxy } from '../rules';

export function norm(v: string | null | undefined): string {
  return (v ?? '').trim().toLowerCase();
}

export function blankToNull(v: string | null | undefined): string | null {
  if (v === undefined || v === null) return null;
  const t = v.trim();
  return t === '' ? null : t;
}

export function sameList(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  const x = (a ?? []).map((s) => s.toLowerCase()).sort();
  const y = (b ?? []).map((s) => s.toLowerCase()).sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/** `CN=Doe\, Jane,OU=…` → `Doe, Jane`. */
export function firstRdnValue(dn: string): string {
  let out = '';
  const eq = dn.indexOf('=');
  for (let i = eq + 1; i < dn.length; i++) {
    const c = dn.charAt(i);
    if (c === '\\') {
      const next = dn.slice(i + 1, i + 3);
      if (/^[0-9a-fA-F]{2}$/.test(next)) {
        out += String.fromCharCode(parseInt(next, 16));
        i += 2;
      } else {
        out += dn.charAt(i + 1);
        i += 1;
      }
    } else if (c === ',' || c === '+') {
      break;
    } else {
      out += c;
    }
  }
  return out.trim();
}

export function domainOfDn(dn: string): string | null {
  const parts = [...dn.matchAll(/(?:^|,)\s*DC=([^,]+)/gi)].map((m) => m[1] ?? '');
  return parts.length > 0 ? parts.join('.') : null;
}

/** Entra proxyAddresses of a synced contact or group: AD's, normalised, led by `SMTP:<mail>` when AD names no primary. */
export function syncedProxyAddresses(ad: { proxyAddresses?: string[] }, mail: string | null): string[] {
  const list = (ad.proxyAddresses ?? []).map(normaliseProxy);
  if (mail && !list.some(isPrimarySmtp)) list.unshift(`SMTP:${mail}`);
  return list;
}

export function customAttributesFromAd(ext: Record<string, string | null | undefined> | undefined): string[] {
  return Array.from({ length: 15 }, (_, i) => blankToNull(ext?.[`extensionAttribute${i + 1}`]) ?? '');
}
