/**
 * Store errors in plain words. Every message says what happened, that nothing was changed where that
 * is true, and what to check next. A DATABASE_URL is only ever shown with its password masked.
 */

export type StoreErrorCode =
  | 'misconfigured' // DATABASE_URL cannot be used as given
  | 'unreachable' // no connection could be made (refused, unknown host, timeout, reset)
  | 'login-rejected' // the server refused the user or password
  | 'database-missing' // the named database does not exist
  | 'unavailable' // the server answered but cannot serve now (starting, shutting down, full)
  | 'sqlite-failed' // the SQLite file could not be created, opened or used
  | 'migration-failed' // a schema migration failed or the database is newer than this code
  | 'invalid-record' // a caller passed a record the store will not write
  | 'not-found' // the record a change was asked for does not exist
  | 'conflict' // a different record already holds that key (e.g. a decision for the same request version)
  | 'closed' // the store was used after close()
  | 'query-failed'; // anything else the database reported

export class StoreError extends Error {
  override readonly name = 'StoreError';
  readonly code: StoreErrorCode;

  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

const MASK = '***';

/** The URL with its password replaced by `***`; unparseable input is masked between `:` and `@`. */
export function redactDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = MASK;
    for (const key of [...u.searchParams.keys()]) {
      if (/pass|secret|key/i.test(key)) u.searchParams.set(key, MASK);
    }
    return u.toString();
  } catch {
    return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/?#@]*:)[^@/]*@/i, `$1${MASK}@`).replace(/(pass\w*=)[^&]*/gi, `$1${MASK}`);
  }
}

export interface PostgresTarget {
  /** `host:port`, or `socket <dir>` for a unix socket. */
  readonly where: string;
  readonly user: string;
  readonly database: string;
  readonly redactedUrl: string;
  /** Secrets to mask in any text taken from a driver error. */
  readonly secrets: readonly string[];
}

/** Validate a PostgreSQL URL; a failure never quotes the URL unmasked and never keeps the parser's error. */
export function parsePostgresUrl(url: string): PostgresTarget {
  const redactedUrl = redactDatabaseUrl(url);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new StoreError(
      'misconfigured',
      `DATABASE_URL is not a valid URL (${redactedUrl}). Expected postgres://user:password@host:5432/database; ` +
        'percent-encode special characters in the user name and password. No connection was attempted.',
    );
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
    throw new StoreError(
      'misconfigured',
      `DATABASE_URL must start with postgres:// or postgresql:// (got ${u.protocol}//). ` +
        'Leave DATABASE_URL empty to use the embedded SQLite database. No connection was attempted.',
    );
  }
  const socketDir = u.searchParams.get('host');
  const host = u.hostname !== '' ? u.hostname : socketDir?.startsWith('/') ? '' : 'localhost';
  const where = host === '' ? `socket ${socketDir ?? ''}` : `${host}:${u.port !== '' ? u.port : '5432'}`;
  const password = u.password;
  let decoded = password;
  try {
    decoded = decodeURIComponent(password);
  } catch {
    // keep the raw form only
  }
  const fromQuery = [...u.searchParams.entries()].filter(([k]) => /pass|secret|key/i.test(k)).map(([, v]) => v);
  // Short strings are not masked inside driver messages: they would mangle ordinary words.
  const secrets = [password, decoded, ...fromQuery].filter((s) => s.length >= 3);
  const database = decodeURIComponent(u.pathname.replace(/^\//, '')) || decodeURIComponent(u.username) || 'postgres';
  return { where, user: decodeURIComponent(u.username) || '(default user)', database, redactedUrl, secrets };
}

function maskSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) out = out.split(s).join(MASK);
  return out;
}

interface ErrorLike {
  code?: unknown;
  message?: unknown;
  errors?: unknown;
}

/** The code of a Node system error or a PostgreSQL SQLSTATE; for AggregateError the first inner one. */
function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as ErrorLike;
  if (typeof e.code === 'string' && e.code !== '') return e.code;
  if (Array.isArray(e.errors)) {
    for (const inner of e.errors) {
      const c = errorCode(inner);
      if (c !== undefined) return c;
    }
  }
  return undefined;
}

function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'object' && err !== null && typeof (err as ErrorLike).message === 'string') {
    return (err as { message: string }).message;
  }
  return String(err);
}

export function describePostgresError(err: unknown, t: PostgresTarget, doing: string): StoreError {
  if (err instanceof StoreError) return err;
  const code = errorCode(err);
  const msg = maskSecrets(errorMessage(err), t.secrets);
  const at = `PostgreSQL at ${t.where}`;
  const check = `check DATABASE_URL (${t.redactedUrl})`;
  const opts = { cause: err };
  switch (code) {
    case 'ECONNREFUSED':
      return new StoreError('unreachable', `${at} refused the connection (ECONNREFUSED); ${check} and that the server is running and listening there. Could not ${doing}.`, opts);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new StoreError('unreachable', `${at}: the host name could not be resolved (${code}); ${check}. Could not ${doing}.`, opts);
    case 'ETIMEDOUT':
      return new StoreError('unreachable', `${at} did not answer in time (ETIMEDOUT); ${check} and any firewall between. Could not ${doing}.`, opts);
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new StoreError('unreachable', `${at} is not reachable from here (${code}); ${check} and the network route. Could not ${doing}.`, opts);
    case 'ECONNRESET':
    case 'EPIPE':
      return new StoreError('unreachable', `${at} closed the connection (${code}); the server may have restarted or a proxy dropped it. Could not ${doing}.`, opts);
    case 'ENOENT':
      return new StoreError('unreachable', `${at}: no PostgreSQL socket there (ENOENT); ${check}. Could not ${doing}.`, opts);
    case '28P01':
      return new StoreError('login-rejected', `${at} rejected the password for user "${t.user}" (28P01); ${check}. Could not ${doing}.`, opts);
    case '28000':
      return new StoreError('login-rejected', `${at} does not let user "${t.user}" connect to database "${t.database}" (28000: ${msg}); check the role and pg_hba.conf. Could not ${doing}.`, opts);
    case '3D000':
      return new StoreError('database-missing', `${at} has no database named "${t.database}" (3D000); create it (CREATE DATABASE) or ${check}. Could not ${doing}.`, opts);
    case '57P03':
    case '57P01':
    case '57P02':
      return new StoreError('unavailable', `${at} is starting up or shutting down (${code}); try again shortly. Could not ${doing}.`, opts);
    case '53300':
      return new StoreError('unavailable', `${at} has no free connection slots (53300: too many connections); lower the pool sizes or raise max_connections. Could not ${doing}.`, opts);
    default:
      break;
  }
  if (/timeout exceeded when trying to connect|connection timeout/i.test(msg)) {
    return new StoreError('unreachable', `${at} did not answer within the connect timeout; ${check} and any firewall between. Could not ${doing}.`, opts);
  }
  if (/connection terminated/i.test(msg)) {
    return new StoreError('unreachable', `${at} closed the connection (${msg}); the server may have restarted. Could not ${doing}.`, opts);
  }
  if (/client password must be a string|password must be a string/i.test(msg)) {
    return new StoreError('login-rejected', `${at} asks for a password but DATABASE_URL has none for user "${t.user}"; ${check}. Could not ${doing}.`, opts);
  }
  if (/does not support SSL/i.test(msg)) {
    return new StoreError('misconfigured', `${at} does not accept SSL, but DATABASE_URL asks for it; remove sslmode from DATABASE_URL or enable SSL on the server. Could not ${doing}.`, opts);
  }
  return new StoreError('query-failed', `${at}: could not ${doing}${code !== undefined ? ` (${code})` : ''}: ${msg}`, opts);
}

export function describeSqliteError(err: unknown, file: string, doing: string): StoreError {
  if (err instanceof StoreError) return err;
  const code = errorCode(err);
  const msg = errorMessage(err);
  const opts = { cause: err };
  const what = `SQLite database ${file}`;
  const fail = `${what}: could not ${doing}`;
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return new StoreError('sqlite-failed', `${fail}: permission denied (${code}); check that the bot's user may write to that folder. Nothing was changed.`, opts);
    case 'ENOTDIR':
    case 'EEXIST':
      return new StoreError('sqlite-failed', `${fail}: part of the path is a file, not a folder (${code}); choose another path. Nothing was changed.`, opts);
    case 'EROFS':
      return new StoreError('sqlite-failed', `${fail}: the file system is read-only (EROFS); choose a writable path. Nothing was changed.`, opts);
    case 'SQLITE_CANTOPEN':
      return new StoreError('sqlite-failed', `${fail}: the file cannot be opened (SQLITE_CANTOPEN); check that the folder exists and is writable. Nothing was changed.`, opts);
    case 'SQLITE_NOTADB':
      return new StoreError('sqlite-failed', `${fail}: the file is not an SQLite database (SQLITE_NOTADB); point the store at another file. Nothing was changed.`, opts);
    case 'SQLITE_BUSY':
    case 'SQLITE_LOCKED':
      return new StoreError('sqlite-failed', `${fail}: another process held it locked for longer than the busy timeout (${code}); SQLite serves one bot instance, use PostgreSQL (DATABASE_URL) for several.`, opts);
    case 'SQLITE_READONLY':
      return new StoreError('sqlite-failed', `${fail}: it is read-only (SQLITE_READONLY); check the file's permissions. Nothing was changed.`, opts);
    case 'SQLITE_FULL':
      return new StoreError('sqlite-failed', `${fail}: the disk is full (SQLITE_FULL).`, opts);
    case 'SQLITE_CORRUPT':
      return new StoreError('sqlite-failed', `${fail}: the file is corrupt (SQLITE_CORRUPT); restore it from a backup.`, opts);
    default:
      break;
  }
  if (/database connection is not open|has been destroyed|driver has already been destroyed/i.test(msg)) {
    return new StoreError('closed', `${fail}: the store is closed.`, opts);
  }
  return new StoreError('sqlite-failed', `${fail}${code !== undefined ? ` (${code})` : ''}: ${msg}`, opts);
}

/** Whether a unique violation is the one of a batch's line (migration 0011's index), on either engine. */
function isBatchLineClash(err: unknown): boolean {
  const e = err as { constraint?: unknown; message?: unknown } | null;
  // PostgreSQL names the index; SQLite lists its columns ("UNIQUE constraint failed: requests.batch_id, requests.batch_line")
  return e?.constraint === 'requests_batch_line_unique' || (typeof e?.message === 'string' && e.message.includes('requests.batch_line'));
}

/** Which kind of constraint a failed statement violated, on either engine; undefined for any other error. */
function constraintViolation(err: unknown): 'unique' | 'foreign-key' | undefined {
  switch (errorCode(err)) {
    case '23505':
    case 'SQLITE_CONSTRAINT_UNIQUE':
    case 'SQLITE_CONSTRAINT_PRIMARYKEY':
      return 'unique';
    case '23503':
    case 'SQLITE_CONSTRAINT_FOREIGNKEY':
      return 'foreign-key';
    default:
      return undefined;
  }
}

/**
 * Runs `write`, which stores a row referring to request `requestId`; when there is no such request (a
 * foreign-key violation), throws `not-found` saying `what` was not stored.
 */
export async function writeForRequest<T>(requestId: number, what: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (constraintViolation(err) === 'foreign-key') {
      throw new StoreError('not-found', `Request R-${requestId} does not exist; ${what} was not stored.`, { cause: err });
    }
    throw err;
  }
}

/**
 * Runs `write`, which stores a request in batch `batchId`; when there is no such batch (a foreign-key violation),
 * throws `not-found` saying `what` was not stored; when `line` of the batch was filed already (a unique violation),
 * throws `conflict`.
 */
export async function writeForBatch<T>(batchId: number, what: string, write: () => Promise<T>, line?: number): Promise<T> {
  try {
    return await write();
  } catch (err) {
    const violated = constraintViolation(err);
    if (violated === 'foreign-key') {
      throw new StoreError('not-found', `Batch B-${batchId} does not exist; ${what} was not stored.`, { cause: err });
    }
    if (violated === 'unique' && line !== undefined && isBatchLineClash(err)) {
      throw new StoreError('conflict', `Line ${line} of batch B-${batchId} was filed already; ${what} was not stored.`, { cause: err });
    }
    throw err;
  }
}
