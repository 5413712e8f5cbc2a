/**
 * The emulator's permission rules, each with the Microsoft source it follows: Graph's per-API application permissions
 * (403 Authorization_RequestDenied), the tokens' `roles` and `wids` claims, Exchange Online's per-cmdlet RBAC for
 * app-only callers (401 "User is not allowed to call …"), the Cloud Sync job's status, subscribedSkus without free
 * units and the accepted domains — and the tenant functions that take each right away and give it back.
 */
import assert from 'node:assert/strict';
import type { ClientSecretCredential } from '@azure/identity';
import { decodeJwt } from '../../src/sandbox/cloud/jwt';
import { adUser, credentialFor, EXCHANGESTANDARD, ExoClient, httpsCall, startTestCloud, type TestCloud } from './cloud-fixture';

const SP = '11111111-2222-4333-8444-555555555555';
const JOB = 'AD2AADProvisioning.00000000000000000000000000000001.11111111-2222-4333-8444-555555555555';

describe('cloud emulator: permissions, RBAC and tenant health (with their Microsoft sources)', function () {
  let t: TestCloud;
  let userId: string;
  let groupId: string;

  /** A new app with only these Graph permissions (and the default Exchange grants), and a fresh credential for it. */
  function appWith(graphRoles: string[]): ClientSecretCredential {
    const app = t.tenant.registerApp({ displayName: `App ${graphRoles.join('+') || 'none'}`, graphRoles });
    return credentialFor(t.cloud, app.secrets[0], app.clientId);
  }

  async function graphAs(cred: ClientSecretCredential, method: string, path: string, body?: unknown): Promise<{ status: number; json: { error?: { code: string; message: string } } & Record<string, unknown> }> {
    const token = (await cred.getToken('https://graph.microsoft.com/.default')).token;
    const res = await httpsCall(t.cloud, method, `${t.cloud.graphUrl}${path}`, body, { authorization: `Bearer ${token}` });
    return { status: res.status, json: res.json as { error?: { code: string; message: string } } & Record<string, unknown> };
  }

  function assertDenied(res: { status: number; json: { error?: { code: string; message: string } } }): void {
    assert.equal(res.status, 403, JSON.stringify(res.json));
    assert.equal(res.json.error?.code, 'Authorization_RequestDenied');
    assert.equal(res.json.error?.message, 'Insufficient privileges to complete the operation.');
  }

  before(async function () {
    t = await startTestCloud();
    userId = t.tenant.upsertSyncedUser(adUser('perm')).entraId;
    groupId = t.tenant.createCloudGroup({ displayName: 'Licensing', securityEnabled: true }).id;
    t.tenant.addGroupMember(groupId, userId);
    t.tenant.registerSyncJob({ servicePrincipalId: SP, jobId: JOB });
  });

  after(async function () {
    await t.stop();
  });

  describe('Microsoft Graph: application permissions per API (403 Authorization_RequestDenied)', function () {
    it('GET /subscribedSkus takes LicenseAssignment.Read.All, not LicenseAssignment.ReadWrite.All (https://learn.microsoft.com/graph/api/subscribedsku-list)', async function () {
      assert.equal((await graphAs(appWith(['LicenseAssignment.Read.All']), 'GET', '/subscribedSkus')).status, 200);
      assert.equal((await graphAs(appWith(['Organization.Read.All']), 'GET', '/subscribedSkus')).status, 200);
      assertDenied(await graphAs(appWith(['LicenseAssignment.ReadWrite.All']), 'GET', '/subscribedSkus'));
    });

    it("GET /users/{id}/memberOf takes only Directory.Read.All or Directory.ReadWrite.All for another user's memberships (https://learn.microsoft.com/graph/api/user-list-memberof)", async function () {
      assertDenied(await graphAs(appWith(['User.ReadWrite.All', 'GroupMember.ReadWrite.All']), 'GET', `/users/${userId}/memberOf`));
      const res = await graphAs(appWith(['Directory.Read.All']), 'GET', `/users/${userId}/memberOf`);
      assert.equal(res.status, 200);
      assert.deepEqual((res.json.value as { id: string }[]).map((g) => g.id), [groupId]);
    });

    it('POST /users/{id}/checkMemberGroups needs User.Read.All and GroupMember.Read.All together (https://learn.microsoft.com/graph/api/directoryobject-checkmembergroups)', async function () {
      const body = { groupIds: [groupId] };
      assertDenied(await graphAs(appWith(['User.Read.All']), 'POST', `/users/${userId}/checkMemberGroups`, body));
      assertDenied(await graphAs(appWith(['GroupMember.Read.All']), 'POST', `/users/${userId}/checkMemberGroups`, body));
      const both = await graphAs(appWith(['User.Read.All', 'GroupMember.Read.All']), 'POST', `/users/${userId}/checkMemberGroups`, body);
      assert.equal(both.status, 200);
      assert.deepEqual(both.json.value, [groupId]);
      assert.equal((await graphAs(appWith(['Directory.Read.All']), 'POST', `/users/${userId}/checkMemberGroups`, body)).status, 200);
    });

    it('GET /contacts takes OrgContact.Read.All (https://learn.microsoft.com/graph/api/orgcontact-list)', async function () {
      assert.equal((await graphAs(appWith(['OrgContact.Read.All']), 'GET', '/contacts')).status, 200);
      assertDenied(await graphAs(appWith(['User.ReadWrite.All']), 'GET', '/contacts'));
    });

    it('POST /users/{id}/assignLicense takes LicenseAssignment.ReadWrite.All or User.ReadWrite.All (https://learn.microsoft.com/graph/api/user-assignlicense)', async function () {
      const body = { addLicenses: [], removeLicenses: [] };
      assertDenied(await graphAs(appWith(['User.Read.All', 'LicenseAssignment.Read.All']), 'POST', `/users/${userId}/assignLicense`, body));
      assert.equal((await graphAs(appWith(['LicenseAssignment.ReadWrite.All']), 'POST', `/users/${userId}/assignLicense`, body)).status, 200);
      assert.equal((await graphAs(appWith(['User.ReadWrite.All']), 'POST', `/users/${userId}/assignLicense`, body)).status, 200);
    });

    it('the synchronization job takes Synchronization.Read.All to read, provisionOnDemand Synchronization.ReadWrite.All (https://learn.microsoft.com/graph/api/synchronization-synchronizationjob-get, …-provisionondemand)', async function () {
      const path = `/servicePrincipals/${SP}/synchronization/jobs/${encodeURIComponent(JOB)}`;
      const reader = appWith(['Synchronization.Read.All']);
      assert.equal((await graphAs(reader, 'GET', path)).status, 200);
      assertDenied(await graphAs(reader, 'POST', `${path}/provisionOnDemand`, { parameters: [{ ruleId: 'r', subjects: [{ objectId: 'CN=x', objectTypeName: 'user' }] }] }));
      assertDenied(await graphAs(appWith(['Directory.ReadWrite.All']), 'GET', path));
    });
  });

  describe('tokens: roles and wids reflect what the app is granted when the token is issued', function () {
    it('`roles` carries the application permissions; a revoked one is missing from the next token only (https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference, "roles")', async function () {
      const app = t.tenant.registerApp({ displayName: 'Revocable', graphRoles: ['User.Read.All', 'OrgContact.Read.All'] });
      const first = credentialFor(t.cloud, app.secrets[0], app.clientId);
      const before = decodeJwt((await first.getToken('https://graph.microsoft.com/.default')).token)!.payload;
      assert.deepEqual(before.roles, ['User.Read.All', 'OrgContact.Read.All']);
      const previous = t.tenant.setAppGrants(app.clientId, { graphRoles: ['User.Read.All'] });
      assert.deepEqual(previous.graphRoles, ['User.Read.All', 'OrgContact.Read.All']);
      const cached = decodeJwt((await first.getToken('https://graph.microsoft.com/.default')).token)!.payload;
      assert.deepEqual(cached.roles, ['User.Read.All', 'OrgContact.Read.All'], 'a token already issued keeps its roles');
      const fresh = credentialFor(t.cloud, app.secrets[0], app.clientId);
      const after = decodeJwt((await fresh.getToken('https://graph.microsoft.com/.default')).token)!.payload;
      assert.deepEqual(after.roles, ['User.Read.All']);
      assertDenied(await graphAs(fresh, 'GET', '/contacts'));
      t.tenant.setAppGrants(app.clientId, previous);
      const restored = credentialFor(t.cloud, app.secrets[0], app.clientId);
      assert.equal((await graphAs(restored, 'GET', '/contacts')).status, 200);
    });

    it("`wids` carries the template ids of the service principal's Entra roles, which Exchange Online reads (https://learn.microsoft.com/powershell/exchange/app-only-auth-powershell-v2, \"How does it work?\")", async function () {
      const exo = decodeJwt((await t.credential.getToken('https://outlook.office365.com/.default')).token)!.payload;
      assert.deepEqual(exo.wids, ['29232cdf-9323-42fd-ade2-1d097af3e4de'], 'Exchange Administrator');
      const app = t.tenant.registerApp({ displayName: 'NoRole', directoryRoles: [] });
      const none = decodeJwt((await credentialFor(t.cloud, app.secrets[0], app.clientId).getToken('https://outlook.office365.com/.default')).token)!.payload;
      assert.equal(none.wids, undefined);
      assert.deepEqual(none.roles, ['Exchange.ManageAsApp']);
    });
  });

  describe('Exchange Online: app-only RBAC per cmdlet', function () {
    it('answers 401 "User is not allowed to call <cmdlet>" to an app with Exchange.ManageAsApp but no role (MicrosoftDocs/office-docs-powershell#7970; app-only-auth-powershell-v2, Step 5)', async function () {
      const app = t.tenant.registerApp({ displayName: 'ManageAsAppOnly', directoryRoles: [] });
      const exo = new ExoClient(t.cloud, credentialFor(t.cloud, app.secrets[0], app.clientId));
      const res = await exo.invoke('Get-OrganizationConfig');
      assert.equal(res.status, 401);
      assert.deepEqual(res.json, {
        error: {
          code: 'Unauthorized',
          message: 'User is not allowed to call Get-OrganizationConfig',
          innererror: { message: 'User is not allowed to call Get-OrganizationConfig', type: 'Microsoft.Exchange.Admin.OData.Core.ODataServiceException' },
        },
      });
    });

    it('lets an app in a role group run the cmdlets of its roles, at once, and nothing else (Option 2: custom role groups for service principals, app-only-auth-powershell-v2)', async function () {
      const app = t.tenant.registerApp({ displayName: 'RoleGroup', directoryRoles: [] });
      const exo = new ExoClient(t.cloud, credentialFor(t.cloud, app.secrets[0], app.clientId));
      assert.equal((await exo.invoke('Get-AcceptedDomain')).status, 401);
      t.tenant.setAppGrants(app.clientId, { exchangeManagementRoles: ['View-Only Configuration'] });
      assert.equal((await exo.invoke('Get-AcceptedDomain')).status, 200, 'a role group applies to the next request, with the same token');
      assert.equal((await exo.invoke('Get-OrganizationConfig')).status, 200);
      const mailbox = await exo.invoke('Get-Mailbox');
      assert.equal(mailbox.status, 401);
      assert.match(mailbox.text, /User is not allowed to call Get-Mailbox/);
      t.tenant.setAppGrants(app.clientId, { exchangeManagementRoles: ['View-Only Configuration', 'Mail Recipients'] });
      assert.equal((await exo.invoke('Get-Mailbox')).status, 200);
    });

    it('takes the Entra role from the token: removing Exchange Administrator shows with the next token (app-only-auth-powershell-v2, "How does it work?")', async function () {
      const app = t.tenant.registerApp({ displayName: 'ExchangeAdmin' });
      const cred = credentialFor(t.cloud, app.secrets[0], app.clientId);
      assert.equal((await new ExoClient(t.cloud, cred).invoke('Get-Mailbox')).status, 200);
      const before = t.tenant.setAppGrants(app.clientId, { directoryRoles: [] });
      assert.equal((await new ExoClient(t.cloud, cred).invoke('Get-Mailbox')).status, 200, 'the old token still carries the role');
      assert.equal((await new ExoClient(t.cloud, credentialFor(t.cloud, app.secrets[0], app.clientId)).invoke('Get-Mailbox')).status, 401);
      t.tenant.setAppGrants(app.clientId, before);
      assert.equal((await new ExoClient(t.cloud, credentialFor(t.cloud, app.secrets[0], app.clientId)).invoke('Get-Mailbox')).status, 200);
    });
  });

  describe('Cloud Sync job status (https://learn.microsoft.com/graph/api/resources/synchronization-synchronizationstatus)', function () {
    interface Job {
      id: string;
      templateId: string;
      schedule: { state: string };
      status: { code: string; quarantine: null | { reason: string; error: { code: string; message: string; tenantActionable: boolean } } };
    }
    const path = `/servicePrincipals/${SP}/synchronization/jobs/${encodeURIComponent(JOB)}`;

    it('answers GET …/synchronization/jobs/{jobId} with status.code Active, Paused or Quarantine (with quarantine.reason and error), as the job is set', async function () {
      const active = (await t.graph.api(path).get()) as Job;
      assert.equal(active.id, JOB);
      assert.equal(active.templateId, 'AD2AADProvisioning');
      assert.equal(active.status.code, 'Active');
      assert.equal(active.status.quarantine, null);
      const before = t.tenant.setSyncJobStatus(SP, JOB, 'Paused');
      try {
        const paused = (await t.graph.api(path).get()) as Job;
        assert.equal(paused.status.code, 'Paused');
        assert.equal(paused.schedule.state, 'Disabled');
        t.tenant.setSyncJobStatus(SP, JOB, 'Quarantine', { reason: 'EncounteredQuarantineException', errorCode: 'HybridIdentityServiceAgentNotFound', message: 'No agent is active.' });
        const q = (await t.graph.api(path).get()) as Job;
        assert.equal(q.status.code, 'Quarantine');
        assert.equal(q.status.quarantine?.reason, 'EncounteredQuarantineException');
        assert.deepEqual(q.status.quarantine?.error, { code: 'HybridIdentityServiceAgentNotFound', message: 'No agent is active.', tenantActionable: true });
      } finally {
        t.tenant.setSyncJobStatus(SP, JOB, before.code);
      }
      assert.equal(((await t.graph.api(path).get()) as Job).status.code, 'Active');
    });

    it('lists the jobs of a service principal and answers 404 for an unknown job', async function () {
      const list = (await t.graph.api(`/servicePrincipals/${SP}/synchronization/jobs`).get()) as { value: Job[] };
      assert.deepEqual(list.value.map((j) => j.id), [JOB]);
      await assert.rejects(t.graph.api(`/servicePrincipals/${SP}/synchronization/jobs/AD2AADProvisioning.nope`).get(), (e: { statusCode?: number }) => e.statusCode === 404);
    });
  });

  describe('licences and domains', function () {
    it('reports a SKU whose units are all used as prepaidUnits.enabled = consumedUnits, and refuses the next assignment (https://learn.microsoft.com/graph/api/resources/subscribedsku)', async function () {
      const u = t.tenant.upsertSyncedUser(adUser('lic1')).entraId;
      t.tenant.updateUser(u, { usageLocation: 'DE' });
      t.tenant.assignLicense(u, [{ skuId: EXCHANGESTANDARD }], []);
      const sku = t.tenant.subscribedSkus().find((s) => s.skuId === EXCHANGESTANDARD)!;
      t.cloud.setKnobs({ licenceUnits: { EXCHANGESTANDARD: sku.consumedUnits } });
      try {
        const skus = (await t.graph.api('/subscribedSkus').get()) as { value: { skuId: string; prepaidUnits: { enabled: number }; consumedUnits: number }[] };
        const e = skus.value.find((s) => s.skuId === EXCHANGESTANDARD)!;
        assert.equal(e.prepaidUnits.enabled, e.consumedUnits);
        const other = t.tenant.upsertSyncedUser(adUser('lic2')).entraId;
        t.tenant.updateUser(other, { usageLocation: 'DE' });
        await assert.rejects(t.graph.api(`/users/${other}/assignLicense`).post({ addLicenses: [{ skuId: EXCHANGESTANDARD, disabledPlans: [] }], removeLicenses: [] }), /does not have any available licenses/);
      } finally {
        t.cloud.setKnobs({ licenceUnits: { EXCHANGESTANDARD: sku.prepaidUnits } });
      }
    });

    it('drops a removed domain from Get-AcceptedDomain and puts it back as it was; the initial domain stays (https://learn.microsoft.com/powershell/module/exchangepowershell/get-accepteddomain)', async function () {
      const exo = new ExoClient(t.cloud, t.credential);
      const names = async (): Promise<[string, boolean][]> => ((await exo.run('Get-AcceptedDomain')).values as { DomainName: string; Default: boolean }[]).map((d) => [d.DomainName, d.Default]);
      const before = await names();
      assert.ok(before.some(([n, def]) => n === 'contoso.com' && def));
      const { wasDefault } = t.tenant.removeDomain('contoso.com');
      try {
        const after = await names();
        assert.ok(!after.some(([n]) => n === 'contoso.com'));
        assert.deepEqual(after.filter(([, def]) => def).map(([n]) => n), [t.cloud.tenantDomain], 'the initial domain becomes the default');
        assert.throws(() => t.tenant.removeDomain(t.cloud.tenantDomain), /initial domain/);
      } finally {
        t.tenant.addDomain('contoso.com', wasDefault);
      }
      assert.deepEqual(await names(), before);
    });
  });
});
