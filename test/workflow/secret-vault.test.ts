import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { EncryptedSecretVault, MemorySecretStore, SecretVaultError, type SecretStore } from '../../src/workflow/secret-vault';

/** A store that records every call it receives, in front of a MemorySecretStore. */
function recordingStore(inner: SecretStore = new MemorySecretStore()): SecretStore & { calls: { op: string; args: unknown[] }[] } {
  const calls: { op: string; args: unknown[] }[] = [];
  return {
    calls,
    put: (requestId, name, ciphertext) => {
      calls.push({ op: 'put', args: [requestId, name, ciphertext] });
      return inner.put(requestId, name, ciphertext);
    },
    takeWith: (requestId, name, open) => {
      calls.push({ op: 'take', args: [requestId, name] });
      return inner.takeWith(requestId, name, open);
    },
    purge: (date) => {
      calls.push({ op: 'purgeOlderThan', args: [date] });
      return inner.purge(date);
    },
  };
}

async function vaultError(promise: Promise<unknown>): Promise<SecretVaultError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof SecretVaultError, `expected a SecretVaultError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the vault to refuse');
}

/** The stored ciphertext of (requestId, name), put back afterwards. */
async function peek(store: SecretStore, requestId: number, name: string): Promise<string> {
  const c = await store.takeWith(requestId, name, (x) => x);
  assert.ok(c !== undefined);
  await store.put(requestId, name, c);
  return c;
}

describe('workflow: the secret vault (AES-256-GCM through a storage port)', function () {
  const secret = 'Kx7!pQ2#wL9@vN4%rT6-unique';

  it('round-trips a secret, including non-ASCII text, and returns it exactly once', async function () {
    const vault = new EncryptedSecretVault(randomBytes(32), new MemorySecretStore());
    await vault.put(7, 'initial-password', secret);
    await vault.put(7, 'other', 'Pässwörd €uro ✓');
    assert.equal(await vault.takeOnce(7, 'initial-password'), secret);
    assert.equal(await vault.takeOnce(7, 'initial-password'), undefined, 'revealed twice');
    assert.equal(await vault.takeOnce(7, 'other'), 'Pässwörd €uro ✓');
    assert.equal(await vault.takeOnce(8, 'initial-password'), undefined, 'never stored');
  });

  it('replaces a secret put again under the same name (a step that generated a new password)', async function () {
    const store = new MemorySecretStore();
    const vault = new EncryptedSecretVault(randomBytes(32), store);
    await vault.put(1, 'initial-password', 'first-One1!');
    await vault.put(1, 'initial-password', 'second-Two2!');
    assert.equal(store.size, 1);
    assert.equal(await vault.takeOnce(1, 'initial-password'), 'second-Two2!');
  });

  it('gives the storage port only base64 ciphertext: never the plaintext, in any encoding, nor the key', async function () {
    const key = randomBytes(32);
    const store = recordingStore();
    const vault = new EncryptedSecretVault(key, store);
    await vault.put(3, 'initial-password', secret);
    await vault.put(3, 'initial-password', secret);
    const puts = store.calls.filter((c) => c.op === 'put');
    assert.equal(puts.length, 2);
    const [first, second] = puts.map((c) => c.args[2] as string);
    assert.ok(first && second);
    assert.notEqual(first, second, 'the same secret encrypted twice must differ (random IV)');
    const forms = [secret, Buffer.from(secret).toString('base64'), Buffer.from(secret).toString('hex'), Buffer.from(secret, 'utf16le').toString('base64'), key.toString('base64'), key.toString('hex')];
    for (const call of store.calls) {
      const text = JSON.stringify(call.args);
      for (const f of forms) assert.ok(!text.includes(f), `the store received ${f === secret ? 'the plaintext' : 'an encoding of the secret or key'}`);
    }
    for (const c of [first, second]) {
      assert.match(c, /^[A-Za-z0-9+/]+=*$/);
      const raw = Buffer.from(c, 'base64');
      assert.equal(raw[0], 1, 'format byte');
      assert.equal(raw.length, 1 + 12 + 16 + Buffer.byteLength(secret), 'format, 12-byte IV, 16-byte tag, ciphertext');
      assert.ok(!raw.includes(Buffer.from(secret)), 'plaintext bytes inside the ciphertext');
    }
  });

  it('detects a tampered ciphertext (any byte), refuses it with a clear error that holds no secret, and keeps it', async function () {
    const store = new MemorySecretStore();
    const vault = new EncryptedSecretVault(randomBytes(32), store);
    await vault.put(5, 'initial-password', secret);
    const original = Buffer.from(await peek(store, 5, 'initial-password'), 'base64');
    // Flip one bit in the IV, the tag and the ciphertext in turn.
    for (const at of [1, 1 + 12, original.length - 1]) {
      const tampered = Buffer.from(original);
      tampered[at] = tampered[at]! ^ 0x01;
      await store.put(5, 'initial-password', tampered.toString('base64'));
      const err = await vaultError(vault.takeOnce(5, 'initial-password'));
      assert.equal(
        err.message,
        "The stored secret 'initial-password' of request 5 could not be revealed: it failed authentication (it was altered, or encrypted with a different key). " +
          'It was kept (nothing was deleted): an administrator must check that SECRET_KEY is the key Mailroom had when it stored the secret, the same on every instance; with the right key it can be revealed again.',
      );
      assert.ok(!err.message.includes(secret) && !inspect(err).includes(secret));
      assert.equal(store.size, 1, 'the tampered entry is kept');
    }
    // Truncated or of another format.
    await store.put(5, 'initial-password', original.subarray(0, 20).toString('base64'));
    assert.match((await vaultError(vault.takeOnce(5, 'initial-password'))).message, /not in the format Mailroom stores/);
    const otherFormat = Buffer.from(original);
    otherFormat[0] = 2;
    await store.put(5, 'initial-password', otherFormat.toString('base64'));
    assert.match((await vaultError(vault.takeOnce(5, 'initial-password'))).message, /not in the format Mailroom stores/);
  });

  it('binds a ciphertext to its request and name: moved to another entry it fails authentication', async function () {
    const store = new MemorySecretStore();
    const vault = new EncryptedSecretVault(randomBytes(32), store);
    await vault.put(10, 'initial-password', secret);
    const c = await peek(store, 10, 'initial-password');
    await store.put(11, 'initial-password', c);
    await store.put(10, 'another-name', c);
    await vaultError(vault.takeOnce(11, 'initial-password'));
    await vaultError(vault.takeOnce(10, 'another-name'));
    assert.equal(await vault.takeOnce(10, 'initial-password'), secret);
  });

  it('fails authentication under a different key (a wrong or rotated key in the configuration)', async function () {
    const store = new MemorySecretStore();
    await new EncryptedSecretVault(randomBytes(32), store).put(4, 'initial-password', secret);
    const err = await vaultError(new EncryptedSecretVault(randomBytes(32), store).takeOnce(4, 'initial-password'));
    assert.match(err.message, /failed authentication \(it was altered, or encrypted with a different key\)/);
    assert.equal(store.size, 1, 'a wrong key destroys nothing');
  });

  it('takes a 32-byte key only, copies it, and never shows it', async function () {
    for (const bad of [randomBytes(16), randomBytes(31), randomBytes(33), Buffer.alloc(0)]) {
      assert.throws(() => new EncryptedSecretVault(bad, new MemorySecretStore()), /needs a key of exactly 32 bytes/);
    }
    assert.throws(() => new EncryptedSecretVault('a'.repeat(32) as unknown as Uint8Array, new MemorySecretStore()), /exactly 32 bytes/);
    const key = randomBytes(32);
    const forms = [key.toString('hex'), key.toString('base64')];
    const vault = new EncryptedSecretVault(key, new MemorySecretStore());
    const shown = `${inspect(vault, { showHidden: true, depth: 5 })} ${JSON.stringify(vault)}`;
    for (const f of forms) assert.ok(!shown.includes(f), 'the key is visible');
    await vault.put(1, 'initial-password', secret);
    key.fill(0); // the caller wipes its copy: the vault still works
    assert.equal(await vault.takeOnce(1, 'initial-password'), secret);
    assert.equal(inspect(vault), 'EncryptedSecretVault(aes-256-gcm, key [redacted])');
    assert.equal(JSON.stringify(vault), '{"vault":"aes-256-gcm"}');
  });

  it('refuses bad entries and empty secrets with messages that name the entry, not the secret', async function () {
    const vault = new EncryptedSecretVault(randomBytes(32), new MemorySecretStore());
    assert.match((await vaultError(vault.put(1, '', secret))).message, /name of a secret/);
    assert.match((await vaultError(vault.put(1, 'x'.repeat(101), secret))).message, /1 to 100 characters/);
    assert.match((await vaultError(vault.put(1.5, 'n', secret))).message, /whole number/);
    assert.match((await vaultError(vault.put(1, 'n', ''))).message, /is empty; nothing was stored/);
    assert.match((await vaultError(vault.takeOnce(-1, 'n'))).message, /whole number/);
  });

  it('purges secrets nobody revealed in time (the in-memory store keeps when each was put)', async function () {
    let now = new Date('2026-01-01T10:00:00Z');
    const store = new MemorySecretStore({ now: () => now });
    const vault = new EncryptedSecretVault(randomBytes(32), store);
    await vault.put(1, 'initial-password', 'old-Secret1!');
    now = new Date('2026-01-02T10:00:00Z');
    await vault.put(2, 'initial-password', 'new-Secret2!');
    assert.deepEqual(await vault.purgeOlderThan(new Date('2026-01-02T00:00:00Z')), [{ requestId: 1, name: 'initial-password', storedAt: '2026-01-01T10:00:00.000Z' }]);
    assert.equal(await vault.takeOnce(1, 'initial-password'), undefined);
    assert.equal(await vault.takeOnce(2, 'initial-password'), 'new-Secret2!');
    assert.deepEqual(await vault.purgeOlderThan(new Date('2030-01-01T00:00:00Z')), []);
  });

  it('reveals a secret to exactly one of many concurrent takers', async function () {
    const vault = new EncryptedSecretVault(randomBytes(32), new MemorySecretStore());
    await vault.put(9, 'initial-password', secret);
    const results = await Promise.all(Array.from({ length: 10 }, () => vault.takeOnce(9, 'initial-password')));
    assert.deepEqual(results.filter((r) => r !== undefined), [secret]);
  });
});
