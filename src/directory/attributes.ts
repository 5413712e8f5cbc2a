/** AD attribute encodings: objectGUID, userAccountControl, groupType, unicodePwd. */

/** userAccountControl bits Mailroom uses. */
export const UAC = {
  ACCOUNTDISABLE: 0x2,
  PASSWD_NOTREQD: 0x20,
  NORMAL_ACCOUNT: 0x200,
  DONT_EXPIRE_PASSWORD: 0x10000,
} as const;
/** A normal, enabled account (512). */
export const UAC_ENABLED = UAC.NORMAL_ACCOUNT;
/** A normal, disabled account (514). */
export const UAC_DISABLED = UAC.NORMAL_ACCOUNT | UAC.ACCOUNTDISABLE;

/** groupType bits (read only: the planner computes the groupType of new groups, `groupTypeOf` in src/plans). */
const GROUP_TYPE = {
  GLOBAL: 0x2,
  DOMAIN_LOCAL: 0x4,
  UNIVERSAL: 0x8,
  SECURITY_ENABLED: 0x80000000,
} as const;

export type GroupScope = 'global' | 'universal' | 'domain-local';

/** Scope and type from a groupType value (signed or unsigned). */
export function parseGroupType(value: number): { scope: GroupScope | undefined; securityEnabled: boolean } {
  const v = value >>> 0;
  const scope = v & GROUP_TYPE.GLOBAL ? 'global' : v & GROUP_TYPE.UNIVERSAL ? 'universal' : v & GROUP_TYPE.DOMAIN_LOCAL ? 'domain-local' : undefined;
  return { scope, securityEnabled: (v & GROUP_TYPE.SECURITY_ENABLED) !== 0 };
}

/** The 16 bytes of objectGUID as AD writes GUIDs: the first three groups little-endian. */
export function guidToString(bytes: Buffer): string {
  if (bytes.length !== 16) throw new Error(`objectGUID must be 16 bytes, got ${bytes.length}`);
  const h = (from: number, to: number, reverse: boolean): string => {
    const part = Buffer.from(bytes.subarray(from, to));
    return (reverse ? part.reverse() : part).toString('hex');
  };
  return `${h(0, 4, true)}-${h(4, 6, true)}-${h(6, 8, true)}-${h(8, 10, false)}-${h(10, 16, false)}`;
}

const GUID_TEXT = /^\{?([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})\}?$/i;

export function isGuidText(value: string): boolean {
  return GUID_TEXT.test(value.trim());
}

/** The objectGUID bytes for a GUID written `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (braces allowed). */
export function guidToBuffer(text: string): Buffer {
  const m = GUID_TEXT.exec(text.trim());
  if (!m) throw new Error(`"${text}" is not a GUID`);
  const le = (hex: string): Buffer => Buffer.from(hex, 'hex').reverse();
  return Buffer.concat([le(m[1]!), le(m[2]!), le(m[3]!), Buffer.from(m[4]!, 'hex'), Buffer.from(m[5]!, 'hex')]);
}

/** `unicodePwd` wants the password in double quotes, UTF-16LE. */
export function encodeUnicodePwd(password: string): Buffer {
  return Buffer.from(`"${password}"`, 'utf16le');
}
