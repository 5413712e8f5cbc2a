/**
 * `npm run doctor [-- --env <name>] [--print-ad-delegation] [--print-exo-rbac]`: checks the configured tenant, one
 * line per check (✔ / ✖ with what to do); exit code 1 when a check failed. With no tenant configured it checks the
 * sandbox: the one `npm start` runs, or one it starts for the purpose and stops after.
 * `--print-ad-delegation` and `--print-exo-rbac` print the least-privilege recipes made from the configuration.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { storeOptions } from '../app';
import { ConfigError, loadConfig, type MailroomConfig } from '../config/config';
import { mergeEnvironment, readEnvFiles } from '../config/env-files';
import { processEnvironment } from '../config/process-env';
import { formatReport, runDoctor } from '../doctor';
import { adDelegationScript } from '../doctor/ad-delegation';
import { exoRbacScript } from '../doctor/exo-rbac';
import { projectRoot } from '../paths';
import { sandboxKnobsFrom, startSandbox, type Sandbox, type SandboxEndpoints } from '../sandbox';
import { sandboxOverrides } from '../sandbox/overrides';
import { openStore } from '../store';

const USAGE = 'Usage: npm run doctor -- [--env <name>] [--print-ad-delegation] [--print-exo-rbac]';

/** The endpoints of the sandbox `npm start` runs, when its process is alive. */
function runningSandbox(rootDir: string): SandboxEndpoints | undefined {
  const dir = path.join(rootDir, '.sandbox');
  const file = path.join(dir, 'endpoints.json');
  const lock = path.join(dir, 'sandbox.pid');
  if (!existsSync(file) || !existsSync(lock)) return undefined;
  const pid = Number(readFileSync(lock, 'utf8').trim());
  try {
    process.kill(pid, 0);
  } catch {
    return undefined;
  }
  return JSON.parse(readFileSync(file, 'utf8')) as SandboxEndpoints;
}

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      options: { env: { type: 'string' }, 'print-ad-delegation': { type: 'boolean' }, 'print-exo-rbac': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: false,
    }).values;
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  const rootDir = projectRoot();
  const env = processEnvironment();
  const requested = args.env || env.MAILROOM_ENV?.trim() || 'dev';
  const tenantConfigured = Boolean(mergeEnvironment(readEnvFiles(rootDir, requested).values, env).TENANT_ID?.trim());
  const envName = tenantConfigured ? requested : 'sandbox';

  let sandbox: Sandbox | undefined;
  let config: MailroomConfig;
  try {
    let endpoints: SandboxEndpoints | undefined;
    if (!tenantConfigured) {
      endpoints = runningSandbox(rootDir);
      if (endpoints) console.log('No tenant is configured: checking the sandbox that is running.');
      else {
        console.log('No tenant is configured: starting a sandbox to check (it is stopped afterwards) …');
        sandbox = await startSandbox({ rootDir, knobs: sandboxKnobsFrom(mergeEnvironment(readEnvFiles(rootDir, 'sandbox').values, env)), ephemeral: true });
        endpoints = sandbox.endpoints;
      }
    }
    config = loadConfig({ rootDir, envName, overrides: endpoints ? sandboxOverrides(endpoints) : undefined });
  } catch (err) {
    await sandbox?.stop();
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 78;
    }
    throw err;
  }

  try {
    if (args['print-ad-delegation'] || args['print-exo-rbac']) {
      if (args['print-ad-delegation']) console.log(adDelegationScript(config));
      if (args['print-exo-rbac']) console.log(exoRbacScript(config));
      return 0;
    }
    const store = await openStore(storeOptions(config));
    try {
      const report = await runDoctor({ config, store, processEnv: env });
      console.log(`Mailroom doctor — environment "${config.envName}" (${config.mode} mode)`);
      console.log(formatReport(report));
      return report.ok ? 0 : 1;
    } finally {
      await store.close();
    }
  } finally {
    await sandbox?.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`The doctor failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
