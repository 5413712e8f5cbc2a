import path from 'node:path';
import { ConfigError, loadConfig, MailroomConfig } from '../config/config';
import { mergeEnvironment, readEnvFiles } from '../config/env-files';
import { createLogger } from '../log';
import { projectRoot } from '../paths';
import { startMailroom } from '../app';
import { SANDBOX_PEOPLE } from '../sandbox/people';
import { Sandbox, sandboxKnobsFrom, startSandbox } from '../sandbox';
import { scaledSandboxDelays } from '../sandbox/knobs';
import { sandboxOverrides } from '../sandbox/overrides';
import { Playground, startPlayground } from '../sandbox/playground/playground';
import { processEnvironment } from '../config/process-env';

/** What sandbox mode reads besides the sandbox's knobs (env/.env.sandbox, its .user file, the environment). */
interface SandboxStartSettings {
  /** SANDBOX_STATE_DIR: the sandbox's state folder (default `<root>/.sandbox`). */
  stateDir: string | undefined;
  /** SANDBOX_PLAYGROUNDS: `off` starts no Agents Playground (scripts and tests talk to the bot themselves). */
  playgrounds: boolean;
  /** SANDBOX_POLL_MS: how often Mailroom re-checks waiting steps and looks for due ones (default: production's pace). */
  pollMs: number | undefined;
  /** SANDBOX_LEASE_MS: how long a step is leased (default 2 minutes: what a restart after a crash waits before taking it over). */
  leaseMs: number | undefined;
  /** PLAYGROUND_PORT: the requester's Playground; the approver's is the next port (default 56150). */
  playgroundPort: number;
}

function sandboxStartSettings(env: Record<string, string | undefined>): SandboxStartSettings {
  const problems: string[] = [];
  const ms = (name: string, min: number, max: number): number | undefined => {
    const v = env[name]?.trim();
    if (!v) return undefined;
    if (/^\d+$/.test(v) && Number(v) >= min && Number(v) <= max) return Number(v);
    problems.push(`${name}: ${JSON.stringify(v)} is not a whole number of milliseconds from ${min} to ${max}. Example of a good value: ${name}=${min * 10}`);
    return undefined;
  };
  const pg = (env.SANDBOX_PLAYGROUNDS?.trim() || 'on').toLowerCase();
  if (pg !== 'on' && pg !== 'off') problems.push(`SANDBOX_PLAYGROUNDS: ${JSON.stringify(pg)} is not on or off. Example of a good value: SANDBOX_PLAYGROUNDS=off`);
  const port = env.PLAYGROUND_PORT?.trim() || '56150';
  const portValid = /^\d{1,5}$/.test(port) && Number(port) >= 1024 && Number(port) <= 65534;
  if (!portValid) problems.push(`PLAYGROUND_PORT: ${JSON.stringify(port)} is not a port from 1024 to 65534 (the approver's Playground takes the next one). Example of a good value: PLAYGROUND_PORT=26150`);
  const playgroundPort = portValid ? Number(port) : 56150;
  const settings = {
    stateDir: env.SANDBOX_STATE_DIR?.trim() || undefined,
    playgrounds: pg !== 'off',
    pollMs: ms('SANDBOX_POLL_MS', 50, 3_600_000),
    leaseMs: ms('SANDBOX_LEASE_MS', 1000, 3_600_000),
    playgroundPort,
  };
  if (problems.length) {
    process.stderr.write(`${problems.join('\n')}\n`);
    process.exit(78);
  }
  return settings;
}

/**
 * `npm start`: with a tenant configured (TENANT_ID in env/.env.<MAILROOM_ENV> or the environment) it runs the
 * bot alone; otherwise sandbox mode: the bot against the local sandbox plus two Agents Playground instances,
 * one for the sandbox requester and one for the approver (SANDBOX_PLAYGROUNDS=off: none). Ctrl-C stops everything.
 */
async function run(): Promise<void> {
  const rootDir = projectRoot();
  const env = processEnvironment();
  const requested = env.MAILROOM_ENV?.trim() || 'dev';
  const peek = mergeEnvironment(readEnvFiles(rootDir, requested).values, env);
  const tenantConfigured = Boolean(peek.TENANT_ID?.trim());
  const envName = tenantConfigured ? requested : 'sandbox';

  let sandbox: Sandbox | undefined;
  let config: MailroomConfig;
  const sandboxEnv = tenantConfigured ? {} : mergeEnvironment(readEnvFiles(rootDir, 'sandbox').values, env);
  const settings = sandboxStartSettings(sandboxEnv);
  try {
    if (!tenantConfigured) {
      const knobs = sandboxKnobsFrom(sandboxEnv);
      process.stdout.write('No tenant is configured: starting the sandbox (Samba AD, cloud emulator, sync) …\n');
      if (knobs.realism === 'strict') {
        const d = scaledSandboxDelays(knobs);
        process.stdout.write(
          `SANDBOX_REALISM=strict: Cloud Sync every ${d.syncIntervalMs / 1000} s, mailboxes ${d.mailboxDelayMs / 1000} s after the licence, ` +
            `${d.latencyMs} ms per cloud answer, ${knobs.rate429 * 100} % throttled, ${knobs.rate503 * 100} % unavailable, ${knobs.batchItemRate429 * 100} % of $batch items throttled; ` +
            `lags: licence after usage location ${d.usageLocationLagMs / 1000} s, advanced queries ${d.advancedQueryLagMs / 1000} s, Exchange behind Entra ${d.exchangeLagMs / 1000} s.\n`,
        );
      }
      sandbox = await startSandbox({ rootDir, knobs, ...(settings.stateDir ? { stateDir: path.resolve(settings.stateDir) } : {}) });
      process.stdout.write(`Sandbox up in ${sandbox.timings.totalMs} ms; endpoints in ${sandbox.endpointsFile}\n`);
    }
    config = loadConfig({ rootDir, envName, overrides: sandbox ? sandboxOverrides(sandbox.endpoints) : undefined });
  } catch (err) {
    await sandbox?.stop();
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78);
    }
    throw err;
  }
  const log = createLogger(config.logLevel, { service: 'mailroom' });
  let app;
  try {
    const { pollMs, leaseMs } = settings;
    // leaseMs is a runner option MailroomOptions does not list: it is passed through to the runner as is
    const runner = { ...(pollMs !== undefined ? { pollMs: Math.min(pollMs, 1000), waitPollMs: pollMs } : {}), ...(leaseMs !== undefined ? { leaseMs } : {}) };
    app = await startMailroom(config, log, { runner, ...(pollMs !== undefined ? { waitIntervalMs: pollMs } : {}) });
  } catch (err) {
    await sandbox?.stop();
    throw err;
  }
  const running = app;
  const playgrounds: Playground[] = [];

  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    await Promise.allSettled(playgrounds.map((p) => p.stop()));
    await running.stop();
    await sandbox?.stop();
    process.exit(code);
  };
  // npm relays the terminal's Ctrl-C to the process that already got it: a repeat within 2 s is the same one.
  let firstSignalAt = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      if (Date.now() - firstSignalAt > 2000) process.exit(130);
      return;
    }
    firstSignalAt = Date.now();
    log.info('stopping', { signal });
    void stopAll(0);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  if (config.mode === 'tenant') {
    process.stdout.write(`\nMailroom is running for tenant ${config.cloud?.tenantId ?? ''} at ${app.url}/api/messages (Ctrl-C stops it).\n`);
    return;
  }

  const botEndpoint = `${app.url}/api/messages`;
  if (!settings.playgrounds) {
    process.stdout.write(`\nMailroom is running in sandbox mode (no tenant configured, no Playgrounds).\n  bot endpoint:            ${botEndpoint}\n  Ctrl-C stops everything.\n\n`);
    return;
  }
  const workRoot = path.join(rootDir, '.sandbox', 'playground');
  const basePort = settings.playgroundPort;
  try {
    playgrounds.push(
      await startPlayground({ person: SANDBOX_PEOPLE.requester, port: basePort, botEndpoint, workDir: path.join(workRoot, 'requester') }),
      await startPlayground({ person: SANDBOX_PEOPLE.approver, port: basePort + 1, botEndpoint, workDir: path.join(workRoot, 'approver') }),
    );
  } catch (err) {
    log.error('could not start the Agents Playground', { err });
    await stopAll(1);
    return;
  }
  const [req, appr] = playgrounds;
  process.stdout.write(
    [
      '',
      'Mailroom is running in sandbox mode (no tenant configured).',
      `  bot endpoint:            ${botEndpoint}`,
      `  requester (${req?.person.name}):  ${req?.url}`,
      `  approver (${appr?.person.name}): ${appr?.url}`,
      '  Open a Playground URL in a browser, pick "Personal Chat" and type "help". Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
}

run().catch((err: unknown) => {
  process.stderr.write(`Mailroom failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
