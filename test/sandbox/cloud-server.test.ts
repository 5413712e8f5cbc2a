import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { startCloudEmulator } from '../../src/sandbox/cloud/server';
import { adUser, credentialFor, EXCHANGESTANDARD, ExoClient, httpsCall } from './cloud-fixture';

describe('cloud emulator: lifecycle, TLS and persistence', function () {
  let stateDir: string;

  before(async function () {
    stateDir = await mkdtemp(path.join(os.tmpdir(), 'mailroom-cloud-state-'));
  });

  after(async function () {
    await rm(stateDir, { recursive: true, force: true });
  });

  it('makes its own CA and a server certificate for 127.0.0.1, ::1 and localhost, and reuses them', async function () {
    const first = await startCloudEmulator({ stateDir });
    const caPem = first.caPem;
    await first.stop();
    const second = await startCloudEmulator({ stateDir });
    try {
      assert.equal(second.caPem, caPem, 'the CA is cached in stateDir');
      assert.ok(existsSync(second.caFile));
      const ca = new X509Certificate(caPem);
      assert.equal(ca.ca, true);
      const res = await httpsCall(second, 'GET', `${second.url.replace('127.0.0.1', 'localhost')}/${second.tenantId}/v2.0/.well-known/openid-configuration`);
      assert.equal(res.status, 200, 'the certificate is valid for localhost too');
      const peer = await new Promise<X509Certificate>((resolve, reject) => {
        const url = new URL(second.url);
        const sock = tls.connect({ host: url.hostname, port: Number(url.port), ca: caPem, servername: 'localhost' }, () => {
          const c = sock.getPeerX509Certificate();
          sock.end();
          if (c) resolve(c);
          else reject(new Error('no peer certificate'));
        });
        sock.on('error', reject);
      });
      assert.match(peer.subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
      assert.match(peer.subjectAltName ?? '', /IP Address:0:0:0:0:0:0:0:1|IP Address:::1/i);
      assert.match(peer.subjectAltName ?? '', /DNS:localhost/);
      assert.ok(peer.checkIssued(ca));
    } finally {
      await second.stop();
    }
  });

  it('saves the tenant at stop and loads it at start with persist: true', async function () {
    const first = await startCloudEmulator({ stateDir, persist: true, tenant: { mailboxProvisioningDelayMs: 0 } });
    const out = first.tenant.upsertSyncedUser(adUser('persisted', { mail: 'persisted@contoso.com' }));
    first.tenant.updateUser(out.entraId, { usageLocation: 'DE' });
    first.tenant.assignLicense(out.entraId, [{ skuId: EXCHANGESTANDARD }], []);
    const { tenantId, clientId, clientSecret } = first;
    await first.stop();
    assert.ok(existsSync(path.join(stateDir, 'tenant.db')));

    const second = await startCloudEmulator({ stateDir, persist: true });
    try {
      assert.equal(second.tenantId, tenantId);
      assert.equal(second.clientId, clientId);
      assert.equal(second.clientSecret, clientSecret);
      const exo = new ExoClient(second, credentialFor(second));
      const m = (await exo.run('Get-Mailbox', { Identity: 'persisted@contoso.com' })).values[0]!;
      assert.equal(m.RecipientTypeDetails, 'UserMailbox');
    } finally {
      await second.stop();
    }
  });

  it('applies knobs at start and at run time (licence units, latency)', async function () {
    const cloud = await startCloudEmulator({ stateDir, knobs: { licenceUnits: { EXCHANGESTANDARD: 3 }, latencyMs: 150 } });
    try {
      assert.equal(cloud.tenant.subscribedSkus().find((s) => s.skuPartNumber === 'EXCHANGESTANDARD')!.prepaidUnits, 3);
      const started = Date.now();
      await httpsCall(cloud, 'GET', `${cloud.url}/${cloud.tenantId}/v2.0/.well-known/openid-configuration`);
      assert.ok(Date.now() - started >= 140);
      cloud.setKnobs({ latencyMs: 0, licenceUnits: { EXCHANGESTANDARD: 7 } });
      assert.equal(cloud.tenant.subscribedSkus().find((s) => s.skuPartNumber === 'EXCHANGESTANDARD')!.prepaidUnits, 7);
    } finally {
      await cloud.stop();
    }
  });
});
