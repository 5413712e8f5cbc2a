/**
 * Mailroom's Active Directory adapter: the only code that talks LDAP (ldapts) to AD.
 * Nothing outside src/directory/ imports ldapts; the rest of Mailroom uses what is exported here.
 */
export { DirectoryClient, type DirectoryClientOptions } from './client';
export {
  CLIENT_CODES,
  DirectoryError,
  type ChangeOutcome,
  type DirectoryErrorKind,
} from './errors';
export * as dn from './dn';
export { escapeFilterValue } from './filter';
export {
  characterClasses,
  containsAccountName,
  DEFAULT_GENERATED_LENGTH,
  generatePassword,
  nameTokens,
  Secret,
  type GenerateOptions,
  type PasswordPolicy,
} from './password';
export { groupTypeValue, guidToBuffer, guidToString, parseGroupType, UAC, UAC_DISABLED, UAC_ENABLED, GROUP_TYPE } from './attributes';
export type * from './types';
