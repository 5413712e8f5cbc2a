/**
 * Licences: the subscribed SKUs, direct and group-based assignment (Graph assignLicense) and the reconciliation of
 * every user's licence states with the units purchased.
 */
import { GraphError, graphNotFound } from '../errors';
import { isGuid } from '../ids';
import { KNOWN_SKUS, type SkuDefinition } from '../skus';
import type { EntraGroup, EntraUser, LicenceAssignment, SkuSeed, SkuState } from '../tenant-model';
import type { TenantCore } from './core';
import { hasExchangePlan, onExchangeLicenceGained, onExchangeLicenceLost, tick } from './mailboxes';

/** Adds or replaces a subscribed SKU. */
export function addSku(core: TenantCore, seed: SkuSeed): SkuState {
  const known = KNOWN_SKUS[seed.skuPartNumber];
  const def: SkuDefinition = known ?? {
    skuId: seed.skuId ?? core.ids(),
    skuPartNumber: seed.skuPartNumber,
    servicePlans: seed.servicePlans ?? [],
  };
  const sku: SkuState = {
    skuId: seed.skuId ?? def.skuId,
    skuPartNumber: def.skuPartNumber,
    servicePlans: seed.servicePlans ?? def.servicePlans,
    prepaidUnits: seed.units,
  };
  core.s.skus = core.s.skus.filter((x) => x.skuPartNumber !== sku.skuPartNumber);
  core.s.skus.push(sku);
  return { ...sku };
}

/** Sets the purchased units of a SKU (by part number or skuId). Existing assignments are kept. */
export function setSkuUnits(core: TenantCore, skuPartNumberOrId: string, units: number): void {
  const sku = core.findSku(skuPartNumberOrId);
  if (!sku) throw new Error(`no SKU ${skuPartNumberOrId}`);
  sku.prepaidUnits = units;
  tick(core);
  reconcileLicences(core);
}

/** The SKUs with their consumption, as Graph `subscribedSkus` reports them. */
export function subscribedSkus(core: TenantCore): (SkuState & { consumedUnits: number })[] {
  tick(core);
  return core.s.skus.map((sku) => ({ ...sku, consumedUnits: core.consumedUnits(sku.skuId) }));
}

/** The subscribed SKUs without consumption (cheap). */
export function skus(core: TenantCore): SkuState[] {
  return core.s.skus.map((sku) => structuredClone(sku));
}

/**
 * Graph `POST /users/{id}/assignLicense`. Checks, in Graph's order: known SKU, usage location, licence
 * held (for removals), free units. Returns the user.
 */
export function assignLicense(
  core: TenantCore,
  key: string,
  addLicenses: { skuId: string; disabledPlans?: string[] }[],
  removeLicenses: string[],
): EntraUser {
  tick(core);
  const u = core.findUser(key);
  if (!u) throw graphNotFound(key);
  assertKnownSkus(core, addLicenses, removeLicenses);
  if (addLicenses.length > 0 && !u.usageLocation) {
    throw new GraphError(400, 'Request_BadRequest', 'License assignment cannot be done for user with invalid usage location.');
  }
  for (const r of removeLicenses) {
    if (!u.directLicenses.some((d) => d.skuId.toLowerCase() === r.toLowerCase())) {
      throw new GraphError(400, 'Request_BadRequest', 'User does not have a corresponding license.');
    }
  }
  for (const a of addLicenses) {
    const sku = core.findSku(a.skuId)!;
    const holds = u.licenseAssignmentStates.some((l) => l.skuId === sku.skuId && l.state === 'Active');
    if (!holds && core.consumedUnits(sku.skuId) >= sku.prepaidUnits) {
      throw new GraphError(400, 'Request_BadRequest', `Subscription with SKU ${sku.skuId} does not have any available licenses.`);
    }
  }
  u.directLicenses = changedLicences(core, u.directLicenses, addLicenses, removeLicenses);
  reconcileLicences(core);
  tick(core);
  return structuredClone(u);
}

/**
 * Graph `POST /groups/{id}/assignLicense` (group-based licensing). Members get the licence; when units
 * run out, the error lands on the member (licenseAssignmentStates: CountViolation), not on the call.
 * Members without usageLocation get the tenant's country, as the real service does.
 */
export function assignGroupLicense(core: TenantCore, groupId: string, addLicenses: { skuId: string; disabledPlans?: string[] }[], removeLicenses: string[]): EntraGroup {
  tick(core);
  const g = core.groupOrNotFound(groupId);
  assertKnownSkus(core, addLicenses, removeLicenses);
  g.assignedLicenses = changedLicences(core, g.assignedLicenses, addLicenses, removeLicenses);
  reconcileLicences(core);
  tick(core);
  return structuredClone(g);
}

/** Graph's first check of an assignLicense call (user or group): every skuId names a subscribed SKU. */
function assertKnownSkus(core: TenantCore, addLicenses: { skuId: string }[], removeLicenses: string[]): void {
  for (const l of [...addLicenses.map((a) => a.skuId), ...removeLicenses]) {
    if (!core.findSku(l) || !isGuid(l)) {
      throw new GraphError(400, 'Request_BadRequest', `License ${l} does not correspond to a valid company License.`);
    }
  }
}

/** A user's or group's licence list after an assignLicense call: the removed SKUs gone, each added one (re)placed last. */
function changedLicences(
  core: TenantCore,
  current: { skuId: string; disabledPlans: string[] }[],
  addLicenses: { skuId: string; disabledPlans?: string[] }[],
  removeLicenses: string[],
): { skuId: string; disabledPlans: string[] }[] {
  let next = current.filter((d) => !removeLicenses.some((r) => r.toLowerCase() === d.skuId.toLowerCase()));
  for (const a of addLicenses) {
    const sku = core.findSku(a.skuId)!;
    next = next.filter((d) => d.skuId !== sku.skuId);
    next.push({ skuId: sku.skuId, disabledPlans: [...(a.disabledPlans ?? [])] });
  }
  return next;
}

/**
 * Recomputes every user's licence states from direct assignments and licensed groups, allocating
 * units in a stable order, then applies the mailbox effects (schedule a mailbox for a newly licensed
 * user; note the removal for a mailbox that lost its last Exchange licence).
 */
export function reconcileLicences(core: TenantCore): void {
  const now = core.iso();
  const before = new Map(core.s.users.map((u) => [u.id, hasExchangePlan(core, u)]));
  const groupsOf = new Map<string, EntraGroup[]>();
  for (const g of core.s.groups.filter((x) => x.assignedLicenses.length > 0)) {
    for (const m of allUserMembers(core, g)) groupsOf.set(m, [...(groupsOf.get(m) ?? []), g]);
  }
  const holders = new Map<string, Set<string>>();
  const hold = (skuId: string, userId: string): void => {
    const set = holders.get(skuId) ?? new Set<string>();
    set.add(userId);
    holders.set(skuId, set);
  };
  type Wanted = { skuId: string; disabledPlans: string[]; assignedByGroup: string | null };
  const wanted = new Map<string, Wanted[]>();
  for (const u of core.s.users) {
    const list: Wanted[] = u.directLicenses.map((d) => ({ skuId: d.skuId, disabledPlans: d.disabledPlans, assignedByGroup: null }));
    for (const g of groupsOf.get(u.id) ?? []) {
      for (const l of g.assignedLicenses) list.push({ skuId: l.skuId, disabledPlans: l.disabledPlans, assignedByGroup: g.id });
    }
    wanted.set(u.id, list);
    // Keep units already held through a path that is still wanted.
    for (const w of list) {
      const old = u.licenseAssignmentStates.find((l) => l.skuId === w.skuId && l.assignedByGroup === w.assignedByGroup);
      if ((old && old.state === 'Active') || w.assignedByGroup === null) hold(w.skuId, u.id);
    }
  }
  for (const u of core.s.users) {
    const next: LicenceAssignment[] = [];
    for (const w of wanted.get(u.id) ?? []) {
      const sku = core.s.skus.find((s) => s.skuId === w.skuId);
      const old = u.licenseAssignmentStates.find((l) => l.skuId === w.skuId && l.assignedByGroup === w.assignedByGroup);
      let active = holders.get(w.skuId)?.has(u.id) ?? false;
      if (!active && sku && (holders.get(w.skuId)?.size ?? 0) < sku.prepaidUnits) {
        hold(w.skuId, u.id);
        active = true;
      }
      const state: LicenceAssignment['state'] = active ? 'Active' : 'Error';
      next.push({
        skuId: w.skuId,
        disabledPlans: [...w.disabledPlans],
        assignedByGroup: w.assignedByGroup,
        state,
        error: active ? 'None' : 'CountViolation',
        lastUpdatedDateTime: old && old.state === state ? old.lastUpdatedDateTime : now,
      });
    }
    u.licenseAssignmentStates = next;
    if (!u.usageLocation && next.some((l) => l.assignedByGroup !== null && l.state === 'Active')) {
      u.usageLocation = core.s.countryLetterCode;
    }
  }
  for (const u of core.s.users) {
    const had = before.get(u.id) ?? false;
    const has = hasExchangePlan(core, u);
    if (has && !had) onExchangeLicenceGained(core, u);
    if (!has && had) onExchangeLicenceLost(core, u);
  }
}

function allUserMembers(core: TenantCore, g: EntraGroup, seen = new Set<string>()): string[] {
  if (seen.has(g.id)) return [];
  seen.add(g.id);
  const out: string[] = [];
  for (const id of core.memberIdsOf(g)) {
    if (core.userIndex.has(id)) out.push(id);
    const nested = core.s.groups.find((x) => x.id === id);
    if (nested) out.push(...allUserMembers(core, nested, seen));
  }
  return [...new Set(out)];
}
