import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createCloudClients, CloudClients, ExoCommandError, parseExoError } from '../../src/cloud';
import type { CloudConfig } from '../../src/config/config';
import { createClientCertificate } from '../../src/sandbox/cloud/certs';
import { startTestCloud, TestCloud } from '../sandbox/cloud-fixture';

/**
 * Mailroom's production cloud clients (src/cloud) against the cloud emulator: only URLs, credentials and the
 * CA are configured, exactly as for a real tenant.
 */
describe('production cloud clients against the emulator', function () {
  this.timeout(30000);
  let t: TestCloud;
  let dir: string;
  let caFile: string;
  const opened: CloudClients[] = [];

  const configFor = (over: Partial<CloudConfig> = {}): CloudConfig => ({
    credentialType: 'ClientCredentials',
    tenantId: t.cloud.tenantId,
    authorityHost: t.cloud.url,
    clientId: t.cloud.clientId,
    clientSecret: t.cloud.clientSecret,
    clientCertificatePath: undefined,
    graphUrl: t.cloud.graphUrl,
    exoUrl: t.cloud.exoUrl,
    ...over,
  });
  const clients = (over: Partial<CloudConfig> = {}) => {
    const c = createCloudClients(configFor(over), caFile);
    opened.push(c);
    return c;
  };

  before(async function () {
    t = await startTestCloud();
    dir = mkdtempSync(path.join(os.tmpdir(), 'mailroom-cloud-clients-'));
    caFile = path.join(dir, 'ca.pem');
    writeFileSync(caFile, t.cloud.caPem);
  });
  after(async function () {
    opened.forEach((c) => c.close());
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs Exchange cmdlets with a client secret (Get-AcceptedDomain)', async function () {
    const { value } = await clients().exo.invoke<{ DomainName: string; Default: boolean }>('Get-AcceptedDomain');
    assert.ok(value.some((d) => d.DomainName === t.cloud.tenantDomain), 'the initial domain is accepted');
  });

  it('authenticates with a certificate too', async function () {
    const cert = await createClientCertificate(dir, 'mailroom-test-app');
    t.tenant.addAppCertificate(t.cloud.clientId, cert.certificatePem);
    const c = clients({ clientSecret: undefined, clientCertificatePath: cert.combinedFile });
    const { value } = await c.exo.invoke('Get-OrganizationConfig');
    assert.equal(value.length, 1);
  });

  it('reports an Exchange error with its type and text, and knows "not found"', async function () {
    const err = await clients()
      .exo.invoke('Get-Mailbox', { Identity: 'nobody-here' })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(err instanceof ExoCommandError, String(err));
    assert.equal(err.notFound, true);
    assert.match(err.message, /Get-Mailbox failed in Exchange Online \(HTTP 404, .*ManagementObjectNotFoundException\): .*nobody-here/);
  });

  it("reads Exchange's error shapes: details[].message as id|type|text (code Context or Client), innererror.internalexception in either case, a JSON detail, plain text", function () {
    const writeScope = 'The operation on mailbox "carol" failed because it\'s out of the current user\'s write scope.';
    const context = JSON.stringify({
      error: {
        code: 'BadRequest',
        message: 'Error executing cmdlet',
        details: [{ code: 'Context', target: '', message: `Ex9C9D6F|System.InvalidOperationException|${writeScope}` }],
        innererror: { message: 'Error executing cmdlet', type: 'Microsoft.Exchange.Admin.OData.Core.ODataServiceException', internalexception: { message: writeScope, type: 'System.InvalidOperationException' } },
      },
    });
    let e = parseExoError('Set-Mailbox', 400, context);
    assert.deepEqual([e.code, e.exceptionType, e.detail], ['Ex9C9D6F', 'System.InvalidOperationException', writeScope]);
    for (const key of ['internalException', 'internalexception']) {
      e = parseExoError('Set-Mailbox', 400, JSON.stringify({ error: { code: 'BadRequest', message: 'Error executing cmdlet', innererror: { message: 'Error executing cmdlet', [key]: { message: writeScope, type: 'System.InvalidOperationException' } } } }));
      assert.deepEqual([e.code, e.exceptionType, e.detail], ['BadRequest', 'System.InvalidOperationException', writeScope], key);
    }
    e = parseExoError('Get-Mailbox', 404, JSON.stringify({ error: { code: 'NotFound', message: 'Error executing cmdlet', details: [{ code: 'Client', message: JSON.stringify({ Message: "The operation couldn't be performed because object 'rg' couldn't be found.", TypeName: 'Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException', InnerError: null }) }] } }));
    assert.equal(e.notFound, true);
    assert.equal(e.detail, "The operation couldn't be performed because object 'rg' couldn't be found.");
    e = parseExoError('Get-Mailbox', 503, 'Service Unavailable');
    assert.deepEqual([e.transient, e.detail], [true, 'Service Unavailable']);
  });

  it('waits out throttling (429 with Retry-After) and then succeeds', async function () {
    t.cloud.injectFaults({ status: 429, count: 2, scope: 'exo', retryAfterSeconds: 1 });
    const t0 = Date.now();
    const { value } = await clients().exo.invoke('Get-AcceptedDomain');
    assert.ok(value.length >= 1);
    assert.ok(Date.now() - t0 >= 1900, 'both Retry-After waits were honoured');
  });

  it('answers group membership for roles through Graph checkMemberGroups', async function () {
    const user = t.tenant.createCloudUser({ userPrincipalName: `role.test@${t.cloud.tenantDomain}`, displayName: 'Role Test' });
    const member = t.tenant.createCloudGroup({ displayName: 'Mailroom approvers' });
    const other = t.tenant.createCloudGroup({ displayName: 'Somebody else' });
    const c = clients();
    // membership is written through Graph, as an admin would
    await fetchGraph(`/groups/${member.id}/members/$ref`, { '@odata.id': `${t.cloud.graphUrl}/directoryObjects/${user.id}` });
    assert.deepEqual(await c.graph.memberGroups(user.id, [member.id, other.id]), [member.id]);

    async function fetchGraph(p: string, body: unknown) {
      await t.graph.api(p).post(body);
    }
  });

  it('fails clearly with a wrong secret', async function () {
    await assert.rejects(clients({ clientSecret: 'not-the-secret' }).exo.invoke('Get-AcceptedDomain'), /AADSTS7000215/);
    await assert.rejects(clients({ clientSecret: 'not-the-secret' }).graph.memberGroups('00000000-0000-4000-8000-000000000001', ['00000000-0000-4000-8000-000000000002']), /AADSTS7000215/);
  });
});
