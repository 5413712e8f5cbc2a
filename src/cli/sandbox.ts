/**
 * `npm run sandbox`: starts the hybrid-tenant simulator alone (Samba AD DC, cloud emulator, sync engine) with
 * its state in `.sandbox/`, prints where everything is, and stops cleanly on Ctrl-C or SIGTERM (sync stopped,
 * tenant saved, DC stopped, endpoints.json removed). Knobs come from env/.env.sandbox, env/.env.sandbox.user
 * and the environment (see src/sandbox/knobs.ts); a bad one exits with 78 (EX_CONFIG).
 */
import { rmSync } from 'node:fs';
import { ConfigError } from '../config/config';
import { mergeEnvironment, readEnvFiles } from '../config/env-files';
import { projectRoot } from '../paths';
import { sandboxKnobsFrom, startSandbox, type Sandbox, type SandboxKnobs } from '../sandbox';
import { processEnvironment } from '../config/process-env';

function summary(sandbox: Sandbox): string {
  const e = sandbox.endpoints;
  const k: SandboxKnobs = sandbox.knobs;
  const t = sandbox.timings;
  const sync =
    e.sync.mode === 'cloud'
      ? `Entra Cloud Sync, ${k.syncIntervalMs > 0 ? `a cycle every ${k.syncIntervalMs} ms` : 'cycles on request only'}; provisionOnDemand at\n` +
        `                 ${e.graphUrl}/servicePrincipals/${e.sync.servicePrincipalId ?? ''}/synchronization/jobs/${e.sync.jobId ?? ''}/provisionOnDemand`
      : `Entra Connect Sync, ${k.syncIntervalMs > 0 ? `a cycle every ${k.syncIntervalMs} ms` : 'cycles on request only'}; no remote trigger`;
  const people = Object.entries(e.people).map(([role, p]) => `${role.padEnd(9)} ${p.name} <${p.upn}> ${p.aadObjectId}`);
  return [
    '',
    `Mailroom sandbox is running (${t.firstStart ? 'first start' : 'restarted with its data'} in ${t.totalMs} ms).`,
    `  tenant:        ${e.tenantId} (${e.tenantDomain}; mail domain verified)`,
    `  sign-in:       ${e.authorityHost} (authorityHost), app ${e.clientId}`,
    `  Graph:         ${e.graphUrl}`,
    `  Exchange:      ${e.exoUrl}`,
    `  cloud CA:      ${e.caFile}`,
    `  AD (LDAPS):    ${e.ldap.url} ${e.ldap.baseDn}, bind as ${e.ldap.bindDn}; CA ${e.ldap.caFile}`,
    `  Mailroom OUs:  ${sandbox.ous.root} (Users, Shared, Resources, Contacts, Groups)`,
    `  sync:          ${sync}`,
    `  knobs:         mailbox delay ${k.mailboxDelayMs} ms, latency ${k.latencyMs} ms, 429 rate ${k.rate429}, 503 rate ${k.rate503}, ` +
      `Retry-After ${k.retryAfterS} s, Exchange licences ${k.exoLicences}, seed ${k.seed}`,
    `  people:        ${people.join('\n                 ')}`,
    `  endpoints:     ${sandbox.endpointsFile} (holds the sandbox's own secrets; removed at stop)`,
    `  start-up:      DC ${t.dcMs} ms${t.templateProvisioned ? ' (Samba template provisioned)' : ''}, cloud ${t.cloudMs} ms, ` +
      `OUs/people ${t.provisionMs} ms, first sync ${t.firstCycleMs} ms`,
    '  Ctrl-C stops it.',
    '',
  ].join('\n');
}

async function run(): Promise<void> {
  const rootDir = projectRoot();
  const files = readEnvFiles(rootDir, 'sandbox');
  let knobs: SandboxKnobs;
  try {
    knobs = sandboxKnobsFrom(mergeEnvironment(files.values, processEnvironment()));
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${new ConfigError(err.problems, files.files).message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }

  const stamp = (): string => new Date().toISOString().slice(11, 19);
  process.stdout.write(`Starting the Mailroom sandbox in ${rootDir}/.sandbox …\n`);
  const sandbox = await startSandbox({ rootDir, knobs, log: (m) => process.stdout.write(`${stamp()} ${m}\n`) });
  process.stdout.write(summary(sandbox));

  // Ctrl-C reaches this process twice (directly, and relayed by tsx): a repeat within 2 s is the same
  // request. A later one exits at once, leaving the DC to the exit hook and endpoints.json removed.
  let firstSignalAt: number | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (firstSignalAt !== undefined) {
      if (Date.now() - firstSignalAt < 2_000) return;
      process.stderr.write(`${signal} again: exiting without a clean stop.\n`);
      rmSync(sandbox.endpointsFile, { force: true });
      process.exit(130);
    }
    firstSignalAt = Date.now();
    process.stdout.write(`\n${stamp()} ${signal}: stopping the sandbox …\n`);
    sandbox.stop().then(
      () => {
        process.stdout.write(`${stamp()} sandbox stopped: tenant saved, domain controller stopped, ${sandbox.endpointsFile} removed.\n`);
        process.exit(0);
      },
      (err: unknown) => {
        process.stderr.write(`The sandbox did not stop cleanly: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.send?.({ type: 'ready', endpointsFile: sandbox.endpointsFile });
}

run().catch((err: unknown) => {
  process.stderr.write(`The sandbox failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
