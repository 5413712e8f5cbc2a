/**
 * Security descriptors as AD returns them (nTSecurityDescriptor, self-relative binary; MS-DTYP 2.4.6), SIDs, and
 * the part of Windows' access check the doctor needs: does a token hold one directory right on an object, or on a
 * new child of a class (the ACEs it inherits). Read-only: Mailroom never writes a security descriptor.
 */
import { guidToString } from './attributes';

/** Directory access rights (MS-ADTS 5.1.3.2), as in an ACE's mask. */
export const DS_RIGHTS = {
  CREATE_CHILD: 0x1,
  DELETE_CHILD: 0x2,
  READ_PROPERTY: 0x10,
  WRITE_PROPERTY: 0x20,
  CONTROL_ACCESS: 0x100,
  DELETE: 0x10000,
  GENERIC_ALL: 0x10000000,
  GENERIC_WRITE: 0x40000000,
} as const;

/** ACE flags (MS-DTYP 2.4.4.1). */
const ACE_FLAGS = { OBJECT_INHERIT: 0x1, CONTAINER_INHERIT: 0x2, NO_PROPAGATE: 0x4, INHERIT_ONLY: 0x8, INHERITED: 0x10 } as const;

/** Well-known SIDs every authenticated token carries. */
export const WELL_KNOWN_SIDS = { everyone: 'S-1-1-0', authenticatedUsers: 'S-1-5-11', thisOrganization: 'S-1-5-15' } as const;

export interface Ace {
  readonly allow: boolean;
  /** Deny or allow ACE types Mailroom understands (others, e.g. callback or audit ACEs, are kept as `known: false`). */
  readonly known: boolean;
  readonly flags: number;
  readonly mask: number;
  /** Object ACEs: the class, attribute, property set or extended right the ACE is about (lower case). */
  readonly objectType?: string;
  /** Object ACEs: the class of objects that inherit it (lower case). */
  readonly inheritedObjectType?: string;
  readonly sid: string;
}

export interface SecurityDescriptor {
  readonly control: number;
  /** Null when the descriptor carries no DACL (everyone has every right; AD never returns that for an OU). */
  readonly dacl: readonly Ace[] | null;
}

/** A SID in its binary form (objectSid, tokenGroups) as `S-1-5-21-…`. */
export function sidToString(bytes: Buffer, offset = 0): string {
  const count = bytes.readUInt8(offset + 1);
  if (bytes.length < offset + 8 + 4 * count) throw new Error('truncated SID');
  const authority = bytes.readUIntBE(offset + 2, 6);
  const parts = [`S-${bytes.readUInt8(offset)}-${authority}`];
  for (let i = 0; i < count; i += 1) parts.push(String(bytes.readUInt32LE(offset + 8 + 4 * i)));
  return parts.join('-');
}

function sidLength(bytes: Buffer, offset: number): number {
  return 8 + 4 * bytes.readUInt8(offset + 1);
}

/** Parse a self-relative security descriptor (the DACL only: owner, group and SACL are not needed). */
export function parseSecurityDescriptor(bytes: Buffer): SecurityDescriptor {
  if (bytes.length < 20) throw new Error('truncated security descriptor');
  const control = bytes.readUInt16LE(2);
  const daclOffset = bytes.readUInt32LE(16);
  const SE_DACL_PRESENT = 0x4;
  if (!(control & SE_DACL_PRESENT) || daclOffset === 0) return { control, dacl: null };
  const aceCount = bytes.readUInt16LE(daclOffset + 4);
  const aces: Ace[] = [];
  let at = daclOffset + 8;
  for (let i = 0; i < aceCount; i += 1) {
    const type = bytes.readUInt8(at);
    const flags = bytes.readUInt8(at + 1);
    const size = bytes.readUInt16LE(at + 2);
    if (size < 8 || at + size > bytes.length) throw new Error('malformed ACE');
    const mask = bytes.readUInt32LE(at + 4);
    // 0 allowed, 1 denied, 5 allowed object, 6 denied object (MS-DTYP 2.4.4.1).
    if (type === 0 || type === 1) {
      aces.push({ allow: type === 0, known: true, flags, mask, sid: sidToString(bytes, at + 8) });
    } else if (type === 5 || type === 6) {
      const objectFlags = bytes.readUInt32LE(at + 8);
      let p = at + 12;
      let objectType: string | undefined;
      let inheritedObjectType: string | undefined;
      if (objectFlags & 0x1) {
        objectType = guidToString(bytes.subarray(p, p + 16));
        p += 16;
      }
      if (objectFlags & 0x2) {
        inheritedObjectType = guidToString(bytes.subarray(p, p + 16));
        p += 16;
      }
      if (p + sidLength(bytes, p) > at + size) throw new Error('malformed object ACE');
      aces.push({ allow: type === 5, known: true, flags, mask, sid: sidToString(bytes, p), ...(objectType ? { objectType } : {}), ...(inheritedObjectType ? { inheritedObjectType } : {}) });
    } else {
      aces.push({ allow: false, known: false, flags, mask, sid: '' });
    }
    at += size;
  }
  return { control, dacl: aces };
}

/** What is asked: one right, about one object type (a class, an attribute with its property set, or an extended right). */
export interface RightQuery {
  /** One bit of {@link DS_RIGHTS}. */
  readonly right: number;
  /** The GUIDs an ACE's objectType may name to cover the request (e.g. an attribute and its property set); empty: none needed. */
  readonly objectTypes: readonly string[];
  /**
   * `object`: the right on the object itself (e.g. Create child of a class on an OU).
   * `{ childClass }`: the right a new child of that class gets from the ACEs it inherits from the object.
   */
  readonly on: 'object' | { readonly childClass: string };
}

/** Generic rights as AD maps them in stored ACEs (they are normally expanded already). */
function expand(mask: number): number {
  let m = mask;
  if (m & DS_RIGHTS.GENERIC_ALL) m |= 0x000f01ff;
  if (m & DS_RIGHTS.GENERIC_WRITE) m |= DS_RIGHTS.WRITE_PROPERTY | 0x8 | 0x20000;
  return m;
}

/**
 * Whether the DACL grants the right to a token holding `sids`: the first ACE that matches the right and the object
 * type decides (Windows' access check over a DACL in canonical order: explicit deny, explicit allow, inherited).
 * `{ childClass }` looks only at the ACEs a new child of that class inherits (container-inherit, inherited object type
 * empty or that class); the child's own default ACEs (its class's defaultSecurityDescriptor) are not considered.
 */
export function grants(dacl: readonly Ace[] | null, sids: ReadonlySet<string>, query: RightQuery): boolean {
  if (dacl === null) return true;
  const wanted = new Set(query.objectTypes.map((g) => g.toLowerCase()));
  for (const ace of dacl) {
    if (!ace.known || !sids.has(ace.sid)) continue;
    if (query.on === 'object') {
      if (ace.flags & ACE_FLAGS.INHERIT_ONLY) continue;
    } else {
      if (!(ace.flags & ACE_FLAGS.CONTAINER_INHERIT)) continue;
      if (ace.inheritedObjectType && ace.inheritedObjectType !== query.on.childClass.toLowerCase()) continue;
    }
    if (!(expand(ace.mask) & query.right)) continue;
    if (ace.objectType && !wanted.has(ace.objectType)) continue;
    return ace.allow;
  }
  return false;
}
