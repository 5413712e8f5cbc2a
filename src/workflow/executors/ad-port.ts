/**
 * What the AD executors need from outside: the directory operations (`DirectoryClient` implements them as it is)
 * and the vault for the first password of a new user.
 */
import type { AttributeValue, CreatedObject, DirectoryObject, NewContact, NewGroup, NewUser, Secret, ValuesChange, WhoHasMatch, WhoHasQuery } from '../../directory';
import type { SecretVault } from './types';

/** The directory operations the AD executors use (`DirectoryClient` implements them). */
export interface AdDirectoryPort {
  /** The object at a DN, or null. */
  get(dn: string): Promise<DirectoryObject | null>;
  /** Every object holding one of the given names or addresses (case-insensitive, as AD compares). */
  whoHas(query: WhoHasQuery): Promise<WhoHasMatch[]>;
  createUser(user: NewUser): Promise<CreatedObject>;
  createContact(contact: NewContact): Promise<CreatedObject>;
  createGroup(group: NewGroup): Promise<CreatedObject>;
  /** One LDAP modify replacing the given attributes (`null`, '' or [] clears one). */
  setAttributes(dn: string, changes: Readonly<Record<string, AttributeValue | null>>): Promise<void>;
  addValues(dn: string, attribute: string, add: readonly string[]): Promise<ValuesChange>;
  removeValues(dn: string, attribute: string, remove: readonly string[]): Promise<ValuesChange>;
  /** The members (DNs) of a group; null when the group does not exist. */
  groupMembers(groupDn: string): Promise<string[] | null>;
  addGroupMembers(groupDn: string, memberDns: readonly string[]): Promise<ValuesChange>;
  removeGroupMembers(groupDn: string, memberDns: readonly string[]): Promise<ValuesChange>;
  disableAccount(dn: string): Promise<{ changed: boolean }>;
  /** Delete an object (roll back); `absent` when there was nothing to delete. */
  delete(dn: string): Promise<'deleted' | 'absent'>;
  enableAccount(dn: string): Promise<{ changed: boolean }>;
  setPassword(dn: string, password: Secret, options?: { mustChange?: boolean }): Promise<void>;
  /** A random password meeting the domain's policy and avoiding the account's names. */
  generatePassword(account?: { samAccountName?: string; displayName?: string; givenName?: string; sn?: string }): Promise<Secret>;
}

export interface AdExecutorDeps {
  readonly directory: AdDirectoryPort;
  readonly vault: SecretVault;
}
