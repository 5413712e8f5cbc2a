/**
 * The sandbox's knobs, read from a merged environment (env/.env.sandbox, env/.env.sandbox.user, the process
 * environment) by a pure function. Bad values throw {@link ConfigError}, listing every problem at once.
 *
 * | variable | meaning | default |
 * |---|---|---|
 * | SANDBOX_SYNC_MODE | `connect` (Entra Connect Sync: cycles only) or `cloud` (Entra Cloud Sync: cycles + provisionOnDemand) | cloud |
 * | SANDBOX_SYNC_INTERVAL_MS | ms between sync cycles; 0 = only when asked | 30000 |
 * | SANDBOX_MAILBOX_DELAY_MS | ms between an Exchange licence and its mailbox | 60000 |
 * | SANDBOX_LATENCY_MS | ms added before every cloud answer | 0 |
 * | SANDBOX_RATE_429 | share (0..1) of Graph/EXO requests answered 429 | 0 |
 * | SANDBOX_RATE_503 | share (0..1) of Graph/EXO requests answered 503 | 0 |
 * | SANDBOX_RETRY_AFTER_S | Retry-After (s) on those answers | 1 |
 * | SANDBOX_EXO_LICENCES | purchased Exchange Online (Plan 1) licences | 25 |
 * | SANDBOX_SEED | seed of the generator that picks which requests fail | 1 |
 */
import { ConfigError, type ConfigProblem } from '../config/config';
import type { SyncMode } from './sync/engine';

export interface SandboxKnobs {
  syncMode: SyncMode;
  syncIntervalMs: number;
  mailboxDelayMs: number;
  latencyMs: number;
  rate429: number;
  rate503: number;
  retryAfterS: number;
  exoLicences: number;
  seed: number;
}

export const DEFAULT_SANDBOX_KNOBS: Readonly<SandboxKnobs> = Object.freeze({
  syncMode: 'cloud',
  syncIntervalMs: 30_000,
  mailboxDelayMs: 60_000,
  latencyMs: 0,
  rate429: 0,
  rate503: 0,
  retryAfterS: 1,
  exoLicences: 25,
  seed: 1,
});

/** The environment variable behind each knob. */
export const SANDBOX_KNOB_VARIABLES: Readonly<Record<keyof SandboxKnobs, string>> = Object.freeze({
  syncMode: 'SANDBOX_SYNC_MODE',
  syncIntervalMs: 'SANDBOX_SYNC_INTERVAL_MS',
  mailboxDelayMs: 'SANDBOX_MAILBOX_DELAY_MS',
  latencyMs: 'SANDBOX_LATENCY_MS',
  rate429: 'SANDBOX_RATE_429',
  rate503: 'SANDBOX_RATE_503',
  retryAfterS: 'SANDBOX_RETRY_AFTER_S',
  exoLicences: 'SANDBOX_EXO_LICENCES',
  seed: 'SANDBOX_SEED',
});

const DAY_MS = 86_400_000;

function shown(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
}

/** Parses the sandbox knobs; unset or blank variables take their defaults. Throws ConfigError. */
export function sandboxKnobsFrom(env: Record<string, string | undefined>): SandboxKnobs {
  const problems: ConfigProblem[] = [];
  const raw = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const int = (key: keyof SandboxKnobs, min: number, max: number, example: string): number => {
    const name = SANDBOX_KNOB_VARIABLES[key];
    const fallback = DEFAULT_SANDBOX_KNOBS[key] as number;
    const v = raw(name);
    if (v === undefined) return fallback;
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
      problems.push({ variable: name, problem: `${shown(v)} is not a whole number from ${min} to ${max}`, example: `${name}=${example}` });
      return fallback;
    }
    return Number(v);
  };
  const share = (key: 'rate429' | 'rate503', example: string): number => {
    const name = SANDBOX_KNOB_VARIABLES[key];
    const v = raw(name);
    if (v === undefined) return DEFAULT_SANDBOX_KNOBS[key];
    if (!/^(?:\d+(?:\.\d*)?|\.\d+)$/.test(v) || Number(v) > 1) {
      problems.push({ variable: name, problem: `${shown(v)} is not a share from 0 to 1`, example: `${name}=${example}` });
      return DEFAULT_SANDBOX_KNOBS[key];
    }
    return Number(v);
  };
  let syncMode: SyncMode = DEFAULT_SANDBOX_KNOBS.syncMode;
  const mode = raw(SANDBOX_KNOB_VARIABLES.syncMode);
  if (mode !== undefined) {
    const m = mode.toLowerCase();
    if (m === 'connect' || m === 'cloud') syncMode = m;
    else {
      problems.push({
        variable: SANDBOX_KNOB_VARIABLES.syncMode,
        problem: `${shown(mode)} is not one of connect (Entra Connect Sync), cloud (Entra Cloud Sync)`,
        example: `${SANDBOX_KNOB_VARIABLES.syncMode}=cloud`,
      });
    }
  }
  const knobs: SandboxKnobs = {
    syncMode,
    syncIntervalMs: int('syncIntervalMs', 0, DAY_MS, '30000'),
    mailboxDelayMs: int('mailboxDelayMs', 0, DAY_MS, '60000'),
    latencyMs: int('latencyMs', 0, 60_000, '250'),
    rate429: share('rate429', '0.05'),
    rate503: share('rate503', '0.02'),
    retryAfterS: int('retryAfterS', 0, 3_600, '1'),
    exoLicences: int('exoLicences', 0, 1_000_000, '25'),
    seed: int('seed', 0, 2_147_483_647, '42'),
  };
  if (problems.length > 0) throw new ConfigError(problems, []);
  return knobs;
}

/** Limits of the whole-number knobs (inclusive). */
const LIMITS: Readonly<Record<Exclude<keyof SandboxKnobs, 'syncMode' | 'rate429' | 'rate503'>, [number, number]>> = {
  syncIntervalMs: [0, DAY_MS],
  mailboxDelayMs: [0, DAY_MS],
  latencyMs: [0, 60_000],
  retryAfterS: [0, 3_600],
  exoLicences: [0, 1_000_000],
  seed: [0, 2_147_483_647],
};

/** Checks knobs given in code (startSandbox's `knobs`) with the same limits; throws an Error naming every bad one. */
export function checkSandboxKnobs(knobs: SandboxKnobs): SandboxKnobs {
  const bad: string[] = [];
  if (knobs.syncMode !== 'connect' && knobs.syncMode !== 'cloud') bad.push(`syncMode ${JSON.stringify(knobs.syncMode)} is not connect or cloud`);
  for (const [key, [min, max]] of Object.entries(LIMITS) as [keyof typeof LIMITS, [number, number]][]) {
    const v = knobs[key];
    if (!Number.isSafeInteger(v) || v < min || v > max) bad.push(`${key} ${String(v)} is not a whole number from ${min} to ${max}`);
  }
  for (const key of ['rate429', 'rate503'] as const) {
    const v = knobs[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1) bad.push(`${key} ${String(v)} is not a share from 0 to 1`);
  }
  if (bad.length > 0) throw new Error(`invalid sandbox knobs: ${bad.join('; ')}`);
  return knobs;
}
