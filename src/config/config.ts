import path from 'node:path';
import { existsSync } from 'node:fs';
import { mergeEnvironment, readEnvFiles } from './env-files';
import { isTimeZone } from '../requests/when';

/**
 * The one place that reads configuration. Everything else receives a typed `MailroomConfig`.
 * Sources, later wins: `env/.env.<name>`, `env/.env.<name>.user`, the process environment.
 */

export type Principal = { kind: 'user'; id: string } | { kind: 'group'; id: string } | { kind: 'anyone' };
/** Who approves a stage: a principal, the requester's manager, or the owners of the group a membership request changes. */
export type ApproverPrincipal = Principal | { kind: 'manager' } | { kind: 'owners' };
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type BotAppType = 'MultiTenant' | 'SingleTenant' | 'UserAssignedMSI';

export interface BotConfig {
  /** Empty in sandbox mode: CloudAdapter then runs anonymously, as the Agents Playground expects. */
  readonly appId: string;
  readonly appType: BotAppType;
  readonly appTenantId: string | undefined;
  readonly appPassword: string | undefined;
}

export interface CloudConfig {
  readonly tenantId: string;
  readonly authorityHost: string;
  /**
   * How the app authenticates to Graph and Exchange Online: its own credential (certificate or secret), or the
   * user-assigned managed identity of the Azure host (CLIENT_ID is then the identity's client id).
   */
  readonly credentialType: 'ClientCredentials' | 'UserAssignedMSI';
  readonly clientId: string;
  readonly clientSecret: string | undefined;
  readonly clientCertificatePath: string | undefined;
  readonly graphUrl: string;
  readonly exoUrl: string;
}

export interface DirectoryConfig {
  readonly url: string;
  readonly baseDn: string;
  readonly bindDn: string;
  readonly password: string;
  readonly caFile: string | undefined;
  /**
   * LDAP connections kept open to AD (LDAP_MAX_CONNECTIONS, default 4). A step's create holds one for its writes; the
   * others serve the look-ups of people filing and approving meanwhile, so those do not wait behind a run of creates.
   */
  readonly maxConnections: number;
}

/** Settings that override what Mailroom discovers about the tenant (see src/requests/tenant-profile.ts). */
export interface ProfileSettings {
  readonly exchangeAttributeMode?: 'ad-mastered' | 'cloud-default';
  readonly sync?: 'connect' | 'cloud';
  readonly syncServicePrincipalId?: string;
  readonly syncJobId?: string;
  readonly licensing?: { readonly mode: 'direct'; readonly sku: string } | { readonly mode: 'group'; readonly groupId: string; readonly groupName: string };
  readonly ous: Readonly<Record<string, string>>;
  readonly upnSuffix?: string;
  readonly mailDomain?: string;
  readonly defaultUsageLocation?: string;
  readonly roomsKeepLicence?: boolean;
  readonly cloudManageNewMailboxes?: boolean;
  /** Whether AD has Exchange's schema (AD_EXCHANGE_SCHEMA); unset: read from AD (ms-Exch-Schema-Version-Pt). */
  readonly adExchangeSchema?: boolean;
}

export interface ApprovalSettings {
  /** Stage-1 approvers for kinds without their own list (default: ROLE_APPROVERS). */
  readonly approvers: readonly ApproverPrincipal[];
  /** An optional second stage for every kind without its own. */
  readonly secondStage: readonly ApproverPrincipal[];
  /** Per request kind (e.g. `shared-mailbox`): its own approvers and second stage. */
  readonly perKind: Readonly<Record<string, { readonly approvers?: readonly ApproverPrincipal[]; readonly secondStage?: readonly ApproverPrincipal[] }>>;
  /** Who a request is escalated to after its first reminder, and who decides a stage nobody could be found for (default: ROLE_ADMINS). */
  readonly escalateTo: readonly Principal[];
  readonly remindAfterMs: readonly number[];
  readonly expireAfterMs: number;
  /** A Teams channel conversation id that gets a copy of every approval card (optional). */
  readonly channelConversationId: string | undefined;
  /**
   * Mailroom's Teams app in the organisation's app catalog (TEAMS_APP_CATALOG_ID): with it, Mailroom installs itself
   * for approvers who never opened it, and posts activity-feed notifications. Undefined: cards reach only people who
   * installed the app.
   */
  readonly teamsAppCatalogId: string | undefined;
  /** The Bot Connector service URL for proactive messages to chats Mailroom was never in (TEAMS_SERVICE_URL); default: the one its conversations use. */
  readonly teamsServiceUrl: string | undefined;
}

export interface MailroomConfig {
  readonly envName: string;
  /** `sandbox`: no tenant configured, Mailroom runs against the local hybrid-tenant simulator. */
  readonly mode: 'sandbox' | 'tenant';
  readonly rootDir: string;
  readonly envFiles: readonly string[];
  readonly server: { readonly host: string; readonly port: number; readonly shutdownTimeoutMs: number };
  readonly bot: BotConfig;
  readonly store: {
    readonly databaseUrl: string | undefined;
    readonly sqliteFile: string;
    /** PostgreSQL sign-in: the password in the URL, or an Entra token of this user-assigned managed identity (client id). */
    readonly databaseManagedIdentityClientId: string | undefined;
  };
  readonly allowedTenantIds: readonly string[];
  readonly roles: {
    readonly requesters: readonly Principal[];
    readonly approvers: readonly Principal[];
    readonly admins: readonly Principal[];
  };
  readonly cloud: CloudConfig | undefined;
  readonly directory: DirectoryConfig | undefined;
  /** Extra CA certificates (PEM file) to trust for the cloud and directory back ends, e.g. the sandbox's own CA. */
  readonly extraCaFile: string | undefined;
  readonly profile: ProfileSettings;
  readonly approval: ApprovalSettings;
  /**
   * 32-byte key that encrypts generated passwords until they are revealed; undefined: a key file in the data folder
   * (SQLite only: with PostgreSQL every instance must share one key, so SECRET_KEY is then required).
   */
  readonly secretKey: Buffer | undefined;
  /** 32-byte key of the audit log's HMAC chain (AUDIT_KEY); undefined: derived from the secret key (HKDF). */
  readonly auditKey: Buffer | undefined;
  /** Generated passwords nobody revealed are deleted this long after they were stored (SECRET_PURGE_AFTER). */
  readonly secretPurgeAfterMs: number;
  /** The organisation's time zone (TIME_ZONE, IANA): typed dates (a leave date, an automatic reply's end) are read in it. */
  readonly timeZone: string;
  /** Keep Teams' rate limits for proactive messages and card updates (TEAMS_PACING, default on). */
  readonly teamsPacing: boolean;
  readonly dataDir: string;
  /** Run the cloud-managed sweep this often (ms); undefined: only on an admin's command. */
  readonly sweepIntervalMs: number | undefined;
  readonly logLevel: LogLevel;
}

export interface ConfigProblem {
  readonly variable: string;
  readonly problem: string;
  readonly example: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly ConfigProblem[], readonly envFiles: readonly string[]) {
    super(ConfigError.describe(problems, envFiles));
    this.name = 'ConfigError';
  }

  static describe(problems: readonly ConfigProblem[], envFiles: readonly string[]): string {
    const lines = problems.map((p) => `  - ${p.variable}: ${p.problem}. Example of a good value: ${p.example}`);
    const where = envFiles.length ? `read from ${envFiles.join(', ')} and the process environment` : 'read from the process environment';
    return `Mailroom cannot start: ${problems.length} configuration value${problems.length === 1 ? ' is' : 's are'} wrong (${where}). Nothing was started.\n${lines.join('\n')}`;
  }
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const EXAMPLE_GUID = '72f988bf-86f1-41af-91ab-2d7cd011db47';
/** How to make a key, as the example of a good value (never a real key). */
const KEY_EXAMPLE = '<output of: openssl rand -base64 32>';
const SECRET_NAMES = /SECRET|PASSWORD|PASSWD|TOKEN|KEY|DATABASE_URL/i;

/** Reads typed values from a merged environment and collects every problem before failing. */
class Reader {
  readonly problems: ConfigProblem[] = [];
  constructor(private readonly env: Record<string, string>) {}

  raw(name: string): string | undefined {
    const v = this.env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  }

  fail(variable: string, problem: string, example: string): undefined {
    this.problems.push({ variable, problem, example });
    return undefined;
  }

  /** Quotes a bad value for an error message unless it may be a secret. */
  shown(name: string, value: string): string {
    return SECRET_NAMES.test(name) ? '(the value given)' : JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  }

  string(name: string, fallback: string): string;
  string(name: string): string | undefined;
  string(name: string, fallback?: string): string | undefined {
    return this.raw(name) ?? fallback;
  }

  required(name: string, what: string, example: string): string {
    const v = this.raw(name);
    if (v === undefined) {
      this.fail(name, `is missing; it is required ${what}`, `${name}=${example}`);
      return '';
    }
    return v;
  }

  int(name: string, fallback: number, min: number, max: number, example: string): number {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
      this.fail(name, `${this.shown(name, v)} is not a whole number from ${min} to ${max}`, `${name}=${example}`);
      return fallback;
    }
    return Number(v);
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    const hit = allowed.find((a) => a.toLowerCase() === v.toLowerCase());
    if (!hit) {
      this.fail(name, `${this.shown(name, v)} is not one of ${allowed.join(', ')}`, `${name}=${fallback}`);
      return fallback;
    }
    return hit;
  }

  guid(name: string, value: string | undefined): string | undefined {
    if (value === undefined) return undefined;
    if (!GUID.test(value)) return this.fail(name, `${this.shown(name, value)} is not a GUID`, `${name}=${EXAMPLE_GUID}`);
    return value.toLowerCase();
  }

  guidList(name: string): string[] {
    const v = this.raw(name);
    if (v === undefined) return [];
    const out: string[] = [];
    for (const item of v.split(',').map((s) => s.trim()).filter(Boolean)) {
      const g = this.guid(name, item);
      if (g) out.push(g);
    }
    return out;
  }

  url(name: string, value: string | undefined, protocols: readonly string[], example: string): string | undefined {
    if (value === undefined) return undefined;
    let u: URL;
    try {
      u = new URL(value);
    } catch {
      return this.fail(name, `${this.shown(name, value)} is not a URL`, `${name}=${example}`);
    }
    if (!protocols.includes(u.protocol)) {
      return this.fail(name, `${this.shown(name, value)} must use ${protocols.join(' or ')}`, `${name}=${example}`);
    }
    return value.replace(/\/+$/, '');
  }

  file(name: string, rootDir: string): string | undefined {
    const v = this.raw(name);
    if (v === undefined) return undefined;
    const full = path.resolve(rootDir, v);
    if (!existsSync(full)) return this.fail(name, `the file ${full} does not exist`, `${name}=./certs/file.pem`);
    return full;
  }

  duration(name: string, value: string | undefined, fallback: number): number {
    if (value === undefined) return fallback;
    const m = /^(\d+)\s*(s|m|h|d)$/i.exec(value.trim());
    if (!m) {
      this.fail(name, `${this.shown(name, value)} is not a duration`, `${name}=24h (units: s, m, h, d)`);
      return fallback;
    }
    const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 's').toLowerCase() as 's' | 'm' | 'h' | 'd'];
    return Number(m[1]) * unit;
  }

  /** A 32-byte key given in base64 (SECRET_KEY, AUDIT_KEY); undefined when not set or wrong (then a problem is recorded). */
  key32(name: string): Buffer | undefined {
    const v = this.raw(name);
    if (v === undefined) return undefined;
    const buf = Buffer.from(v, 'base64');
    if (buf.length !== 32 || buf.toString('base64').replace(/=+$/, '') !== v.replace(/=+$/, '')) {
      this.fail(name, 'is not 32 bytes in base64 (make one with: openssl rand -base64 32)', `${name}=${KEY_EXAMPLE}`);
      return undefined;
    }
    return buf;
  }

  bool(name: string): boolean | undefined {
    const v = this.raw(name);
    if (v === undefined) return undefined;
    if (/^(true|yes|on|1)$/i.test(v)) return true;
    if (/^(false|no|off|0)$/i.test(v)) return false;
    this.fail(name, `${this.shown(name, v)} is not true or false`, `${name}=true`);
    return undefined;
  }

  /** An approver list: principals, and `manager` / `owners` (resolved per request). */
  approverPrincipals(name: string): ApproverPrincipal[] {
    const v = this.raw(name);
    if (v === undefined) return [];
    const dynamic: ApproverPrincipal[] = [];
    const rest: string[] = [];
    for (const item of v.split(',').map((x) => x.trim()).filter(Boolean)) {
      if (/^manager$/i.test(item)) dynamic.push({ kind: 'manager' });
      else if (/^owners$/i.test(item)) dynamic.push({ kind: 'owners' });
      else rest.push(item);
    }
    return [...dynamic, ...this.principals(name, false, rest.join(','), 'manager, owners, ')];
  }

  principals(name: string, allowAnyone: boolean, value: string | undefined = this.raw(name), alsoAllowed = ''): Principal[] {
    const v = value;
    if (v === undefined) return [];
    const out: Principal[] = [];
    const example = `${name}=group:${EXAMPLE_GUID},user:0b4e6d2a-5c1f-4e43-9a55-0d5f7f3c2b11`;
    for (const item of v.split(',').map((s) => s.trim()).filter(Boolean)) {
      if (item === '*') {
        if (allowAnyone) out.push({ kind: 'anyone' });
        else this.fail(name, '"*" (everyone) is only allowed for ROLE_REQUESTERS', example);
        continue;
      }
      const m = /^(user|group):(.+)$/i.exec(item);
      if (!m || !GUID.test(m[2] ?? '')) {
        this.fail(name, `${JSON.stringify(item)} is not ${alsoAllowed}"user:<Entra object id>" or "group:<Entra group id>"`, example);
        continue;
      }
      out.push({ kind: (m[1] ?? '').toLowerCase() === 'user' ? 'user' : 'group', id: (m[2] ?? '').toLowerCase() });
    }
    return out;
  }
}

export interface LoadConfigOptions {
  readonly rootDir?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Environment name (`env/.env.<name>`); defaults to MAILROOM_ENV, then `dev`. */
  readonly envName?: string;
  /** Values that override both env files and the process environment (used by the sandbox launcher). */
  readonly overrides?: Record<string, string>;
}

export function loadConfig(opts: LoadConfigOptions = {}): MailroomConfig {
  const rootDir = path.resolve(opts.rootDir ?? process.cwd());
  const processEnv = opts.env ?? process.env;
  const envName = opts.envName ?? (processEnv.MAILROOM_ENV?.trim() || 'dev');
  const files = readEnvFiles(rootDir, envName);
  const merged = { ...mergeEnvironment(files.values, processEnv), ...(opts.overrides ?? {}) };
  const r = new Reader(merged);

  // The `sandbox` environment runs against the local hybrid-tenant simulator; every other one is a real tenant.
  const mode: 'sandbox' | 'tenant' = envName === 'sandbox' ? 'sandbox' : 'tenant';
  const tenantId = r.guid('TENANT_ID', r.raw('TENANT_ID'));
  if (mode === 'tenant' && !tenantId) {
    r.fail('TENANT_ID', `is missing; environment "${envName}" is for a real tenant (use MAILROOM_ENV=sandbox, or plain npm start, to run against the local sandbox)`, `TENANT_ID=${EXAMPLE_GUID}`);
  }

  const host = r.string('HOST', '127.0.0.1');
  if (!/^[A-Za-z0-9.:-]+$/.test(host)) r.fail('HOST', `${r.shown('HOST', host)} is not a host name or IP address`, 'HOST=127.0.0.1');
  const port = r.int('PORT', 3978, 0, 65535, '3978'); // 0: any free port (tests)
  const shutdownTimeoutMs = r.int('SHUTDOWN_TIMEOUT_MS', 10000, 100, 600000, '10000');

  // Sandbox mode always runs the bot anonymously (local clients only); BOT_ID then only fills the app package.
  const configuredAppId = r.guid('BOT_ID', r.raw('BOT_ID')) ?? '';
  const appId = mode === 'tenant' ? configuredAppId : '';
  const appType = r.oneOf<BotAppType>('BOT_TYPE', ['MultiTenant', 'SingleTenant', 'UserAssignedMSI'], 'SingleTenant');
  const appTenantId = r.guid('BOT_TENANT_ID', r.raw('BOT_TENANT_ID')) ?? tenantId;
  const appPassword = r.raw('BOT_PASSWORD');
  if (mode === 'tenant') {
    if (!appId) r.fail('BOT_ID', 'is missing; a configured tenant needs the bot\'s Entra app (client) id', `BOT_ID=${EXAMPLE_GUID}`);
    if (appType !== 'UserAssignedMSI' && !appPassword) {
      r.fail('BOT_PASSWORD', 'is missing; the bot registration\'s client secret goes in env/.env.<name>.user', 'BOT_PASSWORD=<the secret from the app registration>');
    }
  }

  if (!appId && !isLoopback(host)) {
    r.fail('HOST', `${r.shown('HOST', host)} is not a loopback address, but BOT_ID is empty: without a bot registration Mailroom cannot authenticate requests, so it only listens on loopback`, 'HOST=127.0.0.1');
  }

  const databaseUrl = r.url('DATABASE_URL', r.raw('DATABASE_URL'), ['postgres:', 'postgresql:'], 'postgres://mailroom:secret@db.example.com:5432/mailroom');
  const databaseAuth = r.oneOf('DATABASE_AUTH', ['password', 'UserAssignedMSI'] as const, 'password');
  let databaseManagedIdentityClientId: string | undefined;
  if (databaseAuth === 'UserAssignedMSI') {
    databaseManagedIdentityClientId =
      r.guid('DATABASE_CLIENT_ID', r.raw('DATABASE_CLIENT_ID')) ?? r.required('DATABASE_CLIENT_ID', 'with DATABASE_AUTH=UserAssignedMSI (the client id of the managed identity that signs in to PostgreSQL)', EXAMPLE_GUID);
    if (!databaseUrl) r.fail('DATABASE_URL', 'is missing; DATABASE_AUTH=UserAssignedMSI signs in to PostgreSQL, so a PostgreSQL server is needed', 'DATABASE_URL=postgres://mailroom-identity@mailroom-db.postgres.database.azure.com:5432/mailroom?sslmode=require');
    else if (new URL(databaseUrl).password) r.fail('DATABASE_URL', 'holds a password, but DATABASE_AUTH=UserAssignedMSI signs in with an Entra token; remove the password from the URL', 'DATABASE_URL=postgres://mailroom-identity@mailroom-db.postgres.database.azure.com:5432/mailroom?sslmode=require');
  }
  const dataDir = path.resolve(rootDir, r.string('DATA_DIR', 'data'));
  const sqliteFile = path.join(dataDir, `mailroom-${envName}.db`);

  const allowedTenantIds = r.guidList('ALLOWED_TENANT_IDS');
  if (allowedTenantIds.length === 0 && tenantId) allowedTenantIds.push(tenantId);
  if (allowedTenantIds.length === 0) {
    r.fail('ALLOWED_TENANT_IDS', 'is missing; Mailroom refuses every activity unless at least one tenant is allowed', `ALLOWED_TENANT_IDS=${EXAMPLE_GUID}`);
  }

  const roles = {
    requesters: r.principals('ROLE_REQUESTERS', true),
    approvers: r.principals('ROLE_APPROVERS', false),
    admins: r.principals('ROLE_ADMINS', false),
  };
  if (roles.admins.length === 0) {
    r.fail('ROLE_ADMINS', 'is missing; at least one admin (an Entra user or group) must be configured', `ROLE_ADMINS=group:${EXAMPLE_GUID}`);
  }

  let cloud: CloudConfig | undefined;
  const clientId = r.guid('CLIENT_ID', r.raw('CLIENT_ID'));
  if (mode === 'tenant' || tenantId || clientId) {
    const tid = tenantId ?? '';
    const clientSecret = r.raw('CLIENT_SECRET');
    const clientCertificatePath = r.file('CLIENT_CERTIFICATE_PATH', rootDir);
    if (!clientId) r.fail('CLIENT_ID', 'is missing; the Entra app that calls Graph and Exchange Online is required with a tenant', `CLIENT_ID=${EXAMPLE_GUID}`);
    const credentialType = r.oneOf<CloudConfig['credentialType']>('CLIENT_TYPE', ['ClientCredentials', 'UserAssignedMSI'], 'ClientCredentials');
    if (credentialType === 'UserAssignedMSI') {
      if (clientSecret || clientCertificatePath) {
        r.fail(clientSecret ? 'CLIENT_SECRET' : 'CLIENT_CERTIFICATE_PATH', 'is set, but CLIENT_TYPE=UserAssignedMSI signs in with the managed identity CLIENT_ID; remove it (or set CLIENT_TYPE=ClientCredentials)', 'CLIENT_TYPE=UserAssignedMSI');
      }
    } else if (!clientSecret && !clientCertificatePath) {
      r.fail('CLIENT_CERTIFICATE_PATH', 'is missing, and so is CLIENT_SECRET; one credential for the Graph/Exchange app is required (a certificate is recommended), or CLIENT_TYPE=UserAssignedMSI on an Azure host', 'CLIENT_CERTIFICATE_PATH=./certs/mailroom-app.pem');
    }
    cloud = {
      credentialType,
      tenantId: tid,
      clientId: clientId ?? '',
      clientSecret,
      clientCertificatePath,
      authorityHost: r.url('AUTHORITY_HOST', r.string('AUTHORITY_HOST', 'https://login.microsoftonline.com'), ['https:'], 'https://login.microsoftonline.com') ?? '',
      graphUrl: r.url('GRAPH_URL', r.string('GRAPH_URL', 'https://graph.microsoft.com/v1.0'), ['https:'], 'https://graph.microsoft.com/v1.0') ?? '',
      exoUrl:
        r.url('EXO_URL', r.string('EXO_URL', `https://outlook.office365.com/adminapi/beta/${tid}/InvokeCommand`), ['https:'], `https://outlook.office365.com/adminapi/beta/${EXAMPLE_GUID}/InvokeCommand`) ?? '',
    };
  }

  let directory: DirectoryConfig | undefined;
  const ldapUrl = r.url('LDAP_URL', r.raw('LDAP_URL'), ['ldaps:'], 'ldaps://dc1.corp.example.com:636');
  if (ldapUrl || mode === 'tenant') {
    directory = {
      url: ldapUrl ?? r.required('LDAP_URL', 'with a tenant (Mailroom writes to AD over LDAPS only)', 'ldaps://dc1.corp.example.com:636'),
      baseDn: r.required('LDAP_BASE_DN', 'to find and create AD objects', 'DC=corp,DC=example,DC=com'),
      bindDn: r.required('LDAP_BIND_DN', 'for the AD service account', 'svc-mailroom@corp.example.com'),
      password: r.required('LDAP_PASSWORD', 'for the AD service account (put it in env/.env.<name>.user)', '<the service account password>'),
      caFile: r.file('LDAP_CA_FILE', rootDir),
      maxConnections: r.int('LDAP_MAX_CONNECTIONS', 4, 1, 32, '4'),
    };
  }

  const secretKey = r.key32('SECRET_KEY');
  if (secretKey === undefined && databaseUrl !== undefined && r.raw('SECRET_KEY') === undefined) {
    r.fail(
      'SECRET_KEY',
      'is missing; it is required with DATABASE_URL (PostgreSQL), because every Mailroom instance on the database must decrypt the passwords the others stored, and a key file in one instance\'s data folder is not shared. Make one with: openssl rand -base64 32 — and give every instance the same value',
      `SECRET_KEY=${KEY_EXAMPLE}`,
    );
  }
  const auditKey = r.key32('AUDIT_KEY');
  const secretPurgeAfterMs = r.duration('SECRET_PURGE_AFTER', r.raw('SECRET_PURGE_AFTER'), 7 * 86_400_000);
  if (secretPurgeAfterMs < 3_600_000 || secretPurgeAfterMs > 365 * 86_400_000) {
    r.fail('SECRET_PURGE_AFTER', `${r.shown('SECRET_PURGE_AFTER', r.raw('SECRET_PURGE_AFTER') ?? '')} is not from 1h to 365d`, 'SECRET_PURGE_AFTER=7d');
  }
  const timeZone = r.raw('TIME_ZONE') ?? 'UTC';
  if (!isTimeZone(timeZone)) r.fail('TIME_ZONE', `${r.shown('TIME_ZONE', timeZone)} is not a time zone this Node.js knows (an IANA name)`, 'TIME_ZONE=Europe/Berlin');
  const profile = readProfileSettings(r);
  const approval = readApprovalSettings(r, roles.approvers, roles.admins);

  const config: MailroomConfig = {
    envName,
    mode,
    rootDir,
    envFiles: files.files,
    server: { host, port, shutdownTimeoutMs },
    bot: { appId, appType, appTenantId, appPassword },
    store: { databaseUrl, sqliteFile, databaseManagedIdentityClientId },
    allowedTenantIds,
    roles,
    cloud,
    directory,
    extraCaFile: r.file('EXTRA_CA_FILE', rootDir),
    profile,
    approval,
    secretKey,
    auditKey,
    secretPurgeAfterMs,
    timeZone,
    teamsPacing: r.bool('TEAMS_PACING') ?? true,
    dataDir,
    sweepIntervalMs: r.raw('SWEEP_INTERVAL') === undefined ? undefined : r.duration('SWEEP_INTERVAL', r.raw('SWEEP_INTERVAL'), 86_400_000),
    logLevel: r.oneOf<LogLevel>('LOG_LEVEL', ['debug', 'info', 'warn', 'error'], 'info'),
  };
  if (r.problems.length) throw new ConfigError(r.problems, files.files);
  return config;
}

/** Request kinds as configuration names: `shared-mailbox` → `SHARED_MAILBOX`. */
const REQUEST_KIND_IDS = [
  'user-mailbox', 'shared-mailbox', 'room-mailbox', 'equipment-mailbox', 'mail-user', 'mail-contact', 'distribution-group',
  'primary-address', 'secondary-address-add', 'secondary-address-remove', 'cloud-managed', 'mailbox-type', 'offboarding',
  'mailbox-permission-grant', 'mailbox-permission-revoke', 'group-member-add', 'group-member-remove',
  'address-list-visibility', 'forwarding-set', 'forwarding-off',
] as const;
const envKind = (kind: string) => kind.toUpperCase().replace(/-/g, '_');
const OU_SETTINGS = { users: 'OU_USERS', shared: 'OU_SHARED', rooms: 'OU_ROOMS', equipment: 'OU_EQUIPMENT', mailUsers: 'OU_MAIL_USERS', contacts: 'OU_CONTACTS', groups: 'OU_GROUPS' } as const;

function readProfileSettings(r: Reader): ProfileSettings {
  const ous: Record<string, string> = {};
  for (const [key, variable] of Object.entries(OU_SETTINGS)) {
    const v = r.raw(variable);
    if (v === undefined) continue;
    if (!/^(OU|CN)=[^,]+(,\s*(OU|CN|DC)=[^,]+)*$/i.test(v)) r.fail(variable, `${r.shown(variable, v)} is not a distinguished name of an OU`, `${variable}=OU=Shared,OU=Mailroom,DC=corp,DC=example,DC=com`);
    else ous[key] = v;
  }
  let licensing: ProfileSettings['licensing'];
  const lic = r.raw('LICENSING');
  if (lic !== undefined) {
    const direct = /^direct:(.+)$/i.exec(lic);
    const group = /^group:([0-9a-f-]{36}):(.+)$/i.exec(lic);
    if (direct) licensing = { mode: 'direct', sku: (direct[1] ?? '').trim() };
    else if (group && GUID.test(group[1] ?? '')) licensing = { mode: 'group', groupId: (group[1] ?? '').toLowerCase(), groupName: (group[2] ?? '').trim() };
    else r.fail('LICENSING', `${r.shown('LICENSING', lic)} is not "direct:<SKU part number or id>" or "group:<group id>:<group name>"`, 'LICENSING=direct:EXCHANGESTANDARD');
  }
  const usage = r.raw('DEFAULT_USAGE_LOCATION');
  if (usage !== undefined && !/^[A-Z]{2}$/.test(usage)) r.fail('DEFAULT_USAGE_LOCATION', `${r.shown('DEFAULT_USAGE_LOCATION', usage)} is not a two-letter country code`, 'DEFAULT_USAGE_LOCATION=DE');
  const domain = (name: string) => {
    const v = r.raw(name);
    if (v !== undefined && !/^[a-z0-9-]+(\.[a-z0-9-]+)+$/i.test(v)) return r.fail(name, `${r.shown(name, v)} is not a domain name`, `${name}=contoso.com`);
    return v?.toLowerCase();
  };
  const mode = r.raw('EXCHANGE_ATTRIBUTE_MODE') === undefined ? undefined : r.oneOf('EXCHANGE_ATTRIBUTE_MODE', ['ad-mastered', 'cloud-default'] as const, 'ad-mastered');
  const sync = r.raw('SYNC_MODE') === undefined ? undefined : r.oneOf('SYNC_MODE', ['connect', 'cloud'] as const, 'cloud');
  return {
    exchangeAttributeMode: mode,
    sync,
    syncServicePrincipalId: r.guid('SYNC_SERVICE_PRINCIPAL_ID', r.raw('SYNC_SERVICE_PRINCIPAL_ID')),
    syncJobId: r.raw('SYNC_JOB_ID'),
    licensing,
    ous,
    upnSuffix: domain('UPN_SUFFIX'),
    mailDomain: domain('MAIL_DOMAIN'),
    defaultUsageLocation: usage,
    roomsKeepLicence: r.bool('ROOMS_KEEP_LICENCE'),
    cloudManageNewMailboxes: r.bool('CLOUD_MANAGE_NEW_MAILBOXES'),
    adExchangeSchema: r.bool('AD_EXCHANGE_SCHEMA'),
  };
}

function readApprovalSettings(r: Reader, roleApprovers: readonly Principal[], admins: readonly Principal[]): ApprovalSettings {
  const explicit = r.approverPrincipals('APPROVERS');
  const perKind: Record<string, { approvers?: ApproverPrincipal[]; secondStage?: ApproverPrincipal[] }> = {};
  for (const kind of REQUEST_KIND_IDS) {
    const a = r.approverPrincipals(`APPROVERS_${envKind(kind)}`);
    const b = r.approverPrincipals(`APPROVERS_${envKind(kind)}_STAGE2`);
    if (a.length || b.length) perKind[kind] = { ...(a.length ? { approvers: a } : {}), ...(b.length ? { secondStage: b } : {}) };
  }
  const remind = r.raw('APPROVAL_REMIND_AFTER');
  const remindAfterMs = (remind ?? '24h')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)
    .map((x) => r.duration('APPROVAL_REMIND_AFTER', x, 86_400_000));
  return {
    approvers: explicit.length ? explicit : roleApprovers,
    secondStage: r.approverPrincipals('APPROVERS_STAGE2'),
    perKind,
    escalateTo: r.raw('APPROVAL_ESCALATE_TO') === undefined ? admins : r.principals('APPROVAL_ESCALATE_TO', false),
    remindAfterMs,
    expireAfterMs: r.duration('APPROVAL_EXPIRE_AFTER', r.raw('APPROVAL_EXPIRE_AFTER'), 7 * 86_400_000),
    channelConversationId: r.raw('APPROVAL_CHANNEL_ID'),
    teamsAppCatalogId: r.raw('TEAMS_APP_CATALOG_ID'),
    teamsServiceUrl: r.raw('TEAMS_SERVICE_URL'),
  };
}

/** A view of the configuration that is safe to log: no secrets. */
export function describeConfig(c: MailroomConfig): Record<string, unknown> {
  return {
    env: c.envName,
    mode: c.mode,
    listen: `${c.server.host}:${c.server.port}`,
    bot: c.bot.appId ? `${c.bot.appType} ${c.bot.appId}` : 'anonymous (local clients only)',
    store: c.store.databaseUrl ? `postgres ${maskUrl(c.store.databaseUrl)}` : `sqlite ${c.store.sqliteFile}`,
    allowedTenants: c.allowedTenantIds,
    roles: { requesters: c.roles.requesters.length, approvers: c.roles.approvers.length, admins: c.roles.admins.length },
    cloud: c.cloud ? { tenant: c.cloud.tenantId, graph: c.cloud.graphUrl, exo: c.cloud.exoUrl } : 'not configured',
    directory: c.directory ? c.directory.url : 'not configured',
  };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}
