/**
 * The secret vault: generated passwords kept for the requester to reveal once. Only ciphertext leaves this file:
 * AES-256-GCM with a random 12-byte IV per secret, the request id and entry name bound in as additional
 * authenticated data (so a ciphertext cannot be moved to another entry), under a 32-byte key the application
 * derives from its configuration. The key lives only in this object's memory: it is never stored, logged or
 * serialised.
 *
 * Storage is a small port (`SecretStore`): the store sees base64 ciphertext and nothing else. `takeWith` reads,
 * decrypts (through the vault's callback) and only then deletes, in one transaction: a secret that cannot be
 * decrypted (a wrong SECRET_KEY, an altered row) stays stored, so restoring the right key still reveals it; and
 * of several instances taking at once exactly one gets it.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { inspect } from 'node:util';
import type { SecretVault } from './executors/types';

/** Where the vault keeps its ciphertexts (the store-backed implementation lives with the store). */
export interface SecretStore {
  /** Keep the ciphertext of (requestId, name), replacing an earlier one; the store records when. */
  put(requestId: number, name: string, ciphertextBase64: string): Promise<void>;
  /**
   * Reads the ciphertext of (requestId, name), passes it to `open` (synchronous) and deletes the entry only when
   * `open` returns, in one transaction; when `open` throws, the entry is kept and the error passed on. Resolves
   * with what `open` returned, or undefined when there is no entry (never stored, or taken already).
   */
  takeWith<T>(requestId: number, name: string, open: (ciphertextBase64: string) => T): Promise<T | undefined>;
  /** Delete every entry stored before `date` (secrets nobody revealed); resolves with what was deleted. */
  purge(date: Date): Promise<PurgedSecret[]>;
}

/** A secret deleted unrevealed: which, and when it had been stored (never its value). */
export interface PurgedSecret {
  readonly requestId: number;
  readonly name: string;
  readonly storedAt: string;
}

/** A secret could not be stored or revealed. The message never contains the secret or the key. */
export class SecretVaultError extends Error {
  override readonly name = 'SecretVaultError';
}

export const SECRET_KEY_BYTES = 32;

/**
 * The vault's key: the configured one (SECRET_KEY), else a key file in the data folder, made once. The key file is
 * for one instance on SQLite only: the configuration requires SECRET_KEY with PostgreSQL, where every instance must
 * decrypt what the others stored.
 */
export function vaultKey(configured: Buffer | undefined, dataDir: string): Buffer {
  if (configured) return configured;
  const file = path.join(dataDir, 'secret.key');
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, randomBytes(SECRET_KEY_BYTES).toString('base64'), { mode: 0o600, flag: 'wx' });
  }
  return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
}

/** The HKDF label of the audit key derived from the vault key: a key for one purpose only (see auditKey). */
export const AUDIT_KEY_LABEL = 'mailroom/audit-chain/hmac-sha256/v1';

/**
 * The key of the audit log's HMAC chain: AUDIT_KEY when configured, else derived from the vault key with
 * HKDF-SHA256 under its own label. The derived key is independent of the vault key for every practical purpose
 * (HKDF's output reveals nothing of its input, and the label keeps the two uses apart), so one secret to keep
 * serves both; AUDIT_KEY lets an operator keep the audit key apart (and rotate SECRET_KEY without touching it).
 */
export function auditKey(configured: Buffer | undefined, vaultKeyBytes: Uint8Array): Buffer {
  if (configured) return configured;
  return Buffer.from(hkdfSync('sha256', vaultKeyBytes, Buffer.alloc(0), AUDIT_KEY_LABEL, SECRET_KEY_BYTES));
}

const IV_BYTES = 12;
const TAG_BYTES = 16;
/** The first byte of every ciphertext: the format (AES-256-GCM, IV, tag, ciphertext). */
const FORMAT_V1 = 1;
const AAD_LABEL = 'mailroom/secret-vault/v1';

function checkEntry(requestId: number, name: string): void {
  if (!Number.isSafeInteger(requestId) || requestId < 0) throw new SecretVaultError(`The request id of a secret must be a whole number, not ${String(requestId)}.`);
  if (typeof name !== 'string' || name.length === 0 || name.length > 100) throw new SecretVaultError('The name of a secret must be 1 to 100 characters.');
}

/** Binds a ciphertext to its entry: decrypting it under another request id or name fails authentication. */
function aad(requestId: number, name: string): Buffer {
  return Buffer.from(`${AAD_LABEL}\u0000${requestId}\u0000${name}`, 'utf8');
}

/** Stores secrets encrypted (AES-256-GCM) through a `SecretStore`; each can be revealed once. */
export class EncryptedSecretVault implements SecretVault {
  readonly #key: Buffer;
  readonly #store: SecretStore;

  /** `key`: exactly 32 bytes (copied; the caller may wipe its own copy). */
  constructor(key: Uint8Array, store: SecretStore) {
    if (!(key instanceof Uint8Array) || key.length !== SECRET_KEY_BYTES) {
      throw new SecretVaultError(`The secret vault needs a key of exactly ${SECRET_KEY_BYTES} bytes.`);
    }
    this.#key = Buffer.from(key);
    this.#store = store;
  }

  async put(requestId: number, name: string, secret: string): Promise<void> {
    checkEntry(requestId, name);
    if (typeof secret !== 'string' || secret.length === 0) throw new SecretVaultError(`The secret '${name}' of request ${requestId} is empty; nothing was stored.`);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad(requestId, name));
    const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    const sealed = Buffer.concat([Buffer.from([FORMAT_V1]), iv, cipher.getAuthTag(), body]);
    await this.#store.put(requestId, name, sealed.toString('base64'));
  }

  /** Decrypts, then deletes (one transaction): a secret that does not decrypt is kept, and the error says so. */
  async takeOnce(requestId: number, name: string): Promise<string | undefined> {
    checkEntry(requestId, name);
    return this.#store.takeWith(requestId, name, (stored) => this.#open(requestId, name, stored));
  }

  #open(requestId: number, name: string, stored: string): string {
    const refused = (why: string): SecretVaultError =>
      new SecretVaultError(
        `The stored secret '${name}' of request ${requestId} could not be revealed: ${why}. It was kept (nothing was ` +
          'deleted): an administrator must check that SECRET_KEY is the key Mailroom had when it stored the secret, ' +
          'the same on every instance; with the right key it can be revealed again.',
      );
    const sealed = Buffer.from(stored, 'base64');
    if (sealed.length < 1 + IV_BYTES + TAG_BYTES + 1 || sealed[0] !== FORMAT_V1) throw refused('it is not in the format Mailroom stores');
    const iv = sealed.subarray(1, 1 + IV_BYTES);
    const tag = sealed.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
    const body = sealed.subarray(1 + IV_BYTES + TAG_BYTES);
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(aad(requestId, name));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
    } catch {
      throw refused('it failed authentication (it was altered, or encrypted with a different key)');
    }
  }

  /** Delete secrets stored before `date` that nobody revealed; resolves with what was deleted. */
  async purgeOlderThan(date: Date): Promise<PurgedSecret[]> {
    return this.#store.purge(date);
  }

  toJSON(): Record<string, unknown> {
    return { vault: 'aes-256-gcm' };
  }

  [inspect.custom](): string {
    return 'EncryptedSecretVault(aes-256-gcm, key [redacted])';
  }
}

/**
 * A `SecretStore` in memory: for tests and a single process (its secrets die with the process, which for
 * one-time passwords is acceptable). `take` is synchronous inside, so it is atomic within the process.
 */
export class MemorySecretStore implements SecretStore {
  readonly #entries = new Map<string, { readonly ciphertext: string; readonly storedAt: number }>();
  readonly #now: () => Date;

  constructor(options: { now?: () => Date } = {}) {
    this.#now = options.now ?? (() => new Date());
  }

  #key(requestId: number, name: string): string {
    return `${requestId}\u0000${name}`;
  }

  put(requestId: number, name: string, ciphertextBase64: string): Promise<void> {
    this.#entries.set(this.#key(requestId, name), { ciphertext: ciphertextBase64, storedAt: this.#now().getTime() });
    return Promise.resolve();
  }

  takeWith<T>(requestId: number, name: string, open: (ciphertextBase64: string) => T): Promise<T | undefined> {
    const key = this.#key(requestId, name);
    const entry = this.#entries.get(key);
    if (entry === undefined) return Promise.resolve(undefined);
    try {
      const opened = open(entry.ciphertext);
      this.#entries.delete(key);
      return Promise.resolve(opened);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  purge(date: Date): Promise<PurgedSecret[]> {
    const limit = date.getTime();
    const purged: PurgedSecret[] = [];
    for (const [key, entry] of this.#entries) {
      if (entry.storedAt < limit) {
        this.#entries.delete(key);
        const [requestId, name] = key.split('\u0000');
        purged.push({ requestId: Number(requestId), name: name ?? '', storedAt: new Date(entry.storedAt).toISOString() });
      }
    }
    return Promise.resolve(purged);
  }

  /** How many secrets are kept (for tests and metrics). */
  get size(): number {
    return this.#entries.size;
  }
}
