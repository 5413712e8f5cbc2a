/**
 * Passwords for new accounts: the domain's policy (read once) and a generator that satisfies Windows' rules even
 * where Samba is more lenient (3 of 4 character classes; no part of the account's name of 3 or more characters).
 * Generated passwords come back as a `Secret`, which prints as "[redacted]" in logs, JSON and util.inspect.
 */
import { randomInt } from 'node:crypto';
import { inspect } from 'node:util';

const REDACTED = '[redacted]';

/** A value that must never be logged: `reveal()` is the only way to read it. */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  /** The clear text. Use it only to set it in AD or to show it once to the person who needs it. */
  reveal(): string {
    return this.#value;
  }

  get length(): number {
    return this.#value.length;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return `Secret(${REDACTED})`;
  }
}

/** The clear text of a password given as a string or a Secret. */
export function revealPassword(password: string | Secret): string {
  return typeof password === 'string' ? password : password.reveal();
}

export interface PasswordPolicy {
  /** The longest minimum length that may apply: the domain's, or a fine-grained policy's (PSO). */
  readonly minLength: number;
  /** Whether complexity is required (domain `pwdProperties` bit 1, or any PSO). */
  readonly complexity: boolean;
  readonly historyLength: number;
  /** Where it came from: the domain object and how many fine-grained policies (PSOs) were considered. */
  readonly psoCount: number;
}

/** pwdProperties bit DOMAIN_PASSWORD_COMPLEX. */
export const DOMAIN_PASSWORD_COMPLEX = 0x1;

const UPPER = 'ABCDEFGHJKLMNPQRSTUVWXYZ';
const LOWER = 'abcdefghijkmnopqrstuvwxyz';
const DIGITS = '23456789';
/** Symbols that are easy to read out and type, and need no quoting in common shells' double quotes. */
const SYMBOLS = '!#%+-=?@_.:~';
const CLASSES = [UPPER, LOWER, DIGITS, SYMBOLS] as const;
const ALL = CLASSES.join('');

export const DEFAULT_GENERATED_LENGTH = 20;
const MAX_LENGTH = 128;

export interface GenerateOptions {
  /** Default 20, and never below the policy's minimum. */
  readonly length?: number;
  /** The account's sAMAccountName, display name, given name … : no part of 3+ characters may appear in the password. */
  readonly accountNames?: readonly (string | undefined)[];
}

/**
 * Split a name the way Windows does for its complexity check: on commas, periods, hyphens, underscores, hash
 * signs, spaces and tabs; parts shorter than 3 characters are ignored. The whole name counts as well.
 */
export function nameTokens(names: readonly (string | undefined)[]): string[] {
  const tokens = new Set<string>();
  for (const name of names) {
    if (!name) continue;
    const whole = name.toLowerCase();
    if (whole.length >= 3) tokens.add(whole);
    for (const part of whole.split(/[,.\-_#\s\u2013\u2014]+/)) {
      if (part.length >= 3) tokens.add(part);
    }
  }
  return [...tokens];
}

/** Whether the password contains (case-insensitively) a part of the account's names that Windows would refuse. */
export function containsAccountName(password: string, names: readonly (string | undefined)[]): boolean {
  const p = password.toLowerCase();
  return nameTokens(names).some((t) => p.includes(t));
}

/** How many of the four character classes (capital, small, digit, symbol) a password uses. */
export function characterClasses(password: string): number {
  let n = 0;
  if (/[A-Z]/.test(password)) n += 1;
  if (/[a-z]/.test(password)) n += 1;
  if (/[0-9]/.test(password)) n += 1;
  if (/[^A-Za-z0-9]/.test(password)) n += 1;
  return n;
}

function pick(alphabet: string): string {
  return alphabet[randomInt(alphabet.length)]!;
}

/**
 * A random password (node:crypto) that meets the policy and Windows' complexity rules: at least one capital, small
 * letter, digit and symbol (so 3 of 4 classes hold whatever the policy), no part of the account's names.
 */
export function generatePassword(policy: PasswordPolicy, options: GenerateOptions = {}): Secret {
  const length = Math.min(MAX_LENGTH, Math.max(options.length ?? DEFAULT_GENERATED_LENGTH, policy.minLength, CLASSES.length));
  const names = options.accountNames ?? [];
  for (let attempt = 0; attempt < 1000; attempt += 1) {
    const chars = CLASSES.map(pick);
    while (chars.length < length) chars.push(pick(ALL));
    // Fisher–Yates with crypto randomness, so the class characters are not always in front.
    for (let i = chars.length - 1; i > 0; i -= 1) {
      const j = randomInt(i + 1);
      [chars[i], chars[j]] = [chars[j]!, chars[i]!];
    }
    const candidate = chars.join('');
    if (!containsAccountName(candidate, names)) return new Secret(candidate);
  }
  // Only reachable with a pathological name list (e.g. every 3-letter string).
  throw new Error('Could not generate a password that avoids the account name');
}
