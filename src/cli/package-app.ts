/**
 * `npm run package [-- --env <name>] [--out <dir>]`: build the Teams app package for one environment.
 * The environment comes from --env, else MAILROOM_ENV, else `dev`. Exit code 1 when packaging fails.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { AppPackageError, buildAppPackage, describeValue, loadPackagingEnv } from '../app-package';
import { projectRoot } from '../paths';
import { processEnvironment } from '../config/process-env';

const USAGE = 'Usage: npm run package -- [--env <name>] [--out <dir>]   (default env: $MAILROOM_ENV or dev)';

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      options: { env: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: false,
    }).values;
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 1;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  const rootDir = projectRoot();
  const env = processEnvironment();
  const envName = args.env || env.MAILROOM_ENV || 'dev';
  const outDir = args.out ? path.resolve(args.out) : undefined;

  try {
    const { values, files } = loadPackagingEnv(rootDir, envName, env);
    const read = files.length ? files.map((f) => path.relative(rootDir, f)).join(', ') : `none (env/.env.${envName} does not exist)`;
    console.log(`Packaging the Teams app for environment "${envName}" (env files read: ${read})`);
    const built = await buildAppPackage({ rootDir, envName, env: values, ...(outDir ? { outDir } : {}) });
    console.log(`  manifest v${built.manifestVersion} is valid; icons checked`);
    console.log(`  values: ${Object.entries(built.variables).map(([name, value]) => describeValue(name, value)).join(', ')}`);
    console.log(`  wrote ${path.relative(process.cwd(), built.zipPath)} (${built.files.join(', ')})`);
    console.log(`  wrote ${path.relative(process.cwd(), built.manifestPath)}`);
    return 0;
  } catch (err) {
    console.error(err instanceof AppPackageError ? err.message : `Packaging failed: ${(err as Error).message}`);
    return 1;
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  },
);
