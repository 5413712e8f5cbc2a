/**
 * Conformance: Entra Connect Sync mode (hybrid-behaviour.md § Vocabulary "Sync – Entra Connect Sync or Entra
 * Cloud Sync", cloud-apis.md "Connect Sync has no remote trigger"). Its own sandbox in `connect` mode, cycles
 * only when asked (interval 0): nothing reaches the tenant until a cycle runs, and the hybrid rules are the same
 * as under Cloud Sync.
 */
import assert from 'node:assert/strict';
import { projectRoot } from '../../../src/paths';
import { cloudSyncJob, startSandbox, type Sandbox } from '../../../src/sandbox';
import { CONFORMANCE_KNOBS, ConformanceSuite, replace, type ExoGroup, type ExoRecipientRow, type GraphError } from '../../harness/conformance';
import { provisionOnDemandBody } from '../../harness/sandbox';

describe('conformance: Entra Connect Sync mode', function () {
  let sandbox: Sandbox;
  let s: ConformanceSuite;

  before(async function () {
    this.timeout(15 * 60_000);
    sandbox = await startSandbox({
      rootDir: projectRoot(),
      ephemeral: true,
      knobs: { ...CONFORMANCE_KNOBS, syncMode: 'connect' },
    });
    s = await ConformanceSuite.open(sandbox, 'connect-sync');
  });

  after(async function () {
    await s?.close();
    await sandbox?.stop();
  });

  it('"Connect Sync has no remote trigger": endpoints.json names no Cloud Sync job, and Graph provisionOnDemand answers 404 Request_ResourceNotFound', async function () {
    assert.equal(sandbox.endpoints.sync.mode, 'connect');
    assert.equal(sandbox.endpoints.sync.servicePrincipalId, null);
    assert.equal(sandbox.endpoints.sync.jobId, null);

    const name = s.name('CsPod');
    const dn = await s.addUser(name, { mail: s.upn(name) });
    const { servicePrincipalId, jobId } = cloudSyncJob(sandbox.endpoints.tenantId); // where a Cloud Sync job would be
    const res = await s.graph<GraphError>('POST', `/servicePrincipals/${servicePrincipalId}/synchronization/jobs/${encodeURIComponent(jobId)}/provisionOnDemand`, provisionOnDemandBody(dn));
    assert.equal(res.status, 404, res.text);
    assert.equal(res.json.error.code, 'Request_ResourceNotFound');
    assert.equal(await s.graphUser(s.upn(name)), null, 'the object was not synced');
  });

  it('objects and changes appear in Entra ID and EXO only after a sync cycle', async function () {
    const name = s.name('CsCycle');
    const upn = s.upn(name);
    const dn = await s.addUser(name, { mail: upn });
    assert.equal(await s.graphUser(upn), null, 'not before a cycle');
    await s.sync();
    assert.equal((await s.mustGraphUser(upn)).mail, upn, 'there after the cycle');

    await s.licence(upn);
    const moved = `${name}.moved@contoso.example`;
    await s.modify(dn, replace('mail', [moved]));
    assert.equal((await s.mailbox(upn)).PrimarySmtpAddress, upn, 'an AD change waits for the next cycle');
    await s.sync();
    const mb = await s.mailbox(upn);
    assert.equal(mb.PrimarySmtpAddress, moved);
    assert.ok(mb.EmailAddresses.includes(`smtp:${upn}`), 'the old primary stays as secondary, as under Cloud Sync');
  });

  it('the tables hold under Connect Sync too: mail + licence → mailbox with primary = mail; mail + mailNickname + targetAddress → MailUser; contact with mail → MailContact; group with mail → Universal', async function () {
    const mbx = s.name('CsMbx');
    await s.addUser(mbx, { mail: `${mbx}.mail@contoso.example` });
    const mu = s.name('CsMu');
    await s.addUser(mu, { mail: `${mu}@partner.example`, mailNickname: mu, targetAddress: `SMTP:${mu}@partner.example` });
    const ct = s.name('CsCt');
    await s.addContact(ct, { mail: `${ct}@partner.example` });
    const gr = s.name('CsGr');
    await s.addGroup(gr, { scope: 'global', security: false, mail: `${gr}@contoso.example` });
    await s.sync();

    await s.licence(s.upn(mbx));
    assert.equal((await s.mailbox(s.upn(mbx))).PrimarySmtpAddress, `${mbx}.mail@contoso.example`);
    assert.equal((await s.exoGet<ExoRecipientRow>('Get-Recipient', `${mu}@partner.example`))?.RecipientTypeDetails, 'MailUser');
    assert.equal((await s.exoGet<ExoRecipientRow>('Get-Contact', `${ct}@partner.example`))?.RecipientTypeDetails, 'MailContact');
    assert.equal((await s.exoGet<ExoGroup>('Get-DistributionGroup', `${gr}@contoso.example`))?.GroupType, 'Universal');
  });
});
