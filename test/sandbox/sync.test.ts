import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Attribute, Change, Client } from 'ldapts';
import { projectRoot } from '../../src/paths';
import { cloudSyncJob, startSandbox, type Sandbox, type SandboxEndpoints } from '../../src/sandbox';
import { SANDBOX_PEOPLE } from '../../src/sandbox/people';
import { canConnect } from '../../src/sandbox/samba';
import {
  createSandboxOu,
  credentialFromEndpoints,
  exoCall,
  getSharedSandbox,
  graphCall,
  httpsRequest,
  openSandboxLdap,
  provisionOnDemand,
  onDemandAnswer,
  provisionOnDemandBody,
  resetProvisionOnDemandLimit,
  type HttpResult,
} from '../harness/sandbox';
import type { TestOu } from '../harness/samba';

interface GraphList<T> {
  value: T[];
  '@odata.count'?: number;
}
interface GraphUser {
  id: string;
  userPrincipalName: string;
  mail: string | null;
  accountEnabled: boolean;
  onPremisesImmutableId: string | null;
  onPremisesSamAccountName: string | null;
  onPremisesSyncEnabled: boolean | null;
  onPremisesDistinguishedName?: string | null;
}
interface GraphGroup {
  id: string;
  displayName: string;
  mail: string | null;
  securityEnabled: boolean;
  onPremisesSamAccountName: string | null;
}
interface OnDemandValue {
  statusInfo: { status: string; reason: string | null; errorCode: string | null };
  provisioningSteps: { name: string; status: string; description: string }[];
}

const replace = (type: string, values: string[]): Change => new Change({ operation: 'replace', modification: new Attribute({ type, values }) });
const del = (type: string, values: string[]): Change => new Change({ operation: 'delete', modification: new Attribute({ type, values }) });

async function usersBySam(sandbox: Sandbox, sam: string): Promise<GraphUser[]> {
  const filter = encodeURIComponent(`onPremisesSamAccountName eq '${sam.replace(/'/g, "''")}'`);
  const select = 'id,userPrincipalName,mail,accountEnabled,onPremisesImmutableId,onPremisesSamAccountName,onPremisesSyncEnabled,onPremisesDistinguishedName';
  const res = await graphCall<GraphList<GraphUser>>(sandbox, 'GET', `/users?$filter=${filter}&$count=true&$select=${select}`, undefined, { ConsistencyLevel: 'eventual' });
  assert.equal(res.status, 200, res.text);
  return res.json.value;
}

async function groupsBySam(sandbox: Sandbox, sam: string): Promise<GraphGroup[]> {
  const filter = encodeURIComponent(`onPremisesSamAccountName eq '${sam}'`);
  const res = await graphCall<GraphList<GraphGroup>>(sandbox, 'GET', `/groups?$filter=${filter}&$count=true`, undefined, { ConsistencyLevel: 'eventual' });
  assert.equal(res.status, 200, res.text);
  return res.json.value;
}

async function objectGuidB64(ldap: Client, dn: string): Promise<string> {
  const { searchEntries } = await ldap.search(dn, { scope: 'base', attributes: ['objectGUID'], explicitBufferAttributes: ['objectGUID'] });
  const raw = searchEntries[0]?.objectGUID;
  assert.ok(Buffer.isBuffer(raw), `${dn} has no objectGUID`);
  return raw.toString('base64');
}

/** The provisioning record of a 200 answer (`value`, JSON text); its statusInfo agrees with `key`'s result. */
function onDemandValue(res: HttpResult): OnDemandValue {
  assert.equal(res.status, 200, res.text);
  const { key, value } = onDemandAnswer(res);
  const record = value as OnDemandValue;
  assert.equal(record.statusInfo.status, key.result, 'key.result and statusInfo.status agree');
  return record;
}

describe('sandbox: sync engine (Samba AD → simulated tenant)', function () {
  let sandbox: Sandbox;
  let ou: TestOu;
  let ldap: Client;
  let uniq = 0;
  const sam = (prefix: string): string => `${prefix}${process.pid % 1000}x${++uniq}`;

  async function addUser(name: string, attrs: Record<string, string | string[]> = {}): Promise<string> {
    const dn = `CN=${name},${ou.dn}`;
    await ldap.add(dn, {
      objectClass: ['top', 'person', 'organizationalPerson', 'user'],
      sAMAccountName: name,
      userPrincipalName: `${name}@contoso.example`,
      userAccountControl: '512',
      ...attrs,
    });
    return dn;
  }

  before(async function () {
    this.timeout(15 * 60_000); // a fresh machine provisions the Samba template first
    sandbox = await getSharedSandbox();
    ou = await createSandboxOu(sandbox, 'sync');
    ldap = await openSandboxLdap(sandbox);
    const t = sandbox.timings;
    console.log(`    shared sandbox started in ${t.totalMs} ms (DC ${t.dcMs} ms, cloud ${t.cloudMs} ms, OUs/people ${t.provisionMs} ms, first sync ${t.firstCycleMs} ms)`);
  });

  after(async function () {
    await ldap?.unbind();
    await ou?.cleanup();
    if (sandbox) await sandbox.sync.runCycle(); // the tenant forgets this suite's objects
  });

  it('starts with a full import, then runs delta cycles only when asked (interval 0)', async function () {
    const first = sandbox.sync.history[0];
    assert.equal(first?.kind, 'full');
    assert.equal(sandbox.sync.intervalMs, 0);
    const before = sandbox.sync.history.length;
    const report = await sandbox.sync.runCycle();
    assert.equal(report.kind, 'delta');
    assert.equal(sandbox.sync.history.length, before + 1);
    assert.ok(report.usnTo !== null && report.usnFrom !== null && report.usnTo >= report.usnFrom);
  });

  it('exports a user created in AD to Graph after runCycle(), with its objectGUID as immutable id', async function () {
    const name = sam('new');
    const dn = await addUser(name, { mail: `${name}@contoso.example`, givenName: 'New', sn: 'Person', displayName: 'New Person' });
    const disabled = sam('off');
    await addUser(disabled, { userAccountControl: '514' });
    assert.deepEqual(await usersBySam(sandbox, name), [], 'nothing is synced before a cycle');

    const report = await sandbox.sync.runCycle();
    assert.equal(report.kind, 'delta');
    assert.equal(report.counts.added, 2);
    assert.ok(report.changes.some((c) => c.action === 'added' && c.kind === 'user' && c.dn === dn));

    const [user] = await usersBySam(sandbox, name);
    assert.ok(user, 'the user is in Graph');
    assert.equal(user.userPrincipalName, `${name}@contoso.example`);
    assert.equal(user.mail, `${name}@contoso.example`);
    assert.equal(user.accountEnabled, true);
    assert.equal(user.onPremisesSyncEnabled, true);
    assert.equal(user.onPremisesImmutableId, await objectGuidB64(ldap, dn));
    const [off] = await usersBySam(sandbox, disabled);
    assert.equal(off?.accountEnabled, false, 'userAccountControl bit 2 → accountEnabled false');

    const again = await sandbox.sync.runCycle();
    assert.equal(again.counts.added + again.counts.updated, 0, 'nothing changed in AD, nothing is exported');
  });

  it('picks up a change of mail in the next delta cycle, and only that object', async function () {
    const name = sam('mail');
    const dn = await addUser(name, { mail: `${name}.old@contoso.example` });
    await sandbox.sync.runCycle();
    assert.equal((await usersBySam(sandbox, name))[0]?.mail, `${name}.old@contoso.example`);

    await ldap.modify(dn, [replace('mail', [`${name}.new@contoso.example`])]);
    const report = await sandbox.sync.runCycle();
    assert.equal(report.kind, 'delta');
    assert.deepEqual(
      report.changes.map((c) => [c.action, c.dn]),
      [['updated', dn]],
    );
    assert.equal((await usersBySam(sandbox, name))[0]?.mail, `${name}.new@contoso.example`);
  });

  it('removes a user deleted in AD (tombstone found with the Show Deleted control)', async function () {
    const name = sam('gone');
    const dn = await addUser(name);
    await sandbox.sync.runCycle();
    const [user] = await usersBySam(sandbox, name);
    assert.ok(user);

    await ldap.del(dn);
    const report = await sandbox.sync.runCycle();
    assert.equal(report.kind, 'delta');
    assert.ok(report.changes.some((c) => c.action === 'removed' && c.immutableId === user.onPremisesImmutableId));
    assert.deepEqual(await usersBySam(sandbox, name), []);
    assert.equal((await graphCall(sandbox, 'GET', `/users/${user.id}`)).status, 404);
  });

  it('exports a group with its members (members resolved by objectGUID, system objects left out)', async function () {
    const a = sam('gma');
    const b = sam('gmb');
    const aDn = await addUser(a);
    const bDn = await addUser(b);
    const g = sam('grp');
    const gDn = `CN=${g},${ou.dn}`;
    await ldap.add(gDn, {
      objectClass: ['top', 'group'],
      sAMAccountName: g,
      groupType: String(0x8 | 0x80000000), // universal security
      mail: `${g}@contoso.example`,
      member: [aDn, bDn, `CN=Administrator,CN=Users,${sandbox.dc.baseDn}`],
    });
    const report = await sandbox.sync.runCycle();
    assert.equal(report.counts.added, 3);

    const [group] = await groupsBySam(sandbox, g);
    assert.ok(group, 'the group is in Graph');
    assert.equal(group.securityEnabled, true);
    assert.equal(group.mail, `${g}@contoso.example`);
    const members = async (): Promise<string[]> => {
      const res = await graphCall<GraphList<{ userPrincipalName?: string }>>(sandbox, 'GET', `/groups/${group.id}/members`);
      assert.equal(res.status, 200, res.text);
      return res.json.value.map((m) => m.userPrincipalName ?? '?').sort();
    };
    assert.deepEqual(await members(), [`${a}@contoso.example`, `${b}@contoso.example`].sort(), 'Administrator (a critical system object) is not synced');

    const exo = await exoCall<{ value: { RecipientTypeDetails: string; GroupType: string }[] }>(sandbox, 'Get-DistributionGroup', { Identity: `${g}@contoso.example` });
    assert.equal(exo.status, 200, exo.text);
    assert.equal(exo.json.value[0]?.RecipientTypeDetails, 'MailUniversalSecurityGroup');

    await ldap.modify(gDn, [del('member', [bDn])]);
    await sandbox.sync.runCycle();
    assert.deepEqual(await members(), [`${a}@contoso.example`]);
  });

  it('exports contacts, records an address conflict without stopping the cycle, and retries it every cycle', async function () {
    const c1 = sam('ct');
    const c2 = sam('ct');
    const shared = `${c1}@partner.example`;
    const c1Dn = `CN=${c1},${ou.dn}`;
    const c2Dn = `CN=${c2},${ou.dn}`;
    await ldap.add(c1Dn, { objectClass: ['top', 'person', 'organizationalPerson', 'contact'], mail: shared, displayName: c1 });
    const report1 = await sandbox.sync.runCycle();
    assert.equal(report1.counts.added, 1);
    await ldap.add(c2Dn, { objectClass: ['top', 'person', 'organizationalPerson', 'contact'], mail: shared, displayName: c2 });
    const bystander = sam('by');
    const byDn = await addUser(bystander);

    const report = await sandbox.sync.runCycle();
    assert.equal(report.error, null);
    assert.equal(report.conflicts.length, 1, JSON.stringify(report.conflicts));
    assert.equal(report.conflicts[0]?.dn, c2Dn);
    assert.match(report.conflicts[0]?.message ?? '', /AttributeValueMustBeUnique/);
    assert.ok(report.changes.some((c) => c.dn === byDn && c.action === 'added'), 'the cycle went on after the conflict');
    assert.equal((await usersBySam(sandbox, bystander)).length, 1);

    const retried = await sandbox.sync.runCycle();
    assert.equal(retried.conflicts[0]?.dn, c2Dn, 'the failed export is retried without any AD change');

    await ldap.modify(c2Dn, [replace('mail', [`${c2}@partner.example`])]);
    const fixed = await sandbox.sync.runCycle();
    assert.equal(fixed.conflicts.length, 0);
    const exo = await exoCall<{ value: { PrimarySmtpAddress: string }[] }>(sandbox, 'Get-MailContact', { Identity: `${c2}@partner.example` });
    assert.equal(exo.status, 200, exo.text);
  });

  it('with exchangeLagMs, Exchange Online sees a synced contact, and a change of its mail, that much after Entra ID (Exchange gets directory changes by its own sync)', async function () {
    const c = sam('lagc');
    const dn = `CN=${c},${ou.dn}`;
    sandbox.sync.exchangeLagMs = 60_000;
    try {
      await ldap.add(dn, { objectClass: ['top', 'person', 'organizationalPerson', 'contact'], mail: `${c}@partner.example`, displayName: c });
      await sandbox.sync.runCycle();
      const contacts = await graphCall<GraphList<{ mail: string }>>(sandbox, 'GET', `/contacts?$filter=${encodeURIComponent(`mail eq '${c}@partner.example'`)}`);
      assert.equal(contacts.json.value.length, 1, 'Entra ID has the contact at once');
      assert.equal((await exoCall(sandbox, 'Get-MailContact', { Identity: `${c}@partner.example` })).status, 404, 'Exchange Online not yet');
      sandbox.clock.advance(60_000);
      assert.equal((await exoCall(sandbox, 'Get-MailContact', { Identity: `${c}@partner.example` })).status, 200);

      await ldap.modify(dn, [replace('mail', [`${c}.new@partner.example`])]);
      await sandbox.sync.runCycle();
      const stale = await exoCall<{ value: { PrimarySmtpAddress: string }[] }>(sandbox, 'Get-MailContact', { Identity: `${c}@partner.example` });
      assert.equal(stale.json.value[0]?.PrimarySmtpAddress, `${c}@partner.example`, 'Exchange shows the old address for the lag');
      sandbox.clock.advance(60_000);
      const fresh = await exoCall<{ value: { PrimarySmtpAddress: string }[] }>(sandbox, 'Get-MailContact', { Identity: `${c}.new@partner.example` });
      assert.equal(fresh.json.value[0]?.PrimarySmtpAddress, `${c}.new@partner.example`);
    } finally {
      sandbox.sync.exchangeLagMs = 0;
    }
  });

  it('never exports system or service accounts, nor computers', async function () {
    assert.deepEqual(await usersBySam(sandbox, 'Administrator'), []);
    assert.deepEqual(await usersBySam(sandbox, 'krbtgt'), []);
    const svc = `MSOL_${(process.pid % 1000).toString(16)}${++uniq}`;
    await addUser(svc);
    const pc = sam('pc');
    await ldap.add(`CN=${pc},${ou.dn}`, { objectClass: ['top', 'person', 'organizationalPerson', 'user', 'computer'], sAMAccountName: `${pc}$`, userAccountControl: '4096' });
    const report = await sandbox.sync.runCycle();
    assert.equal(report.counts.added, 0, JSON.stringify(report.changes));
    assert.deepEqual(await usersBySam(sandbox, svc), []);
    assert.deepEqual(await usersBySam(sandbox, `${pc}$`), []);
  });

  it('removes an object from the tenant when it leaves sync scope', async function () {
    const name = sam('scope');
    const dn = await addUser(name);
    await sandbox.sync.runCycle();
    assert.equal((await usersBySam(sandbox, name)).length, 1);
    await ldap.modify(dn, [replace('sAMAccountName', [`MSOL_${name}`])]);
    const report = await sandbox.sync.runCycle();
    assert.ok(report.changes.some((c) => c.action === 'removed' && c.dn === dn && c.notes.some((n) => /out of sync scope/.test(n))), JSON.stringify(report.changes));
    assert.deepEqual(await usersBySam(sandbox, name), []);
    assert.deepEqual(await usersBySam(sandbox, `MSOL_${name}`), []);
  });

  it('reads IsExchangeCloudManaged back: set to False again, AD\'s Exchange attributes are re-applied', async function () {
    const name = sam('icm');
    const dn = await addUser(name, { mail: `${name}@contoso.example`, mailNickname: name });
    await sandbox.sync.runCycle();
    const [user] = await usersBySam(sandbox, name);
    assert.ok(user);
    assert.equal((await graphCall(sandbox, 'PATCH', `/users/${user.id}`, { usageLocation: 'DE' })).status, 204);
    const lic = await graphCall(sandbox, 'POST', `/users/${user.id}/assignLicense`, { addLicenses: [{ skuId: sandbox.endpoints.skus.exchangeOnline, disabledPlans: [] }], removeLicenses: [] });
    assert.equal(lic.status, 200, lic.text);
    const addresses = async (): Promise<string[]> => {
      const res = await exoCall<{ value: { EmailAddresses: string[] }[] }>(sandbox, 'Get-Mailbox', { Identity: `${name}@contoso.example` });
      assert.equal(res.status, 200, res.text);
      return res.json.value[0]?.EmailAddresses ?? [];
    };
    assert.ok((await addresses()).includes(`SMTP:${name}@contoso.example`), 'the licence made a mailbox (delay 0)');

    const set = async (on: boolean): Promise<void> => {
      const res = await exoCall(sandbox, 'Set-Mailbox', { Identity: `${name}@contoso.example`, IsExchangeCloudManaged: on });
      assert.equal(res.status, 200, res.text);
    };
    await set(true);
    await sandbox.sync.runCycle(); // sync reads the flag back
    const extra = `smtp:${name}.extra@contoso.example`;
    await ldap.modify(dn, [replace('proxyAddresses', [`SMTP:${name}@contoso.example`, extra])]);
    const ignored = await sandbox.sync.runCycle();
    assert.ok(ignored.changes.some((c) => c.dn === dn && c.notes.some((n) => /IsExchangeCloudManaged/.test(n))), JSON.stringify(ignored.changes));
    assert.ok(!(await addresses()).includes(extra), 'a cloud-managed mailbox ignores AD proxyAddresses');

    await set(false);
    const reapplied = await sandbox.sync.runCycle(); // no AD change: the read-back alone re-exports the user
    assert.ok(reapplied.changes.some((c) => c.dn === dn && c.action === 'updated'), JSON.stringify(reapplied.changes));
    assert.ok((await addresses()).includes(extra), 'AD proxyAddresses are applied again');
  });

  it('a full cycle removes synced objects that AD does not have', async function () {
    const ghost = sandbox.tenant.upsertSyncedUser({
      objectGuid: '0badc0de-0000-4000-8000-000000000001',
      distinguishedName: `CN=ghost,${ou.dn}`,
      samAccountName: 'ghost-not-in-ad',
      userPrincipalName: 'ghost-not-in-ad@contoso.example',
      accountEnabled: true,
    });
    assert.equal((await graphCall(sandbox, 'GET', `/users/${ghost.entraId}`)).status, 200);
    const delta = await sandbox.sync.runCycle();
    assert.equal(delta.counts.removed, 0, 'a delta cycle only looks at AD changes');
    const full = await sandbox.sync.runCycle({ full: true });
    assert.equal(full.kind, 'full');
    assert.ok(full.changes.some((c) => c.action === 'removed' && c.immutableId === ghost.immutableId));
    assert.equal((await graphCall(sandbox, 'GET', `/users/${ghost.entraId}`)).status, 404);
    assert.equal(full.counts.added, 0, 'the full import re-exports nothing that did not change');
  });

  it('runs cycles one after another; requests made while one waits share it', async function () {
    const name = sam('cc');
    await addUser(name);
    const a = sandbox.sync.runCycle();
    const a2 = sandbox.sync.runCycle(); // a has not started yet: shared
    await new Promise((resolve) => setImmediate(resolve)); // a is running now
    const b = sandbox.sync.runCycle();
    const c = sandbox.sync.runCycle({ full: true }); // upgrades the waiting cycle to a full one
    const [ra, ra2, rb, rc] = await Promise.all([a, a2, b, c]);
    assert.equal(ra.id, ra2.id);
    assert.equal(rb.id, rc.id);
    assert.notEqual(ra.id, rb.id);
    assert.equal(rb.kind, 'full');
    assert.ok(ra.finishedAt <= rb.startedAt, 'cycles do not overlap');
    assert.equal(ra.counts.added + rb.counts.added, 1);
  });

  it('keeps its LDAPS connection between cycles that follow closely, and opens a new one when the DC closed it', async function () {
    await sandbox.sync.runCycle();
    const name = sam('kc');
    const dn = await addUser(name);
    const kept = await sandbox.sync.runCycle();
    assert.equal(kept.connection, 'kept', 'a TLS handshake and a bind per cycle cost the DC more than the delta itself');
    assert.ok(kept.changes.some((c) => c.dn === dn && c.action === 'added'), 'the kept connection reads the new user');
    // the DC closes the connection (idle timeout, restart): the next cycle does not fail, it connects again
    const held = (sandbox.sync as unknown as { kept?: { session: { close(): Promise<void> } } }).kept;
    assert.ok(held, 'a connection is kept after a cycle');
    await held.session.close();
    await ldap.modify(dn, new Change({ operation: 'replace', modification: new Attribute({ type: 'displayName', values: ['After Reconnect'] }) }));
    const again = await sandbox.sync.runCycle();
    assert.equal(again.error, null);
    assert.equal(again.connection, 'opened');
    assert.ok(again.changes.some((c) => c.dn === dn && c.action === 'updated'), 'the new connection reads the change');
  });

  describe('Cloud Sync: provisionOnDemand through Graph', function () {
    before(function () {
      resetProvisionOnDemandLimit(sandbox);
    });

    after(function () {
      resetProvisionOnDemandLimit(sandbox);
    });

    it('syncs exactly the one object named, at once', async function () {
      const one = sam('pod');
      const other = sam('pod');
      const oneDn = await addUser(one, { mail: `${one}@contoso.example` });
      await addUser(other);
      const cyclesBefore = sandbox.sync.history.filter((r) => r.kind !== 'on-demand').length;

      const value = onDemandValue(await provisionOnDemand(sandbox, oneDn, 'user'));
      assert.equal(value.statusInfo.status, 'Success', JSON.stringify(value));
      assert.deepEqual(
        value.provisioningSteps.map((s) => s.name),
        ['EntryImport', 'EntryScoping', 'EntryMatching', 'EntrySynchronization', 'EntryExport'],
      );
      assert.equal(sandbox.sync.history.filter((r) => r.kind !== 'on-demand').length, cyclesBefore, 'no cycle ran');
      assert.equal((await usersBySam(sandbox, one)).length, 1, 'the named user is in Graph');
      assert.deepEqual(await usersBySam(sandbox, other), [], 'the other new user is not');

      const cycle = await sandbox.sync.runCycle();
      assert.ok(cycle.changes.every((c) => c.dn !== oneDn), 'the next cycle finds the on-demand object up to date');
      assert.equal((await usersBySam(sandbox, other)).length, 1);
    });

    it('reports an unknown DN, an out-of-scope object and another job as failures in a 200 answer', async function () {
      const missing = onDemandValue(await provisionOnDemand(sandbox, `CN=nobody-here,${ou.dn}`));
      assert.equal(missing.statusInfo.status, 'Failure');
      assert.equal(missing.statusInfo.errorCode, 'ObjectNotFound');

      const admin = onDemandValue(await provisionOnDemand(sandbox, `CN=Administrator,CN=Users,${sandbox.dc.baseDn}`));
      assert.equal(admin.statusInfo.status, 'Skipped');
      assert.match(admin.statusInfo.reason ?? '', /isCriticalSystemObject/);

      // A job the service principal does not have: 404, as GET …/jobs/{jobId} answers it.
      const { servicePrincipalId } = sandbox.endpoints.sync;
      const wrongJob = await graphCall<{ error: { code: string } }>(
        sandbox,
        'POST',
        `/servicePrincipals/${servicePrincipalId ?? ''}/synchronization/jobs/AD2AADProvisioning.other/provisionOnDemand`,
        provisionOnDemandBody(`CN=x,${ou.dn}`),
      );
      assert.equal(wrongJob.status, 404, wrongJob.text);
      assert.equal(wrongJob.json.error.code, 'Request_ResourceNotFound');
    });

    it('answers 429 with Retry-After after 5 calls in 10 s', async function () {
      resetProvisionOnDemandLimit(sandbox);
      const name = sam('rl');
      const dn = await addUser(name);
      for (let i = 0; i < 5; i++) {
        const res = await provisionOnDemand(sandbox, dn);
        assert.equal(res.status, 200, `call ${i + 1}: ${res.text}`);
      }
      const limited = await provisionOnDemand(sandbox, dn);
      assert.equal(limited.status, 429, limited.text);
      assert.equal((limited.json as { error: { code: string } }).error.code, 'TooManyRequests');
      const retryAfter = Number(limited.headers['retry-after']);
      assert.ok(retryAfter >= 1 && retryAfter <= 10, `Retry-After ${String(limited.headers['retry-after'])}`);

      sandbox.clock.advance(10_001); // the window is on the tenant's clock: no sleeping
      assert.equal((await provisionOnDemand(sandbox, dn)).status, 200);
    });
  });

  describe('endpoints.json', function () {
    let endpoints: SandboxEndpoints;

    before(async function () {
      endpoints = JSON.parse(await readFile(sandbox.endpointsFile, 'utf8')) as SandboxEndpoints;
    });

    it('has exactly the documented keys, mode 600, and matches the sandbox', async function () {
      const keys = (o: object): string[] => Object.keys(o).sort();
      assert.deepEqual(keys(endpoints), ['authorityHost', 'caFile', 'clientId', 'clientSecret', 'exoUrl', 'graphUrl', 'ldap', 'people', 'skus', 'sync', 'teams', 'tenantDomain', 'tenantId']);
      assert.deepEqual(keys(endpoints.ldap), ['baseDn', 'bindDn', 'caFile', 'password', 'url']);
      assert.deepEqual(keys(endpoints.teams), ['appCatalogId', 'botId', 'manifestId']);
      assert.deepEqual(keys(endpoints.sync), ['jobId', 'mode', 'servicePrincipalId']);
      assert.deepEqual(keys(endpoints.skus), ['exchangeOnline']);
      assert.deepEqual(keys(endpoints.people), ['admin', 'approver', 'requester']);
      for (const p of Object.values(endpoints.people)) assert.deepEqual(keys(p), ['aadObjectId', 'name', 'upn']);
      assert.equal((await stat(sandbox.endpointsFile)).mode & 0o777, 0o600);
      assert.deepEqual(endpoints, sandbox.endpoints);
      assert.equal(endpoints.tenantId, 'c0ffee00-0000-4000-8000-000000000001');
      assert.match(endpoints.graphUrl, /^https:\/\/127\.0\.0\.1:\d+\/v1\.0$/);
      assert.equal(endpoints.exoUrl, `${endpoints.authorityHost}/adminapi/beta/${endpoints.tenantId}/InvokeCommand`);
      assert.match(endpoints.ldap.url, /^ldaps:\/\/127\.\d+\.\d+\.\d+:636$/);
      assert.equal(endpoints.sync.mode, 'cloud');
      assert.deepEqual({ servicePrincipalId: endpoints.sync.servicePrincipalId, jobId: endpoints.sync.jobId }, cloudSyncJob(endpoints.tenantId));
    });

    it('works: a ClientSecretCredential from its values gets tokens, Graph knows the people and the SKU', async function () {
      const credential = credentialFromEndpoints(endpoints);
      const graphToken = await credential.getToken('https://graph.microsoft.com/.default');
      assert.ok(graphToken.token.split('.').length === 3);
      const exoToken = await credential.getToken('https://outlook.office365.com/.default');
      assert.ok(exoToken.token);
      const ca = await readFile(endpoints.caFile, 'utf8');
      for (const [role, p] of Object.entries(endpoints.people)) {
        const res = await httpsRequest<{ id: string; userPrincipalName: string; displayName: string }>(ca, 'GET', `${endpoints.graphUrl}/users/${p.aadObjectId}`, undefined, {
          authorization: `Bearer ${graphToken.token}`,
        });
        assert.equal(res.status, 200, `${role}: ${res.text}`);
        assert.equal(res.json.id, p.aadObjectId);
        assert.equal(res.json.userPrincipalName, p.upn);
        assert.equal(SANDBOX_PEOPLE[role as keyof typeof SANDBOX_PEOPLE].aadObjectId, p.aadObjectId);
      }
      const skus = await httpsRequest<GraphList<{ skuId: string; skuPartNumber: string }>>(ca, 'GET', `${endpoints.graphUrl}/subscribedSkus`, undefined, {
        authorization: `Bearer ${graphToken.token}`,
      });
      assert.equal(skus.json.value.find((s) => s.skuId === endpoints.skus.exchangeOnline)?.skuPartNumber, 'EXCHANGESTANDARD');
      const domains = await httpsRequest<{ value: { Name?: string; DomainName?: string }[] }>(
        ca,
        'POST',
        endpoints.exoUrl,
        { CmdletInput: { CmdletName: 'Get-AcceptedDomain', Parameters: {} } },
        { authorization: `Bearer ${exoToken.token}` },
      );
      assert.equal(domains.status, 200, domains.text);
      assert.ok(JSON.stringify(domains.json).includes('contoso.example'), 'the mail domain is an accepted domain');
    });

    it('works: an ldapts client bound with its ldap values reads the Mailroom OUs', async function () {
      const client = new Client({
        url: endpoints.ldap.url,
        tlsOptions: { ca: await readFile(endpoints.ldap.caFile, 'utf8') },
        connectTimeout: 5_000,
        timeout: 15_000,
      });
      try {
        await client.bind(endpoints.ldap.bindDn, endpoints.ldap.password);
        const { searchEntries } = await client.search(`OU=Mailroom,${endpoints.ldap.baseDn}`, { scope: 'one', filter: '(objectClass=organizationalUnit)', attributes: ['ou'] });
        assert.deepEqual(searchEntries.map((e) => String(e.ou)).sort(), ['Contacts', 'Groups', 'Resources', 'Shared', 'Users']);
      } finally {
        await client.unbind();
      }
    });
  });
});

describe('sandbox: Entra Connect Sync mode, timer and restart', function () {
  this.timeout(120_000);

  it('has no provisionOnDemand (404), syncs on its own timer, and stops cleanly', async function () {
    const sandbox = await startSandbox({ rootDir: projectRoot(), ephemeral: true, knobs: { syncMode: 'connect', syncIntervalMs: 150, mailboxDelayMs: 0 } });
    let stopped = false;
    try {
      assert.deepEqual(sandbox.endpoints.sync, { mode: 'connect', servicePrincipalId: null, jobId: null });
      const job = cloudSyncJob(sandbox.endpoints.tenantId);
      const pod = await graphCall<{ error: { code: string } }>(
        sandbox,
        'POST',
        `/servicePrincipals/${job.servicePrincipalId}/synchronization/jobs/${job.jobId}/provisionOnDemand`,
        provisionOnDemandBody(`CN=Administrator,CN=Users,${sandbox.dc.baseDn}`),
      );
      assert.equal(pod.status, 404, pod.text);
      assert.equal(pod.json.error.code, 'Request_ResourceNotFound');

      const ldap = await openSandboxLdap(sandbox);
      const name = `tick${process.pid % 1000}`;
      try {
        await ldap.add(`CN=${name},${sandbox.ous.users}`, {
          objectClass: ['top', 'person', 'organizationalPerson', 'user'],
          sAMAccountName: name,
          userPrincipalName: `${name}@contoso.example`,
        });
      } finally {
        await ldap.unbind();
      }
      const deadline = Date.now() + 10_000;
      let found = 0;
      while (Date.now() < deadline && found === 0) {
        found = (await usersBySam(sandbox, name)).length;
        if (found === 0) await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(found, 1, 'the timer-driven cycle exported the user');
      assert.ok(sandbox.sync.history.some((r) => r.trigger === 'timer'));

      const { endpointsFile, dc } = sandbox;
      await sandbox.stop();
      stopped = true;
      assert.equal(existsSync(endpointsFile), false, 'endpoints.json is removed');
      assert.equal(existsSync(sandbox.stateDir), false, 'an ephemeral sandbox leaves nothing behind');
      assert.equal(await canConnect(dc.address, 636), false, 'the DC is stopped');
    } finally {
      if (!stopped) await sandbox.stop();
    }
  });

  it('restarts with its data: AD, tenant, people and client secret survive; start-up is fast', async function () {
    this.timeout(300_000);
    const stateDir = await mkdtemp(path.join(os.tmpdir(), 'mailroom-sandbox-restart-'));
    try {
      const first = await startSandbox({ rootDir: projectRoot(), stateDir, knobs: { syncIntervalMs: 0, mailboxDelayMs: 0 } });
      const name = `keep${process.pid % 1000}`;
      let secret: string;
      try {
        const ldap = await openSandboxLdap(first);
        try {
          await ldap.add(`CN=${name},${first.ous.users}`, {
            objectClass: ['top', 'person', 'organizationalPerson', 'user'],
            sAMAccountName: name,
            userPrincipalName: `${name}@contoso.example`,
          });
        } finally {
          await ldap.unbind();
        }
        await first.sync.runCycle();
        assert.equal((await usersBySam(first, name)).length, 1);
        secret = first.endpoints.clientSecret;
        await assert.rejects(startSandbox({ rootDir: projectRoot(), stateDir }), /another sandbox \(process \d+\) is using/);
        console.log(`      first start ${first.timings.totalMs} ms (DC ${first.timings.dcMs} ms, cloud ${first.timings.cloudMs} ms)`);
      } finally {
        await first.stop();
      }
      assert.equal(existsSync(path.join(stateDir, 'endpoints.json')), false);
      assert.ok(existsSync(path.join(stateDir, 'cloud', 'tenant.db')), 'the tenant is saved');

      const second = await startSandbox({ rootDir: projectRoot(), stateDir, knobs: { syncIntervalMs: 0, mailboxDelayMs: 0 } });
      try {
        console.log(`      restart ${second.timings.totalMs} ms (DC ${second.timings.dcMs} ms, cloud ${second.timings.cloudMs} ms)`);
        assert.equal(second.timings.firstStart, false);
        assert.ok(second.timings.totalMs < 5_000, `restart took ${second.timings.totalMs} ms`);
        assert.equal(second.endpoints.clientSecret, secret);
        assert.equal(second.sync.history[0]?.counts.removed, 0, 'the restart import keeps what AD still has');
        assert.equal((await usersBySam(second, name)).length, 1);
        assert.equal((await graphCall(second, 'GET', `/users/${SANDBOX_PEOPLE.admin.aadObjectId}`)).status, 200);
      } finally {
        await second.stop();
      }
    } finally {
      await rm(stateDir, { recursive: true, force: true });
    }
  });

  it('takes over the state folder of a sandbox process killed with SIGKILL (its samba is stopped)', async function () {
    this.timeout(300_000);
    const stateDir = await mkdtemp(path.join(os.tmpdir(), 'mailroom-sandbox-killed-'));
    const script = path.join(stateDir, 'start-sandbox.ts');
    await writeFile(
      script,
      `import { startSandbox } from ${JSON.stringify(path.join(projectRoot(), 'src', 'sandbox'))};\n` +
        `startSandbox({ rootDir: ${JSON.stringify(projectRoot())}, stateDir: ${JSON.stringify(stateDir)}, knobs: { syncIntervalMs: 0 } })` +
        `.then(() => process.stdout.write('READY\\n'), (e) => { console.error(e); process.exit(1); });\n`,
    );
    const child = spawn(process.execPath, ['-r', 'tsx/cjs', script], { cwd: projectRoot(), stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('READY')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`the sandbox process exited with ${String(code)} before it was ready`)));
      });
      const sambaPid = Number((await readFile(path.join(stateDir, 'dc', 'run', 'samba.pid'), 'utf8')).trim());
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
      assert.ok(existsSync(path.join(stateDir, 'endpoints.json')), 'a killed sandbox leaves endpoints.json behind');

      const again = await startSandbox({ rootDir: projectRoot(), stateDir, knobs: { syncIntervalMs: 0 } });
      try {
        assert.equal(again.timings.firstStart, false);
        assert.notEqual(again.dc.pid, sambaPid, 'the orphaned samba was replaced');
        assert.equal((await graphCall(again, 'GET', `/users/${SANDBOX_PEOPLE.requester.aadObjectId}`)).status, 200);
      } finally {
        await again.stop();
      }
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});
