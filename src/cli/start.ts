import path from 'node:path';
import { ConfigError, loadConfig, MailroomConfig } from '../config/config';
import { mergeEnvironment, readEnvFiles } from '../config/env-files';
import { createLogger } from '../log';
import { projectRoot } from '../paths';
import { startMailroom } from '../app';
import { SANDBOX_PEOPLE } from '../sandbox/people';
import { Sandbox, sandboxKnobsFrom, startSandbox } from '../sandbox';
import { sandboxOverrides } from '../sandbox/overrides';
import { Playground, startPlayground } from '../sandbox/playground/playground';
import { processEnvironment } from '../config/process-env';

/**
 * `npm start`: with a tenant configured (TENANT_ID in env/.env.<MAILROOM_ENV> or the environment) it runs the
 * bot alone; otherwise sandbox mode: the bot against the local sandbox plus two Agents Playground instances,
 * one for the sandbox requester and one for the approver. Ctrl-C stops everything.
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
  try {
    if (!tenantConfigured) {
      const knobs = sandboxKnobsFrom(mergeEnvironment(readEnvFiles(rootDir, 'sandbox').values, env));
      process.stdout.write('No tenant is configured: starting the sandbox (Samba AD, cloud emulator, sync) …\n');
      sandbox = await startSandbox({ rootDir, knobs });
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
    app = await startMailroom(config, log);
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
  const workRoot = path.join(rootDir, '.sandbox', 'playground');
  const basePort = Number(env.PLAYGROUND_PORT ?? 56150);
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
