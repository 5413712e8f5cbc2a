/**
 * Mailroom in its own process for `bench/mailroom.ts`, as it runs in production: the bench process is Teams (the
 * connector stand-in and the clients) and the tenant (sandbox), this one is Mailroom alone, so its latency has
 * its own event loop and its memory is its own. Configuration arrives as JSON in MAILROOM_BENCH_OVERRIDES and
 * MAILROOM_BENCH_RUNNER; `{ type: 'ready', url }` goes back over IPC once it listens.
 */
import { startMailroom } from '../src/app';
import { loadConfig } from '../src/config/config';
import { silentLogger } from '../src/log';
import { projectRoot } from '../src/paths';

async function run(): Promise<void> {
  const overrides = JSON.parse(process.env.MAILROOM_BENCH_OVERRIDES ?? '{}') as Record<string, string>;
  const runner = JSON.parse(process.env.MAILROOM_BENCH_RUNNER ?? '{}') as { pollMs: number; waitPollMs: number; backoffBaseMs: number; backoffCapMs: number };
  const config = loadConfig({ rootDir: projectRoot(), envName: 'sandbox', env: {}, overrides });
  const app = await startMailroom(config, silentLogger, { runner, waitIntervalMs: Number(process.env.MAILROOM_BENCH_WAIT_MS ?? 1000) });
  process.on('SIGTERM', () => {
    app.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
  process.send?.({ type: 'ready', url: app.url });
}

run().catch((err: unknown) => {
  process.stderr.write(`Mailroom failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
