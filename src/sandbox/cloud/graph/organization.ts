/**
 * `/subscribedSkus` (the tenant's licences and their consumption) and `/organization`.
 */
import { GraphError } from '../errors';
import { methodNotAllowed, reply, type GraphReply, type Route } from './call';
import { READ_ORG, READ_SUBSCRIBED_SKUS, requireRole } from './permissions';

/** Routes `/subscribedSkus` and `/organization`; null for another path. */
export function organizationRoute(r: Route): GraphReply | null {
  const { call, t, m, root, key, meta } = r;
  if (root === 'subscribedSkus' && key === undefined) {
    if (m !== 'GET') return methodNotAllowed();
    requireRole(call, READ_SUBSCRIBED_SKUS);
    if (call.query.get('$filter') !== null) throw new GraphError(400, 'Request_UnsupportedQuery', 'Unsupported Query.');
    const value = t.subscribedSkus().map((s) => ({
      accountName: t.displayName,
      accountId: t.tenantId,
      appliesTo: 'User',
      capabilityStatus: 'Enabled',
      consumedUnits: s.consumedUnits,
      id: `${t.tenantId}_${s.skuId}`,
      prepaidUnits: { enabled: s.prepaidUnits, suspended: 0, warning: 0, lockedOut: 0 },
      servicePlans: s.servicePlans.map((p) => ({ servicePlanId: p.servicePlanId, servicePlanName: p.servicePlanName, provisioningStatus: 'Success', appliesTo: 'User' })),
      skuId: s.skuId,
      skuPartNumber: s.skuPartNumber,
      subscriptionIds: [],
    }));
    return reply(200, { '@odata.context': `${meta}#subscribedSkus`, value });
  }
  if (root === 'organization' && key === undefined && m === 'GET') {
    requireRole(call, READ_ORG);
    return reply(200, {
      '@odata.context': `${meta}#organization`,
      value: [
        {
          id: t.tenantId,
          displayName: t.displayName,
          countryLetterCode: t.countryLetterCode,
          onPremisesSyncEnabled: true,
          verifiedDomains: t.acceptedDomains().map((d) => ({
            capabilities: 'Email, OfficeCommunicationsOnline',
            isDefault: d.isDefault,
            isInitial: d.isInitial,
            name: d.name,
            type: 'Managed',
          })),
        },
      ],
    });
  }
  return null;
}
