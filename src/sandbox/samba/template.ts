import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { chmod, mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createCaAndServerKey, writeSecret } from './certs';
import { run } from './exec';
import { ensureSambaInstalled, sambaVersion, type SambaTools } from './install';
import { defaultCacheDir } from './paths';
import { isProcessAlive, sleep } from './process';
import {
  BASE_DN,
  DOMAIN,
  EXTEND_SCHEMA_PY,
  EXTENDED_CLASSES,
  EXTRA_ATTRIBUTES,
  PASSWORD_SETTINGS_ARGS,
  PROVISION_ARGS,
  provisionOptions,
  REALM,
  recipeHash,
} from './recipe';

/** File names inside a template (and therefore inside every clone). */
export const ADMIN_PASSWORD_FILE = 'admin-password';
const TEMPLATE_INFO_FILE = 'sandbox-template.json';

export interface TemplateOptions {
  /** Folder holding provisioned templates. Default `<projectRoot>/.sandbox/cache`. */
  readonly cacheDir?: string;
  /** How long to wait for another process that is provisioning the same template. Default 10 minutes. */
  readonly lockTimeoutMs?: number;
  /** Progress messages (provisioning takes several seconds). Default: console.log. */
  readonly log?: (message: string) => void;
}

export interface TemplateInfo {
  readonly sambaVersion: string;
  readonly recipeHash: string;
  readonly realm: string;
  readonly domain: string;
  readonly baseDn: string;
  readonly createdAt: string;
  /** Wall time of the provisioning that built this template. */
  readonly provisionMs: number;
}

export interface SambaTemplate {
  /** The template folder: a provisioned, never-started domain controller. Copy it, never start it. */
  readonly dir: string;
  readonly info: TemplateInfo;
  /** True if this call provisioned the template, false if a cached one was reused. */
  readonly created: boolean;
  readonly tools: SambaTools;
}

const inProcess = new Map<string, Promise<SambaTemplate>>();

/**
 * Return the provisioned template for the current Samba version and recipe, provisioning it first if the cache
 * has none: into a temporary folder that is renamed into place when complete, under a lock file so concurrent
 * processes provision only once.
 */
export async function ensureTemplate(options: TemplateOptions = {}): Promise<SambaTemplate> {
  const tools = await ensureSambaInstalled();
  const version = await sambaVersion(tools);
  const cacheDir = path.resolve(options.cacheDir ?? defaultCacheDir());
  const name = `samba-template-${version.replace(/[^\w.-]/g, '_')}-${recipeHash()}`;
  const dir = path.join(cacheDir, name);
  const pending = inProcess.get(dir);
  if (pending) {
    const template = await pending.catch(() => undefined);
    // Reuse the in-process result while the folder is still there (someone may have cleared the cache).
    if (template && (await readInfo(dir))) return { ...template, created: false };
  }
  const attempt = findOrProvision(tools, version, cacheDir, name, options);
  inProcess.set(dir, attempt);
  return attempt;
}

async function readInfo(dir: string): Promise<TemplateInfo | undefined> {
  try {
    return JSON.parse(await readFile(path.join(dir, TEMPLATE_INFO_FILE), 'utf8')) as TemplateInfo;
  } catch {
    return undefined;
  }
}

async function findOrProvision(
  tools: SambaTools,
  version: string,
  cacheDir: string,
  name: string,
  options: TemplateOptions,
): Promise<SambaTemplate> {
  const dir = path.join(cacheDir, name);
  const cached = await readInfo(dir);
  if (cached) return { dir, info: cached, created: false, tools };

  await mkdir(cacheDir, { recursive: true });
  const lockFile = `${dir}.lock`;
  const release = await acquireLock(lockFile, options.lockTimeoutMs ?? 10 * 60_000, async () => (await readInfo(dir)) !== undefined);
  try {
    const info = await readInfo(dir);
    if (info) return { dir, info, created: false, tools };
    await removeAbandonedAttempts(cacheDir, name);
    const provisioned = await provision(tools, version, cacheDir, name, options.log ?? ((m) => console.log(m)));
    return { dir, info: provisioned, created: true, tools };
  } finally {
    await release?.();
  }
}

/** Temp folders left by a provision that was interrupted (their owner process is gone). */
async function removeAbandonedAttempts(cacheDir: string, name: string): Promise<void> {
  for (const entry of await readdir(cacheDir)) {
    const match = new RegExp(`^\\.tmp-${name.replace(/[.]/g, '\\.')}-(\\d+)-[0-9a-f]+$`).exec(entry);
    if (match?.[1] && !isProcessAlive(Number(match[1]))) {
      await rm(path.join(cacheDir, entry), { recursive: true, force: true });
    }
  }
}

async function provision(
  tools: SambaTools,
  version: string,
  cacheDir: string,
  name: string,
  log: (message: string) => void,
): Promise<TemplateInfo> {
  const started = Date.now();
  const tmp = path.join(cacheDir, `.tmp-${name}-${process.pid}-${randomBytes(4).toString('hex')}`);
  const final = path.join(cacheDir, name);
  log(`[sandbox] provisioning the Samba AD template (${REALM}) in ${final} — once per Samba version and recipe…`);
  await mkdir(path.join(tmp, 'run'), { recursive: true, mode: 0o700 });
  await mkdir(path.join(tmp, 'log'), { recursive: true });
  await chmod(tmp, 0o700); // holds the CA key and the Administrator password
  try {
    const password = generateAdminPassword();
    await writeSecret(path.join(tmp, ADMIN_PASSWORD_FILE), `${password}\n`);
    const smbConf = path.join(tmp, 'etc', 'smb.conf');
    const provisionLog = path.join(tmp, 'log', 'provision.log');
    const options = provisionOptions(tmp).map((o) => `--option=${o}`);
    const result = await run(tools.sambaTool, [...PROVISION_ARGS, `--targetdir=${tmp}`, ...options, `--adminpass=${password}`], {
      timeoutMs: 5 * 60_000,
    }).catch((err: unknown) => {
      const message = err instanceof Error ? err.message.replaceAll(password, '***') : String(err);
      throw new Error(`samba-tool domain provision failed: ${message}`);
    });
    await writeFile(provisionLog, result.stdout + result.stderr);
    const provisionedAt = Date.now();

    await run(tools.sambaTool, [...PASSWORD_SETTINGS_ARGS, '-H', path.join(tmp, 'private', 'sam.ldb'), '-s', smbConf]);
    await run(tools.python, ['-', smbConf, JSON.stringify(EXTRA_ATTRIBUTES), JSON.stringify(EXTENDED_CLASSES)], {
      input: EXTEND_SCHEMA_PY,
      timeoutMs: 2 * 60_000,
    });
    await createCaAndServerKey(tools.openssl, tmp);

    const info: TemplateInfo = {
      sambaVersion: version,
      recipeHash: recipeHash(),
      realm: REALM,
      domain: DOMAIN,
      baseDn: BASE_DN,
      createdAt: new Date().toISOString(),
      provisionMs: Date.now() - started,
    };
    // Written last: a folder without it is not a finished template.
    await writeFile(path.join(tmp, TEMPLATE_INFO_FILE), `${JSON.stringify(info, null, 2)}\n`);
    await syncTree(tmp);
    try {
      await rename(tmp, final);
    } catch (err) {
      const existing = await readInfo(final);
      if (!existing) throw err;
      // Someone else finished first (their lock was taken for stale); use theirs.
      await rm(tmp, { recursive: true, force: true });
      return existing;
    }
    log(
      `[sandbox] Samba AD template ready in ${info.provisionMs} ms (samba-tool provision ${provisionedAt - started} ms)`,
    );
    return info;
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** A random password that meets Samba's default complexity (three of four character classes, ≥ 7 chars). */
function generateAdminPassword(): string {
  return `Mr${randomBytes(18).toString('base64url')}#7a`;
}

/** Flush the template to disk before it is renamed into place, so a crash cannot leave a half-written cache. */
async function syncTree(dir: string): Promise<void> {
  await run('sync', ['-f', dir]).catch(() => undefined);
}

interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
}

/**
 * Create `lockFile` exclusively. While another live process holds it, wait (polling `isDone`, which ends the
 * wait without the lock when it turns true). A lock whose owner process is gone is taken over.
 * Resolves with a release function, or undefined when `isDone` ended the wait.
 */
async function acquireLock(
  lockFile: string,
  timeoutMs: number,
  isDone: () => Promise<boolean>,
): Promise<(() => Promise<void>) | undefined> {
  const deadline = Date.now() + timeoutMs;
  const me: LockOwner = { pid: process.pid, host: os.hostname(), since: new Date().toISOString() };
  let announced = false;
  for (;;) {
    try {
      const handle = await open(lockFile, fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_WRONLY, 0o600);
      await handle.writeFile(JSON.stringify(me));
      await handle.close();
      return () => unlink(lockFile).catch(() => undefined);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const text = await readFile(lockFile, 'utf8').catch(() => undefined);
    if (text !== undefined && (await isStale(lockFile, text))) {
      // Remove it only if it still is the stale lock we read (another waiter may have replaced it already).
      if ((await readFile(lockFile, 'utf8').catch(() => undefined)) === text) await unlink(lockFile).catch(() => undefined);
      continue;
    }
    if (await isDone()) return undefined;
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${lockFile} (held by ${text ?? 'unknown'})`);
    }
    if (!announced) {
      console.log(`[sandbox] waiting for another process provisioning the Samba template (${lockFile})…`);
      announced = true;
    }
    await sleep(250);
  }
}

async function isStale(lockFile: string, text: string): Promise<boolean> {
  let owner: LockOwner | undefined;
  try {
    owner = JSON.parse(text) as LockOwner;
  } catch {
    owner = undefined;
  }
  if (owner && typeof owner.pid === 'number') {
    return owner.host === os.hostname() && !isProcessAlive(owner.pid);
  }
  // Unreadable content: the owner died between creating and writing it, or is writing right now.
  const age = await stat(lockFile).then((s) => Date.now() - s.mtimeMs, () => 0);
  return age > 30_000;
}
