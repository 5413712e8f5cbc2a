/**
 * Entra Cloud Sync on demand: for a wait whose `SyncWait` asks for it, Graph `provisionOnDemand` is called for the
 * DN once per step and attempt, before the look-up. Graph allows 5 calls per 10 s per job; the window (plus a
 * safety margin) is kept by an {@link OnDemandLimiter} keyed by the job: Mailroom passes the store's, so every
 * instance on one database shares one window. Triggers that do not fit wait for a later cycle; a 429 blocks the job
 * for every instance until its Retry-After.
 */
import type { Logger } from '../../log';
import type { SyncWait } from '../../plans';
import { errorText, isTransient, retryAfterOf } from './cloud-errors';
import type { StepContext } from './types';

/**
 * Where the provisionOnDemand window is kept (`RateLimitRepository` of the store implements it; times are the
 * caller's clock). Both calls are atomic for their key, across every instance that shares the limiter.
 */
export interface OnDemandLimiter {
  /** Takes one of `limit` slots of the `windowMs` up to `now`; false when the window is full or the key blocked. */
  take(key: string, limit: number, windowMs: number, now: Date): Promise<boolean>;
  /** No slot of `key` is given before `until` (a 429's Retry-After); never shortens a block. */
  block(key: string, until: Date, now: Date): Promise<void>;
}

/** An {@link OnDemandLimiter} in this process's memory: right for tests and a single instance only. */
export class InMemoryOnDemandLimiter implements OnDemandLimiter {
  private readonly keys = new Map<string, { slots: number[]; blockedUntil: number }>();

  take(key: string, limit: number, windowMs: number, now: Date): Promise<boolean> {
    const t = now.getTime();
    const k = this.keys.get(key) ?? { slots: [], blockedUntil: 0 };
    k.slots = k.slots.filter((x) => x > t - windowMs);
    this.keys.set(key, k);
    if (t < k.blockedUntil || k.slots.length >= limit) return Promise.resolve(false);
    k.slots.push(t);
    return Promise.resolve(true);
  }

  block(key: string, until: Date, _now: Date): Promise<void> {
    const k = this.keys.get(key) ?? { slots: [], blockedUntil: 0 };
    k.blockedUntil = Math.max(k.blockedUntil, until.getTime());
    this.keys.set(key, k);
    return Promise.resolve();
  }
}

/** The limiter key of a Cloud Sync job: Graph's limit is per job. */
export function onDemandLimitKey(servicePrincipalId: string, jobId: string): string {
  return `graph.provisionOnDemand:${servicePrincipalId}/${jobId}`.toLowerCase();
}

/** A rule of a synchronization job's schema and the object types it provisions (`GraphDirectory.synchronizationRules`). */
export interface SyncRuleInfo {
  readonly id: string;
  readonly sourceDirectoryName?: string;
  readonly sourceObjectNames: readonly string[];
}

/** The Graph calls of the trigger (`GraphDirectory` implements them). */
export interface ProvisionOnDemandPort {
  provisionOnDemand(
    servicePrincipalId: string,
    jobId: string,
    subject: { readonly ruleId: string; readonly objectId: string; readonly objectTypeName: 'user' | 'group' | 'contact' },
  ): Promise<{ readonly status: string; readonly reason?: string; readonly errorCode?: string }>;
  /** GET …/synchronization/jobs/{jobId}/schema: the job's rules (provisionOnDemand's ruleId is one of them). */
  synchronizationRules(servicePrincipalId: string, jobId: string): Promise<readonly SyncRuleInfo[]>;
}

/** The Entra Cloud Sync job for provisionOnDemand (none with Connect Sync). */
export interface CloudSyncJob {
  readonly servicePrincipalId?: string;
  readonly jobId?: string;
  /** The rule of the job to provision with. Default: the rule of the job's schema that provisions the object's type. */
  readonly ruleId?: string;
}

/** Graph's provisionOnDemand limit per job, and a margin added to the window. Default 5 per 10 000 ms, margin 1000 ms. */
export interface OnDemandLimit {
  readonly requests: number;
  readonly windowMs: number;
  readonly marginMs?: number;
}

/** How long a schema Graph refused to give is not asked for again (ms). */
const SCHEMA_REFUSAL_MS = 5 * 60_000;

/** What provisionOnDemand answered for a step (or why it was not called). */
export interface OnDemandRecord {
  readonly at: string;
  /** Success, Failure, Skipped, Warning, Unknown; `Error` when Graph refused the call; `NotConfigured` without a job. */
  readonly status: string;
  readonly reason?: string;
}

/** One waiting step that may ask for on-demand provisioning; the answer is recorded in its wait state. */
export interface OnDemandAsk {
  readonly sync: SyncWait | undefined;
  readonly ctx: StepContext;
  readonly state: { provisionOnDemand?: OnDemandRecord };
}

/**
 * The trigger of Graph provisionOnDemand (one per set of waiters, i.e. per poller). Its window lives in the
 * {@link OnDemandLimiter} it is given, keyed by the job, so pollers of several instances sharing one limiter (the
 * store) make at most the job's limit of calls per window together, and all honour a 429's Retry-After.
 */
export class OnDemandTrigger {
  private readonly requests: number;
  private readonly windowMs: number;
  /** The job's schema rules, read once per trigger (the job is fixed), or why Graph refused them and when. */
  private schema: { rules: Promise<readonly SyncRuleInfo[]> } | { refused: string; at: number } | null = null;

  constructor(
    private readonly graph: ProvisionOnDemandPort,
    private readonly job: CloudSyncJob,
    private readonly now: () => number,
    limit: OnDemandLimit | undefined,
    private readonly limiter: OnDemandLimiter,
  ) {
    this.requests = Math.max(1, limit?.requests ?? 5);
    this.windowMs = (limit?.windowMs ?? 10_000) + (limit?.marginMs ?? 1_000);
  }

  /** Takes a slot of the job's window, or answers false (no call may be made now, or the limiter failed). */
  private async take(key: string, log: Logger): Promise<boolean> {
    try {
      return await this.limiter.take(key, this.requests, this.windowMs, new Date(this.now()));
    } catch (err) {
      log.warn('provisionOnDemand limiter failed; triggers wait for a later cycle', { error: errorText(err) });
      return false;
    }
  }

  /** Blocks the job's window until `until` for every instance sharing the limiter. */
  private async block(key: string, until: number, log: Logger): Promise<void> {
    try {
      await this.limiter.block(key, new Date(until), new Date(this.now()));
    } catch (err) {
      log.warn('provisionOnDemand limiter failed to record a Retry-After', { error: errorText(err) });
    }
  }

  /**
   * The rule to provision `objectType` with: the configured one, else the rule of the job's schema whose object
   * mappings provision that type from Active Directory (read once and kept). `later`: Graph failed for now.
   */
  private async ruleFor(servicePrincipalId: string, jobId: string, objectType: string, log: Logger): Promise<{ ruleId: string } | { refused: string } | 'later'> {
    if (this.job.ruleId) return { ruleId: this.job.ruleId };
    if (this.schema && 'refused' in this.schema && this.now() - this.schema.at >= SCHEMA_REFUSAL_MS) this.schema = null;
    if (!this.schema) this.schema = { rules: this.graph.synchronizationRules(servicePrincipalId, jobId) };
    if ('refused' in this.schema) return { refused: this.schema.refused };
    let rules: readonly SyncRuleInfo[];
    try {
      rules = await this.schema.rules;
    } catch (err) {
      if (isTransient(err)) {
        this.schema = null;
        log.warn("the Cloud Sync job's schema could not be read for now; provisionOnDemand waits for a later cycle", { error: errorText(err) });
        return 'later';
      }
      const refused = `Graph refused to give the schema of the Cloud Sync job ${jobId} (${errorText(err)}), so Mailroom cannot name its synchronization rule; it waits for the regular sync cycle. Check SYNC_SERVICE_PRINCIPAL_ID, SYNC_JOB_ID and the app's Synchronization.ReadWrite.All permission`;
      if (this.schema && 'rules' in this.schema) this.schema = { refused, at: this.now() };
      log.warn('provisionOnDemand: job schema refused', { error: errorText(err) });
      return { refused };
    }
    const fits = rules.filter((r) => r.sourceObjectNames.includes(objectType));
    const rule = fits.find((r) => (r.sourceDirectoryName ?? '').toLowerCase() === 'active directory') ?? fits[0];
    if (!rule) {
      return {
        refused: `The schema of the Cloud Sync job ${jobId} has no rule that provisions ${objectType} objects (rules: ${rules.map((r) => `${r.id}: ${r.sourceObjectNames.join(', ') || 'none'}`).join('; ') || 'none'}), so Mailroom waits for the regular sync cycle`,
      };
    }
    return { ruleId: rule.id };
  }

  /** Calls provisionOnDemand for the steps that ask for it and have not had it (in order, until the limit). */
  async run(asks: readonly OnDemandAsk[]): Promise<void> {
    for (const { sync, ctx, state } of asks) {
      if (!sync?.provisionOnDemand || state.provisionOnDemand) continue;
      const at = ctx.now.toISOString();
      const { servicePrincipalId, jobId } = this.job;
      if (!servicePrincipalId || !jobId) {
        state.provisionOnDemand = { at, status: 'NotConfigured', reason: 'Mailroom has no Entra Cloud Sync job configured (service principal and job id), so it waits for the next sync cycle' };
        continue;
      }
      const rule = await this.ruleFor(servicePrincipalId, jobId, sync.objectType, ctx.log);
      if (rule === 'later') return;
      if ('refused' in rule) {
        state.provisionOnDemand = { at, status: 'Error', reason: rule.refused };
        continue;
      }
      const key = onDemandLimitKey(servicePrincipalId, jobId);
      if (!(await this.take(key, ctx.log))) return; // the window is full: later steps wait for a later cycle
      try {
        const res = await this.graph.provisionOnDemand(servicePrincipalId, jobId, { ruleId: rule.ruleId, objectId: sync.dn, objectTypeName: sync.objectType });
        state.provisionOnDemand = { at, status: res.status, ...(res.reason ? { reason: res.reason } : {}) };
        // A Failure (or Skipped) is no sync: the wait goes on for the regular cycle and its timeout names the reason.
        const report = res.status === 'Success' || res.status === 'Warning' ? ctx.log.info.bind(ctx.log) : ctx.log.warn.bind(ctx.log);
        report('provisionOnDemand', { dn: sync.dn, status: res.status, reason: res.reason, errorCode: res.errorCode });
      } catch (err) {
        const status = (err as { statusCode?: unknown }).statusCode;
        if (status === 400 && (err as { code?: unknown }).code === 'RequestParameterInvalid') this.schema = null; // the job's rules changed: read them again
        if (status === 429) {
          await this.block(key, this.now() + (retryAfterOf(err) ?? this.windowMs), ctx.log);
          ctx.log.warn('provisionOnDemand throttled; the rest waits for a later cycle', { dn: sync.dn });
          return;
        }
        if (isTransient(err)) {
          ctx.log.warn('provisionOnDemand failed for now; a later cycle tries again', { dn: sync.dn, error: errorText(err) });
          return;
        }
        // Refused (no such job, no permission): recorded, not repeated; the wait goes on for a regular cycle.
        state.provisionOnDemand = { at, status: 'Error', reason: errorText(err) };
        ctx.log.warn('provisionOnDemand refused', { dn: sync.dn, error: errorText(err) });
      }
    }
  }
}
