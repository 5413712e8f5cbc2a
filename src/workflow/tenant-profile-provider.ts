import type { ProfileSettings } from '../config/config';
import type { Logger } from '../log';
import { profileFrom, type DiscoveredTenant, type ProfileOverrides, type TenantProfile } from '../requests';
import type { ExoPort } from './recipient-lookup';

/** What the tenant's AD says about its schema (src/directory's DirectoryClient). */
export interface SchemaPort {
  exchangeSchemaVersion(): Promise<number | null>;
}

export interface SkuPort {
  subscribedSkus(): Promise<{ skuId: string; skuPartNumber: string; prepaidUnits?: { enabled?: number }; consumedUnits?: number; servicePlans?: { servicePlanName: string }[] }[]>;
}

class TenantProfileError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Mailroom cannot work out how to provision in this tenant: ${problems.join(' ')} Nothing was requested.`);
    this.name = 'TenantProfileError';
  }
}

/** Reads what the tenant says about itself (Exchange organisation config, accepted domains, SKUs). */
async function discoverTenant(exo: ExoPort, graph: SkuPort, settings: ProfileSettings, schema: SchemaPort | undefined, log: Logger): Promise<DiscoveredTenant> {
  const [org, domains, skus, exchangeSchema] = await Promise.all([
    exo.invoke<{ BlockExchangeProvisioningFromOnPremEnabled?: boolean; ExchangeAttributesCloudManagedByDefault?: boolean }>('Get-OrganizationConfig').then(
      (r) => r.value[0] ?? null,
      () => null,
    ),
    exo.invoke<{ DomainName?: string; Default?: boolean }>('Get-AcceptedDomain'),
    graph.subscribedSkus(),
    // asked only when not configured; unknown (null) when AD cannot be read now, which counts as "no Exchange schema"
    settings.adExchangeSchema !== undefined || !schema
      ? Promise.resolve(null)
      : schema.exchangeSchemaVersion().then(
          (v) => v !== null,
          (err: unknown) => {
            log.warn('could not read whether AD has Exchange\'s schema', { err: err instanceof Error ? err.message : String(err) });
            return null;
          },
        ),
  ]);
  return {
    organizationConfig: org
      ? { blockExchangeProvisioningFromOnPremEnabled: org.BlockExchangeProvisioningFromOnPremEnabled, exchangeAttributesCloudManagedByDefault: org.ExchangeAttributesCloudManagedByDefault }
      : null,
    acceptedDomains: domains.value.map((d) => ({ name: String(d.DomainName ?? '').toLowerCase(), default: d.Default === true })).filter((d) => d.name),
    subscribedSkus: skus.map((s) => ({
      skuId: s.skuId,
      skuPartNumber: s.skuPartNumber,
      servicePlanNames: (s.servicePlans ?? []).map((p) => p.servicePlanName),
      enabledUnits: s.prepaidUnits?.enabled,
      consumedUnits: s.consumedUnits,
    })),
    cloudSyncJob: settings.syncServicePrincipalId && settings.syncJobId ? true : settings.sync === 'connect' ? false : null,
    adHasExchangeSchema: exchangeSchema,
  };
}

function overridesFrom(settings: ProfileSettings): ProfileOverrides {
  return {
    ...(settings.exchangeAttributeMode ? { exchangeAttributeMode: settings.exchangeAttributeMode } : {}),
    ...(settings.sync ? { sync: settings.sync } : {}),
    ...(settings.licensing ? { licensing: settings.licensing } : {}),
    ...(Object.keys(settings.ous).length ? { ous: settings.ous } : {}),
    ...(settings.upnSuffix ? { upnSuffix: settings.upnSuffix } : {}),
    ...(settings.mailDomain ? { mailDomain: settings.mailDomain } : {}),
    ...(settings.defaultUsageLocation ? { defaultUsageLocation: settings.defaultUsageLocation } : {}),
    ...(settings.roomsKeepLicence !== undefined ? { roomsKeepLicence: settings.roomsKeepLicence } : {}),
    ...(settings.cloudManageNewMailboxes !== undefined ? { cloudManageNewMailboxes: settings.cloudManageNewMailboxes } : {}),
    ...(settings.adExchangeSchema !== undefined ? { adHasExchangeSchema: settings.adExchangeSchema } : {}),
  };
}

/** The tenant profile, discovered once and refreshed every few minutes; configuration overrides discovery. */
export class TenantProfileProvider {
  private cached: { profile: TenantProfile; until: number } | undefined;
  private inflight: Promise<TenantProfile> | undefined;

  constructor(
    private readonly exo: ExoPort,
    private readonly graph: SkuPort,
    private readonly settings: ProfileSettings,
    private readonly log: Logger,
    private readonly schema?: SchemaPort,
    private readonly ttlMs = 10 * 60_000,
  ) {}

  get(): Promise<TenantProfile> {
    if (this.cached && this.cached.until > Date.now()) return Promise.resolve(this.cached.profile);
    this.inflight ??= this.load().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async load(): Promise<TenantProfile> {
    const discovered = await discoverTenant(this.exo, this.graph, this.settings, this.schema, this.log);
    const result = profileFrom(discovered, overridesFrom(this.settings));
    if (!result.ok) throw new TenantProfileError(result.errors);
    for (const w of result.warnings) this.log.warn('tenant profile', { warning: w });
    this.log.info('tenant profile', { choices: result.choices.map((c) => `${c.setting}=${c.value} (${c.source})`) });
    this.cached = { profile: result.profile, until: Date.now() + this.ttlMs };
    return result.profile;
  }
}
