/**
 * Mailroom as the workflow and bot suites run it: started on the sandbox with its own data folder, a Bot Connector
 * stand-in, chats for the sandbox's people, and the waits every suite needs (file a request and have it approved,
 * wait for a status, for done). One place, so that a suite says only what it is about.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startMailroom, type Mailroom, type MailroomOptions } from '../../src/app';
import { createCloudClients, type CloudClients } from '../../src/cloud';
import { loadConfig, type MailroomConfig } from '../../src/config/config';
import { DirectoryClient } from '../../src/directory';
import { createLogger, silentLogger } from '../../src/log';
import { projectRoot } from '../../src/paths';
import type { Sandbox } from '../../src/sandbox';
import { sandboxOverrides } from '../../src/sandbox/overrides';
import type { RequestRecord, RequestStatus } from '../../src/store';
import { startConnector, visibleText, type Connector, type Person, type RecordedCall } from './connector';
import { ARNOLD, buttonData, cardOf, cardText, Chat, invokeCard, reEscape, RITA, storedRequest } from './requests';

/** Runner timings that keep a suite quick: polls of a tenth of a second, back-off capped at a second. */
export const QUICK_RUNNER: MailroomOptions = { runner: { pollMs: 100, waitPollMs: 150, backoffBaseMs: 100, backoffCapMs: 1000 }, waitIntervalMs: 100 };

export interface TestMailroomOptions {
  readonly sandbox: Sandbox;
  /** Names the data folder (mailroom-<name>-…). */
  readonly name: string;
  /** Settings on top of the sandbox's (PORT and DATA_DIR are set here). */
  readonly settings?: Readonly<Record<string, string>>;
  /** Start options; QUICK_RUNNER when not given. */
  readonly options?: MailroomOptions;
  /** When this environment variable is set, Mailroom logs its warnings (to read a failing suite). */
  readonly logVariable?: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class TestMailroom {
  private readonly chats = new Map<string, Chat>();
  private cloudClients: CloudClients | undefined;
  private directoryClient: DirectoryClient | undefined;

  private constructor(
    private readonly o: TestMailroomOptions,
    readonly connector: Connector,
    readonly config: MailroomConfig,
    readonly dataDir: string,
    public app: Mailroom,
  ) {}

  static async start(o: TestMailroomOptions): Promise<TestMailroom> {
    const connector = await startConnector();
    const dataDir = mkdtempSync(path.join(os.tmpdir(), `mailroom-${o.name}-`));
    const config = loadConfig({ rootDir: projectRoot(), envName: 'sandbox', env: {}, overrides: { ...sandboxOverrides(o.sandbox.endpoints), PORT: '0', DATA_DIR: dataDir, ...o.settings } });
    const app = await startMailroom(config, TestMailroom.logger(o), o.options ?? QUICK_RUNNER);
    const m = new TestMailroom(o, connector, config, dataDir, app);
    for (const p of [RITA, ARNOLD]) await m.chat(p).client.install();
    return m;
  }

  private static logger(o: TestMailroomOptions) {
    return o.logVariable && process.env[o.logVariable] ? createLogger('warn') : silentLogger;
  }

  /** Stops Mailroom and starts it again on the same data (a new port: the chats are made anew and installed). */
  async restart(): Promise<void> {
    await this.app.stop();
    this.app = await startMailroom(this.config, TestMailroom.logger(this.o), this.o.options ?? QUICK_RUNNER);
    const people = [...this.chats.values()].map((c) => c.person);
    this.chats.clear();
    for (const p of people) await this.chat(p).client.install();
  }

  /** The personal chat of a person with this Mailroom (installed on first use by the caller when new). */
  chat(person: Person): Chat {
    let c = this.chats.get(person.id);
    if (!c) {
      c = new Chat(this.app.url, this.connector, person);
      this.chats.set(person.id, c);
    }
    return c;
  }

  get rita(): Chat {
    return this.chat(RITA);
  }

  get arnold(): Chat {
    return this.chat(ARNOLD);
  }

  /** Graph and Exchange Online clients with Mailroom's own credentials. */
  get cloud(): CloudClients {
    this.cloudClients ??= createCloudClients(this.config.cloud!, this.config.extraCaFile);
    return this.cloudClients;
  }

  /** An LDAP client bound as Mailroom's service account. */
  get directory(): DirectoryClient {
    const e = this.o.sandbox.endpoints.ldap;
    this.directoryClient ??= new DirectoryClient({ url: e.url, bindDn: e.bindDn, password: e.password, caPem: readFileSync(e.caFile, 'utf8'), connectTimeoutMs: 5000, timeoutMs: 15000 });
    return this.directoryClient;
  }

  /**
   * Rita types `command`, Arnold presses Approve on the approval card of the request it filed (titled `title`);
   * resolves with the reference and Rita's status card message. Fails with what Mailroom said when nothing was filed.
   */
  async requestAndApprove(command: string, title: string, timeoutMs = 15_000): Promise<{ reference: string; status: RecordedCall }> {
    const filed = new RegExp(`(R-\\d+) · ${reEscape(title)}`);
    const since = this.connector.calls.length;
    // The new request is one Rita's chat has not named before: an earlier request of the same kind may still be
    // reported (its done notice follows its status) after this one is filed.
    const named = new Set(this.connector.calls.slice(0, since).flatMap((c) => (c.conversationId === this.rita.conversationId ? (visibleText(c.body).match(/R-\d+/g) ?? []) : [])));
    await this.rita.client.say(command);
    const status = await this.rita.waitFor((c) => { const hit = filed.exec(visibleText(c.body)); return !!hit && !named.has(hit[1] ?? ''); }, since, timeoutMs).catch(() => {
      const said = this.connector.calls.slice(since).map((c) => visibleText(c.body)).join('\n---\n');
      assert.fail(`"${command}" filed no ${title} request; Mailroom said:\n${said}`);
    });
    const reference = filed.exec(visibleText(status.body))?.[1] ?? '';
    assert.ok(reference, 'the status card names the request');
    // The card Arnold decides on: the one with the buttons (an update of it after a decision has none).
    const approval = await this.arnold.waitFor((c) => visibleText(c.body).includes(`${reference} · ${title}`) && buttonData(cardOf(c), 'Approve') !== undefined, since, timeoutMs);
    const res = await this.arnold.client.execute('request.approve', buttonData(cardOf(approval), 'Approve') ?? {});
    const answer = cardText(invokeCard(res));
    assert.match(answer, /Approved by/, `Arnold's Approve on ${reference} was not taken; Mailroom answered:\n${answer}`);
    return { reference, status };
  }

  async record(reference: string): Promise<RequestRecord> {
    const r = (await storedRequest(this.app.store, reference))?.record;
    assert.ok(r, `${reference} exists`);
    return r;
  }

  /** The request's steps as `step:status`, in plan order. */
  async steps(reference: string): Promise<string[]> {
    return (await this.app.store.runs.listByRequest((await this.record(reference)).id)).map((s) => `${s.stepId}:${s.status}`);
  }

  /** Waits until the request has `status` (and `until` holds of its steps, if given); fails with its steps when it takes too long. */
  async untilStatus(reference: string, status: RequestStatus, until?: (steps: string[]) => boolean, timeoutMs = 45_000): Promise<RequestRecord> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const r = await this.record(reference);
      if (r.status === status && (!until || until(await this.steps(reference)))) return r;
      if (Date.now() > end) assert.fail(`${reference} is ${r.status}${r.error ? ` (${r.error})` : ''}, not ${status}; steps: ${(await this.steps(reference)).join(', ')}`);
      await sleep(120);
    }
  }

  /** Waits until the request is done; fails at once with the run's error (and its steps) when it fails. */
  async untilDone(reference: string, timeoutMs = 60_000): Promise<RequestRecord> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const r = await this.record(reference);
      if (r.status === 'done') return r;
      if (r.status === 'failed' || Date.now() > end) {
        const errors = (await this.app.store.runs.listByRequest(r.id)).filter((s) => s.error).map((s) => `${s.stepId}: ${s.error ?? ''}`);
        assert.fail(`${reference} is ${r.status}${r.error ? `: ${r.error}` : ''} (steps: ${(await this.steps(reference)).join(', ')})${errors.length ? `; step errors: ${errors.join(' | ')}` : ''}`);
      }
      await sleep(150);
    }
  }

  async close(): Promise<void> {
    await this.app.stop();
    this.cloudClients?.close();
    await this.directoryClient?.close();
    await this.connector.close();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
