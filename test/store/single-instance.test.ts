/**
 * One Mailroom instance per SQLite file: a store opened with `singleInstance` holds `<file>.lock` until it is closed
 * or its process ends; a second one, in this process or another, is refused with a message naming the file.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openStore, StoreError, type Store } from '../../src/store';
import { projectRoot } from '../../src/paths';

const REFUSED = (file: string): RegExp =>
  new RegExp(`^Another Mailroom is using the SQLite database ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: it holds the lock .*\\.lock\\. .*This instance did not start and changed nothing\\. .*fuser`);

describe('one Mailroom instance per SQLite file', function () {
  this.timeout(60_000);
  let dir = '';
  const opened: Store[] = [];
  before(function () {
    dir = mkdtempSync(path.join(os.tmpdir(), 'mailroom-single-'));
  });
  afterEach(async function () {
    await Promise.all(opened.splice(0).map((s) => s.close()));
  });
  after(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  const open = async (file: string, singleInstance = true): Promise<Store> => {
    const s = await openStore({ sqliteFile: file, singleInstance });
    opened.push(s);
    return s;
  };

  async function refusal(p: Promise<unknown>): Promise<StoreError> {
    const err = await p.then(
      () => assert.fail('the second instance was let in'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof StoreError, String(err));
    assert.equal(err.code, 'sqlite-failed');
    return err;
  }

  it('refuses a second instance on the same file, naming it; once the first closes, the second opens', async function () {
    const file = path.join(dir, 'a', 'mailroom.db');
    const first = await open(file);
    await first.requests.create({ kind: 'shared-mailbox', requesterAadObjectId: 'a', requesterName: 'Rita', tenantId: 't', values: {}, request: {} });
    const err = await refusal(openStore({ sqliteFile: file, singleInstance: true }));
    assert.match(err.message, REFUSED(file));
    assert.ok(existsSync(`${file}.lock`));
    // a tool that only looks (the doctor) still opens it, and reads what the instance wrote
    const look = await open(file, false);
    assert.equal((await look.requests.get(1))?.requesterName, 'Rita');
    await look.close();

    await first.close();
    const second = await open(file);
    assert.equal((await second.requests.get(1))?.requesterName, 'Rita', 'the same database, now the second instance’s');
  });

  it('lets a different file be opened alongside; in-memory stores are never locked', async function () {
    await open(path.join(dir, 'b', 'one.db'));
    await open(path.join(dir, 'b', 'two.db'));
    await open(':memory:');
    await open(':memory:');
  });

  it('refuses an instance in another process, and a holder killed with SIGKILL leaves no stale lock', async function () {
    const file = path.join(dir, 'c', 'mailroom.db');
    const holder = spawn(
      process.execPath,
      ['--import', 'tsx', '-e', `require('./src/store').openStore({ sqliteFile: ${JSON.stringify(file)}, singleInstance: true }).then(() => process.stdout.write('holding\\n'))`],
      { cwd: projectRoot(), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = new Promise<void>((resolve) => holder.once('exit', () => resolve()));
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout.on('data', (d: Buffer) => d.toString().includes('holding') && resolve());
        holder.once('exit', (code) => reject(new Error(`the holder exited (${code}) before it held the file`)));
      });
      const err = await refusal(openStore({ sqliteFile: file, singleInstance: true }));
      assert.match(err.message, REFUSED(file));
    } finally {
      holder.kill('SIGKILL');
      await exited;
    }
    // nobody cleaned up after the killed holder: the kernel released its lock
    await open(file);
  });
});
