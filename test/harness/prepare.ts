/**
 * Prepares what the test suites need from Debian before mocha runs. When a package is missing and this runs
 * as root, it installs it; otherwise it stops with the exact command to run. It never lets a suite skip.
 */
import { execFileSync, spawnSync } from 'node:child_process';

const NEEDED: { pkg: string; why: string }[] = [
  { pkg: 'postgresql', why: 'the store suite runs against a real PostgreSQL server' },
  { pkg: 'chromium', why: 'end-to-end tests drive the Agents Playground in headless Chromium' },
  { pkg: 'samba-ad-dc', why: 'the sandbox runs a real Samba AD domain controller' },
  { pkg: 'samba-ad-provision', why: 'provisioning the Samba AD domain needs it' },
  { pkg: 'openssl', why: 'the sandbox makes its own certificate authority' },
];

function installed(pkg: string): boolean {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('install ok installed');
}

function main(): void {
  const missing = NEEDED.filter((n) => !installed(n.pkg));
  if (missing.length === 0) {
    console.log(`test prerequisites present: ${NEEDED.map((n) => n.pkg).join(', ')}`);
    return;
  }
  const names = missing.map((m) => m.pkg);
  const command = `apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${names.join(' ')}`;
  for (const m of missing) console.log(`missing Debian package ${m.pkg}: ${m.why}`);
  if (process.getuid?.() !== 0) {
    console.error(`\nThe tests cannot run without these packages. Install them as root, then run npm test again:\n  sudo sh -c '${command}'`);
    process.exit(1);
  }
  console.log(`installing: ${names.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', '-o', 'DPkg::Lock::Timeout=300', '--no-install-recommends', ...names], { stdio: 'inherit', env });
  const still = names.filter((n) => !installed(n));
  if (still.length) {
    console.error(`apt-get finished, but these packages are still missing: ${still.join(', ')}`);
    process.exit(1);
  }
}

main();
