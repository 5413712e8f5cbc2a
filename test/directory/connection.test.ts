import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import type { Client } from 'ldapts';
import { dn, type DirectoryLogger } from '../../src/directory';
import type { DomainController } from '../../src/sandbox/samba';
import { createTestOu, getSharedDc, openLdapClient, type TestOu } from '../harness/samba';
import { breakableTls, closedPort, directoryError, newClient, OP, readBack, silentServer, TcpProxy, uniqueName } from './fixture';

function capturingLogger(): DirectoryLogger & { lines: string[] } {
  const lines: string[] = [];
  const log = (level: string) => (msg: string, fields?: Record<string, unknown>) => {
    lines.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`);
  };
  return { lines, debug: log('debug'), info: log('info'), warn: log('warn') };
}

describe('directory: connections, reconnects, pool and timing against Samba AD', function () {
  let dc: DomainController;
  let ou: TestOu;
  let admin: Client;

  before(async function () {
    this.timeout(15 * 60_000);
    dc = await getSharedDc();
    ou = await createTestOu(dc, 'directory-connection');
    admin = await openLdapClient(dc);
  });

  after(async function () {
    await admin?.unbind();
    await ou?.cleanup();
  });

  it('reports a DC that refuses connections as unavailable (transient) after one more try', async function () {
    const port = await closedPort(dc.address);
    const log = capturingLogger();
    const client = newClient(dc, { url: `ldaps://${dc.address}:${port}`, logger: log });
    try {
      const t0 = Date.now();
      const err = await directoryError(client.findByIdentity('Administrator'), 'unavailable');
      assert.ok(Date.now() - t0 >= 250, 'no second attempt');
      assert.equal(err.transient, true);
      assert.equal(err.outcome, 'unchanged');
      assert.equal(err.code, 81);
      assert.equal(err.message, `Mailroom could not reach Active Directory at ldaps://${dc.address}:${port} (ECONNREFUSED); nothing was changed. Mailroom will try again.`);
      assert.equal(log.lines.filter((l) => l.includes('trying once more')).length, 1);
    } finally {
      await client.close();
    }
  });

  it('reports a DC that accepts TCP but never completes TLS as a connect timeout (transient)', async function () {
    const silent = await silentServer(dc.address);
    const client = newClient(dc, { url: `ldaps://${dc.address}:${silent.port}`, connectTimeoutMs: 300 });
    try {
      const err = await directoryError(client.findByIdentity('Administrator'), 'timeout');
      assert.equal(err.transient, true);
      assert.match(err.message, /did not accept a connection within 0\.3 s; nothing was changed/);
    } finally {
      await client.close();
      await silent.close();
    }
  });

  it('reconnects transparently after the DC dropped idle connections', async function () {
    const proxy = await TcpProxy.start(dc.address, 636);
    const client = newClient(dc, { url: `ldaps://${dc.address}:${proxy.port}` });
    try {
      assert.ok(await client.findByIdentity('Administrator'));
      assert.equal(proxy.accepted, 1);
      proxy.dropAll();
      await new Promise((r) => setTimeout(r, 50)); // let the close reach the client
      assert.ok(await client.findByIdentity('Administrator'));
      assert.equal(proxy.accepted, 2);
      assert.equal(client.stats.opened, 2);
    } finally {
      await client.close();
      await proxy.close();
    }
  });

  it('repeats a read once on a new connection when the connection breaks mid-way', async function () {
    const net = breakableTls();
    const client = newClient(dc, { createSecureConnection: net.connect });
    try {
      assert.ok(await client.findByIdentity('Administrator')); // warm: bound connection in the pool
      net.breakAfterNext(OP.search);
      const found = await client.findByIdentity('Administrator');
      assert.equal(found?.samAccountName, 'Administrator');
      assert.deepEqual(net.broken, [OP.search]);
      assert.equal(net.sockets.length, 2);
    } finally {
      await client.close();
    }
  });

  it('repeats an idempotent modify (replace) once when the connection breaks mid-way', async function () {
    const net = breakableTls();
    const client = newClient(dc, { createSecureConnection: net.connect });
    try {
      const contact = await client.createContact({ parentDn: ou.dn, cn: uniqueName('rc') });
      net.breakAfterNext(OP.modify);
      await client.setAttributes(contact.dn, { description: 'after the break' });
      assert.deepEqual(net.broken, [OP.modify]);
      assert.equal(net.written.get(OP.modify), 2);
      assert.equal((await readBack(admin, contact.dn, ['description'])).description, 'after the break');
    } finally {
      await client.close();
    }
  });

  it('does not repeat a create when the connection breaks mid-way: connection-lost, outcome unknown', async function () {
    const net = breakableTls();
    const client = newClient(dc, { createSecureConnection: net.connect });
    try {
      await client.baseDn();
      const cn = uniqueName('lost');
      net.breakAfterNext(OP.add);
      const err = await directoryError(client.createContact({ parentDn: ou.dn, cn, attributes: { displayName: cn } }), 'connection-lost');
      assert.equal(err.transient, true);
      assert.equal(err.outcome, 'unknown');
      assert.match(err.message, new RegExp(`it is not known whether the contact '${cn}' was created, so look it up in AD before trying again`));
      assert.equal(net.written.get(OP.add), 1, 'the add was sent again');
      // Looking first (what the workflow does) works on a fresh connection and finds at most one object.
      const found = await client.whoHas({ alias: cn });
      assert.ok(found.length <= 1);
    } finally {
      await client.close();
    }
  });

  it('times out an operation the DC does not answer (transient, outcome unknown for a write) and recovers', async function () {
    const proxy = await TcpProxy.start(dc.address, 636);
    const client = newClient(dc, { url: `ldaps://${dc.address}:${proxy.port}`, timeoutMs: 500 });
    try {
      const contact = await client.createContact({ parentDn: ou.dn, cn: uniqueName('to') });
      proxy.freeze();
      const err = await directoryError(client.setAttributes(contact.dn, { description: 'frozen' }), 'timeout');
      assert.equal(err.transient, true);
      assert.equal(err.outcome, 'unknown');
      assert.match(err.message, /did not answer within 0\.5 s when asked to change .*it is not known whether the change .* was made/);
      proxy.thaw();
      await client.setAttributes(contact.dn, { description: 'thawed' });
      assert.equal((await readBack(admin, contact.dn, ['description'])).description, 'thawed');
    } finally {
      await client.close();
      await proxy.close();
    }
  });

  it('serves many concurrent callers over at most maxConnections connections, without interleaving sequences', async function () {
    const net = breakableTls();
    const client = newClient(dc, { createSecureConnection: net.connect, maxConnections: 2 });
    try {
      const names = Array.from({ length: 15 }, () => uniqueName('cc'));
      const results = await Promise.all([
        ...names.map((n) => client.createUser({ parentDn: ou.dn, cn: n, samAccountName: n, userPrincipalName: `${n}@corp.example.test`, attributes: { displayName: n }, enabled: true, password: `Conc-urrent-${n}!1` })),
        ...Array.from({ length: 15 }, () => client.findByIdentity('Administrator')),
      ]);
      assert.equal(results.length, 30);
      assert.ok(net.sockets.length <= 2, `${net.sockets.length} connections`);
      for (const n of names) {
        const e = await readBack(admin, dn.child(ou.dn, dn.rdn('CN', n)), ['userAccountControl']);
        assert.equal(e.userAccountControl, '512');
      }
      assert.deepEqual({ busy: client.stats.busy, waiting: client.stats.waiting }, { busy: 0, waiting: 0 });
    } finally {
      await client.close();
    }
  });

  it('close() waits for operations in flight, then refuses new ones (kind closed)', async function () {
    const client = newClient(dc);
    const pending = client.findByIdentity('Administrator');
    await client.close();
    assert.ok(await pending);
    await directoryError(client.findByIdentity('Administrator'), 'closed');
  });

  it('never puts a password in logs, errors, JSON or inspect output', async function () {
    const log = capturingLogger();
    const userPassword = `Never-Logged-${uniqueName('pw')}!9`;
    const wrongServicePassword = `${dc.password}-wrong`;
    const client = newClient(dc, { logger: log });
    const wrong = newClient(dc, { password: wrongServicePassword, logger: log });
    try {
      const n = uniqueName('nl');
      const user = await client.createUser({ parentDn: ou.dn, cn: n, samAccountName: n, userPrincipalName: `${n}@corp.example.test`, attributes: { displayName: n }, enabled: true, password: userPassword });
      await client.setPassword(user.dn, userPassword);
      const weak = await directoryError(client.setPassword(user.dn, 'weak'), 'password-policy');
      const bad = await directoryError(wrong.findByIdentity('Administrator'), 'invalid-credentials');
      const generated = await client.generatePassword({ samAccountName: n });
      const outputs = [
        ...log.lines,
        inspect(client, { depth: 10 }),
        JSON.stringify(client),
        inspect(wrong, { depth: 10 }),
        inspect(bad, { depth: 10 }),
        JSON.stringify(bad.toLog()),
        inspect(weak, { depth: 10 }),
        inspect(generated),
        JSON.stringify({ generated }),
        `${String(generated)}`,
      ].join('\n');
      assert.ok(log.lines.length > 0);
      for (const secret of [dc.password, wrongServicePassword, userPassword, generated.reveal()]) {
        assert.ok(!outputs.includes(secret), 'a password was printed');
      }
      assert.match(outputs, /\[redacted\]/);
    } finally {
      await client.close();
      await wrong.close();
    }
  });

  describe('measured', function () {
    this.timeout(120_000);

    it('100 user creates with password and enable over one connection', async function () {
      const client = newClient(dc, { maxConnections: 1 });
      try {
        await client.baseDn();
        const parent = await client.ensureOu(dn.child(ou.dn, dn.rdn('OU', 'bulk-1')));
        const t0 = Date.now();
        for (let i = 0; i < 100; i += 1) {
          const n = uniqueName('b1');
          await client.createUser({ parentDn: parent.dn, cn: n, samAccountName: n, userPrincipalName: `${n}@corp.example.test`, attributes: { displayName: n, mail: `${n}@example.test` }, enabled: true, password: `Bulk-Pass-${i}-x!` });
        }
        const ms = Date.now() - t0;
        this.test!.title += ` (${ms} ms, ${(ms / 100).toFixed(1)} ms each)`;
        console.log(`      100 creates (add + unicodePwd + enable + read-back), 1 connection: ${ms} ms`);
        assert.equal(client.stats.opened, 1);
      } finally {
        await client.close();
      }
    });

    it('100 user creates with password, 10 callers at a time over 4 connections; 100 lookups', async function () {
      const client = newClient(dc, { maxConnections: 4 });
      try {
        const parent = await client.ensureOu(dn.child(ou.dn, dn.rdn('OU', 'bulk-4')));
        const names = Array.from({ length: 100 }, () => uniqueName('b4'));
        const t0 = Date.now();
        for (let i = 0; i < names.length; i += 10) {
          await Promise.all(
            names.slice(i, i + 10).map((n) =>
              client.createUser({ parentDn: parent.dn, cn: n, samAccountName: n, userPrincipalName: `${n}@corp.example.test`, attributes: { displayName: n }, enabled: true, password: `Bulk-Pass-${n}!` }),
            ),
          );
        }
        const createMs = Date.now() - t0;
        const t1 = Date.now();
        for (const n of names) assert.ok(await client.findByIdentity(`${n}@corp.example.test`));
        const findMs = Date.now() - t1;
        this.test!.title += ` (creates ${createMs} ms, lookups ${findMs} ms)`;
        console.log(`      100 creates, 4 connections: ${createMs} ms; 100 findByIdentity (UPN): ${findMs} ms`);
        assert.ok(client.stats.opened <= 4);
      } finally {
        await client.close();
      }
    });
  });
});
