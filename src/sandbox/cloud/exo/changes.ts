/**
 * The writes the Set-* cmdlets share: the hybrid write-scope check (`rules.ts`), the common address and attribute
 * parameters, and multivalued properties given as a list or as an Add/Remove hashtable.
 */
import { randomUUID } from 'node:crypto';
import { ExoError } from '../errors';
import { isRecord } from '../http';
import {
  applyPrimaryAddressChange,
  dualWriteMessage,
  exoWriteRefusal,
  isMailboxType,
  isPrimarySmtp,
  normaliseProxy,
  proxyKey,
  splitProxy,
  writeScopeMessage,
} from '../rules';
import type { ExoRecipient, Tenant } from '../tenant';
import { bool, CUSTOM, list, str, type Params } from './params';

/** EmailAddresses as a full list or as `{"@odata.type":"#Exchange.GenericHashTable","Add":…,"Remove":…}`. */
function emailAddressesChange(current: string[], v: unknown): string[] {
  if (isRecord(v)) {
    const get = (k: string): string[] => {
      const key = Object.keys(v).find((x) => x.toLowerCase() === k);
      return key ? list(v[key]) : [];
    };
    let next = [...current];
    for (const r of get('remove')) {
      const n = normaliseProxy(r);
      if (next.some((x) => isPrimarySmtp(x) && proxyKey(x) === proxyKey(n))) {
        throw new ExoError('InvalidOperation', `The primary SMTP address "${splitProxy(n).address}" can't be removed. Make another address primary first.`);
      }
      next = next.filter((x) => proxyKey(x) !== proxyKey(n));
    }
    for (const a of get('add')) {
      const n = normaliseProxy(a);
      if (isPrimarySmtp(n)) next = applyPrimaryAddressChange(next, splitProxy(n).address);
      else if (!next.some((x) => proxyKey(x) === proxyKey(n))) next.push(n);
    }
    return next;
  }
  return list(v).map(normaliseProxy);
}

export function refuse(cmdlet: string, r: ExoRecipient, parameters: string[]): void {
  for (const parameter of parameters) {
    const refusal = exoWriteRefusal({
      cmdlet,
      parameter,
      recipientTypeDetails: r.recipientTypeDetails,
      isDirSynced: r.isDirSynced,
      isExchangeCloudManaged: r.isExchangeCloudManaged,
    });
    if (refusal?.kind === 'WriteScope') {
      throw new ExoError('WriteScope', writeScopeMessage(cmdlet, parameter, r.name, isMailboxType(r.recipientTypeDetails)));
    }
    if (refusal?.kind === 'DualWrite') throw new ExoError('DualWrite', dualWriteMessage(randomUUID()));
  }
}

export type RecipientChange = Parameters<Tenant['updateRecipient']>[1];

/** The recipient changes that the common address/attribute parameters ask for. */
export function commonChanges(p: Params, r: ExoRecipient): RecipientChange {
  const change: RecipientChange = {};
  if (p.has('EmailAddresses')) change.emailAddresses = emailAddressesChange(r.emailAddresses, p.get('EmailAddresses'));
  const wea = str(p, 'WindowsEmailAddress');
  if (wea !== undefined) change.windowsEmailAddress = wea;
  const psa = str(p, 'PrimarySmtpAddress');
  if (psa !== undefined) change.primarySmtpAddress = psa;
  const alias = str(p, 'Alias');
  if (alias !== undefined) change.alias = alias;
  const hidden = bool(p, 'HiddenFromAddressListsEnabled');
  if (hidden !== undefined) change.hiddenFromAddressListsEnabled = hidden;
  const dn = str(p, 'DisplayName');
  if (dn !== undefined) change.displayName = dn;
  const custom: Record<number, string> = {};
  CUSTOM.forEach((c, i) => {
    const v = str(p, c);
    if (v !== undefined) custom[i + 1] = v;
  });
  if (Object.keys(custom).length > 0) change.customAttributes = custom;
  const ext = str(p, 'ExternalEmailAddress');
  if (ext !== undefined) change.externalEmailAddress = ext;
  return change;
}

export function noChangeWarning(r: ExoRecipient): string {
  return `The command completed successfully but no settings of '${r.name}' have been modified.`;
}

export const ADDRESS_PARAMETERS = ['EmailAddresses', 'WindowsEmailAddress', 'PrimarySmtpAddress', 'Alias', 'HiddenFromAddressListsEnabled', 'DisplayName', ...CUSTOM];

/**
 * A multivalued recipient property: the full list (`Value1,Value2`, replacing what is there), `$null` (empty), or
 * `@{Add=…; Remove=…}` (`{"Add":[…],"Remove":[…]}`), each value resolved to an Entra object id.
 */
export function recipientListChange(current: readonly string[], v: unknown, resolveId: (identity: string) => string): string[] {
  if (v === null) return [];
  if (isRecord(v)) {
    const get = (k: string): string[] => {
      const key = Object.keys(v).find((x) => x.toLowerCase() === k);
      return key ? list(v[key]) : [];
    };
    const keys = Object.keys(v).filter((k) => !k.startsWith('@'));
    const unknown = keys.find((k) => !['add', 'remove'].includes(k.toLowerCase()));
    if (unknown) throw new ExoError('ParameterBinding', `The hashtable key '${unknown}' is not valid for a multivalued property: use Add and Remove. Nothing was changed.`);
    const remove = new Set(get('remove').map(resolveId));
    const next = current.filter((id) => !remove.has(id));
    for (const id of get('add').map(resolveId)) if (!next.includes(id)) next.push(id);
    return next;
  }
  const out: string[] = [];
  for (const id of list(v).map(resolveId)) if (!out.includes(id)) out.push(id);
  return out;
}
