/**
 * Mailroom's Active Directory adapter: the only code that talks LDAP (ldapts) to AD.
 * Nothing outside src/directory/ imports ldapts; the rest of Mailroom uses what is exported here.
 */
export { DirectoryClient } from './client';
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
export { guidToBuffer } from './attributes';
export type * from './types';
