import assert from 'node:assert/strict';
import { immutableIdFromObjectGuid, objectGuidFromImmutableId } from '../../src/sandbox/cloud/ids';
import {
  adMastersExchangeAttributes,
  applyAdProxyAddressesDiff,
  applyPrimaryAddressChange,
  contactReachesExo,
  exoGroupShape,
  exoWriteRefusal,
  groupReachesExo,
  initialCloudManaged,
  initialMailboxAddresses,
  licenceRemovalEffect,
  mailboxPrimaryAddress,
  syncedMailNickname,
  toAlias,
  unlicensedSyncedUserType,
  writeScopeMessage,
} from '../../src/sandbox/cloud/rules';
import { KNOWN_SKUS, skuGivesMailbox } from '../../src/sandbox/cloud/skus';

describe('cloud rules (hybrid-behaviour.md as pure functions)', function () {
  describe('users without a licence', function () {
    it('become MailUser only with mail, mailNickname and targetAddress all set (field test table)', function () {
      assert.equal(unlicensedSyncedUserType({ mail: 'a@x.com' }), 'User');
      assert.equal(unlicensedSyncedUserType({ mail: 'a@x.com', mailNickname: 'a' }), 'User');
      assert.equal(unlicensedSyncedUserType({ mail: 'a@x.com', mailNickname: 'a', targetAddress: 'SMTP:a@ext.com' }), 'MailUser');
      assert.equal(unlicensedSyncedUserType({ mail: 'a@x.com', targetAddress: 'SMTP:a@ext.com' }), 'User');
      assert.equal(unlicensedSyncedUserType({ mail: '  ', mailNickname: 'a', targetAddress: 'a@ext.com' }), 'User');
    });

    it('stay User when the organisation default blocks Exchange attributes from AD', function () {
      assert.equal(unlicensedSyncedUserType({ mail: 'a@x.com', mailNickname: 'a', targetAddress: 'a@ext.com' }, true), 'User');
    });

    it('take mailNickname, else sAMAccountName, as Entra mailNickname', function () {
      assert.equal(syncedMailNickname('jane.doe', 'jdoe'), 'jane.doe');
      assert.equal(syncedMailNickname(null, 'jdoe'), 'jdoe');
      assert.equal(syncedMailNickname('', 'jdoe'), 'jdoe');
    });
  });

  describe('mailbox addresses', function () {
    it('use AD mail as primary if set, else the UPN', function () {
      assert.equal(mailboxPrimaryAddress('Jane.Doe@contoso.com', 'jdoe@contoso.com'), 'Jane.Doe@contoso.com');
      assert.equal(mailboxPrimaryAddress(null, 'jdoe@contoso.com'), 'jdoe@contoso.com');
    });

    it('start as SMTP:primary, SIP:primary lower-case, smtp:alias@initial domain (as observed)', function () {
      assert.deepEqual(
        initialMailboxAddresses({ primary: 'UserWithMailWithEXO@msxfaqdev.de', alias: 'UserWithMailWithEXO', initialDomain: 'msxfaqdev.onmicrosoft.com' }),
        ['SMTP:UserWithMailWithEXO@msxfaqdev.de', 'SIP:userwithmailwithexo@msxfaqdev.de', 'smtp:UserWithMailWithEXO@msxfaqdev.onmicrosoft.com'],
      );
    });

    it('take AD proxyAddresses as secondaries, never as a second primary', function () {
      const list = initialMailboxAddresses({ primary: 'a@contoso.com', alias: 'a', initialDomain: 'contoso.onmicrosoft.com', adProxyAddresses: ['SMTP:other@contoso.com', 'smtp:a2@contoso.com', 'X500:/o=x'] });
      assert.deepEqual(list, ['SMTP:a@contoso.com', 'SIP:a@contoso.com', 'smtp:a@contoso.onmicrosoft.com', 'smtp:other@contoso.com', 'smtp:a2@contoso.com', 'X500:/o=x']);
    });

    it('keep the old primary as a secondary smtp: address when mail changes (observed order)', function () {
      const before = ['SMTP:old@contoso.com', 'SIP:alias@contoso.com', 'smtp:alias@contoso.onmicrosoft.com'];
      assert.deepEqual(applyPrimaryAddressChange(before, 'new@contoso.com'), [
        'SMTP:new@contoso.com',
        'SIP:alias@contoso.com',
        'smtp:alias@contoso.onmicrosoft.com',
        'smtp:old@contoso.com',
      ]);
    });

    it('promote an existing secondary instead of duplicating it', function () {
      assert.deepEqual(applyPrimaryAddressChange(['SMTP:a@x.com', 'smtp:b@x.com'], 'B@x.com'), ['SMTP:B@x.com', 'smtp:a@x.com']);
    });

    it('only change case when the new primary is the same address', function () {
      assert.deepEqual(applyPrimaryAddressChange(['SMTP:a@x.com', 'smtp:b@x.com'], 'A@x.com'), ['SMTP:A@x.com', 'smtp:b@x.com']);
    });

    it('apply AD proxyAddresses changes by difference and keep EXO-made addresses', function () {
      const current = ['SMTP:a@x.com', 'smtp:a@t.onmicrosoft.com', 'smtp:ad1@x.com', 'smtp:demoted@x.com'];
      assert.deepEqual(applyAdProxyAddressesDiff(current, ['smtp:ad1@x.com'], ['smtp:ad2@x.com']), ['SMTP:a@x.com', 'smtp:a@t.onmicrosoft.com', 'smtp:demoted@x.com', 'smtp:ad2@x.com']);
    });
  });

  describe('contacts and groups', function () {
    it('reach EXO only with mail', function () {
      assert.equal(contactReachesExo(null), false);
      assert.equal(contactReachesExo('c@ext.com'), true);
      assert.equal(groupReachesExo(''), false);
      assert.equal(groupReachesExo('g@contoso.com'), true);
    });

    it('show as Universal, plus SecurityEnabled for security groups, whatever the AD scope', function () {
      assert.deepEqual(exoGroupShape(false), { GroupType: 'Universal', RecipientTypeDetails: 'MailUniversalDistributionGroup' });
      assert.deepEqual(exoGroupShape(true), { GroupType: 'Universal, SecurityEnabled', RecipientTypeDetails: 'MailUniversalSecurityGroup' });
    });
  });

  describe('source of authority', function () {
    it('lets AD master Exchange attributes only for synced, not cloud-managed recipients', function () {
      assert.equal(adMastersExchangeAttributes({ isDirSynced: true, isExchangeCloudManaged: false }), true);
      assert.equal(adMastersExchangeAttributes({ isDirSynced: true, isExchangeCloudManaged: true }), false);
      assert.equal(adMastersExchangeAttributes({ isDirSynced: false, isExchangeCloudManaged: false }), false);
    });

    it('starts mailboxes of users first synced under the organisation default as cloud-managed', function () {
      assert.equal(initialCloudManaged(true), true);
      assert.equal(initialCloudManaged(false), false);
    });

    it('keeps shared/room/equipment mailboxes without a licence, and user mailboxes in grace', function () {
      assert.equal(licenceRemovalEffect('SharedMailbox'), 'keep');
      assert.equal(licenceRemovalEffect('RoomMailbox'), 'keep');
      assert.equal(licenceRemovalEffect('EquipmentMailbox'), 'keep');
      assert.equal(licenceRemovalEffect('UserMailbox'), 'keep-in-grace');
    });
  });

  describe('EXO write refusals', function () {
    const mailbox = { cmdlet: 'Set-Mailbox', recipientTypeDetails: 'UserMailbox' as const, isDirSynced: true, isExchangeCloudManaged: false };

    it('refuse Exchange attributes of a synced, not cloud-managed mailbox with the write-scope error', function () {
      assert.deepEqual(exoWriteRefusal({ ...mailbox, parameter: 'EmailAddresses' }), { kind: 'WriteScope', parameter: 'EmailAddresses' });
      assert.deepEqual(exoWriteRefusal({ ...mailbox, parameter: 'HiddenFromAddressListsEnabled' }), { kind: 'WriteScope', parameter: 'HiddenFromAddressListsEnabled' });
    });

    it('allow them once the mailbox is cloud-managed; identity attributes stay refused', function () {
      assert.equal(exoWriteRefusal({ ...mailbox, isExchangeCloudManaged: true, parameter: 'EmailAddresses' }), null);
      assert.deepEqual(exoWriteRefusal({ ...mailbox, isExchangeCloudManaged: true, parameter: 'DisplayName' }), { kind: 'WriteScope', parameter: 'DisplayName' });
    });

    it('always allow -Type and -IsExchangeCloudManaged', function () {
      assert.equal(exoWriteRefusal({ ...mailbox, parameter: 'Type' }), null);
      assert.equal(exoWriteRefusal({ ...mailbox, parameter: 'IsExchangeCloudManaged' }), null);
    });

    it('let synced mail users take -Alias and -ExchangeGuid but refuse custom attributes with the dual-write error', function () {
      const mu = { cmdlet: 'Set-MailUser', recipientTypeDetails: 'MailUser' as const, isDirSynced: true, isExchangeCloudManaged: false };
      assert.equal(exoWriteRefusal({ ...mu, parameter: 'Alias' }), null);
      assert.equal(exoWriteRefusal({ ...mu, parameter: 'ExchangeGuid' }), null);
      assert.deepEqual(exoWriteRefusal({ ...mu, parameter: 'CustomAttribute1' }), { kind: 'DualWrite', parameter: 'CustomAttribute1' });
      assert.deepEqual(exoWriteRefusal({ ...mu, parameter: 'EmailAddresses' }), { kind: 'WriteScope', parameter: 'EmailAddresses' });
    });

    it('refuse everything on synced contacts, allow everything on cloud-only recipients', function () {
      assert.deepEqual(
        exoWriteRefusal({ cmdlet: 'Set-MailContact', recipientTypeDetails: 'MailContact', isDirSynced: true, isExchangeCloudManaged: false, parameter: 'ExternalEmailAddress' }),
        { kind: 'WriteScope', parameter: 'ExternalEmailAddress' },
      );
      assert.equal(exoWriteRefusal({ ...mailbox, isDirSynced: false, parameter: 'EmailAddresses' }), null);
    });

    it('word the write-scope error as Exchange Online does', function () {
      assert.equal(
        writeScopeMessage('Set-Mailbox', 'EmailAddresses', 'Jane Doe', true),
        `The operation on mailbox "Jane Doe" failed because it's out of the current user's write scope. The action 'Set-Mailbox', 'EmailAddresses', ` +
          `can't be performed on the object 'Jane Doe' because the object is being synchronized from your on-premises organization. ` +
          'This action should be performed on the object in your on-premises organization.',
      );
    });
  });

  describe('helpers', function () {
    it('derive the immutable id from objectGUID in AD byte order, and back', function () {
      assert.equal(immutableIdFromObjectGuid('{6f9619ff-8b86-d011-b42d-00c04fc964ff}'), '/xmWb4aLEdC0LQDAT8lk/w==');
      assert.equal(objectGuidFromImmutableId('/xmWb4aLEdC0LQDAT8lk/w=='), '6f9619ff-8b86-d011-b42d-00c04fc964ff');
    });

    it('make Exchange aliases from names', function () {
      assert.equal(toAlias('Jürgen Müller'), 'JurgenMuller');
      assert.equal(toAlias('..a..b..'), 'a.b');
      assert.equal(toAlias(''), 'recipient');
    });

    it('know which SKUs give a mailbox, honouring disabled plans', function () {
      assert.equal(skuGivesMailbox(KNOWN_SKUS.EXCHANGESTANDARD!), true);
      assert.equal(skuGivesMailbox(KNOWN_SKUS.EXCHANGESTANDARD!, ['9aaf7827-d63c-4b61-89c3-182f06f82e5c']), false);
      assert.equal(skuGivesMailbox(KNOWN_SKUS.FLOW_FREE!), false);
    });
  });
});
