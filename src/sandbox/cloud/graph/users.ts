/**
 * `/users`: list, get, update, licences (assignLicense, reprocessLicenseAssignment), revokeSignInSessions, manager,
 * memberOf and checkMemberGroups.
 */
import type { EmulatorContext } from '../context';
import { GraphError, graphNotFound } from '../errors';
import { parseFilter, requiredValues } from '../graph-filter';
import type { EntraUser, Tenant } from '../tenant';
import { bodyObject, licenceList, methodNotAllowed, reply, segmentNotFound, type GraphReply, type Route } from './call';
import { GROUP_FILTER, listCollection, USER_FILTER } from './collections';
import { CHECK_MEMBER_GROUPS, READ_USERS, requireAll, requireRole, REVOKE_SESSIONS, USER_MEMBER_OF, WRITE_LICENCES, WRITE_USERS } from './permissions';
import { applySelect, contactJson, directoryObjectJson, emptyContact, GROUP_DEFAULT_SELECT, groupJson, parseSelect, USER_DEFAULT_SELECT, userJson } from './render';
import { noteUsageLocationWrite, refuseWhileUsageLocationReplicates } from './replication';

function findUserOr404(t: Tenant, key: string): EntraUser {
  const u = t.user(key);
  if (!u) throw graphNotFound(key);
  return u;
}

/** Properties a user's JSON holds exactly as the tenant keeps them (see userJson): a filter on one is answered by the kept value. */
const KEPT_AS_IS = ['id', 'userPrincipalName', 'onPremisesSamAccountName', 'onPremisesImmutableId', 'mail', 'mailNickname'] as const;

/**
 * The users a list may answer with: when its `$filter` requires one of a few values of a property kept as is
 * (`userPrincipalName eq '…'`, `onPremisesSamAccountName in (…)`), only the users holding one, so that not every
 * user of the tenant is rendered for each query; otherwise all. The whole filter is still checked and evaluated by
 * listCollection, so the answer (and any error) is the same. An advanced query with a replication lag reads its own
 * index, which has to see every user.
 */
function usersToList(ctx: EmulatorContext, call: Route['call'], users: readonly Readonly<EntraUser>[]): readonly Readonly<EntraUser>[] {
  const filter = call.query.get('$filter');
  const eventual = (call.headers['consistencylevel'] ?? '').toLowerCase() === 'eventual';
  if (filter === null || (eventual && (ctx.knobs.advancedQueryLagMs ?? 0) > 0)) return users;
  let ast: ReturnType<typeof parseFilter>;
  try {
    ast = parseFilter(filter);
  } catch {
    return users; // listCollection answers the syntax error
  }
  for (const prop of KEPT_AS_IS) {
    const values = requiredValues(ast, prop);
    if (values) return users.filter((u) => typeof u[prop] === 'string' && values.has(u[prop].toLowerCase()));
  }
  return users;
}

/** Routes `/users…`. */
export function usersRoute(r: Route): GraphReply {
  const { ctx, call, t, m, key, sub, subKey, subSub, meta } = r;
  if (key === undefined) {
    if (m !== 'GET') return methodNotAllowed();
    requireRole(call, READ_USERS);
    const skus = t.skus();
    // the tenant's own users, not copies (listCollection copies what it keeps or answers)
    return listCollection(ctx, call, usersToList(ctx, call, t.usersView()).map((u) => userJson(t, u as EntraUser, skus)), USER_FILTER, 'users', 'user', USER_DEFAULT_SELECT);
  }
  if (sub === undefined) {
    if (m === 'GET') {
      requireRole(call, READ_USERS);
      const u = findUserOr404(t, key);
      const select = parseSelect(call.query);
      return reply(200, { '@odata.context': `${meta}#users${select ? `(${select.join(',')})` : ''}/$entity`, ...applySelect(userJson(t, u), select, USER_DEFAULT_SELECT, 'user') });
    }
    if (m === 'PATCH') {
      requireRole(call, WRITE_USERS);
      const patch = bodyObject(call);
      const before = findUserOr404(t, key);
      t.updateUser(key, patch);
      noteUsageLocationWrite(ctx, before, patch);
      return reply(204);
    }
    return methodNotAllowed();
  }
  if (sub === 'assignLicense' && subKey === undefined) {
    if (m !== 'POST') return methodNotAllowed();
    requireRole(call, WRITE_LICENCES);
    const b = bodyObject(call);
    if (!Array.isArray(b.addLicenses) || !Array.isArray(b.removeLicenses)) {
      throw new GraphError(400, 'Request_BadRequest', "Invalid request: the parameters 'addLicenses' and 'removeLicenses' are required.");
    }
    const remove = b.removeLicenses.filter((x): x is string => typeof x === 'string');
    const target = t.user(key);
    if (target) refuseWhileUsageLocationReplicates(ctx, target, b.addLicenses.length > 0);
    const u = t.assignLicense(key, licenceList(b.addLicenses), remove);
    return reply(200, { '@odata.context': `${meta}#users/$entity`, ...applySelect(userJson(t, u), null, USER_DEFAULT_SELECT, 'user') });
  }
  if (sub === 'reprocessLicenseAssignment' && m === 'POST') {
    requireRole(call, WRITE_LICENCES);
    const u = findUserOr404(t, key);
    return reply(200, { '@odata.context': `${meta}#users/$entity`, ...applySelect(userJson(t, u), null, USER_DEFAULT_SELECT, 'user') });
  }
  if (sub === 'revokeSignInSessions' && subKey === undefined) {
    if (m !== 'POST') return methodNotAllowed();
    requireRole(call, REVOKE_SESSIONS);
    t.revokeSignInSessions(key);
    // The documented answer (a known issue: the API was meant to answer 204).
    return reply(200, { '@odata.context': `${meta}#Edm.Boolean`, value: true });
  }
  if (sub === 'manager') {
    // user-list-manager (GET: READ_USERS), user-post-manager (PUT $ref) and user-delete-manager (DELETE $ref): WRITE_USERS.
    if (subKey === undefined) {
      if (m !== 'GET') return methodNotAllowed();
      requireRole(call, READ_USERS);
      const found = t.managerOf(key);
      if (!found) throw graphNotFound('manager');
      const o = directoryObjectJson(t, found.obj.id)!;
      const select = parseSelect(call.query);
      const defaults = found.kind === 'user' ? USER_DEFAULT_SELECT : Object.keys(contactJson(emptyContact()));
      return reply(200, { '@odata.context': `${meta}#directoryObjects/$entity`, '@odata.type': o['@odata.type'], ...applySelect(o, select, defaults, found.kind === 'user' ? 'user' : 'orgContact') });
    }
    if (subKey === '$ref' && subSub === undefined) {
      if (m === 'PUT') {
        requireRole(call, WRITE_USERS);
        findUserOr404(t, key);
        const ref = bodyObject(call)['@odata.id'];
        const mm = typeof ref === 'string' ? /([0-9a-fA-F-]{36})\/?$/.exec(ref) : null;
        if (!mm?.[1]) throw new GraphError(400, 'Request_BadRequest', `Invalid object identifier '${typeof ref === 'string' ? ref : ''}'.`);
        t.setManager(key, mm[1]);
        return reply(204);
      }
      if (m === 'DELETE') {
        requireRole(call, WRITE_USERS);
        t.removeManager(key);
        return reply(204);
      }
      return methodNotAllowed();
    }
    return segmentNotFound(subKey);
  }
  if (sub === 'memberOf' && subKey === undefined) {
    if (m !== 'GET') return methodNotAllowed();
    requireRole(call, USER_MEMBER_OF);
    const u = findUserOr404(t, key);
    const groups = t.memberOf(u.id).map((g) => ({ '@odata.type': '#microsoft.graph.group', ...groupJson(g) }));
    return listCollection(ctx, { ...call, path: call.path }, groups, GROUP_FILTER, 'directoryObjects', 'group', ['@odata.type', ...GROUP_DEFAULT_SELECT]);
  }
  if (sub === 'checkMemberGroups' && m === 'POST') {
    requireAll(call, CHECK_MEMBER_GROUPS);
    const u = findUserOr404(t, key);
    const b = bodyObject(call);
    const ids = Array.isArray(b.groupIds) ? b.groupIds.filter((x): x is string => typeof x === 'string') : [];
    if (ids.length > 20) throw new GraphError(400, 'Request_BadRequest', 'The number of group ids specified exceeds the maximum of 20.');
    const member = t.transitiveMemberOf(u.id);
    return reply(200, { '@odata.context': `${meta}#Collection(Edm.String)`, value: ids.filter((id) => [...member].some((g) => g.toLowerCase() === id.toLowerCase())) });
  }
  return segmentNotFound(sub ?? '');
}
