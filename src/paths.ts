import { existsSync } from 'node:fs';
import path from 'node:path';

/** The project root (the folder holding package.json), whether running from src/ with tsx or from dist/. */
export function projectRoot(from: string = __dirname): string {
  let dir = from;
  for (;;) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'cards'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
}
