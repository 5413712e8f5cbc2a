import assert from 'node:assert/strict';
import { immutableIdFromObjectGuid, objectGuidFromImmutableId } from '../../src/sandbox/cloud/ids';
import {
  adMastersExchangeAttributes,
  applyAdProxyAddressesDiff,
  applyPrimaryAddressChange,
  calculatedPrimaryAddress,
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
  withUpnAddress,
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

    describe('Entra\'s proxy calculation ("How the proxyAddresses attribute is populated in Microsoft Entra ID", KB 3190357)', function () {
      it('scenario 1: neither mail nor proxyAddresses → the UPN is the primary', function () {
        assert.equal(calculatedPrimaryAddress({}, 'user1upn@Contoso.com'), 'user1upn@Contoso.com');
      });
      it('scenario 2: mail → the primary; then, licensed, the UPN is added as smtp: beside the MOERA', function () {
        const primary = calculatedPrimaryAddress({ mail: 'user2mail@Contoso.com' }, 'user2upn@Contoso.com')!;
        assert.equal(primary, 'user2mail@Contoso.com');
        const list = initialMailboxAddresses({ primary, alias: 'user2mail', initialDomain: 'Contoso.onmicrosoft.com', userPrincipalName: { address: 'user2upn@Contoso.com', accepted: true } });
        assert.ok(list.includes('smtp:user2upn@Contoso.com') && list.includes('smtp:user2mail@Contoso.onmicrosoft.com') && list[0] === 'SMTP:user2mail@Contoso.com', list.join(', '));
      });
      it('scenario 3: an SMTP: entry of proxyAddresses is the primary; reserved domains (*.onmicrosoft.com, *.microsoftonline.com) are discarded', function () {
        const ad = { proxyAddresses: ['smtp:user3pa3@Fabrikam.microsoftonline.com', 'smtp:user3pa2@Contoso.onmicrosoft.com', 'SMTP:user3pa1@Contoso.com'] };
        assert.equal(calculatedPrimaryAddress(ad, 'user3upn@Contoso.com'), 'user3pa1@Contoso.com');
        assert.equal(calculatedPrimaryAddress({ proxyAddresses: ['SMTP:x@tenant.onmicrosoft.com'], mail: 'm@contoso.com' }), 'm@contoso.com', 'a reserved SMTP: entry does not count');
        const list = initialMailboxAddresses({ primary: 'user3pa1@Contoso.com', alias: 'user3pa1', initialDomain: 'Contoso.onmicrosoft.com', adProxyAddresses: ad.proxyAddresses, userPrincipalName: { address: 'user3upn@Contoso.com', accepted: true } });
        assert.deepEqual(list, ['SMTP:user3pa1@Contoso.com', 'SIP:user3pa1@contoso.com', 'smtp:user3pa1@Contoso.onmicrosoft.com', 'smtp:user3upn@Contoso.com']);
      });
      it('scenario 3, continued: a new SMTP: entry in proxyAddresses replaces the primary; the old one, no longer in AD, goes; MOERA and UPN stay', function () {
        const before = ['SMTP:user3pa1@Contoso.com', 'SIP:user3pa1@contoso.com', 'smtp:user3pa1@Contoso.onmicrosoft.com', 'smtp:user3upn@Contoso.com'];
        const prevAd = ['smtp:user3pa3@Fabrikam.microsoftonline.com', 'smtp:user3pa2@Contoso.onmicrosoft.com', 'SMTP:user3pa1@Contoso.com'];
        const nextAd = ['smtp:user3new3@Fabrikam.microsoftonline.com', 'smtp:user3new2@Contoso.onmicrosoft.com', 'SMTP:user3new1@Contoso.com'];
        const primary = calculatedPrimaryAddress({ proxyAddresses: nextAd }, 'user3upn@Contoso.com')!;
        const after = applyAdProxyAddressesDiff(applyPrimaryAddressChange(before, primary), prevAd, nextAd);
        assert.deepEqual(after, ['SMTP:user3new1@Contoso.com', 'SIP:user3pa1@contoso.com', 'smtp:user3pa1@Contoso.onmicrosoft.com', 'smtp:user3upn@Contoso.com']);
      });
      it('field test (seed 004): with no proxyAddresses in AD, a changed mail moves the primary and the old one stays as smtp:', function () {
        const before = ['SMTP:UserWithMailWithEXO@msxfaqdev.de', 'SIP:userwithmailwithexo@msxfaqdev.de', 'smtp:UserWithMailWithEXO@msxfaqdev.onmicrosoft.com'];
        const primary = calculatedPrimaryAddress({ mail: 'UserWithMailWithEXO2@msxfaqdev.de' }, 'UserWithMailWithEXO@msxfaqdev.de')!;
        assert.deepEqual(applyAdProxyAddressesDiff(applyPrimaryAddressChange(before, primary), [], []), [
          'SMTP:UserWithMailWithEXO2@msxfaqdev.de', 'SIP:userwithmailwithexo@msxfaqdev.de', 'smtp:UserWithMailWithEXO@msxfaqdev.onmicrosoft.com', 'smtp:UserWithMailWithEXO@msxfaqdev.de',
        ]);
      });
      it('an SMTP: entry wins over mail: a changed mail alone does not move a primary proxyAddresses names (so Mailroom writes both)', function () {
        assert.equal(calculatedPrimaryAddress({ mail: 'new@contoso.com', proxyAddresses: ['SMTP:old@contoso.com'] }, 'u@contoso.com'), 'old@contoso.com');
        assert.equal(calculatedPrimaryAddress({ mail: 'new@contoso.com', proxyAddresses: ['SMTP:new@contoso.com', 'smtp:old@contoso.com'] }, 'u@contoso.com'), 'new@contoso.com');
      });
      it('the UPN is added once, only when its domain is accepted', function () {
        assert.deepEqual(withUpnAddress(['SMTP:a@contoso.com'], 'u@contoso.com', true), ['SMTP:a@contoso.com', 'smtp:u@contoso.com']);
        assert.deepEqual(withUpnAddress(['SMTP:U@contoso.com'], 'u@contoso.com', true), ['SMTP:U@contoso.com'], 'already there (any case)');
        assert.deepEqual(withUpnAddress(['SMTP:a@contoso.com'], 'u@fabrikam.com', false), ['SMTP:a@contoso.com']);
      });
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
