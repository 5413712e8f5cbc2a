/**
 * Generated passwords: one key for every instance on PostgreSQL, decrypt-then-delete (a wrong key destroys nothing),
 * a scheduled purge of what nobody revealed (audited without the value), and a revealed password that only its
 * requester sees, for a short time, after which the card itself is updated to say so.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ConfigError, loadConfig } from '../../src/config/config';
import { projectRoot } from '../../src/paths';
import type { Store } from '../../src/store';
import { SecretPurge } from '../../src/workflow/password-reveal';
import { EncryptedSecretVault, SecretVaultError } from '../../src/workflow/secret-vault';
import { visibleText } from '../harness/connector';
import { QUICK_RUNNER, TestMailroom } from '../harness/mailroom';
import { cardText, RITA } from '../harness/requests';
import { getSharedSandbox } from '../harness/sandbox';
import { ENGINES, engineFixture } from '../store/helpers';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';

async function approvedRequest(store: Store): Promise<number> {
  const r = await store.requests.create({ kind: 'user-mailbox', requesterAadObjectId: 'aad-rita', requesterName: 'Rita', tenantId: 't', values: {}, request: {}, status: 'approved' });
  return r.id;
}

describe('security: secrets', function () {
  describe('SECRET_KEY with PostgreSQL', function () {
    const base = { ALLOWED_TENANT_IDS: TENANT, ROLE_ADMINS: `user:${TENANT}`, PORT: '0' };

    it('is required when DATABASE_URL is set: the error says why and how to make one, and nothing starts', function () {
      const err = (() => {
        try {
          loadConfig({ rootDir: projectRoot(), envName: 'sandbox', env: {}, overrides: { ...base, DATABASE_URL: 'postgres://mailroom:pw-value@db.example.com:5432/mailroom' } });
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      assert.ok(err instanceof ConfigError, 'a configuration error');
      const problem = err.problems.find((p) => p.variable === 'SECRET_KEY');
      assert.ok(problem, err.message);
      assert.match(problem.problem, /required with DATABASE_URL/);
      assert.match(problem.problem, /openssl rand -base64 32/);
      assert.match(err.message, /Nothing was started/);
      assert.ok(!err.message.includes('pw-value'), 'the database password is not echoed');
    });

    it('is accepted with DATABASE_URL, and not needed with SQLite (one instance, a key file)', function () {
      const key = randomBytes(32).toString('base64');
      const c = loadConfig({ rootDir: projectRoot(), envName: 'sandbox', env: {}, overrides: { ...base, DATABASE_URL: 'postgres://m:p@db.example.com/m', SECRET_KEY: key } });
      assert.equal(c.secretKey?.toString('base64'), key);
      assert.equal(c.secretPurgeAfterMs, 7 * 86_400_000, 'unrevealed passwords are purged after 7 days by default');
      assert.equal(loadConfig({ rootDir: projectRoot(), envName: 'sandbox', env: {}, overrides: base }).secretKey, undefined);
      assert.throws(() => loadConfig({ rootDir: projectRoot(), envName: 'sandbox', env: {}, overrides: { ...base, SECRET_PURGE_AFTER: '5m' } }), /SECRET_PURGE_AFTER: .* is not from 1h to 365d/);
      assert.throws(() => loadConfig({ rootDir: projectRoot(), envName: 'sandbox', env: {}, overrides: { ...base, AUDIT_KEY: 'c2hvcnQ=' } }), /AUDIT_KEY: is not 32 bytes in base64/);
    });
  });

  for (const engine of ENGINES) {
    describe(`the vault on ${engine}`, function () {
      const fx = engineFixture(engine, 'secrets');

      it('a wrong key leaves the secret stored, with a clear error; the right key still reveals it, once', async function () {
        const store = await fx.open(await fx.freshOptions());
        const r = await approvedRequest(store);
        const right = randomBytes(32);
        await new EncryptedSecretVault(right, store.secrets).put(r, 'initial-password', 'Zoë-P@ssw0rd!');
        const wrong = new EncryptedSecretVault(randomBytes(32), store.secrets);
        await assert.rejects(wrong.takeOnce(r, 'initial-password'), (err: unknown) => {
          assert.ok(err instanceof SecretVaultError);
          assert.match(err.message, /could not be revealed: it failed authentication .* It was kept \(nothing was deleted\): an administrator must check that SECRET_KEY/);
          assert.ok(!err.message.includes('P@ssw0rd'));
          return true;
        });
        const rows = await store.db.selectFrom('secrets').select('request_id').execute();
        assert.equal(rows.length, 1, 'the secret is still stored after the failed decrypt');
        const vault = new EncryptedSecretVault(right, store.secrets);
        assert.equal(await vault.takeOnce(r, 'initial-password'), 'Zoë-P@ssw0rd!');
        assert.equal(await vault.takeOnce(r, 'initial-password'), undefined, 'revealed once');
        assert.equal((await store.db.selectFrom('secrets').select('request_id').execute()).length, 0);
      });

      it('the scheduled purge deletes passwords unrevealed for the set time and audits each, without the value', async function () {
        let now = new Date('2026-01-01T10:00:00.000Z');
        const store = await fx.open(await fx.freshOptions(() => now));
        const r1 = await approvedRequest(store);
        const r2 = await approvedRequest(store);
        const vault = new EncryptedSecretVault(randomBytes(32), store.secrets);
        await vault.put(r1, 'initial-password', 'Old-Secret-1!');
        now = new Date('2026-01-07T10:00:00.000Z');
        await vault.put(r2, 'initial-password', 'New-Secret-2!');
        now = new Date('2026-01-08T12:00:00.000Z');
        const purge = new SecretPurge(vault, store.audit, 7 * 86_400_000, () => now);
        assert.equal(await purge.run(), 1, 'only the password stored more than 7 days ago');
        assert.equal(await vault.takeOnce(r1, 'initial-password'), undefined, 'purged');
        assert.equal(await vault.takeOnce(r2, 'initial-password'), 'New-Secret-2!', 'kept');
        const purged = (await store.audit.list({ limit: 100 })).filter((e) => e.event === 'secret.purged');
        assert.deepEqual(
          purged.map((e) => ({ ref: e.requestRef, data: e.data })),
          [{ ref: `R-${r1}`, data: { entry: 'initial-password', storedAt: '2026-01-01T10:00:00.000Z', unrevealedForDays: 7 } }],
        );
        assert.doesNotMatch(JSON.stringify(purged), /Secret-1|ciphertext/);
        assert.equal(await purge.run(), 0, 'nothing left to purge');
      });
    });
  }

  describe('a revealed password in Teams', function () {
    this.timeout(180_000);
    let m: TestMailroom;
    let revealed = '';
    const suffix = Date.now().toString(36).slice(-5);

    before(async function () {
      m = await TestMailroom.start({
        sandbox: await getSharedSandbox(),
        name: 'reveal',
        options: { ...QUICK_RUNNER, notifyIntervalMs: 200, passwordShownForMs: 1500, revealHideIntervalMs: 100 },
      });
    });
    after(async function () {
      await m?.close();
    });

    it('is shown only to the requester (refresh for her alone), never in the shared card, and replaced by "no longer shown" on the card itself', async function () {
      const { reference } = await m.requestAndApprove(`new mailbox first=Reveal last=Once${suffix} department=Research`, 'User mailbox');
      const record = await m.untilDone(reference);
      revealed = reference;
      const requesterCard = (await m.app.store.cards.list(record.id)).find((c) => c.audience === 'requester');
      assert.ok(requesterCard, "Rita's status card is tracked");

      const since = m.connector.calls.length;
      const shown = await m.rita.press('request.reveal', { reference }, requesterCard.activityId);
      const line = cardText(shown)
        .split('\n')
        .find((t) => t.startsWith('Initial password'));
      assert.ok(line, `the requester sees the password: ${cardText(shown)}`);
      const password = line.slice(line.indexOf(': ') + 2);
      assert.ok(password.length >= 8);
      assert.match(cardText(shown), /Only you see this password/);
      const refresh = shown.refresh as { action: { verb: string; data: Record<string, unknown> }; userIds: string[] };
      assert.deepEqual(refresh.userIds, [`29:${RITA.id}`], 'Teams re-fetches this card for the requester only');
      assert.equal(refresh.action.verb, 'request.reveal');

      // Anyone else asking for the card after the reveal (a refresh, or another person's client) gets no password.
      const other = await m.arnold.press('request.reveal', refresh.action.data);
      assert.ok(!JSON.stringify(other).includes(password), 'the card after the reveal holds no password');
      assert.match(cardText(other), /not shown again|no request/i);
      const again = await m.rita.press('request.reveal', refresh.action.data);
      assert.ok(!JSON.stringify(again).includes(password), 'a refresh never sends the password again, to the requester either');
      const stranger = await m.arnold.press('request.reveal', { reference });
      assert.ok(!JSON.stringify(stranger).includes(password));

      // The card itself (the message everyone sees) is updated in place once the time is up.
      const update = await m.rita.waitFor((c) => c.method === 'PUT' && c.activityId === requesterCard.activityId && /no longer shown/.test(visibleText(c.body)), since, 20_000);
      const text = visibleText(update.body);
      assert.match(text, new RegExp(`Password revealed at \\{\\{TIME\\(\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ\\)\\}\\} by ${RITA.name}; it is no longer shown\\.`));
      assert.ok(!text.includes('[Reveal password]'), 'no Reveal button any more');
      for (const c of m.connector.calls) assert.ok(!JSON.stringify(c.body).includes(password), `${c.method} ${c.path} carries the password`);
      for (let i = 0; (await m.app.store.db.selectFrom('secret_reveals').select('id').execute()).length > 0; i++) {
        assert.ok(i < 100, 'the timer entry is done once the card is updated');
        await new Promise((r) => setTimeout(r, 50));
      }
      const events = (await m.app.store.audit.list({ requestRef: reference, limit: 200 })).map((e) => e.event);
      assert.ok(events.includes('secret.revealed'));
      assert.ok(!(await m.app.store.audit.list({ requestRef: reference, limit: 200 })).some((e) => JSON.stringify(e.data).includes(password)));
    });

    it('`audit R-n` reads only that request\'s events and shows no global count', async function () {
      const reference = revealed;
      assert.ok(reference, 'the test before made a request');
      const audit = m.app.store.audit as { verify: unknown; list: unknown; exportCsv: unknown; verifyRequest: (ref: string) => Promise<unknown> };
      const calls: string[] = [];
      const original = { verify: audit.verify, list: audit.list, exportCsv: audit.exportCsv, verifyRequest: audit.verifyRequest };
      audit.verify = () => (calls.push('verify'), Promise.reject(new Error('the whole log was read')));
      audit.list = () => (calls.push('list'), Promise.reject(new Error('the log was listed')));
      audit.exportCsv = () => (calls.push('exportCsv'), Promise.reject(new Error('the log was exported')));
      audit.verifyRequest = (ref: string) => (calls.push(`verifyRequest ${ref}`), original.verifyRequest(ref));
      // Events about nothing of this request, so that the log is larger than the trail.
      for (let i = 0; i < 5; i++) await original.verifyRequest.call(audit, reference).then(() => m.app.store.audit.append({ actorAadObjectId: null, actorName: 'Mailroom', event: 'audit.exported', data: { rows: i } }));
      try {
        const head = await m.app.store.audit.head();
        const posted = await m.rita.say(`audit ${reference}`);
        const text = posted.map((c) => visibleText(c.body)).join('\n');
        assert.match(text, new RegExp(`Audit trail of ${reference}`));
        assert.match(text, /This trail verifies: \d+ events?, each authenticated with the audit key/);
        assert.doesNotMatch(text, /in all/);
        assert.ok(!text.includes(`${head.seq} events`), 'the global event count is not shown');
        assert.deepEqual(calls, [`verifyRequest ${reference}`], 'only that request\'s events were read');
      } finally {
        Object.assign(audit, original);
      }
    });
  });
});

