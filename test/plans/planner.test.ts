import assert from 'node:assert/strict';
import { CLOUD_MANAGED_WARNING, groupTypeOf, plan, PlanRefusedError, TIMEOUTS, type Plan } from '../../src/plans/planner';
import { STEP_ACTIONS, systemOf, type StepAction, type StepOf } from '../../src/plans/steps';
import type { RecipientRequest, TargetRecipient } from '../../src/requests/kinds';
import type { TenantProfile } from '../../src/requests/tenant-profile';
import { BASE, CLOUD_DEFAULT, PROFILE } from '../requests/fixtures';
import { AD_GROUP, contact, ENTRA_GROUP, equipment, group, mailUser, room, shared, target, userMailbox } from './fixtures';

const AD: TenantProfile = PROFILE;
const AD_CLOUDSYNC: TenantProfile = { ...PROFILE, sync: 'cloud' };
const CD: TenantProfile = CLOUD_DEFAULT;
const CD_CLOUDSYNC: TenantProfile = { ...CLOUD_DEFAULT, sync: 'cloud' };
const ALL_MODES: [string, TenantProfile][] = [['ad-mastered/connect', AD], ['ad-mastered/cloud', AD_CLOUDSYNC], ['cloud-default/connect', CD], ['cloud-default/cloud', CD_CLOUDSYNC]];

const actions = (p: Plan): string[] => p.steps.map((s) => s.action);
function step<A extends StepAction>(p: Plan, action: A): StepOf<A> {
  const s = p.steps.find((x): x is StepOf<A> => x.action === action);
  assert.ok(s, `no ${action} in ${actions(p).join(', ')}`);
  return s;
}

const cloudManaged = target({ isExchangeCloudManaged: true });
const cloudOnly = target({ isDirSynced: false, adDn: undefined });
const contactTarget = target({ name: 'Vera Vendor', type: 'MailContact', primarySmtpAddress: 'vera@vendor.example', isExchangeCloudManaged: null, adDn: `CN=Vera Vendor,OU=Contacts,${BASE}`, userPrincipalName: undefined });
const mailUserTarget = target({ name: 'Pat Partner', type: 'MailUser', primarySmtpAddress: 'pat@partner.example', isExchangeCloudManaged: null });
const groupTarget = target({ name: 'All Staff', type: 'MailUniversalDistributionGroup', primarySmtpAddress: 'allstaff@contoso.example', isExchangeCloudManaged: null, adDn: `CN=All Staff,OU=Groups,${BASE}`, userPrincipalName: undefined });

describe('planner: user mailbox', function () {
  it('ad-mastered: AD user with mail and proxyAddresses, sync, usage location, licence, mailbox', function () {
    for (const p of [AD, AD_CLOUDSYNC]) {
      const pl = plan(userMailbox, p);
      assert.deepEqual(actions(pl), ['ad.createUser', 'sync.awaitUser', 'entra.ensureUsageLocation', 'entra.assignLicence', 'exo.awaitMailbox']);
    }
    const pl = plan(userMailbox, AD);
    assert.deepEqual(pl.steps.map((s) => s.id), ['ad.create-user', 'sync.await-user', 'entra.usage-location', 'entra.assign-licence', 'exo.await-mailbox']);
    assert.deepEqual(step(pl, 'ad.createUser').input, {
      dn: `CN=Ada Lovelace,OU=Users,${BASE}`, parentDn: `OU=Users,${BASE}`, cn: 'Ada Lovelace', samAccountName: 'alovelace', userPrincipalName: 'ada.lovelace@contoso.example',
      attributes: { givenName: 'Ada', sn: 'Lovelace', displayName: 'Ada Lovelace', department: 'Research', mail: 'ada.lovelace@contoso.example', mailNickname: 'ada.lovelace', proxyAddresses: ['SMTP:ada.lovelace@contoso.example'] },
      accountEnabled: true, password: 'generate', mustChangePassword: true,
    });
    assert.deepEqual(step(pl, 'entra.ensureUsageLocation').input, { userPrincipalName: 'ada.lovelace@contoso.example', usageLocation: 'GB', onlyIfMissing: false, confirmedBy: 'entra.assign-licence' });
    assert.deepEqual(step(pl, 'entra.assignLicence').input, { userPrincipalName: 'ada.lovelace@contoso.example', via: 'direct', skuId: '4b9405b0-7788-4568-add1-99614e613b69', skuName: 'Exchange Online (Plan 1)' });
    assert.equal(step(pl, 'entra.assignLicence').summary, 'Assign the Exchange Online (Plan 1) licence');
    assert.deepEqual(step(pl, 'exo.awaitMailbox').input, { identity: 'ada.lovelace@contoso.example', timeoutMinutes: TIMEOUTS.mailboxMinutes });
    assert.equal(step(pl, 'exo.awaitMailbox').summary, 'Wait for the mailbox (minutes; up to an hour observed)');
  });

  it('ad-mastered with cloud management of new mailboxes: IsExchangeCloudManaged=True last, with the pitfall', function () {
    const pl = plan(userMailbox, { ...AD, cloudManageNewMailboxes: true });
    assert.deepEqual(actions(pl).slice(-2), ['exo.awaitMailbox', 'exo.setCloudManaged']);
    assert.deepEqual(step(pl, 'exo.setCloudManaged').input, { identity: 'ada.lovelace@contoso.example', enabled: true });
    assert.ok(pl.warnings.includes(CLOUD_MANAGED_WARNING));
    assert.match(CLOUD_MANAGED_WARNING, /edits of Exchange attributes in AD no longer reach Exchange Online, except mail/);
  });

  it('cloud-default: identity only in AD; primary address and alias set in Exchange Online', function () {
    for (const p of [CD, CD_CLOUDSYNC]) {
      const pl = plan(userMailbox, p);
      assert.deepEqual(actions(pl), ['ad.createUser', 'sync.awaitUser', 'entra.ensureUsageLocation', 'entra.assignLicence', 'exo.awaitMailbox', 'exo.setPrimaryAddress', 'exo.setAlias']);
      const attrs = step(pl, 'ad.createUser').input.attributes;
      for (const a of ['mail', 'mailNickname', 'proxyAddresses', 'targetAddress']) assert.ok(!(a in attrs), a);
      assert.deepEqual(step(pl, 'exo.setPrimaryAddress').input, { identity: 'ada.lovelace@contoso.example', recipientType: 'UserMailbox', address: 'ada.lovelace@contoso.example' });
      assert.deepEqual(step(pl, 'exo.setAlias').input, { identity: 'ada.lovelace@contoso.example', recipientType: 'UserMailbox', alias: 'ada.lovelace' });
    }
  });

  it('waits for sync as the engine allows', function () {
    const connect = step(plan(userMailbox, AD), 'sync.awaitUser');
    assert.equal(connect.summary, 'Wait until Entra Connect Sync has created the user (up to 30 minutes)');
    // the new account is enabled: awaited as enabled (a cycle may read it between its LDAP add and the enable)
    assert.deepEqual(connect.input, { engine: 'connect', provisionOnDemand: false, dn: `CN=Ada Lovelace,OU=Users,${BASE}`, objectType: 'user', samAccountName: 'alovelace', userPrincipalName: 'ada.lovelace@contoso.example', expectAccountEnabled: true, timeoutMinutes: TIMEOUTS.connectSyncMinutes });
    assert.deepEqual([connect.system, connect.waits], ['wait', true]);
    const cloud = step(plan(userMailbox, AD_CLOUDSYNC), 'sync.awaitUser');
    assert.equal(cloud.summary, 'Wait until Entra Cloud Sync has created the user (on demand; usually seconds)');
    assert.deepEqual([cloud.input.engine, cloud.input.provisionOnDemand, cloud.input.timeoutMinutes], ['cloud', true, TIMEOUTS.cloudSyncMinutes]);
  });

  it('licensing groups: Entra group through Graph; AD group written before the first sync', function () {
    const entra = plan(userMailbox, { ...AD, licensing: ENTRA_GROUP });
    assert.deepEqual(actions(entra), ['ad.createUser', 'sync.awaitUser', 'entra.ensureUsageLocation', 'entra.assignLicence', 'exo.awaitMailbox']);
    assert.deepEqual(step(entra, 'entra.assignLicence').input, { userPrincipalName: 'ada.lovelace@contoso.example', via: 'group', groupId: 'g-1', groupName: 'EXO Licensed' });
    const ad = plan(userMailbox, { ...AD, licensing: AD_GROUP });
    assert.deepEqual(actions(ad), ['ad.createUser', 'ad.addGroupMember', 'sync.awaitUser', 'entra.ensureUsageLocation', 'exo.awaitMailbox']);
    assert.deepEqual(step(ad, 'ad.addGroupMember').input, { groupDn: `CN=EXO Licensed,OU=Groups,${BASE}`, memberDn: `CN=Ada Lovelace,OU=Users,${BASE}` });
  });
});

describe('planner: shared, room and equipment mailboxes (the recipe)', function () {
  it('ad-mastered: disabled AD user with mail, sync, licence, mailbox, convert, remove the licence', function () {
    const pl = plan(shared, AD);
    assert.deepEqual(actions(pl), ['ad.createUser', 'sync.awaitUser', 'entra.ensureUsageLocation', 'entra.assignLicence', 'exo.awaitMailbox', 'exo.setMailboxType', 'entra.removeLicence']);
    const create = step(pl, 'ad.createUser');
    assert.equal(create.summary, `Create the disabled AD user CN=Team Sales,OU=Shared,${BASE} with mail sales@contoso.example, mailNickname sales`);
    assert.deepEqual([create.input.accountEnabled, create.input.mustChangePassword, create.input.attributes], [false, false, { displayName: 'Team Sales', mail: 'sales@contoso.example', mailNickname: 'sales', proxyAddresses: ['SMTP:sales@contoso.example'] }]);
    assert.deepEqual(step(pl, 'entra.ensureUsageLocation').input.usageLocation, 'DE', 'temporary licence: the tenant default');
    assert.deepEqual(step(pl, 'exo.setMailboxType').input, { identity: 'sales@contoso.example', type: 'Shared' });
    assert.equal(step(pl, 'exo.setMailboxType').summary, 'Convert the mailbox to Shared');
    assert.equal(step(pl, 'entra.removeLicence').summary, 'Remove the licence (shared mailboxes under 50 GB need none)');
    assert.deepEqual(step(pl, 'entra.removeLicence').input, step(pl, 'entra.assignLicence').input);
  });

  it('cloud-default: the same recipe without Exchange attributes in AD; addresses set in Exchange Online', function () {
    for (const p of [CD, CD_CLOUDSYNC]) {
      assert.deepEqual(actions(plan(shared, p)), ['ad.createUser', 'sync.awaitUser', 'entra.ensureUsageLocation', 'entra.assignLicence', 'exo.awaitMailbox', 'exo.setMailboxType', 'exo.setPrimaryAddress', 'exo.setAlias', 'entra.removeLicence']);
    }
    assert.deepEqual(step(plan(shared, CD), 'ad.createUser').input.attributes, { displayName: 'Team Sales' });
  });

  it('rooms: capacity; the licence stays when the tenant says rooms keep it', function () {
    assert.deepEqual(actions(plan(room, AD)), ['ad.createUser', 'sync.awaitUser', 'entra.ensureUsageLocation', 'entra.assignLicence', 'exo.awaitMailbox', 'exo.setMailboxType', 'exo.setResourceCapacity', 'entra.removeLicence']);
    assert.deepEqual(step(plan(room, AD), 'exo.setResourceCapacity').input, { identity: 'boardroom@contoso.example', capacity: 12 });
    const keep = plan({ ...room, usageLocation: 'AT' }, { ...AD, roomsKeepLicence: true });
    assert.deepEqual(actions(keep), ['ad.createUser', 'sync.awaitUser', 'entra.ensureUsageLocation', 'entra.assignLicence', 'exo.awaitMailbox', 'exo.setMailboxType', 'exo.setResourceCapacity']);
    assert.equal(step(keep, 'entra.ensureUsageLocation').input.usageLocation, 'AT');
    assert.equal(step(keep, 'entra.assignLicence').summary, 'Assign the Exchange Online (Plan 1) licence');
    assert.deepEqual(actions(plan(room, CD)).slice(5), ['exo.setMailboxType', 'exo.setResourceCapacity', 'exo.setPrimaryAddress', 'exo.setAlias', 'entra.removeLicence']);
  });

  it('equipment: converted to Equipment', function () {
    const pl = plan(equipment, AD);
    assert.deepEqual(actions(pl), ['ad.createUser', 'sync.awaitUser', 'entra.ensureUsageLocation', 'entra.assignLicence', 'exo.awaitMailbox', 'exo.setMailboxType', 'entra.removeLicence']);
    assert.equal(step(pl, 'exo.setMailboxType').input.type, 'Equipment');
    assert.equal(step(pl, 'ad.createUser').input.parentDn, `OU=Equipment,${BASE}`);
  });

  it('AD licensing group: membership added before sync, removed after the conversion', function () {
    const pl = plan(shared, { ...AD, licensing: AD_GROUP });
    assert.deepEqual(actions(pl), ['ad.createUser', 'ad.addGroupMember', 'sync.awaitUser', 'entra.ensureUsageLocation', 'exo.awaitMailbox', 'exo.setMailboxType', 'ad.removeGroupMember']);
  });
});

describe('planner: mail users, contacts, groups', function () {
  it('mail user: mail, mailNickname and targetAddress in AD; no licence', function () {
    for (const p of [AD, AD_CLOUDSYNC]) assert.deepEqual(actions(plan(mailUser, p)), ['ad.createUser', 'sync.awaitUser', 'exo.awaitRecipient']);
    const pl = plan(mailUser, AD);
    assert.deepEqual(step(pl, 'ad.createUser').input.attributes, {
      givenName: 'Ada', sn: 'Partner', displayName: 'Ada Partner', mail: 'ada@partner.example', mailNickname: 'ada.partner', targetAddress: 'SMTP:ada@partner.example',
    });
    assert.deepEqual(step(pl, 'exo.awaitRecipient').input.expect, { recipientTypeDetails: 'MailUser', externalEmailAddress: 'ada@partner.example' });
    assert.match(pl.warnings.join(' '), /Set-MailUser in Exchange Online can still overwrite the alias/);
  });

  it('contact: mail in AD, appears as MailContact', function () {
    const pl = plan(contact, AD_CLOUDSYNC);
    assert.deepEqual(actions(pl), ['ad.createContact', 'sync.awaitContact', 'exo.awaitRecipient']);
    assert.deepEqual(step(pl, 'ad.createContact').input, { dn: `CN=Ada Partner,OU=Contacts,${BASE}`, parentDn: `OU=Contacts,${BASE}`, cn: 'Ada Partner', attributes: { displayName: 'Ada Partner', mail: 'ada@partner.example', mailNickname: 'adapartner' } });
    assert.equal(step(pl, 'sync.awaitContact').summary, 'Wait until Entra Cloud Sync has created the contact (on demand; usually seconds)');
  });

  it('group: mail, scope and type in AD; shows as Universal in Exchange Online', function () {
    const pl = plan(group, AD);
    assert.deepEqual(actions(pl), ['ad.createGroup', 'sync.awaitGroup', 'exo.awaitRecipient']);
    const g = step(pl, 'ad.createGroup').input;
    assert.deepEqual([g.groupType, g.scope, g.securityEnabled, g.memberDns], [-2147483646, 'global', true, [`CN=Ada Byron,OU=Users,${BASE}`]]);
    assert.deepEqual(g.attributes, { displayName: 'Sales Team', mail: 'salesteam@contoso.example', mailNickname: 'salesteam', proxyAddresses: ['SMTP:salesteam@contoso.example'] });
    assert.deepEqual(step(pl, 'exo.awaitRecipient').input.expect, { recipientTypeDetails: 'MailUniversalSecurityGroup', primarySmtpAddress: 'salesteam@contoso.example' });
    assert.match(pl.notes.join(' '), /shows the group as Universal although it is global in AD/);
    assert.deepEqual([groupTypeOf('global', false), groupTypeOf('universal', false), groupTypeOf('universal', true)], [2, 8, -2147483640]);
  });

  it('are refused in cloud-default mode', function () {
    for (const r of [mailUser, contact, group]) {
      for (const p of [CD, CD_CLOUDSYNC]) assert.throws(() => plan(r, p), (e: unknown) => e instanceof PlanRefusedError && /does not support/.test(e.reason));
    }
  });
});

describe('planner: address changes on the side that holds the authority', function () {
  const primary = (t: TargetRecipient, newAddress = 'ada@contoso.example'): RecipientRequest => ({ kind: 'primary-address', target: t, newAddress });
  const add = (t: TargetRecipient): RecipientRequest => ({ kind: 'secondary-address-add', target: t, address: 'a.b@contoso.example' });
  const remove = (t: TargetRecipient): RecipientRequest => ({ kind: 'secondary-address-remove', target: t, address: 'a.b@contoso.example' });

  it('primary, ad-mastered: AD mail (and proxyAddresses while AD masters them), then wait for sync', function () {
    const pl = plan(primary(target()), AD);
    assert.deepEqual(actions(pl), ['ad.setPrimaryAddress', 'exo.awaitRecipient']);
    assert.deepEqual(step(pl, 'ad.setPrimaryAddress').input, { dn: `CN=Ada Byron,OU=Users,${BASE}`, mail: 'ada@contoso.example', previous: 'ada.byron@contoso.example', rewriteProxyAddresses: true });
    assert.deepEqual(step(pl, 'exo.awaitRecipient').input, {
      identity: 'ada.byron@contoso.example', expect: { primarySmtpAddress: 'ada@contoso.example', emailAddressesInclude: ['smtp:ada.byron@contoso.example'] },
      sync: { engine: 'connect', provisionOnDemand: false, dn: `CN=Ada Byron,OU=Users,${BASE}`, objectType: 'user' }, timeoutMinutes: TIMEOUTS.connectSyncMinutes,
    });
    assert.equal(pl.basedOn?.name, 'Ada Byron');
  });

  it('primary, ad-mastered, cloud-managed mailbox: still AD mail (it overrides), with proxyAddresses so that AD names one primary, and a warning', function () {
    const pl = plan(primary(cloudManaged), AD);
    assert.deepEqual(actions(pl), ['ad.setPrimaryAddress', 'exo.awaitRecipient']);
    assert.equal(step(pl, 'ad.setPrimaryAddress').input.rewriteProxyAddresses, true);
    assert.match(pl.warnings.join(' '), /AD mail still overrides its primary address/);
  });

  it('primary of contacts and mail users: their outside address in AD, mail and proxyAddresses naming the same primary ("How the proxyAddresses attribute is populated in Microsoft Entra ID": an SMTP: entry wins over mail)', function () {
    const contact = plan(primary(contactTarget, 'vera@new.example'), AD);
    assert.deepEqual(actions(contact), ['ad.setPrimaryAddress', 'exo.awaitRecipient']);
    assert.deepEqual(step(contact, 'ad.setPrimaryAddress').input, { dn: `CN=Vera Vendor,OU=Contacts,${BASE}`, mail: 'vera@new.example', previous: contactTarget.primarySmtpAddress, rewriteProxyAddresses: true });
    const mu = plan(primary(mailUserTarget, 'pat@new.example'), AD);
    assert.deepEqual(actions(mu), ['ad.setPrimaryAddress', 'ad.setAttributes', 'exo.awaitRecipient']);
    assert.deepEqual(step(mu, 'ad.setPrimaryAddress').input.rewriteProxyAddresses, true);
    assert.deepEqual(step(mu, 'ad.setAttributes').input.replace, { targetAddress: 'SMTP:pat@new.example' });
  });

  it('primary, cloud-default: in Exchange Online; AD mail aligned only if it has one; legacy mailboxes made cloud-managed first', function () {
    const pl = plan(primary(cloudManaged), CD);
    assert.deepEqual(actions(pl), ['exo.setPrimaryAddress', 'ad.setAttributes']);
    assert.deepEqual(step(pl, 'ad.setAttributes').input, { dn: `CN=Ada Byron,OU=Users,${BASE}`, replaceIfPresent: { mail: 'ada@contoso.example' } });
    const legacy = plan(primary(target()), CD_CLOUDSYNC);
    assert.deepEqual(actions(legacy), ['exo.setCloudManaged', 'exo.setPrimaryAddress', 'ad.setAttributes']);
    assert.ok(legacy.warnings.includes(CLOUD_MANAGED_WARNING));
  });

  it('cloud-only recipients: Exchange Online only, in both modes', function () {
    for (const [, p] of ALL_MODES) {
      assert.deepEqual(actions(plan(primary(cloudOnly), p)), ['exo.setPrimaryAddress']);
      assert.deepEqual(actions(plan(add(cloudOnly), p)), ['exo.setEmailAddresses']);
    }
  });

  it('secondary addresses: AD proxyAddresses unless cloud-managed, then Exchange Online', function () {
    const adAdd = plan(add(target()), AD);
    assert.deepEqual(actions(adAdd), ['ad.setAttributes', 'exo.awaitRecipient']);
    assert.deepEqual(step(adAdd, 'ad.setAttributes').input, { dn: `CN=Ada Byron,OU=Users,${BASE}`, add: { proxyAddresses: ['smtp:a.b@contoso.example'] } });
    assert.deepEqual(step(adAdd, 'exo.awaitRecipient').input.expect, { emailAddressesInclude: ['smtp:a.b@contoso.example'] });
    const adRemove = plan(remove(target()), AD_CLOUDSYNC);
    assert.deepEqual(step(adRemove, 'ad.setAttributes').input, { dn: `CN=Ada Byron,OU=Users,${BASE}`, remove: { proxyAddresses: ['smtp:a.b@contoso.example'] } });
    assert.equal(step(adRemove, 'exo.awaitRecipient').input.sync?.provisionOnDemand, true);
    const exoAdd = plan(add(cloudManaged), AD);
    assert.deepEqual(actions(exoAdd), ['exo.setEmailAddresses']);
    assert.deepEqual(step(exoAdd, 'exo.setEmailAddresses').input, { identity: 'ada.byron@contoso.example', recipientType: 'UserMailbox', add: ['smtp:a.b@contoso.example'], remove: [] });
    assert.deepEqual(actions(plan(remove(cloudManaged), CD)), ['exo.setEmailAddresses']);
    assert.deepEqual(actions(plan(add(target()), CD)), ['exo.setCloudManaged', 'exo.setEmailAddresses']);
  });

  it('groups, contacts and mail users: AD in ad-mastered mode, refused in cloud-default mode', function () {
    for (const t of [groupTarget, contactTarget, mailUserTarget]) {
      assert.deepEqual(actions(plan(add(t), AD)), ['ad.setAttributes', 'exo.awaitRecipient']);
      assert.throws(() => plan(add(t), CD), PlanRefusedError);
    }
    assert.equal(step(plan(add(groupTarget), AD), 'exo.awaitRecipient').input.sync?.objectType, 'group');
  });
});

describe('planner: cloud-managed, conversion, offboarding', function () {
  it('cloud-managed on/off in Exchange Online, with the pitfalls', function () {
    const on = plan({ kind: 'cloud-managed', target: target(), enabled: true }, AD);
    assert.deepEqual(actions(on), ['exo.setCloudManaged']);
    assert.deepEqual(step(on, 'exo.setCloudManaged').input, { identity: 'ada.byron@contoso.example', enabled: true });
    assert.ok(on.warnings.includes(CLOUD_MANAGED_WARNING));
    assert.match(on.notes.join(' '), /one sync cycle/);
    const off = plan({ kind: 'cloud-managed', target: cloudManaged, enabled: false }, AD);
    assert.match(off.warnings.join(' '), /overwrite what was changed in Exchange Online/);
    assert.throws(() => plan({ kind: 'cloud-managed', target: cloudManaged, enabled: false }, CD), PlanRefusedError);
  });

  it('conversion: licence removed after converting to Shared, assigned before converting to Regular', function () {
    assert.deepEqual(actions(plan({ kind: 'mailbox-type', target: target(), type: 'Shared', adjustLicence: true }, AD)), ['exo.setMailboxType', 'entra.removeLicence']);
    const toRegular = plan({ kind: 'mailbox-type', target: target({ type: 'SharedMailbox' }), type: 'Regular', adjustLicence: true }, CD);
    assert.deepEqual(actions(toRegular), ['entra.ensureUsageLocation', 'entra.assignLicence', 'exo.setMailboxType']);
    assert.deepEqual(step(toRegular, 'entra.ensureUsageLocation').input, { userPrincipalName: 'ada.byron@contoso.example', usageLocation: 'DE', onlyIfMissing: true });
    assert.deepEqual(actions(plan({ kind: 'mailbox-type', target: target(), type: 'Shared', adjustLicence: false }, AD)), ['exo.setMailboxType']);
    assert.deepEqual(actions(plan({ kind: 'mailbox-type', target: target(), type: 'Room', adjustLicence: true }, { ...AD, roomsKeepLicence: true })), ['exo.setMailboxType']);
    assert.deepEqual(actions(plan({ kind: 'mailbox-type', target: target({ type: 'RoomMailbox' }), type: 'Shared', adjustLicence: true }, { ...AD, roomsKeepLicence: true })), ['exo.setMailboxType', 'entra.removeLicence']);
  });

  const offboard = (t: TargetRecipient, over: Partial<Record<'disableAccount' | 'revokeSessions' | 'convertToShared' | 'removeLicence' | 'hideFromAddressLists', boolean>> = {}): RecipientRequest => ({
    kind: 'offboarding', target: t, disableAccount: true, revokeSessions: false, convertToShared: true, removeLicence: true, hideFromAddressLists: true, removeFromGroups: [], ...over,
  });

  it('offboarding: disable, convert, remove the licence, hide, wait for the disabled account', function () {
    assert.deepEqual(actions(plan(offboard(cloudManaged), AD)), ['ad.disableAccount', 'exo.setMailboxType', 'exo.setHiddenFromAddressLists', 'entra.removeLicence', 'sync.awaitUser']);
    const pl = plan(offboard(target()), { ...AD, adHasExchangeSchema: true });
    assert.deepEqual(actions(pl), ['ad.disableAccount', 'exo.setMailboxType', 'ad.setAttributes', 'exo.awaitRecipient', 'entra.removeLicence', 'sync.awaitUser']);
    assert.deepEqual(step(pl, 'ad.setAttributes').input, { dn: `CN=Ada Byron,OU=Users,${BASE}`, replace: { msExchHideFromAddressLists: 'TRUE' } });
    assert.deepEqual(step(pl, 'sync.awaitUser').input, { engine: 'connect', provisionOnDemand: false, dn: `CN=Ada Byron,OU=Users,${BASE}`, objectType: 'user', userPrincipalName: 'ada.byron@contoso.example', expectAccountEnabled: false, timeoutMinutes: TIMEOUTS.connectSyncMinutes });
    // Without the Exchange schema in AD, hiding is only possible in EXO: cloud-managed first.
    assert.deepEqual(actions(plan(offboard(target()), AD)), ['ad.disableAccount', 'exo.setMailboxType', 'exo.setCloudManaged', 'exo.setHiddenFromAddressLists', 'entra.removeLicence', 'sync.awaitUser']);
    assert.deepEqual(actions(plan(offboard(target()), CD)), ['ad.disableAccount', 'exo.setMailboxType', 'exo.setCloudManaged', 'exo.setHiddenFromAddressLists', 'entra.removeLicence', 'sync.awaitUser']);
    assert.deepEqual(actions(plan(offboard(cloudManaged), CD_CLOUDSYNC)), ['ad.disableAccount', 'exo.setMailboxType', 'exo.setHiddenFromAddressLists', 'entra.removeLicence', 'sync.awaitUser']);
  });

  it('offboarding: each flag can be switched off; removing the licence without converting warns', function () {
    assert.deepEqual(actions(plan(offboard(cloudManaged, { disableAccount: false, hideFromAddressLists: false }), AD)), ['exo.setMailboxType', 'entra.removeLicence']);
    const pl = plan(offboard(cloudManaged, { convertToShared: false, disableAccount: false, hideFromAddressLists: false }), AD);
    assert.deepEqual(actions(pl), ['entra.removeLicence']);
    assert.match(pl.warnings.join(' '), /deletes it after a 30-day grace period/);
    assert.deepEqual(actions(plan(offboard(cloudOnly, { disableAccount: false }), AD)), ['exo.setMailboxType', 'exo.setHiddenFromAddressLists', 'entra.removeLicence']);
    assert.deepEqual(actions(plan(offboard(cloudManaged, { hideFromAddressLists: false }), { ...AD, licensing: AD_GROUP })), ['ad.disableAccount', 'exo.setMailboxType', 'ad.removeGroupMember', 'sync.awaitUser']);
  });
});

describe('planner: every plan', function () {
  const requests: RecipientRequest[] = [
    userMailbox, shared, room, equipment, mailUser, contact, group,
    { kind: 'primary-address', target: target(), newAddress: 'ada@contoso.example' },
    { kind: 'secondary-address-add', target: cloudManaged, address: 'x@contoso.example' },
    { kind: 'secondary-address-remove', target: target(), address: 'x@contoso.example' },
    { kind: 'cloud-managed', target: target(), enabled: true },
    { kind: 'mailbox-type', target: target(), type: 'Equipment', adjustLicence: true },
    { kind: 'offboarding', target: target(), disableAccount: true, revokeSessions: true, convertToShared: true, removeLicence: true, hideFromAddressLists: true, removeFromGroups: [], when: { iso: '2027-01-01T00:00:00.000Z', text: '2027-01-01 00:00 (UTC)' } },
    { kind: 'booking', target: target({ type: 'RoomMailbox' }), processing: 'AutoAccept', bookingWindowInDays: 90, bookers: 'everyone' },
    { kind: 'auto-reply', target: target(), enabled: true, message: 'Away.', externalAudience: 'All', start: { iso: '2027-01-01T00:00:00.000Z', text: '2027-01-01 00:00 (UTC)' }, end: { iso: '2027-01-03T00:00:00.000Z', text: '2027-01-03 00:00 (UTC)' } },
  ];
  const licensings: TenantProfile['licensing'][] = [PROFILE.licensing, ENTRA_GROUP, AD_GROUP];

  it('has unique step ids, known actions with their system, a summary, and no secrets; is plain JSON', function () {
    for (const r of requests) {
      for (const [mode, p] of ALL_MODES) {
        for (const licensing of licensings) {
          let pl: Plan;
          try {
            pl = plan(r, { ...p, licensing });
          } catch (e) {
            assert.ok(e instanceof PlanRefusedError && p.exchangeAttributeMode === 'cloud-default', `${r.kind} ${mode}: ${String(e)}`);
            continue;
          }
          assert.ok(pl.steps.length > 0 && pl.title, `${r.kind} ${mode}`);
          assert.equal(new Set(pl.steps.map((s) => s.id)).size, pl.steps.length, `${r.kind} ${mode}: duplicate step id`);
          for (const s of pl.steps) {
            assert.ok(STEP_ACTIONS.includes(s.action), s.action);
            assert.equal(s.system, systemOf(s.action));
            assert.equal(s.waits, s.system === 'wait');
            assert.ok(s.summary.length > 10 && !s.summary.includes('undefined'), `${s.id}: ${s.summary}`);
            assert.doesNotMatch(JSON.stringify(s.input), /unicodePwd|"password":"(?!generate")/);
          }
          assert.deepEqual(JSON.parse(JSON.stringify(pl)), pl);
          assert.deepEqual(plan(r, { ...p, licensing }), pl, 'deterministic');
        }
      }
    }
  });
});
