import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { Attribute, Change, type Client } from 'ldapts';
import { DirectoryClient, DirectoryError, dn, guidToBuffer, type DirectoryErrorKind } from '../../src/directory';
import { createLogger, type Logger } from '../../src/log';
import { createdByStamp, type StepAction, type StepInputs } from '../../src/plans';
import type { DomainController } from '../../src/sandbox/samba';
import { adExecutors, INITIAL_PASSWORD_ENTRY, type AdDirectoryPort } from '../../src/workflow/executors';
import { withPrimary } from '../../src/workflow/executors/ad-change';
import { StepError, type SecretVault, type StepContext, type StepOutcome, type StepResult } from '../../src/workflow/executors/types';
import { EncryptedSecretVault, MemorySecretStore, type SecretStore } from '../../src/workflow/secret-vault';
import { closedPort, list, newClient, readBack, TcpProxy, uniqueName } from '../directory/fixture';
import { createTestOu, getSharedDc, openLdapClient, type TestOu } from '../harness/samba';

const DOMAIN = 'corp.example.test';
/** Key names the audit log refuses (src/store/audit-log.ts): results must not use them. */
const SECRET_KEY = /password|passwd|passphrase|secret|token|pwd$|apikey|privatekey|authorization|connectionstring/;

/** Every DirectoryClient method the executors use, delegated (so a test can replace one). */
function portOf(client: DirectoryClient, overrides: Partial<AdDirectoryPort> = {}): AdDirectoryPort {
  const base: AdDirectoryPort = {
    get: (d) => client.get(d),
    whoHas: (q) => client.whoHas(q),
    createUser: (u) => client.createUser(u),
    createContact: (c) => client.createContact(c),
    createGroup: (g) => client.createGroup(g),
    setAttributes: (d, c) => client.setAttributes(d, c),
    addValues: (d, a, v) => client.addValues(d, a, v),
    removeValues: (d, a, v) => client.removeValues(d, a, v),
    groupMembers: (g) => client.groupMembers(g),
    addGroupMembers: (g, m) => client.addGroupMembers(g, m),
    removeGroupMembers: (g, m) => client.removeGroupMembers(g, m),
    disableAccount: (d) => client.disableAccount(d),
    delete: (d) => client.delete(d),
    enableAccount: (d) => client.enableAccount(d),
    setPassword: (d, p, o) => client.setPassword(d, p, o),
    generatePassword: (a) => client.generatePassword(a),
  };
  return { ...base, ...overrides };
}

/** A SecretStore that records the calls it receives. */
function recordingStore(): SecretStore & { readonly calls: { op: 'put' | 'take'; requestId: number; name: string; ciphertext?: string }[] } {
  const inner = new MemorySecretStore();
  const calls: { op: 'put' | 'take'; requestId: number; name: string; ciphertext?: string }[] = [];
  return {
    calls,
    put: (requestId, name, ciphertext) => {
      calls.push({ op: 'put', requestId, name, ciphertext });
      return inner.put(requestId, name, ciphertext);
    },
    takeWith: (requestId, name, open) => {
      calls.push({ op: 'take', requestId, name });
      return inner.takeWith(requestId, name, open);
    },
    purge: (date) => inner.purge(date),
  };
}

describe('workflow: AD step executors against Samba AD', function () {
  let dc: DomainController;
  let ou: TestOu;
  let admin: Client;
  let client: DirectoryClient;
  const clients: DirectoryClient[] = [];
  const lines: string[] = [];
  let log: Logger;
  let store: ReturnType<typeof recordingStore>;
  let vault: SecretVault;
  /** Every password the directory generated during this suite (read through the port, for the leak checks). */
  const generated: string[] = [];
  const outcomes: StepOutcome[] = [];
  const errors: unknown[] = [];
  let nextRequest = 4200;

  function context(): StepContext {
    const id = (nextRequest += 1);
    return { reference: `R-${id}`, requestId: id, stepId: 'ad.step', attempt: 1, now: new Date(), log, results: {} };
  }

  function again(ctx: StepContext): StepContext {
    return { ...ctx, attempt: ctx.attempt + 1, now: new Date() };
  }

  function recordingPort(c: DirectoryClient, overrides: Partial<AdDirectoryPort> = {}): AdDirectoryPort {
    return portOf(c, {
      generatePassword: async (a) => {
        const s = await c.generatePassword(a);
        generated.push(s.reveal());
        return s;
      },
      ...overrides,
    });
  }

  function runner(port: AdDirectoryPort, v: SecretVault = vault) {
    const executors = adExecutors({ directory: port, vault: v });
    return async <A extends StepAction>(action: A, input: StepInputs[A], ctx: StepContext): Promise<StepOutcome> => {
      const e = executors.find((x) => x.action === action);
      assert.ok(e, `no executor for ${action}`);
      try {
        const out = await e.run(input, ctx);
        outcomes.push(out);
        return out;
      } catch (err) {
        errors.push(err);
        throw err;
      }
    };
  }

  let run: ReturnType<typeof runner>;

  async function stepError(promise: Promise<unknown>, transient: boolean): Promise<StepError> {
    try {
      await promise;
    } catch (err) {
      assert.ok(err instanceof StepError, `expected a StepError, got ${inspect(err)}`);
      assert.equal(err.transient, transient, `transient ${String(err.transient)}: ${err.message}`);
      return err;
    }
    assert.fail('expected the step to fail');
  }

  function done(out: StepOutcome, changed: boolean): StepResult {
    assert.equal(out.kind, 'done');
    assert.equal(out.changed, changed, `changed should be ${String(changed)}: ${JSON.stringify(out.result)}`);
    assert.ok(out.result);
    return out.result;
  }

  async function attributes(dnString: string, names: string[]): Promise<Record<string, string[]>> {
    const e = await readBack(admin, dnString, names);
    return Object.fromEntries(names.map((n) => [n, list(e, n)]));
  }

  async function count(filter: string): Promise<number> {
    const { searchEntries } = await admin.search(ou.dn, { scope: 'sub', filter, attributes: ['cn'] });
    return searchEntries.length;
  }

  async function exists(dnString: string): Promise<boolean> {
    try {
      await admin.search(dnString, { scope: 'base', attributes: ['cn'] });
      return true;
    } catch {
      return false;
    }
  }

  /** A user added directly over LDAP (not through Mailroom). */
  async function plainUser(cn: string, extra: Record<string, string | string[]> = {}): Promise<string> {
    const sam = uniqueName('u');
    const userDn = dn.child(ou.dn, dn.rdn('CN', cn));
    await admin.add(userDn, { objectClass: ['top', 'person', 'organizationalPerson', 'user'], cn, sAMAccountName: sam, userAccountControl: '512', ...extra });
    return userDn;
  }

  function userInput(sam: string, over: Partial<StepInputs['ad.createUser']> = {}): StepInputs['ad.createUser'] {
    const cn = `Ada Lovelace ${sam}`;
    const mail = `ada.${sam}@contoso.test`;
    return {
      dn: dn.child(ou.dn, dn.rdn('CN', cn)),
      parentDn: ou.dn,
      cn,
      samAccountName: sam,
      userPrincipalName: `${sam}@${DOMAIN}`,
      attributes: { givenName: 'Ada', sn: 'Lovelace', displayName: cn, department: 'Engines', title: 'Programmer', mail, mailNickname: sam, proxyAddresses: [`SMTP:${mail}`] },
      accountEnabled: true,
      password: 'generate',
      mustChangePassword: false,
      ...over,
    };
  }

  function putsFor(requestId: number): number {
    return store.calls.filter((c) => c.op === 'put' && c.requestId === requestId).length;
  }

  before(async function () {
    this.timeout(15 * 60_000); // a fresh machine installs Samba and provisions the template first
    dc = await getSharedDc();
    ou = await createTestOu(dc, 'ad-executors');
    admin = await openLdapClient(dc);
    log = createLogger('debug', {}, (line) => lines.push(line));
    client = newClient(dc, { logger: log });
    clients.push(client);
    store = recordingStore();
    vault = new EncryptedSecretVault(randomBytes(32), store);
    run = runner(recordingPort(client));
  });

  after(async function () {
    for (const c of clients) await c.close();
    await admin?.unbind();
    await ou?.cleanup();
  });

  it('offers an executor for every ad.* action, and DirectoryClient is the port', function () {
    const executors = adExecutors({ directory: client, vault });
    assert.deepEqual(executors.map((e) => e.action).sort(), [
      'ad.addGroupMember', 'ad.addPublicDelegate', 'ad.createContact', 'ad.createGroup', 'ad.createUser', 'ad.deleteObject', 'ad.disableAccount', 'ad.enableAccount', 'ad.removeGroupMember', 'ad.removePublicDelegate', 'ad.setAttributes', 'ad.setPrimaryAddress',
    ]);
  });

  describe('ad.createUser', function () {
    const sam = uniqueName('ada');
    let ctx: StepContext;
    let first: StepResult;

    it('creates an enabled user with exactly the planned attributes, stamped with the request, and a working first password kept in the vault only', async function () {
      ctx = context();
      const input = userInput(sam);
      first = done(await run('ad.createUser', input, ctx), true);
      assert.ok(dn.equal(first.dn as string, input.dn));
      assert.match(first.objectGuid as string, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      assert.equal(first.vaultEntry, INITIAL_PASSWORD_ENTRY);
      const mail = `ada.${sam}@contoso.test`;
      const expected = {
        cn: [input.cn],
        sAMAccountName: [sam],
        userPrincipalName: [`${sam}@${DOMAIN}`],
        givenName: ['Ada'],
        sn: ['Lovelace'],
        displayName: [input.cn],
        department: ['Engines'],
        title: ['Programmer'],
        mail: [mail],
        mailNickname: [sam],
        proxyAddresses: [`SMTP:${mail}`],
        description: [createdByStamp(ctx.reference)],
        userAccountControl: ['512'],
      };
      assert.deepEqual(await attributes(input.dn, Object.keys(expected)), expected);
      const e = await readBack(admin, input.dn, ['objectGUID', 'pwdLastSet']);
      assert.deepEqual(e.objectGUID, guidToBuffer(first.objectGuid as string));
      assert.notEqual(e.pwdLastSet, '0');
      // The result names what was written, for the audit log.
      assert.deepEqual(first.attributes, {
        givenName: 'Ada', sn: 'Lovelace', displayName: input.cn, department: 'Engines', title: 'Programmer', mail, mailNickname: sam, proxyAddresses: [`SMTP:${mail}`],
        cn: input.cn, sAMAccountName: sam, userPrincipalName: `${sam}@${DOMAIN}`, description: createdByStamp(ctx.reference), userAccountControl: 512,
      });
      // The store saw one ciphertext for this request; the password comes out of the vault once and signs in.
      assert.equal(putsFor(ctx.requestId), 1);
      const password = await vault.takeOnce(ctx.requestId, INITIAL_PASSWORD_ENTRY);
      assert.ok(password);
      assert.equal(password, generated.at(-1));
      assert.ok(!store.calls.some((c) => c.ciphertext?.includes(password)));
      const asUser = await openLdapClient(dc, { bindDn: `${sam}@${DOMAIN}`, password });
      await asUser.unbind();
      assert.equal(await vault.takeOnce(ctx.requestId, INITIAL_PASSWORD_ENTRY), undefined);
    });

    it('run again after it acted (a crash before the outcome was recorded): done, changed:false, the same object, nothing written', async function () {
      const input = userInput(sam);
      const before = await readBack(admin, input.dn, ['uSNChanged']);
      const generatedBefore = generated.length;
      const second = done(await run('ad.createUser', input, again(ctx)), false);
      assert.equal(second.objectGuid, first.objectGuid);
      assert.ok(dn.equal(second.dn as string, first.dn as string));
      assert.equal(second.vaultEntry, INITIAL_PASSWORD_ENTRY);
      assert.equal(await count(`(sAMAccountName=${sam})`), 1);
      assert.equal((await readBack(admin, input.dn, ['uSNChanged'])).uSNChanged, before.uSNChanged, 'the object was written to');
      assert.equal(generated.length, generatedBefore, 'a new password was generated');
      assert.equal(putsFor(ctx.requestId), 1, 'a new password was stored');
    });

    it('looks first with one search (DN, names and address at once) and reads nothing more when nobody holds them; an own user moved since is found by its names', async function () {
      const s = uniqueName('look');
      const c = context();
      const asked: string[] = [];
      const counting = runner(recordingPort(client, { get: (d) => (asked.push(`get ${d}`), client.get(d)), whoHas: (q) => (asked.push(`whoHas ${Object.keys(q).sort().join(',')}`), client.whoHas(q)) }));
      const input = userInput(s, { attributes: { displayName: `Look ${s}`, mail: `${s}@contoso.test`, mailNickname: s } });
      const created = done(await counting('ad.createUser', input, c), true);
      assert.deepEqual(asked, ['whoHas address,alias,dn,samAccountName,userPrincipalName'], 'a new user: one look-up, no read');
      // someone renames it in AD before the step is run again (a crash lost its outcome): found by its names, not made twice
      const movedDn = `CN=Moved ${s},${ou.dn}`;
      await admin.modifyDN(input.dn, `CN=Moved ${s}`);
      asked.length = 0;
      const again2 = done(await counting('ad.createUser', input, again(c)), false);
      assert.ok(dn.equal(again2.dn as string, movedDn), `found at ${String(again2.dn)}`);
      assert.equal(again2.objectGuid, created.objectGuid);
      assert.equal(again2.plannedDn, input.dn);
      assert.equal(await count(`(sAMAccountName=${s})`), 1);
      assert.deepEqual(asked, ['whoHas address,alias,dn,samAccountName,userPrincipalName', `get ${movedDn}`]);
    });

    it('a first password the person must change: pwdLastSet 0; AD answers "must change" (773) to it and "wrong password" (52e) to another', async function () {
      const s = uniqueName('must');
      const c = context();
      done(await run('ad.createUser', userInput(s, { mustChangePassword: true }), c), true);
      assert.equal((await readBack(admin, userInput(s).dn, ['pwdLastSet'])).pwdLastSet, '0');
      const password = await vault.takeOnce(c.requestId, INITIAL_PASSWORD_ENTRY);
      assert.ok(password);
      await assert.rejects(openLdapClient(dc, { bindDn: `${s}@${DOMAIN}`, password }), /data 773/);
      await assert.rejects(openLdapClient(dc, { bindDn: `${s}@${DOMAIN}`, password: `${password}x` }), /data 52e/);
    });

    it('a disabled account (shared mailbox): userAccountControl 514, a random password set in AD but never kept', async function () {
      const s = uniqueName('shared');
      const c = context();
      const input = userInput(s, { accountEnabled: false, attributes: { displayName: `Team ${s}`, mail: `${s}@contoso.test`, mailNickname: s } });
      const result = done(await run('ad.createUser', input, c), true);
      assert.equal(result.vaultEntry, undefined);
      assert.equal(result.accountEnabled, false);
      const e = await attributes(input.dn, ['userAccountControl', 'displayName', 'mail', 'mailNickname', 'description', 'givenName']);
      assert.deepEqual(e, { userAccountControl: ['514'], displayName: [`Team ${s}`], mail: [`${s}@contoso.test`], mailNickname: [s], description: [createdByStamp(c.reference)], givenName: [] });
      assert.notEqual((await readBack(admin, input.dn, ['pwdLastSet'])).pwdLastSet, '0', 'no password was set');
      assert.equal(putsFor(c.requestId), 0, 'the password of a disabled account was stored');
      assert.equal(await vault.takeOnce(c.requestId, INITIAL_PASSWORD_ENTRY), undefined);
      done(await run('ad.createUser', input, again(c)), false);
    });

    it('completes a user whose create was cut off after the LDAP add (answer lost): transient first, then one account with a working password', async function () {
      this.timeout(30_000);
      const proxy = await TcpProxy.start(dc.address, 636);
      const cut = newClient(dc, { url: `ldaps://${dc.address}:${proxy.port}`, timeoutMs: 2_000, logger: log });
      clients.push(cut);
      try {
        let freezeNextCreate = true;
        const port = recordingPort(cut, {
          createUser: async (u) => {
            // The add reaches the DC, its answer never comes back: a crash or network loss mid-create.
            if (freezeNextCreate) proxy.freeze();
            try {
              return await cut.createUser(u);
            } finally {
              freezeNextCreate = false;
              proxy.thaw();
            }
          },
        });
        const runCut = runner(port);
        const s = uniqueName('cut');
        const c = context();
        const input = userInput(s);
        const err = await stepError(runCut('ad.createUser', input, c), true);
        assert.equal(err.detail?.outcome, 'unknown');
        assert.match(err.message, /it is not known whether the user .* was created, so look it up in AD before trying again/);
        // AD has the account, still disabled and without a password; the vault keeps the first password (it might be set).
        assert.deepEqual(await attributes(input.dn, ['userAccountControl', 'description']), { userAccountControl: ['514'], description: [createdByStamp(c.reference)] });
        assert.equal(putsFor(c.requestId), 1);

        const result = done(await runCut('ad.createUser', input, again(c)), true);
        assert.equal(result.completed, 'new first password generated and set, account enabled');
        assert.equal(result.vaultEntry, INITIAL_PASSWORD_ENTRY);
        assert.equal(await count(`(sAMAccountName=${s})`), 1);
        assert.deepEqual(await attributes(input.dn, ['userAccountControl']), { userAccountControl: ['512'] });
        assert.equal(putsFor(c.requestId), 2, 'the new password replaced the unused one');
        const password = await vault.takeOnce(c.requestId, INITIAL_PASSWORD_ENTRY);
        assert.ok(password);
        assert.equal(password, generated.at(-1));
        const asUser = await openLdapClient(dc, { bindDn: `${s}@${DOMAIN}`, password });
        await asUser.unbind();
        done(await runCut('ad.createUser', input, again(again(c))), false);
      } finally {
        await proxy.close();
      }
    });

    it('refuses a logon name held by another object, names that object, and creates nothing (no password generated or kept)', async function () {
      const s = uniqueName('taken');
      const holderDn = await plainUser(`Someone Else ${s}`, { sAMAccountName: s, displayName: `Someone Else ${s}` });
      const c = context();
      const input = userInput(s);
      const generatedBefore = generated.length;
      const err = await stepError(run('ad.createUser', input, c), false);
      assert.equal(
        err.message,
        `Mailroom did not create the user '${input.cn}': the logon name (sAMAccountName) '${s}' is already used by the user 'Someone Else ${s}' (${holderDn}, logon name '${s}'); ` +
          'nothing was created. Free the name in AD (or cancel this request and ask again with another) and press Retry.',
      );
      assert.deepEqual(err.detail, { conflict: 'name', holders: [holderDn] });
      assert.equal(await exists(input.dn), false);
      assert.equal(generated.length, generatedBefore);
      assert.equal(putsFor(c.requestId), 0);
    });

    it('refuses the DN when an object Mailroom did not create for this request holds it (same names, no stamp), and leaves it alone', async function () {
      const s = uniqueName('manual');
      const input = userInput(s);
      await admin.add(input.dn, { objectClass: ['top', 'person', 'organizationalPerson', 'user'], cn: input.cn, sAMAccountName: s, userPrincipalName: `${s}@${DOMAIN}` });
      const before = await readBack(admin, input.dn, ['uSNChanged']);
      const c = context();
      const err = await stepError(run('ad.createUser', input, c), false);
      assert.equal(
        err.message,
        `Active Directory already has an object named '${input.cn}' in '${ou.dn}': the user '${input.cn}' (${input.dn}, logon name '${s}'), which Mailroom did not create for ${c.reference}; ` +
          'nothing was created. Rename or remove that object in AD and press Retry, or cancel this request.',
      );
      assert.equal((await readBack(admin, input.dn, ['uSNChanged'])).uSNChanged, before.uSNChanged);
      // The stamp of another request does not make it this step's object either.
      await admin.modify(input.dn, new Change({ operation: 'replace', modification: new Attribute({ type: 'description', values: [createdByStamp('R-1')] }) }));
      assert.match((await stepError(run('ad.createUser', input, again(c)), false)).message, /which Mailroom did not create for R-\d+; nothing was created/);
      assert.equal(await count(`(sAMAccountName=${s})`), 1);
    });

    it('refuses an address another object already uses (a contact with the same mail)', async function () {
      const s = uniqueName('addr');
      const input = userInput(s);
      const contactDn = dn.child(ou.dn, dn.rdn('CN', `Contact ${s}`));
      await admin.add(contactDn, { objectClass: ['top', 'person', 'organizationalPerson', 'contact'], cn: `Contact ${s}`, mail: `ADA.${s}@contoso.test` });
      const err = await stepError(run('ad.createUser', input, context()), false);
      assert.match(err.message, new RegExp(`the address 'ADA\\.${s}@contoso\\.test' is already used by the contact 'Contact ${s}' \\(${escape(contactDn)}\\); nothing was created`));
      assert.equal(await exists(input.dn), false);
    });

    it('refuses a plan that puts attributes the step owns (a password, userAccountControl) among the attributes', async function () {
      const s = uniqueName('bad');
      const err = await stepError(run('ad.createUser', userInput(s, { attributes: { displayName: s, unicodePwd: 'x' } }), context()), false);
      assert.match(err.message, /sets 'unicodePwd' among the attributes of a new object, but the step sets it itself\. This is a fault in Mailroom's plan; nothing was changed in AD\./);
      await stepError(run('ad.createUser', userInput(s, { attributes: { userAccountControl: '512' } }), context()), false);
      assert.equal(await count(`(sAMAccountName=${s})`), 0);
    });
  });

  describe('ad.createContact', function () {
    it('creates a mail contact with exactly the planned attributes; again: changed:false; another contact with its address: refused', async function () {
      const s = uniqueName('ext');
      const cn = `Grace Hopper ${s}`;
      const input: StepInputs['ad.createContact'] = {
        dn: dn.child(ou.dn, dn.rdn('CN', cn)),
        parentDn: ou.dn,
        cn,
        attributes: { displayName: cn, givenName: 'Grace', sn: 'Hopper', company: 'Navy', mail: `grace.${s}@partner.test`, mailNickname: `grace${s}` },
      };
      const c = context();
      const r = done(await run('ad.createContact', input, c), true);
      const expected = {
        objectClass: ['contact', 'organizationalPerson', 'person', 'top'],
        cn: [cn], displayName: [cn], givenName: ['Grace'], sn: ['Hopper'], company: ['Navy'], mail: [`grace.${s}@partner.test`], mailNickname: [`grace${s}`],
        description: [createdByStamp(c.reference)],
      };
      assert.deepEqual(await attributes(input.dn, Object.keys(expected)), expected);
      assert.deepEqual((await readBack(admin, input.dn, ['objectGUID'])).objectGUID, guidToBuffer(r.objectGuid as string));
      const second = done(await run('ad.createContact', input, again(c)), false);
      assert.equal(second.objectGuid, r.objectGuid);
      assert.equal(await count(`(mail=grace.${s}@partner.test)`), 1);

      const twin: StepInputs['ad.createContact'] = { ...input, dn: dn.child(ou.dn, dn.rdn('CN', `${cn} 2`)), cn: `${cn} 2`, attributes: { ...input.attributes, mailNickname: `other${s}` } };
      const err = await stepError(run('ad.createContact', twin, context()), false);
      assert.match(err.message, new RegExp(`^Mailroom did not create the contact '${cn}': the address 'grace\\.${s}@partner\\.test' is already used by the contact '${cn}'`));
      assert.equal(await exists(twin.dn), false);
    });
  });

  describe('ad.createGroup', function () {
    it('creates a universal security group with members and exactly the planned attributes; again: changed:false; a member removed since is put back', async function () {
      const s = uniqueName('grp');
      const m1 = await plainUser(`Member One ${s}`);
      const m2 = await plainUser(`Member Two ${s}`);
      const cn = `Sales ${s}`;
      const input: StepInputs['ad.createGroup'] = {
        dn: dn.child(ou.dn, dn.rdn('CN', cn)),
        parentDn: ou.dn,
        cn,
        samAccountName: `sales${s}`,
        groupType: (0x8 | 0x80000000) | 0,
        scope: 'universal',
        securityEnabled: true,
        attributes: { displayName: cn, mail: `sales.${s}@contoso.test`, mailNickname: `sales${s}`, proxyAddresses: [`SMTP:sales.${s}@contoso.test`] },
        memberDns: [m1, m2],
      };
      const c = context();
      const r = done(await run('ad.createGroup', input, c), true);
      const expected = {
        sAMAccountName: [`sales${s}`], groupType: ['-2147483640'], displayName: [cn], mail: [`sales.${s}@contoso.test`], mailNickname: [`sales${s}`],
        proxyAddresses: [`SMTP:sales.${s}@contoso.test`], description: [createdByStamp(c.reference)], member: [m1, m2].sort(),
      };
      assert.deepEqual(await attributes(input.dn, Object.keys(expected)), expected);
      assert.equal(r.objectClass, 'group');
      done(await run('ad.createGroup', input, again(c)), false);

      await admin.modify(input.dn, new Change({ operation: 'delete', modification: new Attribute({ type: 'member', values: [m2] }) }));
      const healed = done(await run('ad.createGroup', input, again(again(c))), true);
      assert.deepEqual(healed.membersAdded, [m2]);
      assert.deepEqual((await attributes(input.dn, ['member'])).member, [m1, m2].sort());
      done(await run('ad.createGroup', input, again(again(again(c)))), false);
    });

    it('refuses a sAMAccountName another group holds, and a plan whose groupType does not match its scope', async function () {
      const s = uniqueName('dup');
      const holder = dn.child(ou.dn, dn.rdn('CN', `Holder ${s}`));
      await admin.add(holder, { objectClass: ['top', 'group'], cn: `Holder ${s}`, sAMAccountName: `g${s}` });
      const input: StepInputs['ad.createGroup'] = {
        dn: dn.child(ou.dn, dn.rdn('CN', `New ${s}`)), parentDn: ou.dn, cn: `New ${s}`, samAccountName: `g${s}`, groupType: 2, scope: 'global', securityEnabled: false, attributes: {}, memberDns: [],
      };
      const err = await stepError(run('ad.createGroup', input, context()), false);
      assert.match(err.message, new RegExp(`the logon name \\(sAMAccountName\\) 'g${s}' is already used by the group 'Holder ${s}'`));
      assert.equal(await exists(input.dn), false);
      const wrong = await stepError(run('ad.createGroup', { ...input, samAccountName: `h${s}`, groupType: 8 }, context()), false);
      assert.match(wrong.message, /groupType 8 does not match a global distribution group \(2\)/);
    });
  });

  describe('ad.setAttributes', function () {
    it('replaces, adds and removes values; replaceIfPresent leaves absent attributes alone; again: changed:false', async function () {
      const s = uniqueName('attr');
      const target = await plainUser(`Attr ${s}`, { title: 'Old', mail: `old.${s}@contoso.test`, proxyAddresses: [`SMTP:old.${s}@contoso.test`, `smtp:${s}@tenant.test`, `X500:/o=Org/cn=${s}`] });
      const input: StepInputs['ad.setAttributes'] = {
        dn: target,
        replace: { title: 'Engineer', targetAddress: `SMTP:${s}@elsewhere.test`, msExchHideFromAddressLists: 'TRUE' },
        add: { proxyAddresses: [`smtp:extra.${s}@contoso.test`] },
        remove: { proxyAddresses: [`SMTP:${s.toUpperCase()}@TENANT.TEST`] },
        replaceIfPresent: { mail: `new.${s}@contoso.test`, department: 'Never' },
      };
      const c = context();
      const r = done(await run('ad.setAttributes', input, c), true);
      assert.deepEqual(r.changes, {
        title: { before: ['Old'], after: ['Engineer'] },
        targetAddress: { before: [], after: [`SMTP:${s}@elsewhere.test`] },
        msExchHideFromAddressLists: { before: [], after: ['TRUE'] },
        mail: { before: [`old.${s}@contoso.test`], after: [`new.${s}@contoso.test`] },
      });
      assert.deepEqual(r.added, { proxyAddresses: [`smtp:extra.${s}@contoso.test`] });
      assert.deepEqual(r.removed, { proxyAddresses: [`smtp:${s}@tenant.test`] });
      assert.deepEqual(r.skippedNoValue, ['department']);
      assert.deepEqual(await attributes(target, ['title', 'targetAddress', 'msExchHideFromAddressLists', 'mail', 'department', 'proxyAddresses']), {
        title: ['Engineer'],
        targetAddress: [`SMTP:${s}@elsewhere.test`],
        msExchHideFromAddressLists: ['TRUE'],
        mail: [`new.${s}@contoso.test`],
        department: [],
        proxyAddresses: [`SMTP:old.${s}@contoso.test`, `X500:/o=Org/cn=${s}`, `smtp:extra.${s}@contoso.test`].sort(),
      });
      const before = await readBack(admin, target, ['uSNChanged']);
      const second = done(await run('ad.setAttributes', input, again(c)), false);
      assert.deepEqual(new Set(second.unchanged as string[]), new Set(['title', 'targetAddress', 'msExchHideFromAddressLists', 'mail', 'proxyAddresses']));
      assert.equal((await readBack(admin, target, ['uSNChanged'])).uSNChanged, before.uSNChanged);
    });

    it('writes a change of case (an address is replaced exactly), and refuses a missing object with a message a person understands', async function () {
      const s = uniqueName('case');
      const target = await plainUser(`Case ${s}`, { mail: `ann.${s}@contoso.test` });
      done(await run('ad.setAttributes', { dn: target, replace: { mail: `Ann.${s}@Contoso.test` } }, context()), true);
      assert.deepEqual((await attributes(target, ['mail'])).mail, [`Ann.${s}@Contoso.test`]);
      const gone = dn.child(ou.dn, dn.rdn('CN', `Gone ${s}`));
      const err = await stepError(run('ad.setAttributes', { dn: gone, replace: { mail: 'x@y.test' } }, context()), false);
      assert.equal(err.message, `The object '${gone}' does not exist in Active Directory (it may have been deleted, moved or renamed); nothing was changed.`);
    });
  });

  describe('ad.setPrimaryAddress', function () {
    it('sets mail and makes SMTP:<mail> the only primary, keeping the old one as smtp:; again: changed:false', async function () {
      const s = uniqueName('prim');
      const old = `old.${s}@contoso.test`;
      const target = await plainUser(`Primary ${s}`, { mail: old, proxyAddresses: [`SMTP:${old}`, `smtp:${s}@tenant.test`, `smtp:NEW.${s}@contoso.test`, `X500:/o=Org/cn=${s}`] });
      const input: StepInputs['ad.setPrimaryAddress'] = { dn: target, mail: `new.${s}@contoso.test`, previous: old, rewriteProxyAddresses: true };
      const c = context();
      const r = done(await run('ad.setPrimaryAddress', input, c), true);
      const after = [`SMTP:new.${s}@contoso.test`, `smtp:${old}`, `smtp:${s}@tenant.test`, `X500:/o=Org/cn=${s}`];
      assert.deepEqual(await attributes(target, ['mail', 'proxyAddresses']), { mail: [`new.${s}@contoso.test`], proxyAddresses: [...after].sort() });
      assert.deepEqual(r.mail, { before: old, after: `new.${s}@contoso.test` });
      assert.deepEqual(r.proxyAddresses, { added: [`SMTP:new.${s}@contoso.test`, `smtp:${old}`], removed: [`SMTP:${old}`, `smtp:NEW.${s}@contoso.test`] });
      done(await run('ad.setPrimaryAddress', input, again(c)), false);
    });

    it('without rewriteProxyAddresses changes mail only', async function () {
      const s = uniqueName('mail');
      const old = `old.${s}@contoso.test`;
      const target = await plainUser(`Mail ${s}`, { mail: old, proxyAddresses: [`SMTP:${old}`] });
      const input: StepInputs['ad.setPrimaryAddress'] = { dn: target, mail: `new.${s}@contoso.test`, previous: old, rewriteProxyAddresses: false };
      done(await run('ad.setPrimaryAddress', input, context()), true);
      assert.deepEqual(await attributes(target, ['mail', 'proxyAddresses']), { mail: [`new.${s}@contoso.test`], proxyAddresses: [`SMTP:${old}`] });
      done(await run('ad.setPrimaryAddress', input, context()), false);
    });

    it('withPrimary keeps one entry per address and every non-SMTP value', function () {
      assert.deepEqual(withPrimary([], 'a@x.test', 'b@x.test'), ['SMTP:a@x.test', 'smtp:b@x.test']);
      assert.deepEqual(withPrimary(['SMTP:A@x.test', 'sip:a@x.test'], 'a@x.test', 'a@x.test'), ['SMTP:a@x.test', 'sip:a@x.test']);
      assert.deepEqual(withPrimary(['SMTP:b@x.test', 'smtp:B@X.TEST', 'smtp:c@x.test'], 'a@x.test', 'b@x.test'), ['SMTP:a@x.test', 'smtp:b@x.test', 'smtp:c@x.test']);
    });
  });

  describe('ad.disableAccount', function () {
    it('disables the account; again: changed:false; a missing account is a permanent error', async function () {
      const s = uniqueName('off');
      const target = await plainUser(`Leaver ${s}`);
      const c = context();
      const r = done(await run('ad.disableAccount', { dn: target }, c), true);
      assert.ok(dn.equal(r.dn as string, target));
      assert.deepEqual((await attributes(target, ['userAccountControl'])).userAccountControl, ['514']);
      done(await run('ad.disableAccount', { dn: target }, again(c)), false);
      const gone = dn.child(ou.dn, dn.rdn('CN', `Gone ${s}`));
      const err = await stepError(run('ad.disableAccount', { dn: gone }, context()), false);
      assert.match(err.message, /^The account '.*' does not exist in Active Directory \(it may have been deleted, moved or renamed\); nothing was changed\.$/);
    });
  });

  describe('ad.addGroupMember and ad.removeGroupMember', function () {
    it('adds and removes a member, each repeatable; a missing group or member is a permanent error naming it', async function () {
      const s = uniqueName('mem');
      const user = await plainUser(`Joiner ${s}`);
      const groupDn = dn.child(ou.dn, dn.rdn('CN', `Licence ${s}`));
      await admin.add(groupDn, { objectClass: ['top', 'group'], cn: `Licence ${s}`, sAMAccountName: `lic${s}` });
      const c = context();
      done(await run('ad.addGroupMember', { groupDn, memberDn: user }, c), true);
      assert.deepEqual((await attributes(groupDn, ['member'])).member, [user]);
      done(await run('ad.addGroupMember', { groupDn, memberDn: user }, again(c)), false);
      done(await run('ad.removeGroupMember', { groupDn, memberDn: user }, c), true);
      assert.deepEqual((await attributes(groupDn, ['member'])).member, []);
      done(await run('ad.removeGroupMember', { groupDn, memberDn: user }, again(c)), false);

      const noGroup = dn.child(ou.dn, dn.rdn('CN', `No group ${s}`));
      const e1 = await stepError(run('ad.addGroupMember', { groupDn: noGroup, memberDn: user }, context()), false);
      assert.match(e1.message, /^The group '.*' \(.*\) does not exist in Active Directory .*; nothing was changed\.$/);
      assert.equal(e1.detail?.directoryError, 'no-such-object');
      const noUser = dn.child(ou.dn, dn.rdn('CN', `Nobody ${s}`));
      const e2 = await stepError(run('ad.addGroupMember', { groupDn, memberDn: noUser }, context()), false);
      assert.match(e2.message, /does not exist in Active Directory; nothing was changed/);
    });
  });

  describe('failures', function () {
    it('an unreachable domain controller is a transient StepError, and nothing is kept in the vault', async function () {
      const port = await closedPort(dc.address);
      const down = newClient(dc, { url: `ldaps://${dc.address}:${port}`, logger: log });
      clients.push(down);
      const runDown = runner(recordingPort(down));
      const c = context();
      const err = await stepError(runDown('ad.createUser', userInput(uniqueName('down')), c), true);
      assert.equal(err.message, `Mailroom could not reach Active Directory at ldaps://${dc.address}:${port} (ECONNREFUSED); nothing was changed. Mailroom will try again.`);
      assert.equal(err.detail?.directoryError, 'unavailable');
      assert.equal(putsFor(c.requestId), 0);
      await stepError(runDown('ad.disableAccount', { dn: `CN=x,${ou.dn}` }, context()), true);
    });

    it('maps directory errors: unknown outcome after a write and a closed client are transient; others are permanent with their message', async function () {
      const cases: { kind: DirectoryErrorKind; transient: boolean; outcome: 'unchanged' | 'unknown' | 'partial'; expect: boolean }[] = [
        { kind: 'busy', transient: true, outcome: 'unchanged', expect: true },
        { kind: 'connection-lost', transient: true, outcome: 'unknown', expect: true },
        { kind: 'other', transient: false, outcome: 'unknown', expect: true },
        { kind: 'closed', transient: false, outcome: 'unchanged', expect: true },
        { kind: 'insufficient-rights', transient: false, outcome: 'unchanged', expect: false },
        { kind: 'password-policy', transient: false, outcome: 'unchanged', expect: false },
        { kind: 'other', transient: false, outcome: 'partial', expect: false },
      ];
      for (const k of cases) {
        const thrown = new DirectoryError({ code: 1, kind: k.kind, transient: k.transient, outcome: k.outcome, message: `Message for ${k.kind}; nothing was changed.`, serverMessage: 'server text' });
        const runFake = runner(portOf(client, { get: () => Promise.reject(thrown) }));
        const err = await stepError(runFake('ad.disableAccount', { dn: `CN=x,${ou.dn}` }, context()), k.expect);
        assert.equal(err.message, thrown.message);
        assert.deepEqual(err.detail, { directoryError: k.kind, outcome: k.outcome, ldapCode: 1, serverMessage: 'server text' });
      }
      const bug = await stepError(runner(portOf(client, { get: () => Promise.reject(new TypeError('boom')) }))('ad.disableAccount', { dn: `CN=x,${ou.dn}` }, context()), false);
      assert.match(bug.message, /^Mailroom could not disable the AD account: boom\. This is a fault in Mailroom/);
    });

    it('discards the stored password when the create failed with nothing created, and keeps it when the outcome is unknown', async function () {
      for (const outcome of ['unchanged', 'unknown'] as const) {
        const thrown = new DirectoryError({ code: 51, kind: 'busy', transient: true, outcome, message: 'Active Directory was too busy; nothing was created. Mailroom will try again.' });
        const runFake = runner(recordingPort(client, { createUser: () => Promise.reject(thrown) }));
        const c = context();
        await stepError(runFake('ad.createUser', userInput(uniqueName('busy')), c), true);
        assert.equal(putsFor(c.requestId), 1);
        const left = await vault.takeOnce(c.requestId, INITIAL_PASSWORD_ENTRY);
        assert.equal(left !== undefined, outcome === 'unknown', `outcome ${outcome}`);
      }
    });

    it('a vault that cannot store is a transient error, and AD is not touched', async function () {
      const broken: SecretVault = { put: () => Promise.reject(new Error('database is locked')), takeOnce: () => Promise.resolve(undefined) };
      const runBroken = runner(recordingPort(client), broken);
      const s = uniqueName('novault');
      const err = await stepError(runBroken('ad.createUser', userInput(s), context()), true);
      assert.equal(err.message, 'Mailroom could not keep the new password for the requester (database is locked); nothing was created in AD. Mailroom will try again.');
      assert.equal(await count(`(sAMAccountName=${s})`), 0);
    });
  });

  // Last (mocha runs a describe's own tests before its nested ones): looks at everything the suite saw.
  describe('secrets', function () {
    it('never puts a generated password into a result, an error or a log line; results use no key the audit log refuses', function () {
      assert.ok(generated.length >= 5, `only ${generated.length} passwords were generated`);
      assert.ok(lines.length > 0);
      const texts = [
        ...outcomes.map((o) => JSON.stringify(o)),
        ...errors.map((e) => `${inspect(e, { depth: 10 })} ${e instanceof Error ? e.message : ''} ${e instanceof StepError ? JSON.stringify(e.detail ?? {}) : ''}`),
        ...lines,
      ];
      for (const password of generated) {
        for (const t of texts) assert.ok(!t.includes(password), 'a generated password leaked');
      }
      const keys = (v: unknown): string[] =>
        v && typeof v === 'object' ? Object.entries(v as Record<string, unknown>).flatMap(([k, x]) => [k, ...keys(x)]) : [];
      for (const o of outcomes) {
        for (const k of keys(o.result)) assert.ok(!SECRET_KEY.test(k.toLowerCase().replace(/[^a-z0-9]/g, '')), `result key ${k}`);
      }
    });
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
