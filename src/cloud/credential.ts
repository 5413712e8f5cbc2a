import https from 'node:https';
import tls from 'node:tls';
import { ClientCertificateCredential, ClientSecretCredential, type TokenCredential } from '@azure/identity';
import type { CloudConfig } from '../config/config';

const MICROSOFT_AUTHORITY = 'https://login.microsoftonline.com';
export const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';
export const EXCHANGE_SCOPE = 'https://outlook.office365.com/.default';

/** The CAs to trust: the system's plus an extra one (Node's `ca` option replaces the default list). */
export function trustedCas(extraCaPem: string | Buffer | undefined): (string | Buffer)[] | undefined {
  return extraCaPem ? [...tls.rootCertificates, extraCaPem] : undefined;
}

/**
 * A keep-alive HTTPS agent trusting `ca`. The CA list is parsed once into a secure context that every connection
 * shares: passed as `ca`, Node would parse the whole list (the system roots included) for each new connection and
 * join it into the pool key of each request.
 */
export function trustingAgent(ca: string | Buffer | (string | Buffer)[] | undefined): https.Agent {
  return new https.Agent({ keepAlive: true, ...(ca ? { secureContext: tls.createSecureContext({ ca }) } : {}) });
}

/**
 * The app-only credential Mailroom uses for Graph and Exchange Online: a certificate (recommended) or a
 * client secret. Instance discovery is only meaningful against Microsoft's own authority.
 */
export function createCredential(cloud: CloudConfig, extraCaPem?: string | Buffer): TokenCredential {
  const ca = trustedCas(extraCaPem);
  const options = {
    authorityHost: cloud.authorityHost,
    disableInstanceDiscovery: cloud.authorityHost.replace(/\/+$/, '') !== MICROSOFT_AUTHORITY,
    ...(ca ? { tlsOptions: { ca } } : {}),
  };
  if (cloud.clientCertificatePath) {
    return new ClientCertificateCredential(cloud.tenantId, cloud.clientId, { certificatePath: cloud.clientCertificatePath }, options);
  }
  if (cloud.clientSecret) return new ClientSecretCredential(cloud.tenantId, cloud.clientId, cloud.clientSecret, options);
  throw new Error('the Graph/Exchange app has neither a certificate nor a client secret configured');
}
