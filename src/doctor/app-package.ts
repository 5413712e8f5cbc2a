import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type * as AppPackage from '../app-package';
import { fail, pass, type Check } from './report';

const AREA = 'Teams app package';

/** The Teams app package of this environment builds and validates (manifest schema, icons), in a folder thrown away after. */
export function appPackageCheck(rootDir: string, envName: string, processEnv: NodeJS.ProcessEnv): Check {
  const name = `appPackage/ for "${envName}" validates`;
  return {
    area: AREA,
    name,
    async run() {
      // Loaded when the check runs: the manifest schemas and their validator are a few MB of code and data that a
      // running bot otherwise never needs.
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- a lazy load (import() would be ESM here)
      const { AppPackageError, buildAppPackage, loadPackagingEnv } = require('../app-package') as typeof AppPackage;
      const out = mkdtempSync(path.join(os.tmpdir(), 'mailroom-doctor-package-'));
      try {
        const { values } = loadPackagingEnv(rootDir, envName, processEnv);
        const built = await buildAppPackage({ rootDir, envName, env: values, outDir: out });
        return [pass(AREA, name, `manifest v${built.manifestVersion} is valid and the icons check out (${built.files.length} files).`)];
      } catch (err) {
        if (!(err instanceof AppPackageError)) throw err;
        return [fail(AREA, name, err.message, `Fix appPackage/ or the values in env/.env.${envName}, then run \`npm run package -- --env ${envName}\` to see the package.`)];
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    },
  };
}
