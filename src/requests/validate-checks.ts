/**
 * Shared checks of what a requester typed: the syntax of an alias, logon name, UPN or address, whether its domain
 * is one of the tenant's accepted domains, and who already holds a value.
 */
import { ask, type AcceptedDomain, type Holder } from './lookup';
import { ALIAS_RULE, LIMITS, aliasProblem, domainOf, exampleFrom, samAccountNameProblem, smtpAddressProblem, upnProblem } from './syntax';
import { show } from './text';
import type { Form, ValidationContext } from './validate-form';

export function whoText(holders: readonly Holder[]): string {
  const shown = holders.slice(0, 3).map((h) => (h.where === 'request' ? `the open request ${h.name} (it takes it when it runs)` : `${h.name} (${h.where === 'ad' ? 'AD' : 'Exchange Online'})`));
  return shown.join(', ') + (holders.length > 3 ? ` and ${holders.length - 3} more` : '');
}

export interface Domains {
  readonly list: readonly AcceptedDomain[];
  has(domain: string): boolean;
  names(): string;
}

export function domainsOf(list: readonly AcceptedDomain[]): Domains {
  const set = new Set(list.map((d) => d.name.toLowerCase()));
  return { list, has: (d) => set.has(d.toLowerCase()), names: () => list.map((d) => d.name).join(', ') || 'none' };
}

export async function acceptedDomains(ctx: ValidationContext): Promise<Domains> {
  return domainsOf(await ask('the accepted domains', () => ctx.lookup.acceptedDomains()));
}

export function checkAliasSyntax(form: Form, id = 'alias'): string | undefined {
  const v = form.get(id);
  if (v === undefined) return undefined;
  const p = aliasProblem(v);
  if (!p) return v;
  const eg = exampleFrom(v, LIMITS.alias);
  form.error(id, `${show(v)} ${p}. ${ALIAS_RULE}${eg ? `, e.g. ${eg}` : ''}.`);
  return undefined;
}

export function checkSamSyntax(form: Form, limit: number): string | undefined {
  const v = form.get('samAccountName');
  if (v === undefined) return undefined;
  const p = samAccountNameProblem(v, limit);
  if (!p) return v;
  const eg = exampleFrom(v, limit)?.replace(/\./g, '');
  form.error('samAccountName', `${show(v)} ${p}.${eg ? ` E.g. ${eg}.` : ''} Or leave it empty and Mailroom forms one.`);
  return undefined;
}

export function checkUpnSyntax(form: Form, domains: Domains, upnSuffix: string): string | undefined {
  const v = form.get('userPrincipalName');
  if (v === undefined) return undefined;
  const p = upnProblem(v);
  if (p) {
    form.error('userPrincipalName', `${show(v)} ${p}. A UPN looks like ada.lovelace@${upnSuffix}.`);
    return undefined;
  }
  const d = domainOf(v);
  if (!domains.has(d) && d !== upnSuffix.toLowerCase()) {
    form.error('userPrincipalName', `${show(v)} ends in @${d}, which is not a domain of this tenant. Use one of: ${[upnSuffix, ...domains.list.map((x) => x.name)].filter((x, i, a) => a.indexOf(x) === i).join(', ')}.`);
    return undefined;
  }
  return v;
}

/** An address syntax check; `inTenant`: true = must be an accepted domain, false = must not be one. */
export function checkAddress(form: Form, id: string, domains: Domains, inTenant: boolean | null): string | undefined {
  const v = form.get(id);
  if (v === undefined) return undefined;
  const p = smtpAddressProblem(v);
  if (p) {
    const eg = exampleFrom(v.split('@')[0] ?? '', LIMITS.localPart);
    form.error(id, `${show(v)} ${p}. An address looks like ${eg ?? 'ada.lovelace'}@${inTenant === false ? 'partner.example' : (domains.list.find((d) => d.default)?.name ?? 'contoso.com')}.`);
    return undefined;
  }
  const d = domainOf(v);
  if (inTenant === true && !domains.has(d)) {
    form.error(id, `${show(v)} is in ${d}, which is not an accepted domain of this tenant. Use one of: ${domains.names()}.`);
    return undefined;
  }
  if (inTenant === false && domains.has(d)) {
    form.error(id, `${show(v)} is in ${d}, one of this tenant's own domains; mail to it would loop. Give the outside address.`);
    return undefined;
  }
  return v;
}
