/**
 * Collections: `$filter` (with the filter specs from Graph's "advanced query capabilities" tables), `$search`,
 * `$orderby`, `$count`, paging by `$top` and `$skiptoken`.
 */
import type { EmulatorContext } from '../context';
import { GraphError } from '../errors';
import { checkFilter, evaluateFilter, parseFilter, type FilterSpec } from '../graph-filter';
import { reply, type GraphCall, type GraphReply } from './call';
import { applySelect, parseSelect } from './render';
import { eventualView } from './replication';

const DEFAULT_PAGE = 100;
const MAX_PAGE = 999;

export const USER_FILTER: FilterSpec = {
  resource: 'User',
  properties: {
    id: { eq: 'default' },
    userPrincipalName: { eq: 'default', startsWith: 'default', endsWith: 'advanced' },
    mail: { eq: 'default', startsWith: 'default', endsWith: 'advanced' },
    mailNickname: { eq: 'default', startsWith: 'default' },
    displayName: { eq: 'default', startsWith: 'default' },
    givenName: { eq: 'default', startsWith: 'default' },
    surname: { eq: 'default', startsWith: 'default' },
    department: { eq: 'default', startsWith: 'default' },
    jobTitle: { eq: 'default' },
    usageLocation: { eq: 'default', startsWith: 'default' },
    accountEnabled: { eq: 'default' },
    userType: { eq: 'default' },
    employeeId: { eq: 'default', startsWith: 'default' },
    companyName: { eq: 'advanced', startsWith: 'advanced' },
    onPremisesSyncEnabled: { eq: 'default' },
    onPremisesUserPrincipalName: { eq: 'default', startsWith: 'default' },
    onPremisesSamAccountName: { eq: 'advanced', startsWith: 'advanced' },
    onPremisesImmutableId: { eq: 'advanced' },
    onPremisesSecurityIdentifier: { eq: 'default' },
    onPremisesDistinguishedName: { eq: 'none' },
    proxyAddresses: { eq: 'none', any: 'default' },
    assignedLicenses: { eq: 'none', any: 'default' },
  },
};

export const GROUP_FILTER: FilterSpec = {
  resource: 'Group',
  properties: {
    id: { eq: 'default' },
    displayName: { eq: 'default', startsWith: 'default' },
    mail: { eq: 'default', startsWith: 'default', endsWith: 'advanced' },
    mailNickname: { eq: 'default', startsWith: 'default' },
    mailEnabled: { eq: 'default' },
    securityEnabled: { eq: 'default' },
    onPremisesSyncEnabled: { eq: 'default' },
    onPremisesSamAccountName: { eq: 'advanced', startsWith: 'advanced' },
    onPremisesSecurityIdentifier: { eq: 'default' },
    proxyAddresses: { eq: 'none', any: 'default' },
    groupTypes: { eq: 'none', any: 'default' },
    assignedLicenses: { eq: 'none', any: 'default' },
  },
};

export const CONTACT_FILTER: FilterSpec = {
  resource: 'OrgContact',
  properties: {
    id: { eq: 'default' },
    displayName: { eq: 'default', startsWith: 'default' },
    mail: { eq: 'default', startsWith: 'default' },
    mailNickname: { eq: 'default', startsWith: 'default' },
    onPremisesSyncEnabled: { eq: 'default' },
    proxyAddresses: { eq: 'none', any: 'default' },
  },
};

function isAdvanced(call: GraphCall): boolean {
  return (call.headers['consistencylevel'] ?? '').toLowerCase() === 'eventual' && (call.query.get('$count') ?? '').toLowerCase() === 'true';
}

export function listCollection(
  ctx: EmulatorContext,
  call: GraphCall,
  items: Record<string, unknown>[],
  spec: FilterSpec,
  entitySet: string,
  type: string,
  defaults: string[],
): GraphReply {
  const q = call.query;
  const advanced = isAdvanced(call);
  const eventual = (call.headers['consistencylevel'] ?? '').toLowerCase() === 'eventual';
  if (q.get('$search') !== null && !eventual) {
    throw new GraphError(400, 'Request_UnsupportedQuery', "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'");
  }
  // ConsistencyLevel: eventual reads the separate, eventually consistent index: it may lag behind writes.
  // The items may share arrays with the tenant's own objects: the eventual index keeps copies (eventualView copies
  // what it keeps), the answer is a copy.
  let rows = eventual ? eventualView(ctx, call.path, items) : items;
  const filter = q.get('$filter');
  if (filter !== null && filter.trim() !== '') {
    const ast = parseFilter(filter);
    checkFilter(ast, spec, advanced);
    rows = rows.filter((r) => evaluateFilter(ast, (p) => r[Object.keys(r).find((k) => k.toLowerCase() === p.toLowerCase()) ?? p]));
  }
  const search = q.get('$search');
  if (search !== null) {
    const m = /^"?(?:(\w+):)?([^"]*)"?$/.exec(search.trim());
    const field = m?.[1];
    const term = (m?.[2] ?? '').toLowerCase();
    rows = rows.filter((r) =>
      (field ? [field] : ['displayName', 'mail', 'userPrincipalName']).some((f) => {
        const v = r[f];
        return typeof v === 'string' && v.toLowerCase().includes(term);
      }),
    );
  }
  const orderby = q.get('$orderby');
  if (orderby) {
    if (filter && !advanced) throw new GraphError(400, 'Request_UnsupportedQuery', 'Sorting not supported for current query.');
    const [prop = 'displayName', dir = 'asc'] = orderby.trim().split(/\s+/);
    const text = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '');
    rows = [...rows].sort((a, b) => text(a[prop]).localeCompare(text(b[prop])) * (dir.toLowerCase() === 'desc' ? -1 : 1));
  }
  const topParam = q.get('$top');
  let top = DEFAULT_PAGE;
  if (topParam !== null) {
    top = Number(topParam);
    if (!Number.isInteger(top) || top < 1 || top > MAX_PAGE) {
      throw new GraphError(400, 'Request_BadRequest', `Invalid page size specified: '${topParam}'. Must be between 1 and ${MAX_PAGE} inclusive.`);
    }
  }
  const skip = decodeSkipToken(q.get('$skiptoken'));
  const select = parseSelect(q);
  const page = structuredClone(rows.slice(skip, skip + top).map((r) => applySelect(r, select, defaults, type)));
  const body: Record<string, unknown> = {
    '@odata.context': `${ctx.baseUrl}/v1.0/$metadata#${entitySet}${select ? `(${select.join(',')})` : ''}`,
  };
  // Without ConsistencyLevel, Graph silently ignores $count=true on directory objects.
  if ((q.get('$count') ?? '').toLowerCase() === 'true' && (call.headers['consistencylevel'] ?? '').toLowerCase() === 'eventual') {
    body['@odata.count'] = rows.length;
  }
  if (skip + top < rows.length) {
    const next = new URLSearchParams(q);
    next.set('$skiptoken', encodeSkipToken(skip + top));
    body['@odata.nextLink'] = `${ctx.baseUrl}/v1.0${call.path}?${next.toString().replace(/\+/g, '%20')}`;
  }
  body.value = page;
  return reply(200, body);
}

function encodeSkipToken(offset: number): string {
  return Buffer.from(`RFNwdA:${offset}`).toString('base64url');
}

function decodeSkipToken(token: string | null): number {
  if (!token) return 0;
  const m = /^RFNwdA:(\d+)$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
  if (!m) throw new GraphError(400, 'Request_BadRequest', "The value of the '$skiptoken' parameter is invalid.");
  return Number(m[1]);
}
