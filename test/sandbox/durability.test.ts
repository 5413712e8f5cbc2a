import { ClientSecretCredential } from '@azure/identity';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../src/paths';
import { ManualClock } from '../../src/sandbox/cloud/clock';
import { TenantStore } from '../../src/sandbox/cloud/durable';
import { sequentialGuids } from '../../src/sandbox/cloud/ids';
import { startCloudEmulator } from '../../src/sandbox/cloud/server';
import { Tenant } from '../../src/sandbox/cloud/tenant';
import { httpsRequest } from '../harness/sandbox';
import { adUser, EXCHANGESTANDARD, TEST_STATE_DIR } from './cloud-fixture';

/**
 * The emulator never forgets a write it has answered (src/sandbox/cloud/durable.ts): every commit holds the tenant
 * exactly as it is, and SIGKILL of the emulator's process with writes in flight loses none that was answered.
 */

const CHILD = path.join(projectRoot(), 'test/sandbox/fixtures/cloud-child.ts');

/** What a second store reading the same file loads: the tenant as the last commit left it. */
async function reloaded(dir: string): Promise<unknown> {
  const store = TenantStore.open(dir);
  try {
    return (await store.load())?.toJSON();
  } finally {
    store.close();
  }
}

describe('cloud emulator: durable state (tenant.db)', function () {
  let dir: string;

  beforeEach(function () {
    dir = mkdtempSync(path.join(os.tmpdir(), 'mailroom-durable-'));
  });
  afterEach(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  it('after every commit, the file holds the tenant exactly as it is (objects added, changed, removed, reordered)', async function () {
    const clock = new ManualClock();
    const tenant = new Tenant({ clock, ids: sequentialGuids(), mailboxProvisioningDelayMs: 60_000 });
    const store = TenantStore.open(dir);
    store.attach(tenant);
    const check = async (what: string): Promise<void> => {
      store.commit();
      assert.deepEqual(await reloaded(dir), tenant.toJSON(), `after ${what}`);
    };
    try {
      await check('the first commit');
      const users = ['ada', 'bob', 'cy', 'dee'].map((sam) => tenant.upsertSyncedUser(adUser(sam, { mail: `${sam}@contoso.com` })));
      await check('synced users');
      tenant.updateUser(users[0]!.entraId, { usageLocation: 'DE' });
      tenant.assignLicense(users[0]!.entraId, [{ skuId: EXCHANGESTANDARD }], []);
      await check('a licence (mailbox pending)');
      clock.advance(60_000);
      tenant.users(); // the mailbox falls due
      await check('the mailbox');
      const g = tenant.upsertSyncedGroup({ objectGuid: '6f9619ff-8b86-d011-b42d-00000000fe01', distinguishedName: 'CN=g,OU=Staff,DC=contoso,DC=com', samAccountName: 'g', displayName: 'G', mail: 'g@contoso.com', scope: 'universal', securityEnabled: false });
      tenant.createCloudMailbox({ name: 'Room 1', type: 'RoomMailbox' });
      tenant.upsertSyncedContact({ objectGuid: '6f9619ff-8b86-d011-b42d-00000000fe02', distinguishedName: 'CN=c,OU=Staff,DC=contoso,DC=com', displayName: 'C', mail: 'c@partner.example' });
      await check('a group, a room and a contact');
      tenant.removeSynced(users[1]!.immutableId);
      tenant.removeSynced(g.immutableId);
      await check('removals');
      tenant.addDomain('fabrikam.com');
      tenant.exchangeAttributesCloudManagedByDefault = true;
      await check('tenant settings');
      // an insertion in front: the stored order follows it
      const live = tenant.liveState() as unknown as { users: unknown[] };
      live.users.unshift(live.users.pop());
      await check('a user moved to the front');
      tenant.upsertSyncedUser(adUser('eve'));
      await check('a user added after the move');
      const idle = store.commit();
      assert.deepEqual([idle.written, idle.deleted], [0, 0], 'nothing changed: nothing written');
    } finally {
      store.close();
    }
  });

  it('is written only with persist: an ephemeral emulator keeps nothing', async function () {
    const cloud = await startCloudEmulator({ stateDir: TEST_STATE_DIR });
    try {
      assert.equal(cloud.durable, null);
    } finally {
      await cloud.stop();
    }
  });

  it('imports the tenant.json of a sandbox from before, once', async function () {
    const tenant = new Tenant({ ids: sequentialGuids() });
    tenant.upsertSyncedUser(adUser('legacy'));
    const { writeFileSync, existsSync } = await import('node:fs');
    writeFileSync(path.join(dir, 'tenant.json'), JSON.stringify(tenant.toJSON()));
    assert.deepEqual(await reloaded(dir), tenant.toJSON());
    assert.equal(existsSync(path.join(dir, 'tenant.json')), false);
    assert.equal(existsSync(path.join(dir, 'tenant.json.imported')), true);
    assert.deepEqual(await reloaded(dir), tenant.toJSON(), 'from tenant.db the second time');
  });

  it('SIGKILL of the emulator with writes in flight: every write it answered is there after the restart', async function () {
    this.timeout(120_000);
    const USERS = 200;
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, String(USERS)], { cwd: projectRoot(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      const deadline = Date.now() + 60_000;
      while (!/^READY /m.test(out)) {
        if (child.exitCode !== null || Date.now() > deadline) assert.fail(`the emulator did not start:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const ready = JSON.parse(/^READY (.*)$/m.exec(out)![1]!) as { url: string; graphUrl: string; tenantId: string; clientId: string; clientSecret: string; caFile: string; sku: string; ids: string[] };
      const caPem = readFileSync(ready.caFile, 'utf8');
      const credential = new ClientSecretCredential(ready.tenantId, ready.clientId, ready.clientSecret, { authorityHost: ready.url, disableInstanceDiscovery: true, tlsOptions: { ca: caPem } });
      const token = (await credential.getToken('https://graph.microsoft.com/.default')).token;
      const call = (method: string, p: string, body?: unknown) => httpsRequest(caPem, method, `${ready.graphUrl}${p}`, body, { authorization: `Bearer ${token}` });

      // 8 clients, each: usage location, then the licence, user after user; the kill comes after 120 answers
      const answered = { usageLocation: new Set<string>(), licence: new Set<string>() };
      let next = 0;
      let killed = false;
      let inFlightAtKill = 0;
      let inFlight = 0;
      const worker = async (): Promise<void> => {
        while (!killed && next < ready.ids.length) {
          const id = ready.ids[next++]!;
          try {
            inFlight++;
            const a = await call('PATCH', `/users/${id}`, { usageLocation: 'DE' }).finally(() => inFlight--);
            if (a.status !== 204) assert.fail(`PATCH answered ${a.status}: ${a.text}`);
            answered.usageLocation.add(id);
            inFlight++;
            const b = await call('POST', `/users/${id}/assignLicense`, { addLicenses: [{ skuId: ready.sku, disabledPlans: [] }], removeLicenses: [] }).finally(() => inFlight--);
            if (b.status !== 200) assert.fail(`assignLicense answered ${b.status}: ${b.text}`);
            answered.licence.add(id);
            if (!killed && answered.licence.size + answered.usageLocation.size >= 120) {
              killed = true;
              inFlightAtKill = inFlight;
              child.kill('SIGKILL');
            }
          } catch (err) {
            if (!killed) throw err;
            return; // the connection died with the emulator: not answered
          }
        }
      };
      await Promise.all(Array.from({ length: 8 }, worker));
      await exited;
      assert.ok(killed, 'the emulator was killed with writes in flight');
      console.log(`      killed with ${inFlightAtKill} requests in flight; ${answered.usageLocation.size} usage locations and ${answered.licence.size} licences answered`);

      const cloud = await startCloudEmulator({ stateDir: dir, persist: true });
      try {
        for (const id of answered.usageLocation) assert.equal(cloud.tenant.userById(id)?.usageLocation, 'DE', `usage location of ${id}`);
        for (const id of answered.licence) {
          const u = cloud.tenant.user(id)!;
          assert.deepEqual(
            u.directLicenses.map((l) => l.skuId),
            [EXCHANGESTANDARD],
            `licence of ${id}`,
          );
          assert.equal(cloud.tenant.recipientOf(id)?.recipientTypeDetails, 'UserMailbox', `mailbox of ${id}`);
        }
        assert.equal(cloud.tenant.users().length, USERS, 'every user once');
      } finally {
        await cloud.stop();
      }
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    }
  });

  it('measures the cost of durability per answered write', async function () {
    this.timeout(120_000);
    const rows: string[] = [];
    for (const n of [100, 1000]) {
      const costs: Record<string, number> = {};
      for (const persist of [false, true]) {
        const stateDir = mkdtempSync(path.join(os.tmpdir(), 'mailroom-durable-cost-'));
        const { cpSync } = await import('node:fs');
        cpSync(path.join(TEST_STATE_DIR, 'tls'), path.join(stateDir, 'tls'), { recursive: true }); // no openssl run
        const tenant = new Tenant({ ids: sequentialGuids(), mailboxProvisioningDelayMs: 0, skus: [{ skuPartNumber: 'EXCHANGESTANDARD', units: 100_000 }] });
        const ids = Array.from({ length: n }, (_, i) => tenant.upsertSyncedUser(adUser(`cost${i}`, { mail: `cost${i}@contoso.com` })).entraId);
        const cloud = await startCloudEmulator({ stateDir, tenant, persist });
        try {
          await cloud.saveState();
          const caPem = cloud.caPem;
          const credential = new ClientSecretCredential(cloud.tenantId, cloud.clientId, cloud.clientSecret, { authorityHost: cloud.url, disableInstanceDiscovery: true, tlsOptions: { ca: caPem } });
          const token = (await credential.getToken('https://graph.microsoft.com/.default')).token;
          const writes = 200;
          const t0 = performance.now();
          for (let i = 0; i < writes; i++) {
            const res = await httpsRequest(caPem, 'PATCH', `${cloud.graphUrl}/users/${ids[i % n]}`, { usageLocation: i % 2 ? 'DE' : 'FR' }, { authorization: `Bearer ${token}` });
            assert.equal(res.status, 204);
          }
          costs[persist ? 'durable' : 'memory'] = (performance.now() - t0) / writes;
          if (persist) costs.commit = cloud.durable!.totals.ms / cloud.durable!.totals.commits;
        } finally {
          await cloud.stop();
          rmSync(stateDir, { recursive: true, force: true });
        }
      }
      rows.push(`${n} users: ${costs.memory!.toFixed(2)} ms per PATCH in memory, ${costs.durable!.toFixed(2)} ms durable (commit ${costs.commit!.toFixed(2)} ms)`);
    }
    for (const r of rows) console.log(`      ${r}`);
  });
});
