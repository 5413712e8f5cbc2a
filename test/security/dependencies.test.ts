/**
 * The production dependency tree, read from package-lock.json (no network): packages Mailroom must never ship again
 * are refused by name, and a few that carried known vulnerabilities must stay at or above the fixed version. The
 * tree is the closure of package.json's `dependencies` as npm resolves it (nested node_modules first, then upwards),
 * so a dev-only package never counts and a production one cannot hide behind a wrong `dev` flag.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../src/paths';

interface LockEntry {
  readonly version?: string;
  readonly dev?: boolean;
  readonly optional?: boolean;
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly optionalDependencies?: Readonly<Record<string, string>>;
  readonly peerDependencies?: Readonly<Record<string, string>>;
}

interface Lock {
  readonly lockfileVersion: number;
  readonly packages: Readonly<Record<string, LockEntry>>;
}

/** Never again in the production tree: the reason is what the failure says. */
export const DENIED: Readonly<Record<string, string>> = {
  // restify ≤ 11 pulled these in for HTTP/2-over-SPDY: unmaintained, and http-deceiver hooks Node's internal HTTP parser.
  spdy: 'unmaintained SPDY server (restify ≤ 11); Mailroom serves HTTP/1.1 only',
  'spdy-transport': 'part of spdy',
  'http-deceiver': 'patches Node’s internal HTTP parser (spdy)',
  'handle-thing': 'part of spdy',
  'select-hose': 'part of spdy',
  'hpack.js': 'part of spdy',
  // Deprecated HTTP clients with known, unfixed issues.
  request: 'deprecated since 2020, unfixed SSRF (CVE-2023-28155)',
  'request-promise': 'wraps the deprecated request',
  'request-promise-native': 'wraps the deprecated request',
  'node-uuid': 'deprecated, replaced by uuid',
  // Abandoned or compromised packages.
  xmldom: 'abandoned, unfixed (CVE-2022-39353); the maintained fork is @xmldom/xmldom',
  'event-stream': 'compromised (flatmap-stream) in 2018',
  'flatmap-stream': 'malicious',
};

/** Packages that must stay at or above the version that fixed a known vulnerability. */
export const FLOORS: Readonly<Record<string, { readonly min: string; readonly why: string }>> = {
  jsonwebtoken: { min: '9.0.0', why: 'CVE-2022-23529/23539/23540/23541 (token validation)' },
  axios: { min: '1.8.2', why: 'CVE-2025-27152 (SSRF through absolute URLs)' },
  ws: { min: '7.5.10', why: 'CVE-2024-37890 (DoS through many headers)' },
  'tar-fs': { min: '2.1.3', why: 'CVE-2024-12905, CVE-2025-48387 (path traversal when unpacking, install time)' },
};

/** -1, 0 or 1; pre-release tags count as below their release. */
function compareVersions(a: string, b: string): number {
  const parse = (v: string) => {
    const [core = '', pre] = v.split('-', 2);
    return { nums: core.split('.').map((n) => Number(n) || 0), pre };
  };
  const x = parse(a);
  const y = parse(b);
  for (let i = 0; i < 3; i++) {
    const d = (x.nums[i] ?? 0) - (y.nums[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  if (x.pre === undefined || y.pre === undefined) return x.pre === y.pre ? 0 : x.pre === undefined ? 1 : -1;
  return x.pre < y.pre ? -1 : x.pre > y.pre ? 1 : 0;
}

export interface ProductionPackage {
  readonly name: string;
  readonly version: string;
  /** Where it is installed, e.g. node_modules/botbuilder/node_modules/uuid. */
  readonly at: string;
  /** How it is reached from package.json, e.g. botbuilder > botframework-connector > uuid. */
  readonly via: string;
}

const nameAt = (p: string): string => p.slice(p.lastIndexOf('node_modules/') + 'node_modules/'.length);

/** The production closure of a lock file, resolved as Node resolves `require` (nearest node_modules upwards). */
export function productionTree(lock: Lock): ProductionPackage[] {
  assert.ok(lock.lockfileVersion >= 2, 'package-lock.json must be lockfileVersion 2 or 3 (with "packages")');
  const root = lock.packages[''];
  assert.ok(root, 'package-lock.json has no root package');
  const resolve = (name: string, from: string): string | undefined => {
    let dir = from;
    for (;;) {
      const candidate = `${dir ? `${dir}/` : ''}node_modules/${name}`;
      if (lock.packages[candidate]) return candidate;
      if (!dir) return undefined;
      const up = dir.lastIndexOf('/node_modules/');
      dir = up < 0 ? '' : dir.slice(0, up);
    }
  };
  const found = new Map<string, ProductionPackage>();
  const queue: { at: string; via: string }[] = [];
  const visit = (entry: LockEntry, from: string, via: string, required: boolean): void => {
    const wanted = [
      ...Object.keys(entry.dependencies ?? {}).map((n) => [n, required] as const),
      ...Object.keys(entry.optionalDependencies ?? {}).map((n) => [n, false] as const),
      ...Object.keys(entry.peerDependencies ?? {}).map((n) => [n, false] as const),
    ];
    for (const [name, must] of wanted) {
      const at = resolve(name, from);
      if (!at) {
        assert.ok(!must, `package-lock.json does not resolve ${name}, a dependency of ${via || 'mailroom'}`);
        continue;
      }
      if (found.has(at)) continue;
      const e = lock.packages[at];
      const pkg = { name: nameAt(at), version: e?.version ?? '?', at, via: via ? `${via} > ${nameAt(at)}` : nameAt(at) };
      found.set(at, pkg);
      queue.push({ at, via: pkg.via });
    }
  };
  visit({ dependencies: root.dependencies, optionalDependencies: root.optionalDependencies }, '', '', true);
  for (let next = queue.shift(); next; next = queue.shift()) {
    const e = lock.packages[next.at];
    if (e) visit(e, next.at, next.via, true);
  }
  return [...found.values()];
}

/** Every reason the tree breaks the deny-list or the version floors (empty when it is clean). */
export function dependencyProblems(tree: readonly ProductionPackage[]): string[] {
  const problems: string[] = [];
  for (const p of tree) {
    const denied = DENIED[p.name];
    if (denied) problems.push(`${p.name}@${p.version} (${p.via}) must not be in the production tree: ${denied}`);
    const floor = FLOORS[p.name];
    if (floor && compareVersions(p.version, floor.min) < 0) problems.push(`${p.name}@${p.version} (${p.via}) is below ${floor.min}: ${floor.why}`);
  }
  return problems;
}

describe('security: the production dependency tree (package-lock.json)', function () {
  const root = projectRoot();
  const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as Lock;
  const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };

  it('the lock file is the one package.json describes', function () {
    const lockRoot = lock.packages[''] as LockEntry & { devDependencies?: Record<string, string> };
    assert.deepEqual(lockRoot.dependencies, manifest.dependencies, 'run npm install: package-lock.json is out of date');
    assert.deepEqual(lockRoot.devDependencies, manifest.devDependencies, 'run npm install: package-lock.json is out of date');
  });

  it('holds no denied package and nothing below a fixed version', function () {
    const tree = productionTree(lock);
    assert.ok(tree.length > 100, `only ${tree.length} production packages: the lock file was not read right`);
    for (const top of Object.keys(manifest.dependencies)) assert.ok(tree.some((p) => p.at === `node_modules/${top}`), `${top} is missing from the tree`);
    assert.deepEqual(dependencyProblems(tree), []);
  });

  it('is the production tree: nothing npm marks dev-only, no dev-only tool', function () {
    const tree = productionTree(lock);
    const dev = tree.filter((p) => lock.packages[p.at]?.dev === true);
    assert.deepEqual(dev.map((p) => p.via), [], 'reached from dependencies, yet marked dev in the lock');
    for (const tool of ['mocha', 'eslint', 'typescript', 'tsx', 'fast-check', 'playwright-core']) assert.ok(!tree.some((p) => p.name === tool), `${tool} is a production dependency`);
  });

  it('the check itself: a tree with restify 11’s spdy, an old jsonwebtoken or request is refused, naming the path', function () {
    const withSpdy: Lock = {
      lockfileVersion: 3,
      packages: {
        '': { dependencies: { restify: '^11.1.0', botbuilder: '^4' } },
        'node_modules/restify': { version: '11.1.0', dependencies: { spdy: '^4.0.2' } },
        'node_modules/spdy': { version: '4.0.2', dependencies: { 'http-deceiver': '^1.2.7', 'handle-thing': '^2.0.0' } },
        'node_modules/http-deceiver': { version: '1.2.7' },
        'node_modules/handle-thing': { version: '2.0.1' },
        'node_modules/botbuilder': { version: '4.0.0', dependencies: { jsonwebtoken: '^8', request: '^2' } },
        'node_modules/botbuilder/node_modules/jsonwebtoken': { version: '8.5.1' },
        'node_modules/jsonwebtoken': { version: '9.0.3' },
        'node_modules/request': { version: '2.88.2' },
        'node_modules/mocha': { version: '11.0.0', dev: true, dependencies: { spdy: '^4' } },
      },
    };
    const problems = dependencyProblems(productionTree(withSpdy));
    assert.deepEqual(problems.map((p) => p.split(' ')[0]).sort(), ['handle-thing@2.0.1', 'http-deceiver@1.2.7', 'jsonwebtoken@8.5.1', 'request@2.88.2', 'spdy@4.0.2']);
    assert.ok(problems.some((p) => p.includes('(restify > spdy > http-deceiver)')), problems.join('\n'));
    assert.ok(problems.some((p) => p.includes('(botbuilder > jsonwebtoken) is below 9.0.0')), problems.join('\n'));
  });
});
