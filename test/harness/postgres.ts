/**
 * One real PostgreSQL server for the whole test run, started on first use from Debian's `postgresql`
 * package (/usr/lib/postgresql/<version>/bin, newest version found). It lives in a temporary folder
 * (in /dev/shm when available),
 * listens only on 127.0.0.1 (free port) and on a unix socket in that folder, and is tuned for tests
 * (no fsync, no autovacuum): nothing in it survives the run. TCP logins need the generated password
 * (scram-sha-256), so code under test handles a real password in its URL. Each suite makes its own
 * database with `createDatabase`. The server is stopped by the global teardown, or killed when the
 * process exits without one.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, appendFileSync, chownSync, constants, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Pool } from 'pg';
import { onGlobalTeardown } from './root-hooks';

const run = promisify(execFile);

export interface PostgresHarness {
  /** URL of a database on the server (default: the `postgres` maintenance database), password included. */
  url(dbName?: string): string;
  /** Create a fresh, empty database named after `prefix` and return its URL. */
  createDatabase(prefix: string): Promise<string>;
  readonly version: string;
  readonly port: number;
}

const PG_ROOT = '/usr/lib/postgresql';
const SUPERUSER = 'postgres';
const INSTALL_HINT = 'apt-get install -y postgresql';
const DIR_PREFIX = 'mailroom-pg-';

let starting: Promise<Running> | undefined;

interface Running {
  harness: PostgresHarness;
  stop(): Promise<void>;
}

export async function getPostgres(): Promise<PostgresHarness> {
  starting ??= start();
  return (await starting).harness;
}

/** For scripts outside mocha (benchmarks): stop the server if it was started. */
export async function stopPostgres(): Promise<void> {
  const s = starting;
  starting = undefined;
  if (s) await (await s).stop();
}

interface Binaries {
  version: string;
  bin: string;
}

/** The newest PostgreSQL server installed under `root`; throws with the install command when there is none. */
export function findBinaries(root = PG_ROOT): Binaries {
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^\d+(\.\d+)?$/.test(v))
        .filter((v) => ['initdb', 'pg_ctl', 'postgres'].every((b) => existsSync(path.join(root, v, 'bin', b))))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const version = versions[0];
  if (version === undefined) {
    throw new Error(
      `PostgreSQL server binaries were not found (looked for ${root}/<version>/bin/initdb, pg_ctl, postgres). ` +
        `The store tests need a real PostgreSQL server. Install it with: ${INSTALL_HINT}`,
    );
  }
  return { version, bin: path.join(root, version, 'bin') };
}

interface RunAs {
  /** Prefix for every server command: runuser when we are root (PostgreSQL refuses to run as root). */
  wrap(cmd: string, args: string[]): [string, string[]];
  chown(p: string): void;
}

function runAs(): RunAs {
  if (process.getuid?.() !== 0) return { wrap: (cmd, args) => [cmd, args], chown: () => undefined };
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${SUPERUSER}:`));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined) {
    throw new Error(`Running as root, the PostgreSQL server must run as the "${SUPERUSER}" user, which does not exist. Install it with: ${INSTALL_HINT}`);
  }
  return {
    wrap: (cmd, args) => ['runuser', ['-u', SUPERUSER, '--', cmd, ...args]],
    chown: (p) => chownSync(p, Number(uid), Number(gid)),
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen({ host: '127.0.0.1', port: 0 }, () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr !== null ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** RAM-backed /dev/shm when there is one: creating a database there takes ~40 ms instead of ~300 ms. */
function baseDir(): string {
  try {
    accessSync('/dev/shm', constants.W_OK | constants.X_OK);
    return '/dev/shm';
  } catch {
    return os.tmpdir();
  }
}

/** Remove folders left by runs that were killed outright: older than an hour, their server gone. */
function removeStaleClusters(base: string): void {
  for (const name of readdirSync(base)) {
    if (!name.startsWith(DIR_PREFIX)) continue;
    const dir = path.join(base, name);
    try {
      if (Date.now() - statSync(dir).mtimeMs < 3_600_000) continue;
      const pidFile = path.join(dir, 'data', 'postmaster.pid');
      if (existsSync(pidFile)) {
        const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
        if (pid > 0 && isAlive(pid)) continue;
      }
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // another run is cleaning it, or it is not ours to remove
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no server log)';
  }
}

async function start(): Promise<Running> {
  const { version, bin } = findBinaries();
  const as = runAs();
  const base = baseDir();
  removeStaleClusters(base);
  const dir = mkdtempSync(path.join(base, DIR_PREFIX));
  const dataDir = path.join(dir, 'data');
  const logFile = path.join(dir, 'server.log');
  const password = randomBytes(18).toString('base64url');
  let postmasterPid: number | undefined;

  const exec = async (tool: string, args: string[]): Promise<void> => {
    const [cmd, argv] = as.wrap(path.join(bin, tool), args);
    try {
      await run(cmd, argv, { cwd: dir, env: { ...process.env, LC_ALL: 'C' }, timeout: 120_000 });
    } catch (err) {
      const e = err as { stderr?: string; stdout?: string; message: string };
      const output = `${e.stderr ?? ''}${e.stdout ?? ''}`.trim() || e.message;
      throw new Error(`${tool} ${args[0] ?? ''} failed for the test PostgreSQL ${version} in ${dir}:\n${output}\n--- server log ---\n${tail(logFile)}`);
    }
  };

  // Kill the server if the process ends without the global teardown: process.exit() before it, or a
  // signal (mocha has no SIGINT handler of its own, so ^C would otherwise leave the server running).
  const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const killOnExit = (): void => {
    if (postmasterPid !== undefined) {
      try {
        process.kill(postmasterPid, 'SIGQUIT');
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    killOnExit();
    detach();
    // With no other listener left, re-raise so the signal does what it would have done.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  const detach = (): void => {
    process.removeListener('exit', killOnExit);
    for (const sig of SIGNALS) process.removeListener(sig, onSignal);
  };
  process.once('exit', killOnExit);
  for (const sig of SIGNALS) process.once(sig, onSignal);

  try {
    as.chown(dir);
    const pwFile = path.join(dir, 'pwfile');
    writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
    as.chown(pwFile);
    await exec('initdb', [
      '-D', dataDir, '-U', SUPERUSER, '-E', 'UTF8', '--locale=C', '--no-sync',
      '--auth-local=trust', '--auth-host=scram-sha-256', `--pwfile=${pwFile}`,
    ]);
    rmSync(pwFile);
    appendFileSync(
      path.join(dataDir, 'postgresql.conf'),
      [
        '',
        '# test server: fast and disposable',
        "listen_addresses = '127.0.0.1'",
        `unix_socket_directories = '${dir}'`,
        'max_connections = 200',
        'fsync = off',
        'synchronous_commit = off',
        'full_page_writes = off',
        'wal_level = minimal',
        'max_wal_senders = 0',
        'autovacuum = off',
        'shared_buffers = 32MB',
        "dynamic_shared_memory_type = 'mmap'",
        'log_min_messages = warning',
        '',
      ].join('\n'),
    );

    let port = 0;
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      try {
        await exec('pg_ctl', ['start', '-D', dataDir, '-l', logFile, '-w', '-t', '60', '-s', '-o', `-p ${port}`]);
        break;
      } catch (err) {
        // Another process may have taken the port between probing and binding; try a new one.
        if (attempt >= 3 || !/could not bind|address already in use/i.test(tail(logFile))) throw err;
      }
    }
    postmasterPid = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);

    const url = (dbName = 'postgres'): string =>
      `postgresql://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(dbName)}`;
    const admin = new Pool({ connectionString: url(), max: 2 });
    admin.on('error', () => undefined); // the server is stopped under it at teardown
    let seq = 0;

    const harness: PostgresHarness = {
      version,
      port,
      url,
      async createDatabase(prefix: string): Promise<string> {
        const base = prefix.toLowerCase().replace(/[^a-z0-9_]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 40) || 'db';
        const name = `${base}_${++seq}_${randomBytes(3).toString('hex')}`;
        await admin.query(`CREATE DATABASE "${name}"`);
        return url(name);
      },
    };

    let stopped: Promise<void> | undefined;
    const stop = (): Promise<void> =>
      (stopped ??= (async () => {
        await admin.end().catch(() => undefined);
        try {
          await exec('pg_ctl', ['stop', '-D', dataDir, '-m', 'immediate', '-w', '-s']);
        } finally {
          postmasterPid = undefined;
          detach();
          rmSync(dir, { recursive: true, force: true });
        }
      })());
    onGlobalTeardown('postgres', stop);
    return { harness, stop };
  } catch (err) {
    killOnExit();
    detach();
    throw err;
  }
}
