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
 * | SANDBOX_REALISM | `default` (fast, fault-free unless asked) or `strict` (realistic delays, lags and faults: {@link STRICT_SANDBOX_KNOBS}); knobs set explicitly win | default |
 * | SANDBOX_USAGE_LOCATION_LAG_S | s after a usage-location PATCH during which assignLicense still answers "invalid usage location" | 0 (strict 20) |
 * | SANDBOX_ADVANCED_QUERY_LAG_S | s by which advanced queries (ConsistencyLevel: eventual) lag behind writes | 0 (strict 10) |
 * | SANDBOX_EXCHANGE_LAG_S | s between a synced object (or change) reaching Entra ID and Exchange Online | 0 (strict 120) |
 * | SANDBOX_BATCH_ITEM_RATE_429 | share (0..1) of Graph `$batch` items answered 429 (with Retry-After) inside the 200 | 0 (strict 0.05) |
 * | SANDBOX_TIME_SCALE | factor (0..1] applied to the sync interval, the mailbox delay, the latency and the three lags (tests shorten `strict` with it) | 1 |
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
  realism: SandboxRealism;
  usageLocationLagS: number;
  advancedQueryLagS: number;
  exchangeLagS: number;
  batchItemRate429: number;
  timeScale: number;
}

/** `default`: fast and fault-free unless knobs ask otherwise; `strict`: {@link STRICT_SANDBOX_KNOBS}. */
export type SandboxRealism = 'default' | 'strict';

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
  realism: 'default',
  usageLocationLagS: 0,
  advancedQueryLagS: 0,
  exchangeLagS: 0,
  batchItemRate429: 0,
  timeScale: 1,
});

/**
 * `SANDBOX_REALISM=strict`: the tenant as slow and as moody as a real one, for `npm start` (and, scaled down with
 * SANDBOX_TIME_SCALE, for the strict test suite). Every value can still be set on its own.
 * - Cloud Sync runs every 2 minutes ("synchronization occurring every two minutes": What is Microsoft Entra Cloud
 *   Sync?); a licensed mailbox takes 5 minutes ("Provisioning takes minutes": docs/hybrid-behaviour.md).
 * - Every Graph/Exchange answer takes 150 ms; 2 % are throttled (429, Retry-After 2 s), 1 % are 503, and 5 % of
 *   Graph `$batch` items are throttled one by one (Microsoft Graph throttling guidance, "Throttling and batching").
 * - Replication lags: a licence assigned within 20 s of setting the usage location fails with "invalid usage
 *   location" (intermittent, quoted by Okta support for Graph); advanced queries see writes 10 s late (their index
 *   is a separate, eventually consistent store: "Advanced query capabilities on Microsoft Entra ID objects");
 *   Exchange Online sees synced objects and their changes 2 minutes after Entra ID.
 */
export const STRICT_SANDBOX_KNOBS: Readonly<SandboxKnobs> = Object.freeze({
  ...DEFAULT_SANDBOX_KNOBS,
  realism: 'strict',
  syncIntervalMs: 120_000,
  mailboxDelayMs: 300_000,
  latencyMs: 150,
  rate429: 0.02,
  rate503: 0.01,
  retryAfterS: 2,
  usageLocationLagS: 20,
  advancedQueryLagS: 10,
  exchangeLagS: 120,
  batchItemRate429: 0.05,
});

/** The knobs of a realism profile. */
export function sandboxKnobsFor(realism: SandboxRealism): Readonly<SandboxKnobs> {
  return realism === 'strict' ? STRICT_SANDBOX_KNOBS : DEFAULT_SANDBOX_KNOBS;
}

/** Knobs given in code (startSandbox's `knobs`): the profile named by `realism` (default `default`), then the rest. */
export function resolveSandboxKnobs(knobs: Partial<SandboxKnobs> = {}): SandboxKnobs {
  return checkSandboxKnobs({ ...sandboxKnobsFor(knobs.realism ?? 'default'), ...knobs });
}

/** What the sandbox's parts are given, in ms, with SANDBOX_TIME_SCALE applied. */
export interface ScaledSandboxDelays {
  syncIntervalMs: number;
  mailboxDelayMs: number;
  latencyMs: number;
  usageLocationLagMs: number;
  advancedQueryLagMs: number;
  exchangeLagMs: number;
}

/** The interval, delays and lags in ms, scaled by `timeScale` (one that is on stays at least 1 ms). */
export function scaledSandboxDelays(k: SandboxKnobs): ScaledSandboxDelays {
  const scale = (ms: number): number => (ms <= 0 ? 0 : Math.max(1, Math.round(ms * k.timeScale)));
  return {
    syncIntervalMs: scale(k.syncIntervalMs),
    mailboxDelayMs: scale(k.mailboxDelayMs),
    latencyMs: scale(k.latencyMs),
    usageLocationLagMs: scale(k.usageLocationLagS * 1000),
    advancedQueryLagMs: scale(k.advancedQueryLagS * 1000),
    exchangeLagMs: scale(k.exchangeLagS * 1000),
  };
}

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
  realism: 'SANDBOX_REALISM',
  usageLocationLagS: 'SANDBOX_USAGE_LOCATION_LAG_S',
  advancedQueryLagS: 'SANDBOX_ADVANCED_QUERY_LAG_S',
  exchangeLagS: 'SANDBOX_EXCHANGE_LAG_S',
  batchItemRate429: 'SANDBOX_BATCH_ITEM_RATE_429',
  timeScale: 'SANDBOX_TIME_SCALE',
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
  // The profile first: it gives every knob not set explicitly its value.
  let realism: SandboxRealism = DEFAULT_SANDBOX_KNOBS.realism;
  const profile = raw(SANDBOX_KNOB_VARIABLES.realism);
  if (profile !== undefined) {
    const r = profile.toLowerCase();
    if (r === 'default' || r === 'strict') realism = r;
    else {
      problems.push({
        variable: SANDBOX_KNOB_VARIABLES.realism,
        problem: `${shown(profile)} is not one of default (fast, no faults), strict (realistic delays, lags and faults)`,
        example: `${SANDBOX_KNOB_VARIABLES.realism}=strict`,
      });
    }
  }
  const base = sandboxKnobsFor(realism);
  const int = (key: keyof SandboxKnobs, min: number, max: number, example: string): number => {
    const name = SANDBOX_KNOB_VARIABLES[key];
    const fallback = base[key] as number;
    const v = raw(name);
    if (v === undefined) return fallback;
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
      problems.push({ variable: name, problem: `${shown(v)} is not a whole number from ${min} to ${max}`, example: `${name}=${example}` });
      return fallback;
    }
    return Number(v);
  };
  const share = (key: ShareKnob, example: string, positive = false): number => {
    const name = SANDBOX_KNOB_VARIABLES[key];
    const v = raw(name);
    if (v === undefined) return base[key];
    if (!/^(?:\d+(?:\.\d*)?|\.\d+)$/.test(v) || Number(v) > 1 || (positive && Number(v) <= 0)) {
      problems.push({ variable: name, problem: `${shown(v)} is not a ${positive ? 'factor above 0 and at most 1' : 'share from 0 to 1'}`, example: `${name}=${example}` });
      return base[key];
    }
    return Number(v);
  };
  let syncMode: SyncMode = base.syncMode;
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
    realism,
    usageLocationLagS: int('usageLocationLagS', 0, 3_600, '20'),
    advancedQueryLagS: int('advancedQueryLagS', 0, 3_600, '10'),
    exchangeLagS: int('exchangeLagS', 0, DAY_MS / 1000, '120'),
    batchItemRate429: share('batchItemRate429', '0.05'),
    timeScale: share('timeScale', '0.1', true),
  };
  if (problems.length > 0) throw new ConfigError(problems, []);
  return knobs;
}

/** The knobs that are shares (0..1); `timeScale` must also be above 0. */
type ShareKnob = 'rate429' | 'rate503' | 'batchItemRate429' | 'timeScale';

/** Limits of the whole-number knobs (inclusive). */
const LIMITS: Readonly<Record<Exclude<keyof SandboxKnobs, 'syncMode' | 'realism' | ShareKnob>, [number, number]>> = {
  syncIntervalMs: [0, DAY_MS],
  mailboxDelayMs: [0, DAY_MS],
  latencyMs: [0, 60_000],
  retryAfterS: [0, 3_600],
  exoLicences: [0, 1_000_000],
  seed: [0, 2_147_483_647],
  usageLocationLagS: [0, 3_600],
  advancedQueryLagS: [0, 3_600],
  exchangeLagS: [0, DAY_MS / 1000],
};

/** Checks knobs given in code (startSandbox's `knobs`) with the same limits; throws an Error naming every bad one. */
export function checkSandboxKnobs(knobs: SandboxKnobs): SandboxKnobs {
  const bad: string[] = [];
  if (knobs.syncMode !== 'connect' && knobs.syncMode !== 'cloud') bad.push(`syncMode ${JSON.stringify(knobs.syncMode)} is not connect or cloud`);
  for (const [key, [min, max]] of Object.entries(LIMITS) as [keyof typeof LIMITS, [number, number]][]) {
    const v = knobs[key];
    if (!Number.isSafeInteger(v) || v < min || v > max) bad.push(`${key} ${String(v)} is not a whole number from ${min} to ${max}`);
  }
  if (knobs.realism !== 'default' && knobs.realism !== 'strict') bad.push(`realism ${JSON.stringify(knobs.realism)} is not default or strict`);
  for (const key of ['rate429', 'rate503', 'batchItemRate429', 'timeScale'] as const) {
    const v = knobs[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1 || (key === 'timeScale' && v <= 0)) bad.push(`${key} ${String(v)} is not a share from 0 to 1${key === 'timeScale' ? ' above 0' : ''}`);
  }
  if (bad.length > 0) throw new Error(`invalid sandbox knobs: ${bad.join('; ')}`);
  return knobs;
}
