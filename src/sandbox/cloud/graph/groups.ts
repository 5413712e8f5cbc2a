/**
 * `/groups`: list, get, members (list, add, remove), onPremisesSyncBehavior and group-based licensing.
 */
import { GraphError, graphNotFound } from '../errors';
import type { EntraGroup, Tenant } from '../tenant';
import { bodyObject, licenceList, methodNotAllowed, reply, segmentNotFound, type GraphReply, type Route } from './call';
import { GROUP_FILTER, listCollection, USER_FILTER } from './collections';
import { GROUP_SYNC_BEHAVIOR, READ_GROUPS, READ_TRANSITIVE_MEMBERS, requireRole, WRITE_GROUP_LICENCES, WRITE_MEMBERS } from './permissions';
import { applySelect, directoryObjectJson, GROUP_DEFAULT_SELECT, groupJson, parseSelect, USER_DEFAULT_SELECT, userJson } from './render';

function findGroupOr404(t: Tenant, id: string): EntraGroup {
  const g = t.group(id);
  if (!g) throw graphNotFound(id);
  return g;
}

/**
 * The body of `PATCH …/onPremisesSyncBehavior`: "supply only the values for properties to update" (isCloudManaged, a
 * Boolean; "Update onPremisesSyncBehavior"), so `{}` changes nothing. Another property is refused as OData refuses a
 * property its type does not define; a value that is not a JSON Boolean with the sandbox's own wording.
 */
function syncBehaviorPatch(b: Record<string, unknown>): boolean | undefined {
  for (const k of Object.keys(b)) {
    if (k === 'isCloudManaged' || k.startsWith('@odata.')) continue;
    throw new GraphError(400, 'BadRequest', `The property '${k}' does not exist on type 'microsoft.graph.onPremisesSyncBehavior'. Make sure to only use property names that are defined by the type or mark the type as open type.`);
  }
  const v = b.isCloudManaged;
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') {
    throw new GraphError(400, 'BadRequest', `Cannot convert the literal '${JSON.stringify(v)}' to the expected type 'Edm.Boolean': isCloudManaged must be true or false. Nothing was changed.`);
  }
  return v;
}

const MEMBER_FILTER = { resource: 'DirectoryObject', properties: { id: { eq: 'default' as const }, displayName: { eq: 'default' as const, startsWith: 'default' as const } } };
const MEMBER_DEFAULT_SELECT = ['@odata.type', 'id', 'displayName', 'mail', 'userPrincipalName'];
/** The member types a group can have ("Group membership"); an OData cast to another type is refused. */
const MEMBER_CASTS = ['microsoft.graph.user', 'microsoft.graph.group', 'microsoft.graph.orgContact', 'microsoft.graph.device', 'microsoft.graph.servicePrincipal'];

function memberJson(o: Record<string, unknown>): Record<string, unknown> {
  return { '@odata.type': o['@odata.type'], id: o.id, displayName: o.displayName, mail: o.mail ?? null, userPrincipalName: o.userPrincipalName ?? null };
}

/**
 * `GET /groups/{id}/transitiveMembers[/<cast>]` (group-list-transitivemembers): "a flat list of all nested members";
 * a cast to a member type that a group cannot have answers 400 `Request_UnsupportedQuery`. Paged like `/members`.
 */
function transitiveMembers(r: Route, groupId: string, cast: string | undefined): GraphReply {
  const { ctx, call, t } = r;
  requireRole(call, READ_TRANSITIVE_MEMBERS);
  findGroupOr404(t, groupId);
  if (cast !== undefined && !MEMBER_CASTS.includes(cast)) {
    throw new GraphError(400, 'Request_UnsupportedQuery', `The type cast '${cast}' is not a supported member type of a group: use microsoft.graph.user, microsoft.graph.group, microsoft.graph.orgContact, microsoft.graph.device or microsoft.graph.servicePrincipal.`);
  }
  const all = t.transitiveMembers(groupId);
  if (cast === 'microsoft.graph.user') {
    const users = all.flatMap((o) => (o.kind === 'user' ? [{ '@odata.type': '#microsoft.graph.user', ...userJson(t, o.obj) }] : []));
    return listCollection(ctx, call, users, USER_FILTER, 'users', 'user', ['@odata.type', ...USER_DEFAULT_SELECT]);
  }
  if (cast === 'microsoft.graph.group') {
    const groups = all.flatMap((o) => (o.kind === 'group' ? [{ '@odata.type': '#microsoft.graph.group', ...groupJson(o.obj) }] : []));
    return listCollection(ctx, call, groups, GROUP_FILTER, 'groups', 'group', ['@odata.type', ...GROUP_DEFAULT_SELECT]);
  }
  const kind = cast === 'microsoft.graph.orgContact' ? 'contact' : cast === undefined ? null : 'none';
  const members = all
    .filter((o) => kind === null || o.kind === kind)
    .map((o) => directoryObjectJson(t, o.obj.id))
    .filter((x): x is Record<string, unknown> => x !== null)
    .map(memberJson);
  return listCollection(ctx, call, members, MEMBER_FILTER, cast === 'microsoft.graph.orgContact' ? 'contacts' : 'directoryObjects', 'directoryObject', MEMBER_DEFAULT_SELECT);
}

/** Routes `/groups…`. */
export function groupsRoute(r: Route): GraphReply {
  const { ctx, call, t, m, key, sub, subKey, subSub, meta } = r;
  if (key === undefined) {
    if (m !== 'GET') return methodNotAllowed();
    requireRole(call, READ_GROUPS);
    return listCollection(ctx, call, t.groups().map(groupJson), GROUP_FILTER, 'groups', 'group', GROUP_DEFAULT_SELECT);
  }
  if (sub === undefined) {
    if (m !== 'GET') return methodNotAllowed();
    requireRole(call, READ_GROUPS);
    const g = findGroupOr404(t, key);
    const select = parseSelect(call.query);
    return reply(200, { '@odata.context': `${meta}#groups/$entity`, ...applySelect(groupJson(g), select, GROUP_DEFAULT_SELECT, 'group') });
  }
  if (sub === 'members') {
    if (subKey === undefined) {
      if (m !== 'GET') return methodNotAllowed();
      requireRole(call, READ_GROUPS);
      findGroupOr404(t, key);
      const members = t
        .groupMembers(key)
        .map((o) => directoryObjectJson(t, o.obj.id))
        .filter((x): x is Record<string, unknown> => x !== null)
        .map((o) => ({ '@odata.type': o['@odata.type'], id: o.id, displayName: o.displayName, mail: o.mail ?? null, userPrincipalName: o.userPrincipalName ?? null }));
      return listCollection(ctx, call, members, { resource: 'DirectoryObject', properties: { id: { eq: 'default' }, displayName: { eq: 'default', startsWith: 'default' } } }, 'directoryObjects', 'directoryObject', ['@odata.type', 'id', 'displayName', 'mail', 'userPrincipalName']);
    }
    if (subKey === '$ref' && m === 'POST') {
      requireRole(call, WRITE_MEMBERS);
      findGroupOr404(t, key);
      const b = bodyObject(call);
      const ref = typeof b['@odata.id'] === 'string' ? b['@odata.id'] : '';
      const mm = /([0-9a-fA-F-]{36})\/?$/.exec(ref);
      if (!mm?.[1]) throw new GraphError(400, 'Request_BadRequest', "Invalid object identifier ''.");
      t.addGroupMember(key, mm[1]);
      return reply(204);
    }
    if (subKey !== undefined && subSub === '$ref' && m === 'DELETE') {
      requireRole(call, WRITE_MEMBERS);
      t.removeGroupMember(key, subKey);
      return reply(204);
    }
    return methodNotAllowed();
  }
  if (sub === 'transitiveMembers' && subSub === undefined && r.seg.length <= 4) {
    if (m !== 'GET') return methodNotAllowed();
    return transitiveMembers(r, key, subKey);
  }
  if (sub === 'onPremisesSyncBehavior' && subKey === undefined) {
    if (m === 'GET') {
      requireRole(call, GROUP_SYNC_BEHAVIOR);
      const g = findGroupOr404(t, key);
      const select = parseSelect(call.query);
      const entity = applySelect({ id: g.id, isCloudManaged: g.isCloudManaged === true }, select, ['id', 'isCloudManaged'], 'onPremisesSyncBehavior');
      return reply(200, { '@odata.context': `${meta}#groups('${g.id}')/onPremisesSyncBehavior${select ? `(${select.join(',')})` : ''}/$entity`, ...entity });
    }
    if (m === 'PATCH') {
      requireRole(call, GROUP_SYNC_BEHAVIOR);
      const g = findGroupOr404(t, key);
      const isCloudManaged = syncBehaviorPatch(bodyObject(call));
      if (isCloudManaged !== undefined) t.setGroupSyncBehavior(g.id, isCloudManaged);
      return reply(204);
    }
    return methodNotAllowed();
  }
  if (sub === 'assignLicense' && m === 'POST') {
    requireRole(call, WRITE_GROUP_LICENCES);
    findGroupOr404(t, key);
    const b = bodyObject(call);
    const remove = Array.isArray(b.removeLicenses) ? b.removeLicenses.filter((x): x is string => typeof x === 'string') : [];
    const g = t.assignGroupLicense(key, licenceList(b.addLicenses), remove);
    return reply(202, { '@odata.context': `${meta}#groups/$entity`, ...groupJson(g) });
  }
  return segmentNotFound(sub);
}
