import https from 'node:https';
import tls from 'node:tls';
import { ClientCertificateCredential, ClientSecretCredential, ManagedIdentityCredential, type AccessToken, type GetTokenOptions, type TokenCredential } from '@azure/identity';
import type { CloudConfig } from '../config/config';

const MICROSOFT_AUTHORITY = 'https://login.microsoftonline.com';
export const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';
export const EXCHANGE_SCOPE = 'https://outlook.office365.com/.default';
/** Azure Database for PostgreSQL's Entra sign-in: the access token is the password. */
export const POSTGRES_SCOPE = 'https://ossrdbms-aad.database.windows.net/.default';

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
 * The app-only credential Mailroom uses for Graph and Exchange Online: on an Azure host the user-assigned managed
 * identity (CLIENT_TYPE=UserAssignedMSI), else a certificate (recommended) or a client secret. Instance discovery is
 * only meaningful against Microsoft's own authority.
 */
export function createCredential(cloud: CloudConfig, extraCaPem?: string | Buffer): TokenCredential {
  return new ReusedTokenCredential(signIn(cloud, extraCaPem));
}

function signIn(cloud: CloudConfig, extraCaPem?: string | Buffer): TokenCredential {
  if (cloud.credentialType === 'UserAssignedMSI') return new ManagedIdentityCredential({ clientId: cloud.clientId });
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

/** A token is asked for anew this long before it expires (as MSAL's own cache does: 5 minutes). */
const RENEW_BEFORE_EXPIRY_MS = 5 * 60_000;

/**
 * A credential that hands out the token it got until it is due for renewal, instead of asking the inner credential on
 * every request. The Graph SDK and the Exchange client ask for a token on every call; @azure/identity then looks the
 * token up in MSAL's cache, which costs more CPU than the call itself. Renewal is what MSAL's cache does: at the
 * token's `refreshAfterTimestamp` when it has one, else 5 minutes before it expires; concurrent callers share one
 * request. A request with options that change the token (claims of a Continuous Access Evaluation challenge, a
 * tenant) goes to the inner credential, as does one whose renewal failed (the error is the inner credential's).
 */
export class ReusedTokenCredential implements TokenCredential {
  private readonly kept = new Map<string, { token: AccessToken; renewAt: number } | Promise<AccessToken | null>>();

  constructor(
    private readonly inner: TokenCredential,
    private readonly now: () => number = Date.now,
  ) {}

  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
    if (options?.claims || options?.tenantId || options?.enableCae) return this.inner.getToken(scopes, options);
    const key = typeof scopes === 'string' ? scopes : scopes.join(' ');
    const kept = this.kept.get(key);
    if (kept instanceof Promise) return kept;
    if (kept && this.now() < kept.renewAt) return kept.token;
    const asking = this.inner.getToken(scopes, options).then(
      (token) => {
        if (token) this.kept.set(key, { token, renewAt: Math.min(token.refreshAfterTimestamp ?? Infinity, token.expiresOnTimestamp - RENEW_BEFORE_EXPIRY_MS) });
        else this.kept.delete(key);
        return token;
      },
      (err: unknown) => {
        this.kept.delete(key);
        throw err;
      },
    );
    this.kept.set(key, asking);
    return asking;
  }
}

/**
 * The PostgreSQL password of a user-assigned managed identity: a fresh Entra access token for Azure Database for
 * PostgreSQL (asked for at each new connection; @azure/identity caches it until shortly before it expires).
 */
export function postgresTokenProvider(clientId: string, credential: TokenCredential = new ManagedIdentityCredential({ clientId })): () => Promise<string> {
  return async () => {
    const token = await credential.getToken(POSTGRES_SCOPE);
    if (!token) throw new Error(`the managed identity ${clientId} got no token for Azure Database for PostgreSQL`);
    return token.token;
  };
}
