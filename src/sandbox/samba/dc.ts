import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { issueServerCertificate, tlsPaths } from './certs';
import { run, runAllowingFailure } from './exec';
import { ADDRESS_LOCK_DIR, ldapPortsFree, releaseAddress, reserveAddress, reserveFreeAddress } from './addresses';
import { isLoopbackIPv4, LDAPS_PORT, listeningSockets, tlsHandshake, type ListeningSocket } from './net';
import { defaultRunDir } from './paths';
import { isProcessAlive, processName, readPidFile, residentKiB, signal, sleep, waitForExit } from './process';
import { ADMIN_UPN, BASE_DN, DC_FQDN, REALM } from './recipe';
import { ADMIN_PASSWORD_FILE, ensureTemplate, type SambaTemplate, type TemplateOptions } from './template';

export interface StartOptions extends TemplateOptions {
  /**
   * The DC's folder. If it already holds a domain controller (an earlier clone), that one is started again with
   * its data; otherwise the template is cloned into it. Default: a fresh folder under `runDir`, deleted on stop.
   */
  readonly dir?: string;
  /** Loopback address to bind (127.x.y.z). Default: the first 127.0.0.x, x in 10..250, whose LDAP ports are free. */
  readonly bindAddress?: string;
  /** Parent of the default DC folders. Default `<projectRoot>/.sandbox/run`. */
  readonly runDir?: string;
  /** Keep the DC's folder after stop (always kept when `dir` is given). */
  readonly keepDir?: boolean;
  /** How long to wait for LDAPS to accept a verified TLS handshake. Default 30 s. */
  readonly startTimeoutMs?: number;
  /** How long stop() waits after SIGTERM before SIGKILL. Default 10 s. */
  readonly stopTimeoutMs?: number;
}

export interface StartTimings {
  /** Finding (or provisioning) the template, including the install check. */
  readonly templateMs: number;
  /** Copying the template, fixing smb.conf and issuing the server certificate. */
  readonly cloneMs: number;
  /** From running `samba -D` until LDAPS completed a verified handshake. */
  readonly startMs: number;
  /** cloneMs + startMs: what a test pays per DC once the template exists. */
  readonly cloneAndStartMs: number;
}

export interface DomainController {
  /** `ldaps://<address>:636` */
  readonly url: string;
  /** Plain LDAP (simple binds are refused there without StartTLS). */
  readonly plainUrl: string;
  readonly address: string;
  readonly baseDn: string;
  /** The Administrator's UPN, for a simple bind. */
  readonly bindDn: string;
  readonly password: string;
  /** The sandbox CA that signed the server certificate; pass `caPem` as `tlsOptions.ca`. */
  readonly caFile: string;
  readonly caPem: string;
  readonly dir: string;
  readonly realm: string;
  /** The DC's host name as in its certificate. */
  readonly fqdn: string;
  readonly pid: number;
  readonly template: { readonly dir: string; readonly created: boolean; readonly provisionMs: number };
  readonly timings: StartTimings;
  /** Resident memory of the samba process in KiB (undefined once stopped). */
  rssKiB(): number | undefined;
  /** TCP sockets the samba process listens on. */
  listeningSockets(): ListeningSocket[];
  /** SIGTERM, wait, SIGKILL after the timeout; removes the pid file (and the folder if it was a default one). */
  stop(): Promise<void>;
}

const DC_INFO_FILE = 'sandbox-dc.json';
interface DcInfo {
  readonly ownerPid: number;
  readonly address: string;
  /** Created for this start only: stop() deletes it, and a later start removes it if its owner died. */
  readonly disposable: boolean;
}

const running = new Set<{ pid: number }>();
let exitHookInstalled = false;

/**
 * Start a Samba AD domain controller bound to one loopback address only, from a clone of the cached template
 * (provisioned first if needed). Resolves once LDAPS accepts a handshake verified against the sandbox CA.
 */
export async function startDomainController(options: StartOptions = {}): Promise<DomainController> {
  if (options.bindAddress !== undefined && !isLoopbackIPv4(options.bindAddress)) {
    throw new Error(`bindAddress must be an IPv4 loopback address (127.x.y.z), not "${options.bindAddress}"`);
  }
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error(
      "The sandbox's Samba AD domain controller must run as root: it binds the privileged ports 389/636 " +
        'and keeps its database root-owned. Run the sandbox and its tests as root (e.g. in the dev container).',
    );
  }
  const t0 = Date.now();
  const template = await ensureTemplate(options);
  const templateMs = Date.now() - t0;
  const runDir = path.resolve(options.runDir ?? defaultRunDir());
  if (!options.dir) await removeOrphans(runDir);

  // Reservations make concurrent starts (other processes too) pick different addresses; should samba still fail
  // to bind an automatically chosen one (someone outside took it), try the next.
  const failed = new Set<string>();
  for (let attempt = 0; ; attempt++) {
    let address: string;
    if (options.bindAddress) {
      address = options.bindAddress;
      if (!(await reserveAddress(address))) throw new Error(`${address} is reserved by another running DC (${ADDRESS_LOCK_DIR})`);
      if (!(await ldapPortsFree(address))) {
        await releaseAddress(address);
        throw new Error(`LDAP ports on ${address} are already in use`);
      }
    } else {
      address = await reserveFreeAddress(failed);
    }
    const disposable = !options.dir;
    const dir = path.resolve(options.dir ?? path.join(runDir, `dc-${address}-${randomBytes(3).toString('hex')}`));
    try {
      return await startIn(dir, disposable, template, address, templateMs, options);
    } catch (err) {
      if (disposable && !options.keepDir) await rm(dir, { recursive: true, force: true });
      await releaseAddress(address);
      if (!(err instanceof AddressInUseError) || options.bindAddress || attempt >= 4) throw err;
      failed.add(address);
    }
  }
}

class AddressInUseError extends Error {}

async function startIn(
  dir: string,
  disposable: boolean,
  template: SambaTemplate,
  address: string,
  templateMs: number,
  options: StartOptions,
): Promise<DomainController> {
  const tools = template.tools;

  const t1 = Date.now();
  const smbConf = path.join(dir, 'etc', 'smb.conf');
  if (existsSync(smbConf)) {
    await assertNotRunning(dir);
  } else {
    await prepareEmptyFolder(dir);
    await run('cp', ['-a', '--', template.dir, dir]);
  }
  await rewriteSmbConf(smbConf, dir, address);
  await issueServerCertificate(tools.openssl, dir, address);
  await writeFile(
    path.join(dir, DC_INFO_FILE),
    `${JSON.stringify({ ownerPid: process.pid, address, disposable } satisfies DcInfo)}\n`,
  );
  const cloneMs = Date.now() - t1;

  const password = (await readFile(path.join(dir, ADMIN_PASSWORD_FILE), 'utf8')).trim();
  const caFile = tlsPaths(dir).caCert;
  const caPem = await readFile(caFile, 'utf8');
  const pidFile = path.join(dir, 'run', 'samba.pid');
  const logFile = path.join(dir, 'log', 'samba.log');
  await unlink(pidFile).catch(() => undefined);
  const logOffset = await fileSize(logFile); // a reused folder's log holds earlier runs

  const t2 = Date.now();
  // -D: daemonize (pid file in run/); -M single: one process instead of a dozen prefork workers.
  const launched = await runAllowingFailure(tools.samba, ['-D', '-M', 'single', '-s', smbConf], { timeoutMs: 30_000 });
  if (launched.code !== 0) {
    throw new Error(`samba exited with code ${launched.code}: ${launched.stderr.trim()}\n${await logTail(logFile, 20, logOffset)}`);
  }
  let pid: number | undefined;
  try {
    pid = await waitForLdaps({ address, caPem, pidFile, logFile, logOffset, timeoutMs: options.startTimeoutMs ?? 30_000 });
  } catch (err) {
    const stray = await readPidFile(pidFile);
    if (stray !== undefined) await stopPid(stray, pidFile, 5_000);
    throw err;
  }
  const startMs = Date.now() - t2;
  const samba = { pid };
  running.add(samba);
  installExitHook();

  const stopTimeoutMs = options.stopTimeoutMs ?? 10_000;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      try {
        await stopPid(samba.pid, pidFile, stopTimeoutMs);
      } finally {
        running.delete(samba);
        await releaseAddress(address);
      }
      if (disposable && !options.keepDir) await rm(dir, { recursive: true, force: true });
    })();
    return stopping;
  };

  // Samba must serve this address only: anything else could collide with another DC or be reachable from outside.
  const sockets = listeningSockets(pid);
  const foreign = sockets.filter((s) => s.address !== address);
  if (foreign.length > 0 || sockets.length === 0) {
    await stop();
    throw new Error(
      `samba listened on ${sockets.map((s) => `${s.address}:${s.port}`).join(', ') || 'nothing'}, expected ${address} only`,
    );
  }

  return {
    url: `ldaps://${address}:${LDAPS_PORT}`,
    plainUrl: `ldap://${address}:389`,
    address,
    baseDn: BASE_DN,
    bindDn: ADMIN_UPN,
    password,
    caFile,
    caPem,
    dir,
    realm: REALM,
    fqdn: DC_FQDN,
    pid,
    template: { dir: template.dir, created: template.created, provisionMs: template.info.provisionMs },
    timings: { templateMs, cloneMs, startMs, cloneAndStartMs: cloneMs + startMs },
    rssKiB: () => (isProcessAlive(samba.pid) ? residentKiB(samba.pid) : undefined),
    listeningSockets: () => (isProcessAlive(samba.pid) ? listeningSockets(samba.pid) : []),
    stop,
  };
}

async function prepareEmptyFolder(dir: string): Promise<void> {
  if (existsSync(dir)) {
    const entries = await readdir(dir);
    if (entries.length > 0) {
      throw new Error(`${dir} is neither empty nor a domain controller folder (no etc/smb.conf); refusing to use it`);
    }
    await rmdir(dir); // cp -a copies *into* an existing folder
  }
  await mkdir(path.dirname(dir), { recursive: true });
}

/**
 * smb.conf is the only file holding absolute paths: point them at `dir` (whatever folder it was provisioned or
 * cloned in) and bind the one loopback address. The `/8` makes Samba accept an address lo does not carry
 * itself (lo has 127.0.0.1/8); a bare 127.0.0.x matches no interface and Samba listens nowhere.
 */
async function rewriteSmbConf(smbConf: string, dir: string, address: string): Promise<void> {
  const text = await readFile(smbConf, 'utf8');
  const privateDir = /^\s*private dir = (.+)\/private\s*$/m.exec(text)?.[1];
  if (!privateDir) throw new Error(`${smbConf} has no "private dir" line`);
  const lines = text.split('\n').map((line) => {
    const match = /^(\s*)([^=#;[]+?)\s*=\s*(.*)$/.exec(line);
    if (!match) return line;
    const [, indent = '', key = '', value = ''] = match;
    if (key.toLowerCase() === 'interfaces') return `${indent}interfaces = ${address}/8`;
    if (value === privateDir || value.startsWith(`${privateDir}/`)) return `${indent}${key} = ${dir}${value.slice(privateDir.length)}`;
    return line;
  });
  if (!lines.some((l) => /^\s*bind interfaces only = yes\s*$/i.test(l))) {
    throw new Error(`${smbConf} lacks "bind interfaces only = yes"`);
  }
  await writeFile(smbConf, lines.join('\n'));
}

async function assertNotRunning(dir: string): Promise<void> {
  const pidFile = path.join(dir, 'run', 'samba.pid');
  const pid = await readPidFile(pidFile);
  if (pid !== undefined && isProcessAlive(pid) && processName(pid) === 'samba') {
    throw new Error(`a samba process (pid ${pid}) is already running in ${dir}; stop it first`);
  }
}

/**
 * Wait until *our* samba listens on `address:636` and completes a TLS handshake verified against the CA.
 * Checking the socket's owner matters: clones of one template share the CA and the server key, so a handshake
 * alone could be answered by another DC that took the same address.
 */
async function waitForLdaps(args: {
  address: string;
  caPem: string;
  pidFile: string;
  logFile: string;
  logOffset: number;
  timeoutMs: number;
}): Promise<number> {
  const deadline = Date.now() + args.timeoutMs;
  let lastProblem = 'no pid file yet';
  for (;;) {
    const pid = await readPidFile(args.pidFile);
    const log = await logTail(args.logFile, 20, args.logOffset);
    if (/NT_STATUS_ADDRESS_ALREADY_ASSOCIATED|Address already in use/i.test(log)) {
      throw new AddressInUseError(`samba could not bind ${args.address}. Last log lines:\n${log}`);
    }
    if (pid !== undefined && !isProcessAlive(pid)) {
      throw new Error(`samba (pid ${pid}) exited during start-up. Last log lines of ${args.logFile}:\n${log}`);
    }
    if (pid !== undefined) {
      const ours = listeningSockets(pid).some((s) => s.address === args.address && s.port === LDAPS_PORT);
      if (ours) {
        try {
          await tlsHandshake(args.address, LDAPS_PORT, args.caPem);
          return pid;
        } catch (err) {
          lastProblem = err instanceof Error ? err.message : String(err);
        }
      } else {
        lastProblem = `pid ${pid} does not listen on ${args.address}:${LDAPS_PORT} yet`;
      }
    }
    if (Date.now() >= deadline) {
      throw new Error(
        `Samba did not accept LDAPS on ${args.address}:${LDAPS_PORT} within ${args.timeoutMs} ms (${lastProblem}). ` +
          `Last log lines of ${args.logFile}:\n${log}`,
      );
    }
    await sleep(25);
  }
}

/** The last `lines` lines of the log written after byte `offset`. */
async function logTail(logFile: string, lines = 20, offset = 0): Promise<string> {
  try {
    const text = (await readFile(logFile)).subarray(offset).toString('utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n') || '(log is empty)';
  } catch {
    return `(no log at ${logFile})`;
  }
}

async function fileSize(file: string): Promise<number> {
  return stat(file).then(
    (s) => s.size,
    () => 0,
  );
}

/** SIGTERM, wait up to `timeoutMs`, then SIGKILL; finally remove the pid file (samba leaves it behind). */
async function stopPid(pid: number, pidFile: string, timeoutMs: number): Promise<void> {
  if (isProcessAlive(pid) && processName(pid) === 'samba') {
    signal(pid, 'SIGTERM');
    if (!(await waitForExit(pid, timeoutMs))) {
      signal(pid, 'SIGKILL');
      if (!(await waitForExit(pid, 5_000))) throw new Error(`samba pid ${pid} survived SIGKILL`);
    }
  }
  await unlink(pidFile).catch(() => undefined);
}

/**
 * Default DC folders whose owner process died without stopping them (killed test run): stop their samba and
 * delete them, which also frees their loopback address.
 */
async function removeOrphans(runDir: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(runDir);
  } catch {
    return;
  }
  for (const entry of entries.filter((e) => e.startsWith('dc-'))) {
    const dir = path.join(runDir, entry);
    let info: DcInfo;
    try {
      info = JSON.parse(await readFile(path.join(dir, DC_INFO_FILE), 'utf8')) as DcInfo;
    } catch {
      continue; // being cloned right now, or not ours
    }
    if (!info.disposable || info.ownerPid === process.pid || isProcessAlive(info.ownerPid)) continue;
    const pidFile = path.join(dir, 'run', 'samba.pid');
    const pid = await readPidFile(pidFile);
    if (pid !== undefined) await stopPid(pid, pidFile, 5_000);
    await rm(dir, { recursive: true, force: true });
  }
}

/** If the process exits without stopping its DCs (an uncaught error), do not leave daemons behind. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const { pid } of running) {
      if (isProcessAlive(pid) && processName(pid) === 'samba') signal(pid, 'SIGTERM');
    }
  });
}
