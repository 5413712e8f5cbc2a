import { ConfigError, loadConfig } from '../config/config';
import { createLogger } from '../log';
import { startMailroom } from '../app';

/**
 * Starts the bot alone (what a production host runs). Stops gracefully on SIGTERM/SIGINT.
 * `npm start` uses src/cli/start.ts, which adds the sandbox and the Playgrounds when no tenant is configured.
 */
export async function main(overrides?: Record<string, string>, envName?: string): Promise<void> {
  let config;
  try {
    config = loadConfig({ overrides, envName });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
  const log = createLogger(config.logLevel, { service: 'mailroom' });
  const app = await startMailroom(config, log);
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      log.warn('second signal: exiting now', { signal });
      process.exit(130);
    }
    signalled = true;
    log.info('stopping', { signal });
    app.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error('stop failed', { err });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.send?.({ type: 'ready', url: app.url });
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`Mailroom failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
