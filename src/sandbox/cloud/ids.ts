import { randomUUID } from 'node:crypto';

/** Produces object ids. Injectable so that tests can get predictable GUIDs. */
export type IdGenerator = () => string;

export const randomGuid: IdGenerator = () => randomUUID();

/** An id generator that counts: 00000000-0000-4000-8000-000000000001, …002, … */
export function sequentialGuids(prefix = '00000000-0000-4000-8000-'): IdGenerator {
  let n = 0;
  return () => {
    n += 1;
    return prefix + n.toString(16).padStart(12, '0');
  };
}

export const EMPTY_GUID = '00000000-0000-0000-0000-000000000000';

const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isGuid(value: string): boolean {
  return GUID_RE.test(value);
}

/**
 * AD's `objectGUID` as Entra Connect's sourceAnchor: base64 of the 16 GUID bytes in the order AD stores
 * them (the first three fields little-endian), e.g. `{6f9619ff-8b86-d011-b42d-00c04fc964ff}` →
 * `/xmWb4aLEdC0LQDAT8lk/w==`.
 */
export function immutableIdFromObjectGuid(objectGuid: string): string {
  const hex = objectGuid.replace(/[{}-]/g, '');
  if (!/^[0-9a-f]{32}$/i.test(hex)) throw new Error(`not a GUID: ${objectGuid}`);
  const b = Buffer.from(hex, 'hex');
  const le = Buffer.concat([
    Buffer.from(b.subarray(0, 4)).reverse(),
    Buffer.from(b.subarray(4, 6)).reverse(),
    Buffer.from(b.subarray(6, 8)).reverse(),
    b.subarray(8),
  ]);
  return le.toString('base64');
}

/** The inverse of {@link immutableIdFromObjectGuid}. */
export function objectGuidFromImmutableId(immutableId: string): string {
  const b = Buffer.from(immutableId, 'base64');
  if (b.length !== 16) throw new Error(`not a GUID-based immutable id: ${immutableId}`);
  const be = Buffer.concat([
    Buffer.from(b.subarray(0, 4)).reverse(),
    Buffer.from(b.subarray(4, 6)).reverse(),
    Buffer.from(b.subarray(6, 8)).reverse(),
    b.subarray(8),
  ]).toString('hex');
  return `${be.slice(0, 8)}-${be.slice(8, 12)}-${be.slice(12, 16)}-${be.slice(16, 20)}-${be.slice(20)}`;
}
