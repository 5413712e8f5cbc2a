/**
 * `/contacts` (org contacts) and `/directoryObjects/{id}`.
 */
import { graphNotFound } from '../errors';
import { methodNotAllowed, reply, type GraphReply, type Route } from './call';
import { CONTACT_FILTER, listCollection } from './collections';
import { READ_CONTACTS, READ_USERS, requireRole } from './permissions';
import { contactJson, directoryObjectJson, emptyContact } from './render';

/** Routes `/contacts…` and `/directoryObjects/{id}`; null for another path. */
export function directoryObjectsRoute(r: Route): GraphReply | null {
  const { ctx, call, t, m, root, key, sub, meta } = r;
  if (root === 'contacts') {
    if (m !== 'GET') return methodNotAllowed();
    requireRole(call, READ_CONTACTS);
    if (key === undefined) return listCollection(ctx, call, t.contacts().map(contactJson), CONTACT_FILTER, 'contacts', 'orgContact', Object.keys(contactJson(emptyContact())));
    const c = t.contacts().find((x) => x.id.toLowerCase() === key.toLowerCase());
    if (!c) throw graphNotFound(key);
    return reply(200, { '@odata.context': `${meta}#contacts/$entity`, ...contactJson(c) });
  }
  if (root === 'directoryObjects' && key !== undefined && sub === undefined && m === 'GET') {
    requireRole(call, READ_USERS);
    const o = directoryObjectJson(t, key);
    if (!o) throw graphNotFound(key);
    return reply(200, { '@odata.context': `${meta}#directoryObjects/$entity`, ...o });
  }
  return null;
}
