/**
 * Mailroom's Active Directory adapter: the only code that talks LDAP (ldapts) to AD.
 * Nothing outside src/directory/ imports ldapts; the rest of Mailroom uses what is exported here.
 */
export { DIRECTORY_WRITES, DirectoryClient } from './client';
export type { DirectoryClientOptions } from './connection';
export { DirectoryError, type ChangeOutcome, type DirectoryErrorKind } from './errors';
export * as dn from './dn';
export { escapeFilterValue } from './filter';
export {
  characterClasses,
  containsAccountName,
  DEFAULT_GENERATED_LENGTH,
  generatePassword,
  nameTokens,
  Secret,
  type PasswordPolicy,
} from './password';
export { guidToBuffer, guidToString } from './attributes';
export { DirectoryRightsReader, type ObjectRights, type SchemaIds, type ServiceAccount } from './rights';
export { DS_RIGHTS, grants, sidToString, type Ace, type RightQuery } from './security';
export type * from './types';
