import type { SandboxEndpoints } from './index';

/** How Mailroom reaches the sandbox: the same variables a real tenant's configuration sets. */
export function sandboxOverrides(e: SandboxEndpoints): Record<string, string> {
  return {
    TENANT_ID: e.tenantId,
    CLIENT_ID: e.clientId,
    CLIENT_SECRET: e.clientSecret,
    AUTHORITY_HOST: e.authorityHost,
    GRAPH_URL: e.graphUrl,
    EXO_URL: e.exoUrl,
    EXTRA_CA_FILE: e.caFile,
    LDAP_URL: e.ldap.url,
    LDAP_BASE_DN: e.ldap.baseDn,
    LDAP_BIND_DN: e.ldap.bindDn,
    LDAP_PASSWORD: e.ldap.password,
    LDAP_CA_FILE: e.ldap.caFile,
  };
}
