/**
 * The sandbox's Teams app: its manifest id and bot id are the sandbox app package's (env/.env.sandbox), and the activity
 * types it declares in the catalog are read from appPackage/manifest.json.
 */
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../src/paths';
import { manifestActivityTypes, publishMailroomTeamsApp, SANDBOX_TEAMS_BOT_ID, SANDBOX_TEAMS_MANIFEST_ID } from '../../src/sandbox';
import { Tenant } from '../../src/sandbox/cloud/tenant';

function envValue(text: string, name: string): string | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}=`));
  return line?.slice(name.length + 1).trim();
}

describe("sandbox: Mailroom's Teams app in the tenant's catalog", function () {
  it('uses the manifest id (TEAMS_APP_ID) and bot id (APP_PACKAGE_BOT_ID) of env/.env.sandbox', async function () {
    const env = await readFile(path.join(projectRoot(), 'env', '.env.sandbox'), 'utf8');
    assert.equal(envValue(env, 'TEAMS_APP_ID'), SANDBOX_TEAMS_MANIFEST_ID);
    assert.equal(envValue(env, 'APP_PACKAGE_BOT_ID'), SANDBOX_TEAMS_BOT_ID);
  });

  it("declares the manifest's activities.activityTypes[].type, none without an activities section, and keeps its catalog id", async function () {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mailroom-teams-app-'));
    try {
      await mkdir(path.join(dir, 'appPackage'));
      const file = path.join(dir, 'appPackage', 'manifest.json');
      await writeFile(file, JSON.stringify({ id: '${{TEAMS_APP_ID}}' }));
      assert.deepEqual(manifestActivityTypes(dir), []);
      await writeFile(file, JSON.stringify({ activities: { activityTypes: [{ type: 'approvalRequested', description: 'x', templateText: '{actor} asks' }, { type: 'reminder' }] } }));
      assert.deepEqual(manifestActivityTypes(dir), ['approvalRequested', 'reminder']);

      const tenant = new Tenant({ tenantId: 'c0ffee00-0000-4000-8000-000000000001' });
      const clientId = tenant.apps()[0]!.clientId;
      const first = publishMailroomTeamsApp(tenant, clientId, dir);
      const again = publishMailroomTeamsApp(tenant, clientId, dir);
      assert.equal(again.appCatalogId, first.appCatalogId);
      assert.equal(tenant.teams.catalogApps().length, 1);
      const app = tenant.teams.catalogApp(first.appCatalogId)!;
      assert.deepEqual(app.activityTypes, ['approvalRequested', 'reminder']);
      assert.equal(app.externalId, SANDBOX_TEAMS_MANIFEST_ID);
      assert.equal(app.webApplicationInfoId, clientId);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
