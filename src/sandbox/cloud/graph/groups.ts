/**
 * `/groups`: list, get, members (list, add, remove), onPremisesSyncBehavior and group-based licensing.
 */
import { GraphError, graphNotFound } from '../errors';
import type { EntraGroup, Tenant } from '../tenant';
import { bodyObject, licenceList, methodNotAllowed, reply, segmentNotFound, type GraphReply, type Route } from './call';
import { GROUP_FILTER, listCollection } from './collections';
import { GROUP_SYNC_BEHAVIOR, READ_GROUPS, requireRole, WRITE_GROUP_LICENCES, WRITE_MEMBERS } from './permissions';
import { applySelect, directoryObjectJson, GROUP_DEFAULT_SELECT, groupJson, parseSelect } from './render';

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
