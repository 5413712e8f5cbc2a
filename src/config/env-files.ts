import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';

/**
 * Agents Toolkit convention: `env/.env.<name>` (committed, no secrets) and `env/.env.<name>.user`
 * (ignored by git, secrets). Later files win; the process environment wins over both.
 */
export interface EnvFileSet {
  readonly name: string;
  readonly files: string[];
  readonly values: Record<string, string>;
}

export const ENV_NAME_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;

export function readEnvFiles(rootDir: string, name: string): EnvFileSet {
  if (!ENV_NAME_PATTERN.test(name)) {
    throw new Error(
      `MAILROOM_ENV: "${name}" is not an environment name. Use lower-case letters, digits and dashes, e.g. MAILROOM_ENV=dev`,
    );
  }
  const files: string[] = [];
  const values: Record<string, string> = {};
  for (const file of [`.env.${name}`, `.env.${name}.user`]) {
    const full = path.join(rootDir, 'env', file);
    if (!existsSync(full)) continue;
    files.push(full);
    const parsed = parseEnv(readFileSync(full, 'utf8'));
    for (const [k, v] of Object.entries(parsed)) {
      if (typeof v === 'string') values[k] = v;
    }
  }
  return { name, files, values };
}

/** Merge env files with the process environment; non-empty process values win. */
export function mergeEnvironment(fileValues: Record<string, string>, processEnv: NodeJS.ProcessEnv): Record<string, string> {
  const merged: Record<string, string> = { ...fileValues };
  for (const [k, v] of Object.entries(processEnv)) {
    if (typeof v === 'string' && v !== '') merged[k] = v;
  }
  return merged;
}

/** Fill `${{NAME}}` placeholders (Agents Toolkit syntax) from a value map; unknown names are reported. */
export function fillPlaceholders(text: string, values: Record<string, string>): { text: string; missing: string[] } {
  const missing = new Set<string>();
  const out = text.replace(/\$\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g, (_m, key: string) => {
    const v = values[key];
    if (v === undefined || v === '') {
      missing.add(key);
      return '';
    }
    return v;
  });
  return { text: out, missing: [...missing] };
}
