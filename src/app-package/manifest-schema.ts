import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { AppManifestUtils, type AppManifest } from '@microsoft/app-manifest';

/**
 * Offline validation of a Teams app manifest against the official JSON schema that `@microsoft/app-manifest`
 * ships. The schema is always read from the package, never fetched: a version it does not bundle is refused.
 */

const TEAMS_SCHEMA_URL_PREFIX = 'https://developer.microsoft.com/json-schemas/teams/v';

export function teamsSchemaUrl(manifestVersion: string): string {
  return `${TEAMS_SCHEMA_URL_PREFIX}${manifestVersion}/MicrosoftTeams.schema.json`;
}

function bundledSchemaDir(): string {
  return path.join(path.dirname(require.resolve('@microsoft/app-manifest/package.json')), 'build', 'json-schemas', 'teams');
}

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Manifest versions whose schema `@microsoft/app-manifest` bundles (e.g. `1.0` … `1.30`), oldest first. */
export function bundledManifestVersions(): string[] {
  return readdirSync(bundledSchemaDir())
    .filter((d) => /^v\d+\.\d+$/.test(d) && existsSync(path.join(bundledSchemaDir(), d, 'MicrosoftTeams.schema.json')))
    .map((d) => d.slice(1))
    .sort(compareVersions);
}

/** The bundled JSON schema for a manifest version (parsed), or an Error saying which versions exist. */
export function loadBundledSchema(manifestVersion: string): Record<string, unknown> {
  const file = path.join(bundledSchemaDir(), `v${manifestVersion}`, 'MicrosoftTeams.schema.json');
  if (!/^\d+\.\d+$/.test(manifestVersion) || !existsSync(file)) {
    throw new Error(
      `manifestVersion "${manifestVersion}" has no bundled schema in @microsoft/app-manifest; ` +
        `bundled versions: ${bundledManifestVersions().join(', ')}`,
    );
  }
  // Same clean-up as @microsoft/app-manifest does: some schemas contain \a and \v escapes that JSON lacks.
  const text = readFileSync(file, 'utf8').replace(/\\a/g, '\\u0007').replace(/\\v/g, '\\u000b');
  return JSON.parse(text) as Record<string, unknown>;
}

export interface SchemaProblem {
  /** JSON Pointer of the offending value, `/` for the document itself (e.g. `/name/short`). */
  readonly path: string;
  readonly message: string;
  /** The validator's parameters, e.g. `{"limit":30}`; never the offending value. */
  readonly details: string;
}

/** `@microsoft/app-manifest` reports `<instancePath> <message>. Details: <params JSON>`. */
function parseLibraryError(text: string): SchemaProblem {
  const match = /^(\S*) (.*?)\.? Details: (.*)$/s.exec(text);
  if (!match) return { path: '/', message: text, details: '' };
  return { path: match[1] || '/', message: match[2] ?? '', details: match[3] ?? '' };
}

export interface ManifestValidation {
  readonly manifestVersion: string;
  readonly problems: SchemaProblem[];
}

/**
 * Validate a (filled) manifest with `AppManifestUtils.validateAgainstSchema` and the bundled schema of its
 * `manifestVersion`. `$schema` must be the official URL of that same version.
 */
export async function validateManifest(manifest: unknown): Promise<ManifestValidation> {
  if (manifest === null || typeof manifest !== 'object' || Array.isArray(manifest)) {
    return { manifestVersion: '', problems: [{ path: '/', message: 'the manifest must be a JSON object', details: '' }] };
  }
  const record = manifest as Record<string, unknown>;
  const manifestVersion = typeof record.manifestVersion === 'string' ? record.manifestVersion : '';
  if (!manifestVersion) {
    return { manifestVersion, problems: [{ path: '/manifestVersion', message: 'must be a string such as "1.30"', details: '' }] };
  }
  let schema: Record<string, unknown>;
  try {
    schema = loadBundledSchema(manifestVersion);
  } catch (err) {
    return { manifestVersion, problems: [{ path: '/manifestVersion', message: (err as Error).message, details: '' }] };
  }
  const problems: SchemaProblem[] = [];
  if (record.$schema !== teamsSchemaUrl(manifestVersion)) {
    problems.push({ path: '/$schema', message: `must be ${teamsSchemaUrl(manifestVersion)} to match manifestVersion`, details: '' });
  }
  const errors = await AppManifestUtils.validateAgainstSchema(
    manifest as AppManifest,
    schema as unknown as Parameters<typeof AppManifestUtils.validateAgainstSchema>[1],
  );
  problems.push(...errors.map(parseLibraryError));
  return { manifestVersion, problems };
}
