/**
 * The doctor's cloud checks against the shared sandbox: all ✔ as the sandbox comes, then each right taken away (a
 * Graph permission, the Exchange role, Exchange.ManageAsApp, the running sync job, free licences, the mail domain, the
 * sign-in) gives exactly the ✖ lines it should, with the advice that fixes it. Every change is put back in `finally`:
 * other suites share the sandbox. The checks sign in afresh each run, so they see a change at once.
 */
import assert from 'node:assert/strict';
import { ClientSecretCredential } from '@azure/identity';
import type { CloudConfig, MailroomConfig, ProfileSettings } from '../../src/config/config';
import { loadConfig } from '../../src/config/config';
import { cloudChecks, graphPermissionsNeeded, MAILROOM_GRAPH_PERMISSIONS, tokenAdvice } from '../../src/doctor/cloud';
import { MAILROOM_EXO_CMDLETS } from '../../src/doctor/exo-rbac';
import { formatReport, runChecks, type CheckLine } from '../../src/doctor/report';
import { projectRoot } from '../../src/paths';
import type { Sandbox } from '../../src/sandbox';
import { sandboxOverrides } from '../../src/sandbox/overrides';
import { SANDBOX_MAIL_DOMAIN } from '../../src/sandbox/people';
import {
  getSharedSandbox,
  removeAcceptedDomain,
  revokeExchangeRoles,
  revokeGraphPermissions,
  setSyncJobStatus,
  useUpLicences,
} from '../harness/sandbox';

const LINES = [
  'Microsoft Entra ID: token for Microsoft Graph',
  'Microsoft Graph: application permission User.ReadWrite.All',
  'Microsoft Graph: application permission GroupMember.Read.All',
  'Microsoft Graph: application permission OrgContact.Read.All',
  'Microsoft Graph: application permission LicenseAssignment.Read.All',
  'Microsoft Graph: application permission Synchronization.ReadWrite.All',
  'Exchange Online: application permission Exchange.ManageAsApp',
  "Exchange Online: Mailroom's read cmdlets answer",
  'Directory sync: Cloud Sync job',
  'Licences: Exchange Online licence',
  "Exchange Online: accepted domains include Mailroom's",
];

describe('doctor: cloud checks against the sandbox', function () {
  this.timeout(120_000);
  let sandbox: Sandbox;
  let config: MailroomConfig;
  let cloud: CloudConfig;
  let restoreUnits: (() => void) | undefined;

  before(async function () {
    this.timeout(10 * 60_000);
    sandbox = await getSharedSandbox();
    config = loadConfig({ rootDir: projectRoot(), envName: 'sandbox', env: {}, overrides: { ...sandboxOverrides(sandbox.endpoints), MAIL_DOMAIN: SANDBOX_MAIL_DOMAIN } });
    cloud = config.cloud!;
    // other suites use the shared tenant's licences: make sure some are free while this suite runs
    const skuId = sandbox.endpoints.skus.exchangeOnline;
    const sku = sandbox.tenant.subscribedSkus().find((s) => s.skuId === skuId)!;
    if (sku.prepaidUnits - sku.consumedUnits < 1) {
      sandbox.tenant.setSkuUnits(skuId, sku.consumedUnits + 5);
      restoreUnits = () => sandbox.tenant.setSkuUnits(skuId, sku.prepaidUnits);
    }
  });

  after(function () {
    restoreUnits?.();
  });

  async function doctor(profile: Partial<ProfileSettings> = {}, cloudChange: Partial<CloudConfig> = {}): Promise<CheckLine[]> {
    const report = await runChecks(cloudChecks({ cloud: { ...cloud, ...cloudChange }, profile: { ...config.profile, ...profile }, extraCaFile: config.extraCaFile }));
    return [...report.lines];
  }

  /** The doctor's lines while `change` holds (it makes a change to the tenant and returns how to undo it). */
  async function doctorWhile(change: () => () => void, profile: Partial<ProfileSettings> = {}): Promise<CheckLine[]> {
    const restore = change();
    try {
      return await doctor(profile);
    } finally {
      restore();
    }
  }

  const key = (l: CheckLine): string => `${l.area}: ${l.name}`;
  const failed = (lines: readonly CheckLine[]): string[] => lines.filter((l) => !l.ok).map(key);
  function line(lines: readonly CheckLine[], name: string): CheckLine {
    const l = lines.find((x) => key(x) === name);
    assert.ok(l, `no line "${name}" in:\n${formatReport({ lines, ok: false })}`);
    return l;
  }

  it('reports every line ✔ for the sandbox as it comes (Cloud Sync, direct licence, least-privileged Graph permissions)', async function () {
    const lines = await doctor();
    assert.deepEqual(lines.map(key), LINES);
    assert.deepEqual(failed(lines), [], formatReport({ lines, ok: false }));
    assert.match(line(lines, 'Directory sync: Cloud Sync job').detail, /is Active; provision on demand is allowed/);
    assert.match(line(lines, 'Licences: Exchange Online licence').detail, /Exchange Online \(Plan 1\) \(EXCHANGESTANDARD\): \d+ of \d+ free/);
    assert.match(line(lines, "Exchange Online: accepted domains include Mailroom's").detail, /contoso\.example \(MAIL_DOMAIN\) is accepted/);
  });

  describe('each Graph permission taken away', function () {
    const needs = () => graphPermissionsNeeded({ sync: 'cloud', syncServicePrincipalId: 'x', syncJobId: 'y', ous: {} });
    /** Lines that need the permission's calls themselves, besides its own line. */
    const dependents: Record<string, string[]> = {
      'Synchronization.ReadWrite.All': ['Directory sync: Cloud Sync job'],
      'LicenseAssignment.Read.All': ['Licences: Exchange Online licence'],
    };

    for (const need of MAILROOM_GRAPH_PERMISSIONS.filter((n) => n.when !== 'group-licensing' && n.when !== 'teams-reach')) {
      it(`${need.permission}: its line ✖ with the consent advice${dependents[need.permission] ? `, and ${dependents[need.permission]!.join(', ')} ✖ because Graph refuses that call` : ''}`, async function () {
        assert.ok(needs().includes(need));
        // everything that would stand in for it goes, so the app holds none of need.satisfiedBy
        const lines = await doctorWhile(() => revokeGraphPermissions(sandbox, need.satisfiedBy));
        const own = `Microsoft Graph: application permission ${need.permission}`;
        assert.deepEqual(failed(lines), [own, ...(dependents[need.permission] ?? [])].sort((a, b) => LINES.indexOf(a) - LINES.indexOf(b)), formatReport({ lines, ok: false }));
        const l = line(lines, own);
        assert.match(l.detail, /^Not granted: the token's roles are /);
        assert.match(l.advice ?? '', new RegExp(`Application permissions → ${need.permission.replace(/\./g, '\\.')}, then "Grant admin consent"`));
        for (const d of dependents[need.permission] ?? []) assert.match(line(lines, d).advice ?? '', new RegExp(`lacks ${need.permission.replace(/\./g, '\\.')}`));
      });
    }

    it('with a licensing group: GroupMember.ReadWrite.All and Directory.Read.All are needed too, and the group is checked; Directory.Read.All taken away → only its line ✖', async function () {
      const group = sandbox.tenant.createCloudGroup({ displayName: `Doctor licensing ${Date.now()}`, securityEnabled: true });
      sandbox.tenant.assignGroupLicense(group.id, [{ skuId: sandbox.endpoints.skus.exchangeOnline }], []);
      const profile: Partial<ProfileSettings> = { licensing: { mode: 'group', groupId: group.id, groupName: group.displayName } };
      const ok = await doctor(profile);
      assert.deepEqual(failed(ok), [], formatReport({ lines: ok, ok: false }));
      const name = `Licences: licensing group ${group.displayName}`;
      assert.match(line(ok, name).detail, /gives Exchange Online \(Plan 1\) \(\d+ of \d+ free\)/);
      assert.ok(ok.some((l) => key(l) === 'Microsoft Graph: application permission GroupMember.ReadWrite.All'));
      const lines = await doctorWhile(() => revokeGraphPermissions(sandbox, ['Directory.Read.All', 'Directory.ReadWrite.All']), profile);
      assert.deepEqual(failed(lines), ['Microsoft Graph: application permission Directory.Read.All'], formatReport({ lines, ok: false }));
      assert.match(line(lines, 'Microsoft Graph: application permission Directory.Read.All').advice ?? '', /LICENSING names a licensing group/);
      const missing = await doctor({ licensing: { mode: 'group', groupId: '00000000-0000-4000-8000-00000000dead', groupName: 'Gone' } });
      assert.deepEqual(failed(missing), ['Licences: licensing group Gone']);
      assert.match(line(missing, 'Licences: licensing group Gone').advice ?? '', /Check LICENSING/);
    });
  });

  describe('Exchange Online', function () {
    it('the Exchange role taken away: the cmdlets answer 401 "User is not allowed to call …" and the advice names the Entra role and the --print-exo-rbac recipe', async function () {
      const lines = await doctorWhile(() => revokeExchangeRoles(sandbox));
      // Get-AcceptedDomain is refused too, so the domain line cannot be checked either
      assert.deepEqual(failed(lines), ["Exchange Online: Mailroom's read cmdlets answer", "Exchange Online: accepted domains include Mailroom's"], formatReport({ lines, ok: false }));
      const l = line(lines, "Exchange Online: Mailroom's read cmdlets answer");
      assert.match(l.detail, /401 "User is not allowed to call …" for Get-OrganizationConfig, Get-Recipient, Get-User, Get-Mailbox/);
      assert.match(l.advice ?? '', /Exchange Administrator \(or Exchange Recipient Administrator\)/);
      assert.match(l.advice ?? '', /npm run doctor -- --print-exo-rbac/);
    });

    it('with the --print-exo-rbac role groups instead of the Entra role, every line is ✔', async function () {
      const lines = await doctorWhile(() => {
        const restore = revokeExchangeRoles(sandbox);
        sandbox.tenant.setAppGrants(sandbox.endpoints.clientId, { exchangeManagementRoles: [...new Set(MAILROOM_EXO_CMDLETS.map((c) => c.role))] });
        return restore;
      });
      assert.deepEqual(failed(lines), [], formatReport({ lines, ok: false }));
    });

    it('Exchange.ManageAsApp taken away: its line ✖ with the consent advice; Exchange refuses the cmdlets (403)', async function () {
      const lines = await doctorWhile(() => revokeExchangeRoles(sandbox, { manageAsApp: true }));
      assert.deepEqual(
        failed(lines),
        ['Exchange Online: application permission Exchange.ManageAsApp', "Exchange Online: Mailroom's read cmdlets answer", "Exchange Online: accepted domains include Mailroom's"],
        formatReport({ lines, ok: false }),
      );
      assert.match(line(lines, 'Exchange Online: application permission Exchange.ManageAsApp').advice ?? '', /Office 365 Exchange Online → Application permissions → Exchange\.ManageAsApp/);
      assert.match(line(lines, "Exchange Online: Mailroom's read cmdlets answer").advice ?? '', /HTTP 403/);
    });

    it('the mail domain removed from the accepted domains: only that line ✖, naming MAIL_DOMAIN', async function () {
      const lines = await doctorWhile(() => removeAcceptedDomain(sandbox, SANDBOX_MAIL_DOMAIN));
      assert.deepEqual(failed(lines), ["Exchange Online: accepted domains include Mailroom's"], formatReport({ lines, ok: false }));
      const l = line(lines, "Exchange Online: accepted domains include Mailroom's");
      assert.match(l.detail, /^contoso\.example \(MAIL_DOMAIN, for new primary addresses\) is not among the accepted domains: .*contoso-sandbox\.onmicrosoft\.com/);
      assert.doesNotMatch(l.detail, /domains: .*contoso\.example/);
      assert.match(l.advice ?? '', /Settings → Domains/);
    });
  });

  describe('directory sync', function () {
    it('the Cloud Sync job paused: only its line ✖, with how to start it', async function () {
      const lines = await doctorWhile(() => setSyncJobStatus(sandbox, 'Paused'));
      assert.deepEqual(failed(lines), ['Directory sync: Cloud Sync job']);
      const l = line(lines, 'Directory sync: Cloud Sync job');
      assert.match(l.detail, /is paused/);
      assert.match(l.advice ?? '', /synchronization-synchronizationjob-start/);
    });

    it('the Cloud Sync job in quarantine: only its line ✖, with the reason and error', async function () {
      const lines = await doctorWhile(() => setSyncJobStatus(sandbox, 'Quarantine', { reason: 'EncounteredQuarantineException', errorCode: 'HybridIdentityServiceNoActiveAgents', message: 'No provisioning agent is active.' }));
      assert.deepEqual(failed(lines), ['Directory sync: Cloud Sync job']);
      const l = line(lines, 'Directory sync: Cloud Sync job');
      assert.match(l.detail, /in quarantine \(EncounteredQuarantineException: HybridIdentityServiceNoActiveAgents: No provisioning agent is active\.\)/);
      assert.match(l.advice ?? '', /restart the job, which clears the quarantine/);
    });

    it('a job id Graph does not know: ✖ naming SYNC_SERVICE_PRINCIPAL_ID and SYNC_JOB_ID', async function () {
      const lines = await doctor({ syncJobId: 'AD2AADProvisioning.nope' });
      assert.deepEqual(failed(lines), ['Directory sync: Cloud Sync job']);
      assert.match(line(lines, 'Directory sync: Cloud Sync job').advice ?? '', /SYNC_SERVICE_PRINCIPAL_ID and SYNC_JOB_ID/);
    });

    it('Entra Connect Sync: ✔ saying the 30-minute cycle applies; Synchronization.ReadWrite.All is not asked for', async function () {
      const lines = await doctor({ sync: 'connect', syncServicePrincipalId: undefined, syncJobId: undefined });
      assert.deepEqual(failed(lines), []);
      assert.ok(!lines.some((l) => /Synchronization/.test(l.name)));
      assert.match(line(lines, 'Directory sync: Entra Connect Sync').detail, /every 30 minutes by default/);
    });
  });

  it('no free Exchange Online licence: only the licence line ✖, with what to buy', async function () {
    const lines = await doctorWhile(() => useUpLicences(sandbox));
    assert.deepEqual(failed(lines), ['Licences: Exchange Online licence']);
    const l = line(lines, 'Licences: Exchange Online licence');
    assert.match(l.detail, /has no free unit: (\d+) of \1 are used/);
    assert.match(l.advice ?? '', /Billing → Your products/);
  });

  describe('sign-in', function () {
    it('a wrong client secret: the token line ✖ with AADSTS7000215 and the Value-not-ID advice; the rest are not checked', async function () {
      const lines = await doctor({}, { clientSecret: 'not-the-secret' });
      const l = line(lines, 'Microsoft Entra ID: token for Microsoft Graph');
      assert.equal(l.ok, false);
      assert.match(l.detail, /AADSTS7000215/);
      assert.doesNotMatch(formatReport({ lines, ok: false }), /not-the-secret/, 'no secret in the report');
      assert.match(l.advice ?? '', /Value .*not its Secret ID/);
      assert.ok(lines.every((x) => !x.ok), 'nothing else can be checked');
    });

    it('a wrong tenant and an unknown app: the advice names TENANT_ID and CLIENT_ID', async function () {
      const tenant = line(await doctor({}, { tenantId: '00000000-0000-4000-8000-000000000000' }), 'Microsoft Entra ID: token for Microsoft Graph');
      assert.match(tenant.detail, /AADSTS90002/);
      assert.match(tenant.advice ?? '', /check TENANT_ID/);
      const app = line(await doctor({}, { clientId: '00000000-0000-4000-8000-0000000000ff' }), 'Microsoft Entra ID: token for Microsoft Graph');
      assert.match(app.detail, /AADSTS700016/);
      assert.match(app.advice ?? '', /check CLIENT_ID/);
    });

    it('an authority that does not answer: the advice names AUTHORITY_HOST', async function () {
      const authorityHost = 'https://127.0.0.1:9';
      // the production credential but without MSAL's retries (which only make the test slower)
      const credential = new ClientSecretCredential(cloud.tenantId, cloud.clientId, cloud.clientSecret!, { authorityHost, disableInstanceDiscovery: true, retryOptions: { maxRetries: 0 } });
      const report = await runChecks(cloudChecks({ cloud: { ...cloud, authorityHost }, profile: config.profile, extraCaFile: config.extraCaFile, credential }));
      const l = line(report.lines, 'Microsoft Entra ID: token for Microsoft Graph');
      assert.equal(l.ok, false);
      assert.match(l.advice ?? '', /could not reach the sign-in authority https:\/\/127\.0\.0\.1:9: check AUTHORITY_HOST/);
    });

    it('maps the certificate and expired-secret codes to their fixes', function () {
      assert.match(tokenAdvice(new Error('AADSTS700027: Client assertion contains an invalid signature.'), { ...cloud, clientCertificatePath: '/x.pem' }), /upload the public part of CLIENT_CERTIFICATE_PATH/);
      assert.match(tokenAdvice(new Error('AADSTS7000222: The provided client secret keys are expired.'), cloud), /has expired/);
    });
  });
});
