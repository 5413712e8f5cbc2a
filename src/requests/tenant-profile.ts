/**
 * The tenant profile: how this organisation's AD, sync and Exchange Online fit together, and therefore which
 * side Mailroom writes each attribute on. `profileFrom` merges what discovery found with configured
 * overrides and explains every choice; combinations Microsoft does not support are refused with the reason.
 *
 * Rules from docs/hybrid-behaviour.md (HB) and docs/cloud-apis.md (CA) are cited where they are applied.
 */
import { isCountryCode } from './countries';
import { ouDnProblem } from './dn';
import { isGroupType, isMailboxType, type KindId, type TargetRecipient } from './kinds';
import { DEFAULT_NAMING, templateProblem, type NamingTemplates } from './naming';
import { domainProblem } from './syntax';

/**
 * - `ad-mastered`: Mailroom writes the Exchange attributes (mail, mailNickname, proxyAddresses, targetAddress)
 *   in AD and sync carries them to EXO.
 * - `cloud-default`: the organisation default ExchangeAttributesCloudManagedByDefault is on
 *   (BlockExchangeProvisioningFromOnPremEnabled=True): Mailroom writes identity only in AD and Exchange
 *   attributes in EXO. Creating Exchange recipients on-premises is unsupported while it is on (CA).
 */
export type ExchangeAttributeMode = 'ad-mastered' | 'cloud-default';
export type SyncEngine = 'connect' | 'cloud';

export type Licensing =
  | { readonly mode: 'direct'; readonly skuId: string; readonly skuName: string }
  | {
      readonly mode: 'group';
      readonly groupId: string;
      readonly groupName: string;
      /** Set when the licensing group is an AD group (synced): membership is then changed in AD. */
      readonly adGroupDn?: string;
    };

export const OU_GROUPS = ['users', 'shared', 'rooms', 'equipment', 'mailUsers', 'contacts', 'groups'] as const;
export type OuGroup = (typeof OU_GROUPS)[number];

/** The OU group a new object of each creating kind goes to (its name is unique within that OU). */
export const NEW_OBJECT_OU = {
  'user-mailbox': 'users',
  'mail-user': 'mailUsers',
  'shared-mailbox': 'shared',
  'room-mailbox': 'rooms',
  'equipment-mailbox': 'equipment',
  'mail-contact': 'contacts',
  'distribution-group': 'groups',
} as const satisfies Record<string, OuGroup>;

export interface TenantProfile {
  readonly exchangeAttributeMode: ExchangeAttributeMode;
  readonly sync: SyncEngine;
  readonly licensing: Licensing;
  readonly ous: Readonly<Record<OuGroup, string>>;
  readonly upnSuffix: string;
  /** The default accepted domain: new primary addresses are alias@mailDomain. */
  readonly mailDomain: string;
  /** The tenant's initial domain (*.onmicrosoft.com). */
  readonly tenantDomain: string;
  /** Usage location for licences when the request does not name one (and for temporary licences). */
  readonly defaultUsageLocation: string;
  /** Room and equipment mailboxes keep their Exchange licence (meeting devices need one, HB). */
  readonly roomsKeepLicence: boolean;
  readonly naming: NamingTemplates;
  /** Set IsExchangeCloudManaged=True on every new mailbox (always true in cloud-default). */
  readonly cloudManageNewMailboxes: boolean;
  /** The AD schema has Exchange's attributes (msExchHideFromAddressLists …), e.g. left by a former Exchange server. */
  readonly adHasExchangeSchema: boolean;
}

// ---------------------------------------------------------------------------------------------
// Discovery + overrides → profile
// ---------------------------------------------------------------------------------------------

export interface DiscoveredSku {
  readonly skuId: string;
  readonly skuPartNumber: string;
  readonly servicePlanNames: readonly string[];
  readonly enabledUnits?: number;
  readonly consumedUnits?: number;
}

/** What discovery found; `null` where it could not find out. */
export interface DiscoveredTenant {
  /** EXO Get-OrganizationConfig; null when it could not be read. */
  readonly organizationConfig: {
    readonly blockExchangeProvisioningFromOnPremEnabled?: boolean;
    readonly exchangeAttributesCloudManagedByDefault?: boolean;
  } | null;
  readonly acceptedDomains: readonly { readonly name: string; readonly default: boolean }[];
  /** Graph GET /subscribedSkus. */
  readonly subscribedSkus: readonly DiscoveredSku[];
  /** Whether an Entra Cloud Sync job (AD2AAD) exists; null when unknown. */
  readonly cloudSyncJob: boolean | null;
  /** Whether AD has Exchange's schema attributes; null when unknown. */
  readonly adHasExchangeSchema?: boolean | null;
  /** Graph organization countryLetterCode. */
  readonly countryLetterCode?: string | null;
}

export interface ProfileOverrides {
  readonly exchangeAttributeMode?: ExchangeAttributeMode;
  /** AD_EXCHANGE_SCHEMA: whether AD has Exchange's schema, instead of reading it from AD. */
  readonly adHasExchangeSchema?: boolean;
  readonly sync?: SyncEngine;
  /** Direct: the SKU's id or part number (e.g. EXCHANGESTANDARD). Group: the licensing group. */
  readonly licensing?:
    | { readonly mode: 'direct'; readonly sku: string }
    | { readonly mode: 'group'; readonly groupId: string; readonly groupName: string; readonly adGroupDn?: string };
  readonly ous?: Partial<Record<OuGroup, string>>;
  readonly upnSuffix?: string;
  readonly mailDomain?: string;
  readonly defaultUsageLocation?: string;
  readonly roomsKeepLicence?: boolean;
  readonly naming?: Partial<NamingTemplates>;
  readonly cloudManageNewMailboxes?: boolean;
}

export interface ProfileChoice {
  readonly setting: keyof TenantProfile;
  readonly value: string;
  readonly source: 'discovered' | 'configured' | 'default';
  readonly why: string;
}

export type ProfileResult =
  | { readonly ok: true; readonly profile: TenantProfile; readonly choices: ProfileChoice[]; readonly warnings: string[] }
  | { readonly ok: false; readonly errors: string[]; readonly choices: ProfileChoice[]; readonly warnings: string[] };

/** Exchange Online service plans: a SKU with one of these gives a mailbox. */
const EXCHANGE_SERVICE_PLANS = ['EXCHANGE_S_STANDARD', 'EXCHANGE_S_ENTERPRISE', 'EXCHANGE_S_DESKLESS', 'EXCHANGE_S_ESSENTIALS'];

/** Friendly names for common SKUs (Microsoft's product names). */
const SKU_NAMES: Readonly<Record<string, string>> = {
  EXCHANGESTANDARD: 'Exchange Online (Plan 1)',
  EXCHANGEENTERPRISE: 'Exchange Online (Plan 2)',
  EXCHANGEDESKLESS: 'Exchange Online Kiosk',
  EXCHANGEESSENTIALS: 'Exchange Online Essentials',
  O365_BUSINESS_ESSENTIALS: 'Microsoft 365 Business Basic',
  O365_BUSINESS_PREMIUM: 'Microsoft 365 Business Standard',
  SPB: 'Microsoft 365 Business Premium',
  STANDARDPACK: 'Office 365 E1',
  ENTERPRISEPACK: 'Office 365 E3',
  ENTERPRISEPREMIUM: 'Office 365 E5',
  SPE_E3: 'Microsoft 365 E3',
  SPE_E5: 'Microsoft 365 E5',
  SPE_F1: 'Microsoft 365 F3',
};

/** Preference when discovery picks the licence: the smallest plan that gives a mailbox first. */
const SKU_PREFERENCE = ['EXCHANGESTANDARD', 'EXCHANGEESSENTIALS', 'EXCHANGEENTERPRISE', 'EXCHANGEDESKLESS'];

export function skuName(partNumber: string): string {
  return SKU_NAMES[partNumber.toUpperCase()] ?? partNumber;
}

function givesMailbox(sku: DiscoveredSku): boolean {
  return sku.servicePlanNames.some((p) => EXCHANGE_SERVICE_PLANS.includes(p.toUpperCase()));
}

function freeUnits(sku: DiscoveredSku): number | null {
  return sku.enabledUnits === undefined || sku.consumedUnits === undefined ? null : sku.enabledUnits - sku.consumedUnits;
}

const FALLBACK_OU: Readonly<Record<OuGroup, OuGroup | null>> = {
  users: null,
  shared: 'users',
  rooms: 'shared',
  equipment: 'rooms',
  mailUsers: 'users',
  contacts: 'users',
  groups: 'users',
};

/**
 * The OU of every group of new objects: the configured ones, the others falling back as the tenant profile does
 * (shared → users, rooms → shared, equipment → rooms, mail users, contacts and groups → users); '' when no OU for
 * users is configured.
 */
export function ousWithFallbacks(configured: Partial<Record<string, string>>): Record<OuGroup, string> {
  const ous = {} as Record<OuGroup, string>;
  for (const g of OU_GROUPS) {
    const from = FALLBACK_OU[g];
    ous[g] = configured[g] ?? (from === null ? '' : ous[from]);
  }
  return ous;
}

export function profileFrom(discovered: DiscoveredTenant, overrides: ProfileOverrides = {}): ProfileResult {
  const errors: string[] = [];
  const warnings: string[] = [];
  const choices: ProfileChoice[] = [];
  const choose = (c: ProfileChoice): void => void choices.push(c);

  // --- Exchange attribute mode -----------------------------------------------------------------
  // CA: the organisation default shows as BlockExchangeProvisioningFromOnPremEnabled; while it is on,
  // creating Exchange recipients on-premises (mail/proxyAddresses/targetAddress) is unsupported, so a tenant
  // is either "Mailroom writes Exchange attributes to AD" or "tenant default on". Mixing is refused.
  const org = discovered.organizationConfig;
  const orgDefault = org ? (org.blockExchangeProvisioningFromOnPremEnabled ?? org.exchangeAttributesCloudManagedByDefault ?? null) : null;
  let mode: ExchangeAttributeMode = 'ad-mastered';
  if (orgDefault === null) {
    if (overrides.exchangeAttributeMode) {
      mode = overrides.exchangeAttributeMode;
      choose({ setting: 'exchangeAttributeMode', value: mode, source: 'configured', why: 'The organisation config could not be read; the configured mode is used as given.' });
      warnings.push('Get-OrganizationConfig could not be read: Mailroom cannot confirm that the configured Exchange attribute mode matches the organisation default.');
    } else {
      errors.push(
        'Mailroom could not read the organisation config (Get-OrganizationConfig), so it cannot tell whether Exchange attributes are cloud-managed by default. ' +
          'Give the Exchange Admin role to Mailroom\'s app, or configure the mode (ad-mastered or cloud-default).',
      );
    }
  } else if (orgDefault) {
    mode = 'cloud-default';
    if (overrides.exchangeAttributeMode === 'ad-mastered') {
      errors.push(
        'Configured mode ad-mastered, but the organisation default ExchangeAttributesCloudManagedByDefault is on (BlockExchangeProvisioningFromOnPremEnabled=True). ' +
          'Microsoft does not support writing Exchange attributes (mail, proxyAddresses, targetAddress) in AD while it is on. ' +
          'Remove the override (Mailroom then writes Exchange attributes in Exchange Online), or turn the default off with ' +
          'Set-OrganizationConfig -ExchangeAttributesCloudManagedByDefault $false.',
      );
    }
    choose({ setting: 'exchangeAttributeMode', value: mode, source: 'discovered', why: 'BlockExchangeProvisioningFromOnPremEnabled is True: new synced mailboxes are cloud-managed, so Mailroom writes identity in AD and Exchange attributes in Exchange Online.' });
  } else {
    mode = 'ad-mastered';
    if (overrides.exchangeAttributeMode === 'cloud-default') {
      errors.push(
        'Configured mode cloud-default, but the organisation default ExchangeAttributesCloudManagedByDefault is off: new synced mailboxes would take their Exchange attributes from AD, where Mailroom would write none. ' +
          'Turn the default on with Set-OrganizationConfig -ExchangeAttributesCloudManagedByDefault $true, or remove the override.',
      );
    }
    choose({ setting: 'exchangeAttributeMode', value: mode, source: 'discovered', why: 'BlockExchangeProvisioningFromOnPremEnabled is False: Exchange attributes come from AD, so Mailroom writes mail, mailNickname, proxyAddresses and targetAddress there.' });
  }

  // --- Sync engine -----------------------------------------------------------------------------
  let sync: SyncEngine;
  if (overrides.sync) {
    sync = overrides.sync;
    if (sync === 'cloud' && discovered.cloudSyncJob === false) {
      errors.push('Configured sync engine Entra Cloud Sync, but no Cloud Sync job was found in the tenant. Configure Entra Connect Sync (connect), or set up Cloud Sync first.');
    }
    choose({ setting: 'sync', value: sync, source: 'configured', why: sync === 'cloud' ? 'Entra Cloud Sync: Mailroom asks for on-demand provisioning, so waits take seconds.' : 'Entra Connect Sync: no remote trigger; waits follow its 30-minute cycle.' });
  } else if (discovered.cloudSyncJob === true) {
    sync = 'cloud';
    choose({ setting: 'sync', value: sync, source: 'discovered', why: 'A Cloud Sync job exists: Mailroom provisions on demand (5 calls per 10 s), so waits take seconds.' });
  } else {
    sync = 'connect';
    choose({
      setting: 'sync', value: sync, source: discovered.cloudSyncJob === false ? 'discovered' : 'default',
      why: discovered.cloudSyncJob === false ? 'No Cloud Sync job: Entra Connect Sync is assumed (30-minute cycle, no remote trigger).' : 'Cloud Sync could not be checked; Entra Connect Sync (the slower, 30-minute cycle) is assumed.',
    });
  }

  // --- Licensing -------------------------------------------------------------------------------
  // HB: the licence creates the mailbox, not `mail`; CA: direct assignment needs usageLocation.
  let licensing: Licensing | undefined;
  const exchangeSkus = discovered.subscribedSkus.filter(givesMailbox);
  const skuList = exchangeSkus.map((s) => s.skuPartNumber).join(', ') || 'none';
  const o = overrides.licensing;
  if (o?.mode === 'group') {
    const dnProblem = o.adGroupDn === undefined ? null : ouDnProblem(o.adGroupDn);
    if (dnProblem) errors.push(`Licensing group DN: ${dnProblem}.`);
    licensing = { mode: 'group', groupId: o.groupId, groupName: o.groupName, ...(o.adGroupDn ? { adGroupDn: o.adGroupDn } : {}) };
    choose({ setting: 'licensing', value: `group ${o.groupName}`, source: 'configured', why: o.adGroupDn ? 'Licences come from membership of an AD group (changed in AD, then synced).' : 'Licences come from membership of an Entra group (changed through Graph).' });
  } else if (o?.mode === 'direct') {
    const wanted = o.sku.toLowerCase();
    const sku = discovered.subscribedSkus.find((s) => s.skuId.toLowerCase() === wanted || s.skuPartNumber.toLowerCase() === wanted);
    if (!sku) errors.push(`Configured licence "${o.sku}" is not among the tenant's subscriptions. Subscriptions with Exchange Online: ${skuList}.`);
    else if (!givesMailbox(sku)) errors.push(`Configured licence ${sku.skuPartNumber} includes no Exchange Online plan, so it creates no mailbox. Subscriptions with Exchange Online: ${skuList}.`);
    else {
      licensing = { mode: 'direct', skuId: sku.skuId, skuName: skuName(sku.skuPartNumber) };
      choose({ setting: 'licensing', value: sku.skuPartNumber, source: 'configured', why: `Direct assignment of ${skuName(sku.skuPartNumber)}.` });
      if (freeUnits(sku) !== null && (freeUnits(sku) ?? 0) <= 0) warnings.push(`${skuName(sku.skuPartNumber)} has no free units: licence assignments will fail until more are bought.`);
    }
  } else {
    const ranked = [...exchangeSkus].sort((a, b) => {
      const ia = SKU_PREFERENCE.indexOf(a.skuPartNumber.toUpperCase());
      const ib = SKU_PREFERENCE.indexOf(b.skuPartNumber.toUpperCase());
      return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
    });
    const sku = ranked.find((s) => (freeUnits(s) ?? 1) > 0) ?? ranked[0];
    if (!sku) errors.push('No subscription of the tenant includes Exchange Online, so Mailroom cannot create mailboxes. Configure a licence or a licensing group.');
    else {
      licensing = { mode: 'direct', skuId: sku.skuId, skuName: skuName(sku.skuPartNumber) };
      choose({ setting: 'licensing', value: sku.skuPartNumber, source: 'discovered', why: `Direct assignment of ${skuName(sku.skuPartNumber)}: the smallest subscription with an Exchange Online plan${freeUnits(sku) !== null ? ` (${freeUnits(sku)} free)` : ''}.` });
      if ((freeUnits(sku) ?? 1) <= 0) warnings.push(`${skuName(sku.skuPartNumber)} has no free units: licence assignments will fail until more are bought.`);
    }
  }

  // --- Domains ---------------------------------------------------------------------------------
  const accepted = discovered.acceptedDomains.map((d) => ({ name: d.name.toLowerCase(), default: d.default }));
  const isAccepted = (d: string): boolean => accepted.some((a) => a.name === d.toLowerCase());
  let mailDomain = '';
  if (overrides.mailDomain !== undefined) {
    mailDomain = overrides.mailDomain.toLowerCase();
    if (!isAccepted(mailDomain)) errors.push(`Configured mail domain ${overrides.mailDomain} is not an accepted domain. Accepted: ${accepted.map((a) => a.name).join(', ') || 'none found'}.`);
    choose({ setting: 'mailDomain', value: mailDomain, source: 'configured', why: 'New primary addresses are alias@this domain.' });
  } else {
    const def = accepted.find((a) => a.default);
    if (!def) errors.push('No default accepted domain was found (Get-AcceptedDomain); configure the mail domain.');
    else {
      mailDomain = def.name;
      choose({ setting: 'mailDomain', value: mailDomain, source: 'discovered', why: 'The default accepted domain; new primary addresses are alias@this domain.' });
    }
  }
  const initial = accepted.find((a) => /\.onmicrosoft\.com$/.test(a.name) && !/\.mail\.onmicrosoft\.com$/.test(a.name));
  const tenantDomain = initial?.name ?? '';
  if (!initial) errors.push('No *.onmicrosoft.com accepted domain was found; Mailroom needs the tenant\'s initial domain.');
  else choose({ setting: 'tenantDomain', value: tenantDomain, source: 'discovered', why: 'Exchange Online adds alias@this domain to every mailbox.' });

  let upnSuffix = mailDomain;
  if (overrides.upnSuffix !== undefined) {
    upnSuffix = overrides.upnSuffix.toLowerCase();
    if (domainProblem(upnSuffix)) errors.push(`Configured UPN suffix "${overrides.upnSuffix}" is not a domain name.`);
    else if (!isAccepted(upnSuffix)) warnings.push(`UPN suffix ${upnSuffix} is not an accepted (verified) domain: Entra ID will give synced users ${tenantDomain || 'the onmicrosoft domain'} instead.`);
    choose({ setting: 'upnSuffix', value: upnSuffix, source: 'configured', why: 'New accounts sign in as prefix@this suffix.' });
  } else if (mailDomain) {
    choose({ setting: 'upnSuffix', value: upnSuffix, source: 'default', why: 'Same as the mail domain, so that sign-in name and address match.' });
  }

  // --- OUs ----------------------------------------------------------------------------------------
  const ous = {} as Record<OuGroup, string>;
  for (const g of OU_GROUPS) {
    const configured = overrides.ous?.[g];
    if (configured !== undefined) {
      const problem = ouDnProblem(configured);
      if (problem) errors.push(`OU for ${g}: ${problem}.`);
      ous[g] = configured;
      choose({ setting: 'ous', value: `${g}: ${configured}`, source: 'configured', why: `New ${g} objects are created here (the OU must be in the sync scope).` });
    } else {
      const from = FALLBACK_OU[g];
      if (from === null) {
        errors.push('No OU is configured for new users; Mailroom needs at least that one (e.g. OU=Users,OU=Mailroom,DC=corp,DC=example).');
        ous[g] = '';
      } else {
        ous[g] = ous[from];
        if (ous[g]) choose({ setting: 'ous', value: `${g}: ${ous[g]}`, source: 'default', why: `No OU configured for ${g}; the one for ${from} is used.` });
      }
    }
  }

  // --- Usage location ------------------------------------------------------------------------
  const usage = (overrides.defaultUsageLocation ?? discovered.countryLetterCode ?? '').toUpperCase();
  if (!isCountryCode(usage)) {
    errors.push(usage ? `Default usage location "${usage}" is not an ISO 3166-1 country code (e.g. DE, GB, US).` : 'No default usage location: configure one (an ISO country code such as DE); licences need it.');
  } else {
    choose({ setting: 'defaultUsageLocation', value: usage, source: overrides.defaultUsageLocation ? 'configured' : 'discovered', why: 'Used for licences when a request names no usage location (and for the temporary licence of shared mailboxes).' });
  }

  // --- Naming ----------------------------------------------------------------------------------
  const naming: NamingTemplates = { ...DEFAULT_NAMING, ...(overrides.naming ?? {}) };
  for (const [key, template] of Object.entries(naming) as [keyof NamingTemplates, string][]) {
    const problem = templateProblem(template, key.startsWith('resource'));
    if (problem) errors.push(`Naming template ${key}: ${problem}.`);
  }
  choose({ setting: 'naming', value: Object.entries(naming).map(([k, v]) => `${k}=${v}`).join(' '), source: overrides.naming ? 'configured' : 'default', why: 'Fills the alias, UPN and logon name a requester leaves empty.' });

  // --- Cloud management of new mailboxes --------------------------------------------------------
  let cloudManageNewMailboxes = overrides.cloudManageNewMailboxes ?? false;
  if (mode === 'cloud-default') {
    if (overrides.cloudManageNewMailboxes === false) {
      warnings.push('cloudManageNewMailboxes=false is ignored: with the organisation default on, every new synced mailbox starts cloud-managed.');
    }
    cloudManageNewMailboxes = true;
    choose({ setting: 'cloudManageNewMailboxes', value: 'true', source: 'discovered', why: 'The organisation default makes every new synced mailbox cloud-managed.' });
  } else {
    choose({
      setting: 'cloudManageNewMailboxes', value: String(cloudManageNewMailboxes), source: overrides.cloudManageNewMailboxes === undefined ? 'default' : 'configured',
      why: cloudManageNewMailboxes ? 'Each new mailbox gets IsExchangeCloudManaged=True after it exists (HB provisioning order, step 4).' : 'New mailboxes stay managed from AD.',
    });
  }

  const roomsKeepLicence = overrides.roomsKeepLicence ?? false;
  choose({ setting: 'roomsKeepLicence', value: String(roomsKeepLicence), source: overrides.roomsKeepLicence === undefined ? 'default' : 'configured', why: roomsKeepLicence ? 'Room and equipment mailboxes keep their licence (meeting devices need one).' : 'Room and equipment mailboxes lose their temporary licence, like shared mailboxes.' });

  const adHasExchangeSchema = overrides.adHasExchangeSchema ?? discovered.adHasExchangeSchema ?? false;
  choose({ setting: 'adHasExchangeSchema', value: String(adHasExchangeSchema), source: overrides.adHasExchangeSchema !== undefined ? 'configured' : discovered.adHasExchangeSchema == null ? 'default' : 'discovered', why: adHasExchangeSchema ? 'AD has Exchange\'s schema attributes: hiding from address lists can be written in AD.' : 'AD has no Exchange schema: hiding from address lists is done in Exchange Online.' });

  if (errors.length || !licensing) return { ok: false, errors, choices, warnings };
  return {
    ok: true,
    choices,
    warnings,
    profile: {
      exchangeAttributeMode: mode, sync, licensing, ous, upnSuffix, mailDomain, tenantDomain, defaultUsageLocation: usage,
      roomsKeepLicence, naming, cloudManageNewMailboxes, adHasExchangeSchema,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Refusals and the side that holds the authority
// ---------------------------------------------------------------------------------------------

const CLOUD_DEFAULT = 'This tenant has the organisation default ExchangeAttributesCloudManagedByDefault on (BlockExchangeProvisioningFromOnPremEnabled=True)';

/**
 * Why a kind cannot be requested at all in this tenant's mode, or null.
 * CA: while the default is on, creating Exchange recipients on-premises (mail/proxyAddresses/targetAddress)
 * is unsupported. HB: mail users, contacts and groups have no IsExchangeCloudManaged; only cloud-only
 * objects (or an object-level SOA transfer) avoid AD.
 */
export function kindRefusal(kind: KindId, profile: TenantProfile): string | null {
  if (profile.exchangeAttributeMode !== 'cloud-default') return null;
  switch (kind) {
    case 'mail-user':
      return `${CLOUD_DEFAULT}. A mail user made in AD needs mail, mailNickname and targetAddress written in AD, which Microsoft does not support while that default is on, and mail users have no IsExchangeCloudManaged to move them to the cloud afterwards. Create a cloud-only mail user in Exchange Online instead (New-MailUser), or invite the person as a guest.`;
    case 'mail-contact':
      return `${CLOUD_DEFAULT}. An AD contact reaches Exchange Online only with mail written in AD, which Microsoft does not support while that default is on, and synced contacts can only be changed in AD. Create a cloud-only mail contact in Exchange Online instead (New-MailContact).`;
    case 'distribution-group':
      return `${CLOUD_DEFAULT}. A mail-enabled AD group needs mail and proxyAddresses written in AD, which Microsoft does not support while that default is on, and synced groups (membership too) can only be changed in AD. Create a cloud-only distribution group in Exchange Online instead (New-DistributionGroup), or move an existing group's source of authority to the cloud.`;
    default:
      return null;
  }
}

/** Where the Exchange attributes (secondary addresses, hiding, alias …) of an existing recipient are changed. */
export type Authority =
  | { readonly side: 'ad' }
  /** In EXO; `makeCloudManagedFirst` when a synced mailbox must first get IsExchangeCloudManaged=True. */
  | { readonly side: 'exo'; readonly makeCloudManagedFirst: boolean }
  | { readonly side: 'refused'; readonly reason: string };

/**
 * The side that holds the authority over a recipient's Exchange attributes except `mail`:
 * - cloud-only recipients: EXO;
 * - synced mailboxes: EXO when IsExchangeCloudManaged=True (HB: sync stops overwriting them), else AD —
 *   in cloud-default mode Mailroom writes no Exchange attributes in AD, so such a (legacy) mailbox is made
 *   cloud-managed first (HB: "A mailbox that comes from AD needs IsExchangeCloudManaged=True before EXO lets you
 *   manage its Exchange attributes");
 * - synced mail users, contacts and groups: AD, always (HB: no IsExchangeCloudManaged for them; synced
 *   contacts and groups can only be changed in AD); refused in cloud-default mode (no AD writes of
 *   Exchange attributes while the default is on).
 */
export function exchangeAuthority(target: TargetRecipient, profile: TenantProfile): Authority {
  if (!target.isDirSynced) return { side: 'exo', makeCloudManagedFirst: false };
  if (isMailboxType(target.type)) {
    if (target.isExchangeCloudManaged === true) return { side: 'exo', makeCloudManagedFirst: false };
    if (profile.exchangeAttributeMode === 'cloud-default') return { side: 'exo', makeCloudManagedFirst: true };
    return { side: 'ad' };
  }
  if (target.type === 'MailUser' || target.type === 'MailContact' || isGroupType(target.type)) {
    if (profile.exchangeAttributeMode === 'cloud-default') {
      return {
        side: 'refused',
        reason: `${target.name} is a synced ${describeType(target.type)}: its addresses are mastered in AD (there is no IsExchangeCloudManaged for it), but ${CLOUD_DEFAULT.replace('This tenant has', 'this tenant has')}, so Mailroom does not write Exchange attributes in AD. Change it in AD with your directory tools, or move it to the cloud (object-level source of authority).`,
      };
    }
    return { side: 'ad' };
  }
  return { side: 'refused', reason: `${target.name} is a ${describeType(target.type)}, not a mail recipient Mailroom manages.` };
}

/**
 * Where a new primary address is set. HB: AD `mail` sets the primary address and keeps overriding it even
 * after IsExchangeCloudManaged=True, so for synced recipients in ad-mastered mode the primary is always
 * changed in AD: `mail` and proxyAddresses together, so that both name the same primary. Entra's proxy calculation
 * ("How the proxyAddresses attribute is populated in Microsoft Entra ID") takes an `SMTP:` entry of proxyAddresses
 * before `mail`: a new `mail` beside an old `SMTP:` entry would not move the primary (and would move it back once a
 * cloud-managed mailbox is handed back to AD). In cloud-default mode the primary of a synced mailbox is set in EXO,
 * and AD `mail` is aligned only if it holds a value (else it would override).
 */
export type PrimaryAuthority =
  | { readonly side: 'ad'; readonly rewriteProxyAddresses: boolean }
  | { readonly side: 'exo'; readonly makeCloudManagedFirst: boolean; readonly alignAdMail: boolean }
  | { readonly side: 'refused'; readonly reason: string };

export function primaryAuthority(target: TargetRecipient, profile: TenantProfile): PrimaryAuthority {
  const a = exchangeAuthority(target, profile);
  if (a.side === 'refused') return a;
  if (!target.isDirSynced) return { side: 'exo', makeCloudManagedFirst: false, alignAdMail: false };
  if (profile.exchangeAttributeMode === 'cloud-default') {
    // Only mailboxes get here (others are refused above).
    return { side: 'exo', makeCloudManagedFirst: a.side === 'exo' && a.makeCloudManagedFirst, alignAdMail: true };
  }
  // ad-mastered: `mail` decides the primary even when cloud-managed; proxyAddresses are rewritten with it for every kind,
  // so that AD never names two primaries (they reach EXO while AD masters them).
  return { side: 'ad', rewriteProxyAddresses: true };
}

export function describeType(type: string): string {
  const names: Record<string, string> = {
    UserMailbox: 'user mailbox',
    SharedMailbox: 'shared mailbox',
    RoomMailbox: 'room mailbox',
    EquipmentMailbox: 'equipment mailbox',
    MailUser: 'mail user',
    GuestMailUser: 'guest',
    MailContact: 'mail contact',
    MailUniversalDistributionGroup: 'distribution group',
    MailUniversalSecurityGroup: 'mail-enabled security group',
    MailNonUniversalGroup: 'distribution group',
    User: 'user without a mailbox',
  };
  return names[type] ?? type;
}

/** Whether a kind of mailbox keeps an Exchange licence after it is created. */
export function keepsLicence(kind: 'shared-mailbox' | 'room-mailbox' | 'equipment-mailbox', profile: TenantProfile): boolean {
  return kind !== 'shared-mailbox' && profile.roomsKeepLicence;
}
