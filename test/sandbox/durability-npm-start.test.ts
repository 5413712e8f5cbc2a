/**
 * `npm start` killed like a crashed host: user mailbox requests in flight, then SIGKILL of the whole process group
 * (the bot, its store, the cloud emulator, the sync engine) at chosen points of the runs, a restart, and again. The
 * sandbox's Samba DC is a daemon of its own (`samba -D` leaves the group); a host crash would take it too, so the
 * last kill takes it as well (its database is Samba's, crash-safe on its own). Every request must reach done with each
 * object made exactly once: the AD user (LDAP), the Entra user and its licence (Graph), the mailbox (Exchange).
 *
 * Kill points (the test watches Mailroom's store and kills as soon as one request is there; the others are wherever
 * they are): after the AD user was created; after the usage location; after the licence; while waiting for the mailbox.
 * New requests are filed after each of the first restarts, so the kills find requests at different steps.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'ldapts';
import { projectRoot } from '../../src/paths';
import type { SandboxEndpoints } from '../../src/sandbox';
import { isProcessAlive, readPidFile } from '../../src/sandbox/samba/process';
import { SANDBOX_MAIL_DOMAIN } from '../../src/sandbox/people';
import { openStore, type RunStepRecord, type Store } from '../../src/store';
import { auditKey, vaultKey } from '../../src/workflow/secret-vault';
import { startConnector, visibleText, type Connector } from '../harness/connector';
import { ARNOLD, buttonData, Chat, RITA } from '../harness/requests';
import { credentialFromEndpoints, httpsRequest } from '../harness/sandbox';

const ROOT = projectRoot();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const PHASES = ['queued', 'ad-created', 'synced', 'usage-location', 'licensed', 'waiting-mailbox', 'done'] as const;
type Phase = (typeof PHASES)[number];
/** At `phase` or past it, but not done: a step of `phase` has been recorded and the run is still in flight. */
const reached = (p: Phase, phase: Phase): boolean => PHASES.indexOf(p) >= PHASES.indexOf(phase) && p !== 'done';

/** Where a user mailbox run stands, from its steps. */
function phaseOf(steps: readonly RunStepRecord[]): Phase {
  const st = (id: string) => steps.find((s) => s.stepId === id)?.status;
  if (steps.length > 0 && steps.every((s) => s.status === 'done')) return 'done';
  if (st('exo.await-mailbox') === 'waiting') return 'waiting-mailbox';
  if (st('entra.assign-licence') === 'done') return 'licensed';
  if (st('entra.usage-location') === 'done') return 'usage-location';
  if (st('sync.await-user') === 'done') return 'synced';
  if (st('ad.create-user') === 'done') return 'ad-created';
  return 'queued';
}

interface Life {
  readonly child: ChildProcess;
  readonly botUrl: string;
  readonly exited: Promise<void>;
  output(): string;
}

describe('npm start killed (SIGKILL of its process group) with requests in flight, then restarted', function () {
  this.timeout(240_000);
  let stateDir: string;
  let dataDir: string;
  let connector: Connector;
  let life: Life | undefined;
  let store: Store | undefined;
  const suffix = Date.now().toString(36).slice(-4);
  const started: number[] = [];

  const sambaPid = () => readPidFile(path.join(stateDir, 'dc', 'run', 'samba.pid'));

  async function start(): Promise<Life> {
    const t0 = Date.now();
    let out = '';
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/start.ts')], {
      cwd: ROOT,
      detached: true, // its own process group, as `npm start` in a terminal
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        PORT: '0',
        DATA_DIR: dataDir,
        LOG_LEVEL: 'warn',
        SANDBOX_STATE_DIR: stateDir,
        SANDBOX_PLAYGROUNDS: 'off',
        SANDBOX_MAILBOX_DELAY_MS: '4000',
        SANDBOX_SYNC_INTERVAL_MS: '2000',
        SANDBOX_POLL_MS: '250',
        SANDBOX_LEASE_MS: '3000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-30_000)));
    child.stderr?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-30_000)));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + 90_000;
    let url: string | undefined;
    while (!(url = /bot endpoint:\s+(http:\/\/\S+)\/api\/messages/.exec(out)?.[1])) {
      if (child.exitCode !== null) assert.fail(`npm start exited early:\n${out}`);
      if (Date.now() > deadline) assert.fail(`npm start did not come up:\n${out}`);
      await sleep(100);
    }
    started.push(Date.now() - t0);
    return { child, botUrl: url, exited, output: () => out };
  }

  /** SIGKILL of the process group (and of Samba, with `host`). */
  async function crash(l: Life, host = false): Promise<void> {
    const samba = host ? await sambaPid() : undefined;
    process.kill(-l.child.pid!, 'SIGKILL');
    if (samba !== undefined) process.kill(samba, 'SIGKILL');
    await l.exited;
    while (samba !== undefined && isProcessAlive(samba)) await sleep(20);
  }

  async function file(l: Life, n: number, tag: string): Promise<string[]> {
    const rita = new Chat(l.botUrl, connector, RITA);
    const arnold = new Chat(l.botUrl, connector, ARNOLD);
    for (const c of [rita, arnold]) await c.client.install();
    const refs: string[] = [];
    for (let i = 0; i < n; i++) {
      const since = connector.calls.length;
      const marker = `k${tag}${i}${suffix}`;
      await rita.client.say(`new mailbox first=Crash last=${marker} department=Research`);
      const status = await rita.waitFor((c) => /R-\d+ · User mailbox/.test(visibleText(c.body)) && visibleText(c.body).toLowerCase().includes(marker), since, 30_000);
      const reference = /(R-\d+)/.exec(visibleText(status.body))?.[1] ?? '';
      const approval = await arnold.waitFor((c) => visibleText(c.body).includes(`${reference} · User mailbox`), since, 30_000);
      assert.equal((await arnold.client.execute('request.approve', buttonData(approval.body.attachments, 'Approve') ?? {})).status, 200);
      refs.push(reference);
    }
    return refs;
  }

  async function phases(refs: readonly string[]): Promise<Map<string, Phase>> {
    const out = new Map<string, Phase>();
    for (const r of refs) {
      const rec = await store!.requests.get(r);
      out.set(r, rec ? phaseOf(await store!.runs.listByRequest(rec.id)) : 'queued');
    }
    return out;
  }

  /**
   * Polls the store until a request in flight is at `phase` or past it (a phase can last milliseconds: the licence
   * step is followed at once by the mailbox wait); returns every request's phase at that moment.
   */
  async function until(refs: readonly string[], phase: Phase, timeoutMs = 60_000): Promise<Map<string, Phase>> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const now = await phases(refs);
      if ([...now.values()].some((p) => reached(p, phase))) return now;
      if (Date.now() > end) assert.fail(`no request reached ${phase}: ${[...now].map(([r, p]) => `${r}=${p}`).join(', ')}\n${life?.output() ?? ''}`);
      await sleep(15);
    }
  }

  before(async function () {
    stateDir = mkdtempSync(path.join(os.tmpdir(), 'mailroom-crash-sandbox-'));
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'mailroom-crash-data-'));
    connector = await startConnector();
  });

  after(async function () {
    await store?.close();
    if (life && life.child.exitCode === null && life.child.signalCode === null) await crash(life, true).catch(() => undefined);
    const samba = stateDir ? await sambaPid().catch(() => undefined) : undefined;
    if (samba !== undefined && isProcessAlive(samba)) process.kill(samba, 'SIGKILL');
    await connector?.close();
    for (const d of [stateDir, dataDir]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('every request reaches done; the AD user, the Entra user, its licence and the mailbox exist exactly once', async function () {
    const t0 = Date.now();
    const refs: string[] = [];
    const kills: string[] = [];
    const crashAt = async (phase: Phase, host = false): Promise<void> => {
      const seen = await until(refs, phase);
      await crash(life!, host);
      kills.push(`${phase}${host ? ' (and Samba)' : ''}: ${[...seen.values()].join(', ')}`);
    };

    life = await start();
    store = await openStore({ sqliteFile: path.join(dataDir, 'mailroom-sandbox.db'), auditKey: auditKey(undefined, vaultKey(undefined, dataDir)) });
    refs.push(...(await file(life, 2, 'a')));
    await crashAt('ad-created');

    life = await start();
    refs.push(...(await file(life, 2, 'b')));
    await crashAt('usage-location');

    life = await start();
    refs.push(...(await file(life, 2, 'c')));
    await crashAt('licensed');

    life = await start();
    await crashAt('waiting-mailbox', true);

    life = await start();
    const end = Date.now() + 90_000;
    for (;;) {
      const now = await phases(refs);
      if ([...now.values()].every((p) => p === 'done')) break;
      const failed = (await Promise.all(refs.map((r) => store!.requests.get(r)))).find((r) => r?.status === 'failed');
      if (failed) assert.fail(`${failed.reference} failed: ${failed.error ?? ''}`);
      if (Date.now() > end) assert.fail(`not all done: ${[...now].map(([r, p]) => `${r}=${p}`).join(', ')}\n${life.output()}`);
      await sleep(100);
    }
    console.log(`      kills (phases of all requests at the kill):\n        ${kills.join('\n        ')}`);
    console.log(`      starts took ${started.map((ms) => `${(ms / 1000).toFixed(1)} s`).join(', ')}; all done ${((Date.now() - t0) / 1000).toFixed(0)} s after the first start`);

    // exactly once, as LDAP, Graph and Exchange Online tell it
    const endpoints = JSON.parse(readFileSync(path.join(stateDir, 'endpoints.json'), 'utf8')) as SandboxEndpoints;
    const caPem = readFileSync(endpoints.caFile, 'utf8');
    const credential = credentialFromEndpoints(endpoints);
    const graphToken = (await credential.getToken('https://graph.microsoft.com/.default')).token;
    const exoToken = (await credential.getToken('https://outlook.office365.com/.default')).token;
    const graph = (p: string) => httpsRequest<{ value: Record<string, unknown>[] }>(caPem, 'GET', `${endpoints.graphUrl}${p}`, undefined, { authorization: `Bearer ${graphToken}`, ConsistencyLevel: 'eventual' });
    const exo = (cmdlet: string, parameters: Record<string, unknown>) =>
      httpsRequest<{ value: Record<string, unknown>[] }>(caPem, 'POST', endpoints.exoUrl, { CmdletInput: { CmdletName: cmdlet, Parameters: parameters } }, { authorization: `Bearer ${exoToken}` });
    const ldap = new Client({ url: endpoints.ldap.url, tlsOptions: { ca: readFileSync(endpoints.ldap.caFile, 'utf8') }, timeout: 15_000, connectTimeout: 5_000 });
    await ldap.bind(endpoints.ldap.bindDn, endpoints.ldap.password);
    try {
      for (const reference of refs) {
        const record = (await store.requests.get(reference))!;
        const req = record.request as { samAccountName: string; userPrincipalName: string; alias: string };
        const { searchEntries } = await ldap.search(endpoints.ldap.baseDn, { scope: 'sub', filter: `(&(objectClass=user)(sAMAccountName=${req.samAccountName}))`, attributes: ['distinguishedName'] });
        assert.equal(searchEntries.length, 1, `${reference}: AD users ${req.samAccountName}`);
        const users = await graph(`/users?$filter=${encodeURIComponent(`onPremisesSamAccountName eq '${req.samAccountName}'`)}&$count=true&$select=id,userPrincipalName,usageLocation,assignedLicenses`);
        assert.equal(users.status, 200, users.text);
        assert.equal(users.json.value.length, 1, `${reference}: Entra users ${req.samAccountName}`);
        const u = users.json.value[0]!;
        assert.equal(u.usageLocation, 'DE', `${reference}: usage location`);
        assert.deepEqual((u.assignedLicenses as { skuId: string }[]).map((l) => l.skuId), [endpoints.skus.exchangeOnline], `${reference}: licences`);
        const mailboxes = await exo('Get-Mailbox', { Identity: req.userPrincipalName });
        assert.equal(mailboxes.json.value.length, 1, `${reference}: mailboxes`);
        const recipients = await exo('Get-Recipient', { Filter: `EmailAddresses -eq 'smtp:${req.alias}@${SANDBOX_MAIL_DOMAIN}'` });
        assert.equal(recipients.json.value.length, 1, `${reference}: recipients with ${req.alias}@${SANDBOX_MAIL_DOMAIN}`);
        assert.equal(recipients.json.value[0]!.RecipientTypeDetails, 'UserMailbox');

        // Mailroom's side: a step that wrote something is audited as a change once at most (a repeat after a kill
        // finds its work done), and nothing had to be put back (the emulator forgot nothing)
        const events = await store.audit.list({ requestRef: reference, limit: 1000 });
        for (const s of await store.runs.listByRequest(record.id)) {
          if (/\.await/.test(s.action)) continue;
          const changed = events.filter((e) => e.event === 'operation.done' && e.data.step === s.stepId && e.data.changed === true).length;
          assert.ok(changed <= 1, `${reference} ${s.stepId}: audited as a change ${changed} times`);
        }
        assert.equal(events.filter((e) => e.data.rerunFor !== undefined).length, 0, `${reference}: nothing had to be put back`);
      }
    } finally {
      await ldap.unbind();
    }
    assert.equal((await store.audit.verify()).ok, true, 'the audit chain holds');
    assert.ok(existsSync(path.join(stateDir, 'cloud', 'tenant.db')));

    // a clean stop after all that
    life.child.kill('SIGINT');
    await life.exited;
    assert.equal(life.child.exitCode, 0, life.output());
  });
});
