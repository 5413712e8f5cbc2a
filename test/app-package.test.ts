import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import AdmZip from 'adm-zip';
import { AppManifestUtils, type AppManifest } from '@microsoft/app-manifest';
import { readEnvFiles } from '../src/config/env-files';
import { appPackageCheck } from '../src/doctor/app-package';
import {
  AppPackageError,
  buildAppPackage,
  createImage,
  decodePng,
  encodePng,
  type BuiltAppPackage,
} from '../src/app-package';

const ROOT = path.resolve(__dirname, '..');
const COMMANDS = [
  'help',
  'new mailbox',
  'new shared mailbox',
  'my requests',
  'status',
  'my approvals',
  'show',
  'find',
  'cancel',
  'audit',
];

interface Command {
  title: string;
  description?: string;
}
interface Bot {
  botId: string;
  scopes: string[];
  supportsFiles?: boolean;
  commandLists?: { scopes: string[]; commands: Command[] }[];
}

/** The official schema for a manifest version, read straight from @microsoft/app-manifest's files. */
function officialSchema(manifestVersion: string): Parameters<typeof AppManifestUtils.validateAgainstSchema>[1] {
  const dir = path.dirname(require.resolve('@microsoft/app-manifest/package.json'));
  const file = path.join(dir, 'build', 'json-schemas', 'teams', `v${manifestVersion}`, 'MicrosoftTeams.schema.json');
  return JSON.parse(readFileSync(file, 'utf8')) as Parameters<typeof AppManifestUtils.validateAgainstSchema>[1];
}

/** A copy of appPackage/ (without build output) that a test may break. */
function copyAppPackage(into: string): string {
  const dir = path.join(into, 'appPackage');
  cpSync(path.join(ROOT, 'appPackage'), dir, { recursive: true, filter: (src) => !src.includes(`${path.sep}build`) });
  return dir;
}

async function rejection(promise: Promise<unknown>): Promise<AppPackageError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof AppPackageError, `expected an AppPackageError, got ${String(err)}`);
    return err;
  }
  assert.fail('packaging succeeded but should have failed');
}

describe('Teams app package (appPackage/, npm run package)', function () {
  const sandboxEnv = readEnvFiles(ROOT, 'sandbox').values;
  let tmp: string;
  let built: BuiltAppPackage;
  let zip: AdmZip;
  let manifest: Record<string, unknown>;
  let bot: Bot;

  before(async function () {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'mailroom-app-package-'));
    built = await buildAppPackage({ rootDir: ROOT, envName: 'sandbox', env: sandboxEnv, outDir: path.join(tmp, 'out') });
    zip = new AdmZip(built.zipPath);
    manifest = JSON.parse(zip.readAsText('manifest.json')) as Record<string, unknown>;
    bot = (manifest.bots as Bot[])[0]!;
  });

  after(function () {
    rmSync(tmp, { recursive: true, force: true });
  });

  it('writes appPackage.sandbox.zip and manifest.sandbox.json into the chosen output folder', function () {
    assert.equal(built.zipPath, path.join(tmp, 'out', 'appPackage.sandbox.zip'));
    assert.equal(built.manifestPath, path.join(tmp, 'out', 'manifest.sandbox.json'));
    assert.deepEqual(readdirSync(path.join(tmp, 'out')).sort(), ['appPackage.sandbox.zip', 'manifest.sandbox.json']);
    assert.deepEqual(JSON.parse(readFileSync(built.manifestPath, 'utf8')), manifest);
  });

  it('has manifest.json, color.png and outline.png at the zip root and nothing else', function () {
    const names = zip.getEntries().map((e) => e.entryName).sort();
    assert.deepEqual(names, ['color.png', 'manifest.json', 'outline.png']);
  });

  it('zips a manifest that the official schema accepts, with every placeholder filled', async function () {
    const text = zip.readAsText('manifest.json');
    assert.ok(!text.includes('${{'), 'a ${{…}} placeholder was left in the manifest');
    const version = manifest.manifestVersion as string;
    assert.equal(manifest.$schema, `https://developer.microsoft.com/json-schemas/teams/v${version}/MicrosoftTeams.schema.json`);
    assert.equal(built.manifestVersion, version);
    const errors = await AppManifestUtils.validateAgainstSchema(manifest as unknown as AppManifest, officialSchema(version));
    assert.deepEqual(errors, []);
    assert.equal(manifest.id, sandboxEnv.TEAMS_APP_ID);
    assert.deepEqual(manifest.validDomains, [sandboxEnv.BOT_DOMAIN]);
    assert.equal((manifest.name as { short: string }).short, `Mailroom${sandboxEnv.APP_NAME_SUFFIX}`);
    assert.equal((manifest.developer as { name: string }).name, 'Mailroom');
  });

  it("names the bot id from the env file (APP_PACKAGE_BOT_ID, so the sandbox bot's own BOT_ID stays unset)", function () {
    assert.equal(sandboxEnv.BOT_ID, undefined, 'env/.env.sandbox must not set BOT_ID: the sandbox bot runs anonymously');
    assert.ok(sandboxEnv.APP_PACKAGE_BOT_ID);
    assert.equal(bot.botId, sandboxEnv.APP_PACKAGE_BOT_ID);
    assert.equal(built.variables.BOT_ID, sandboxEnv.APP_PACKAGE_BOT_ID);
  });

  it('offers the bot in personal, team and groupChat scopes, with files (a CSV attached to a bulk request in the personal chat)', function () {
    assert.deepEqual([...bot.scopes].sort(), ['groupChat', 'personal', 'team']);
    assert.equal(bot.supportsFiles, true);
  });

  it('lists the ten commands in one command list per scope, with short descriptions', function () {
    const lists = bot.commandLists ?? [];
    assert.ok(lists.length <= 3, 'Teams allows at most 3 commandLists');
    assert.deepEqual(lists.map((l) => l.scopes.join(',')).sort(), ['groupChat', 'personal', 'team']);
    for (const list of lists) {
      assert.deepEqual(list.commands.map((c) => c.title), COMMANDS, `commands for ${list.scopes.join(',')}`);
      for (const c of list.commands) {
        assert.ok(c.description && c.description.length <= 128, `description of "${c.title}" is empty or too long`);
      }
    }
  });

  it('ships a 192×192 colour icon and a 32×32 outline icon that is white on transparency', function () {
    const color = decodePng(zip.readFile('color.png')!);
    assert.equal(color.width, 192);
    assert.equal(color.height, 192);
    let coloured = 0;
    for (let o = 0; o < color.data.length; o += 4) {
      if (color.data[o + 3] === 255 && !(color.data[o] === color.data[o + 1] && color.data[o + 1] === color.data[o + 2])) coloured++;
    }
    assert.ok(coloured > 192 * 192 * 0.5, 'the colour icon should be mostly opaque colour');

    const outline = decodePng(zip.readFile('outline.png')!);
    assert.equal(outline.width, 32);
    assert.equal(outline.height, 32);
    let white = 0;
    for (let o = 0; o < outline.data.length; o += 4) {
      const [r, g, b, a] = [outline.data[o], outline.data[o + 1], outline.data[o + 2], outline.data[o + 3]];
      assert.ok(a === 0 || (r === 255 && g === 255 && b === 255 && a === 255), `pixel ${o / 4} is ${r},${g},${b},${a}`);
      if (a === 255) white++;
    }
    assert.ok(white > 100 && white < 32 * 32 - 100, `the outline should draw a glyph (${white} white pixels)`);
  });

  it('stops when a value is missing, naming the variable, its env file and an example, and writes nothing', async function () {
    const env = { ...sandboxEnv };
    delete env.APP_PACKAGE_BOT_ID;
    delete env.BOT_ID;
    const outDir = path.join(tmp, 'missing');
    const err = await rejection(buildAppPackage({ rootDir: ROOT, envName: 'sandbox', env, outDir }));
    assert.equal(err.kind, 'missing-values');
    assert.match(err.message, /BOT_ID \(used at \/bots\/0\/botId, \/webApplicationInfo\/id, \/webApplicationInfo\/resource\)/);
    assert.match(err.message, /Set it in env\/\.env\.sandbox, for example: BOT_ID=[0-9a-f-]{36}/);
    assert.doesNotMatch(err.message, /TEAMS_APP_ID/);
    assert.ok(!existsSync(outDir), 'nothing may be written when packaging fails');
  });

  it('accepts an empty APP_NAME_SUFFIX (production) but not a missing one', async function () {
    const withEmpty = await buildAppPackage({
      rootDir: ROOT, envName: 'sandbox', env: { ...sandboxEnv, APP_NAME_SUFFIX: '' }, outDir: path.join(tmp, 'empty-suffix'),
    });
    assert.equal((withEmpty.manifest.name as { short: string }).short, 'Mailroom');
    const env = { ...sandboxEnv };
    delete env.APP_NAME_SUFFIX;
    const err = await rejection(buildAppPackage({ rootDir: ROOT, envName: 'sandbox', env, outDir: path.join(tmp, 'no-suffix') }));
    assert.match(err.message, /APP_NAME_SUFFIX \(used at \/name\/short, \/name\/full\)/);
  });

  it('rejects a manifest that breaks the schema, giving the JSON path', async function () {
    const dir = copyAppPackage(path.join(tmp, 'too-long'));
    const template = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { name: { short: string } };
    template.name.short = 'Mailroom, the recipient request bot${{APP_NAME_SUFFIX}}';
    writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(template, null, 2));
    const outDir = path.join(tmp, 'too-long', 'out');
    const err = await rejection(buildAppPackage({ rootDir: ROOT, envName: 'sandbox', env: sandboxEnv, appPackageDir: dir, outDir }));
    assert.equal(err.kind, 'invalid-manifest');
    assert.match(err.message, /\/name\/short: must NOT have more than 30 characters/);
    assert.match(err.message, /value from APP_NAME_SUFFIX; see env\/\.env\.sandbox/);
    assert.ok(!existsSync(outDir));
  });

  it('rejects an ill-formed bot id with its path and the variable it came from', async function () {
    const err = await rejection(
      buildAppPackage({ rootDir: ROOT, envName: 'sandbox', env: { ...sandboxEnv, APP_PACKAGE_BOT_ID: 'not-a-guid' }, outDir: path.join(tmp, 'bad-id') }),
    );
    assert.match(err.message, /\/bots\/0\/botId: must match pattern .*\(value from APP_PACKAGE_BOT_ID; see env\/\.env\.sandbox\)/);
  });

  it('rejects an outline icon with coloured pixels and a colour icon of the wrong size', async function () {
    const dir = copyAppPackage(path.join(tmp, 'bad-icons'));
    const red = createImage(32, 32);
    red.data.fill(255);
    red.data[0 * 4 + 1] = 0;
    red.data[0 * 4 + 2] = 0; // pixel (0,0): opaque red
    writeFileSync(path.join(dir, 'outline.png'), encodePng(red));
    writeFileSync(path.join(dir, 'color.png'), encodePng(createImage(100, 100)));
    const err = await rejection(
      buildAppPackage({ rootDir: ROOT, envName: 'sandbox', env: sandboxEnv, appPackageDir: dir, outDir: path.join(tmp, 'bad-icons', 'out') }),
    );
    assert.equal(err.kind, 'invalid-icons');
    assert.match(err.message, /outline\.png: 1 pixel\(s\) are neither fully transparent nor white \(first at x=0, y=0: #ff0000/);
    assert.match(err.message, /color\.png: is 100×100 pixels; the color icon must be 192×192/);
  });

  it('refuses to put a secret-looking variable into the package, without showing its value', async function () {
    const dir = copyAppPackage(path.join(tmp, 'secret'));
    const template = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { description: { full: string } };
    template.description.full = 'Password: ${{BOT_PASSWORD}}';
    writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(template, null, 2));
    const err = await rejection(
      buildAppPackage({
        rootDir: ROOT, envName: 'sandbox', env: { ...sandboxEnv, BOT_PASSWORD: 'hunter2-do-not-show' }, appPackageDir: dir, outDir: path.join(tmp, 'secret', 'out'),
      }),
    );
    assert.equal(err.kind, 'template');
    assert.match(err.message, /\$\{\{BOT_PASSWORD\}\} at \/description\/full/);
    assert.doesNotMatch(err.message, /hunter2/);
  });

  describe('npm run package (src/cli/package-app.ts)', function () {
    const cli = (args: string[], env: Record<string, string>) =>
      spawnSync(process.execPath, ['--import', 'tsx', path.join('src', 'cli', 'package-app.ts'), ...args], {
        cwd: ROOT,
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '', ...env },
      });

    it('packages the sandbox env and never echoes secret values', function () {
      const out = path.join(tmp, 'cli');
      const run = cli(['--env', 'sandbox', '--out', out], { BOT_PASSWORD: 'hunter2-do-not-show', GRAPH_CLIENT_SECRET: 's3cr3t-value' });
      assert.equal(run.status, 0, run.stderr);
      assert.ok(existsSync(path.join(out, 'appPackage.sandbox.zip')));
      assert.match(run.stdout, /manifest v\d+\.\d+ is valid/);
      assert.doesNotMatch(run.stdout + run.stderr, /hunter2|s3cr3t/);
    });

    it('takes the env from MAILROOM_ENV and exits 1 naming what is missing', function () {
      const out = path.join(tmp, 'cli-missing');
      const run = cli(['--out', out], { MAILROOM_ENV: 'nosuchenv' });
      assert.equal(run.status, 1);
      assert.match(run.stderr, /environment "nosuchenv"/);
      assert.match(run.stderr, /TEAMS_APP_ID \(used at \/id\).*\n\s+Set it in env\/\.env\.nosuchenv, for example: TEAMS_APP_ID=/);
      assert.ok(!existsSync(out));
    });
  });

  it("the doctor's check builds and validates the environment's package, and names what is missing", async function () {
    const ok = await appPackageCheck(ROOT, 'sandbox', {}).run();
    assert.equal(ok.length, 1);
    assert.equal(ok[0]?.ok, true, ok[0]?.detail);
    assert.match(ok[0]?.detail ?? '', /manifest v\d+\.\d+ is valid and the icons check out \(3 files\)/);
    const missing = await appPackageCheck(ROOT, 'nosuchenv', {}).run();
    assert.equal(missing[0]?.ok, false);
    assert.match(missing[0]?.detail ?? '', /TEAMS_APP_ID \(used at \/id\)/);
    assert.match(missing[0]?.detail ?? '', /Nothing was written/);
  });
});
