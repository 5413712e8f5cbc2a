/** The AD adapter's public types (no ldapts types leak out of src/directory/). */
import type { GroupScope } from './attributes';
import type { Secret } from './password';

export type { GroupScope } from './attributes';

/** Minimal logger shape (src/log.ts's Logger fits). Passwords never reach it. */
export interface DirectoryLogger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
}

export type ObjectKind = 'user' | 'contact' | 'group' | 'computer' | 'organizational-unit' | 'other';

/** An AD object as Mailroom sees it. Absent attributes are undefined (lists: empty). */
export interface DirectoryObject {
  readonly dn: string;
  /** objectGUID as AD writes GUIDs (`xxxxxxxx-xxxx-…`, lower case). */
  readonly objectGuid: string;
  readonly objectClass: ObjectKind;
  /** All objectClass values, e.g. `top, person, organizationalPerson, user`. */
  readonly objectClasses: readonly string[];
  readonly cn?: string;
  readonly samAccountName?: string;
  readonly userPrincipalName?: string;
  readonly mail?: string;
  readonly mailNickname?: string;
  readonly proxyAddresses: readonly string[];
  readonly targetAddress?: string;
  readonly displayName?: string;
  readonly givenName?: string;
  readonly sn?: string;
  readonly department?: string;
  readonly title?: string;
  readonly description?: string;
  readonly userAccountControl?: number;
  /** Users and computers: not disabled (userAccountControl bit 0x2 clear). Undefined for contacts and groups. */
  readonly enabled?: boolean;
  readonly groupType?: number;
  readonly groupScope?: GroupScope;
  readonly securityEnabled?: boolean;
  readonly hiddenFromAddressLists?: boolean;
  readonly recipientTypeDetails?: string;
  readonly whenCreated?: string;
  readonly whenChanged?: string;
  readonly uSNChanged?: string;
}

/** An attribute value to write: strings as they are, numbers in decimal, booleans as TRUE/FALSE. */
export type AttributeValue = string | number | boolean | readonly string[];

export interface CreatedObject {
  readonly dn: string;
  readonly objectGuid: string;
}

/** What every new object has: where it goes, its CN, and its other attributes, by their LDAP names. */
export interface NewObject {
  /** The OU (or container) to create the object in. */
  readonly parentDn: string;
  readonly cn: string;
  /**
   * The object's attributes by their LDAP names, as the plan has them: `{ displayName: 'Ada Lovelace', mail:
   * 'ada@contoso.com', proxyAddresses: ['SMTP:ada@contoso.com'], msExchHideFromAddressLists: true }`. Empty values
   * are left out. The attributes a create method sets itself (objectClass, cn and the fields of its own type) win.
   */
  readonly attributes?: Readonly<Record<string, AttributeValue>>;
}

export interface NewUser extends NewObject {
  /** Windows' rules are enforced here: at most 20 characters, none of `" / \ [ ] : ; | = , + * ? < >`. */
  readonly samAccountName: string;
  readonly userPrincipalName: string;
  /** Enabled accounts need a password; a disabled one may have none (shared mailboxes). */
  readonly enabled: boolean;
  readonly password?: string | Secret;
  /** Make the user change the password at the next sign-in (pwdLastSet = 0). */
  readonly mustChangePassword?: boolean;
}

export type NewContact = NewObject;

export interface NewGroup extends NewObject {
  /** Strongly recommended: without it AD invents one like `$754F7568-A55A6DEBDE829FBE`. */
  readonly samAccountName?: string;
  /** AD's groupType, a signed 32-bit integer: the plan's (`groupTypeOf` in src/plans computes it). */
  readonly groupType: number;
  /** DNs of the first members (each must exist). */
  readonly members?: readonly string[];
}

export interface WhoHasQuery {
  readonly samAccountName?: string;
  readonly userPrincipalName?: string;
  /** mailNickname. */
  readonly alias?: string;
  /** An SMTP address: compared with mail, proxyAddresses (any `smtp:` prefix case), userPrincipalName and targetAddress. */
  readonly address?: string;
  /** More addresses, each compared as `address` is: one search answers for all of them. */
  readonly addresses?: readonly string[];
  /** A distinguished name: the object there, if any (its name is taken in that OU). */
  readonly dn?: string;
}

export type WhoHasField = 'samAccountName' | 'userPrincipalName' | 'alias' | 'address' | 'dn';

export interface WhoHasMatch {
  readonly where: 'ad';
  /** displayName, else cn. */
  readonly name: string;
  readonly dn: string;
  readonly objectClass: ObjectKind;
  /** Which of the queried values this object holds, and in which attribute. */
  readonly matches: readonly { readonly field: WhoHasField; readonly attribute: string; readonly value: string }[];
}

export interface ValuesChange {
  /** Values written. */
  readonly changed: readonly string[];
  /** Values that needed no change (already there for add, already absent for remove). */
  readonly unchanged: readonly string[];
}
