/**
 * Mailroom's cloud adapters: Microsoft Graph (official SDK) and Exchange Online (admin REST InvokeCommand),
 * both authenticated app-only through @azure/identity.
 */
import { readFileSync } from 'node:fs';
import type { CloudConfig } from '../config/config';
import { createCredential } from './credential';
import { ExoClient } from './exo';
import { createGraphClient, GraphDirectory } from './graph';

export { createCredential, postgresTokenProvider, trustedCas, GRAPH_SCOPE, EXCHANGE_SCOPE } from './credential';
export { ExoClient, ExoCommandError, hashtable, parseExoError, type ExoResult } from './exo';
export { createGraphClient, GraphDirectory, type GraphClientHandle } from './graph';
export { NodeHttpsMessageHandler, graphMiddlewareTrusting } from './https';

export interface CloudClients {
  readonly graph: GraphDirectory;
  readonly exo: ExoClient;
  close(): void;
}

export function createCloudClients(cloud: CloudConfig, extraCaFile?: string): CloudClients {
  const ca = extraCaFile ? readFileSync(extraCaFile) : undefined;
  const credential = createCredential(cloud, ca);
  const graph = createGraphClient(cloud.graphUrl, credential, ca);
  const exo = new ExoClient({ url: cloud.exoUrl, tenantId: cloud.tenantId, credential, extraCaPem: ca });
  return {
    graph: new GraphDirectory(graph.client),
    exo,
    close() {
      graph.close();
      exo.close();
    },
  };
}
