/**
 * Every request kind, run to `done` by HTTP through the bot, against a sandbox of its own with SANDBOX_REALISM=strict:
 * Cloud Sync on a timer, mailbox provisioning delays, latency, 429/503 faults (and `$batch` items throttled one by
 * one), and every replication lag on — usage location → licence, the advanced-query index, Entra ID → Exchange
 * Online. The realistic times are scaled down by SANDBOX_TIME_SCALE so the suite takes about two minutes; no lag is
 * turned off. Rita files each request by one-line command, Arnold approves it on the card's data; the runs go on side
 * by side, as they would in a tenant.
 *
 * Phase 1 creates one recipient of every creating kind (four user mailboxes become the targets of phase 2); phase 2
 * runs every change kind on them. The strict sandbox is separate from the shared one (its lags and faults would slow
 * every other suite) and ephemeral.
 */
import assert from 'node:assert/strict';
import type { CloudClients } from '../../src/cloud';
import { projectRoot } from '../../src/paths';
import { KINDS, type KindId } from '../../src/requests';
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { scaledSandboxDelays, STRICT_SANDBOX_KNOBS } from '../../src/sandbox/knobs';
import type { ExoGroup, ExoMailbox, ExoMailUser, ExoRecipientRow } from '../harness/conformance';
import { TestMailroom } from '../harness/mailroom';
import { RITA } from '../harness/requests';
import { onGlobalTeardown } from '../harness/root-hooks';

/** Realistic times × 0.05: Cloud Sync every 6 s, mailboxes after 15 s, Exchange 6 s behind Entra, licences 1 s after the usage location. */
const TIME_SCALE = 0.05;
const suffix = Date.now().toString(36).slice(-5);

describe('SANDBOX_REALISM=strict: every request kind runs to done through the bot, with every lag on', function () {
  this.timeout(10 * 60_000);
  let sandbox: Sandbox;
  let m: TestMailroom;
  let cloud: CloudClients;
  /** The requests of phase 1, by name. */
  const created = new Map<string, Record<string, unknown>>();

  before(async function () {
    sandbox = await startSandbox({ rootDir: projectRoot(), ephemeral: true, knobs: { realism: 'strict', timeScale: TIME_SCALE, exoLicences: 40, seed: 11 } });
    onGlobalTeardown('strict sandbox', () => sandbox.stop());
    m = await TestMailroom.start({
      sandbox,
      name: 'strict',
      logVariable: 'STRICT_LOG',
      options: { runner: { pollMs: 100, waitPollMs: 250, backoffBaseMs: 200, backoffCapMs: 2000 }, waitIntervalMs: 250 },
    });
    cloud = m.cloud;
  });

  after(async function () {
    await m?.close();
    await sandbox?.stop();
  });

  // ------------------------------------------------------------------------------------------- helpers

  /** Rita files the command, Arnold approves it on the approval card's data; resolves with the reference. */
  const requestAndApprove = async (kind: KindId, command: string): Promise<string> => (await m.requestAndApprove(command, KINDS[kind].title, 30_000)).reference;

  /** Waits until the request is done; resolves with the request as stored. */
  const untilDone = async (reference: string): Promise<Record<string, unknown>> => (await m.untilDone(reference, 4 * 60_000)).request as Record<string, unknown>;

  /** Files and approves the commands one after another, then waits for all runs (they go on side by side). */
  async function runAll(list: readonly { name: string; kind: KindId; command: string }[]): Promise<Map<string, Record<string, unknown>>> {
    const refs: { name: string; reference: string }[] = [];
    for (const x of list) refs.push({ name: x.name, reference: await requestAndApprove(x.kind, x.command) });
    const done = await Promise.all(refs.map(async (r) => [r.name, await untilDone(r.reference)] as const));
    return new Map(done);
  }

  /** Runs one command to done after another (a target's changes build on each other). */
  async function runInTurn(list: readonly { kind: KindId; command: string }[]): Promise<void> {
    for (const x of list) await untilDone(await requestAndApprove(x.kind, x.command));
  }

  async function exo<T>(cmdlet: string, identity: string): Promise<T> {
    const row = (await cloud.exo.invoke<T>(cmdlet, { Identity: identity })).value[0];
    assert.ok(row, `${cmdlet} ${identity} found nothing`);
    return row;
  }

  async function entraLicences(upn: string): Promise<unknown[]> {
    const u = await cloud.graph.user<{ assignedLicenses?: unknown[] }>(upn, ['assignedLicenses']);
    assert.ok(u, `Entra ID has ${upn}`);
    return u.assignedLicenses ?? [];
  }

  const lower = (a: readonly string[]): string[] => a.map((x) => x.toLowerCase());

  // ------------------------------------------------------------------------------------------- the tests

  it('runs with the strict profile: realistic delays and faults, every lag on (scaled, never off)', function () {
    const k = sandbox.knobs;
    assert.equal(k.realism, 'strict');
    for (const key of ['syncIntervalMs', 'mailboxDelayMs', 'latencyMs', 'rate429', 'rate503', 'batchItemRate429', 'usageLocationLagS', 'advancedQueryLagS', 'exchangeLagS'] as const) {
      assert.equal(k[key], STRICT_SANDBOX_KNOBS[key], key);
      assert.ok(k[key] > 0, `${key} is on`);
    }
    const scaled = scaledSandboxDelays(k);
    assert.ok(Object.values(scaled).every((ms) => ms > 0), JSON.stringify(scaled));
  });

  it('phase 1: every creating kind runs to done (four user mailboxes, shared, room, equipment, mail user, contact, group)', async function () {
    const list: { name: string; kind: KindId; command: string }[] = [
      ...['Addr', 'Cloud', 'Conv', 'Off'].map((n) => ({ name: n, kind: 'user-mailbox' as const, command: `new mailbox first=${n} last=S${n}${suffix} department=Research` })),
      { name: 'shared', kind: 'shared-mailbox', command: `new shared mailbox name="Strict Shared ${suffix}"` },
      { name: 'room', kind: 'room-mailbox', command: `new room name="Strict Room ${suffix}" capacity=8` },
      { name: 'equipment', kind: 'equipment-mailbox', command: `new equipment name="Strict Car ${suffix}"` },
      { name: 'mailuser', kind: 'mail-user', command: `new mail user first=Pat last=Strict${suffix} email=pat.${suffix}@partner.example` },
      { name: 'contact', kind: 'mail-contact', command: `new contact name="Strict Contact ${suffix}" email=sc.${suffix}@partner.example` },
      { name: 'group', kind: 'distribution-group', command: `new group name="Strict Group ${suffix}" scope=universal security=no` },
    ];
    for (const [name, req] of await runAll(list)) created.set(name, req);

    for (const n of ['Addr', 'Cloud', 'Conv', 'Off']) {
      const upn = String(created.get(n)!.userPrincipalName);
      assert.equal((await exo<ExoMailbox>('Get-Mailbox', upn)).RecipientTypeDetails, 'UserMailbox');
      assert.equal((await entraLicences(upn)).length, 1, `${upn} is licensed`);
    }
    assert.equal((await exo<ExoMailbox>('Get-Mailbox', String(created.get('shared')!.userPrincipalName))).RecipientTypeDetails, 'SharedMailbox');
    const room = await exo<ExoMailbox & { ResourceCapacity?: number | string | null }>('Get-Mailbox', String(created.get('room')!.userPrincipalName));
    assert.equal(room.RecipientTypeDetails, 'RoomMailbox');
    assert.equal(Number(room.ResourceCapacity), 8);
    assert.equal((await exo<ExoMailbox>('Get-Mailbox', String(created.get('equipment')!.userPrincipalName))).RecipientTypeDetails, 'EquipmentMailbox');
    assert.equal((await exo<ExoMailUser>('Get-MailUser', String(created.get('mailuser')!.userPrincipalName))).ExternalEmailAddress.toLowerCase(), `smtp:pat.${suffix}@partner.example`);
    assert.equal((await exo<ExoRecipientRow>('Get-MailContact', `sc.${suffix}@partner.example`)).RecipientTypeDetails, 'MailContact');
    assert.equal((await exo<ExoGroup>('Get-DistributionGroup', String(created.get('group')!.primarySmtpAddress))).RecipientTypeDetails, 'MailUniversalDistributionGroup');
  });

  it('phase 1 met the usage-location lag: the licence step retried after "invalid usage location" and then went through', async function () {
    const retried = (await m.app.store.audit.list({ limit: 5000 })).filter((e) => e.event === 'operation.retry' && /invalid usage location/i.test(JSON.stringify(e.data)));
    assert.ok(retried.length > 0, 'at least one licence waited for the usage location to replicate');
  });

  it('phase 2: every change kind runs to done on the new mailboxes (addresses, cloud-managed, conversions, offboarding, a group with a member)', async function () {
    assert.ok(created.size > 0, 'phase 1 ran');
    const addr = created.get('Addr')!;
    const addrUpn = String(addr.userPrincipalName);
    const addrPrimary = String(addr.primarySmtpAddress);
    const extra = `addr.extra.${suffix}@${addrPrimary.split('@')[1]}`;
    const next = `addr.next.${suffix}@${addrPrimary.split('@')[1]}`;
    const cloudPrimary = String(created.get('Cloud')!.primarySmtpAddress);
    const convPrimary = String(created.get('Conv')!.primarySmtpAddress);
    const offPrimary = String(created.get('Off')!.primarySmtpAddress);
    await Promise.all([
      runInTurn([
        { kind: 'secondary-address-add', command: `add address ${addrPrimary} address=${extra}` },
        { kind: 'secondary-address-remove', command: `remove address ${addrPrimary} address=${extra}` },
        { kind: 'primary-address', command: `change primary ${addrPrimary} new=${next}` },
      ]),
      runInTurn([
        { kind: 'cloud-managed', command: `cloud-managed ${cloudPrimary} on` },
        { kind: 'cloud-managed', command: `cloud-managed ${cloudPrimary} off` },
      ]),
      runInTurn([
        { kind: 'mailbox-type', command: `convert ${convPrimary} to shared` },
        { kind: 'mailbox-type', command: `convert ${convPrimary} to regular` },
      ]),
      runInTurn([{ kind: 'offboarding', command: `offboard ${offPrimary}` }]),
      runInTurn([{ kind: 'distribution-group', command: `new group name="Strict Sec ${suffix}" scope=universal security=yes members=${cloudPrimary}` }]),
    ]);

    const a = await exo<ExoMailbox>('Get-Mailbox', addrUpn);
    assert.equal(a.PrimarySmtpAddress.toLowerCase(), next);
    assert.ok(lower(a.EmailAddresses).includes(`smtp:${addrPrimary.toLowerCase()}`), a.EmailAddresses.join(', '));
    assert.ok(!lower(a.EmailAddresses).includes(`smtp:${extra}`), a.EmailAddresses.join(', '));
    assert.equal((await exo<ExoMailbox>('Get-Mailbox', String(created.get('Cloud')!.userPrincipalName))).IsExchangeCloudManaged, false);
    const conv = String(created.get('Conv')!.userPrincipalName);
    assert.equal((await exo<ExoMailbox>('Get-Mailbox', conv)).RecipientTypeDetails, 'UserMailbox');
    assert.equal((await entraLicences(conv)).length, 1, 'licensed again after the way back to Regular');
    const off = String(created.get('Off')!.userPrincipalName);
    const offMbx = await exo<ExoMailbox>('Get-Mailbox', off);
    assert.equal(offMbx.RecipientTypeDetails, 'SharedMailbox');
    assert.equal(offMbx.HiddenFromAddressListsEnabled, true);
    assert.deepEqual(await entraLicences(off), []);
    assert.equal((await m.directory.findByIdentity(off))?.enabled, false);
  });

  it('left every step of every run done, and the audit chain verifies', async function () {
    const all = await m.app.store.requests.listByRequester(RITA.aadObjectId, { limit: 1000 });
    assert.equal(all.length, 10 + 9, 'ten requests in phase 1, nine in phase 2');
    for (const r of all) {
      assert.equal(r.status, 'done', `${r.reference} is ${r.status}`);
      const steps = await m.app.store.runs.listByRequest(r.id);
      assert.ok(steps.length > 0 && steps.every((s) => s.status === 'done'), `${r.reference}: ${steps.map((s) => `${s.stepId}:${s.status}`).join(', ')}`);
    }
    assert.equal((await m.app.store.audit.verify()).ok, true);
    if (process.env.STRICT_LOG) {
      const seen = sandbox.cloud.requests;
      const count = (p: (r: (typeof seen)[number]) => boolean): number => seen.filter(p).length;
      console.log(
        `      strict run, last ${seen.length} cloud requests: ${count((r) => r.status === 429)}×429, ${count((r) => r.status === 503)}×503, ` +
          `${count((r) => r.path.endsWith('/schema'))} schema reads, ${count((r) => r.path.endsWith('/provisionOnDemand'))} provisionOnDemand, ${count((r) => r.path.endsWith('/$batch'))} $batch`,
      );
    }
  });
});
