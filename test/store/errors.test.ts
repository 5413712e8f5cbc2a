import assert from 'node:assert/strict';
import { StoreError, openStore, redactDatabaseUrl } from '../../src/store';

describe('store errors', function () {
  it('masks the password of a database URL', function () {
    assert.equal(redactDatabaseUrl('postgres://mailroom:p%40ss@db.example:5432/mailroom'), 'postgres://mailroom:***@db.example:5432/mailroom');
    assert.equal(redactDatabaseUrl('postgres://db.example/mailroom?user=u&password=hunter22'), 'postgres://db.example/mailroom?user=u&password=***');
    assert.equal(redactDatabaseUrl('postgres://mailroom@db.example/mailroom'), 'postgres://mailroom@db.example/mailroom');
    assert.equal(redactDatabaseUrl('postgres://mailroom:hunter22@db example/x'), 'postgres://mailroom:***@db example/x');
  });

  it('rejects a DATABASE_URL that is not a URL without quoting the password', async function () {
    const err = await openStore({ sqliteFile: '', databaseUrl: 'postgres://mailroom:hunter22@db example:5432/x' }).then(
      () => assert.fail('openStore should have failed'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof StoreError);
    assert.equal(err.code, 'misconfigured');
    assert.match(err.message, /^DATABASE_URL is not a valid URL \(postgres:\/\/mailroom:\*\*\*@db example:5432\/x\)/);
    assert.ok(!JSON.stringify({ m: err.message, s: err.stack, c: String(err.cause) }).includes('hunter22'));
  });

  it('rejects a DATABASE_URL for another kind of database', async function () {
    await assert.rejects(openStore({ sqliteFile: '', databaseUrl: 'mysql://u:p@localhost/x' }), (err: unknown) => {
      assert.ok(err instanceof StoreError);
      assert.equal(err.code, 'misconfigured');
      assert.match(err.message, /must start with postgres:\/\/ or postgresql:\/\/ \(got mysql:\/\/\)/);
      return true;
    });
  });
});
