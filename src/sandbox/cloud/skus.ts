/**
 * Licence catalogue of the simulated tenant. The ids are Microsoft's public product and service-plan
 * GUIDs, so code that hard-codes e.g. EXCHANGESTANDARD's skuId behaves the same against the sandbox.
 */

export interface ServicePlan {
  servicePlanId: string;
  servicePlanName: string;
}

export interface SkuDefinition {
  skuId: string;
  skuPartNumber: string;
  servicePlans: ServicePlan[];
}

/** Exchange Online service plans: a user with one of these enabled gets a mailbox. */
const EXCHANGE_SERVICE_PLAN_NAMES: readonly string[] = [
  'EXCHANGE_S_STANDARD',
  'EXCHANGE_S_ENTERPRISE',
  'EXCHANGE_S_DESKLESS',
  'EXCHANGE_S_ESSENTIALS',
];

const EXCHANGE_S_STANDARD: ServicePlan = { servicePlanId: '9aaf7827-d63c-4b61-89c3-182f06f82e5c', servicePlanName: 'EXCHANGE_S_STANDARD' };
const EXCHANGE_S_ENTERPRISE: ServicePlan = { servicePlanId: 'efb87545-963c-4e0d-99df-69c6916d9eb0', servicePlanName: 'EXCHANGE_S_ENTERPRISE' };
const EXCHANGE_S_DESKLESS: ServicePlan = { servicePlanId: '4a82b400-a79f-41a4-b4e2-e94f5787b113', servicePlanName: 'EXCHANGE_S_DESKLESS' };
const FLOW_P2_VIRAL: ServicePlan = { servicePlanId: '50e68c76-46c6-4674-81f9-75456511b170', servicePlanName: 'FLOW_P2_VIRAL' };

/** Well-known SKUs the sandbox can offer by part number. */
export const KNOWN_SKUS: Readonly<Record<string, SkuDefinition>> = {
  EXCHANGESTANDARD: { skuId: '4b9405b0-7788-4568-add1-99614e613b69', skuPartNumber: 'EXCHANGESTANDARD', servicePlans: [EXCHANGE_S_STANDARD] },
  EXCHANGEENTERPRISE: { skuId: '19ec0d23-8335-4cbd-94ac-6050e30712fa', skuPartNumber: 'EXCHANGEENTERPRISE', servicePlans: [EXCHANGE_S_ENTERPRISE] },
  EXCHANGEDESKLESS: { skuId: '80b2d799-d2ba-4d2a-8842-fb0d0f3a4b82', skuPartNumber: 'EXCHANGEDESKLESS', servicePlans: [EXCHANGE_S_DESKLESS] },
  SPE_E3: { skuId: '05e9a617-0261-4cee-bb44-138d3ef5d965', skuPartNumber: 'SPE_E3', servicePlans: [EXCHANGE_S_ENTERPRISE] },
  FLOW_FREE: { skuId: 'f30db892-07e9-47e9-837c-80727f46fd3d', skuPartNumber: 'FLOW_FREE', servicePlans: [FLOW_P2_VIRAL] },
};

/** Whether a SKU, with some plans disabled, includes an enabled Exchange Online plan. */
export function skuGivesMailbox(sku: SkuDefinition, disabledPlans: readonly string[] = []): boolean {
  const disabled = new Set(disabledPlans.map((p) => p.toLowerCase()));
  return sku.servicePlans.some(
    (p) => EXCHANGE_SERVICE_PLAN_NAMES.includes(p.servicePlanName) && !disabled.has(p.servicePlanId.toLowerCase()),
  );
}
