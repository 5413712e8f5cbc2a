/**
 * Conformance: the Microsoft Graph calls with which Mailroom reaches approvers who never opened it (the app catalog,
 * installing the Teams app for a user, the personal chat, activity feed notifications, Teams' installationUpdate
 * event to the bot) and transitive group membership. Each rule names the Microsoft page it follows. Part one runs
 * against an emulator of its own (HTTPS, tokens from its token endpoint, apps holding exactly the permissions under
 * test); part two against the conformance sandbox with the sandbox's own app (Mailroom's permissions), AD groups
 * nested in Samba and synced.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ClientSecretCredential } from '@azure/identity';
import type { Sandbox } from '../../../src/sandbox';
import { manifestActivityTypes, SANDBOX_TEAMS_BOT_ID, SANDBOX_TEAMS_MANIFEST_ID } from '../../../src/sandbox';
import { sandboxOverrides } from '../../../src/sandbox/overrides';
import type { TeamsCatalogApp } from '../../../src/sandbox/cloud/tenant';
import { adUser, credentialFor, httpsCall, startTestCloud, type TestCloud } from '../cloud-fixture';
import { ConformanceSuite, getConformanceSandbox } from '../../harness/conformance';

interface GraphErrorBody {
  error?: { code: string; message: string };
}
type Json = GraphErrorBody & Record<string, unknown>;
interface Answer {
  status: number;
  text: string;
  json: Json;
}

const LEARN = 'learn.microsoft.com/graph/api';
const INSTALL = 'TeamsAppInstallation.ReadWriteSelfForUser.All';
const READ_INSTALLS = 'TeamsAppInstallation.ReadForUser.All';
const SEND = 'TeamsActivity.Send';
const CATALOG = 'AppCatalog.Read.All';

/** Accepts POSTs the way a bot's messaging endpoint does and records them. */
async function startBotEndpoint(): Promise<{ url: string; received: Record<string, unknown>[]; next(): Promise<Record<string, unknown>>; close(): Promise<void> }> {
  const received: Record<string, unknown>[] = [];
  const waiters: ((a: Record<string, unknown>) => void)[] = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const activity = JSON.parse(raw) as Record<string, unknown>;
      received.push(activity);
      res.writeHead(200);
      res.end();
      waiters.shift()?.(activity);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/api/messages`,
    received,
    next: () => new Promise((resolve) => waiters.push(resolve)),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('conformance: reaching approvers through Teams (app catalog, installation, chat, activity feed) and transitive groups', function () {
  describe('the emulator, with apps holding exactly the permissions under test', function () {
    let t: TestCloud;
    let app: TeamsCatalogApp;
    let other: TeamsCatalogApp;
    let alice: string;
    let bob: string;
    let carol: string;
    const creds = new Map<string, ClientSecretCredential>();
    /** The sender's Entra app: named in the catalog app's webApplicationInfo.id, holding what Mailroom asks for. */
    let mailroom: ClientSecretCredential;

    function appWith(roles: string[]): ClientSecretCredential {
      const key = roles.join('+');
      let c = creds.get(key);
      if (!c) {
        const reg = t.tenant.registerApp({ displayName: `Teams ${key || 'none'}`, graphRoles: roles });
        c = credentialFor(t.cloud, reg.secrets[0], reg.clientId);
        creds.set(key, c);
      }
      return c;
    }

    async function graph(cred: ClientSecretCredential, method: string, path: string, body?: unknown): Promise<Answer> {
      const token = (await cred.getToken('https://graph.microsoft.com/.default')).token;
      const res = await httpsCall(t.cloud, method, `${t.cloud.graphUrl}${path}`, body, { authorization: `Bearer ${token}` });
      return { status: res.status, text: res.text, json: (res.json ?? {}) as Json };
    }

    function assertDenied(res: Answer): void {
      assert.equal(res.status, 403, res.text);
      assert.equal(res.json.error?.code, 'Authorization_RequestDenied');
      assert.equal(res.json.error?.message, 'Insufficient privileges to complete the operation.');
    }

    const bind = (id: string): { 'teamsApp@odata.bind': string } => ({ 'teamsApp@odata.bind': `https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/${id}` });
    const install = (userId: string, catalogId: string, cred = mailroom): Promise<Answer> => graph(cred, 'POST', `/users/${userId}/teamwork/installedApps`, bind(catalogId));
    const notification = (activityType = 'approvalRequested'): Record<string, unknown> => ({
      topic: { source: 'text', value: 'Request 42', webUrl: 'https://teams.microsoft.com/l/chat/0/0' },
      activityType,
      previewText: { content: 'A request waits for your approval' },
      templateParameters: [{ name: 'requestId', value: '42' }],
    });

    before(async function () {
      t = await startTestCloud();
      const reg = t.tenant.registerApp({ displayName: 'Mailroom', graphRoles: [INSTALL, SEND, CATALOG, 'GroupMember.Read.All'] });
      mailroom = credentialFor(t.cloud, reg.secrets[0], reg.clientId);
      app = t.tenant.teams.publishApp({
        externalId: '5b1e0d3c-6f4a-4c55-9a11-4d7e5a0c2f01',
        displayName: 'Mailroom',
        botId: 'b0b0b0b0-0000-4000-8000-000000000001',
        webApplicationInfoId: reg.clientId,
        activityTypes: ['approvalRequested'],
      });
      other = t.tenant.teams.publishApp({ externalId: '5b1e0d3c-6f4a-4c55-9a11-4d7e5a0c2f02', displayName: 'Other app', botId: null });
      alice = t.tenant.upsertSyncedUser(adUser('teams-alice')).entraId;
      bob = t.tenant.upsertSyncedUser(adUser('teams-bob')).entraId;
      carol = t.tenant.upsertSyncedUser(adUser('teams-carol')).entraId;
    });

    after(async function () {
      await t?.stop();
    });

    describe('app catalog', function () {
      it(`${LEARN}/appcatalogs-list-teamsapps: $filter=externalId eq '<manifest id>' answers 200 with the app's catalog id, externalId, displayName and distributionMethod`, async function () {
        const res = await graph(mailroom, 'GET', `/appCatalogs/teamsApps?$filter=${encodeURIComponent(`externalId eq '${app.externalId}'`)}`);
        assert.equal(res.status, 200, res.text);
        assert.match(String(res.json['@odata.context']), /\/\$metadata#appCatalogs\/teamsApps$/);
        assert.deepEqual(res.json.value, [{ id: app.id, externalId: app.externalId, displayName: 'Mailroom', distributionMethod: 'organization' }]);
        const none = await graph(mailroom, 'GET', `/appCatalogs/teamsApps?$filter=${encodeURIComponent("externalId eq 'not-published'")}`);
        assert.deepEqual(none.json.value, []);
      });

      it(`${LEARN}/appcatalogs-list-teamsapps: application permission AppCatalog.Read.All or AppCatalog.ReadWrite.All; Directory.Read.All (delegated only) is refused`, async function () {
        assert.equal((await graph(appWith(['AppCatalog.ReadWrite.All']), 'GET', '/appCatalogs/teamsApps')).status, 200);
        assertDenied(await graph(appWith(['Directory.Read.All']), 'GET', '/appCatalogs/teamsApps'));
        assertDenied(await graph(appWith([INSTALL]), 'GET', '/appCatalogs/teamsApps'));
      });
    });

    describe('installing the app for a user', function () {
      it(`${LEARN}/userteamwork-post-installedapps: 201 Created with no body; the same app again answers 409 Conflict`, async function () {
        const res = await install(alice, app.id);
        assert.equal(res.status, 201, res.text);
        assert.equal(res.text, '');
        const again = await install(alice, app.id);
        assert.equal(again.status, 409, again.text);
        assert.equal(again.json.error?.code, 'Conflict');
        assert.equal(t.tenant.teams.installations(alice).length, 1);
      });

      it(`${LEARN}/userteamwork-post-installedapps: an app not in the catalog or an unknown user answers 404; a body without teamsApp@odata.bind 400`, async function () {
        const unknownApp = await install(bob, '00000000-1111-4222-8333-444444444444');
        assert.equal(unknownApp.status, 404, unknownApp.text);
        const unknownUser = await install('00000000-1111-4222-8333-555555555555', app.id);
        assert.equal(unknownUser.status, 404, unknownUser.text);
        const noBind = await graph(mailroom, 'POST', `/users/${bob}/teamwork/installedApps`, { teamsApp: app.id });
        assert.equal(noBind.status, 400, noBind.text);
        assert.match(noBind.json.error?.message ?? '', /teamsApp@odata\.bind.*Nothing was installed/);
        assert.deepEqual(t.tenant.teams.installations(bob), []);
      });

      it(`${LEARN}/userteamwork-post-installedapps: application permission TeamsAppInstallation.ReadWriteSelfForUser.All or a higher one (ReadWriteForUser.All); ReadForUser.All is refused`, async function () {
        assertDenied(await install(carol, app.id, appWith([READ_INSTALLS])));
        assertDenied(await install(carol, app.id, appWith(['Directory.ReadWrite.All'])));
        assert.equal((await install(carol, app.id, appWith(['TeamsAppInstallation.ReadWriteForUser.All']))).status, 201);
      });
    });

    describe('the installation and its chat', function () {
      let installationId = '';

      it(`${LEARN}/userteamwork-list-installedapps: $expand=teamsApp&$filter=teamsApp/id eq '<catalog id>' answers the installation with its teamsApp`, async function () {
        const filter = encodeURIComponent(`teamsApp/id eq '${app.id}'`);
        const res = await graph(appWith([READ_INSTALLS]), 'GET', `/users/${alice}/teamwork/installedApps?$expand=teamsApp&$filter=${filter}`);
        assert.equal(res.status, 200, res.text);
        const value = res.json.value as { id: string; teamsApp: unknown }[];
        assert.equal(value.length, 1);
        installationId = value[0]!.id;
        assert.ok(installationId);
        assert.deepEqual(value[0]!.teamsApp, { id: app.id, externalId: app.externalId, displayName: 'Mailroom', distributionMethod: 'organization' });
        const otherApp = await graph(mailroom, 'GET', `/users/${alice}/teamwork/installedApps?$expand=teamsApp&$filter=${encodeURIComponent(`teamsApp/id eq '${other.id}'`)}`);
        assert.deepEqual(otherApp.json.value, []);
      });

      it(`${LEARN}/userteamwork-list-installedapps: application permission TeamsAppInstallation.ReadForUser.All or a higher one; TeamsActivity.Send is refused`, async function () {
        assertDenied(await graph(appWith([SEND]), 'GET', `/users/${alice}/teamwork/installedApps`));
        assert.equal((await graph(mailroom, 'GET', `/users/${alice}/teamwork/installedApps`)).status, 200);
      });

      it(`${LEARN}/userscopeteamsappinstallation-get-chat: the oneOnOne chat of the user and the app, the same id on every read and after a reinstall`, async function () {
        const res = await graph(appWith([READ_INSTALLS]), 'GET', `/users/${alice}/teamwork/installedApps/${encodeURIComponent(installationId)}/chat`);
        assert.equal(res.status, 200, res.text);
        assert.equal(res.json.chatType, 'oneOnOne');
        const chatId = String(res.json.id);
        assert.match(chatId, /^19:.+@unq\.gbl\.spaces$/);
        const bobs = t.tenant.teams.installations(carol)[0]!;
        const bobChat = await graph(mailroom, 'GET', `/users/${carol}/teamwork/installedApps/${encodeURIComponent(bobs.id)}/chat`);
        assert.notEqual(bobChat.json.id, chatId, 'each user has a chat of their own with the app');
        assert.equal((await graph(mailroom, 'DELETE', `/users/${alice}/teamwork/installedApps/${encodeURIComponent(installationId)}`)).status, 204);
        const gone = await graph(mailroom, 'GET', `/users/${alice}/teamwork/installedApps/${encodeURIComponent(installationId)}/chat`);
        assert.equal(gone.status, 404, gone.text);
        assert.equal((await install(alice, app.id)).status, 201);
        const again = await graph(mailroom, 'GET', `/users/${alice}/teamwork/installedApps/${encodeURIComponent(installationId)}/chat`);
        assert.equal(again.json.id, chatId);
        assertDenied(await graph(appWith([SEND]), 'GET', `/users/${alice}/teamwork/installedApps/${encodeURIComponent(installationId)}/chat`));
      });
    });

    describe('activity feed notifications', function () {
      const send = (userId: string, body: unknown, cred = mailroom): Promise<Answer> => graph(cred, 'POST', `/users/${userId}/teamwork/sendActivityNotification`, body);

      it(`${LEARN}/userteamwork-sendactivitynotification: 204 No Content, and the tenant records the notification`, async function () {
        const before = t.tenant.teams.activityNotifications(alice).length;
        const res = await send(alice, notification());
        assert.equal(res.status, 204, res.text);
        assert.equal(res.text, '');
        const sent = t.tenant.teams.activityNotifications(alice);
        assert.equal(sent.length, before + 1);
        const last = sent[sent.length - 1]!;
        assert.equal(last.userId, alice);
        assert.equal(last.activityType, 'approvalRequested');
        assert.deepEqual(last.topic, { source: 'text', value: 'Request 42', webUrl: 'https://teams.microsoft.com/l/chat/0/0' });
        assert.deepEqual(last.previewText, { content: 'A request waits for your approval' });
        assert.deepEqual(last.templateParameters, [{ name: 'requestId', value: '42' }]);
        assert.ok(!Number.isNaN(Date.parse(last.at)));
      });

      it('learn.microsoft.com/graph/teams-send-activityfeednotifications: the Teams app must be installed for the recipient (403 Forbidden, nothing recorded)', async function () {
        const res = await send(bob, notification());
        assert.equal(res.status, 403, res.text);
        assert.equal(res.json.error?.code, 'Forbidden');
        assert.match(res.json.error?.message ?? '', /not installed for user/);
        assert.deepEqual(t.tenant.teams.activityNotifications(bob), []);
      });

      it(`${LEARN}/userteamwork-sendactivitynotification: the activity type must be declared in the app manifest (400), systemDefault is reserved and always allowed`, async function () {
        const res = await send(alice, notification('taskCreated'));
        assert.equal(res.status, 400, res.text);
        assert.match(res.json.error?.message ?? '', /'taskCreated' is not declared.*'approvalRequested'/);
        const systemDefault = await send(alice, { ...notification('systemDefault'), templateParameters: [{ name: 'systemDefaultText', value: 'Free text' }] });
        assert.equal(systemDefault.status, 204, systemDefault.text);
      });

      it(`${LEARN}/userteamwork-sendactivitynotification: webUrl is required with topic source text, previewText is required (400, nothing recorded)`, async function () {
        const before = t.tenant.teams.activityNotifications(alice).length;
        const noUrl = await send(alice, { ...notification(), topic: { source: 'text', value: 'Request 42' } });
        assert.equal(noUrl.status, 400, noUrl.text);
        assert.match(noUrl.json.error?.message ?? '', /webUrl is required/);
        const { previewText: _omitted, ...noPreview } = notification();
        const res = await send(alice, noPreview);
        assert.equal(res.status, 400, res.text);
        assert.match(res.json.error?.message ?? '', /previewText is required/);
        assert.equal(t.tenant.teams.activityNotifications(alice).length, before);
      });

      it(`${LEARN}/userteamwork-sendactivitynotification: application permission TeamsActivity.Send; TeamsAppInstallation.ReadWriteForUser.All is refused`, async function () {
        assertDenied(await send(alice, notification(), appWith(['TeamsAppInstallation.ReadWriteForUser.All'])));
      });

      it('learn.microsoft.com/graph/teams-send-activityfeednotifications: the sender is the Teams app whose manifest names the calling Entra app in webApplicationInfo (403 for an app that no catalog app names)', async function () {
        const res = await send(alice, notification(), appWith([SEND]));
        assert.equal(res.status, 403, res.text);
        assert.match(res.json.error?.message ?? '', /webApplicationInfo/);
      });
    });

    describe("Teams' installationUpdate event to the bot", function () {
      it('learn.microsoft.com/microsoftteams/platform/bots/how-to/conversations/subscribe-to-conversation-events (Installation update event): installing through Graph POSTs installationUpdate/add for the personal chat to the bot', async function () {
        const bot = await startBotEndpoint();
        try {
          t.tenant.teams.configure({ botEndpoint: bot.url, serviceUrl: 'http://127.0.0.1:9/connector', botId: app.botId! });
          const arrived = bot.next();
          assert.equal((await install(bob, app.id)).status, 201);
          const activity = await arrived;
          const chatId = t.tenant.teams.installations(bob)[0]!.chatId;
          assert.equal(activity.type, 'installationUpdate');
          assert.equal(activity.action, 'add');
          assert.equal(activity.channelId, 'msteams');
          assert.equal(activity.serviceUrl, 'http://127.0.0.1:9/connector');
          assert.deepEqual(activity.conversation, { id: chatId, conversationType: 'personal', tenantId: t.tenant.tenantId });
          assert.deepEqual(activity.recipient, { id: `28:${app.botId!}`, name: 'Mailroom' });
          const from = activity.from as { id: string; aadObjectId: string };
          assert.equal(from.aadObjectId, bob);
          assert.match(from.id, /^29:/);
          assert.deepEqual((activity.channelData as { tenant: unknown }).tenant, { id: t.tenant.tenantId });
          // The chat Graph answers is the conversation the bot was told about.
          const inst = t.tenant.teams.installations(bob)[0]!;
          const chat = await graph(mailroom, 'GET', `/users/${bob}/teamwork/installedApps/${encodeURIComponent(inst.id)}/chat`);
          assert.equal(chat.json.id, activity.conversation && (activity.conversation as { id: string }).id);
        } finally {
          t.tenant.teams.configure(null);
          await bot.close();
        }
      });

      it('without a configured bot nothing is sent; an unreachable bot does not change the 201 (the failure is logged)', async function () {
        const sentBefore = t.tenant.teams.botDeliveries().length;
        const u1 = t.tenant.upsertSyncedUser(adUser('teams-dave')).entraId;
        assert.equal((await install(u1, app.id)).status, 201);
        assert.equal(t.tenant.teams.botDeliveries().length, sentBefore);

        const bot = await startBotEndpoint();
        const url = bot.url;
        await bot.close(); // nothing listens there any more
        const logged: string[] = [];
        let reportLogged: () => void = () => undefined;
        const loggedOnce = new Promise<void>((resolve) => (reportLogged = resolve));
        t.tenant.teams.configure({ botEndpoint: url, serviceUrl: 'http://127.0.0.1:9/connector', botId: app.botId!, log: (m) => { logged.push(m); reportLogged(); } });
        try {
          const u2 = t.tenant.upsertSyncedUser(adUser('teams-erin')).entraId;
          assert.equal((await install(u2, app.id)).status, 201);
          await loggedOnce;
          const last = t.tenant.teams.botDeliveries().at(-1)!;
          assert.equal(last.state, 'failed');
          assert.match(logged[0] ?? '', /installationUpdate \(add\).*could not reach/);
        } finally {
          t.tenant.teams.configure(null);
        }
      });
    });

    describe('transitive group members', function () {
      let outer = '';
      let inner = '';
      let innermost = '';

      before(function () {
        // Cloud groups: outer ⊃ {alice, inner}, inner ⊃ {bob, innermost}, innermost ⊃ {carol, outer} (a cycle).
        outer = t.tenant.createCloudGroup({ displayName: 'Approvers (outer)', securityEnabled: true }).id;
        inner = t.tenant.createCloudGroup({ displayName: 'Approvers (inner)', securityEnabled: true }).id;
        innermost = t.tenant.createCloudGroup({ displayName: 'Approvers (innermost)', securityEnabled: true }).id;
        t.tenant.addGroupMember(outer, alice);
        t.tenant.addGroupMember(outer, inner);
        t.tenant.addGroupMember(inner, bob);
        t.tenant.addGroupMember(inner, innermost);
        t.tenant.addGroupMember(innermost, carol);
        t.tenant.addGroupMember(innermost, outer);
      });

      it(`${LEARN}/group-list-transitivemembers: /transitiveMembers/microsoft.graph.user?$select=id answers every user reached through nested groups, once, paged like /members`, async function () {
        const res = await graph(mailroom, 'GET', `/groups/${outer}/transitiveMembers/microsoft.graph.user?$select=id`);
        assert.equal(res.status, 200, res.text);
        const ids = (res.json.value as { id: string }[]).map((x) => x.id).sort();
        assert.deepEqual(ids, [alice, bob, carol].sort());
        assert.ok((res.json.value as Record<string, unknown>[]).every((x) => Object.keys(x).every((k) => k === 'id' || k === '@odata.type')));
        const direct = await graph(mailroom, 'GET', `/groups/${outer}/members`);
        assert.equal((direct.json.value as unknown[]).length, 2, 'members stays direct');
        const page1 = await graph(mailroom, 'GET', `/groups/${outer}/transitiveMembers/microsoft.graph.user?$select=id&$top=2`);
        assert.equal((page1.json.value as unknown[]).length, 2);
        const next = String(page1.json['@odata.nextLink']);
        const page2 = await graph(mailroom, 'GET', next.slice(t.cloud.graphUrl.length));
        assert.equal((page2.json.value as unknown[]).length, 1);
      });

      it(`${LEARN}/group-list-transitivemembers: without a cast the nested groups are members too; a cast to a type groups cannot hold answers 400 Request_UnsupportedQuery`, async function () {
        const res = await graph(mailroom, 'GET', `/groups/${outer}/transitiveMembers`);
        const types = (res.json.value as { id: string; '@odata.type': string }[]).map((x) => `${x['@odata.type']}:${x.id}`).sort();
        assert.deepEqual(types, [`#microsoft.graph.group:${inner}`, `#microsoft.graph.group:${innermost}`, `#microsoft.graph.user:${alice}`, `#microsoft.graph.user:${bob}`, `#microsoft.graph.user:${carol}`].sort());
        const bad = await graph(mailroom, 'GET', `/groups/${outer}/transitiveMembers/microsoft.graph.application`);
        assert.equal(bad.status, 400, bad.text);
        assert.equal(bad.json.error?.code, 'Request_UnsupportedQuery');
      });

      it(`${LEARN}/group-list-transitivemembers: application permission GroupMember.Read.All or a higher one the page lists; Directory.ReadWrite.All and User.Read.All are refused`, async function () {
        assert.equal((await graph(appWith(['Group.Read.All']), 'GET', `/groups/${outer}/transitiveMembers`)).status, 200);
        assertDenied(await graph(appWith(['Directory.ReadWrite.All']), 'GET', `/groups/${outer}/transitiveMembers`));
        assertDenied(await graph(appWith(['User.Read.All']), 'GET', `/groups/${outer}/transitiveMembers/microsoft.graph.user`));
      });

      it(`${LEARN}/group-list-transitivemembers and directoryobject-checkmembergroups: synced groups nest through AD's member, consistently for both`, async function () {
        const user = adUser('teams-frank');
        const userId = t.tenant.upsertSyncedUser(user).entraId;
        const child = { objectGuid: '0c0c0c0c-0000-4000-8000-00000000c001', distinguishedName: 'CN=Approvers Child,OU=Groups,DC=contoso,DC=com', samAccountName: 'approvers-child', displayName: 'Approvers Child', scope: 'global' as const, securityEnabled: true, members: [user.objectGuid!] };
        const parent = { objectGuid: '0c0c0c0c-0000-4000-8000-00000000c002', distinguishedName: 'CN=Approvers Parent,OU=Groups,DC=contoso,DC=com', samAccountName: 'approvers-parent', displayName: 'Approvers Parent', scope: 'universal' as const, securityEnabled: true, members: [child.objectGuid] };
        const childId = t.tenant.upsertSyncedGroup(child).entraId;
        const parentId = t.tenant.upsertSyncedGroup(parent).entraId;
        const res = await graph(mailroom, 'GET', `/groups/${parentId}/transitiveMembers/microsoft.graph.user?$select=id`);
        assert.deepEqual((res.json.value as { id: string }[]).map((x) => x.id), [userId]);
        const direct = await graph(mailroom, 'GET', `/groups/${parentId}/members`);
        assert.deepEqual((direct.json.value as { id: string }[]).map((x) => x.id), [childId]);
        const check = await graph(appWith(['User.Read.All', 'GroupMember.Read.All']), 'POST', `/users/${userId}/checkMemberGroups`, { groupIds: [parentId, childId] });
        assert.deepEqual((check.json.value as string[]).sort(), [parentId, childId].sort());
      });
    });
  });

  describe("the sandbox: Mailroom's app, catalog entry and permissions; AD groups nested in Samba", function () {
    let sandbox: Sandbox;
    let s: ConformanceSuite;

    before(async function () {
      this.timeout(15 * 60_000);
      sandbox = await getConformanceSandbox();
      s = await ConformanceSuite.open(sandbox, 'teams');
    });

    after(async function () {
      await s?.close();
    });

    it("publishes Mailroom's Teams app with a stable catalog id (endpoints.teams, TEAMS_APP_CATALOG_ID) and the manifest's activity types", function () {
      const { teams } = sandbox.endpoints;
      assert.equal(teams.manifestId, SANDBOX_TEAMS_MANIFEST_ID);
      assert.equal(teams.botId, SANDBOX_TEAMS_BOT_ID);
      assert.equal(sandboxOverrides(sandbox.endpoints).TEAMS_APP_CATALOG_ID, teams.appCatalogId);
      const app = sandbox.tenant.teams.catalogApp(teams.appCatalogId);
      assert.ok(app);
      assert.deepEqual(app.activityTypes, manifestActivityTypes());
      assert.equal(app.webApplicationInfoId, sandbox.endpoints.clientId);
    });

    it(`${LEARN}/userteamwork-post-installedapps, userteamwork-list-installedapps, userscopeteamsappinstallation-get-chat, userteamwork-sendactivitynotification: the whole path with the sandbox app's own (Mailroom's) permissions and the catalog id of endpoints.teams`, async function () {
      const { teams, people } = sandbox.endpoints;
      const approver = people.approver.aadObjectId;
      if (!sandbox.tenant.teams.isInstalled(approver, teams.appCatalogId)) {
        const res = await s.graph('POST', `/users/${approver}/teamwork/installedApps`, { 'teamsApp@odata.bind': `https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/${teams.appCatalogId}` });
        assert.equal(res.status, 201, res.text);
      }
      const list = await s.graph<{ value: { id: string }[] }>('GET', `/users/${approver}/teamwork/installedApps?$expand=teamsApp&$filter=${encodeURIComponent(`teamsApp/id eq '${teams.appCatalogId}'`)}`);
      assert.equal(list.status, 200, list.text);
      const chat = await s.graph<{ id: string; chatType: string }>('GET', `/users/${approver}/teamwork/installedApps/${encodeURIComponent(list.json.value[0]!.id)}/chat`);
      assert.equal(chat.status, 200, chat.text);
      assert.equal(chat.json.chatType, 'oneOnOne');
      const declared = manifestActivityTypes()[0] ?? 'systemDefault';
      const sent = await s.graph('POST', `/users/${approver}/teamwork/sendActivityNotification`, {
        topic: { source: 'text', value: 'Conformance', webUrl: 'https://teams.microsoft.com/l/chat/0/0' },
        activityType: declared,
        previewText: { content: 'Conformance notification' },
        templateParameters: [{ name: 'systemDefaultText', value: 'Conformance' }],
      });
      assert.equal(sent.status, 204, sent.text);
      assert.equal(sandbox.tenant.teams.activityNotifications(approver).at(-1)?.previewText.content, 'Conformance notification');
    });

    it(`${LEARN}/group-list-transitivemembers: an AD group whose member is another AD group, synced, reaches the inner group's users`, async function () {
      this.timeout(120_000);
      const user = s.name('TrUser');
      const inner = s.name('TrInner');
      const outer = s.name('TrOuter');
      const userDn = await s.addUser(user);
      const innerDn = await s.addGroup(inner, { scope: 'global', security: true, members: [userDn] });
      await s.addGroup(outer, { scope: 'universal', security: true, members: [innerDn] });
      await s.sync();
      const u = await s.mustGraphUser(s.upn(user));
      const [g] = await s.graphGroupsBySam(outer);
      assert.ok(g, `the synced group ${outer} is not in Entra ID`);
      const res = await s.graph<{ value: { id: string }[] }>('GET', `/groups/${g.id}/transitiveMembers/microsoft.graph.user?$select=id`);
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.json.value.map((x) => x.id), [u.id]);
    });
  });
});
