/**
 * Replication lag: the advanced-query index (`ConsistencyLevel: eventual`) and the usage location, both behind
 * knobs.
 */
import type { EmulatorContext } from '../context';
import { GraphError } from '../errors';
import type { EntraUser } from '../tenant';

/** One object as the advanced-query index holds it: what it shows (null: not yet), and writes on their way. */
interface IndexedObject {
  shown: Record<string, unknown> | null;
  /** Versions not shown yet, oldest first, with the time they were written (or first seen). */
  pending: { row: Record<string, unknown>; since: number }[];
  /** When the object was found gone from the directory (it stays in the index for the lag). */
  goneSince?: number;
}

/** Per emulator: the index of each collection path (`/users`, `/groups/{id}/members` …). */
const eventualIndexes = new WeakMap<EmulatorContext, Map<string, Map<string, IndexedObject>>>();

/**
 * What an advanced query (`ConsistencyLevel: eventual`) sees: Graph serves those from a separate index of directory
 * objects ("Advanced query capabilities on Microsoft Entra ID objects": the properties are "indexed in a separate
 * store"), which lags behind writes by up to `advancedQueryLagMs` (tenant clock). A write becomes visible there that
 * long after it was made: new objects count from their createdDateTime, changes from the first query that saw them
 * (the emulator notices changes when it is asked, so a change nobody queried starts its lag late), deletions keep the
 * object for the lag. The first query of a path (or the first after the knob was off) sees the directory as it is.
 */
export function eventualView(ctx: EmulatorContext, path: string, items: Record<string, unknown>[]): Record<string, unknown>[] {
  const lag = ctx.knobs.advancedQueryLagMs ?? 0;
  let indexes = eventualIndexes.get(ctx);
  if (lag <= 0) {
    indexes?.clear();
    return items;
  }
  // the index keeps its own copies: the items may share arrays with the tenant's objects
  items = structuredClone(items);
  if (!indexes) eventualIndexes.set(ctx, (indexes = new Map<string, Map<string, IndexedObject>>()));
  const now = ctx.tenant.clock.now();
  const key = path.toLowerCase();
  let index = indexes.get(key);
  const baseline = index === undefined;
  if (!index) indexes.set(key, (index = new Map<string, IndexedObject>()));
  const seen = new Set<string>();
  for (const row of items) {
    const id = typeof row.id === 'string' ? row.id.toLowerCase() : JSON.stringify(row);
    seen.add(id);
    const entry = index.get(id);
    if (!entry) {
      const created = typeof row.createdDateTime === 'string' ? Date.parse(row.createdDateTime) : NaN;
      index.set(id, baseline ? { shown: row, pending: [] } : { shown: null, pending: [{ row, since: Number.isNaN(created) ? now : Math.min(created, now) }] });
      continue;
    }
    entry.goneSince = undefined;
    const latest = entry.pending.at(-1)?.row ?? entry.shown;
    if (JSON.stringify(latest) !== JSON.stringify(row)) entry.pending.push({ row, since: now });
  }
  const out: Record<string, unknown>[] = [];
  for (const [id, entry] of index) {
    if (!seen.has(id)) {
      entry.goneSince ??= now;
      if (now - entry.goneSince >= lag) {
        index.delete(id);
        continue;
      }
    }
    while (entry.pending.length > 0 && now - entry.pending[0]!.since >= lag) entry.shown = entry.pending.shift()!.row;
    if (entry.shown) out.push(entry.shown);
  }
  return out;
}

/** Per emulator: when each user's usage location was last changed through Graph (tenant clock). */
const usageLocationWrites = new WeakMap<EmulatorContext, Map<string, number>>();

/** Notes a `PATCH /users/{id}` that changes the usage location. */
export function noteUsageLocationWrite(ctx: EmulatorContext, user: EntraUser, patch: Record<string, unknown>): void {
  if (!('usageLocation' in patch) || (ctx.knobs.usageLocationLagMs ?? 0) <= 0) return;
  const next = typeof patch.usageLocation === 'string' ? patch.usageLocation.toUpperCase() : null;
  if (next === (user.usageLocation ?? null)) return;
  let writes = usageLocationWrites.get(ctx);
  if (!writes) usageLocationWrites.set(ctx, (writes = new Map<string, number>()));
  writes.set(user.id.toLowerCase(), ctx.tenant.clock.now());
}

/**
 * assignLicense right after the usage location was set: Entra ID has not replicated it everywhere yet and answers as
 * it does for a user without one. Okta support documents this as intermittent ("Office 365 Provisioning Failed to
 * Push Profile Update Error: HTTP 400 … License assignment cannot be done for user with invalid usage location.",
 * with the usage location set), as does microsoft/Partner-Center-DotNet-Samples#131.
 */
export function refuseWhileUsageLocationReplicates(ctx: EmulatorContext, user: EntraUser, adding: boolean): void {
  const lag = ctx.knobs.usageLocationLagMs ?? 0;
  const at = usageLocationWrites.get(ctx)?.get(user.id.toLowerCase());
  if (!adding || lag <= 0 || at === undefined) return;
  if (ctx.tenant.clock.now() - at < lag) {
    throw new GraphError(400, 'Request_BadRequest', 'License assignment cannot be done for user with invalid usage location.');
  }
}
