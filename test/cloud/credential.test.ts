import assert from 'node:assert/strict';
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
import { GRAPH_SCOPE, ReusedTokenCredential } from '../../src/cloud/credential';
import { CredentialAuthProvider } from '../../src/cloud/graph';

/** The inner credential of a unit test: counts requests, hands out numbered tokens or fails when told. */
class CountingCredential implements TokenCredential {
  calls: { scopes: string | string[]; options?: GetTokenOptions }[] = [];
  fail = false;
  lifetimeMs = 60 * 60_000;
  refreshAfterMs: number | undefined;
  pending: (() => void) | undefined;
  hold = false;

  constructor(private readonly now: () => number) {}

  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
    this.calls.push({ scopes, ...(options ? { options } : {}) });
    const n = this.calls.length;
    if (this.hold) await new Promise<void>((resolve) => (this.pending = resolve));
    if (this.fail) throw new Error('AADSTS7000215: Invalid client secret provided.');
    return {
      token: `token-${n}`,
      expiresOnTimestamp: this.now() + this.lifetimeMs,
      ...(this.refreshAfterMs !== undefined ? { refreshAfterTimestamp: this.now() + this.refreshAfterMs } : {}),
    };
  }
}

describe('ReusedTokenCredential (the token kept between cloud calls)', function () {
  let clock: number;
  let inner: CountingCredential;
  let credential: ReusedTokenCredential;
  const graph = 'https://graph.microsoft.com/.default';
  const exo = 'https://outlook.office365.com/.default';

  beforeEach(function () {
    clock = Date.parse('2026-12-05T10:00:00Z');
    inner = new CountingCredential(() => clock);
    credential = new ReusedTokenCredential(inner, () => clock);
  });

  it('asks the inner credential once per scope and hands the same token out until it is due for renewal', async function () {
    assert.equal((await credential.getToken(graph))?.token, 'token-1');
    clock += 30 * 60_000;
    assert.equal((await credential.getToken(graph))?.token, 'token-1');
    assert.equal((await credential.getToken(exo))?.token, 'token-2', 'another scope has its own token');
    assert.equal((await credential.getToken([graph]))?.token, 'token-1', 'a scope list names the same scope');
    assert.equal(inner.calls.length, 2);
  });

  it('renews five minutes before the token expires, as MSAL does', async function () {
    await credential.getToken(graph);
    clock += 54 * 60_000 + 59_000;
    assert.equal((await credential.getToken(graph))?.token, 'token-1', 'more than five minutes left');
    clock += 1_000;
    assert.equal((await credential.getToken(graph))?.token, 'token-2', 'five minutes left: renewed');
    assert.equal(inner.calls.length, 2);
  });

  it("renews at the token's refreshAfterTimestamp when it has one (managed identity tokens)", async function () {
    inner.refreshAfterMs = 10 * 60_000;
    await credential.getToken(graph);
    clock += 10 * 60_000;
    assert.equal((await credential.getToken(graph))?.token, 'token-2');
  });

  it('lets concurrent callers share one request', async function () {
    inner.hold = true;
    const asked = [credential.getToken(graph), credential.getToken(graph), credential.getToken(graph)];
    await new Promise((resolve) => setImmediate(resolve));
    inner.pending?.();
    const tokens = await Promise.all(asked);
    assert.deepEqual(tokens.map((t) => t?.token), ['token-1', 'token-1', 'token-1']);
    assert.equal(inner.calls.length, 1);
  });

  it("keeps no failure: the inner credential's error reaches the caller, and the next call asks again", async function () {
    inner.fail = true;
    await assert.rejects(credential.getToken(graph), /AADSTS7000215/);
    inner.fail = false;
    assert.equal((await credential.getToken(graph))?.token, 'token-2');
    assert.equal(inner.calls.length, 2);
  });

  it('passes a request with claims (a Continuous Access Evaluation challenge) or another tenant straight through', async function () {
    await credential.getToken(graph);
    assert.equal((await credential.getToken(graph, { claims: '{"access_token":{"nbf":{"essential":true}}}' }))?.token, 'token-2');
    assert.equal((await credential.getToken(graph, { tenantId: 'another' }))?.token, 'token-3');
    assert.equal((await credential.getToken(graph))?.token, 'token-1', 'the kept token is unchanged');
  });
});

describe("CredentialAuthProvider (the Graph client's tokens)", function () {
  it("asks its credential for Graph's scope and hands the token to the Graph client", async function () {
    const inner = new CountingCredential(() => Date.now());
    const provider = new CredentialAuthProvider(inner);
    assert.equal(await provider.getAccessToken(), 'token-1');
    assert.deepEqual(inner.calls, [{ scopes: GRAPH_SCOPE }]);
  });

  it("lets the credential's error through, and says so when the credential has no token", async function () {
    const inner = new CountingCredential(() => Date.now());
    inner.fail = true;
    await assert.rejects(new CredentialAuthProvider(inner).getAccessToken(), /AADSTS7000215/);
    const empty: TokenCredential = { getToken: () => Promise.resolve(null) };
    await assert.rejects(new CredentialAuthProvider(empty).getAccessToken(), /no access token for Microsoft Graph.*nothing was sent/);
  });
});
