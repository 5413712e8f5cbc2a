import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ClientCertificateCredential, ClientSecretCredential } from '@azure/identity';
import { createClientCertificate } from '../../src/sandbox/cloud/certs';
import { decodeJwt } from '../../src/sandbox/cloud/jwt';
import { credentialFor, httpsCall, startTestCloud, type TestCloud } from './cloud-fixture';

describe('cloud emulator: Entra token endpoint with @azure/identity', function () {
  let t: TestCloud;
  let certDir: string;
  let cert: { certificatePem: string; privateKeyPem: string; combinedFile: string };
  let otherCert: { certificatePem: string; privateKeyPem: string; combinedFile: string };

  before(async function () {
    t = await startTestCloud();
    certDir = await mkdtemp(path.join(os.tmpdir(), 'mailroom-app-cert-'));
    cert = await createClientCertificate(certDir, 'registered');
    otherCert = await createClientCertificate(certDir, 'unregistered');
    t.tenant.addAppCertificate(t.cloud.clientId, cert.certificatePem);
  });

  after(async function () {
    await t.stop();
    await rm(certDir, { recursive: true, force: true });
  });

  it('serves openid-configuration whose token_endpoint is on the emulator', async function () {
    const res = await httpsCall(t.cloud, 'GET', `${t.cloud.url}/${t.cloud.tenantDomain}/v2.0/.well-known/openid-configuration`);
    assert.equal(res.status, 200);
    const doc = res.json as { token_endpoint: string; issuer: string };
    assert.equal(doc.token_endpoint, `${t.cloud.url}/${t.cloud.tenantId}/oauth2/v2.0/token`);
  });

  it('issues Graph and Exchange tokens to ClientSecretCredential, with the audience and roles of each resource', async function () {
    const cred = credentialFor(t.cloud);
    const graph = await cred.getToken('https://graph.microsoft.com/.default');
    const exo = await cred.getToken('https://outlook.office365.com/.default');
    const g = decodeJwt(graph.token)!.payload;
    const e = decodeJwt(exo.token)!.payload;
    assert.equal(g.aud, 'https://graph.microsoft.com');
    assert.equal(e.aud, 'https://outlook.office365.com');
    assert.equal(g.tid, t.cloud.tenantId);
    assert.ok((g.roles as string[]).includes('User.ReadWrite.All'));
    assert.deepEqual(e.roles, ['Exchange.ManageAsApp']);
    assert.ok(graph.expiresOnTimestamp > Date.now());
  });

  it('accepts the tenant domain instead of the tenant id', async function () {
    const cred = credentialFor(t.cloud, t.cloud.clientSecret, t.cloud.clientId, t.cloud.tenantDomain);
    const token = await cred.getToken('https://graph.microsoft.com/.default');
    assert.equal(decodeJwt(token.token)!.payload.tid, t.cloud.tenantId);
  });

  it('refuses a wrong secret with AADSTS7000215', async function () {
    const cred = credentialFor(t.cloud, 'not-the-secret');
    await assert.rejects(cred.getToken('https://graph.microsoft.com/.default'), (err: Error) => {
      // @azure/identity 4.13 wraps MSAL's ServerError; the AADSTS text and code survive.
      assert.match(err.message, /invalid_client: Error\(s\): 7000215 .*AADSTS7000215: Invalid client secret provided/s);
      assert.equal(err.name, 'AuthenticationRequiredError');
      return true;
    });
  });

  it('refuses an unknown app with AADSTS700016', async function () {
    const cred = credentialFor(t.cloud, 'x', '11111111-2222-4333-8444-555555555555');
    await assert.rejects(cred.getToken('https://graph.microsoft.com/.default'), /AADSTS700016: Application with identifier '11111111-2222-4333-8444-555555555555' was not found/);
  });

  it('refuses an unknown tenant with AADSTS90002 (MSAL reports it as endpoints_resolution_error)', async function () {
    const res = await httpsCall(t.cloud, 'GET', `${t.cloud.url}/fabrikam.onmicrosoft.com/v2.0/.well-known/openid-configuration`);
    assert.equal(res.status, 400);
    assert.equal((res.json as { error: string }).error, 'invalid_tenant');
    assert.match((res.json as { error_description: string }).error_description, /^AADSTS90002: Tenant 'fabrikam\.onmicrosoft\.com' not found/);
    const cred = credentialFor(t.cloud, t.cloud.clientSecret, t.cloud.clientId, 'fabrikam.onmicrosoft.com');
    await assert.rejects(cred.getToken('https://graph.microsoft.com/.default'), (err: Error) => {
      assert.equal(err.name, 'CredentialUnavailableError');
      assert.match(err.message, /endpoints_resolution_error/);
      return true;
    });
  });

  it("answers the token endpoint's errors in Entra's JSON shape", async function () {
    const res = await httpsCall(
      t.cloud,
      'POST',
      `${t.cloud.url}/${t.cloud.tenantId}/oauth2/v2.0/token`,
      `grant_type=client_credentials&client_id=${t.cloud.clientId}&client_secret=wrong&scope=${encodeURIComponent('https://graph.microsoft.com/.default')}`,
      { 'content-type': 'application/x-www-form-urlencoded', 'client-request-id': 'c0ffee00-0000-4000-8000-000000000001' },
    );
    assert.equal(res.status, 401);
    const body = res.json as Record<string, unknown>;
    assert.equal(body.error, 'invalid_client');
    assert.deepEqual(body.error_codes, [7000215]);
    assert.equal(body.correlation_id, 'c0ffee00-0000-4000-8000-000000000001');
    assert.match(String(body.error_description), /^AADSTS7000215: .*\r\nTrace ID: [0-9a-f-]{36}\r\nCorrelation ID: c0ffee00-0000-4000-8000-000000000001\r\nTimestamp: \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);
    assert.match(String(body.timestamp), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);
    assert.match(String(body.trace_id), /^[0-9a-f-]{36}$/);
  });

  it('refuses a scope without /.default (AADSTS1002012) and an unknown resource (AADSTS500011)', async function () {
    const cred = credentialFor(t.cloud);
    await assert.rejects(cred.getToken('https://graph.microsoft.com/User.Read'), /AADSTS1002012/);
    await assert.rejects(cred.getToken('https://vault.azure.net/.default'), /AADSTS500011/);
  });

  it('issues a token to ClientCertificateCredential for a registered certificate (PS256 assertion with x5t#S256)', async function () {
    const cred = new ClientCertificateCredential(
      t.cloud.tenantId,
      t.cloud.clientId,
      { certificatePath: cert.combinedFile },
      { authorityHost: t.cloud.url, disableInstanceDiscovery: true, tlsOptions: { ca: t.cloud.caPem } },
    );
    const token = await cred.getToken('https://outlook.office365.com/.default');
    const p = decodeJwt(token.token)!.payload;
    assert.equal(p.aud, 'https://outlook.office365.com');
    assert.equal(p.appidacr, '2');
  });

  it('also takes the certificate as a PEM string', async function () {
    const cred = new ClientCertificateCredential(
      t.cloud.tenantId,
      t.cloud.clientId,
      { certificate: `${cert.privateKeyPem}\n${cert.certificatePem}` },
      { authorityHost: t.cloud.url, disableInstanceDiscovery: true, tlsOptions: { ca: t.cloud.caPem } },
    );
    assert.ok((await cred.getToken('https://graph.microsoft.com/.default')).token);
  });

  it('refuses an unregistered certificate with AADSTS700027', async function () {
    const cred = new ClientCertificateCredential(
      t.cloud.tenantId,
      t.cloud.clientId,
      { certificatePath: otherCert.combinedFile },
      { authorityHost: t.cloud.url, disableInstanceDiscovery: true, tlsOptions: { ca: t.cloud.caPem } },
    );
    await assert.rejects(cred.getToken('https://graph.microsoft.com/.default'), /AADSTS700027: Client assertion contains an invalid signature. \[Reason - The key was not found/);
  });

  it('is not trusted without the CA (the emulator CA is private)', async function () {
    const cred = new ClientSecretCredential(t.cloud.tenantId, t.cloud.clientId, t.cloud.clientSecret, {
      authorityHost: t.cloud.url,
      disableInstanceDiscovery: true,
    });
    // MSAL's discovery request fails on the untrusted certificate and surfaces as endpoints_resolution_error.
    await assert.rejects(cred.getToken('https://graph.microsoft.com/.default'), /endpoints_resolution_error/);
  });
});
