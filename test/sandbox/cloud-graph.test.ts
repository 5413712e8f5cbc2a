import assert from 'node:assert/strict';
import { BatchRequestContent, BatchResponseContent, PageIterator, type GraphError, type PageCollection } from '@microsoft/microsoft-graph-client';
import type { ProvisionOnDemandRequest } from '../../src/sandbox/cloud/context';
import { adUser, credentialFor, EXCHANGESTANDARD, ExoClient, FLOW_FREE, graphClientFor, httpsCall, startTestCloud, type TestCloud } from './cloud-fixture';

interface UserPage {
  '@odata.count'?: number;
  '@odata.nextLink'?: string;
  value: Record<string, unknown>[];
}

function isGraphError(e: unknown): e is GraphError {
  return typeof e === 'object' && e !== null && 'statusCode' in e && 'code' in e;
}

describe('cloud emulator: Microsoft Graph through @microsoft/microsoft-graph-client', function () {
  let t: TestCloud;
  let exo: ExoClient;

  before(async function () {
    t = await startTestCloud({ mailboxProvisioningDelayMs: 10 * 60_000 });
    exo = new ExoClient(t.cloud, t.credential);
    t.tenant.upsertSyncedUser(adUser('jdoe', { mail: 'jane.doe@contoso.com', displayName: 'Jane Doe', givenName: 'Jane', surname: 'Doe' }));
    t.tenant.upsertSyncedUser(adUser('rroe', { mail: 'richard.roe@contoso.com', displayName: 'Richard Roe' }));
  });

  after(async function () {
    await t.stop();
  });

  describe('users', function () {
    it('finds a user by UPN with a default filter, without advanced query parameters', async function () {
      const page = (await t.graph.api('/users').filter("userPrincipalName eq 'jdoe@contoso.com'").select('id,userPrincipalName,mail,onPremisesImmutableId').get()) as UserPage;
      assert.equal(page.value.length, 1);
      assert.deepEqual(Object.keys(page.value[0]!).sort(), ['id', 'mail', 'onPremisesImmutableId', 'userPrincipalName']);
      assert.equal(page.value[0]!.mail, 'jane.doe@contoso.com');
    });

    it('refuses onPremisesSamAccountName eq without ConsistencyLevel: eventual (Request_UnsupportedQuery)', async function () {
      await assert.rejects(t.graph.api('/users').filter("onPremisesSamAccountName eq 'jdoe'").get(), (e: unknown) => {
        assert.ok(isGraphError(e));
        assert.equal(e.statusCode, 400);
        assert.equal(e.code, 'Request_UnsupportedQuery');
        assert.match(e.message, /onPremisesSamAccountName/);
        return true;
      });
      await assert.rejects(t.graph.api('/users').filter("onPremisesSamAccountName eq 'jdoe'").count(true).get(), /onPremisesSamAccountName/, 'the header is needed too');
    });

    it('answers it with ConsistencyLevel: eventual and $count=true, with @odata.count', async function () {
      const page = (await t.graph
        .api('/users')
        .header('ConsistencyLevel', 'eventual')
        .count(true)
        .filter("onPremisesSamAccountName eq 'jdoe' or onPremisesSamAccountName eq 'rroe'")
        .select('id,userPrincipalName,onPremisesSamAccountName,usageLocation,assignedLicenses')
        .get()) as UserPage;
      assert.equal(page['@odata.count'], 2);
      assert.deepEqual(page.value.map((u) => u.onPremisesSamAccountName).sort(), ['jdoe', 'rroe']);
    });

    it('ignores $count=true silently without the header, as Graph does', async function () {
      const page = (await t.graph.api('/users').count(true).get()) as UserPage;
      assert.equal(page['@odata.count'], undefined);
      assert.ok(page.value.length >= 2);
    });

    it('needs advanced parameters for endsWith and says so', async function () {
      await assert.rejects(t.graph.api('/users').filter("endswith(mail,'@contoso.com')").get(), /Operator 'EndsWith' is not supported because the required parameters might be missing/);
      const page = (await t.graph.api('/users').header('ConsistencyLevel', 'eventual').count(true).filter("endswith(mail,'@contoso.com')").get()) as UserPage;
      assert.ok(page.value.length >= 2);
    });

    it('gets a user by id or UPN, and 404s with Request_ResourceNotFound', async function () {
      const u = (await t.graph.api('/users/jdoe@contoso.com').select('id,displayName,onPremisesSyncEnabled').get()) as Record<string, unknown>;
      assert.equal(u.displayName, 'Jane Doe');
      const byId = (await t.graph.api(`/users/${String(u.id)}`).get()) as Record<string, unknown>;
      assert.equal(byId.userPrincipalName, 'jdoe@contoso.com');
      await assert.rejects(t.graph.api('/users/nobody@contoso.com').get(), (e: unknown) => isGraphError(e) && e.statusCode === 404 && e.code === 'Request_ResourceNotFound');
    });

    it('refuses to PATCH AD-mastered properties of a synced user but accepts usageLocation', async function () {
      await assert.rejects(t.graph.api('/users/rroe@contoso.com').patch({ department: 'Sales' }), /Unable to update the specified properties for on-premises mastered Directory Sync objects/);
      await t.graph.api('/users/rroe@contoso.com').patch({ usageLocation: 'CH' });
      const u = (await t.graph.api('/users/rroe@contoso.com').select('usageLocation').get()) as { usageLocation: string };
      assert.equal(u.usageLocation, 'CH');
    });

    it('answers 401 InvalidAuthenticationToken without a token and with an Exchange token', async function () {
      const none = await httpsCall(t.cloud, 'GET', `${t.cloud.graphUrl}/users`);
      assert.equal(none.status, 401);
      assert.equal((none.json as { error: { code: string; message: string } }).error.code, 'InvalidAuthenticationToken');
      assert.equal((none.json as { error: { message: string } }).error.message, 'Access token is empty.');
      const exoToken = await exo.token();
      const wrong = await httpsCall(t.cloud, 'GET', `${t.cloud.graphUrl}/users`, undefined, { authorization: `Bearer ${exoToken}` });
      assert.equal(wrong.status, 401);
      assert.match((wrong.json as { error: { message: string } }).error.message, /Invalid audience/);
      const inner = (wrong.json as { error: { innerError: Record<string, string> } }).error.innerError;
      assert.match(inner['request-id']!, /^[0-9a-f-]{36}$/);
      assert.match(inner.date!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
    });

    it('refuses a token whose claims were changed after signing, even once the genuine token was taken (401 Invalid signature)', async function () {
      const token = (await t.credential.getToken('https://graph.microsoft.com/.default')).token;
      const ok = await httpsCall(t.cloud, 'GET', `${t.cloud.graphUrl}/users?$top=1`, undefined, { authorization: `Bearer ${token}` });
      assert.equal(ok.status, 200);
      const [header, payload, signature] = token.split('.') as [string, string, string];
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { roles?: string[] };
      const forged = `${header}.${Buffer.from(JSON.stringify({ ...claims, roles: [...(claims.roles ?? []), 'Directory.ReadWrite.All'] })).toString('base64url')}.${signature}`;
      const refused = await httpsCall(t.cloud, 'GET', `${t.cloud.graphUrl}/users?$top=1`, undefined, { authorization: `Bearer ${forged}` });
      assert.equal(refused.status, 401);
      assert.equal((refused.json as { error: { code: string; message: string } }).error.message, 'Access token validation failure. Invalid signature.');
      const again = await httpsCall(t.cloud, 'GET', `${t.cloud.graphUrl}/users?$top=1`, undefined, { authorization: `Bearer ${token}` });
      assert.equal(again.status, 200, 'the genuine token still works');
    });

    it('answers filters on the kept sign-in name and ids as a full evaluation would (either side of and, every side of or, not)', async function () {
      const upns = async (filter: string) => ((await t.graph.api('/users').filter(filter).select('userPrincipalName').get()) as UserPage).value.map((u) => String(u.userPrincipalName)).sort();
      assert.deepEqual(await upns("userPrincipalName eq 'JDOE@contoso.com'"), ['jdoe@contoso.com'], 'eq on strings ignores case');
      assert.deepEqual(await upns("userPrincipalName in ('jdoe@contoso.com','rroe@contoso.com') and displayName eq 'Jane Doe'"), ['jdoe@contoso.com']);
      assert.deepEqual(await upns("userPrincipalName eq 'jdoe@contoso.com' or userPrincipalName eq 'rroe@contoso.com'"), ['jdoe@contoso.com', 'rroe@contoso.com']);
      assert.deepEqual(await upns("userPrincipalName eq 'jdoe@contoso.com' or displayName eq 'Richard Roe'"), ['jdoe@contoso.com', 'rroe@contoso.com'], 'an or with another property looks at every user');
      const all = ((await t.graph.api('/users').select('userPrincipalName').get()) as UserPage).value.length;
      const others = (await t.graph.api('/users').header('ConsistencyLevel', 'eventual').count(true).filter("not(userPrincipalName eq 'jdoe@contoso.com')").select('userPrincipalName').get()) as UserPage;
      assert.equal(others.value.length, all - 1, 'not (an advanced query) looks at every user');
      assert.deepEqual(await upns("mail eq 'richard.roe@contoso.com'"), ['rroe@contoso.com']);
      assert.deepEqual(await upns("userPrincipalName eq 'nobody@contoso.com'"), []);
    });

    it('answers 403 Authorization_RequestDenied to an app without Graph permissions', async function () {
      const app = t.tenant.registerApp({ displayName: 'NoRights', graphRoles: [], exchangeRoles: [] });
      const { graph, http } = graphClientFor(t.cloud, credentialFor(t.cloud, app.secrets[0], app.clientId));
      try {
        await assert.rejects(graph.api('/users').get(), (e: unknown) => isGraphError(e) && e.statusCode === 403 && e.code === 'Authorization_RequestDenied');
      } finally {
        http.destroy();
      }
    });
  });

  describe('$batch', function () {
    it('runs sub-requests with their own headers, with or without the /v1.0 prefix', async function () {
      const content = new BatchRequestContent([
        {
          id: '1',
          request: new Request(`${t.cloud.graphUrl}/users?$filter=onPremisesSamAccountName eq 'jdoe'&$count=true&$select=id,userPrincipalName`, {
            method: 'GET',
            headers: { ConsistencyLevel: 'eventual' },
          }),
        },
        { id: '2', request: new Request(`${t.cloud.graphUrl}/users?$filter=onPremisesSamAccountName eq 'jdoe'&$count=true`, { method: 'GET' }) },
      ]);
      const body = (await content.getContent()) as { requests: { url: string }[] };
      assert.ok(body.requests[0]!.url.startsWith('/v1.0/users'), 'the SDK keeps /v1.0 in batch urls');
      body.requests.push({ id: '3', method: 'GET', url: "users/rroe@contoso.com?$select=displayName" } as unknown as { url: string });
      const raw = (await t.graph.api('/$batch').post(body)) as { responses: { id: string; status: number; body: unknown; headers: Record<string, string> }[] };
      const res = new BatchResponseContent(raw);
      const one = res.getResponseById('1');
      assert.equal(one.status, 200);
      const onePage = (await one.json()) as UserPage;
      assert.equal(onePage['@odata.count'], 1);
      assert.equal(onePage.value[0]!.userPrincipalName, 'jdoe@contoso.com');
      const two = res.getResponseById('2');
      assert.equal(two.status, 400, 'no ConsistencyLevel on item 2');
      assert.equal(((await two.json()) as { error: { code: string } }).error.code, 'Request_UnsupportedQuery');
      assert.equal(raw.responses.find((r) => r.id === '3')!.status, 200);
      assert.equal((raw.responses.find((r) => r.id === '3')!.body as { displayName: string }).displayName, 'Richard Roe');
    });

    it('fails a dependent request when its dependency failed (424)', async function () {
      const raw = (await t.graph.api('/$batch').post({
        requests: [
          { id: 'a', method: 'GET', url: '/users/nobody@contoso.com' },
          { id: 'b', method: 'GET', url: '/users/jdoe@contoso.com', dependsOn: ['a'] },
        ],
      })) as { responses: { id: string; status: number }[] };
      assert.deepEqual(raw.responses.map((r) => [r.id, r.status]), [['a', 404], ['b', 424]]);
    });

    it('refuses more than 20 requests', async function () {
      const requests = Array.from({ length: 21 }, (_, i) => ({ id: String(i + 1), method: 'GET', url: '/users' }));
      await assert.rejects(t.graph.api('/$batch').post({ requests }), (e: unknown) => isGraphError(e) && e.statusCode === 400 && /limit of 20/.test(e.message));
    });
  });

  describe('licences and mailboxes', function () {
    it('lists subscribed SKUs with units', async function () {
      const res = (await t.graph.api('/subscribedSkus').get()) as { value: { skuPartNumber: string; skuId: string; prepaidUnits: { enabled: number }; consumedUnits: number; servicePlans: { servicePlanName: string }[] }[] };
      const std = res.value.find((s) => s.skuPartNumber === 'EXCHANGESTANDARD')!;
      assert.equal(std.skuId, EXCHANGESTANDARD);
      assert.equal(std.prepaidUnits.enabled, 25);
      assert.equal(std.servicePlans[0]!.servicePlanName, 'EXCHANGE_S_STANDARD');
    });

    it('refuses assignLicense without usageLocation, then licenses and the mailbox appears after the delay', async function () {
      const licence = { addLicenses: [{ skuId: EXCHANGESTANDARD, disabledPlans: [] }], removeLicenses: [] };
      await assert.rejects(t.graph.api('/users/jdoe@contoso.com/assignLicense').post(licence), (e: unknown) => {
        assert.ok(isGraphError(e));
        assert.equal(e.statusCode, 400);
        assert.equal(e.message, 'License assignment cannot be done for user with invalid usage location.');
        return true;
      });
      await t.graph.api('/users/jdoe@contoso.com').patch({ usageLocation: 'DE' });
      const user = (await t.graph.api('/users/jdoe@contoso.com/assignLicense').post(licence)) as { id: string };
      const check = (await t.graph.api(`/users/${user.id}`).select('assignedLicenses,licenseAssignmentStates').get()) as { assignedLicenses: { skuId: string }[] };
      assert.deepEqual(check.assignedLicenses.map((l) => l.skuId), [EXCHANGESTANDARD]);

      const before = await exo.invoke('Get-Mailbox', { Identity: 'jane.doe@contoso.com' });
      assert.equal(before.status, 404, 'no mailbox before the provisioning delay');
      t.clock.advance(10 * 60_000);
      const after = await exo.run('Get-Mailbox', { Identity: 'jane.doe@contoso.com' });
      const mbx = after.values[0]!;
      assert.equal(mbx.RecipientTypeDetails, 'UserMailbox');
      assert.equal(mbx.PrimarySmtpAddress, 'jane.doe@contoso.com');
      assert.equal(mbx.IsDirSynced, true);
      assert.equal(mbx.IsExchangeCloudManaged, false);
    });

    it('refuses an unknown SKU and a SKU without free units', async function () {
      await assert.rejects(
        t.graph.api('/users/rroe@contoso.com/assignLicense').post({ addLicenses: [{ skuId: '00000000-1111-4222-8333-444444444444' }], removeLicenses: [] }),
        /License 00000000-1111-4222-8333-444444444444 does not correspond to a valid company License/,
      );
      t.cloud.setKnobs({ licenceUnits: { FLOW_FREE: 0 } });
      await assert.rejects(
        t.graph.api('/users/rroe@contoso.com/assignLicense').post({ addLicenses: [{ skuId: FLOW_FREE }], removeLicenses: [] }),
        new RegExp(`Subscription with SKU ${FLOW_FREE} does not have any available licenses`),
      );
    });

    it('licenses group members through POST /groups/{id}/assignLicense', async function () {
      const member = t.tenant.upsertSyncedUser(adUser('grouplic', { mail: 'grouplic@contoso.com' }));
      const g = t.tenant.upsertSyncedGroup({
        objectGuid: 'd0000000-0000-4000-8000-000000000001',
        distinguishedName: 'CN=EXO Licensing,OU=Groups,DC=contoso,DC=com',
        samAccountName: 'EXO-Licensing',
        scope: 'global',
        securityEnabled: true,
        members: [member.immutableId],
      });
      const res = (await t.graph.api(`/groups/${g.entraId}/assignLicense`).post({ addLicenses: [{ skuId: EXCHANGESTANDARD, disabledPlans: [] }], removeLicenses: [] })) as { id: string };
      assert.equal(res.id, g.entraId);
      const u = (await t.graph.api(`/users/${member.entraId}`).select('assignedLicenses,licenseAssignmentStates').get()) as { licenseAssignmentStates: { assignedByGroup: string; state: string }[] };
      assert.deepEqual(u.licenseAssignmentStates.map((l) => [l.assignedByGroup, l.state]), [[g.entraId, 'Active']]);
      const memberOf = (await t.graph.api(`/users/${member.entraId}/memberOf`).get()) as { value: { id: string; '@odata.type': string }[] };
      assert.deepEqual(memberOf.value.map((x) => [x['@odata.type'], x.id]), [['#microsoft.graph.group', g.entraId]]);
      const check = (await t.graph.api(`/users/${member.entraId}/checkMemberGroups`).post({ groupIds: [g.entraId, '99999999-0000-4000-8000-000000000000'] })) as { value: string[] };
      assert.deepEqual(check.value, [g.entraId]);
      await assert.rejects(
        t.graph.api(`/groups/${g.entraId}/members/$ref`).post({ '@odata.id': `${t.cloud.graphUrl}/directoryObjects/${member.entraId}` }),
        /on-premises mastered Directory Sync objects/,
        'membership of a synced group is mastered in AD',
      );
    });

    it('adds members to a cloud group with members/$ref', async function () {
      const g = t.tenant.createCloudGroup({ displayName: 'Cloud Licensing' });
      const user = (await t.graph.api('/users/rroe@contoso.com').get()) as { id: string };
      await t.graph.api(`/groups/${g.id}/members/$ref`).post({ '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${user.id}` });
      const members = (await t.graph.api(`/groups/${g.id}/members`).get()) as { value: { id: string }[] };
      assert.deepEqual(members.value.map((m) => m.id), [user.id]);
      await assert.rejects(t.graph.api(`/groups/${g.id}/members/$ref`).post({ '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${user.id}` }), /already exist/);
    });
  });

  describe('paging', function () {
    it('pages /users with $top and @odata.nextLink, which PageIterator follows', async function () {
      for (let i = 0; i < 230; i++) t.tenant.createCloudUser({ userPrincipalName: `bulk${i}@contoso.com`, displayName: `Bulk ${i}` });
      const first = (await t.graph.api('/users').top(100).select('id,userPrincipalName').get()) as PageCollection;
      assert.equal(first.value.length, 100);
      assert.ok(first['@odata.nextLink']?.startsWith(`${t.cloud.graphUrl}/users?`));
      const seen: string[] = [];
      const it = new PageIterator(t.graph, first, (u: { userPrincipalName: string }) => {
        seen.push(u.userPrincipalName);
        return true;
      });
      await it.iterate();
      const total = t.tenant.users().length;
      assert.equal(seen.length, total);
      assert.equal(new Set(seen).size, total);
    });

    it('refuses $top above 999', async function () {
      await assert.rejects(t.graph.api('/users').top(1000).get(), /Invalid page size/);
    });
  });

  describe('throttling', function () {
    it("answers 429 with Retry-After, which the client's RetryHandler honours", async function () {
      const startLog = t.cloud.requests.length;
      t.cloud.injectFaults({ status: 429, count: 2, scope: 'graph', retryAfterSeconds: 1 });
      const started = Date.now();
      const u = (await t.graph.api('/users/rroe@contoso.com').get()) as { userPrincipalName: string };
      const elapsed = Date.now() - started;
      assert.equal(u.userPrincipalName, 'rroe@contoso.com');
      assert.ok(elapsed >= 2000, `waited ${elapsed} ms for two Retry-After: 1`);
      const statuses = t.cloud.requests.slice(startLog).filter((r) => r.path.startsWith('/v1.0/users/')).map((r) => r.status);
      assert.deepEqual(statuses, [429, 429, 200]);
    });

    it('gives up after the retry handler’s three retries and surfaces TooManyRequests', async function () {
      t.cloud.injectFaults({ status: 429, count: 4, scope: 'graph', retryAfterSeconds: 0 });
      await assert.rejects(t.graph.api('/users/rroe@contoso.com').get(), (e: unknown) => isGraphError(e) && e.statusCode === 429 && e.code === 'TooManyRequests');
    });

    it('injects throttling at a seeded rate, deterministically', async function () {
      const token = (await t.credential.getToken('https://graph.microsoft.com/.default')).token;
      const run = async (): Promise<number[]> => {
        t.cloud.setKnobs({ throttleRate: 0.5, seed: 42, retryAfterSeconds: 1 });
        const out: number[] = [];
        for (let i = 0; i < 8; i++) out.push((await httpsCall(t.cloud, 'GET', `${t.cloud.graphUrl}/users/rroe@contoso.com`, undefined, { authorization: `Bearer ${token}` })).status);
        t.cloud.setKnobs({ throttleRate: 0 });
        return out;
      };
      const a = await run();
      const b = await run();
      assert.deepEqual(a, b);
      assert.ok(a.includes(429) && a.includes(200), `mixed results: ${a.join(',')}`);
    });
  });

  describe('provisionOnDemand', function () {
    const sp = '5e0c1f10-0000-4000-8000-000000000001';
    const path = `/servicePrincipals/${sp}/synchronization/jobs/AD2AADProvisioning.abc123/provisionOnDemand`;
    const body = (dn: string): unknown => ({ parameters: [{ ruleId: '6c409270-f78a-4bc6-af23-7cf3ab6482fe', subjects: [{ objectId: dn, objectTypeName: 'user' }] }] });

    before(function () {
      t.tenant.registerSyncJob({ servicePrincipalId: sp, jobId: 'AD2AADProvisioning.abc123' });
      t.tenant.registerSyncJob({ servicePrincipalId: sp, jobId: 'AD2AADProvisioning.other' });
    });

    it('calls the sync engine hook with the DN and answers {key, value} as JSON text (Graph docs, provisionOnDemand Example 2)', async function () {
      const seen: ProvisionOnDemandRequest[] = [];
      t.cloud.setProvisionOnDemandHook((dn, req) => {
        seen.push(req);
        assert.equal(dn, 'CN=New Person,OU=Staff,DC=contoso,DC=com');
      });
      const res = (await t.graph.api(path).post(body('CN=New Person,OU=Staff,DC=contoso,DC=com'))) as { key: string; value: string };
      assert.deepEqual(JSON.parse(res.key), { result: 'Success', details: {} });
      const value = JSON.parse(res.value) as { provisioningSteps: { name: string; status: string }[]; statusInfo: { status: string } };
      assert.equal(value.statusInfo.status, 'Success');
      assert.equal(value.provisioningSteps[0]!.name, 'EntryImport');
      assert.equal(seen[0]!.objectTypeName, 'user');
      assert.equal(seen[0]!.jobId, 'AD2AADProvisioning.abc123');
    });

    it('reports a failing hook as a Failure result in key and value, not as an HTTP error', async function () {
      t.clock.advance(60_000);
      t.cloud.setProvisionOnDemandHook(() => {
        throw new Error('object not in sync scope');
      });
      const res = (await t.graph.api(path).post(body('CN=Out Of Scope,DC=contoso,DC=com'))) as { key: string; value: string };
      const key = JSON.parse(res.key) as { result: string; details: { errorMessage: string } };
      assert.equal(key.result, 'Failure');
      assert.equal(key.details.errorMessage, 'object not in sync scope');
      const value = JSON.parse(res.value) as { statusInfo: { status: string; reason: string } };
      assert.equal(value.statusInfo.status, 'Failure');
      assert.equal(value.statusInfo.reason, 'object not in sync scope');
    });

    it('allows 5 calls per 10 seconds per job, then 429 with Retry-After', async function () {
      t.clock.advance(60_000);
      t.cloud.setProvisionOnDemandHook(() => undefined);
      const token = (await t.credential.getToken('https://graph.microsoft.com/.default')).token;
      const call = (): ReturnType<typeof httpsCall> => httpsCall(t.cloud, 'POST', `${t.cloud.graphUrl}${path}`, body('CN=X,DC=contoso,DC=com'), { authorization: `Bearer ${token}` });
      for (let i = 0; i < 5; i++) assert.equal((await call()).status, 200, `call ${i + 1}`);
      const limited = await call();
      assert.equal(limited.status, 429);
      assert.equal(limited.headers['retry-after'], '10');
      assert.equal((limited.json as { error: { code: string } }).error.code, 'TooManyRequests');
      t.clock.advance(10_000);
      assert.equal((await call()).status, 200);
      const otherJob = await httpsCall(t.cloud, 'POST', `${t.cloud.graphUrl}${path.replace('abc123', 'other')}`, body('CN=X,DC=contoso,DC=com'), { authorization: `Bearer ${token}` });
      assert.equal(otherJob.status, 200, 'the limit is per job');
    });

    it('answers 404 when no sync engine is attached', async function () {
      t.clock.advance(60_000);
      t.cloud.setProvisionOnDemandHook(null);
      await assert.rejects(t.graph.api(path).post(body('CN=X,DC=contoso,DC=com')), (e: unknown) => isGraphError(e) && e.statusCode === 404);
    });
  });
});
