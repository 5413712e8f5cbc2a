/**
 * The organization cmdlets: Get-AcceptedDomain, Get-OrganizationConfig and Set-OrganizationConfig.
 */
import { ExoError } from '../errors';
import { bool, str, type Cmdlet } from './params';

/** The organization cmdlets. */
export const ORGANIZATION_CMDLETS: Record<string, Cmdlet> = {
  'Get-AcceptedDomain': {
    parameters: ['Identity'],
    run: (ctx, p) => {
      const id = str(p, 'Identity');
      let domains = ctx.tenant.acceptedDomains();
      if (id !== undefined) {
        domains = domains.filter((d) => d.name === id.toLowerCase());
        if (domains.length === 0) throw new ExoError('NotFound', `The operation couldn't be performed because object '${id}' couldn't be found on '${ctx.exoServerName}'.`);
      }
      return {
        values: domains.map((d) => ({
          Identity: d.name,
          Id: d.name,
          Name: d.name,
          DomainName: d.name,
          DomainType: 'Authoritative',
          Default: d.isDefault,
          InitialDomain: d.isInitial,
          AuthenticationType: 'Managed',
          MatchSubDomains: false,
        })),
        warnings: [],
      };
    },
  },
  'Get-OrganizationConfig': {
    parameters: [],
    run: (ctx) => {
      const t = ctx.tenant;
      return {
        values: [
          {
            Identity: t.initialDomain,
            Name: t.initialDomain,
            DisplayName: t.displayName,
            Guid: t.tenantId,
            ExchangeObjectId: t.tenantId,
            OrganizationId: t.tenantId,
            IsDehydrated: false,
            BlockExchangeProvisioningFromOnPremEnabled: t.exchangeAttributesCloudManagedByDefault,
          },
        ],
        warnings: [],
      };
    },
  },
  'Set-OrganizationConfig': {
    parameters: ['ExchangeAttributesCloudManagedByDefault', 'ExchangeAttributesServerManagedByDefault'],
    run: (ctx, p) => {
      const cloud = bool(p, 'ExchangeAttributesCloudManagedByDefault');
      const server = bool(p, 'ExchangeAttributesServerManagedByDefault');
      const before = ctx.tenant.exchangeAttributesCloudManagedByDefault;
      if (cloud !== undefined) ctx.tenant.exchangeAttributesCloudManagedByDefault = cloud;
      if (server !== undefined) ctx.tenant.exchangeAttributesCloudManagedByDefault = !server;
      const warnings = before === ctx.tenant.exchangeAttributesCloudManagedByDefault ? [`The command completed successfully but no settings of '${ctx.tenant.initialDomain}' have been modified.`] : [];
      return { values: [], warnings };
    },
  },
};
