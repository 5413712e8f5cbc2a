/**
 * The workflow's composition root: from the adapters (store, directory, Graph, Exchange Online) and the chat
 * layer's notifications, it builds the use cases, the durable runner, the notification sender and the timers
 * (reminders and expiry, the scheduled sweep). `src/app.ts` wires adapters to this and nothing else.
 *
 * The life of a request, in files: intake.ts (filed, pending-approval) → approvals.ts (decided; lifecycle.ts owns
 * every status change) → runner.ts (steps claimed and run through executors/, outcomes recorded, notices left in
 * the outbox) → notification-outbox.ts (cards updated, requester told) ; run-control.ts retries, cancels and
 * rolls back; request-views.ts and request-view.ts show it.
 */
import path from 'node:path';
import type { CloudClients } from '../cloud';
import type { MailroomConfig } from '../config/config';
import type { DirectoryClient } from '../directory';
import type { Logger } from '../log';
import type { RequestRecord, Store } from '../store';
import { ApprovalAccess, policyFrom } from './approval-access';
import { ApprovalChannels } from './approval-channels';
import { BatchService } from './batches';
import { ApprovalService } from './approvals';
import { GraphExoApproverDirectory } from './approver-directory';
import { ApproverResolver } from './approver-resolution';
import { AuditTrailService } from './audit-trail';
import { adExecutors, cloudExecutors, cloudWaiters, INITIAL_PASSWORD_ENTRY, scheduleWaiter } from './executors';
import { RequestIntake } from './intake';
import { RequestLifecycle } from './lifecycle';
import { NotificationSender } from './notification-outbox';
import { PasswordRevealService, RevealedPasswordHider, SecretPurge } from './password-reveal';
import type { RequestNotifications } from './ports';
import { HybridRecipientLookup } from './recipient-lookup';
import { RecipientViewService } from './recipient-view';
import { RequestViewService } from './request-views';
import { RunControlService } from './run-control';
import { WorkflowRunner } from './runner';
import { StepRerun } from './step-rerun';
import { EncryptedSecretVault, vaultKey } from './secret-vault';
import type { AuditHeadReport } from './audit-trail';
import { CloudManagedSweep } from './sweep';
import { TenantProfileProvider } from './tenant-profile-provider';
import type { UseCases } from './use-cases';

export interface WorkflowOptions {
  /** The clock for approvals and runs (reminders, expiry, backoff); tests move it instead of waiting. */
  readonly now?: () => Date;
  /** Run approved requests (default true). Tests of approvals alone turn it off. */
  readonly runRequests?: boolean;
  /** Runner timing (tests make it fast). */
  readonly runner?: { readonly pollMs?: number; readonly waitPollMs?: number; readonly backoffBaseMs?: number; readonly backoffCapMs?: number; readonly maxAttempts?: number };
  /** How soon a waiting step is checked again (ms), for every kind of wait (tests make it fast). */
  readonly waitIntervalMs?: number;
  /** How often the notification outbox is drained (ms). */
  readonly notifyIntervalMs?: number;
  /** How long a revealed password stays on its card (ms; default PASSWORD_SHOWN_FOR_MS, 10 minutes). */
  readonly passwordShownForMs?: number;
  /** How often cards of revealed passwords are checked for hiding (ms; default 30 s). */
  readonly revealHideIntervalMs?: number;
  /** How long filing or deciding a batch may hold its answer before the work goes on behind it (ms; default 5 s). */
  readonly batchAnswerWithinMs?: number;
}

export interface WorkflowDeps {
  readonly config: MailroomConfig;
  readonly store: Store;
  readonly directory: DirectoryClient;
  readonly cloud: CloudClients;
  readonly notifications: RequestNotifications;
  readonly log: Logger;
}

export interface Workflow {
  readonly useCases: UseCases;
  /** Undefined when approved requests are not run. */
  readonly runner: WorkflowRunner | undefined;
  readonly approvals: ApprovalService;
  readonly views: RequestViewService;
  readonly notificationSender: NotificationSender;
  /** The scheduled jobs (security, interrupted batch filings), also callable at once (tests, an admin tool). */
  readonly maintenance: {
    /** Deletes generated passwords unrevealed for SECRET_PURGE_AFTER and audits each; resolves with how many. */
    purgeSecrets(): Promise<number>;
    /** Updates the cards of revealed passwords whose time is up; resolves with how many. */
    hideRevealedPasswords(): Promise<number>;
    /** Sends the audit chain head to the admins' chat (and the log); resolves with the report. */
    reportAuditHead(): Promise<AuditHeadReport>;
    /** Files to the end the batches whose filing stopped with Mailroom (a crash, a restart); resolves with how many. */
    resumeBatchFilings(): Promise<number>;
    /** Decisions on batches that stopped half-way (Mailroom stopped) are finished; returns how many were taken up. */
    resumeBatchDecisions(): Promise<number>;
  };
  /** Starts the runner, the notification sender and the timers. */
  start(): void;
  /** Stops the timers, lets running steps finish and delivers what is left in the outbox. */
  stop(): Promise<void>;
}

export function createWorkflow(deps: WorkflowDeps, options: WorkflowOptions = {}): Workflow {
  const { config, store, directory, cloud, notifications, log } = deps;
  const now = options.now ?? (() => new Date());
  const profile = new TenantProfileProvider(cloud.exo, cloud.graph, config.profile, log.child({ component: 'profile' }), directory);
  const sweep = new CloudManagedSweep(cloud.exo, directory, (e) => store.audit.append(e), log.child({ component: 'sweep' }));
  const vault = new EncryptedSecretVault(vaultKey(config.secretKey, config.dataDir), store.secrets);
  const lifecycle = new RequestLifecycle(store.requests);
  const access = new ApprovalAccess(policyFrom(config.approval), cloud.graph, { approvers: store.approvers, delegations: store.delegations, now });
  const approverDirectory = new GraphExoApproverDirectory(cloud.graph, cloud.exo);
  const resolver = new ApproverResolver({
    directory: approverDirectory,
    approvers: store.approvers,
    access,
    escalateTo: config.approval.escalateTo.flatMap((p) => (p.kind === 'user' || p.kind === 'group' ? [{ kind: p.kind, id: p.id }] : [])),
    now,
  });
  const views = new RequestViewService(store, access);
  // bound below, once the batch use case exists (the sender starts only after createWorkflow returns)
  let batchRowChanged: (r: RequestRecord) => Promise<void> = () => Promise.resolve();
  const sender = new NotificationSender({ outbox: store.outbox, requests: store.requests, views, notifications, log: log.child({ component: 'notify' }), intervalMs: options.notifyIntervalMs, onBatchRow: (r) => batchRowChanged(r) });

  const sync = { servicePrincipalId: config.profile.syncServicePrincipalId, jobId: config.profile.syncJobId };
  const every = options.waitIntervalMs;
  const executors = [...adExecutors({ directory, vault }), ...cloudExecutors({ graph: cloud.graph, exo: cloud.exo, sync })];
  const runner =
    options.runRequests === false
      ? undefined
      : new WorkflowRunner({
          store,
          executors,
          waiters: [...cloudWaiters({
            graph: cloud.graph,
            exo: cloud.exo,
            sync,
            // The provisionOnDemand window lives in the store: every instance on the database shares the job's limit.
            limiter: store.rateLimits,
            // the mailbox wait puts back a licence or usage location that is gone, on a Retry (executors/mailbox-preconditions.ts)
            rerun: new StepRerun(store, executors),
            ...(every !== undefined ? { pollIntervalMs: { cloudSync: every, connectSync: every, mailbox: every, recipient: every } } : {}),
          }), scheduleWaiter(options.now)],
          lifecycle,
          outbox: store.outbox,
          onMessage: () => sender.kick(),
          log: log.child({ component: 'runner' }),
          now: options.now,
          ...options.runner,
        });

  const common = { lifecycle, access, views, notifications, runs: runner, log: log.child({ component: 'requests' }), now };
  const auditTrail = new AuditTrailService(store, access, path.join(config.dataDir, 'exports'), now);
  const securityLog = log.child({ component: 'security' });
  const adminUserIds = config.roles.admins.flatMap((a) => (a.kind === 'user' ? [a.id] : []));
  const maintenance = {
    purgeSecrets: () => new SecretPurge(vault, store.audit, config.secretPurgeAfterMs, now).run(),
    hideRevealedPasswords: () => new RevealedPasswordHider(store, views, notifications, securityLog, now).hideDue(),
    async reportAuditHead(): Promise<AuditHeadReport> {
      const report = await auditTrail.headReport();
      // The log always gets it (a copy outside the database); the admins' chat when there are admins to message.
      securityLog.info('audit chain head', { seq: report.head.seq, hash: report.head.hash, verified: report.chain.ok });
      if (adminUserIds.length && notifications.auditHeadReported) await notifications.auditHeadReported(report.text, adminUserIds, config.allowedTenantIds[0] ?? '');
      return report;
    },
    resumeBatchFilings: () => batches.resumeFilings(),
    resumeBatchDecisions: () => batches.resumeDecisions(),
  };
  const approvals = new ApprovalService({ store, ...common, resolver, directory: approverDirectory, timeZone: config.timeZone });
  const lookup = new HybridRecipientLookup(directory, cloud.exo, { heldByRequests: (keys) => store.requests.holdersOfNames(keys) });
  const recipients = new RecipientViewService({
    exo: cloud.exo,
    ad: directory,
    graph: cloud.graph,
    finder: lookup,
    adHasExchangeSchema: async () => (await profile.get()).adHasExchangeSchema,
    audit: (e) => store.audit.append(e),
    log: log.child({ component: 'recipients' }),
  });
  const intake = new RequestIntake({ store, lookup, profile: () => profile.get(), access, views, notifications, log: common.log, now, timeZone: config.timeZone, resolver });
  const batches = new BatchService({
    store,
    intake,
    approvals,
    access,
    notifications: {
      batchApprovalNeeded: (b, view, ids) => notifications.batchApprovalNeeded?.(b, view, ids) ?? Promise.resolve([]),
      batchCardsChanged: (places, card) => notifications.batchCardsChanged?.(places, card) ?? Promise.resolve(),
      batchProgress: (b, view, place) => notifications.batchProgress?.(b, view, place) ?? Promise.resolve(undefined),
      batchMessage: (b, text) => notifications.batchMessage?.(b, text) ?? Promise.resolve(),
    },
    planning: { lookup, profile: () => profile.get(), now, timeZone: config.timeZone },
    log: common.log,
    now,
    ...(options.batchAnswerWithinMs !== undefined ? { answerWithinMs: options.batchAnswerWithinMs } : {}),
  });
  batchRowChanged = (r) => batches.rowChanged(r);
  const useCases: UseCases = {
    intake,
    approvals,
    runControl: new RunControlService({ store, ...common }),
    views,
    passwords: new PasswordRevealService(store, views, (id) => vault.takeOnce(id, INITIAL_PASSWORD_ENTRY), { now, shownForMs: options.passwordShownForMs, log: common.log }),
    audit: auditTrail,
    cloudManaged: sweep,
    recipients,
    batches,
    channels: new ApprovalChannels(store.settings, config.approval.channelConversationId, (e) => store.audit.append(e), now),
  };

  const timers: NodeJS.Timeout[] = [];
  const repeat = (what: string, work: () => Promise<unknown>, ms: number) => {
    const t = setInterval(() => {
      work().catch((err: unknown) => log.error(`${what} failed`, { err }));
    }, ms);
    t.unref();
    timers.push(t);
  };

  return {
    useCases,
    runner,
    approvals,
    views,
    notificationSender: sender,
    maintenance,
    start() {
      runner?.start();
      sender.start();
      repeat('reminder/expiry tick', () => approvals.tick(), 60_000);
      // A batch whose filing or decision stopped with Mailroom (a crash, a restart) is finished; also soon after starting.
      repeat('taking up interrupted batch filings', () => maintenance.resumeBatchFilings(), 60_000);
      repeat('taking up interrupted batch decisions', () => maintenance.resumeBatchDecisions(), 60_000);
      const soon = setTimeout(() => {
        maintenance.resumeBatchFilings().catch((err: unknown) => log.error('taking up interrupted batch filings failed', { err }));
        maintenance.resumeBatchDecisions().catch((err: unknown) => log.error('taking up interrupted batch decisions failed', { err }));
      }, 5_000);
      soon.unref();
      timers.push(soon);
      // Security jobs: durable (their state is in the store), so a restart only delays them.
      repeat('hiding revealed passwords', () => maintenance.hideRevealedPasswords(), options.revealHideIntervalMs ?? 30_000);
      repeat('secret purge', () => maintenance.purgeSecrets(), 3_600_000);
      repeat('daily audit head report', () => maintenance.reportAuditHead(), 86_400_000);
      if (config.sweepIntervalMs) {
        const admins = config.roles.admins.flatMap((a) => (a.kind === 'user' ? [a.id] : []));
        repeat('scheduled cloud-managed sweep', async () => notifications.sweepReported(await sweep.sweep({ aadObjectId: null, name: 'Mailroom (scheduled)' }), admins, config.allowedTenantIds[0] ?? ''), config.sweepIntervalMs);
      }
    },
    async stop() {
      timers.splice(0).forEach((t) => clearInterval(t));
      // filing or deciding a batch that outlasted its answer ends first (if it cannot, rows filed so far stay filed and
      // the rest are filed when the filing is taken up again)
      let late: NodeJS.Timeout | undefined;
      const bounded = new Promise<void>((resolve) => {
        late = setTimeout(() => {
          log.warn('stopped while a batch was still being filed or decided; a filing is taken up again (by any instance) two minutes after it stopped, a decision by deciding the batch again');
          resolve();
        }, config.server.shutdownTimeoutMs);
      });
      await Promise.race([batches.settled(), bounded]);
      clearTimeout(late);
      await runner?.stop();
      await sender.stop();
    },
  };
}
