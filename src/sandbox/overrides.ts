import { mailroomOuSettings, mailroomOus, type SandboxEndpoints } from './index';

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
    SYNC_MODE: e.sync.mode,
    ...(e.sync.servicePrincipalId && e.sync.jobId ? { SYNC_SERVICE_PRINCIPAL_ID: e.sync.servicePrincipalId, SYNC_JOB_ID: e.sync.jobId } : {}),
    LICENSING: `direct:${e.skus.exchangeOnline}`,
    TEAMS_APP_CATALOG_ID: e.teams.appCatalogId,
    ...ouOverrides(e.ldap.baseDn),
  };
}

/** Mailroom's OUs in the sandbox's AD (rooms and equipment share one, mail users live with the users). */
function ouOverrides(baseDn: string): Record<string, string> {
  const o = mailroomOuSettings(mailroomOus(baseDn));
  return {
    OU_USERS: o.users,
    OU_SHARED: o.shared,
    OU_ROOMS: o.rooms,
    OU_EQUIPMENT: o.equipment,
    OU_MAIL_USERS: o.mailUsers,
    OU_CONTACTS: o.contacts,
    OU_GROUPS: o.groups,
  };
}
