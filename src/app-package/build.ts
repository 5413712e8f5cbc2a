import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import AdmZip from 'adm-zip';
import { ENV_NAME_PATTERN, mergeEnvironment, readEnvFiles } from '../config/env-files';
import { checkIcon, isIconRole } from './icon-checks';
import { validateManifest } from './manifest-schema';
import {
  fillJsonPlaceholders,
  isSecretName,
  KNOWN_PLACEHOLDERS,
  manifestValues,
  PACKAGE_ONLY_PREFIX,
  type PlaceholderUse,
} from './placeholders';

export type AppPackageErrorKind = 'template' | 'missing-values' | 'invalid-manifest' | 'invalid-icons';

/** Packaging stopped; `message` is the full text for a person, `problems` the individual lines. */
export class AppPackageError extends Error {
  constructor(
    readonly kind: AppPackageErrorKind,
    readonly headline: string,
    readonly problems: string[],
  ) {
    super([headline, ...problems.map((p) => `  ${p}`)].join('\n'));
    this.name = 'AppPackageError';
  }
}

export interface BuildAppPackageOptions {
  /** Repository root: `env/` files named in messages are relative to it. */
  readonly rootDir: string;
  /** Environment name, e.g. `dev` or `sandbox`; names the output files. */
  readonly envName: string;
  /**
   * Values for the manifest's `${{NAME}}` placeholders (see `loadPackagingEnv`); a non-empty
   * `APP_PACKAGE_<NAME>` replaces `<NAME>` for the package only.
   */
  readonly env: Readonly<Record<string, string>>;
  /** Folder with manifest.json and the icons; default `<rootDir>/appPackage`. */
  readonly appPackageDir?: string;
  /** Where the zip and the filled manifest go; default `<rootDir>/appPackage/build`. */
  readonly outDir?: string;
}

export interface BuiltAppPackage {
  /** `<outDir>/appPackage.<env>.zip`: manifest.json and the icons at the zip root. */
  readonly zipPath: string;
  /** `<outDir>/manifest.<env>.json`: the filled manifest, for inspection. */
  readonly manifestPath: string;
  /** The filled, schema-valid manifest. */
  readonly manifest: Record<string, unknown>;
  readonly manifestVersion: string;
  /** Entry names in the zip. */
  readonly files: string[];
  /** The variables the manifest used, with the values filled in (none is secret-looking: those are refused). */
  readonly variables: Record<string, string>;
}

/** Values for packaging: `env/.env.<name>`, `env/.env.<name>.user`, then non-empty process values win. */
export function loadPackagingEnv(
  rootDir: string,
  envName: string,
  processEnv: NodeJS.ProcessEnv = {},
): { values: Record<string, string>; files: string[] } {
  const set = readEnvFiles(rootDir, envName);
  return { values: mergeEnvironment(set.values, processEnv), files: set.files };
}

const NOTHING_WRITTEN = 'Nothing was written.';

function relative(rootDir: string, file: string): string {
  const rel = path.relative(rootDir, file);
  return (rel.startsWith('..') || path.isAbsolute(rel) ? file : rel).split(path.sep).join('/');
}

function readTemplate(manifestFile: string, label: string): unknown {
  let text: string;
  try {
    text = readFileSync(manifestFile, 'utf8');
  } catch (err) {
    throw new AppPackageError('template', `Cannot read ${label}. ${NOTHING_WRITTEN}`, [(err as Error).message]);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new AppPackageError('template', `${label} is not valid JSON. ${NOTHING_WRITTEN}`, [(err as Error).message]);
  }
}

function missingValueLine(name: string, paths: string[], envFile: string): string {
  const info = KNOWN_PLACEHOLDERS[name];
  const example = info?.example ?? 'value';
  const meaning = info ? `: ${info.meaning}` : '';
  const hint = info?.hint ? `\n    ${info.hint}` : '';
  return `${name} (used at ${paths.join(', ')})${meaning}.\n    Set it in ${envFile}, for example: ${name}=${example}${hint}`;
}

/** Extra rules the schema does not express. */
function extraManifestProblems(manifest: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const domains = manifest.validDomains;
  if (Array.isArray(domains)) {
    domains.forEach((domain, i) => {
      if (typeof domain === 'string' && /:\/\/|\/|\s/.test(domain)) {
        problems.push(`/validDomains/${i}: must be a host name only, without https:// or a path`);
      }
    });
  }
  return problems;
}

function sourceOf(problemPath: string, uses: PlaceholderUse[], env: Readonly<Record<string, string>>, envFile: string): string {
  const names = [...new Set(uses.filter((u) => u.path === problemPath).map((u) => u.name))];
  if (names.length === 0) return '';
  // Name the variable that really supplied the value: APP_PACKAGE_<NAME> wins over <NAME>.
  const sources = names.map((n) => (env[`${PACKAGE_ONLY_PREFIX}${n}`] ? `${PACKAGE_ONLY_PREFIX}${n}` : n));
  return ` (value from ${sources.join(', ')}; see ${envFile})`;
}

/** The validator's parameters, unless the message already says them (e.g. a pattern). */
function detailsWorthShowing(message: string, details: string): string {
  if (!details || details === '{}') return '';
  try {
    const params = JSON.parse(details) as Record<string, unknown>;
    const said = Object.values(params).every((v) => message.includes(typeof v === 'string' ? v : JSON.stringify(v)));
    return said ? '' : ` ${details}`;
  } catch {
    return ` ${details}`;
  }
}

/**
 * Build the Teams app package for one environment: fill the placeholders of `appPackage/manifest.json`,
 * validate it offline against the official schema of its manifestVersion, check the icons, and write
 * `appPackage.<env>.zip` and `manifest.<env>.json`. Throws `AppPackageError` (writing nothing) when a value
 * is missing, the manifest is invalid or an icon breaks Teams' rules. Never includes secret-looking values.
 */
export async function buildAppPackage(options: BuildAppPackageOptions): Promise<BuiltAppPackage> {
  const { rootDir, envName, env } = options;
  if (!ENV_NAME_PATTERN.test(envName)) {
    throw new AppPackageError('template', `"${envName}" is not an environment name. ${NOTHING_WRITTEN}`, [
      'Use lower-case letters, digits and dashes, e.g. --env dev',
    ]);
  }
  const appPackageDir = options.appPackageDir ?? path.join(rootDir, 'appPackage');
  const outDir = options.outDir ?? path.join(rootDir, 'appPackage', 'build');
  const manifestFile = path.join(appPackageDir, 'manifest.json');
  const manifestLabel = relative(rootDir, manifestFile);
  const envFile = `env/.env.${envName}`;

  const template = readTemplate(manifestFile, manifestLabel);
  const values = manifestValues(env);
  const filled = fillJsonPlaceholders(template, values);

  const secretUses = filled.uses.filter((u) => isSecretName(u.name));
  if (secretUses.length > 0) {
    throw new AppPackageError(
      'template',
      `${manifestLabel} refers to secret-looking variables; secrets must never go into a Teams app package. ${NOTHING_WRITTEN}`,
      secretUses.map((u) => `\${{${u.name}}} at ${u.path || '/'}`),
    );
  }
  if (filled.missing.length > 0) {
    const count = filled.missing.length;
    throw new AppPackageError(
      'missing-values',
      `Cannot build the Teams app package for environment "${envName}": ${count} value${count === 1 ? ' is' : 's are'} missing. ${NOTHING_WRITTEN}`,
      filled.missing.map((m) => missingValueLine(m.name, m.paths, envFile)),
    );
  }
  const manifestText = JSON.stringify(filled.value, null, 2) + '\n';
  if (manifestText.includes('${{')) {
    throw new AppPackageError('template', `${manifestLabel} has a malformed placeholder. ${NOTHING_WRITTEN}`, [
      'Placeholders look like ${{NAME}}: letters, digits and underscores, starting with a letter or underscore.',
    ]);
  }

  const validation = await validateManifest(filled.value);
  const manifest = filled.value as Record<string, unknown>;
  const schemaProblems = validation.problems.map(
    (p) => `${p.path}: ${p.message}${detailsWorthShowing(p.message, p.details)}${sourceOf(p.path, filled.uses, env, envFile)}`,
  );
  const problems = [...schemaProblems, ...extraManifestProblems(manifest)];
  if (problems.length > 0) {
    throw new AppPackageError(
      'invalid-manifest',
      `${manifestLabel} (filled for environment "${envName}") does not match the Teams app manifest schema ` +
        `v${validation.manifestVersion || '?'}. ${NOTHING_WRITTEN}`,
      problems,
    );
  }

  const files = new Map<string, Buffer>([['manifest.json', Buffer.from(manifestText, 'utf8')]]);
  const iconProblems: string[] = [];
  const icons = (manifest.icons ?? {}) as Record<string, string>;
  for (const [role, relPath] of Object.entries(icons)) {
    const file = path.resolve(appPackageDir, relPath);
    const label = relative(rootDir, file);
    const inside = path.relative(appPackageDir, file);
    if (inside.startsWith('..') || path.isAbsolute(inside)) {
      iconProblems.push(`/icons/${role}: "${relPath}" points outside ${relative(rootDir, appPackageDir)}`);
      continue;
    }
    if (!existsSync(file)) {
      iconProblems.push(`${label}: missing (named by /icons/${role}); regenerate with npx tsx src/app-package/icons.ts`);
      continue;
    }
    const png = readFileSync(file);
    if (isIconRole(role)) iconProblems.push(...checkIcon(role, png, label));
    files.set(inside.split(path.sep).join('/'), png);
  }
  if (iconProblems.length > 0) {
    throw new AppPackageError('invalid-icons', `The app icons break Teams' rules. ${NOTHING_WRITTEN}`, iconProblems);
  }

  const zip = new AdmZip();
  for (const [name, data] of files) zip.addFile(name, data);
  mkdirSync(outDir, { recursive: true });
  const zipPath = path.join(outDir, `appPackage.${envName}.zip`);
  const manifestPath = path.join(outDir, `manifest.${envName}.json`);
  writeAtomically(manifestPath, Buffer.from(manifestText, 'utf8'));
  writeAtomically(zipPath, zip.toBuffer());

  return {
    zipPath,
    manifestPath,
    manifest,
    manifestVersion: validation.manifestVersion,
    files: [...files.keys()],
    variables: Object.fromEntries(filled.uses.map((u) => [u.name, values[u.name] ?? ''])),
  };
}

function writeAtomically(file: string, data: Buffer): void {
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, data);
  renameSync(temp, file);
}
