/**
 * Mailroom in-process against a sandbox, with the sandbox requester and approver each in an Agents Playground in one
 * headless Chromium: the set-up of the Playground suites. Mailroom keeps its data in a temporary folder of its own.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startMailroom, type Mailroom, type MailroomOptions } from '../../src/app';
import { loadConfig, type MailroomConfig } from '../../src/config/config';
import { createLogger, silentLogger } from '../../src/log';
import { projectRoot } from '../../src/paths';
import type { Sandbox } from '../../src/sandbox';
import { sandboxOverrides } from '../../src/sandbox/overrides';
import { openTwoPlaygrounds, type PlaygroundPage, type TwoPeople } from './browser';

export interface PlaygroundMailroom {
  readonly app: Mailroom;
  readonly config: MailroomConfig;
  readonly people: TwoPeople;
  /** Rita Requester's Playground. */
  readonly rita: PlaygroundPage;
  /** Arnold Approver's Playground. */
  readonly arnold: PlaygroundPage;
  /** Closes the browser and the Playgrounds, stops Mailroom and removes its data. */
  stop(): Promise<void>;
}

/**
 * Starts Mailroom on `sandbox` (env/.env.sandbox with the sandbox's endpoints, any free port) and opens both
 * Playgrounds. `logVariable`: when that environment variable is set, Mailroom's warnings go to stderr.
 */
export async function startPlaygroundMailroom(sandbox: Sandbox, o: { readonly name: string; readonly logVariable?: string; readonly options?: MailroomOptions }): Promise<PlaygroundMailroom> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `mailroom-${o.name}-`));
  let app: Mailroom | undefined;
  try {
    const config = loadConfig({ rootDir: projectRoot(), envName: 'sandbox', env: {}, overrides: { ...sandboxOverrides(sandbox.endpoints), PORT: '0', DATA_DIR: dataDir } });
    app = await startMailroom(config, o.logVariable && process.env[o.logVariable] ? createLogger('warn') : silentLogger, o.options ?? {});
    const people = await openTwoPlaygrounds(app.url, dataDir);
    const started = app;
    return {
      app: started,
      config,
      people,
      rita: people.requester,
      arnold: people.approver,
      async stop() {
        await people.stop();
        await started.stop();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await app?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}
