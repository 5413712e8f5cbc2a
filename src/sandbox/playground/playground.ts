import { ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, openSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { projectRoot } from '../../paths';
import { SANDBOX_COLLEAGUES, SANDBOX_PEOPLE, SANDBOX_TENANT_ID, SandboxPerson } from '../people';
import { childEnvironment } from '../../config/process-env';

/**
 * The Microsoft 365 Agents Playground as a local Teams client for one sandbox person. Each person gets their
 * own instance (the Playground cannot switch users), its own config file and port, bound to loopback only.
 */
export interface PlaygroundOptions {
  readonly person: SandboxPerson;
  readonly port: number;
  /** The bot's messaging endpoint, e.g. http://127.0.0.1:3978/api/messages */
  readonly botEndpoint: string;
  /** A folder of its own: the config file and the log go there. */
  readonly workDir: string;
  readonly botName?: string;
  readonly botId?: string;
}

export interface Playground {
  readonly url: string;
  readonly person: SandboxPerson;
  readonly logFile: string;
  stop(): Promise<void>;
}

const SANDBOX_BOT_ID = 'c0ffee00-0000-4000-8000-0000000000b0';
const TEAM_GROUP_ID = 'c0ffee00-0000-4000-8000-0000000000c1';

function yamlString(s: string): string {
  return JSON.stringify(s); // a JSON string is a valid YAML double-quoted scalar
}

function userYaml(p: SandboxPerson, indent: string): string {
  return [
    `id: ${yamlString(`user-${p.key}`)}`,
    `name: ${yamlString(p.name)}`,
    `userPrincipleName: ${yamlString(p.upn)}`,
    `aadObjectId: ${yamlString(p.aadObjectId)}`,
    `givenName: ${yamlString(p.givenName)}`,
    `surname: ${yamlString(p.surname)}`,
    `email: ${yamlString(p.upn)}`,
  ]
    .map((l, i) => (i === 0 ? l : indent + l))
    .join('\n');
}

/** The Playground's config (schema 0.1.1): the current user plus exactly five other users, chats and a team. */
function playgroundConfig(current: SandboxPerson, botName: string, botId: string): string {
  const others = [...Object.values(SANDBOX_PEOPLE), ...SANDBOX_COLLEAGUES].filter((p) => p.key !== current.key).slice(0, 5);
  return [
    '# Microsoft 365 Agents Playground configuration for one Mailroom sandbox person (generated).',
    'version: "0.1.1"',
    `tenantId: ${yamlString(SANDBOX_TENANT_ID)}`,
    'bot:',
    `  id: ${yamlString(botId)}`,
    `  name: ${yamlString(botName)}`,
    'currentUser:',
    `  ${userYaml(current, '  ')}`,
    'users:',
    ...others.map((p) => `  - ${userYaml(p, '    ')}`),
    'personalChat:',
    `  id: ${yamlString(`personal-${current.key}`)}`,
    'groupChat:',
    `  id: ${yamlString('groupchat-helpdesk')}`,
    `  name: ${yamlString('Helpdesk')}`,
    'team:',
    `  id: ${yamlString('team-it')}`,
    `  name: ${yamlString('IT Operations')}`,
    `  aadGroupId: ${yamlString(TEAM_GROUP_ID)}`,
    '  channels:',
    `    - id: ${yamlString('channel-approvals')}`,
    `      name: ${yamlString('Approvals')}`,
    '',
  ].join('\n');
}

async function assertPortFree(port: number, host = '127.0.0.1'): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', (err: NodeJS.ErrnoException) =>
      reject(new Error(`port ${port} on ${host} is already in use (${err.code ?? err.message}); stop what uses it or choose another port`)),
    );
    srv.listen(port, host, () => srv.close(() => resolve()));
  });
}

/**
 * The Playground announces the port it listens on ("Listening on N"). When the port it was given is taken it
 * silently moves to another one, where the bot's replies (sent to the service URL on the given port) would never
 * reach it; so readiness is that announcement for the given port and an answer from it.
 */
async function waitUntilReady(url: string, port: number, child: ChildProcess, announced: () => number | undefined, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the Agents Playground exited with code ${child.exitCode} before it was ready`);
    const listening = announced();
    if (listening !== undefined && listening !== port) {
      throw new Error(`port ${port} was taken by another program after it was checked: the Agents Playground moved to port ${listening}, where the bot's replies would not reach it; choose another port`);
    }
    if (listening === port) {
      try {
        const res = await fetch(url);
        if (res.ok) return;
      } catch {
        // not answering yet
      }
    }
    if (Date.now() > deadline) throw new Error(`the Agents Playground did not answer at ${url} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts a Playground on `opts.port` after checking that the port is free. */
export async function startPlayground(opts: PlaygroundOptions): Promise<Playground> {
  await assertPortFree(opts.port);
  return launchPlayground(opts);
}

/**
 * Starts a Playground without checking the port first (what `startPlayground` runs after its check). When the port
 * is taken by then, it fails with an error that names the port, and leaves no Playground running.
 */
export async function launchPlayground(opts: PlaygroundOptions): Promise<Playground> {
  mkdirSync(opts.workDir, { recursive: true });
  const configFile = path.join(opts.workDir, '.m365agentsplayground.yml');
  writeFileSync(configFile, playgroundConfig(opts.person, opts.botName ?? 'Mailroom', opts.botId ?? SANDBOX_BOT_ID));
  const logFile = path.join(opts.workDir, 'playground.log');
  // opened here, so a log that cannot be written fails the start with its own error; a later write error (a full
  // disk) costs the log only, never the Playground
  const log = createWriteStream(logFile, { fd: openSync(logFile, 'w') });
  log.on('error', () => undefined);
  const cli = require.resolve('@microsoft/m365agentsplayground/cli.js');
  const preload = path.join(projectRoot(), 'src', 'sandbox', 'playground', 'loopback-only.cjs');
  const child = spawn(
    process.execPath,
    [
      '-r',
      preload,
      cli,
      '--app-endpoint',
      opts.botEndpoint,
      '--channel-id',
      'msteams',
      '--port',
      String(opts.port),
      '--service-url',
      `http://127.0.0.1:${opts.port}/_connector`,
      '--disable-telemetry',
    ],
    {
      cwd: opts.workDir,
      env: childEnvironment({ TEAMSAPPTESTER_BROWSER: 'none', M365_AGENTS_PLAYGROUND_CONFIG_PATH: configFile }),
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let announced: number | undefined;
  let head = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    log.write(chunk);
    if (announced !== undefined || head.length > 65_536) return;
    head += chunk.toString('utf8');
    const m = /Listening on (\d+)/.exec(head);
    if (m) announced = Number(m[1]);
  });
  child.stderr?.on('data', (chunk: Buffer) => log.write(chunk));
  child.once('close', () => log.end()); // after its output has been read to the end
  const url = `http://127.0.0.1:${opts.port}`;
  try {
    await waitUntilReady(`${url}/_debug/ping`, opts.port, child, () => announced, 30_000);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${err instanceof Error ? err.message : String(err)}; see ${logFile}`);
  }
  return {
    url,
    person: opts.person,
    logFile,
    stop: () => stopChild(child),
  };
}

async function stopChild(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
