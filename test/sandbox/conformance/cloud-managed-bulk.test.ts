/**
 * Conformance: hybrid-behaviour.md § "Setting IsExchangeCloudManaged in bulk" (with the Vocabulary's
 * definition of IsExchangeCloudManaged and the pitfall "AD and EXO can silently diverge").
 *
 * The bulk procedure works on every mailbox of the tenant and the organisation default is tenant-wide, so this
 * suite runs its own sandbox (Cloud Sync, mailbox delay 0): it cannot touch other suites' mailboxes. EXO is
 * driven with Mailroom's production ExoClient, authenticated as an app (client credentials), as the procedure
 * should run.
 */
import assert from 'node:assert/strict';
import { hashtable } from '../../../src/cloud';
import { projectRoot } from '../../../src/paths';
import { startSandbox, type Sandbox } from '../../../src/sandbox';
import { CONFORMANCE_KNOBS, ConformanceSuite, exoError, add, replace, type AdUserAttributes, type ExoMailbox, type ExoUser, type GraphError } from '../../harness/conformance';

interface OrganizationConfig {
  BlockExchangeProvisioningFromOnPremEnabled: boolean;
}

describe('conformance: IsExchangeCloudManaged and setting it in bulk (hybrid-behaviour.md § Setting IsExchangeCloudManaged in bulk)', function () {
  let sandbox: Sandbox;
  let s: ConformanceSuite;

  before(async function () {
    this.timeout(15 * 60_000);
    sandbox = await startSandbox({
      rootDir: projectRoot(),
      ephemeral: true,
      knobs: CONFORMANCE_KNOBS,
    });
    s = await ConformanceSuite.open(sandbox, 'cloud-managed-bulk');
  });

  after(async function () {
    await s?.close();
    await sandbox?.stop();
  });

  /** A synced, licensed user mailbox with mail = UPN. */
  async function syncedMailbox(prefix: string, attrs: (name: string) => AdUserAttributes = () => ({})): Promise<{ name: string; dn: string; mail: string }> {
    const name = s.name(prefix);
    const mail = s.upn(name);
    const dn = await s.addUser(name, { mail, ...attrs(name) });
    await s.sync();
    await s.licence(mail);
    return { name, dn, mail };
  }

  /** The procedure of the field test: all mailboxes, filtered client-side, then Set-Mailbox each. */
  async function setCloudManagedInBulk(): Promise<string[]> {
    const { value } = await s.exo.invoke<ExoMailbox>('Get-Mailbox', { ResultSize: 'Unlimited' });
    const todo = value.filter((m) => m.IsDirSynced && !m.IsExchangeCloudManaged);
    for (const m of todo) await s.exoSet('Set-Mailbox', { Identity: m.ExternalDirectoryObjectId, IsExchangeCloudManaged: true });
    return todo.map((m) => m.PrimarySmtpAddress).sort();
  }

  it('"IsExchangeCloudManaged False (default for synced users) … It is set only in EXO (Set-Mailbox -IsExchangeCloudManaged:$true); sync reads it back" — AD has no such attribute, and sync does not reset it', async function () {
    const { dn, mail } = await syncedMailbox('IcmSet');
    assert.equal((await s.mailbox(mail)).IsExchangeCloudManaged, false, 'False by default');
    await assert.rejects(s.modify(dn, replace('isExchangeCloudManaged', ['TRUE'])), 'AD has no attribute to set it from on-premises');

    await s.exoSet('Set-Mailbox', { Identity: mail, IsExchangeCloudManaged: true });
    assert.equal((await s.mailbox(mail)).IsExchangeCloudManaged, true);
    await s.modify(dn, replace('displayName', ['Changed in AD']));
    await s.sync(true);
    assert.equal((await s.mailbox(mail)).IsExchangeCloudManaged, true, 'a (full) sync leaves the flag as EXO has it');
  });

  it('"Get-Mailbox -Filter \'IsExchangeCloudManaged -eq $true\' did not work at the time" (it is not among Get-Mailbox\'s properties in "Filterable properties for the Filter parameter on Exchange cmdlets")', async function () {
    for (const filter of ['IsExchangeCloudManaged -eq $true', 'IsExchangeCloudManaged -eq $false']) {
      const err = await exoError(s.exo.invoke('Get-Mailbox', { Filter: filter, ResultSize: 'Unlimited' }));
      assert.equal(err.status, 400);
      assert.equal(err.exceptionType, 'System.Management.Automation.ParameterBindingException');
      assert.match(err.detail, /"IsExchangeCloudManaged" is not a recognized filterable property/);
    }
  });

  it('"filter client-side — all mailboxes where IsDirSynced and not IsExchangeCloudManaged — then set each" (and a second run finds nothing)', async function () {
    const a = await syncedMailbox('BulkA');
    const b = await syncedMailbox('BulkB');
    const already = await syncedMailbox('BulkDone');
    await s.exoSet('Set-Mailbox', { Identity: already.mail, IsExchangeCloudManaged: true });
    const cloudOnlyName = s.name('BulkCld');
    const cloudOnly = s.upn(cloudOnlyName);
    await s.exo.invoke('New-Mailbox', { Name: cloudOnlyName, Alias: cloudOnlyName, PrimarySmtpAddress: cloudOnly, Shared: true });
    const unlicensed = s.name('BulkNoLic');
    await s.addUser(unlicensed, { mail: s.upn(unlicensed) });
    await s.sync();

    const done = await setCloudManagedInBulk();
    assert.ok(done.includes(a.mail) && done.includes(b.mail), `the synced mailboxes were set: ${done.join(', ')}`);
    assert.ok(!done.includes(already.mail), 'a mailbox that is already cloud-managed is left out');
    assert.ok(!done.includes(cloudOnly), 'a cloud-only mailbox is left out (not IsDirSynced)');

    const { value } = await s.exo.invoke<ExoMailbox>('Get-Mailbox', { ResultSize: 'Unlimited' });
    assert.deepEqual(
      value.filter((m) => m.IsDirSynced && !m.IsExchangeCloudManaged).map((m) => m.PrimarySmtpAddress),
      [],
      'every dir-synced mailbox is cloud-managed now',
    );
    assert.equal(value.find((m) => m.PrimarySmtpAddress === cloudOnly)?.IsExchangeCloudManaged, false);
    assert.equal(await s.exoGet<ExoUser>('Get-User', s.upn(unlicensed)).then((u) => u?.RecipientTypeDetails), 'User', 'a user without a mailbox is not touched');
    assert.deepEqual(await setCloudManagedInBulk(), [], 'run on a schedule: the next run has nothing to do');
  });

  describe('a cloud-managed mailbox and its way back', function () {
    let m: { name: string; dn: string; mail: string };
    const adAddress = (): string => `${m.name}.fromad@contoso.example`;
    const cloudAddress = (): string => `${m.name}.fromexo@contoso.example`;
    const newMail = (): string => `${m.name}.newmail@contoso.example`;

    before(async function () {
      m = await syncedMailbox('IcmDiv', (name) => ({ mailNickname: name }));
      await setCloudManagedInBulk();
      await s.sync(); // sync reads the flag back
    });

    it('"IsExchangeCloudManaged True: Exchange attributes are mastered in EXO, sync stops overwriting them (except mail); identity attributes still come from AD" — AD and EXO silently diverge', async function () {
      // EXO side, allowed now.
      await s.exoSet('Set-Mailbox', { Identity: m.mail, Alias: `${m.name}-exo`, EmailAddresses: hashtable({ Add: `smtp:${cloudAddress()}` }) });
      // AD side: Exchange attributes, mail and an identity attribute.
      await s.modify(
        m.dn,
        add('proxyAddresses', [`smtp:${adAddress()}`]),
        replace('mailNickname', [`${m.name}-ad`]),
        replace('msExchHideFromAddressLists', ['TRUE']),
        replace('mail', [newMail()]),
        replace('displayName', [`${m.name} (renamed in AD)`]),
      );
      await s.sync();

      const mb = await s.mailbox(m.mail);
      assert.equal(mb.IsExchangeCloudManaged, true);
      assert.equal(mb.Alias, `${m.name}-exo`, 'mailNickname from AD is not applied');
      assert.ok(!mb.EmailAddresses.includes(`smtp:${adAddress()}`), `proxyAddresses from AD are not applied: ${mb.EmailAddresses.join(', ')}`);
      assert.ok(mb.EmailAddresses.includes(`smtp:${cloudAddress()}`), 'the address added in EXO stays');
      assert.equal(mb.HiddenFromAddressListsEnabled, false, 'msExchHideFromAddressLists from AD is not applied');
      assert.equal(mb.PrimarySmtpAddress, newMail(), 'except mail: it still sets the primary address');
      assert.equal(mb.DisplayName, `${m.name} (renamed in AD)`, 'identity attributes still come from AD');
      assert.deepEqual(await s.readAd(m.dn, 'mailNickname'), [`${m.name}-ad`], 'AD keeps its own value: the two sides now differ');

      const identity = await exoError(s.exo.invoke('Set-Mailbox', { Identity: m.mail, DisplayName: 'changed in EXO' }));
      assert.match(identity.detail, /synchroni[sz]ed from your on-premises organization/, 'identity attributes stay mastered in AD');
      const user = await s.mustGraphUser(m.mail);
      const patch = await s.graph<GraphError>('PATCH', `/users/${user.id}`, { department: 'changed in the cloud' });
      assert.equal(patch.status, 400, patch.text);
      assert.match(patch.json.error.message, /on-premises mastered Directory Sync objects/);
    });

    it('"It can be set back to False": the next sync lets AD win again', async function () {
      await s.exoSet('Set-Mailbox', { Identity: m.mail, IsExchangeCloudManaged: false });
      await s.sync();
      const mb = await s.mailbox(m.mail);
      assert.equal(mb.IsExchangeCloudManaged, false);
      assert.equal(mb.Alias, `${m.name}-ad`, "AD's mailNickname wins");
      assert.ok(mb.EmailAddresses.includes(`smtp:${adAddress()}`), `AD's proxyAddresses are applied: ${mb.EmailAddresses.join(', ')}`);
      assert.equal(mb.HiddenFromAddressListsEnabled, true, "AD's msExchHideFromAddressLists is applied");
      assert.equal(mb.PrimarySmtpAddress, newMail());

      const refused = await exoError(s.exo.invoke('Set-Mailbox', { Identity: m.mail, Alias: `${m.name}-exo2` }));
      assert.match(refused.detail, /synchroni[sz]ed from your on-premises organization|on-premises mastered Directory Sync objects/, 'EXO refuses Exchange attributes again');
    });
  });

  it('organisation default: "Set-OrganizationConfig -ExchangeAttributesCloudManagedByDefault $true" shows in Get-OrganizationConfig as BlockExchangeProvisioningFromOnPremEnabled, and newly synced users ignore Exchange attributes from AD', async function () {
    const org = async (): Promise<OrganizationConfig> => {
      const { value } = await s.exo.invoke<OrganizationConfig>('Get-OrganizationConfig');
      assert.equal(value.length, 1);
      return value[0]!;
    };
    assert.equal((await org()).BlockExchangeProvisioningFromOnPremEnabled, false, 'off by default');

    // Synced before the switch.
    const earlier = s.name('OrgOld');
    await s.addUser(earlier, { mail: s.upn(earlier), proxyAddresses: [`smtp:${earlier}.alt@contoso.example`] });
    await s.sync();

    await s.exoSet('Set-OrganizationConfig', { ExchangeAttributesCloudManagedByDefault: true });
    try {
      assert.equal((await org()).BlockExchangeProvisioningFromOnPremEnabled, true);
      const mailUser = s.name('OrgMu');
      await s.addUser(mailUser, { mail: `${mailUser}@partner.example`, mailNickname: mailUser, targetAddress: `SMTP:${mailUser}@partner.example` });
      const mailbox = s.name('OrgMbx');
      const mailboxDn = await s.addUser(mailbox, { mail: `${mailbox}.primary@contoso.example`, proxyAddresses: [`smtp:${mailbox}.alt@contoso.example`] });
      await s.sync();

      assert.equal(await s.exoGet('Get-Recipient', `${mailUser}@partner.example`), null, 'targetAddress from AD is ignored: no MailUser');
      assert.equal((await s.exoGet<ExoUser>('Get-User', s.upn(mailUser)))?.RecipientTypeDetails, 'User');

      await s.licence(s.upn(mailbox));
      const mb = await s.mailbox(s.upn(mailbox));
      assert.equal(mb.IsExchangeCloudManaged, true, 'the new mailbox starts cloud-managed');
      assert.ok(!mb.EmailAddresses.includes(`smtp:${mailbox}.alt@contoso.example`), `proxyAddresses from AD are ignored: ${mb.EmailAddresses.join(', ')}`);
      assert.equal(mb.PrimarySmtpAddress, `${mailbox}.primary@contoso.example`, 'mail still sets the primary address');
      await s.modify(mailboxDn, replace('proxyAddresses', [`smtp:${mailbox}.alt2@contoso.example`]));
      await s.sync();
      assert.ok(!(await s.mailbox(s.upn(mailbox))).EmailAddresses.includes(`smtp:${mailbox}.alt2@contoso.example`), 'later AD changes are ignored too');

      await s.licence(s.upn(earlier));
      const old = await s.mailbox(s.upn(earlier));
      assert.equal(old.IsExchangeCloudManaged, false, 'a user synced before the switch is not "newly synced"');
      assert.ok(old.EmailAddresses.includes(`smtp:${earlier}.alt@contoso.example`), 'its Exchange attributes still come from AD');
    } finally {
      await s.exoSet('Set-OrganizationConfig', { ExchangeAttributesCloudManagedByDefault: false });
    }
    assert.equal((await org()).BlockExchangeProvisioningFromOnPremEnabled, false, 'switched off again');
  });
});
