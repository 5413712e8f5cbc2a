/**
 * Conformance: hybrid-behaviour.md § "Mail users (external people with an AD account)", against the conformance
 * files' shared sandbox. AD over LDAPS (mail, mailNickname, targetAddress — the three fields that exist without the
 * Exchange schema), outcomes through Graph and Exchange Online.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Sandbox } from '../../../src/sandbox';
import { ConformanceSuite, getConformanceSandbox, exoError, replace, add, type AdUserAttributes, type ExoMailUser, type ExoRecipientRow, type ExoUser } from '../../harness/conformance';

const EXTERNAL = 'partner.example';

describe('conformance: mail users (hybrid-behaviour.md § Mail users)', function () {
  let sandbox: Sandbox;
  let s: ConformanceSuite;

  before(async function () {
    this.timeout(15 * 60_000);
    sandbox = await getConformanceSandbox();
    s = await ConformanceSuite.open(sandbox, 'mail-users');
  });

  after(async function () {
    await s?.close();
  });

  const external = (name: string): string => `${name}@${EXTERNAL}`;

  /** A synced mail user: mail + mailNickname + targetAddress. */
  async function syncedMailUser(prefix: string): Promise<{ name: string; dn: string; mail: string }> {
    const name = s.name(prefix);
    const mail = external(name);
    const dn = await s.addUser(name, { mail, mailNickname: name, targetAddress: `SMTP:${mail}` });
    await s.sync();
    assert.equal((await s.exoGet<ExoMailUser>('Get-MailUser', mail))?.RecipientTypeDetails, 'MailUser');
    return { name, dn, mail };
  }

  describe('the table: mail × mailNickname × targetAddress', function () {
    const table: { title: string; prefix: string; attrs: (name: string) => AdUserAttributes; mailUser: boolean }[] = [
      { title: '"mail set, mailNickname –, targetAddress – → Entra yes, Get-Recipient no"', prefix: 'MuM', attrs: (n) => ({ mail: external(n) }), mailUser: false },
      { title: '"mail set, mailNickname set, targetAddress – → Entra yes, Get-Recipient no"', prefix: 'MuMN', attrs: (n) => ({ mail: external(n), mailNickname: n }), mailUser: false },
      {
        title: '"mail set, mailNickname set, targetAddress set → Entra yes, Get-Recipient yes, EXO type MailUser"',
        prefix: 'MuMNT',
        attrs: (n) => ({ mail: external(n), mailNickname: n, targetAddress: `SMTP:${external(n)}` }),
        mailUser: true,
      },
      { title: '"mail set, mailNickname –, targetAddress set → Entra yes, Get-Recipient no"', prefix: 'MuMT', attrs: (n) => ({ mail: external(n), targetAddress: `SMTP:${external(n)}` }), mailUser: false },
    ];
    const names: string[] = [];

    before(async function () {
      for (const row of table) {
        const name = s.name(row.prefix);
        names.push(name);
        await s.addUser(name, row.attrs(name));
      }
      await s.sync();
    });

    table.forEach((row, i) => {
      it(row.title, async function () {
        const name = names[i]!;
        const user = await s.mustGraphUser(s.upn(name));
        assert.equal(user.onPremisesSyncEnabled, true, 'in Entra ID');
        assert.deepEqual(user.assignedLicenses, []);
        assert.ok(await s.exoGet<ExoUser>('Get-User', s.upn(name)), 'Get-User knows every synced user');
        const r = await s.exoGet<ExoRecipientRow>('Get-Recipient', external(name));
        if (!row.mailUser) {
          assert.equal(r, null, 'not a recipient');
          assert.equal(await s.exoGet('Get-MailUser', external(name)), null);
          return;
        }
        assert.ok(r, 'Get-Recipient finds it');
        assert.equal(r.RecipientTypeDetails, 'MailUser');
        assert.equal(r.RecipientType, 'MailUser');
        assert.equal(r.PrimarySmtpAddress, external(name));
        const mu = await s.exoGet<ExoMailUser>('Get-MailUser', external(name));
        assert.equal(mu?.Alias, name, 'alias from mailNickname');
        assert.equal(mu?.ExternalEmailAddress, `SMTP:${external(name)}`, 'ExternalEmailAddress from targetAddress');
        assert.equal(mu?.IsDirSynced, true);
      });
    });
  });

  it('"Sync only carries alias and targetAddress when mailNickname is set; a mail user needs all three": the missing field added in AD makes it a MailUser at the next sync', async function () {
    const noTarget = s.name('MuAddT');
    const noNick = s.name('MuAddN');
    const dnNoTarget = await s.addUser(noTarget, { mail: external(noTarget), mailNickname: noTarget });
    const dnNoNick = await s.addUser(noNick, { mail: external(noNick), targetAddress: `SMTP:${external(noNick)}` });
    await s.sync();
    assert.equal(await s.exoGet('Get-Recipient', external(noTarget)), null);
    assert.equal(await s.exoGet('Get-Recipient', external(noNick)), null);
    assert.equal((await s.mustGraphUser(s.upn(noNick))).mailNickname, noNick, 'without mailNickname Entra takes sAMAccountName');

    await s.modify(dnNoTarget, add('targetAddress', [`SMTP:${external(noTarget)}`]));
    await s.modify(dnNoNick, add('mailNickname', [`${noNick}-nick`]));
    await s.sync();
    assert.equal((await s.exoGet<ExoRecipientRow>('Get-Recipient', external(noTarget)))?.RecipientTypeDetails, 'MailUser');
    const late = await s.exoGet<ExoMailUser>('Get-MailUser', external(noNick));
    assert.equal(late?.RecipientTypeDetails, 'MailUser');
    assert.equal(late?.Alias, `${noNick}-nick`, 'the alias arrives with mailNickname');
    assert.equal(late?.ExternalEmailAddress, `SMTP:${external(noNick)}`, 'and with it the targetAddress');
  });

  it('"There is no Enable-MailUser in EXO": InvokeCommand refuses the cmdlet (403) and the user stays a plain User', async function () {
    const name = s.name('MuEnable');
    await s.addUser(name, { mail: external(name) });
    await s.sync();
    const err = await exoError(s.exo.invoke('Enable-MailUser', { Identity: s.upn(name), ExternalEmailAddress: external(name) }));
    assert.equal(err.status, 403);
    assert.equal((await s.exoGet<ExoUser>('Get-User', s.upn(name)))?.RecipientTypeDetails, 'User');
  });

  it('"no IsExchangeCloudManaged for mail users: AD stays authoritative": Set-MailUser has no such parameter, Set-Mailbox does not find a mail user, AD changes keep arriving', async function () {
    const { dn, mail } = await syncedMailUser('MuIcm');
    const noParam = await exoError(s.exo.invoke('Set-MailUser', { Identity: mail, IsExchangeCloudManaged: true }));
    assert.equal(noParam.exceptionType, 'System.Management.Automation.ParameterBindingException');
    assert.match(noParam.detail, /A parameter cannot be found that matches parameter name 'IsExchangeCloudManaged'/);
    const noMailbox = await exoError(s.exo.invoke('Set-Mailbox', { Identity: mail, IsExchangeCloudManaged: true }));
    assert.equal(noMailbox.notFound, true, noMailbox.message);

    const newTarget = mail.replace('@', '.moved@');
    await s.modify(dn, replace('targetAddress', [`SMTP:${newTarget}`]));
    await s.sync();
    assert.equal((await s.exoGet<ExoMailUser>('Get-MailUser', mail))?.ExternalEmailAddress, `SMTP:${newTarget}`, 'AD is authoritative for the mail user');
  });

  it('"Set-MailUser in EXO can still overwrite the alias (a full sync does not reset it until AD\'s mailNickname changes again)"', async function () {
    const { name, dn, mail } = await syncedMailUser('MuAlias');
    await s.exoSet('Set-MailUser', { Identity: mail, Alias: `${name}-cloud` });
    assert.equal((await s.exoGet<ExoMailUser>('Get-MailUser', mail))?.Alias, `${name}-cloud`, 'the alias is overwritten in the cloud');

    await s.sync(true); // a full sync
    assert.equal((await s.exoGet<ExoMailUser>('Get-MailUser', mail))?.Alias, `${name}-cloud`, 'a full sync does not reset it');
    await s.modify(dn, replace('displayName', [`${name} (partner)`]));
    await s.sync();
    assert.equal((await s.exoGet<ExoMailUser>('Get-MailUser', mail))?.Alias, `${name}-cloud`, 'nor does an export of another attribute');

    await s.modify(dn, replace('mailNickname', [`${name}-ad`]));
    await s.sync();
    assert.equal((await s.exoGet<ExoMailUser>('Get-MailUser', mail))?.Alias, `${name}-ad`, "AD's new mailNickname wins again");
  });

  it('"custom attributes fail with the dual-write error"', async function () {
    const { mail } = await syncedMailUser('MuCustom');
    const err = await exoError(s.exo.invoke('Set-MailUser', { Identity: mail, CustomAttribute1: 'cost-centre-42' }));
    assert.equal(err.status, 400);
    assert.match(err.detail, /DualWrite/);
    assert.match(err.detail, /on-premises mastered Directory Sync objects/);
    assert.equal((await s.exoGet<ExoMailUser>('Get-MailUser', mail))?.CustomAttribute1, '', 'nothing was written');
  });

  it('"ExchangeGuid can be set (migrations)"', async function () {
    const { mail } = await syncedMailUser('MuGuid');
    const guid = randomUUID();
    await s.exoSet('Set-MailUser', { Identity: mail, ExchangeGuid: guid });
    assert.equal((await s.exoGet<ExoMailUser>('Get-MailUser', mail))?.ExchangeGuid, guid);
    await s.sync(true);
    assert.equal((await s.exoGet<ExoMailUser>('Get-MailUser', mail))?.ExchangeGuid, guid, 'sync does not touch it');
  });

  it('"Cloud-only mail users: New-MailUser -Alias -ExternalEmailAddress -PrimarySmtpAddress -Name -MicrosoftOnlineServicesID -Password" (and without -Password there is no Entra account)', async function () {
    const name = s.name('MuCloud');
    const parameters = { Alias: name, ExternalEmailAddress: external(name), PrimarySmtpAddress: external(name), Name: name, MicrosoftOnlineServicesID: s.upn(name) };
    const noPassword = await exoError(s.exo.invoke('New-MailUser', parameters));
    assert.match(noPassword.detail, /missing mandatory parameters: Password/);
    assert.equal(await s.graphUser(s.upn(name)), null, 'nothing was created');

    const { value } = await s.exo.invoke<ExoMailUser>('New-MailUser', { ...parameters, Password: `Sbx-${randomUUID()}` });
    s.removeAtClose('mail-user', external(name));
    assert.equal(value[0]?.RecipientTypeDetails, 'MailUser');
    const mu = await s.exoGet<ExoMailUser>('Get-MailUser', external(name));
    assert.equal(mu?.IsDirSynced, false);
    assert.equal(mu?.ExternalEmailAddress, `SMTP:${external(name)}`);
    assert.equal(mu?.Alias, name);
    const user = await s.mustGraphUser(s.upn(name));
    assert.equal(user.onPremisesSyncEnabled, null, 'a cloud-only Entra user');
    assert.deepEqual(await s.findInAd(external(name)), [], 'invisible in AD');
  });

  it('"Guests appear as GuestMailUser, hidden from address lists by default"', async function () {
    // Set-up only: the emulator has no Graph POST /invitations, so the guest is invited through the tenant API.
    const mail = `${s.name('guest')}@${EXTERNAL}`;
    sandbox.tenant.addGuest({ mail, displayName: 'Guest Partner' });
    s.removeAtClose('mail-user', mail);
    const mu = await s.exoGet<ExoMailUser>('Get-MailUser', mail);
    assert.equal(mu?.RecipientTypeDetails, 'GuestMailUser');
    assert.equal(mu?.HiddenFromAddressListsEnabled, true);
    assert.equal((await s.exoGet<ExoRecipientRow>('Get-Recipient', mail))?.RecipientTypeDetails, 'GuestMailUser');
  });
});
