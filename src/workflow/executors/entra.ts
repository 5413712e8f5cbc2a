/**
 * The Entra ID step executors, through Microsoft Graph: `entra.ensureUsageLocation`, `entra.assignLicence` and
 * `entra.removeLicence` (a licence given directly, or through a cloud licensing group). Each reads the user first,
 * writes only what is missing, and reads back (read-back.ts); Graph failures become StepErrors (cloud-errors.ts).
 */
import type { LicenceInput, StepInputs } from '../../plans';
import { sameIgnoringCase } from './cloud-compare';
import { asGraphError, graphFailure, permanent, type Doing } from './cloud-errors';
import type { ReadBack } from './read-back';
import { GRAPH_USER_SNAPSHOT, graphUserSnapshot, StepError, type StepContext, type StepExecutor, type StepOutcome, type StepResult } from './types';

/** The Graph calls of the Entra steps (`GraphDirectory` implements them). Errors are the Graph SDK's. */
export interface EntraGraphPort {
  /** GET /users/{id or UPN}?$select=…; null on 404. */
  user<T = Record<string, unknown>>(idOrUpn: string, select: readonly string[]): Promise<T | null>;
  setUsageLocation(userId: string, usageLocation: string): Promise<void>;
  assignLicense(userId: string, addSkuIds: readonly string[], removeSkuIds: readonly string[]): Promise<void>;
  addGroupMember(groupId: string, memberId: string): Promise<void>;
  removeGroupMember(groupId: string, memberId: string): Promise<void>;
  /** Ids of the groups the user is a direct member of. */
  memberOfIds(userId: string): Promise<string[]>;
}

interface GraphUserRow {
  id: string;
  userPrincipalName?: string;
  usageLocation?: string | null;
  assignedLicenses?: { skuId: string }[];
  licenseAssignmentStates?: { skuId: string; assignedByGroup?: string | null; state?: string; error?: string }[];
}

const USER_SELECT = ['id', 'userPrincipalName', 'usageLocation', 'assignedLicenses', 'licenseAssignmentStates'];

const done = (changed: boolean, result: StepResult): StepOutcome => ({ kind: 'done', changed, result });

/** The most recent look at this user among the results of the run's earlier steps. */
function latestLook(ctx: StepContext, upn: string): { user: GraphUserRow; seenAt: string } | undefined {
  let best: { user: GraphUserRow; seenAt: string } | undefined;
  for (const r of Object.values(ctx.results)) {
    const s = r[GRAPH_USER_SNAPSHOT] as (GraphUserRow & { seenAt?: unknown }) | undefined;
    if (!s || typeof s.id !== 'string' || typeof s.seenAt !== 'string' || !sameIgnoringCase(s.userPrincipalName, upn)) continue;
    if (!best || s.seenAt >= best.seenAt) {
      // on a tie the later step wins: it saw (or wrote) after the earlier one
      const { seenAt, ...user } = s;
      best = { user, seenAt };
    }
  }
  return best;
}

/** The users and group memberships the Entra steps read, with Graph failures as StepErrors. */
class EntraReads {
  constructor(
    readonly graph: EntraGraphPort,
    private readonly lookAgeMs: number,
  ) {}

  /**
   * The user as an earlier step of this run saw it moments ago (the user wait, or the read-back of the step before),
   * else a fresh GET. The earlier look stands in only on a step's first try and while it is younger than
   * `lookAgeMs`: a retry, or a step run long after (a crash, a queue), always looks again.
   */
  async lookUser(upn: string, ctx: StepContext, doing: Doing): Promise<{ user: GraphUserRow; seenAt: Date; earlier: boolean }> {
    const seen = ctx.attempt <= 1 ? latestLook(ctx, upn) : undefined;
    if (seen && ctx.now.getTime() - Date.parse(seen.seenAt) <= this.lookAgeMs) return { user: seen.user, seenAt: new Date(seen.seenAt), earlier: true };
    return { user: await this.user(upn, doing), seenAt: ctx.now, earlier: false };
  }

  async user(upn: string, doing: Doing): Promise<GraphUserRow> {
    let u: GraphUserRow | null;
    try {
      u = await this.graph.user<GraphUserRow>(upn, USER_SELECT);
    } catch (err) {
      throw graphFailure(err, doing);
    }
    if (!u) {
      throw permanent(
        `Mailroom could not ${doing.what}: Entra ID has no user ${upn}. ${doing.unchanged} ${doing.notFoundAdvice ?? 'Check that sync has created the user, then press Retry.'}`,
        { ...doing.detail, userPrincipalName: upn },
      );
    }
    return u;
  }

  async memberOf(userId: string, doing: Doing): Promise<string[]> {
    try {
      return await this.graph.memberOfIds(userId);
    } catch (err) {
      throw graphFailure(err, doing);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Licences: direct, or through a licensing group
// ---------------------------------------------------------------------------------------------

/** Active assignments of a SKU, direct (`assignedByGroup` null) and through groups. */
function skuAssignments(u: GraphUserRow, skuId: string): { direct: boolean; groups: string[]; active: boolean } {
  const states = u.licenseAssignmentStates;
  if (!states) {
    const has = (u.assignedLicenses ?? []).some((l) => sameIgnoringCase(l.skuId, skuId));
    return { direct: has, groups: [], active: has };
  }
  const mine = states.filter((l) => sameIgnoringCase(l.skuId, skuId));
  const active = mine.filter((l) => (l.state ?? 'Active') === 'Active');
  return {
    direct: mine.some((l) => !l.assignedByGroup),
    groups: active.filter((l) => l.assignedByGroup).map((l) => l.assignedByGroup as string),
    active: active.length > 0,
  };
}

/** The assignment state a licensing group gave the user, if Entra has processed it yet. */
function groupAssignment(u: GraphUserRow, groupId: string): { state: string; error: string } | null {
  const s = (u.licenseAssignmentStates ?? []).find((l) => sameIgnoringCase(l.assignedByGroup, groupId));
  return s ? { state: s.state ?? 'Active', error: s.error ?? 'None' } : null;
}

function groupLicenceError(input: Extract<LicenceInput, { via: 'group' }>, a: { state: string; error: string }, userId: string): StepError | null {
  if (a.state !== 'Error') return null;
  const free = /CountViolation/i.test(a.error);
  return permanent(
    free
      ? `No licence of the group ${input.groupName} is free: ${input.userPrincipalName} is now a member of the group, but Entra ID could not give the licence (CountViolation). Buy one or free one, then press Retry; the membership stays.`
      : `${input.userPrincipalName} is now a member of the licensing group ${input.groupName}, but Entra ID reports a licence error (${a.error}). Fix it in the Entra admin centre (Licenses, then the group's errors), then press Retry; the membership stays.`,
    { userId, groupId: input.groupId, licenceState: a.state, licenceError: a.error },
  );
}

/**
 * The intents the licence steps record before they act (`ctx.intend`), and whether an earlier try of the step recorded
 * one: then an effect found in place may be that try's (it crashed after acting, before its outcome was recorded). The
 * step then reports `changed: false` (this try wrote nothing: the audit log counts each write once) with
 * `assignedByEarlierTry: true`, which makes a roll back remove it. Without an intent, the effect was there before the
 * step went to act: a roll back keeps it.
 */
const ASSIGN_INTENT = 'assign-licence';
const GROUP_INTENT = 'add-to-licensing-group';

function earlierIntent(ctx: StepContext, action: string, id: string): boolean {
  const i = ctx.intent;
  return i !== undefined && i.action === action && typeof i.id === 'string' && sameIgnoringCase(i.id, id);
}

/**
 * Makes the user a member of the licensing group (`member`), or not, and reads it back. `already`: nothing to do;
 * `answer-lost`: Graph answered that an earlier try whose answer was lost had done it (the read-back confirms it).
 * `beforeWrite` runs after the look, right before the write (the intent).
 */
async function setLicensingGroupMember(
  entra: EntraReads,
  readBack: ReadBack,
  ctx: StepContext,
  input: Extract<LicenceInput, { via: 'group' }>,
  userId: string,
  member: boolean,
  doing: Doing,
  beforeWrite?: () => Promise<void>,
): Promise<'already' | 'written' | 'answer-lost'> {
  const isMember = (ids: readonly string[]): boolean => ids.some((g) => sameIgnoringCase(g, input.groupId));
  if (isMember(await entra.memberOf(userId, doing)) === member) return 'already';
  await beforeWrite?.();
  let outcome: 'written' | 'answer-lost' = 'written';
  try {
    await (member ? entra.graph.addGroupMember(input.groupId, userId) : entra.graph.removeGroupMember(input.groupId, userId));
  } catch (err) {
    const g = asGraphError(err);
    const lost = member ? g?.statusCode === 400 && /already exist/i.test(g.message) : g?.statusCode === 404;
    if (!lost) throw graphFailure(err, doing);
    outcome = 'answer-lost';
  }
  const check = await readBack.confirm(
    () => entra.memberOf(userId, doing),
    (ids) => isMember(ids) === member,
  );
  if (!check.ok) {
    const upn = input.userPrincipalName;
    throw member
      ? readBack.notTaken(ctx, 'Entra ID', `${upn} as a member of ${input.groupName}`, 'the user outside the group', 'Add the user to the group in the Entra admin centre.', { userId, groupId: input.groupId })
      : readBack.notTaken(ctx, 'Entra ID', `removal of ${upn} from ${input.groupName}`, 'the user still in the group', 'Remove the user from the group in the Entra admin centre.', { userId, groupId: input.groupId });
  }
  return outcome;
}

// ---------------------------------------------------------------------------------------------
// The executors
// ---------------------------------------------------------------------------------------------

const WAIT_FOR_SYNC = 'Check that sync has created the user (the wait before this step), then press Retry.';

/** What an Entra step is doing to a user, for its messages (cloud-errors.ts); `subject` defaults to the user. */
function doingTo(upn: string, what: string, unchanged: string, detail: StepResult, more: { subject?: string; notFoundAdvice?: string } = {}): Doing {
  return { what, unchanged, subject: more.subject ?? `user ${upn}`, notFoundAdvice: more.notFoundAdvice, detail: { userPrincipalName: upn, ...detail } };
}

function ensureUsageLocation(entra: EntraReads, readBack: ReadBack): StepExecutor<'entra.ensureUsageLocation'> {
  return {
    action: 'entra.ensureUsageLocation',
    async run(input, ctx) {
      const wanted = input.usageLocation.toUpperCase();
      const doing = doingTo(input.userPrincipalName, `set the usage location of ${input.userPrincipalName} to ${wanted}`, 'The usage location was not changed.', { usageLocation: wanted }, {
        notFoundAdvice: WAIT_FOR_SYNC,
      });
      const look = await entra.lookUser(input.userPrincipalName, ctx, doing);
      const u = look.user;
      const before = u.usageLocation ?? null;
      if (before && (input.onlyIfMissing || sameIgnoringCase(before, wanted))) {
        // what this step saw goes on to the next ones (a re-run after a crash found the location it had written)
        return done(false, { userId: u.id, usageLocation: before, ...(sameIgnoringCase(before, wanted) ? {} : { kept: true }), [GRAPH_USER_SNAPSHOT]: graphUserSnapshot(u, look.seenAt) });
      }
      try {
        await entra.graph.setUsageLocation(u.id, wanted);
      } catch (err) {
        throw graphFailure(err, doing);
      }
      if (input.confirmedBy) {
        // The licence step right after reads the user back; Entra gives no licence without a usage location.
        // What the next steps start from is what was just written; the licence step's read-back shows whether it took.
        return done(true, { userId: u.id, usageLocation: wanted, previous: before, setAt: ctx.now.toISOString(), confirmedBy: input.confirmedBy, [GRAPH_USER_SNAPSHOT]: graphUserSnapshot({ ...u, usageLocation: wanted }, ctx.now) });
      }
      const check = await readBack.confirm(
        () => entra.user(u.id, doing),
        (x) => sameIgnoringCase(x.usageLocation, wanted),
      );
      if (!check.ok) {
        throw readBack.notTaken(ctx, 'Entra ID', `usage location ${wanted} for ${input.userPrincipalName}`, `${check.value.usageLocation ?? 'none'}`, 'Set it in the Entra admin centre.', {
          userId: u.id,
          usageLocation: check.value.usageLocation ?? null,
        });
      }
      return done(true, { userId: u.id, usageLocation: wanted, previous: before, setAt: ctx.now.toISOString(), [GRAPH_USER_SNAPSHOT]: graphUserSnapshot(check.value, ctx.now) });
    },
  };
}

/** How long "invalid usage location" right after the usage location was set counts as replication, and how often to try. */
export interface UsageLocationPatience {
  /** From the time this run set the usage location (ms). Default 120 000. */
  readonly patienceMs?: number;
  /** Between tries (ms; the step's Retry-After). Default 5 000. */
  readonly retryMs?: number;
}

/** When this run set the user's usage location (entra.ensureUsageLocation's result), or undefined. */
function usageLocationSetAt(ctx: StepContext, userId: string): number | undefined {
  let at: number | undefined;
  for (const r of Object.values(ctx.results)) {
    if (typeof r.userId !== 'string' || !sameIgnoringCase(r.userId, userId) || !('previous' in r)) continue;
    const raw = typeof r.setAt === 'string' ? r.setAt : (r[GRAPH_USER_SNAPSHOT] as { seenAt?: unknown } | undefined)?.seenAt;
    const t = typeof raw === 'string' ? Date.parse(raw) : NaN;
    if (!Number.isNaN(t) && (at === undefined || t > at)) at = t;
  }
  return at;
}

/**
 * Graph answered "License assignment cannot be done for user with invalid usage location." although the user has one:
 * right after it was set, Entra ID has not replicated it everywhere yet (intermittent; Okta support documents it for
 * Graph). Transient while this run set the location less than `patienceMs` ago (or, when another hand set it, for the
 * first three tries); then permanent, saying what to check.
 */
function usageLocationNotReplicated(ctx: StepContext, input: Extract<LicenceInput, { via: 'direct' }>, u: GraphUserRow, patience: UsageLocationPatience, err: unknown): StepError {
  const upn = input.userPrincipalName;
  const location = u.usageLocation ?? '';
  const setAt = usageLocationSetAt(ctx, u.id);
  const patienceMs = patience.patienceMs ?? 120_000;
  const since = setAt === undefined ? undefined : Math.max(0, ctx.now.getTime() - setAt);
  const detail = { userId: u.id, skuId: input.skuId, usageLocation: location, graphMessage: asGraphError(err)?.message ?? '', ...(since !== undefined ? { usageLocationSetMsAgo: since } : {}) };
  const waitMore = since !== undefined ? since < patienceMs : ctx.attempt < 3;
  if (waitMore) {
    const when = since !== undefined ? `was set ${Math.round(since / 1000)} s ago` : 'is set';
    return new StepError(
      `Entra ID does not accept the ${input.skuName} licence for ${upn} yet: it answers "invalid usage location", although the usage location ${location} ${when} (Entra ID takes a while to replicate it). No licence was assigned. Mailroom tries again by itself for up to ${Math.round(patienceMs / 60_000) || 1} minute(s); if it keeps failing, check the user's usage location in the Microsoft 365 admin centre, then press Retry.`,
      true,
      patience.retryMs ?? 5_000,
      detail,
    );
  }
  const how = since !== undefined ? `${Math.max(1, Math.round(since / 60_000))} minute(s) after Mailroom set the usage location to ${location}` : `although the user's usage location is ${location}`;
  return permanent(
    `Entra ID still refuses the ${input.skuName} licence for ${upn} with "invalid usage location", ${how}. No licence was assigned. Check the user's usage location in the Microsoft 365 admin centre (the user's country or region) and that the licence is sold for that country, then press Retry.`,
    detail,
  );
}

async function assignDirect(entra: EntraReads, readBack: ReadBack, input: Extract<LicenceInput, { via: 'direct' }>, ctx: StepContext, patience: UsageLocationPatience = {}): Promise<StepOutcome> {
  const upn = input.userPrincipalName;
  const doing = doingTo(upn, `assign the ${input.skuName} licence to ${upn}`, 'No licence was assigned.', { skuId: input.skuId }, { notFoundAdvice: WAIT_FOR_SYNC });
  const look = await entra.lookUser(upn, ctx, doing);
  // An earlier look may skip work, never stop the step: a refusal is decided on a fresh read.
  const u = look.earlier && !look.user.usageLocation && !skuAssignments(look.user, input.skuId).active ? await entra.user(upn, doing) : look.user;
  const now = skuAssignments(u, input.skuId);
  if (now.active) {
    // Assigned directly, and an earlier try recorded that it was about to assign it: that try may have done it.
    const mine = now.direct && earlierIntent(ctx, ASSIGN_INTENT, input.skuId);
    return done(false, { userId: u.id, skuId: input.skuId, ...(now.direct ? {} : { throughGroups: now.groups }), ...(mine ? { assignedByEarlierTry: true } : {}) });
  }
  if (!u.usageLocation) {
    throw permanent(
      `Mailroom could not assign the ${input.skuName} licence to ${upn}: the user has no usage location, and licences need one. No licence was assigned. Set the usage location (a two-letter country) in the Entra admin centre, then press Retry.`,
      { userId: u.id, skuId: input.skuId },
    );
  }
  // Recorded before the write: a crash after Graph acted leaves the next try knowing the licence may be this step's.
  await ctx.intend?.({ action: ASSIGN_INTENT, id: input.skuId, userId: u.id, had: false });
  try {
    await entra.graph.assignLicense(u.id, [input.skuId], []);
  } catch (err) {
    const g = asGraphError(err);
    if (g?.statusCode === 400 && /invalid usage location/i.test(g.message)) throw usageLocationNotReplicated(ctx, input, u, patience, err);
    throw graphFailure(err, doing, input.skuName);
  }
  const check = await readBack.confirm(
    () => entra.user(u.id, doing),
    (x) => skuAssignments(x, input.skuId).active && !!x.usageLocation,
  );
  if (!check.ok) {
    throw readBack.notTaken(ctx, 'Entra ID', `the ${input.skuName} licence for ${upn}`, 'no such licence on the user', "Check the user's licences in the Microsoft 365 admin centre.", { userId: u.id, skuId: input.skuId });
  }
  return done(true, { userId: u.id, skuId: input.skuId, [GRAPH_USER_SNAPSHOT]: graphUserSnapshot(check.value, ctx.now) });
}

async function assignThroughGroup(entra: EntraReads, readBack: ReadBack, input: Extract<LicenceInput, { via: 'group' }>, ctx: StepContext): Promise<StepOutcome> {
  const upn = input.userPrincipalName;
  const doing = doingTo(upn, `add ${upn} to the licensing group ${input.groupName}`, 'The group membership was not changed.', { groupId: input.groupId }, {
    subject: `user ${upn} or group ${input.groupName} (${input.groupId})`,
    notFoundAdvice: "Check that sync has created the user and that the licensing group in Mailroom's tenant settings still exists, then press Retry.",
  });
  const u = await entra.user(upn, doing);
  const outcome = await setLicensingGroupMember(entra, readBack, ctx, input, u.id, true, doing, () => ctx.intend?.({ action: GROUP_INTENT, id: input.groupId, userId: u.id, had: false }) ?? Promise.resolve());
  const changed = outcome === 'written';
  // A membership found in place that an earlier try recorded it was about to add may be that try's.
  const mine = !changed && earlierIntent(ctx, GROUP_INTENT, input.groupId);
  const after = changed || mine ? await entra.user(u.id, doing) : u;
  const a = groupAssignment(after, input.groupId);
  if (a) {
    const failure = groupLicenceError(input, a, u.id);
    if (failure) throw failure;
  }
  return done(changed, { userId: u.id, groupId: input.groupId, licenceState: a?.state ?? 'processing', ...(mine ? { assignedByEarlierTry: true } : {}) });
}

async function removeDirect(entra: EntraReads, readBack: ReadBack, input: Extract<LicenceInput, { via: 'direct' }>, ctx: StepContext): Promise<StepOutcome> {
  const upn = input.userPrincipalName;
  const doing = doingTo(upn, `remove the ${input.skuName} licence from ${upn}`, 'The licence was not removed.', { skuId: input.skuId });
  const u = await entra.user(upn, doing);
  const now = skuAssignments(u, input.skuId);
  if (!now.direct) {
    if (now.groups.length > 0) {
      throw permanent(
        `${upn} has the ${input.skuName} licence through a licensing group (${now.groups.join(', ')}), not directly, so Mailroom removed nothing. Remove the user from that group (or drop this step's licence another way), then press Retry.`,
        { userId: u.id, skuId: input.skuId, throughGroups: now.groups },
      );
    }
    return done(false, { userId: u.id, skuId: input.skuId });
  }
  try {
    await entra.graph.assignLicense(u.id, [], [input.skuId]);
  } catch (err) {
    const g = asGraphError(err);
    // Removed by an earlier try whose answer was lost.
    if (!(g && g.statusCode === 400 && /does not have a corresponding license/i.test(g.message))) throw graphFailure(err, doing, input.skuName);
  }
  const check = await readBack.confirm(
    () => entra.user(u.id, doing),
    (x) => !skuAssignments(x, input.skuId).direct,
  );
  if (!check.ok) {
    throw readBack.notTaken(ctx, 'Entra ID', `removal of the ${input.skuName} licence from ${upn}`, 'the licence still assigned', 'Remove it in the Microsoft 365 admin centre.', { userId: u.id, skuId: input.skuId });
  }
  const left = skuAssignments(check.value, input.skuId).groups;
  return done(true, { userId: u.id, skuId: input.skuId, ...(left.length ? { stillThroughGroups: left } : {}) });
}

async function removeThroughGroup(entra: EntraReads, readBack: ReadBack, input: Extract<LicenceInput, { via: 'group' }>, ctx: StepContext): Promise<StepOutcome> {
  const upn = input.userPrincipalName;
  const doing = doingTo(upn, `remove ${upn} from the licensing group ${input.groupName}`, 'The group membership was not changed.', { groupId: input.groupId }, {
    subject: `user ${upn} or group ${input.groupName} (${input.groupId})`,
  });
  const u = await entra.user(upn, doing);
  // A remove whose answer was lost (404) counts as this step's change: the read-back showed the user gone.
  const changed = (await setLicensingGroupMember(entra, readBack, ctx, input, u.id, false, doing)) !== 'already';
  return done(changed, { userId: u.id, groupId: input.groupId });
}

/**
 * The executors of every `entra.*` action. `lookAgeMs`: how old an earlier step's look at a user may be to stand in for
 * a new one; `usageLocation`: the patience with "invalid usage location" right after setting it.
 */
export function entraExecutors(graph: EntraGraphPort, readBack: ReadBack, lookAgeMs: number, usageLocation: UsageLocationPatience = {}): StepExecutor[] {
  const entra = new EntraReads(graph, lookAgeMs);
  const list: { [A in Exclude<Extract<keyof StepInputs, `entra.${string}`>, 'entra.revokeSessions'>]: StepExecutor<A> } = {
    'entra.ensureUsageLocation': ensureUsageLocation(entra, readBack),
    'entra.assignLicence': {
      action: 'entra.assignLicence',
      run: (input, ctx) => (input.via === 'direct' ? assignDirect(entra, readBack, input, ctx, usageLocation) : assignThroughGroup(entra, readBack, input, ctx)),
    },
    'entra.removeLicence': {
      action: 'entra.removeLicence',
      run: (input, ctx) => (input.via === 'direct' ? removeDirect(entra, readBack, input, ctx) : removeThroughGroup(entra, readBack, input, ctx)),
    },
  };
  return Object.values(list);
}
