import { readFileSync } from 'node:fs';
import { createBotRuntime, BotRuntime } from './bot';
import { CloudClients, createCloudClients } from './cloud';
import { describeConfig, MailroomConfig } from './config/config';
import { Logger } from './log';
import { HttpServer, startHttpServer } from './server/http';
import { connectProbe, Probe, runProbes } from './server/readiness';
import { openStore, Store } from './store';

export interface Mailroom {
  readonly url: string;
  readonly port: number;
  readonly store: Store;
  readonly runtime: BotRuntime;
  readonly cloud: CloudClients | undefined;
  /** Graceful stop: no new turns, in-flight turns finish (bounded), then the store closes. */
  stop(): Promise<void>;
}

/** The composition root: store, bot runtime and HTTP server from one configuration. */
export async function startMailroom(config: MailroomConfig, log: Logger): Promise<Mailroom> {
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
  let runtime: BotRuntime;
  let server: HttpServer;
  try {
    cloud = config.cloud ? createCloudClients(config.cloud, config.extraCaFile) : undefined;
    runtime = createBotRuntime(config, { log, conversations: store.conversations, readiness, groups: cloud?.graph });
    server = await startHttpServer({ host: config.server.host, port: config.server.port, log, onMessage: runtime.onMessage, readiness });
  } catch (err) {
    cloud?.close();
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
    stop() {
      stopping ??= (async () => {
        const { drained, inFlight } = await server.close(config.server.shutdownTimeoutMs);
        if (!drained) log.warn('stopped with turns still running', { inFlight });
        cloud?.close();
        await store.close();
        log.info('Mailroom stopped');
      })();
      return stopping;
    },
  };
}
