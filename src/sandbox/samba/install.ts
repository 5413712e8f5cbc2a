import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { run } from './exec';
import { childEnvironment, searchPath } from '../../config/process-env';

/** Debian packages that make up the sandbox's domain controller. */
export const SAMBA_PACKAGES = ['samba-ad-dc', 'samba-ad-provision', 'openssl'] as const;

/** Provisioning data shipped by samba-ad-provision; samba-tool cannot provision without it. */
const SAMBA_SETUP_DIR = '/usr/share/samba/setup';

/**
 * Samba's Python bindings live in the system interpreter; a python3 found earlier on PATH (pyenv, venv)
 * usually lacks the `samba` module.
 */
const SYSTEM_PYTHON = '/usr/bin/python3';

const INSTALL_ARGS = [
  'install',
  '-y',
  '--no-install-recommends',
  '-o',
  'DPkg::Lock::Timeout=300',
  ...SAMBA_PACKAGES,
];

/** The exact command a person has to run when the sandbox may not install the packages itself. */
export const SAMBA_INSTALL_COMMAND = `sudo DEBIAN_FRONTEND=noninteractive apt-get ${INSTALL_ARGS.join(' ')}`;

/** Absolute paths of the Samba programs the sandbox runs. */
export interface SambaTools {
  readonly samba: string;
  readonly sambaTool: string;
  readonly openssl: string;
  readonly python: string;
}

// Daemons live in sbin, which is often not on a non-root PATH.
const EXTRA_BIN_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** Find an executable on PATH or in the usual system folders. */
function findExecutable(name: string): string | undefined {
  const dirs = [...searchPath(), ...EXTRA_BIN_DIRS];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function locateTools(): { tools?: SambaTools; missing: string[] } {
  const samba = findExecutable('samba');
  const sambaTool = findExecutable('samba-tool');
  const openssl = findExecutable('openssl');
  const missing: string[] = [];
  if (!samba) missing.push('samba');
  if (!sambaTool) missing.push('samba-tool');
  if (!openssl) missing.push('openssl');
  if (!isDirectory(SAMBA_SETUP_DIR)) missing.push(SAMBA_SETUP_DIR);
  if (!samba || !sambaTool || !openssl || missing.length > 0) return { missing };
  return { tools: { samba, sambaTool, openssl, python: SYSTEM_PYTHON }, missing };
}

let installing: Promise<SambaTools> | undefined;

/**
 * Make sure Samba's AD DC, its provisioning data and openssl are installed. As root the Debian packages are
 * installed with apt-get; otherwise the Error names the command to run. Resolves with the programs' paths.
 */
export function ensureSambaInstalled(): Promise<SambaTools> {
  const found = locateTools();
  if (found.tools) return Promise.resolve(found.tools);
  installing ??= installPackages(found.missing).finally(() => {
    installing = undefined;
  });
  return installing;
}

async function installPackages(missing: string[]): Promise<SambaTools> {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) {
    throw new Error(
      `The sandbox's Active Directory needs Samba (missing: ${missing.join(', ')}). Install it with:\n  ${SAMBA_INSTALL_COMMAND}`,
    );
  }
  const env = childEnvironment({ DEBIAN_FRONTEND: 'noninteractive' });
  console.log(`[sandbox] installing ${SAMBA_PACKAGES.join(', ')} (missing: ${missing.join(', ')})…`);
  try {
    await run('apt-get', INSTALL_ARGS, { env });
  } catch {
    // A fresh machine may have no package lists yet.
    await run('apt-get', ['update', '-o', 'DPkg::Lock::Timeout=300'], { env });
    await run('apt-get', INSTALL_ARGS, { env });
  }
  const after = locateTools();
  if (!after.tools) {
    throw new Error(`apt-get installed ${SAMBA_PACKAGES.join(', ')} but ${after.missing.join(', ')} is still missing`);
  }
  return after.tools;
}

/** Samba's version as printed by `samba -V`, e.g. `4.17.12-Debian`. */
export async function sambaVersion(tools: SambaTools): Promise<string> {
  const { stdout } = await run(tools.samba, ['-V']);
  const match = /Version\s+(\S+)/i.exec(stdout);
  if (!match?.[1]) throw new Error(`cannot read Samba's version from "${stdout.trim()}"`);
  return match[1];
}
