import { existsSync } from 'node:fs';
import path from 'node:path';

/** The project's root: the nearest folder above this module holding package.json (works from src/ and dist/). */
export function projectRoot(): string {
  let dir = __dirname;
  for (;;) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
}

/** Where provisioned templates are kept: `<projectRoot>/.sandbox/cache`. */
export function defaultCacheDir(): string {
  return path.join(projectRoot(), '.sandbox', 'cache');
}

/** Where domain controllers started without an explicit folder live: `<projectRoot>/.sandbox/run`. */
export function defaultRunDir(): string {
  return path.join(projectRoot(), '.sandbox', 'run');
}
