/**
 * PostgreSQL's password from a function (how a managed identity's Entra token reaches Azure Database for PostgreSQL):
 * the harness's server asks TCP logins for a password (scram-sha-256), so a URL without one signs in only when the
 * function answers it, and the function is asked again for a new connection.
 */
import assert from 'node:assert/strict';
import { openStore, StoreError } from '../../src/store';
import { getPostgres } from '../harness/postgres';

describe('PostgreSQL sign-in with a password function', function () {
  this.timeout(60000);

  it('a URL without a password signs in with what the function answers, and without it is refused', async function () {
    const pg = await getPostgres();
    const full = new URL(await pg.createDatabase('pgauth'));
    const password = decodeURIComponent(full.password);
    full.password = '';
    const bare = full.toString();

    let asked = 0;
    const store = await openStore({ databaseUrl: bare, sqliteFile: '', databasePassword: () => Promise.resolve((asked++, password)) });
    try {
      await store.ping();
      const r = await store.requests.create({ kind: 'shared-mailbox', requesterAadObjectId: 'aad-1', requesterName: 'Rita', tenantId: 't', values: {}, request: {} });
      assert.equal((await store.requests.get(r.id))?.requesterName, 'Rita');
      assert.ok(asked >= 1, 'the function was asked for the password');
    } finally {
      await store.close();
    }

    const refused = await openStore({ databaseUrl: bare, sqliteFile: '', databasePassword: () => Promise.resolve('not-the-password') }).then(
      () => assert.fail('a wrong token must not sign in'),
      (e: unknown) => e,
    );
    assert.ok(refused instanceof StoreError, String(refused));
    assert.doesNotMatch(refused.message, /not-the-password/, 'the token is not echoed');
  });
});
