/**
 * Exchange Online look-ups for many waiting steps at once: one `Get-Mailbox` / `Get-Recipient -Filter` per 50
 * identities (an `-or` of their clauses), each row then matched back to the identity that asked for it.
 *
 * Each clause uses only properties the cmdlet filters on (Microsoft's "Filterable properties for the Filter parameter
 * on Exchange cmdlets"; any other property fails the whole query with "… is not a recognized filterable property"):
 * ExternalDirectoryObjectId, Guid, ExchangeGuid, EmailAddresses, Alias and Name on both, UserPrincipalName on
 * Get-Mailbox only — Get-Recipient does not filter on it. An address is found on Get-Recipient through
 * EmailAddresses (the primary is one of them); a recipient known only by a sign-in name that is not among its
 * addresses (a mail user) is asked for by its Entra object id instead (the waits pass it, see waits.ts).
 */
import type { Logger } from '../../log';
import { opathString } from '../recipient-lookup';
import { bareAddress, sameIgnoringCase } from './cloud-compare';
import { errorText, isTransient } from './cloud-errors';
import type { ExchangePort, RecipientRow } from './exchange-port';
import { StepError } from './types';

/** Per asking key: the rows found, `unknown` when the query failed for now, or a StepError when it was refused. */
export type ExchangeAnswers = Map<string, RecipientRow[] | 'unknown' | StepError>;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The OPATH clauses that find one identity with `cmdlet`: GUIDs by object ids, addresses by proxy (and by UPN on
 * Get-Mailbox), else alias or name.
 */
function identityFilter(identity: string, cmdlet: 'Get-Mailbox' | 'Get-Recipient'): string {
  const id = identity.trim();
  if (GUID.test(id)) return `(ExternalDirectoryObjectId -eq ${opathString(id)} -or Guid -eq ${opathString(id)} -or ExchangeGuid -eq ${opathString(id)})`;
  if (id.includes('@')) {
    const address = bareAddress(id);
    const proxy = `EmailAddresses -eq ${opathString(`smtp:${address}`)}`;
    return cmdlet === 'Get-Mailbox' ? `(UserPrincipalName -eq ${opathString(address)} -or ${proxy})` : `(${proxy})`;
  }
  return `(Alias -eq ${opathString(id)} -or Name -eq ${opathString(id)})`;
}

/** Whether a row is the recipient an identity names (as {@link identityFilter} finds it). */
function rowIsIdentity(row: RecipientRow, identity: string): boolean {
  const id = identity.trim();
  if (GUID.test(id)) return [row.Guid, row.ExchangeObjectId, row.ExternalDirectoryObjectId, row.ExchangeGuid].some((g) => sameIgnoringCase(g, id));
  if (id.includes('@')) {
    const address = bareAddress(id);
    return (
      sameIgnoringCase(row.UserPrincipalName, address) ||
      sameIgnoringCase(row.PrimarySmtpAddress, address) ||
      (row.EmailAddresses ?? []).some((p) => /^smtp:/i.test(p) && sameIgnoringCase(bareAddress(p), address))
    );
  }
  return sameIgnoringCase(row.Alias, id) || sameIgnoringCase(row.Name, id);
}

/**
 * Finds the recipients for many identities with as few calls as possible: one `-Filter` per `perCall` identities.
 * A chunk whose query Exchange refuses is asked again identity by identity, so one odd identity fails alone.
 */
export async function lookUpInExchange(
  exo: ExchangePort,
  cmdlet: 'Get-Mailbox' | 'Get-Recipient',
  identities: readonly { key: string; identity: string }[],
  perCall: number,
  log: Logger,
): Promise<ExchangeAnswers> {
  const out: ExchangeAnswers = new Map();
  const ask = async (part: readonly { key: string; identity: string }[]): Promise<void> => {
    const unique = [...new Map(part.map((p) => [p.identity.toLowerCase(), p.identity])).values()];
    const filter = unique.map((id) => identityFilter(id, cmdlet)).join(' -or ');
    try {
      const { value } = await exo.invoke<RecipientRow>(cmdlet, { Filter: filter, ResultSize: 'Unlimited' });
      for (const p of part) out.set(p.key, value.filter((r) => rowIsIdentity(r, p.identity)));
    } catch (err) {
      if (isTransient(err)) {
        log.warn('Exchange Online lookup failed for now; the steps stay waiting', { cmdlet, error: errorText(err) });
        for (const p of part) out.set(p.key, 'unknown');
        return;
      }
      if (unique.length > 1) {
        for (const one of unique) await ask(part.filter((p) => p.identity.toLowerCase() === one.toLowerCase()));
        return;
      }
      const e = new StepError(
        `Exchange Online refused Mailroom's lookup of ${unique[0] ?? 'a recipient'} (${errorText(err)}). Nothing was changed. Check the address and Mailroom's Exchange permissions, then press Retry.`,
        false,
        undefined,
        { cmdlet, error: errorText(err) },
      );
      for (const p of part) out.set(p.key, e);
    }
  };
  for (let i = 0; i < identities.length; i += perCall) await ask(identities.slice(i, i + perCall));
  return out;
}
