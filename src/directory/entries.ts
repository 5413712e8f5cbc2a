/**
 * ldapts entries and Mailroom's shapes: a DirectoryObject from a search entry, and ldapts Attributes and Changes
 * from attribute values (strings as they are, numbers in decimal, booleans as TRUE/FALSE).
 */
import { Attribute, Change, type Entry } from 'ldapts';
import { guidToString, parseGroupType, UAC } from './attributes';
import { configurationError } from './errors';
import type { AttributeValue, DirectoryObject, ObjectKind } from './types';

/** The attributes read for a DirectoryObject. */
export const OBJECT_ATTRIBUTES = [
  'objectClass',
  'objectGUID',
  'cn',
  'sAMAccountName',
  'userPrincipalName',
  'mail',
  'mailNickname',
  'proxyAddresses',
  'targetAddress',
  'displayName',
  'givenName',
  'sn',
  'department',
  'title',
  'description',
  'userAccountControl',
  'groupType',
  'msExchHideFromAddressLists',
  'msExchRecipientTypeDetails',
  'whenCreated',
  'whenChanged',
  'uSNChanged',
];

/** Attribute values to write, by LDAP name; undefined ones are left out. */
export type Values = Readonly<Record<string, AttributeValue | undefined>>;

export function text(value: AttributeValue): string[] {
  if (typeof value === 'boolean') return [value ? 'TRUE' : 'FALSE'];
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw configurationError(`Attribute values must be whole numbers, not ${value}`);
    return [String(value)];
  }
  if (typeof value === 'string') return value === '' ? [] : [value];
  return value.filter((v) => v !== '');
}

/** ldapts Attributes from a record, leaving out undefined and empty values (AD refuses empty strings). */
export function toAttributes(values: Values): Attribute[] {
  const out: Attribute[] = [];
  for (const [type, value] of Object.entries(values)) {
    if (value === undefined) continue;
    const v = text(value);
    if (v.length) out.push(new Attribute({ type, values: v }));
  }
  return out;
}

export const replace = (type: string, values: string[] | Buffer[]): Change => new Change({ operation: 'replace', modification: new Attribute({ type, values }) });

/** Case-insensitive lookup of an attribute in an ldapts entry; Buffers become UTF-8 text. */
export function values(entry: Entry, name: string): string[] {
  const wanted = name.toLowerCase();
  const key = Object.keys(entry).find((k) => k.toLowerCase() === wanted);
  if (key === undefined) return [];
  const v = entry[key];
  if (v === undefined) return [];
  const list = Array.isArray(v) ? v : [v];
  return list.map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : x));
}

export function first(entry: Entry, name: string): string | undefined {
  return values(entry, name)[0];
}

export function buffer(entry: Entry, name: string): Buffer | undefined {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === name.toLowerCase());
  const v = key === undefined ? undefined : entry[key];
  if (Buffer.isBuffer(v)) return v;
  if (Array.isArray(v) && Buffer.isBuffer(v[0])) return v[0];
  return undefined;
}

export function kindOf(classes: readonly string[]): ObjectKind {
  const c = new Set(classes.map((x) => x.toLowerCase()));
  if (c.has('computer')) return 'computer';
  if (c.has('user')) return 'user';
  if (c.has('contact')) return 'contact';
  if (c.has('group')) return 'group';
  if (c.has('organizationalunit')) return 'organizational-unit';
  return 'other';
}

export function int(value: string | undefined): number | undefined {
  if (value === undefined || !/^-?\d+$/.test(value)) return undefined;
  return Number(value);
}

export function toObject(entry: Entry): DirectoryObject {
  const classes = values(entry, 'objectClass');
  const kind = kindOf(classes);
  const guid = buffer(entry, 'objectGUID');
  const uac = int(first(entry, 'userAccountControl'));
  const groupType = int(first(entry, 'groupType'));
  const hidden = first(entry, 'msExchHideFromAddressLists');
  const parsedGroup = groupType === undefined ? undefined : parseGroupType(groupType);
  const o: Record<string, unknown> = {
    dn: entry.dn,
    objectGuid: guid ? guidToString(guid) : '',
    objectClass: kind,
    objectClasses: classes,
    cn: first(entry, 'cn'),
    samAccountName: first(entry, 'sAMAccountName'),
    userPrincipalName: first(entry, 'userPrincipalName'),
    mail: first(entry, 'mail'),
    mailNickname: first(entry, 'mailNickname'),
    proxyAddresses: values(entry, 'proxyAddresses'),
    targetAddress: first(entry, 'targetAddress'),
    displayName: first(entry, 'displayName'),
    givenName: first(entry, 'givenName'),
    sn: first(entry, 'sn'),
    department: first(entry, 'department'),
    title: first(entry, 'title'),
    description: first(entry, 'description'),
    userAccountControl: uac,
    enabled: uac !== undefined && (kind === 'user' || kind === 'computer') ? (uac & UAC.ACCOUNTDISABLE) === 0 : undefined,
    groupType,
    groupScope: parsedGroup?.scope,
    securityEnabled: parsedGroup?.securityEnabled,
    hiddenFromAddressLists: hidden === undefined ? undefined : hidden.toUpperCase() === 'TRUE',
    recipientTypeDetails: first(entry, 'msExchRecipientTypeDetails'),
    whenCreated: first(entry, 'whenCreated'),
    whenChanged: first(entry, 'whenChanged'),
    uSNChanged: first(entry, 'uSNChanged'),
  };
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o as unknown as DirectoryObject;
}
