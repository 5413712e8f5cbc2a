import { readFileSync } from 'node:fs';
import { createBotRuntime, BotRuntime } from './bot';
import { CloudClients, createCloudClients } from './cloud';
import { describeConfig, MailroomConfig } from './config/config';
import { Logger } from './log';
import { HttpServer, startHttpServer } from './server/http';
import { connectProbe, Probe, runProbes } from './server/readiness';
import { openStore, Store } from './store';
import { registerRequestHandlers, sweepCard, TeamsRequestNotifications } from './bot';
import { CloudManagedSweep } from './workflow/sweep';
import { DirectoryClient } from './directory';
import { HybridRecipientLookup } from './workflow/recipient-lookup';
import { RequestService } from './workflow/request-service';
import { TenantProfileProvider } from './workflow/tenant-profile-provider';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { WorkflowRunner } from './workflow/runner';
import { CoalescingRunNotifications } from './workflow/run-notifications';
import { adExecutors, INITIAL_PASSWORD_ENTRY } from './workflow/executors/ad';
import { cloudExecutors } from './workflow/executors/cloud';
import { cloudWaiters } from './workflow/executors/waiters';
import { EncryptedSecretVault } from './workflow/secret-vault';
import type { MailroomConfig as Config } from './config/config';

export interface Mailroom {
  readonly url: string;
  readonly port: number;
  readonly store: Store;
  readonly runtime: BotRuntime;
  readonly cloud: CloudClients | undefined;
  readonly requests: RequestService | undefined;
  readonly runner: WorkflowRunner | undefined;
  /** Graceful stop: no new turns, in-flight turns finish (bounded), then the store closes. */
  stop(): Promise<void>;
}

/** The composition root: store, bot runtime and HTTP server from one configuration. */
export interface MailroomOptions {
  /** The clock for approvals (reminders, expiry); tests move it instead of waiting. */
  readonly now?: () => Date;
  /** Run approved requests (default true). Tests of approvals alone turn it off. */
  readonly runRequests?: boolean;
  /** Runner timing (tests make it fast). */
  readonly runner?: { readonly pollMs?: number; readonly waitPollMs?: number; readonly backoffBaseMs?: number; readonly backoffCapMs?: number; readonly maxAttempts?: number };
  /** How soon a waiting step is checked again (ms), for every kind of wait (tests make it fast). */
  readonly waitIntervalMs?: number;
}

/** The key that encrypts generated passwords: SECRET_KEY, else a key file in the data folder made once. */
function secretKeyFor(config: Config): Buffer {
  if (config.secretKey) return config.secretKey;
  const file = path.join(config.dataDir, 'secret.key');
  if (!existsSync(file)) {
    mkdirSync(config.dataDir, { recursive: true });
    writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600, flag: 'wx' });
  }
  return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
}

export async function startMailroom(config: MailroomConfig, log: Logger, options: MailroomOptions = {}): Promise<Mailroom> {
  log.info('starting Mailroom', describeConfig(config));
  const store = await openStore({ databaseUrl: config.store.databaseUrl, sqliteFile: config.store.sqliteFile });
  const probes: Probe[] = [{ name: `store (${store.engine})`, run: () => store.ping() }];
  const extraCa = config.extraCaFile ? readFileSync(config.extraCaFile) : undefined;
  if (config.directory) {
    const ca = config.directory.caFile ? readFileSync(config.directory.caFile) : extraCa;
    probes.push(connectProbe('Active Directory (LDAPS)', config.directory.url, { tls: true, ca }));
  }
  if (config.cloud) {
    probes.push(connectProbe('Microsoft Graph', config.cloud.graphUrl, { tls: true, ca: extraCa }));
    probes.push(connectProbe('Exchange Online', config.cloud.exoUrl, { tls: true, ca: extraCa }));
  }
  const readiness = () => runProbes(probes);

  let cloud: CloudClients | undefined;
  let directory: DirectoryClient | undefined;
  let requests: RequestService | undefined;
  let runner: WorkflowRunner | undefined;
  let runNotes: CoalescingRunNotifications | undefined;
  let ticker: NodeJS.Timeout | undefined;
  let sweeper: NodeJS.Timeout | undefined;
  let runtime: BotRuntime;
  let server: HttpServer;
  try {
    cloud = config.cloud ? createCloudClients(config.cloud, config.extraCaFile) : undefined;
    runtime = createBotRuntime(config, { log, conversations: store.conversations, readiness, groups: cloud?.graph });
    if (cloud && config.directory) {
      const d = config.directory;
      directory = new DirectoryClient({
        url: d.url,
        bindDn: d.bindDn,
        password: d.password,
        caPem: d.caFile ? readFileSync(d.caFile, 'utf8') : undefined,
        connectTimeoutMs: 5000,
        timeoutMs: 15000,
        baseDn: d.baseDn,
      });
      const profile = new TenantProfileProvider(cloud.exo, cloud.graph, config.profile, log.child({ component: 'profile' }));
      const sweep = new CloudManagedSweep(cloud.exo, directory, (e) => store.audit.append(e), log.child({ component: 'sweep' }));
      const vault = new EncryptedSecretVault(secretKeyFor(config), store.secrets);
      const notifications = new TeamsRequestNotifications(runtime.notifier, runtime.cards, store, log.child({ component: 'notify' }), config.approval.channelConversationId);
      const sync = { servicePrincipalId: config.profile.syncServicePrincipalId, jobId: config.profile.syncJobId };
      const run = options.runRequests === false ? undefined : new WorkflowRunner({
        store,
        executors: [...adExecutors({ directory, vault }), ...cloudExecutors({ graph: cloud.graph, exo: cloud.exo, sync })],
        waiters: cloudWaiters({
          graph: cloud.graph,
          exo: cloud.exo,
          sync,
          // The provisionOnDemand window lives in the store: every instance on the database shares the job's limit.
          limiter: store.rateLimits,
          ...(options.waitIntervalMs !== undefined
            ? { pollIntervalMs: { cloudSync: options.waitIntervalMs, connectSync: options.waitIntervalMs, mailbox: options.waitIntervalMs, recipient: options.waitIntervalMs } }
            : {}),
        }),
        notifications: { runChanged: (r, steps, m) => (runNotes ? runNotes.runChanged(r, steps, m) : Promise.resolve()) },
        log: log.child({ component: 'runner' }),
        now: options.now,
        ...options.runner,
      });
      runner = run;
      requests = new RequestService({
        store,
        lookup: new HybridRecipientLookup(directory, cloud.exo),
        profile: () => profile.get(),
        approval: config.approval,
        groups: cloud.graph,
        notifications,
        log: log.child({ component: 'requests' }),
        now: options.now,
        onApproved: run ? (record, actor) => run.enqueue(record, actor) : undefined,
        onRetry: run ? (record, actor) => run.retry(record, actor) : undefined,
        onWorkQueued: run ? () => run.kick() : undefined,
        runSteps: async (id) => (await store.runs.listByRequest(id)).map((r) => ({ stepIndex: r.stepIndex, status: r.status, error: r.error })),
      });
      runNotes = new CoalescingRunNotifications(requests, notifications, store.requests, log.child({ component: 'notify' }));
      registerRequestHandlers(runtime.bot, {
        service: requests,
        cards: runtime.cards,
        store,
        log,
        exportDir: path.join(config.dataDir, 'exports'),
        revealOnce: (id) => vault.takeOnce(id, INITIAL_PASSWORD_ENTRY),
        sweep,
      });
      if (config.sweepIntervalMs) {
        const bot = runtime;
        sweeper = setInterval(() => {
          sweep
            .sweep({ aadObjectId: null, name: 'Mailroom (scheduled)' })
            .then(async (report) => {
              for (const admin of config.roles.admins) {
                if (admin.kind !== 'user') continue;
                await bot.notifier.sendToUser(admin.id, config.allowedTenantIds[0] ?? '', { card: sweepCard(bot.cards, report) }).catch((err: unknown) => log.warn('sweep report not delivered', { admin: admin.id, err }));
              }
            })
            .catch((err: unknown) => log.error('scheduled cloud-managed sweep failed', { err }));
        }, config.sweepIntervalMs);
        sweeper.unref();
      }
      run?.start();
      const service = requests;
      ticker = setInterval(() => {
        service.tick().catch((err: unknown) => log.error('reminder/expiry tick failed', { err }));
      }, 60_000);
      ticker.unref();
    } else {
      log.warn('requests are off: Mailroom needs both the directory (LDAP_*) and the cloud app (CLIENT_*) configured');
    }
    server = await startHttpServer({ host: config.server.host, port: config.server.port, log, onMessage: runtime.onMessage, readiness });
  } catch (err) {
    if (ticker) clearInterval(ticker);
    await runner?.stop();
    cloud?.close();
    await directory?.close();
    await store.close();
    throw err;
  }
  log.info('Mailroom listening', { url: `${server.url}/api/messages` });

  let stopping: Promise<void> | undefined;
  return {
    url: server.url,
    port: server.port,
    store,
    runtime,
    cloud,
    requests,
    runner,
    stop() {
      stopping ??= (async () => {
        const { drained, inFlight } = await server.close(config.server.shutdownTimeoutMs);
        if (!drained) log.warn('stopped with turns still running', { inFlight });
        clearInterval(ticker);
        clearInterval(sweeper);
        await runner?.stop();
        await runNotes?.close();
        cloud?.close();
        await directory?.close();
        await store.close();
        log.info('Mailroom stopped');
      })();
      return stopping;
    },
  };
}
