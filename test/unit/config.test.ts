import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/config';
import { fillPlaceholders } from '../../src/config/env-files';

const TENANT = 'c0ffee00-0000-4000-8000-000000000001';
const base = {
  ALLOWED_TENANT_IDS: TENANT,
  ROLE_ADMINS: 'user:c0ffee00-0000-4000-8000-0000000000a3',
};
/** A complete tenant configuration, for the tests that are about something else. */
const tenant = {
  TENANT_ID: TENANT,
  BOT_ID: '0b4e6d2a-5c1f-4e43-9a55-0d5f7f3c2b11',
  BOT_PASSWORD: 'bot-secret-value',
  CLIENT_ID: '0b4e6d2a-5c1f-4e43-9a55-0d5f7f3c2b12',
  CLIENT_SECRET: 'app-secret-value',
  LDAP_URL: 'ldaps://dc1.corp.example.com:636',
  LDAP_BASE_DN: 'DC=corp,DC=example,DC=com',
  LDAP_BIND_DN: 'svc-mailroom@corp.example.com',
  LDAP_PASSWORD: 'ldap-secret-value',
};

function problemsOf(fn: () => unknown) {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the configuration to be refused');
}

describe('configuration', function () {
  let root: string;
  beforeEach(function () {
    root = mkdtempSync(path.join(os.tmpdir(), 'mailroom-config-'));
    mkdirSync(path.join(root, 'env'));
  });
  afterEach(function () {
    rmSync(root, { recursive: true, force: true });
  });

  it('reads env/.env.<name>, then .user, then the process environment (later wins)', function () {
    writeFileSync(path.join(root, 'env', '.env.dev'), `PORT=4000\nLOG_LEVEL=warn\nALLOWED_TENANT_IDS=${TENANT}\nROLE_ADMINS=${base.ROLE_ADMINS}\n`);
    writeFileSync(path.join(root, 'env', '.env.dev.user'), 'PORT=4001\n');
    const c = loadConfig({ rootDir: root, envName: 'dev', env: { LOG_LEVEL: 'debug', ...tenant } });
    assert.equal(c.server.port, 4001);
    assert.equal(c.logLevel, 'debug');
    assert.equal(c.server.host, '127.0.0.1', 'binds to loopback unless configured otherwise');
    assert.equal(c.mode, 'tenant');
    assert.equal(c.store.databaseUrl, undefined);
    assert.match(c.store.sqliteFile, /data[/\\]mailroom-dev\.db$/);
    assert.deepEqual(c.envFiles.map((f) => path.basename(f)), ['.env.dev', '.env.dev.user']);
  });

  it('names the variable, what is wrong and a good example for a bad value', function () {
    const err = problemsOf(() => loadConfig({ rootDir: root, envName: 'sandbox', env: { ...base, PORT: 'eighty' } }));
    assert.equal(err.problems.length, 1);
    assert.equal(err.problems[0]?.variable, 'PORT');
    assert.match(err.message, /PORT: "eighty" is not a whole number from 0 to 65535\. Example of a good value: PORT=3978/);
    assert.match(err.message, /Nothing was started/);
  });

  it('reports every problem at once, including missing required values', function () {
    const err = problemsOf(() => loadConfig({ rootDir: root, envName: 'sandbox', env: { LOG_LEVEL: 'loud', ROLE_APPROVERS: 'bob' } }));
    const vars = err.problems.map((p) => p.variable).sort();
    assert.deepEqual(vars, ['ALLOWED_TENANT_IDS', 'LOG_LEVEL', 'ROLE_ADMINS', 'ROLE_APPROVERS']);
    assert.match(err.message, /ROLE_APPROVERS: "bob" is not "user:<Entra object id>" or "group:<Entra group id>"/);
  });

  it('parses roles as users and groups; "*" only for requesters', function () {
    const c = loadConfig({
      rootDir: root,
      envName: 'sandbox',
      env: { ...base, ROLE_REQUESTERS: '*', ROLE_APPROVERS: 'group:72F988BF-86F1-41AF-91AB-2D7CD011DB47, user:0b4e6d2a-5c1f-4e43-9a55-0d5f7f3c2b11' },
    });
    assert.deepEqual(c.roles.requesters, [{ kind: 'anyone' }]);
    assert.deepEqual(c.roles.approvers, [
      { kind: 'group', id: '72f988bf-86f1-41af-91ab-2d7cd011db47' },
      { kind: 'user', id: '0b4e6d2a-5c1f-4e43-9a55-0d5f7f3c2b11' },
    ]);
    const err = problemsOf(() => loadConfig({ rootDir: root, envName: 'sandbox', env: { ...base, ROLE_ADMINS: '*' } }));
    assert.match(err.message, /only allowed for ROLE_REQUESTERS/);
  });

  it('refuses to listen beyond loopback without a bot registration', function () {
    const err = problemsOf(() => loadConfig({ rootDir: root, envName: 'sandbox', env: { ...base, HOST: '0.0.0.0' } }));
    assert.equal(err.problems[0]?.variable, 'HOST');
    assert.match(err.message, /cannot authenticate requests/);
  });

  it('with a tenant configured requires the bot registration, the cloud app and the directory', function () {
    const err = problemsOf(() => loadConfig({ rootDir: root, envName: 'dev', env: { ...base } }));
    const vars = err.problems.map((p) => p.variable);
    for (const v of ['TENANT_ID', 'BOT_ID', 'BOT_PASSWORD', 'CLIENT_ID', 'CLIENT_CERTIFICATE_PATH', 'LDAP_URL', 'LDAP_BASE_DN', 'LDAP_BIND_DN', 'LDAP_PASSWORD']) {
      assert.ok(vars.includes(v), `${v} is reported`);
    }
  });

  it('accepts a complete tenant configuration', function () {
    const c = loadConfig({
      rootDir: root,
      envName: 'dev',
      env: {
        ROLE_ADMINS: base.ROLE_ADMINS,
        ...tenant,
        DATABASE_URL: 'postgres://mailroom:db-secret-value@db.example.com:5432/mailroom',
        SECRET_KEY: Buffer.alloc(32, 7).toString('base64'),
        HOST: '0.0.0.0',
      },
    });
    assert.equal(c.mode, 'tenant');
    assert.deepEqual(c.allowedTenantIds, [TENANT], 'the own tenant is allowed by default');
    assert.equal(c.cloud?.exoUrl, `https://outlook.office365.com/adminapi/beta/${TENANT}/InvokeCommand`);
    assert.equal(c.cloud?.graphUrl, 'https://graph.microsoft.com/v1.0');
    assert.equal(c.directory?.maxConnections, 4, 'four LDAP connections by default');
  });

  it('takes LDAP_MAX_CONNECTIONS from 1 to 32 and names a bad value', function () {
    const load = (v: string) => loadConfig({ rootDir: root, envName: 'dev', env: { ...base, ...tenant, LDAP_MAX_CONNECTIONS: v } });
    assert.equal(load('1').directory?.maxConnections, 1);
    assert.equal(load('32').directory?.maxConnections, 32);
    for (const bad of ['0', '33', 'many', '2.5']) assert.throws(() => load(bad), /LDAP_MAX_CONNECTIONS/, bad);
  });

  it('on an Azure host: the managed identity signs in to Graph, Exchange Online and PostgreSQL, and nothing else may be set', function () {
    const msi = '0b4e6d2a-5c1f-4e43-9a55-0d5f7f3c2b13';
    const env = { ROLE_ADMINS: base.ROLE_ADMINS, ...tenant, CLIENT_SECRET: '', CLIENT_TYPE: 'UserAssignedMSI', CLIENT_ID: msi, DATABASE_AUTH: 'UserAssignedMSI', DATABASE_CLIENT_ID: msi, DATABASE_URL: 'postgres://mailroom-identity@db.postgres.database.azure.com:5432/mailroom?sslmode=require', SECRET_KEY: Buffer.alloc(32, 7).toString('base64') };
    const c = loadConfig({ rootDir: root, envName: 'dev', env });
    assert.equal(c.cloud?.credentialType, 'UserAssignedMSI');
    assert.equal(c.cloud?.clientId, msi);
    assert.equal(c.store.databaseManagedIdentityClientId, msi);

    const both = problemsOf(() => loadConfig({ rootDir: root, envName: 'dev', env: { ...env, CLIENT_SECRET: 'app-secret-value' } }));
    assert.deepEqual(both.problems.map((p) => p.variable), ['CLIENT_SECRET']);
    assert.match(both.problems[0]!.problem, /CLIENT_TYPE=UserAssignedMSI signs in with the managed identity/);
    assert.ok(!both.message.includes('app-secret-value'), 'the secret is not echoed');

    const pw = problemsOf(() => loadConfig({ rootDir: root, envName: 'dev', env: { ...env, DATABASE_URL: 'postgres://mailroom:db-secret-value@db.example.com:5432/mailroom' } }));
    assert.deepEqual(pw.problems.map((p) => p.variable), ['DATABASE_URL']);
    assert.match(pw.problems[0]!.problem, /holds a password, but DATABASE_AUTH=UserAssignedMSI signs in with an Entra token/);
    assert.ok(!pw.message.includes('db-secret-value'));

    const noId = problemsOf(() => loadConfig({ rootDir: root, envName: 'dev', env: { ...env, DATABASE_CLIENT_ID: '' } }));
    assert.deepEqual(noId.problems.map((p) => p.variable), ['DATABASE_CLIENT_ID']);
  });

  it('never echoes a secret in an error', function () {
    const err = problemsOf(() =>
      loadConfig({ rootDir: root, envName: 'sandbox', env: { ...base, DATABASE_URL: 'mysql://u:hunter2-secret@h/db', LDAP_URL: 'ldap://dc:389' } }),
    );
    assert.doesNotMatch(err.message, /hunter2-secret/);
    assert.match(err.message, /DATABASE_URL: \(the value given\) must use postgres: or postgresql:/);
    assert.match(err.message, /LDAP_URL: "ldap:\/\/dc:389" must use ldaps:/);
  });

  it('refuses an environment name that could escape env/', function () {
    assert.throws(() => loadConfig({ rootDir: root, envName: '../etc', env: base }), /MAILROOM_ENV: "\.\.\/etc" is not an environment name/);
  });

  it('fills ${{NAME}} placeholders and lists the missing ones', function () {
    const r = fillPlaceholders('{"id":"${{BOT_ID}}","x":"${{ MISSING }}"}', { BOT_ID: 'abc' });
    assert.equal(r.text, '{"id":"abc","x":""}');
    assert.deepEqual(r.missing, ['MISSING']);
  });
});
