import assert from 'node:assert/strict';
import type { TargetRecipient } from '../../src/requests/kinds';
import { exchangeAuthority, kindRefusal, primaryAuthority, profileFrom, type DiscoveredTenant, type ProfileOverrides } from '../../src/requests/tenant-profile';
import { CLOUD_DEFAULT, PROFILE } from './fixtures';

const OU = 'OU=Users,OU=Mailroom,DC=corp,DC=example';
const EXCHANGESTANDARD = { skuId: '4b9405b0-7788-4568-add1-99614e613b69', skuPartNumber: 'EXCHANGESTANDARD', servicePlanNames: ['EXCHANGE_S_STANDARD'], enabledUnits: 25, consumedUnits: 3 };
const E3 = { skuId: '05e9a617-0261-4cee-bb44-138d3ef5d965', skuPartNumber: 'SPE_E3', servicePlanNames: ['EXCHANGE_S_ENTERPRISE', 'TEAMS1'], enabledUnits: 5, consumedUnits: 5 };
const FLOW = { skuId: 'f30db892-07e9-47e9-837c-80727f46fd3d', skuPartNumber: 'FLOW_FREE', servicePlanNames: ['FLOW_P2_VIRAL'] };

function discovered(over: Partial<DiscoveredTenant> = {}): DiscoveredTenant {
  return {
    organizationConfig: { blockExchangeProvisioningFromOnPremEnabled: false },
    acceptedDomains: [{ name: 'Contoso.example', default: true }, { name: 'contoso.onmicrosoft.com', default: false }, { name: 'contoso.mail.onmicrosoft.com', default: false }],
    subscribedSkus: [FLOW, E3, EXCHANGESTANDARD],
    cloudSyncJob: false,
    countryLetterCode: 'DE',
    ...over,
  };
}
const base: ProfileOverrides = { ous: { users: OU } };

describe('tenant profile: from discovery and configuration', function () {
  it('derives everything it can and explains each choice', function () {
    const r = profileFrom(discovered(), base);
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(r.profile, {
      exchangeAttributeMode: 'ad-mastered', sync: 'connect',
      licensing: { mode: 'direct', skuId: EXCHANGESTANDARD.skuId, skuName: 'Exchange Online (Plan 1)' },
      ous: { users: OU, shared: OU, rooms: OU, equipment: OU, mailUsers: OU, contacts: OU, groups: OU },
      upnSuffix: 'contoso.example', mailDomain: 'contoso.example', tenantDomain: 'contoso.onmicrosoft.com', defaultUsageLocation: 'DE',
      roomsKeepLicence: false, naming: PROFILE.naming, cloudManageNewMailboxes: false, adHasExchangeSchema: false,
    });
    const why = (s: string): string => r.choices.filter((c) => c.setting === s).map((c) => `${c.source}: ${c.why}`).join(' | ');
    assert.match(why('exchangeAttributeMode'), /^discovered: BlockExchangeProvisioningFromOnPremEnabled is False/);
    assert.match(why('sync'), /^discovered: No Cloud Sync job: Entra Connect Sync is assumed/);
    assert.match(why('licensing'), /smallest subscription with an Exchange Online plan \(22 free\)/);
    assert.match(why('ous'), /No OU configured for shared; the one for users is used/);
  });

  it('AD\'s Exchange schema: read from AD (discovered), else "no" by default; AD_EXCHANGE_SCHEMA overrides what AD says', function () {
    const choice = (d: DiscoveredTenant, o: ProfileOverrides): [boolean, string] => {
      const r = profileFrom(d, o);
      assert.ok(r.ok);
      return [r.profile.adHasExchangeSchema, r.choices.find((c) => c.setting === 'adHasExchangeSchema')?.source ?? ''];
    };
    assert.deepEqual(choice(discovered({ adHasExchangeSchema: true }), base), [true, 'discovered']);
    assert.deepEqual(choice(discovered({ adHasExchangeSchema: false }), base), [false, 'discovered']);
    assert.deepEqual(choice(discovered({ adHasExchangeSchema: null }), base), [false, 'default']);
    assert.deepEqual(choice(discovered({ adHasExchangeSchema: false }), { ...base, adHasExchangeSchema: true }), [true, 'configured']);
    assert.deepEqual(choice(discovered({ adHasExchangeSchema: true }), { ...base, adHasExchangeSchema: false }), [false, 'configured']);
  });

  it('follows the organisation default into cloud-default mode, with every new mailbox cloud-managed', function () {
    const r = profileFrom(discovered({ organizationConfig: { blockExchangeProvisioningFromOnPremEnabled: true }, cloudSyncJob: true }), { ...base, cloudManageNewMailboxes: false });
    assert.ok(r.ok);
    assert.equal(r.profile.exchangeAttributeMode, 'cloud-default');
    assert.equal(r.profile.sync, 'cloud');
    assert.equal(r.profile.cloudManageNewMailboxes, true);
    assert.match(r.warnings.join(' '), /cloudManageNewMailboxes=false is ignored/);
  });

  it('refuses mixing: ad-mastered while the organisation default is on', function () {
    const r = profileFrom(discovered({ organizationConfig: { blockExchangeProvisioningFromOnPremEnabled: true } }), { ...base, exchangeAttributeMode: 'ad-mastered' });
    assert.ok(!r.ok);
    assert.match(r.errors.join('\n'), /Configured mode ad-mastered, but the organisation default ExchangeAttributesCloudManagedByDefault is on.*Microsoft does not support writing Exchange attributes.*Set-OrganizationConfig -ExchangeAttributesCloudManagedByDefault \$false/);
  });

  it('refuses mixing: cloud-default while the organisation default is off', function () {
    const r = profileFrom(discovered(), { ...base, exchangeAttributeMode: 'cloud-default' });
    assert.ok(!r.ok);
    assert.match(r.errors.join('\n'), /Configured mode cloud-default, but the organisation default .* is off/);
  });

  it('needs the mode configured when the organisation config cannot be read', function () {
    assert.match((profileFrom(discovered({ organizationConfig: null }), base) as { errors: string[] }).errors.join(' '), /could not read the organisation config/);
    const r = profileFrom(discovered({ organizationConfig: null }), { ...base, exchangeAttributeMode: 'cloud-default' });
    assert.ok(r.ok);
    assert.equal(r.profile.exchangeAttributeMode, 'cloud-default');
    assert.match(r.warnings.join(' '), /cannot confirm/);
  });

  it('checks configured licences, domains, OUs, usage location and templates', function () {
    const r = profileFrom(discovered({ countryLetterCode: null }), {
      ous: { users: 'Users', groups: 'OU=Groups' }, licensing: { mode: 'direct', sku: 'FLOW_FREE' }, mailDomain: 'fabrikam.example',
      naming: { alias: '{given}.{last}' }, sync: 'cloud',
    });
    assert.ok(!r.ok);
    const all = r.errors.join('\n');
    assert.match(all, /FLOW_FREE includes no Exchange Online plan.*Subscriptions with Exchange Online: SPE_E3, EXCHANGESTANDARD/);
    assert.match(all, /mail domain fabrikam\.example is not an accepted domain/);
    assert.match(all, /OU for users: "Users" is not a distinguished name/);
    assert.match(all, /OU for groups: "OU=Groups" has no DC= parts/);
    assert.match(all, /No default usage location/);
    assert.match(all, /Naming template alias: "\{given\}\.\{last\}" uses \{given\}/);
    assert.match(all, /no Cloud Sync job was found/);
  });

  it('accepts a licence by part number or id, and a licensing group (Entra or AD)', function () {
    const bySku = profileFrom(discovered(), { ...base, licensing: { mode: 'direct', sku: 'spe_e3' } });
    assert.ok(bySku.ok);
    assert.deepEqual(bySku.profile.licensing, { mode: 'direct', skuId: E3.skuId, skuName: 'Microsoft 365 E3' });
    assert.match(bySku.warnings.join(' '), /Microsoft 365 E3 has no free units/);
    const group = profileFrom(discovered(), { ...base, licensing: { mode: 'group', groupId: 'g1', groupName: 'EXO Users', adGroupDn: 'CN=EXO Users,OU=Groups,DC=corp,DC=example' } });
    assert.ok(group.ok);
    assert.deepEqual(group.profile.licensing, { mode: 'group', groupId: 'g1', groupName: 'EXO Users', adGroupDn: 'CN=EXO Users,OU=Groups,DC=corp,DC=example' });
  });

  it('warns when the UPN suffix is not a verified domain', function () {
    const r = profileFrom(discovered(), { ...base, upnSuffix: 'corp.example' });
    assert.ok(r.ok);
    assert.match(r.warnings.join(' '), /UPN suffix corp\.example is not an accepted \(verified\) domain: Entra ID will give synced users contoso\.onmicrosoft\.com instead/);
  });

  it('fails without any Exchange subscription', function () {
    const r = profileFrom(discovered({ subscribedSkus: [FLOW] }), base);
    assert.ok(!r.ok);
    assert.match(r.errors.join(' '), /No subscription of the tenant includes Exchange Online/);
  });
});

const mailbox = (over: Partial<TargetRecipient> = {}): TargetRecipient => ({
  identity: 'x', name: 'X', type: 'UserMailbox', primarySmtpAddress: 'x@contoso.example', isDirSynced: true, isExchangeCloudManaged: false, adDn: 'CN=X,DC=corp,DC=example', ...over,
});

describe('tenant profile: which side holds the authority', function () {
  it('refuses AD mail users, contacts and groups in cloud-default mode only', function () {
    for (const k of ['mail-user', 'mail-contact', 'distribution-group'] as const) {
      assert.equal(kindRefusal(k, PROFILE), null);
      assert.match(kindRefusal(k, CLOUD_DEFAULT) ?? '', /does not support/);
    }
    assert.equal(kindRefusal('user-mailbox', CLOUD_DEFAULT), null);
    assert.equal(kindRefusal('shared-mailbox', CLOUD_DEFAULT), null);
  });

  it('mailboxes: AD unless cloud-managed; cloud-default moves legacy ones to the cloud first', function () {
    assert.deepEqual(exchangeAuthority(mailbox(), PROFILE), { side: 'ad' });
    assert.deepEqual(exchangeAuthority(mailbox({ isExchangeCloudManaged: true }), PROFILE), { side: 'exo', makeCloudManagedFirst: false });
    assert.deepEqual(exchangeAuthority(mailbox(), CLOUD_DEFAULT), { side: 'exo', makeCloudManagedFirst: true });
    assert.deepEqual(exchangeAuthority(mailbox({ isDirSynced: false }), PROFILE), { side: 'exo', makeCloudManagedFirst: false });
  });

  it('mail users, contacts and groups: AD (no IsExchangeCloudManaged); refused in cloud-default', function () {
    for (const type of ['MailUser', 'MailContact', 'MailUniversalSecurityGroup']) {
      const t = mailbox({ type, isExchangeCloudManaged: null });
      assert.deepEqual(exchangeAuthority(t, PROFILE), { side: 'ad' });
      assert.equal(exchangeAuthority(t, CLOUD_DEFAULT).side, 'refused');
    }
    assert.equal(exchangeAuthority(mailbox({ type: 'GuestMailUser', isDirSynced: false }), PROFILE).side, 'exo');
    assert.equal(exchangeAuthority(mailbox({ type: 'User' }), PROFILE).side, 'refused');
  });

  it('the primary address: AD mail in ad-mastered mode even when cloud-managed (it overrides), always with proxyAddresses (Entra\'s proxy calculation takes an SMTP: entry before mail)', function () {
    assert.deepEqual(primaryAuthority(mailbox(), PROFILE), { side: 'ad', rewriteProxyAddresses: true });
    assert.deepEqual(primaryAuthority(mailbox({ isExchangeCloudManaged: true }), PROFILE), { side: 'ad', rewriteProxyAddresses: true });
    assert.deepEqual(primaryAuthority(mailbox({ type: 'MailContact', isExchangeCloudManaged: null }), PROFILE), { side: 'ad', rewriteProxyAddresses: true });
    assert.deepEqual(primaryAuthority(mailbox({ isExchangeCloudManaged: true }), CLOUD_DEFAULT), { side: 'exo', makeCloudManagedFirst: false, alignAdMail: true });
    assert.deepEqual(primaryAuthority(mailbox(), CLOUD_DEFAULT), { side: 'exo', makeCloudManagedFirst: true, alignAdMail: true });
    assert.deepEqual(primaryAuthority(mailbox({ isDirSynced: false }), CLOUD_DEFAULT), { side: 'exo', makeCloudManagedFirst: false, alignAdMail: false });
  });
});
