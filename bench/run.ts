/**
 * `npm run bench`: runs every benchmark in this folder, one process each, and prints their tables.
 * Benchmarks measure; they never fail a build on a number.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const BENCHES = ['store.ts', 'mailroom.ts'];

let failed = 0;
for (const file of BENCHES) {
  console.log(`\n== ${file}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(__dirname, file)], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exitCode = failed ? 1 : 0;
