import { readFileSync } from 'node:fs';
import { createBotRuntime, BotRuntime } from './bot';
import { CloudClients, createCloudClients } from './cloud';
import { describeConfig, MailroomConfig } from './config/config';
import { Logger } from './log';
import { HttpServer, startHttpServer } from './server/http';
import { connectProbe, Probe, runProbes } from './server/readiness';
import { openStore, Store } from './store';
import { registerRequestHandlers, TeamsRequestNotifications } from './bot';
import { DirectoryClient } from './directory';
import { HybridRecipientLookup } from './workflow/recipient-lookup';
import { RequestService } from './workflow/request-service';
import { TenantProfileProvider } from './workflow/tenant-profile-provider';
import path from 'node:path';

export interface Mailroom {
  readonly url: string;
  readonly port: number;
  readonly store: Store;
  readonly runtime: BotRuntime;
  readonly cloud: CloudClients | undefined;
  readonly requests: RequestService | undefined;
  /** Graceful stop: no new turns, in-flight turns finish (bounded), then the store closes. */
  stop(): Promise<void>;
}

/** The composition root: store, bot runtime and HTTP server from one configuration. */
export interface MailroomOptions {
  /** The clock for approvals (reminders, expiry); tests move it instead of waiting. */
  readonly now?: () => Date;
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
  let ticker: NodeJS.Timeout | undefined;
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
      requests = new RequestService({
        store,
        lookup: new HybridRecipientLookup(directory, cloud.exo),
        profile: () => profile.get(),
        approval: config.approval,
        groups: cloud.graph,
        notifications: new TeamsRequestNotifications(runtime.notifier, runtime.cards, store, log.child({ component: 'notify' }), config.approval.channelConversationId),
        log: log.child({ component: 'requests' }),
        now: options.now,
      });
      registerRequestHandlers(runtime.bot, { service: requests, cards: runtime.cards, store, log, exportDir: path.join(path.dirname(config.store.sqliteFile), 'exports') });
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
    stop() {
      stopping ??= (async () => {
        const { drained, inFlight } = await server.close(config.server.shutdownTimeoutMs);
        if (!drained) log.warn('stopped with turns still running', { inFlight });
        clearInterval(ticker);
        cloud?.close();
        await directory?.close();
        await store.close();
        log.info('Mailroom stopped');
      })();
      return stopping;
    },
  };
}
