/**
 * Microsoft Teams through Graph: `GET /appCatalogs/teamsApps`, the apps installed in a user's personal scope
 * (`/users/{id}/teamwork/installedApps[/{id}[/chat]]`: list, get, install, remove, the 1:1 chat) and
 * `POST /users/{id}/teamwork/sendActivityNotification`. The state and its rules are in `tenant/teams.ts`.
 */
import { GraphError, graphNotFound } from '../errors';
import { isRecord } from '../http';
import type { ActivityNotificationInput } from '../tenant/teams';
import type { Tenant, TeamsCatalogApp, TeamsUserInstallation } from '../tenant';
import { bodyObject, methodNotAllowed, reply, segmentNotFound, type GraphReply, type Route } from './call';
import { listCollection } from './collections';
import { READ_APP_CATALOG, READ_USER_APP_INSTALLATIONS, requireRole, SEND_ACTIVITY, WRITE_USER_APP_INSTALLATIONS } from './permissions';

const TEAMS_APP_DEFAULT_SELECT = ['id', 'externalId', 'displayName', 'distributionMethod'];

function teamsAppJson(a: TeamsCatalogApp): Record<string, unknown> {
  return { id: a.id, externalId: a.externalId, displayName: a.displayName, distributionMethod: a.distributionMethod };
}

/** `GET /appCatalogs/teamsApps` (appcatalogs-list-teamsapps): `$filter` on the teamsApp's fields (eq, and, or, not). */
export function appCatalogsRoute(r: Route): GraphReply | null {
  const { ctx, call, t, m, key, sub, subKey } = r;
  if (r.root !== 'appCatalogs') return null;
  if (key !== 'teamsApps') return segmentNotFound(key ?? 'appCatalogs');
  if (sub === undefined) {
    if (m !== 'GET') return methodNotAllowed();
    requireRole(call, READ_APP_CATALOG);
    const spec = { resource: 'teamsApp', properties: { id: { eq: 'default' as const }, externalId: { eq: 'default' as const }, displayName: { eq: 'default' as const }, distributionMethod: { eq: 'default' as const } } };
    return listCollection(ctx, call, t.teams.catalogApps().map(teamsAppJson), spec, 'appCatalogs/teamsApps', 'teamsApp', TEAMS_APP_DEFAULT_SELECT);
  }
  if (subKey === undefined && m === 'GET') {
    requireRole(call, READ_APP_CATALOG);
    const app = t.teams.catalogApp(sub);
    if (!app) throw new GraphError(404, 'NotFound', `The Teams app '${sub}' is not in the tenant's app catalog.`);
    return reply(200, { '@odata.context': `${r.meta}#appCatalogs/teamsApps/$entity`, ...teamsAppJson(app) });
  }
  return segmentNotFound(subKey ?? sub);
}

/** What a `teamsApp@odata.bind` names: `…/appCatalogs/teamsApps/{id}` (userteamwork-post-installedapps). */
function boundTeamsAppId(body: Record<string, unknown>): string {
  const bind = body['teamsApp@odata.bind'];
  const m = typeof bind === 'string' ? /\/appCatalogs\/teamsApps(?:\/|\(')([^/'()]+)(?:'\))?\/?$/.exec(bind) : null;
  if (!m?.[1]) {
    throw new GraphError(
      400,
      'BadRequest',
      'The request body must name the catalog app to install as {"teamsApp@odata.bind": "https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/{teamsAppId}"}. Nothing was installed.',
    );
  }
  return decodeURIComponent(m[1]);
}

/** `$filter` of installedApps: `teamsApp/id eq '…'` or `teamsApp/externalId eq '…'` (userteamwork-list-installedapps, examples). */
function installationFilter(filter: string | null): ((a: TeamsCatalogApp | undefined) => boolean) | null {
  if (filter === null || filter.trim() === '') return null;
  const m = /^\s*teamsApp\/(id|externalId)\s+eq\s+'((?:[^']|'')*)'\s*$/.exec(filter);
  if (!m) {
    throw new GraphError(400, 'BadRequest', `Invalid filter clause '${filter}': the emulator filters installed apps on teamsApp/id or teamsApp/externalId with eq only.`);
  }
  const prop = m[1] as 'id' | 'externalId';
  const value = (m[2] ?? '').replace(/''/g, "'").toLowerCase();
  return (a) => a !== undefined && a[prop].toLowerCase() === value;
}

/** `$expand` of installedApps: only `teamsApp` is served. */
function expandsTeamsApp(expand: string | null): boolean {
  if (expand === null || expand.trim() === '') return false;
  const parts = expand.split(',').map((x) => x.trim());
  for (const p of parts) {
    if (p !== 'teamsApp') {
      throw new GraphError(400, 'BadRequest', `Could not find a property named '${p}' on type 'microsoft.graph.userScopeTeamsAppInstallation' that the emulator expands (it expands teamsApp).`);
    }
  }
  return true;
}

function installationJson(t: Tenant, i: TeamsUserInstallation, expand: boolean): Record<string, unknown> {
  const app = t.teams.catalogApp(i.teamsAppId);
  return { id: i.id, ...(expand ? { teamsApp: app ? teamsAppJson(app) : null } : {}) };
}

/** The chat of an installation (userscopeteamsappinstallation-get-chat): a oneOnOne chat. */
function chatJson(t: Tenant, i: TeamsUserInstallation): Record<string, unknown> {
  return {
    id: i.chatId,
    topic: null,
    createdDateTime: i.installedAt,
    lastUpdatedDateTime: i.installedAt,
    chatType: 'oneOnOne',
    webUrl: `https://teams.microsoft.com/l/chat/${encodeURIComponent(i.chatId)}/0?tenantId=${t.tenantId}`,
    tenantId: t.tenantId,
    onlineMeetingInfo: null,
    viewpoint: null,
  };
}

function badBody(message: string): GraphError {
  return new GraphError(400, 'BadRequest', `${message} Nothing was sent.`);
}

/**
 * The body of sendActivityNotification (userteamwork-sendactivitynotification): `topic`, `activityType` and
 * `previewText` are required (only `chainId` is marked optional); `topic.source` is `entityUrl` or `text`, and
 * "`webUrl` is required when using `topic` source as `text`"; `templateParameters` are name/value pairs.
 */
function notificationBody(b: Record<string, unknown>): ActivityNotificationInput {
  const topic = b.topic;
  if (!isRecord(topic)) throw badBody('topic is required: {"source": "text" | "entityUrl", "value": …, "webUrl": …}.');
  const source = topic.source;
  if (source !== 'text' && source !== 'entityUrl') throw badBody(`topic.source must be 'entityUrl' or 'text', not ${JSON.stringify(source ?? null)}.`);
  if (typeof topic.value !== 'string' || topic.value.trim() === '') throw badBody('topic.value is required.');
  const webUrl = topic.webUrl;
  if (source === 'text' && (typeof webUrl !== 'string' || webUrl.trim() === '')) throw badBody("topic.webUrl is required when topic.source is 'text'.");
  if (webUrl !== undefined && webUrl !== null && typeof webUrl !== 'string') throw badBody('topic.webUrl must be a string.');
  if (typeof b.activityType !== 'string' || b.activityType.trim() === '') throw badBody('activityType is required.');
  const preview = b.previewText;
  if (!isRecord(preview) || typeof preview.content !== 'string') throw badBody('previewText is required: {"content": "…"}.');
  const params = b.templateParameters ?? [];
  if (!Array.isArray(params) || !params.every((p) => isRecord(p) && typeof p.name === 'string' && typeof p.value === 'string')) {
    throw badBody('templateParameters must be a list of {"name": "…", "value": "…"}.');
  }
  const chainId = b.chainId;
  if (chainId !== undefined && chainId !== null && !Number.isInteger(chainId)) throw badBody('chainId must be an integer.');
  return {
    topic: { source, value: topic.value, ...(typeof webUrl === 'string' ? { webUrl } : {}) },
    activityType: b.activityType,
    previewText: { content: preview.content },
    templateParameters: (params as { name: string; value: string }[]).map((p) => ({ name: p.name, value: p.value })),
    ...(typeof chainId === 'number' ? { chainId } : {}),
  };
}

/** Routes `/users/{id}/teamwork/…`. */
export function teamworkRoute(r: Route): GraphReply {
  const { ctx, call, t, m, key, subKey, subSub, seg, meta } = r;
  const userKey = key!;
  const tail = seg[5];
  if (subKey === 'sendActivityNotification' && subSub === undefined) {
    if (m !== 'POST') return methodNotAllowed();
    requireRole(call, SEND_ACTIVITY);
    if (!t.user(userKey)) throw graphNotFound(userKey);
    t.teams.sendActivityNotification(userKey, call.claims.appid, notificationBody(bodyObject(call)));
    return reply(204);
  }
  if (subKey !== 'installedApps') return segmentNotFound(subKey ?? 'teamwork');
  if (subSub === undefined) {
    if (m === 'POST') {
      requireRole(call, WRITE_USER_APP_INSTALLATIONS);
      if (!t.user(userKey)) throw graphNotFound(userKey);
      t.teams.install(userKey, boundTeamsAppId(bodyObject(call)));
      return reply(201);
    }
    if (m !== 'GET') return methodNotAllowed();
    requireRole(call, READ_USER_APP_INSTALLATIONS);
    const installs = t.teams.installations(userKey);
    const expand = expandsTeamsApp(call.query.get('$expand'));
    const keep = installationFilter(call.query.get('$filter'));
    const rows = installs.filter((i) => keep === null || keep(t.teams.catalogApp(i.teamsAppId))).map((i) => installationJson(t, i, expand));
    const q = new URLSearchParams(call.query);
    q.delete('$filter');
    q.delete('$expand');
    const userId = t.user(userKey)!.id;
    return listCollection(ctx, { ...call, query: q }, rows, { resource: 'userScopeTeamsAppInstallation', properties: {} }, `users('${userId}')/teamwork/installedApps`, 'userScopeTeamsAppInstallation', expand ? ['id', 'teamsApp'] : ['id']);
  }
  if (tail === undefined) {
    if (m === 'GET') {
      requireRole(call, READ_USER_APP_INSTALLATIONS);
      const i = t.teams.installation(userKey, subSub);
      return reply(200, { '@odata.context': `${meta}#users('${i.userId}')/teamwork/installedApps/$entity`, ...installationJson(t, i, expandsTeamsApp(call.query.get('$expand'))) });
    }
    if (m === 'DELETE') {
      requireRole(call, WRITE_USER_APP_INSTALLATIONS);
      t.teams.uninstall(userKey, subSub);
      return reply(204);
    }
    return methodNotAllowed();
  }
  if (tail === 'chat' && seg.length === 6) {
    if (m !== 'GET') return methodNotAllowed();
    requireRole(call, READ_USER_APP_INSTALLATIONS);
    const i = t.teams.installation(userKey, subSub);
    return reply(200, { '@odata.context': `${meta}#chats/$entity`, ...chatJson(t, i) });
  }
  return segmentNotFound(tail);
}
