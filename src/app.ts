import { readFileSync } from 'node:fs';
import { createBotRuntime, registerHandlers, TeamsNotifications, TeamsReach, type BotRuntime } from './bot';
import { createCloudClients, postgresTokenProvider, type CloudClients } from './cloud';
import { describeConfig, type MailroomConfig } from './config/config';
import { processEnvironment } from './config/process-env';
import { DirectoryClient } from './directory';
import { runDoctor } from './doctor';
import type { Logger } from './log';
import { startHttpServer, type HttpServer } from './server/http';
import { connectProbe, runProbes, type Probe } from './server/readiness';
import { openStore, type Store, type StoreOptions } from './store';
import { approvalChannelFor } from './workflow/approval-channels';
import { createWorkflow, type Workflow, type WorkflowOptions } from './workflow/create-workflow';
import { auditKey, vaultKey } from './workflow/secret-vault';

export interface Mailroom {
  readonly url: string;
  readonly port: number;
  readonly store: Store;
  readonly runtime: BotRuntime;
  readonly cloud: CloudClients | undefined;
  /** Undefined when the directory or the cloud app is not configured (then requests are off). */
  readonly workflow: Workflow | undefined;
  /** Graceful stop: no new turns, in-flight turns finish (bounded), then the workflow and the store stop. */
  stop(): Promise<void>;
}

export type MailroomOptions = WorkflowOptions;

/** Readiness: the store, and a TLS connection to each configured back end. */
function probesFor(config: MailroomConfig, store: Store): Probe[] {
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
  return probes;
}

/** The adapters of the directory and the cloud app, when both are configured (the doctor uses them too). */
export function createAdapters(config: MailroomConfig): { cloud: CloudClients | undefined; directory: DirectoryClient | undefined } {
  const cloud = config.cloud ? createCloudClients(config.cloud, config.extraCaFile) : undefined;
  const d = config.directory;
  const directory = d
    ? new DirectoryClient({ url: d.url, bindDn: d.bindDn, password: d.password, caPem: d.caFile ? readFileSync(d.caFile, 'utf8') : undefined, connectTimeoutMs: 5000, timeoutMs: 15000, baseDn: d.baseDn, maxConnections: d.maxConnections })
    : undefined;
  return { cloud, directory };
}

/** Where the store is: SQLite, or PostgreSQL with the URL's password or a managed identity's Entra token. */
export function storeOptions(config: MailroomConfig): StoreOptions {
  const { databaseUrl, sqliteFile, databaseManagedIdentityClientId: msi } = config.store;
  return { databaseUrl, sqliteFile, ...(msi ? { databasePassword: postgresTokenProvider(msi) } : {}) };
}

/** Waits for `p` at most `ms`; `late` is called when it did not settle in time. */
async function settledWithin(p: Promise<void>, ms: number, late: () => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), ms);
  });
  const outcome = await Promise.race([p.then(() => 'settled' as const, () => 'settled' as const), timeout]);
  clearTimeout(timer);
  if (outcome === 'late') late();
}

/** The composition root: adapters (store, directory, cloud, Teams) wired to the workflow's ports, then the HTTP server. */
export async function startMailroom(config: MailroomConfig, log: Logger, options: MailroomOptions = {}): Promise<Mailroom> {
  log.info('starting Mailroom', describeConfig(config));
  // One instance per SQLite file: a second Mailroom on the same file is refused (PostgreSQL serves several).
  // The audit chain's key lives outside the database: AUDIT_KEY, or derived from the vault key (secret-vault.ts).
  const store = await openStore({ ...storeOptions(config), singleInstance: true, auditKey: auditKey(config.auditKey, vaultKey(config.secretKey, config.dataDir)) });
  const probes = probesFor(config, store);
  const readiness = () => runProbes(probes);

  let cloud: CloudClients | undefined;
  let directory: DirectoryClient | undefined;
  let workflow: Workflow | undefined;
  let notifications: TeamsNotifications | undefined;
  let runtime: BotRuntime;
  let server: HttpServer;
  try {
    ({ cloud, directory } = createAdapters(config));
    runtime = createBotRuntime(config, { log, conversations: store.conversations, audit: store.audit, groups: cloud?.graph });
    if (cloud && directory) {
      const catalogAppId = config.approval.teamsAppCatalogId;
      const reach = catalogAppId
        ? new TeamsReach({ graph: cloud.graph, conversations: store.conversations, catalogAppId, botAppId: config.bot.appId ?? '', serviceUrl: config.approval.teamsServiceUrl, log: log.child({ component: 'reach' }) })
        : undefined;
      const admins = config.roles.admins.flatMap((a) => (a.kind === 'user' ? [a.id] : []));
      const channelFor = approvalChannelFor(store.settings, config.approval.channelConversationId);
      notifications = new TeamsNotifications(runtime.notifier, runtime.cards, store.cards, log.child({ component: 'notify' }), channelFor, reach, admins);
      workflow = createWorkflow({ config, store, directory, cloud, notifications, log }, options);
      workflow.start();
    } else {
      log.warn('requests are off: Mailroom needs both the directory (LDAP_*) and the cloud app (CLIENT_*) configured');
    }
    const doctor = () => runDoctor({ config, store, processEnv: processEnvironment() });
    registerHandlers(runtime.bot, { useCases: workflow?.useCases, cards: runtime.cards, log, readiness, doctor });
    server = await startHttpServer({ host: config.server.host, port: config.server.port, log, onMessage: runtime.onMessage, readiness });
  } catch (err) {
    await workflow?.stop();
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
    workflow,
    stop() {
      stopping ??= (async () => {
        const { drained, inFlight } = await server.close(config.server.shutdownTimeoutMs);
        if (!drained) log.warn('stopped with turns still running', { inFlight });
        await workflow?.stop();
        // the last progress-card updates go out (they are paced), within the shutdown time
        if (notifications) await settledWithin(notifications.progressSettled(), config.server.shutdownTimeoutMs, () => log.warn('stopped with progress-card updates still waiting'));
        runtime.close();
        cloud?.close();
        await directory?.close();
        await store.close();
        log.info('Mailroom stopped');
      })();
      return stopping;
    },
  };
}
