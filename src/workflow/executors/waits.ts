/**
 * The waits of a plan, served by the one poller: `sync.awaitUser`, `sync.awaitContact`, `sync.awaitGroup`,
 * `exo.awaitMailbox`, `exo.awaitRecipient` and `exo.awaitSendOnBehalf`. This file says what each waits for and how it speaks of it; the
 * cycle they share is wait-cycle.ts. Each `checkAll` answers for every waiting step of its action with a number of
 * calls that hardly grows with the number of steps:
 *
 * - Entra ID through Graph `$batch` (graph-batch.ts): up to 300 waiting objects cost one HTTP request per cycle;
 * - Exchange Online through one `Get-Mailbox` / `Get-Recipient -Filter` per 50 identities (exchange-lookup.ts);
 * - Entra Cloud Sync on demand, within the job's limit shared by every instance (on-demand-limiter.ts).
 */
import { dn } from '../../directory';
import type { Logger } from '../../log';
import type { RecipientExpectation, StepInputs, SyncWait } from '../../plans';
import { bareAddress, sameIgnoringCase } from './cloud-compare';
import { lookUpInExchange } from './exchange-lookup';
import { checkMailboxPreconditions, type StepRerunPort } from './mailbox-preconditions';
import type { ExchangePort, RecipientRow } from './exchange-port';
import { lookUpInEntra, type BatchRetryOptions, type GraphAsk, type GraphBatchPort, type GraphRow } from './graph-batch';
import { OnDemandTrigger, type CloudSyncJob, type OnDemandLimit, type OnDemandLimiter, type ProvisionOnDemandPort } from './on-demand-limiter';
import { GRAPH_USER_SNAPSHOT, graphUserSnapshot, StepError, type BatchWaiter, type StepResult } from './types';
import { foundFrom, WaitMemory, Waiter, type Found, type Probe, type WaitAction, type WaitKind, type WaitState } from './wait-cycle';

export interface WaiterDeps {
  readonly graph: GraphBatchPort & ProvisionOnDemandPort;
  readonly exo: ExchangePort;
  /** The Entra Cloud Sync job for provisionOnDemand (none with Connect Sync). */
  readonly sync: CloudSyncJob;
  /**
   * Where the provisionOnDemand window is kept. Mailroom passes the store's `rateLimits`, shared by every instance
   * on the database; an `InMemoryOnDemandLimiter` holds for one process only (unit tests). Required, so that no
   * caller gets a per-process limit without saying so.
   */
  readonly limiter: OnDemandLimiter;
  /** The clock of the provisionOnDemand limiter (ms). Default Date.now. */
  readonly now?: () => number;
  /** Graph's provisionOnDemand limit per job, and a margin added to the window. Default 5 per 10 000 ms, margin 1000 ms. */
  readonly provisionOnDemandLimit?: OnDemandLimit;
  /** Identities per Exchange `-Filter` query. Default 50. */
  readonly identitiesPerExoCall?: number;
  /** Next poll of a waiting step (ms), by kind of wait. */
  readonly pollIntervalMs?: Partial<Record<'cloudSync' | 'connectSync' | 'mailbox' | 'recipient', number>>;
  /** Cycle-level warnings (a failed look-up); default the first step's ctx.log. */
  readonly log?: Logger;
  /**
   * How long the mailbox wait goes without a mailbox before it checks that the user still has its usage location and
   * licence (mailbox-preconditions.ts). Default 120 000 ms.
   */
  readonly mailboxPreconditionGraceMs?: number;
  /** Runs earlier steps again: the mailbox wait puts back a licence or usage location that is gone, on a Retry. */
  readonly rerun?: StepRerunPort;
  /** How `$batch` items Graph throttles one by one are retried within a cycle (graph-batch.ts). */
  readonly batchRetry?: BatchRetryOptions;
}

// ---------------------------------------------------------------------------------------------
// How the waits speak
// ---------------------------------------------------------------------------------------------

function minutes(n: number): string {
  return `${n} minute${n === 1 ? '' : 's'}`;
}

function engineName(sync: SyncWait): string {
  return sync.engine === 'cloud' ? 'Entra Cloud Sync' : 'Entra Connect Sync';
}

function syncEngineText(sync: SyncWait | undefined): string {
  if (!sync) return 'sync';
  return sync.engine === 'cloud' ? 'Entra Cloud Sync (its provisioning agent and configuration)' : 'Entra Connect Sync (its scheduler runs a cycle every 30 minutes)';
}

function podText(s: WaitState): string {
  const p = s.provisionOnDemand;
  if (!p) return '';
  return ` On-demand provisioning answered ${p.status}${p.reason ? `: ${p.reason}` : ''}.`;
}

/** The OU part of a DN, for messages. */
function parentOf(dnString: string): string {
  try {
    return dn.parent(dnString) ?? dnString;
  } catch {
    return dnString;
  }
}

function logOf(deps: WaiterDeps, probes: readonly Probe<WaitAction>[]): Logger {
  return deps.log ?? probes[0]!.step.ctx.log;
}

function syncPoll(deps: WaiterDeps, s: SyncWait): number {
  return s.engine === 'cloud' ? (deps.pollIntervalMs?.cloudSync ?? 10_000) : (deps.pollIntervalMs?.connectSync ?? 60_000);
}

// ---------------------------------------------------------------------------------------------
// Sync into Entra ID: users, contacts, groups
// ---------------------------------------------------------------------------------------------

/** Whether an Entra user is the AD object the plan names (when Graph tells its DN). */
function dnMatches(row: GraphRow, dnString: string): boolean {
  const seen = row.onPremisesDistinguishedName;
  return typeof seen !== 'string' || seen === '' || dn.equal(seen, dnString);
}

function userKind(deps: WaiterDeps): WaitKind<'sync.awaitUser'> {
  const name = (i: StepInputs['sync.awaitUser']): string => i.userPrincipalName ?? i.samAccountName ?? i.dn;
  return {
    action: 'sync.awaitUser',
    syncOf: (i) => i,
    pollMs: (i) => syncPoll(deps, i),
    reason: (i) =>
      i.expectAccountEnabled === undefined
        ? `Waiting until ${engineName(i)} has created the user ${name(i)} in Entra ID`
        : i.expectAccountEnabled
          ? `Waiting until ${engineName(i)} has created the user ${name(i)} in Entra ID, its account enabled`
          : `Waiting until Entra ID shows the account of ${name(i)} as disabled`,
    async lookup(probes) {
      const asks: GraphAsk[] = [];
      const errors = new Map<string, Found>();
      for (const { step } of probes) {
        const i = step.input;
        if (i.samAccountName) asks.push({ key: step.key, entity: 'users', property: 'onPremisesSamAccountName', value: i.samAccountName });
        else if (i.userPrincipalName) asks.push({ key: step.key, entity: 'users', property: 'userPrincipalName', value: i.userPrincipalName });
        else {
          errors.set(step.key, {
            kind: 'error',
            error: new StepError(`Mailroom cannot wait for the user ${i.dn} in Entra ID: the plan names neither its logon name nor its sign-in name, and Entra ID cannot be searched by DN. Nothing was changed. Ask again once the user's sign-in name is known.`, false),
          });
        }
      }
      const answers = await lookUpInEntra(deps.graph, asks, logOf(deps, probes), deps.batchRetry); // no asks: no call
      const found = foundFrom(answers, probes.filter((p) => !errors.has(p.step.key)), (p, rows) => {
        const i = p.step.input;
        const hits = rows.filter((r) => (i.samAccountName ? sameIgnoringCase(r.onPremisesSamAccountName, i.samAccountName) : sameIgnoringCase(r.userPrincipalName, i.userPrincipalName)) && dnMatches(r, i.dn));
        const u = hits[0];
        if (!u) return { kind: 'missing', why: 'not in Entra ID', seen: false };
        if (i.expectAccountEnabled !== undefined && u.accountEnabled !== i.expectAccountEnabled) {
          return { kind: 'missing', why: `the account is still ${u.accountEnabled === true ? 'enabled' : 'disabled'}`, seen: true };
        }
        return {
          kind: 'ok',
          result: {
            entraId: u.id,
            userPrincipalName: u.userPrincipalName ?? null,
            accountEnabled: u.accountEnabled ?? null,
            [GRAPH_USER_SNAPSHOT]: graphUserSnapshot(u, p.step.ctx.now),
          },
        };
      });
      for (const [k, v] of errors) found.set(k, v);
      return found;
    },
    timeout(i, f, s) {
      if (f?.seen) {
        return (
          `Entra ID still shows the account of ${name(i)} as ${i.expectAccountEnabled ? 'disabled' : 'enabled'} ${minutes(i.timeoutMinutes)} after the change in AD (${i.dn}): ${i.expectAccountEnabled ? 'the person cannot sign in yet' : 'sign-in is not blocked yet'}. ` +
          `Nothing else was changed after the AD step. Check that ${syncEngineText(i)} is running.${podText(s)} Then press Retry.`
        );
      }
      return (
        `The user ${name(i)} (${i.dn}) did not appear in Entra ID within ${minutes(i.timeoutMinutes)}. Nothing else was changed after the AD step. ` +
        `Check that ${syncEngineText(i)} is running and has ${parentOf(i.dn)} in its scope.${podText(s)} Then press Retry.`
      );
    },
  };
}

/** A contact or group that sync creates in Entra ID, found by one property. */
function syncedObjectKind<A extends 'sync.awaitContact' | 'sync.awaitGroup'>(
  deps: WaiterDeps,
  what: {
    readonly action: A;
    readonly noun: 'contact' | 'group';
    readonly entity: 'contacts' | 'groups';
    readonly property: 'mail' | 'onPremisesSamAccountName';
    /** The value of `property` the step waits for; also how the object is named in messages. */
    valueOf(input: StepInputs[A]): string;
    resultOf(row: GraphRow, input: StepInputs[A]): StepResult;
    /** Added to the timeout's advice, e.g. ", and that the contact has mail set in AD". */
    readonly alsoCheck: string;
  },
): WaitKind<A> {
  return {
    action: what.action,
    syncOf: (i) => i,
    pollMs: (i) => syncPoll(deps, i),
    reason: (i) => `Waiting until ${engineName(i)} has created the ${what.noun} ${what.valueOf(i)} in Entra ID`,
    async lookup(probes) {
      const asks = probes.map((p): GraphAsk => ({ key: p.step.key, entity: what.entity, property: what.property, value: what.valueOf(p.step.input) }));
      const answers = await lookUpInEntra(deps.graph, asks, logOf(deps, probes), deps.batchRetry);
      return foundFrom(answers, probes, (p, rows) => {
        const o = rows.find((r) => sameIgnoringCase(r[what.property], what.valueOf(p.step.input)) && r.onPremisesSyncEnabled !== false);
        return o ? { kind: 'ok', result: what.resultOf(o, p.step.input) } : { kind: 'missing', why: 'not in Entra ID', seen: false };
      });
    },
    timeout: (i, _f, s) =>
      `The ${what.noun} ${what.valueOf(i)} (${i.dn}) did not appear in Entra ID within ${minutes(i.timeoutMinutes)}. Nothing else was changed after the AD step. ` +
      `Check that ${syncEngineText(i)} is running and has ${parentOf(i.dn)} in its scope${what.alsoCheck}.${podText(s)} Then press Retry.`,
  };
}

const contactKind = (deps: WaiterDeps): WaitKind<'sync.awaitContact'> =>
  syncedObjectKind(deps, {
    action: 'sync.awaitContact',
    noun: 'contact',
    entity: 'contacts',
    property: 'mail',
    valueOf: (i) => i.mail,
    resultOf: (c, i) => ({ entraId: c.id, mail: i.mail }),
    alsoCheck: ', and that the contact has mail set in AD',
  });

const groupKind = (deps: WaiterDeps): WaitKind<'sync.awaitGroup'> =>
  syncedObjectKind(deps, {
    action: 'sync.awaitGroup',
    noun: 'group',
    entity: 'groups',
    property: 'onPremisesSamAccountName',
    valueOf: (i) => i.samAccountName,
    resultOf: (g) => ({ entraId: g.id, displayName: g.displayName ?? null, mail: g.mail ?? null }),
    alsoCheck: '',
  });

// ---------------------------------------------------------------------------------------------
// Exchange Online: mailboxes, recipients as expected
// ---------------------------------------------------------------------------------------------

function mailboxKind(deps: WaiterDeps): WaitKind<'exo.awaitMailbox'> {
  return {
    action: 'exo.awaitMailbox',
    syncOf: () => undefined,
    pollMs: () => deps.pollIntervalMs?.mailbox ?? 60_000,
    reason: (i) => `Waiting until Exchange Online has created the mailbox of ${i.identity} (minutes; up to an hour observed)`,
    async lookup(probes) {
      const identities = probes.map((p) => ({ key: p.step.key, identity: p.step.input.identity }));
      const answers = await lookUpInExchange(deps.exo, 'Get-Mailbox', identities, deps.identitiesPerExoCall ?? 50, logOf(deps, probes));
      const found = foundFrom(answers, probes, (_p, rows) => {
        const m = rows[0];
        return m
          ? { kind: 'ok', result: { recipientTypeDetails: m.RecipientTypeDetails ?? null, primarySmtpAddress: m.PrimarySmtpAddress ?? null, exchangeGuid: m.ExchangeGuid ?? null } }
          : { kind: 'missing', why: 'no mailbox', seen: false };
      });
      // no mailbox yet: is the licence (and usage location) it needs still there? (mailbox-preconditions.ts)
      return checkMailboxPreconditions(probes, found, (asks) => lookUpInEntra(deps.graph, asks, logOf(deps, probes), deps.batchRetry), {
        graceMs: deps.mailboxPreconditionGraceMs ?? 120_000,
        rerun: deps.rerun,
      });
    },
    timeout: (i) =>
      `No mailbox for ${i.identity} appeared in Exchange Online within ${minutes(i.timeoutMinutes)} of the licence. Nothing else was changed after the licence. ` +
      'Check in the Microsoft 365 admin centre that the user holds an Exchange Online licence without errors (usage location set, a free licence, no conflicting plan), then press Retry.',
  };
}

/** What differs between a recipient and the expectation (empty when it holds). */
function differences(row: RecipientRow, expect: RecipientExpectation): string[] {
  const out: string[] = [];
  if (expect.recipientTypeDetails !== undefined && row.RecipientTypeDetails !== expect.recipientTypeDetails) {
    out.push(`it is a ${row.RecipientTypeDetails ?? 'recipient of unknown type'}, not a ${expect.recipientTypeDetails}`);
  }
  if (expect.primarySmtpAddress !== undefined && !sameIgnoringCase(bareAddress(row.PrimarySmtpAddress), expect.primarySmtpAddress)) {
    out.push(`its primary address is ${row.PrimarySmtpAddress || 'empty'}, not ${expect.primarySmtpAddress}`);
  }
  const has = (proxy: string): boolean => (row.EmailAddresses ?? []).some((p) => /^smtp:/i.test(p) && sameIgnoringCase(bareAddress(p), bareAddress(proxy)));
  for (const p of expect.emailAddressesInclude ?? []) if (!has(p)) out.push(`${bareAddress(p)} is not among its addresses`);
  for (const p of expect.emailAddressesExclude ?? []) if (has(p)) out.push(`${bareAddress(p)} is still among its addresses`);
  if (expect.externalEmailAddress !== undefined && !sameIgnoringCase(bareAddress(row.ExternalEmailAddress), expect.externalEmailAddress)) {
    out.push(`its external address is ${bareAddress(row.ExternalEmailAddress) || 'empty'}, not ${expect.externalEmailAddress}`);
  }
  if (expect.hiddenFromAddressListsEnabled !== undefined && row.HiddenFromAddressListsEnabled !== expect.hiddenFromAddressListsEnabled) {
    out.push(`it is ${row.HiddenFromAddressListsEnabled ? 'hidden from' : 'shown in'} address lists`);
  }
  return out;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * What Exchange Online is asked for: the Entra object id an earlier sync wait found (`entraIdFrom`), else the
 * identity the plan names.
 */
function recipientLookupIdentity(input: StepInputs['exo.awaitRecipient'], results: Readonly<Record<string, Readonly<Record<string, unknown>>>>): string {
  const id = input.entraIdFrom !== undefined ? results[input.entraIdFrom]?.entraId : undefined;
  return typeof id === 'string' && GUID.test(id) ? id : input.identity;
}

function recipientKind(deps: WaiterDeps): WaitKind<'exo.awaitRecipient'> {
  const recipientPoll = deps.pollIntervalMs?.recipient ?? 30_000;
  return {
    action: 'exo.awaitRecipient',
    syncOf: (i) => i.sync,
    pollMs: (i) => (i.sync ? Math.min(syncPoll(deps, i.sync), recipientPoll) : recipientPoll),
    reason: (i) => `Waiting until ${i.identity} shows in Exchange Online as expected${i.sync ? ` (after ${engineName(i.sync)})` : ''}`,
    async lookup(probes) {
      const identities = probes.map((p) => ({ key: p.step.key, identity: recipientLookupIdentity(p.step.input, p.step.ctx.results) }));
      const answers = await lookUpInExchange(deps.exo, 'Get-Recipient', identities, deps.identitiesPerExoCall ?? 50, logOf(deps, probes));
      return foundFrom(answers, probes, (p, rows) => {
        if (rows.length === 0) return { kind: 'missing', why: 'it is not in Exchange Online', seen: false };
        let best: string[] | undefined;
        for (const r of rows) {
          const diff = differences(r, p.step.input.expect);
          if (diff.length === 0) {
            return {
              kind: 'ok',
              result: { recipientTypeDetails: r.RecipientTypeDetails ?? null, primarySmtpAddress: r.PrimarySmtpAddress ?? null, exoId: r.ExchangeObjectId ?? r.Guid ?? null },
            };
          }
          if (!best || diff.length < best.length) best = diff;
        }
        return { kind: 'missing', why: (best ?? []).join('; '), seen: true };
      });
    },
    timeout(i, f, s) {
      const check = i.sync
        ? `Check that ${syncEngineText(i.sync)} is running and carried the change of ${i.sync.dn}, and that the AD object has mail set.`
        : 'Check that sync is running and that the AD object has mail set.';
      const what = f?.seen ? `${i.identity} shows in Exchange Online, but ${f.why}, ${minutes(i.timeoutMinutes)} later.` : `${i.identity} did not appear in Exchange Online within ${minutes(i.timeoutMinutes)}.`;
      return `${what} Nothing else was changed after the step before. ${check}${podText(s)} Then press Retry.`;
    },
  };
}

/** Send on behalf written in AD (publicDelegates): wait until Get-Mailbox shows it in GrantSendOnBehalfTo. */
function sendOnBehalfKind(deps: WaiterDeps): WaitKind<'exo.awaitSendOnBehalf'> {
  const recipientPoll = deps.pollIntervalMs?.recipient ?? 30_000;
  const shows = (row: RecipientRow, keys: readonly string[]): boolean =>
    (row.GrantSendOnBehalfTo ?? []).some((d) => keys.some((k) => sameIgnoringCase(bareAddress(d), bareAddress(k))));
  return {
    action: 'exo.awaitSendOnBehalf',
    syncOf: (i) => i.sync,
    pollMs: (i) => Math.min(syncPoll(deps, i.sync), recipientPoll),
    reason: (i) => `Waiting until Exchange Online shows send on behalf of ${i.identity} ${i.present ? 'for' : 'without'} ${i.delegates.map((d) => d.name).join(', ')} (after ${engineName(i.sync)})`,
    async lookup(probes) {
      const identities = probes.map((p) => ({ key: p.step.key, identity: p.step.input.identity }));
      const answers = await lookUpInExchange(deps.exo, 'Get-Mailbox', identities, deps.identitiesPerExoCall ?? 50, logOf(deps, probes));
      return foundFrom(answers, probes, (p, rows) => {
        const row = rows[0];
        if (!row) return { kind: 'missing', why: 'the mailbox is not in Exchange Online', seen: false };
        const i = p.step.input;
        const wrong = i.delegates.filter((d) => shows(row, d.keys) !== i.present);
        if (wrong.length === 0) return { kind: 'ok', result: { grantSendOnBehalfTo: row.GrantSendOnBehalfTo ?? [] } };
        return {
          kind: 'missing',
          why: `GrantSendOnBehalfTo ${i.present ? 'does not show' : 'still shows'} ${wrong.map((d) => d.name).join(', ')} (it shows ${(row.GrantSendOnBehalfTo ?? []).join(', ') || 'nobody'})`,
          seen: true,
        };
      });
    },
    timeout(i, f, s) {
      const what = f?.seen ? `${i.identity} shows in Exchange Online, but ${f.why}, ${minutes(i.timeoutMinutes)} later.` : `${i.identity} did not show in Exchange Online within ${minutes(i.timeoutMinutes)}.`;
      return `${what} publicDelegates was changed in AD; nothing else was changed. Check that ${syncEngineText(i.sync)} is running and carried the change of ${i.sync.dn}.${podText(s)} Then press Retry.`;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Entry point
// ---------------------------------------------------------------------------------------------

/**
 * The six waiters, sharing one provisionOnDemand trigger and its limiter (make one set per poller; pass the store's
 * `rateLimits` as `limiter` so that several instances share the job's limit). Their `checkAll` answers
 * every waiting step: `done`, `wait` (next poll at `until`) or a StepError.
 */
export function cloudWaiters(deps: WaiterDeps): BatchWaiter[] {
  const trigger = new OnDemandTrigger(deps.graph, deps.sync, deps.now ?? Date.now, deps.provisionOnDemandLimit, deps.limiter);
  const memory = new WaitMemory();
  return [
    new Waiter(userKind(deps), trigger, memory),
    new Waiter(contactKind(deps), trigger, memory),
    new Waiter(groupKind(deps), trigger, memory),
    new Waiter(mailboxKind(deps), trigger, memory),
    new Waiter(recipientKind(deps), trigger, memory),
    new Waiter(sendOnBehalfKind(deps), trigger, memory),
  ];
}
