import assert from 'node:assert/strict';
import { DIRECT_PROPERTIES } from '../../src/sandbox/cloud/exo/lookup';
import { contactProps, getContactProps, getGroupProps, groupProps, mailboxProps, mailUserProps, recipientProps, userProps } from '../../src/sandbox/cloud/exo/views';
import type { ExoRecipient, Tenant } from '../../src/sandbox/cloud/tenant';
import { adUser, credentialFor, EXCHANGESTANDARD, ExoClient, httpsCall, startTestCloud, type ExoErrorBody, type ExoPage, type TestCloud } from './cloud-fixture';

function detail(body: unknown): string {
  return (body as ExoErrorBody).error.details[0]!.message;
}

describe('cloud emulator: Exchange Online InvokeCommand', function () {
  let t: TestCloud;
  let exo: ExoClient;

  /** Syncs a user from "AD" and licenses it with EXCHANGESTANDARD (mailbox at once: delay 0). */
  function mailboxUser(sam: string, mail: string | null, extra: Parameters<typeof adUser>[1] = {}): { entraId: string; immutableId: string } {
    const out = t.tenant.upsertSyncedUser(adUser(sam, { mail, ...extra }));
    t.tenant.updateUser(out.entraId, { usageLocation: 'DE' });
    t.tenant.assignLicense(out.entraId, [{ skuId: EXCHANGESTANDARD }], []);
    return out;
  }

  before(async function () {
    t = await startTestCloud();
    exo = new ExoClient(t.cloud, t.credential);
    t.tenant.upsertSyncedUser(adUser('nomailbox', { mail: 'nomailbox@contoso.com' }));
    mailboxUser('alice', 'alice@contoso.com');
    mailboxUser('bob', null);
  });

  after(async function () {
    await t.stop();
  });

  describe('reading recipients', function () {
    it('lists users without a mailbox in Get-User but not in Get-Mailbox or Get-Recipient', async function () {
      const users = await exo.run('Get-User');
      assert.deepEqual(
        users.values.map((u) => [u.Name, u.RecipientTypeDetails]),
        [
          ['nomailbox', 'User'],
          ['alice', 'UserMailbox'],
          ['bob', 'UserMailbox'],
        ],
      );
      const mailboxes = await exo.run('Get-Mailbox', { ResultSize: 'Unlimited' });
      assert.deepEqual(mailboxes.values.map((m) => m.Name), ['alice', 'bob']);
      const recipients = await exo.run('Get-Recipient', { RecipientTypeDetails: 'UserMailbox' });
      assert.equal(recipients.values.length, 2);
    });

    it('shows the mailbox fields Mailroom reads', async function () {
      const res = await exo.invoke('Get-Mailbox', { Identity: 'alice@contoso.com' });
      assert.equal(res.status, 200);
      const page = res.json as ExoPage;
      assert.match(page['@odata.context']!, /\/adminapi\/beta\/.+\/\$metadata#Collection\(Exchange\.GenericHashTable\)$/);
      assert.deepEqual(page['@adminapi.warnings'], []);
      const m = page.value[0]!;
      assert.equal(m.RecipientTypeDetails, 'UserMailbox');
      assert.equal(m.RecipientType, 'UserMailbox');
      assert.equal(m.PrimarySmtpAddress, 'alice@contoso.com');
      assert.equal(m.WindowsEmailAddress, 'alice@contoso.com');
      assert.deepEqual(m.EmailAddresses, ['SMTP:alice@contoso.com', 'SIP:alice@contoso.com', 'smtp:alice@contoso.onmicrosoft.com']);
      assert.equal(m.IsDirSynced, true);
      assert.equal(m.IsExchangeCloudManaged, false);
      assert.match(String(m.ExchangeGuid), /^[0-9a-f-]{36}$/);
      assert.equal(m.ExternalDirectoryObjectId, t.tenant.user('alice@contoso.com')!.id);
      assert.equal(m.UserPrincipalName, 'alice@contoso.com');
      const bob = (await exo.run('Get-Mailbox', { Identity: 'bob' })).values[0]!;
      assert.equal(bob.PrimarySmtpAddress, 'bob@contoso.com', 'the UPN when AD has no mail');
    });

    it('resolves identities by alias, name, address, UPN, ExternalDirectoryObjectId and Guid', async function () {
      const alice = (await exo.run('Get-Mailbox', { Identity: 'alice' })).values[0]!;
      for (const id of ['alice', 'alice@contoso.onmicrosoft.com', 'SMTP:alice@contoso.com', String(alice.ExternalDirectoryObjectId), String(alice.Guid)]) {
        const r = await exo.run('Get-Recipient', { Identity: id });
        assert.equal(r.values[0]!.Guid, alice.Guid, id);
      }
    });

    it("answers an unknown identity with Exchange's ManagementObjectNotFoundException", async function () {
      const res = await exo.invoke('Get-Mailbox', { Identity: 'nomailbox' });
      assert.equal(res.status, 404);
      const body = res.json as ExoErrorBody;
      assert.equal(body.error.code, 'NotFound');
      assert.equal(body.error.message, 'Error executing cmdlet');
      assert.match(detail(body), /^Ex6F9304\|Microsoft\.Exchange\.Configuration\.Tasks\.ManagementObjectNotFoundException\|The operation couldn't be performed because object 'nomailbox' couldn't be found on '[A-Z0-9.]+'\.$/);
    });

    it("answers a failed cmdlet in Exchange's shape: details[].code Context (Client for an unknown identity), innererror.internalexception", async function () {
      const bad = await exo.invoke('Get-Mailbox', { Filter: "Alias -eq 'alice' -and" });
      assert.equal(bad.status, 400);
      const body = bad.json as { error: { code: string; message: string; details: { code: string; target: string; message: string }[]; innererror: { type: string; internalexception: { message: string; type: string } } } };
      assert.equal(body.error.code, 'BadRequest');
      assert.equal(body.error.message, 'Error executing cmdlet');
      assert.equal(body.error.details[0]!.code, 'Context');
      assert.equal(body.error.innererror.type, 'Microsoft.Exchange.Admin.OData.Core.ODataServiceException');
      assert.equal(body.error.innererror.internalexception.type, 'System.Management.Automation.ParameterBindingException');
      assert.equal(`|${body.error.innererror.internalexception.type}|${body.error.innererror.internalexception.message}`, body.error.details[0]!.message.slice(body.error.details[0]!.message.indexOf('|')));
      const missing = await exo.invoke('Get-Mailbox', { Identity: 'nobody-at-all' });
      assert.equal((missing.json as typeof body).error.details[0]!.code, 'Client');
    });

    it('filters with -Filter but not on IsExchangeCloudManaged (field test: "did not work"; not in Microsoft\'s filterable-properties list)', async function () {
      const ok = await exo.run('Get-Mailbox', { Filter: "IsDirSynced -eq $true -and PrimarySmtpAddress -like 'ali*'" });
      assert.deepEqual(ok.values.map((m) => m.Name), ['alice']);
      const byAddress = await exo.run('Get-Recipient', { Filter: "EmailAddresses -eq 'smtp:bob@contoso.onmicrosoft.com'" });
      assert.deepEqual(byAddress.values.map((m) => m.Name), ['bob']);
      const bad = await exo.invoke('Get-Mailbox', { Filter: 'IsExchangeCloudManaged -eq $true' });
      assert.equal(bad.status, 400);
      assert.match(
        detail(bad.json),
        /\|System\.Management\.Automation\.ParameterBindingException\|Cannot bind parameter 'Filter' to the target\. Exception setting "Filter": ""IsExchangeCloudManaged" is not a recognized filterable property\. Valid property names are: /,
      );
      const syntax = await exo.invoke('Get-Mailbox', { Filter: "Alias -eq 'alice' -and" });
      assert.equal(syntax.status, 400);
      assert.match(detail(syntax.json), /Invalid filter syntax/);
    });

    describe('-Filter properties per cmdlet ("Filterable properties for the Filter parameter on Exchange cmdlets", learn.microsoft.com/powershell/exchange/filter-properties)', function () {
      const refused = async (cmdlet: string, filter: string, property: string): Promise<void> => {
        const res = await exo.invoke(cmdlet, { Filter: filter });
        assert.equal(res.status, 400, `${cmdlet} -Filter "${filter}"`);
        assert.ok(
          detail(res.json).includes(`""${property}" is not a recognized filterable property.`),
          `${cmdlet} -Filter "${filter}": ${detail(res.json)}`,
        );
      };

      it('UserPrincipalName: Get-Mailbox, Get-MailUser and Get-User take it; Get-Recipient does not ("A property is filterable only on the cmdlets listed in its section")', async function () {
        const upn = "UserPrincipalName -eq 'alice@contoso.com'";
        assert.deepEqual((await exo.run('Get-Mailbox', { Filter: upn })).values.map((m) => m.Name), ['alice']);
        assert.deepEqual((await exo.run('Get-User', { Filter: upn })).values.map((m) => m.Name), ['alice']);
        assert.deepEqual((await exo.run('Get-MailUser', { Filter: upn })).values, []);
        await refused('Get-Recipient', upn, 'UserPrincipalName');
        await refused('Get-Recipient', "(Alias -eq 'x') -or (UserPrincipalName -eq 'alice@contoso.com')", 'UserPrincipalName');
      });

      it('WindowsEmailAddress is not filterable on Get-Recipient; Alias, PrimarySmtpAddress and EmailAddresses are not on Get-User', async function () {
        await refused('Get-Recipient', "WindowsEmailAddress -eq 'alice@contoso.com'", 'WindowsEmailAddress');
        assert.deepEqual((await exo.run('Get-Mailbox', { Filter: "WindowsEmailAddress -eq 'alice@contoso.com'" })).values.map((m) => m.Name), ['alice']);
        await refused('Get-User', "Alias -eq 'alice'", 'Alias');
        await refused('Get-User', "PrimarySmtpAddress -eq 'alice@contoso.com'", 'PrimarySmtpAddress');
        await refused('Get-User', "EmailAddresses -eq 'alice@contoso.com'", 'EmailAddresses');
      });

      it('ExternalDirectoryObjectId, Guid and ExchangeGuid find a recipient with Get-Recipient', async function () {
        const alice = (await exo.run('Get-Mailbox', { Identity: 'alice' })).values[0]!;
        for (const prop of ['ExternalDirectoryObjectId', 'Guid', 'ExchangeGuid']) {
          const r = await exo.run('Get-Recipient', { Filter: `${prop} -eq '${String(alice[prop])}'` });
          assert.deepEqual(r.values.map((v) => v.Name), ['alice'], prop);
        }
      });

      it('EmailAddresses: a complete address matches with or without smtp:, a wildcard only with the prefix (the section\'s lila@fabrikam.com example)', async function () {
        assert.deepEqual((await exo.run('Get-Recipient', { Filter: "EmailAddresses -eq 'alice@contoso.com'" })).values.map((v) => v.Name), ['alice']);
        assert.deepEqual((await exo.run('Get-Recipient', { Filter: "EmailAddresses -eq 'SMTP:alice@contoso.com'" })).values.map((v) => v.Name), ['alice']);
        assert.deepEqual((await exo.run('Get-Recipient', { Filter: "EmailAddresses -like 'alice*'" })).values, []);
        assert.deepEqual((await exo.run('Get-Recipient', { Filter: "EmailAddresses -like 'smtp:alice*'" })).values.map((v) => v.Name), ['alice']);
      });

      it('person fields (FirstName, Department …) filter Get-User and Get-Recipient, not Get-Mailbox', async function () {
        mailboxUser('frida', 'frida@contoso.com', { givenName: 'Frida', department: 'Facilities' });
        const r = await exo.run('Get-Recipient', { Filter: "FirstName -eq 'Frida' -and RecipientTypeDetails -eq 'UserMailbox'" });
        assert.deepEqual(r.values.map((v) => v.Name), ['frida']);
        assert.deepEqual((await exo.run('Get-User', { Filter: "Department -eq 'Facilities'" })).values.map((v) => v.Name), ['frida']);
        await refused('Get-Mailbox', "FirstName -eq 'Frida'", 'FirstName');
      });
    });

    it('pages with Prefer: odata.maxpagesize and @odata.nextLink, re-POSTing the same body', async function () {
      for (let i = 0; i < 23; i++) await exo.run('New-Mailbox', { Shared: true, Name: `Pool ${i}`, Alias: `pool${i}` });
      const all = await exo.run('Get-Mailbox', { RecipientTypeDetails: 'SharedMailbox', ResultSize: 'Unlimited' }, 10);
      assert.equal(all.pages, 3);
      assert.equal(all.values.length, 23);
      assert.equal(new Set(all.values.map((v) => v.Guid)).size, 23);
      const first = (await exo.invoke('Get-Mailbox', { RecipientTypeDetails: 'SharedMailbox' }, { pageSize: 10 })).json as ExoPage;
      const tampered = await exo.invoke('Get-Mailbox', { RecipientTypeDetails: 'UserMailbox' }, { pageSize: 10, url: first['@odata.nextLink']! });
      assert.equal(tampered.status, 400, 'the nextLink only pages the same request');
    });

    it('lists groups as Universal / Universal, SecurityEnabled', async function () {
      const base = { samAccountName: 'x', scope: 'global' as const };
      t.tenant.upsertSyncedGroup({ ...base, objectGuid: 'e0000000-0000-4000-8000-000000000001', distinguishedName: 'CN=Sales DL,OU=Groups,DC=contoso,DC=com', securityEnabled: false, mail: 'sales@contoso.com', mailNickname: 'sales' });
      t.tenant.upsertSyncedGroup({ ...base, objectGuid: 'e0000000-0000-4000-8000-000000000002', distinguishedName: 'CN=Sec Team,OU=Groups,DC=contoso,DC=com', securityEnabled: true, mail: 'sec@contoso.com', mailNickname: 'sec' });
      t.tenant.upsertSyncedGroup({ ...base, objectGuid: 'e0000000-0000-4000-8000-000000000003', distinguishedName: 'CN=No Mail,OU=Groups,DC=contoso,DC=com', securityEnabled: true });
      const dgs = await exo.run('Get-DistributionGroup');
      assert.deepEqual(dgs.values.map((g) => [g.Name, g.GroupType, g.RecipientTypeDetails]), [
        ['Sales DL', 'Universal', 'MailUniversalDistributionGroup'],
        ['Sec Team', 'Universal, SecurityEnabled', 'MailUniversalSecurityGroup'],
      ]);
      const groups = await exo.run('Get-Group', { Identity: 'sec@contoso.com' });
      assert.equal(groups.values[0]!.GroupType, 'Universal, SecurityEnabled');
    });

    it('lists accepted domains and the organisation config', async function () {
      const domains = await exo.run('Get-AcceptedDomain');
      assert.deepEqual(domains.values.map((d) => [d.DomainName, d.InitialDomain, d.Default]), [
        ['contoso.onmicrosoft.com', true, false],
        ['contoso.com', false, true],
      ]);
      const org = await exo.run('Get-OrganizationConfig');
      assert.equal(org.values[0]!.BlockExchangeProvisioningFromOnPremEnabled, false);
    });
  });

  describe('changing mailboxes', function () {
    it('converts a mailbox with Set-Mailbox -Type Shared, and it stays when the licence goes', async function () {
      const u = mailboxUser('frontdesk', 'frontdesk@contoso.com', { accountEnabled: false });
      const res = await exo.run('Set-Mailbox', { Identity: 'frontdesk@contoso.com', Type: 'Shared' });
      assert.deepEqual(res.values, []);
      t.tenant.assignLicense(u.entraId, [], [EXCHANGESTANDARD]);
      const m = (await exo.run('Get-Mailbox', { Identity: 'frontdesk' })).values[0]!;
      assert.equal(m.RecipientTypeDetails, 'SharedMailbox');
      assert.equal(m.IsShared, true);
      assert.equal(m.SKUAssigned, false);
      await exo.run('Set-Mailbox', { Identity: 'frontdesk', Type: 'Room' });
      assert.equal((await exo.run('Get-Mailbox', { Identity: 'frontdesk' })).values[0]!.ResourceType, 'Room');
    });

    it('refuses Exchange attributes of a synced mailbox until IsExchangeCloudManaged, then accepts them', async function () {
      mailboxUser('carol', 'carol@contoso.com');
      const add = { EmailAddresses: { '@odata.type': '#Exchange.GenericHashTable', Add: 'smtp:c.alias@contoso.com' } };
      const refused = await exo.invoke('Set-Mailbox', { Identity: 'carol', ...add });
      assert.equal(refused.status, 400);
      const body = refused.json as ExoErrorBody;
      assert.equal(body.error.code, 'BadRequest');
      assert.equal(
        detail(body).split('|').slice(1).join('|'),
        `System.InvalidOperationException|The operation on mailbox "carol" failed because it's out of the current user's write scope. ` +
          `The action 'Set-Mailbox', 'EmailAddresses', can't be performed on the object 'carol' because the object is being synchronized ` +
          'from your on-premises organization. This action should be performed on the object in your on-premises organization.',
      );
      await exo.run('Set-Mailbox', { Identity: 'carol', IsExchangeCloudManaged: true });
      await exo.run('Set-Mailbox', { Identity: 'carol', ...add });
      let m = (await exo.run('Get-Mailbox', { Identity: 'carol' })).values[0]!;
      assert.equal(m.IsExchangeCloudManaged, true);
      assert.ok((m.EmailAddresses as string[]).includes('smtp:c.alias@contoso.com'));

      await exo.run('Set-Mailbox', { Identity: 'carol', EmailAddresses: { '@odata.type': '#Exchange.GenericHashTable', Add: ['smtp:c2@contoso.com'], Remove: ['smtp:c.alias@contoso.com'] } });
      m = (await exo.run('Get-Mailbox', { Identity: 'carol' })).values[0]!;
      assert.deepEqual(m.EmailAddresses, ['SMTP:carol@contoso.com', 'SIP:carol@contoso.com', 'smtp:carol@contoso.onmicrosoft.com', 'smtp:c2@contoso.com']);

      const graphUser = (await t.graph.api('/users/carol@contoso.com').select('proxyAddresses,mail').get()) as { proxyAddresses: string[] };
      assert.ok(graphUser.proxyAddresses.includes('smtp:c2@contoso.com'), 'Entra proxyAddresses follow EXO');
    });

    it('changes the primary with an SMTP: entry and keeps the old one; refuses removing the primary', async function () {
      await exo.run('Set-Mailbox', { Identity: 'carol', EmailAddresses: { '@odata.type': '#Exchange.GenericHashTable', Add: 'SMTP:carol.new@contoso.com' } });
      let m = (await exo.run('Get-Mailbox', { Identity: 'carol' })).values[0]!;
      assert.equal(m.PrimarySmtpAddress, 'carol.new@contoso.com');
      assert.equal(m.WindowsEmailAddress, 'carol.new@contoso.com');
      assert.ok((m.EmailAddresses as string[]).includes('smtp:carol@contoso.com'));
      const refused = await exo.invoke('Set-Mailbox', { Identity: 'carol', EmailAddresses: { '@odata.type': '#Exchange.GenericHashTable', Remove: 'SMTP:carol.new@contoso.com' } });
      assert.equal(refused.status, 400);
      await exo.run('Set-Mailbox', { Identity: 'carol', EmailAddresses: ['SMTP:carol@contoso.com', 'smtp:carol@contoso.onmicrosoft.com'], HiddenFromAddressListsEnabled: true });
      m = (await exo.run('Get-Mailbox', { Identity: 'carol' })).values[0]!;
      assert.deepEqual(m.EmailAddresses, ['SMTP:carol@contoso.com', 'smtp:carol@contoso.onmicrosoft.com']);
      assert.equal(m.HiddenFromAddressListsEnabled, true);
    });

    it('refuses an address another recipient has, and a domain that is not accepted', async function () {
      const taken = await exo.invoke('Set-Mailbox', { Identity: 'carol', EmailAddresses: { '@odata.type': '#Exchange.GenericHashTable', Add: 'smtp:alice@contoso.com' } });
      assert.equal(taken.status, 400);
      assert.match(detail(taken.json), /The proxy address "smtp:alice@contoso.com" is already being used by the proxy addresses or LegacyExchangeDN/);
      const foreign = await exo.invoke('Set-Mailbox', { Identity: 'carol', WindowsEmailAddress: 'carol@fabrikam.com' });
      assert.equal(foreign.status, 400);
      assert.match(detail(foreign.json), /not an accepted domain/);
    });

    it('keeps identity attributes AD-mastered even for cloud-managed mailboxes', async function () {
      const res = await exo.invoke('Set-Mailbox', { Identity: 'carol', DisplayName: 'Carol C.' });
      assert.equal(res.status, 400);
      assert.match(detail(res.json), /'Set-Mailbox', 'DisplayName'/);
    });

    it('warns when nothing changed', async function () {
      const res = await exo.run('Set-Mailbox', { Identity: 'carol', HiddenFromAddressListsEnabled: true });
      assert.deepEqual(res.warnings, ["The command completed successfully but no settings of 'carol' have been modified."]);
    });

    it('still takes the primary address from a changed AD mail after cloud management', async function () {
      const alice = t.tenant.user('alice@contoso.com')!;
      t.tenant.upsertSyncedUser({ ...alice.ad!, mail: 'alice.smith@contoso.com' });
      const m = (await exo.run('Get-Mailbox', { Identity: 'alice' })).values[0]!;
      assert.deepEqual(m.EmailAddresses, ['SMTP:alice.smith@contoso.com', 'SIP:alice@contoso.com', 'smtp:alice@contoso.onmicrosoft.com', 'smtp:alice@contoso.com']);
    });

    it('creates cloud-only shared and room mailboxes with New-Mailbox', async function () {
      const created = await exo.run('New-Mailbox', { Shared: true, Name: 'Helpdesk', Alias: 'helpdesk', PrimarySmtpAddress: 'helpdesk@contoso.com' });
      const m = created.values[0]!;
      assert.equal(m.RecipientTypeDetails, 'SharedMailbox');
      assert.equal(m.IsDirSynced, false);
      assert.deepEqual(m.EmailAddresses, ['SMTP:helpdesk@contoso.com', 'smtp:helpdesk@contoso.onmicrosoft.com']);
      await exo.run('Set-Mailbox', { Identity: 'helpdesk', EmailAddresses: { '@odata.type': '#Exchange.GenericHashTable', Add: 'smtp:support@contoso.com' } });
      const room = await exo.run('New-Mailbox', { Room: true, Name: 'Room 101' });
      assert.equal(room.values[0]!.RecipientTypeDetails, 'RoomMailbox');
    });
  });

  describe('mail users, contacts and the organisation default', function () {
    it('lets Set-MailUser change a synced alias and ExchangeGuid but not custom attributes (dual-write error)', async function () {
      t.tenant.upsertSyncedUser(adUser('ext1', { mail: 'ext1@partner.com', mailNickname: 'ext1', targetAddress: 'SMTP:ext1@partner.com' }));
      await exo.run('Set-MailUser', { Identity: 'ext1', Alias: 'partner-ext1', ExchangeGuid: '1b2c3d4e-0000-4000-8000-000000000001' });
      const mu = (await exo.run('Get-MailUser', { Identity: 'partner-ext1' })).values[0]!;
      assert.equal(mu.ExchangeGuid, '1b2c3d4e-0000-4000-8000-000000000001');
      assert.equal(mu.ExternalEmailAddress, 'SMTP:ext1@partner.com');
      const refused = await exo.invoke('Set-MailUser', { Identity: 'ext1@partner.com', CustomAttribute1: 'x' });
      assert.equal(refused.status, 400);
      assert.match(
        detail(refused.json),
        /\|An Azure Active Directory call was made to keep object in sync between Azure Active Directory and Exchange Online\. However, it failed\. Detailed error message: Unable to update the specified properties for on-premises mastered Directory Sync objects or objects currently undergoing migration\. DualWrite \(Graph\) RequestId: [0-9a-f-]{36}/,
      );
    });

    it('refuses Set-MailContact on a synced contact (or, with the knob, reports success and changes nothing)', async function () {
      t.tenant.upsertSyncedContact({ objectGuid: 'f0000000-0000-4000-8000-000000000001', distinguishedName: 'CN=Partner Contact,OU=Contacts,DC=contoso,DC=com', mail: 'contact@partner.com' });
      const refused = await exo.invoke('Set-MailContact', { Identity: 'contact@partner.com', HiddenFromAddressListsEnabled: true });
      assert.equal(refused.status, 400);
      assert.match(detail(refused.json), /because the object is being synchronized from your on-premises organization/);
      t.cloud.setKnobs({ syncedContactWrites: 'silent' });
      try {
        const silent = await exo.run('Set-MailContact', { Identity: 'contact@partner.com', HiddenFromAddressListsEnabled: true });
        assert.deepEqual(silent.warnings, []);
        const c = (await exo.run('Get-MailContact', { Identity: 'contact@partner.com' })).values[0]!;
        assert.equal(c.HiddenFromAddressListsEnabled, false, 'nothing was written');
      } finally {
        t.cloud.setKnobs({ syncedContactWrites: 'error' });
      }
    });

    it('creates cloud-only mail users with New-MailUser', async function () {
      const res = await exo.run('New-MailUser', { Name: 'MailUser5Cloud', Alias: 'mailuser5cloud', ExternalEmailAddress: 'mailuser5cloud@partner.com', MicrosoftOnlineServicesID: 'mailuser5cloud@contoso.com', Password: 'Sandbox-Only-1!' });
      assert.equal(res.values[0]!.RecipientTypeDetails, 'MailUser');
      assert.equal(res.values[0]!.IsDirSynced, false);
      assert.ok(t.tenant.user('mailuser5cloud@contoso.com'));
    });

    it('turns on ExchangeAttributesCloudManagedByDefault: new synced users get cloud-managed mailboxes', async function () {
      await exo.run('Set-OrganizationConfig', { ExchangeAttributesCloudManagedByDefault: true });
      assert.equal((await exo.run('Get-OrganizationConfig')).values[0]!.BlockExchangeProvisioningFromOnPremEnabled, true);
      mailboxUser('dora', 'dora@contoso.com');
      const m = (await exo.run('Get-Mailbox', { Identity: 'dora' })).values[0]!;
      assert.equal(m.IsExchangeCloudManaged, true);
      await exo.run('Set-Mailbox', { Identity: 'dora', HiddenFromAddressListsEnabled: true });
      await exo.run('Set-OrganizationConfig', { ExchangeAttributesServerManagedByDefault: true });
      assert.equal((await exo.run('Get-OrganizationConfig')).values[0]!.BlockExchangeProvisioningFromOnPremEnabled, false);
    });
  });

  describe('protocol edges', function () {
    it('accepts the tenant domain in the URL', async function () {
      const res = await exo.invoke('Get-AcceptedDomain', {}, { url: `${t.cloud.url}/adminapi/beta/${t.cloud.tenantDomain}/InvokeCommand` });
      assert.equal(res.status, 200);
    });

    it('answers an unknown cmdlet with 403 and no body, an unknown parameter with ParameterBindingException', async function () {
      const unknown = await exo.invoke('Get-Nothing');
      assert.equal(unknown.status, 403);
      assert.equal(unknown.text, '');
      const badParam = await exo.invoke('Get-Mailbox', { Idenitty: 'alice' });
      assert.equal(badParam.status, 400);
      assert.match(detail(badParam.json), /ParameterBindingException\|A parameter cannot be found that matches parameter name 'Idenitty'\./);
    });

    it('refuses a Graph token (401) and an app without Exchange.ManageAsApp (403)', async function () {
      const graphToken = (await t.credential.getToken('https://graph.microsoft.com/.default')).token;
      const res = await httpsCall(t.cloud, 'POST', t.cloud.exoUrl, { CmdletInput: { CmdletName: 'Get-Mailbox', Parameters: {} } }, { authorization: `Bearer ${graphToken}` });
      assert.equal(res.status, 401);
      assert.match(String(res.headers['www-authenticate']), /^Bearer /);
      const app = t.tenant.registerApp({ displayName: 'GraphOnly', exchangeRoles: [] });
      const other = new ExoClient(t.cloud, credentialFor(t.cloud, app.secrets[0], app.clientId));
      assert.equal((await other.invoke('Get-Mailbox')).status, 403);
    });

    it('answers injected throttling with 429 and Retry-After', async function () {
      t.cloud.injectFaults({ status: 429, count: 1, scope: 'exo', retryAfterSeconds: 7 });
      const res = await exo.invoke('Get-Mailbox');
      assert.equal(res.status, 429);
      assert.equal(res.headers['retry-after'], '7');
      assert.equal((await exo.invoke('Get-Mailbox')).status, 200);
    });

      it('reads the properties a -Filter takes straight from a recipient exactly as every Get-* view shows them', async function () {
      // whatever earlier tests made, plus a cloud group, a contact and a mail user: every kind of recipient
      await exo.run('New-DistributionGroup', { Name: 'Filter Views', Alias: 'filterviews', PrimarySmtpAddress: 'filterviews@contoso.com' });
      await exo.run('New-MailContact', { Name: 'Filter Contact', ExternalEmailAddress: 'someone@fabrikam.com' });
      // each view with the recipients its cmdlet shows (Get-Mailbox, Get-User, Get-Recipient, Get-MailUser, Get-MailContact, Get-Contact, Get-DistributionGroup, Get-Group)
      const groups = (r: { recipientTypeDetails: string }) => r.recipientTypeDetails.startsWith('MailUniversal');
      const views = [
        ['mailboxProps', mailboxProps, (r) => r.recipientTypeDetails.endsWith('Mailbox')],
        ['userProps', userProps, (r) => r.objectKind === 'user'],
        ['recipientProps', recipientProps, (r) => r.recipientTypeDetails !== 'User'],
        ['mailUserProps', mailUserProps, (r) => r.recipientTypeDetails.endsWith('MailUser')],
        ['contactProps', contactProps, (r) => r.recipientTypeDetails === 'MailContact'],
        ['getContactProps', getContactProps, (r) => r.recipientTypeDetails === 'MailContact'],
        ['groupProps', groupProps, groups],
        ['getGroupProps', getGroupProps, groups],
      ] as const satisfies readonly (readonly [string, (t: Tenant, r: ExoRecipient) => Record<string, unknown>, (r: ExoRecipient) => boolean])[];
      let compared = 0;
      for (const r of t.tenant.recipients()) {
        for (const [name, view, shows] of views) {
          if (!shows(r)) continue;
          const shown = view(t.tenant, r);
          for (const [prop, direct] of Object.entries(DIRECT_PROPERTIES)) {
            if (!(prop in shown)) continue;
            assert.deepEqual(direct(t.tenant, r), shown[prop], `${name} of ${r.name} (${r.recipientTypeDetails}): ${prop}`);
            compared++;
          }
        }
      }
      assert.ok(compared > 100, `compared ${compared} values`);
      const kinds = new Set(t.tenant.recipients().map((r) => r.recipientTypeDetails));
      for (const kind of ['User', 'UserMailbox', 'MailContact', 'MailUniversalDistributionGroup']) assert.ok(kinds.has(kind as never), kind);
    });
  });
});
