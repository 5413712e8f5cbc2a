import { constants as fsConstants } from 'node:fs';
import { chmod, mkdir, open, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import { isPortFree, SAMBA_LDAP_PORTS } from './net';
import { isProcessAlive } from './process';

/**
 * Samba's LDAP ports are fixed, so each DC needs its own loopback address. Ports are machine-wide, so the
 * reservations are too: one lock file per address in a fixed folder every project checkout shares (not TMPDIR,
 * which differs between shells). A reservation whose owner process is gone is void.
 */
export const ADDRESS_LOCK_DIR = '/tmp/mailroom-samba-addresses';

const AUTO_ADDRESS_FIRST = 10;
const AUTO_ADDRESS_LAST = 250;

function lockPath(address: string): string {
  return path.join(ADDRESS_LOCK_DIR, `${address}.lock`);
}

/** Reserve `address` for this process; false if a live process holds it. */
export async function reserveAddress(address: string): Promise<boolean> {
  if ((await mkdir(ADDRESS_LOCK_DIR, { recursive: true })) !== undefined) {
    await chmod(ADDRESS_LOCK_DIR, 0o1777).catch(() => undefined); // shared by every user, like /tmp
  }
  const file = lockPath(address);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(file, fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_WRONLY, 0o644);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const text = await readFile(file, 'utf8').catch(() => undefined);
    const owner = Number.parseInt(text ?? '', 10);
    if (text === undefined || !Number.isInteger(owner)) {
      // Just created by someone who has not written it yet, or vanished meanwhile: look again.
      await new Promise((resolve) => setTimeout(resolve, 20));
      continue;
    }
    if (isProcessAlive(owner)) return false;
    // Stale: remove it unless someone replaced it since we read it.
    if ((await readFile(file, 'utf8').catch(() => undefined)) === text) await unlink(file).catch(() => undefined);
  }
  return false;
}

/** Give up this process's reservation of `address`. */
export async function releaseAddress(address: string): Promise<void> {
  const file = lockPath(address);
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text !== undefined && Number.parseInt(text, 10) === process.pid) await unlink(file).catch(() => undefined);
}

/** Are all of Samba's LDAP ports free on `address`? */
export async function ldapPortsFree(address: string): Promise<boolean> {
  for (const port of SAMBA_LDAP_PORTS) {
    if (!(await isPortFree(address, port))) return false;
  }
  return true;
}

/**
 * Reserve the first 127.0.0.x (x in 10..250) that no live process has reserved and whose LDAP ports are free.
 * `skip` lists addresses that just failed.
 */
export async function reserveFreeAddress(skip: ReadonlySet<string> = new Set()): Promise<string> {
  for (let x = AUTO_ADDRESS_FIRST; x <= AUTO_ADDRESS_LAST; x++) {
    const address = `127.0.0.${x}`;
    if (skip.has(address) || !(await reserveAddress(address))) continue;
    if (await ldapPortsFree(address)) return address;
    await releaseAddress(address);
  }
  throw new Error(
    `no free loopback address in 127.0.0.${AUTO_ADDRESS_FIRST}-${AUTO_ADDRESS_LAST} for a Samba DC ` +
      `(ports ${SAMBA_LDAP_PORTS.join('/')}; reservations in ${ADDRESS_LOCK_DIR})`,
  );
}
