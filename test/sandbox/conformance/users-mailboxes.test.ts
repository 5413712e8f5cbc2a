/**
 * Conformance: hybrid-behaviour.md § "Users and mailboxes". AD objects go to Samba over LDAPS, sync runs,
 * outcomes are read through Graph and Exchange Online over HTTPS.
 *
 * This suite runs its own sandbox with a mailbox provisioning delay of one hour (the field test waited over an
 * hour), so every mailbox here appears only after the tenant's clock has been moved past the delay.
 */
import assert from 'node:assert/strict';
import { hashtable } from '../../../src/cloud';
import { projectRoot } from '../../../src/paths';
import { startSandbox, type Sandbox } from '../../../src/sandbox';
import { CONFORMANCE_KNOBS, ConformanceSuite, exoError, remove, replace, add, type ExoUser, type ExoRecipientRow } from '../../harness/conformance';

const MAILBOX_DELAY_MS = 60 * 60_000;

describe('conformance: users and mailboxes (hybrid-behaviour.md § Users and mailboxes)', function () {
  let sandbox: Sandbox;
  let s: ConformanceSuite;

  before(async function () {
    this.timeout(15 * 60_000); // a fresh machine provisions the Samba template first
    sandbox = await startSandbox({
      rootDir: projectRoot(),
      ephemeral: true,
      knobs: { ...CONFORMANCE_KNOBS, mailboxDelayMs: MAILBOX_DELAY_MS },
    });
    s = await ConformanceSuite.open(sandbox, 'users-mailboxes');
  });

  after(async function () {
    await s?.close();
    await sandbox?.stop();
  });

  /** Licence (usageLocation first), then let the provisioning delay pass on the tenant's clock. */
  async function licenceAndWait(upn: string): Promise<void> {
    await s.licence(upn);
    sandbox.clock.advance(MAILBOX_DELAY_MS);
  }

  describe('the table: AD `mail` × EXO licence', function () {
    const rows = {
      noMailNoLicence: '',
      mailNoLicence: '',
      noMailLicence: '',
      mailLicence: '',
    };
    const mailOf = (name: string): string => `first.last.${name}@contoso.example`;

    before(async function () {
      rows.noMailNoLicence = s.name('UsrNoMNoL');
      rows.mailNoLicence = s.name('UsrMNoL');
      rows.noMailLicence = s.name('UsrNoML');
      rows.mailLicence = s.name('UsrML');
      await s.addUser(rows.noMailNoLicence);
      await s.addUser(rows.mailNoLicence, { mail: mailOf(rows.mailNoLicence) });
      await s.addUser(rows.noMailLicence);
      await s.addUser(rows.mailLicence, { mail: mailOf(rows.mailLicence) });
      await s.sync();
      await s.licence(s.upn(rows.noMailLicence));
      await s.licence(s.upn(rows.mailLicence));
      sandbox.clock.advance(MAILBOX_DELAY_MS);
    });

    /** Entra user with the UPN exactly as AD has it, and EXO Get-User finds it. */
    async function assertEntraAndGetUser(name: string): Promise<void> {
      const [adUpn] = await s.readAd(s.dn(name), 'userPrincipalName');
      assert.ok(adUpn);
      const user = await s.mustGraphUser(adUpn);
      assert.equal(user.userPrincipalName, adUpn, 'Entra UPN = AD UPN');
      assert.equal(user.onPremisesSyncEnabled, true);
      const exoUser = await s.exoGet<ExoUser>('Get-User', adUpn);
      assert.ok(exoUser, 'EXO Get-User finds the user');
      assert.equal(exoUser.UserPrincipalName, adUpn);
      assert.equal(exoUser.IsDirSynced, true);
    }

    it('"mail empty, no licence → Entra user yes (UPN as in AD), Get-User yes, Get-Mailbox: no mailbox"', async function () {
      await assertEntraAndGetUser(rows.noMailNoLicence);
      assert.equal(await s.exoGet('Get-Mailbox', s.upn(rows.noMailNoLicence)), null, 'no mailbox');
      assert.equal((await s.exoGet<ExoUser>('Get-User', s.upn(rows.noMailNoLicence)))?.RecipientTypeDetails, 'User');
    });

    it('"mail set, no licence → Entra user yes, Get-User yes, Get-Mailbox: no mailbox" (mail alone provisions nothing, even after the delay)', async function () {
      await assertEntraAndGetUser(rows.mailNoLicence);
      assert.equal(await s.exoGet('Get-Mailbox', s.upn(rows.mailNoLicence)), null, 'no mailbox');
      assert.equal(await s.exoGet('Get-Mailbox', mailOf(rows.mailNoLicence)), null, 'no mailbox under the mail address either');
      assert.equal(await s.exoGet('Get-Recipient', mailOf(rows.mailNoLicence)), null, 'unlike a RemoteMailbox, nothing is provisioned without a licence: not even a recipient');
    });

    it('"mail empty, licence → mailbox, primary SMTP address = the UPN"', async function () {
      await assertEntraAndGetUser(rows.noMailLicence);
      const m = await s.mailbox(s.upn(rows.noMailLicence));
      assert.equal(m.RecipientTypeDetails, 'UserMailbox');
      assert.equal(m.PrimarySmtpAddress, s.upn(rows.noMailLicence));
      assert.equal(m.WindowsEmailAddress, s.upn(rows.noMailLicence));
    });

    it('"mail set, licence → mailbox, primary SMTP address = the value of mail"', async function () {
      await assertEntraAndGetUser(rows.mailLicence);
      const m = await s.mailbox(s.upn(rows.mailLicence));
      assert.equal(m.RecipientTypeDetails, 'UserMailbox');
      assert.equal(m.PrimarySmtpAddress, mailOf(rows.mailLicence), 'the primary is really the differing address from mail, not the UPN');
      assert.equal(m.WindowsEmailAddress, mailOf(rows.mailLicence));
    });
  });

  it('"The licence creates the mailbox, not mail. Provisioning takes minutes": no mailbox until the delay has passed', async function () {
    const name = s.name('UsrDelay');
    await s.addUser(name, { mail: s.upn(name) });
    await s.sync();
    await s.licence(s.upn(name));
    assert.equal(await s.exoGet('Get-Mailbox', s.upn(name)), null, 'no mailbox right after the licence');
    assert.equal((await s.exoGet<ExoUser>('Get-User', s.upn(name)))?.RecipientTypeDetails, 'User');
    const licensed = await s.mustGraphUser(s.upn(name));
    assert.deepEqual(
      licensed.assignedLicenses.map((l) => l.skuId),
      [s.exchangeSku],
      'Graph shows the licence at once',
    );

    sandbox.clock.advance(MAILBOX_DELAY_MS - 60_000);
    assert.equal(await s.exoGet('Get-Mailbox', s.upn(name)), null, 'still none a minute before the delay is over');
    sandbox.clock.advance(60_000);
    assert.equal((await s.mailbox(s.upn(name))).RecipientTypeDetails, 'UserMailbox', 'the mailbox exists once the delay has passed');
  });

  it('licence via Graph assignLicense needs usageLocation: without it Graph answers 400 "License assignment cannot be done for user with invalid usage location."', async function () {
    const name = s.name('UsrNoLoc');
    await s.addUser(name, { mail: s.upn(name) });
    await s.sync();
    const user = await s.mustGraphUser(s.upn(name));
    assert.equal(user.usageLocation, null, 'a synced user has no usageLocation unless AD has msExchUsageLocation');

    const refused = await s.assignExchangeLicence(user.id);
    assert.equal(refused.status, 400, refused.text);
    assert.equal(refused.json.error.code, 'Request_BadRequest');
    assert.equal(refused.json.error.message, 'License assignment cannot be done for user with invalid usage location.');
    assert.deepEqual((await s.mustGraphUser(s.upn(name))).assignedLicenses, [], 'nothing was assigned');

    await s.setUsageLocation(user.id, 'DE');
    assert.equal((await s.mustGraphUser(s.upn(name))).usageLocation, 'DE', 'usageLocation is writable through Graph on a synced user');
    const ok = await s.assignExchangeLicence(user.id);
    assert.equal(ok.status, 200, ok.text);
    sandbox.clock.advance(MAILBOX_DELAY_MS);
    assert.equal((await s.mailbox(s.upn(name))).PrimarySmtpAddress, s.upn(name));
  });

  it('"Changing AD mail and syncing makes the new value PrimarySmtpAddress and WindowsEmailAddress; the previous primary stays in EmailAddresses as a secondary smtp: address"', async function () {
    // mail = UPN at first, as in the field test (UserWithMailWithEXO@msxfaqdev.de).
    const name = s.name('MbxMail');
    const first = s.upn(name);
    const dn = await s.addUser(name, { mail: first });
    await s.sync();
    await licenceAndWait(first);
    const routing = `smtp:${name}@${s.tenantDomain}`;
    const sip = `SIP:${first.toLowerCase()}`;
    const initial = await s.mailbox(first);
    assert.deepEqual(initial.EmailAddresses, [`SMTP:${first}`, sip, routing], 'observed at creation: SMTP:<mail>, SIP:<mail in lower case>, smtp:<alias>@<tenant>.onmicrosoft.com');

    const second = `${name}.second@contoso.example`;
    await s.modify(dn, replace('mail', [second]));
    await s.sync();
    const changed = await s.mailbox(first);
    assert.equal(changed.PrimarySmtpAddress, second);
    assert.equal(changed.WindowsEmailAddress, second);
    // Observed after one change: SMTP:new@contoso.com, SIP:alias@contoso.com, smtp:alias@contoso.onmicrosoft.com, smtp:old@contoso.com
    assert.deepEqual(changed.EmailAddresses, [`SMTP:${second}`, sip, routing, `smtp:${first}`]);

    const third = `${name}.third@contoso.example`;
    await s.modify(dn, replace('mail', [third]));
    await s.sync();
    const again = await s.mailbox(first);
    assert.equal(again.PrimarySmtpAddress, third);
    assert.equal(again.WindowsEmailAddress, third);
    assert.ok(again.EmailAddresses.includes(`SMTP:${third}`), again.EmailAddresses.join(', '));
    for (const old of [first, second]) assert.ok(again.EmailAddresses.includes(`smtp:${old}`), `earlier primary ${old} is kept: ${again.EmailAddresses.join(', ')}`);
    assert.equal(again.EmailAddresses.filter((a) => a.startsWith('SMTP:')).length, 1, 'exactly one primary');
  });

  it('"AD mail keeps overriding the primary address even after IsExchangeCloudManaged=True"', async function () {
    const name = s.name('MbxIcmMl');
    const first = s.upn(name);
    const dn = await s.addUser(name, { mail: first });
    await s.sync();
    await licenceAndWait(first);
    await s.exoSet('Set-Mailbox', { Identity: first, IsExchangeCloudManaged: true });
    await s.sync(); // sync reads the flag back
    assert.equal((await s.mailbox(first)).IsExchangeCloudManaged, true);

    const next = `${name}.new@contoso.example`;
    await s.modify(dn, replace('mail', [next]));
    await s.sync();
    const m = await s.mailbox(first);
    assert.equal(m.IsExchangeCloudManaged, true, 'still cloud-managed');
    assert.equal(m.PrimarySmtpAddress, next, 'AD mail still sets the primary address');
    assert.equal(m.WindowsEmailAddress, next);
    assert.ok(m.EmailAddresses.includes(`smtp:${first}`), 'the old primary stays as secondary');
  });

  it('"Secondary addresses can be added in AD proxyAddresses (synced)"', async function () {
    const name = s.name('MbxProxy');
    const upn = s.upn(name);
    const alt1 = `${name}.alt1@contoso.example`;
    const alt2 = `${name}.alt2@contoso.example`;
    const dn = await s.addUser(name, { mail: upn, proxyAddresses: [`smtp:${alt1}`] });
    await s.sync();
    await licenceAndWait(upn);
    const created = await s.mailbox(upn);
    assert.equal(created.PrimarySmtpAddress, upn);
    assert.ok(created.EmailAddresses.includes(`smtp:${alt1}`), `proxyAddresses at creation reach the new mailbox: ${created.EmailAddresses.join(', ')}`);

    await s.modify(dn, add('proxyAddresses', [`smtp:${alt2}`]));
    await s.sync();
    const added = await s.mailbox(upn);
    assert.ok(added.EmailAddresses.includes(`smtp:${alt2}`), `an address added in AD is synced: ${added.EmailAddresses.join(', ')}`);
    assert.equal(await s.exoGet<ExoRecipientRow>('Get-Recipient', alt2).then((r) => r?.PrimarySmtpAddress), upn, 'the secondary address resolves to the mailbox');

    await s.modify(dn, remove('proxyAddresses', [`smtp:${alt1}`]));
    await s.sync();
    const removed = await s.mailbox(upn);
    assert.ok(!removed.EmailAddresses.includes(`smtp:${alt1}`), `an address removed in AD goes: ${removed.EmailAddresses.join(', ')}`);
    assert.ok(removed.EmailAddresses.includes(`smtp:${alt2}`));
    assert.equal(removed.PrimarySmtpAddress, upn, 'proxyAddresses do not move the primary: mail decides it');
  });

  it('KB 3190357 ("How the proxyAddresses attribute is populated in Microsoft Entra ID"), scenario 2: a licensed user whose UPN differs from mail gets the UPN as a secondary smtp: address, and Get-Recipient finds it by that address', async function () {
    const name = s.name('MbxUpnA');
    const upn = s.upn(name);
    const mail = `first.last.${name}@contoso.example`;
    await s.addUser(name, { mail });
    await s.sync();
    await licenceAndWait(upn);
    const m = await s.mailbox(upn);
    assert.equal(m.PrimarySmtpAddress, mail);
    assert.ok(m.EmailAddresses.includes(`smtp:${upn}`), `"the userPrincipalName is always added as a proxy address": ${m.EmailAddresses.join(', ')}`);
    const { value } = await s.exo.invoke<ExoRecipientRow>('Get-Recipient', { Filter: `EmailAddresses -eq 'smtp:${upn}'` });
    assert.deepEqual(value.map((r) => r.PrimarySmtpAddress), [mail]);
    assert.equal((await s.mustGraphUser(upn)).mail, mail, 'Entra mail is the primary');
  });

  it('KB 3190357, scenario 3: an SMTP: entry of AD proxyAddresses is the primary (before mail); a changed mail alone does not move it, mail and proxyAddresses naming the new primary together do (what Mailroom writes)', async function () {
    const name = s.name('MbxSmtpPx');
    const upn = s.upn(name);
    const pa = `${name}.pa@contoso.example`;
    const dn = await s.addUser(name, { mail: upn, proxyAddresses: [`SMTP:${pa}`] });
    await s.sync();
    await licenceAndWait(upn);
    let m = await s.mailbox(upn);
    assert.equal(m.PrimarySmtpAddress, pa, '"Set the primary SMTP using the same address that\'s specified in the on-premises proxyAddresses attribute"');
    assert.equal((await s.mustGraphUser(upn)).mail, pa, '"Populate the mail attribute by using the primary SMTP address"');

    const mailOnly = `${name}.mail@contoso.example`;
    await s.modify(dn, replace('mail', [mailOnly]));
    await s.sync();
    assert.equal((await s.mailbox(upn)).PrimarySmtpAddress, pa, 'the SMTP: entry still wins over the new mail');

    const next = `${name}.next@contoso.example`;
    await s.modify(dn, replace('mail', [next]), replace('proxyAddresses', [`SMTP:${next}`, `smtp:${pa}`]));
    await s.sync();
    m = await s.mailbox(upn);
    assert.equal(m.PrimarySmtpAddress, next);
    assert.equal(m.WindowsEmailAddress, next);
    assert.ok(m.EmailAddresses.includes(`smtp:${pa}`), 'the old primary stays, as AD lists it');
    assert.equal(m.EmailAddresses.filter((a) => a.startsWith('SMTP:')).length, 1, 'exactly one primary');
  });

  it('"… or in EXO once the mailbox is cloud-managed": Set-Mailbox -EmailAddresses @{Add=…} is refused before (write scope / dual write) and works after IsExchangeCloudManaged=True', async function () {
    const name = s.name('MbxExoAd');
    const upn = s.upn(name);
    const dn = await s.addUser(name, { mail: upn });
    await s.sync();
    await licenceAndWait(upn);
    const extra = `${name}.cloud@contoso.example`;
    assert.equal((await s.mailbox(upn)).IsExchangeCloudManaged, false, 'False is the default for synced users');

    const err = await exoError(s.exo.invoke('Set-Mailbox', { Identity: upn, EmailAddresses: hashtable({ Add: `smtp:${extra}` }) }));
    assert.equal(err.status, 400);
    assert.match(err.detail, /synchroni[sz]ed from your on-premises organization|on-premises mastered Directory Sync objects/, err.message);
    assert.ok(!(await s.mailbox(upn)).EmailAddresses.includes(`smtp:${extra}`), 'the refused change wrote nothing');

    await s.exoSet('Set-Mailbox', { Identity: upn, IsExchangeCloudManaged: true });
    await s.exoSet('Set-Mailbox', { Identity: upn, EmailAddresses: hashtable({ Add: `smtp:${extra}` }) });
    assert.ok((await s.mailbox(upn)).EmailAddresses.includes(`smtp:${extra}`), 'added in EXO');

    await s.modify(dn, replace('displayName', [`${name} renamed`]));
    await s.sync();
    const after = await s.mailbox(upn);
    assert.equal(after.DisplayName, `${name} renamed`, 'identity attributes still come from AD');
    assert.ok(after.EmailAddresses.includes(`smtp:${extra}`), 'the next sync keeps the address added in EXO');
  });
});
