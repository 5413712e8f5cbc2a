/**
 * RecipientViewService on its own, with stand-ins for its ports (the HTTP suite, test/bot/lookup.test.ts, runs it
 * against the sandbox): a part Exchange refuses or a service that fails becomes "could not read …" and the rest of
 * the card is still read; an identity AD finds several objects for is a list, not an error; bad input changes nothing.
 */
import assert from 'node:assert/strict';
import { silentLogger } from '../../src/log';
import type { RecipientMatch } from '../../src/requests';
import type { AuditEventInput } from '../../src/store';
import { RecipientViewService, type AdRecipient, type RecipientViewDeps } from '../../src/workflow/recipient-view';

const ACTOR = { aadObjectId: '00000000-0000-4000-8000-0000000000a1', name: 'Rita Requester', tenantId: 't', isAdmin: false };

const MAILBOX = {
  Name: 'ada',
  DisplayName: 'Ada Lovelace',
  Alias: 'ada',
  RecipientTypeDetails: 'UserMailbox',
  PrimarySmtpAddress: 'ada@contoso.com',
  EmailAddresses: ['smtp:ada.l@contoso.com', 'SMTP:ada@contoso.com', 'SIP:ada@contoso.com', 'smtp:ada@contoso.onmicrosoft.com'],
  HiddenFromAddressListsEnabled: false,
  IsDirSynced: true,
  IsExchangeCloudManaged: false,
  UserPrincipalName: 'ada@contoso.com',
  ExternalDirectoryObjectId: 'entra-ada',
  ExchangeObjectId: 'exo-ada',
  ForwardingSmtpAddress: null,
  GrantSendOnBehalfTo: [],
};

const AD_ADA: AdRecipient = {
  dn: 'CN=Ada Lovelace,OU=Staff,DC=corp,DC=contoso,DC=com',
  objectClass: 'user',
  displayName: 'Ada Lovelace',
  userPrincipalName: 'ada@contoso.com',
  mail: 'ada@contoso.com',
  mailNickname: 'ada',
  proxyAddresses: ['SMTP:ada@contoso.com', 'smtp:ada.l@contoso.com', 'smtp:ada.extra@contoso.com'],
  enabled: true,
};

function service(over: { exoFails?: Record<string, Error>; find?: RecipientMatch; findFails?: Error; adThrows?: Error } = {}): { svc: RecipientViewService; audit: AuditEventInput[]; calls: string[] } {
  const audit: AuditEventInput[] = [];
  const calls: string[] = [];
  const deps: RecipientViewDeps = {
    exo: {
      invoke<T>(cmdlet: string): Promise<{ value: T[] }> {
        calls.push(cmdlet);
        const fail = over.exoFails?.[cmdlet];
        if (fail) return Promise.reject(fail);
        if (cmdlet === 'Get-Mailbox' || cmdlet === 'Get-Recipient') return Promise.resolve({ value: [MAILBOX as T] });
        if (cmdlet === 'Get-MailboxPermission') return Promise.resolve({ value: [{ User: 'NT AUTHORITY\\SELF', AccessRights: ['FullAccess', 'ReadPermission'], IsInherited: false, Deny: false } as T] });
        return Promise.resolve({ value: [] });
      },
    },
    ad: {
      findByIdentity: (id) => (over.adThrows ? Promise.reject(over.adThrows) : Promise.resolve(id.toLowerCase().startsWith('ada') ? AD_ADA : null)),
      memberOf: () => Promise.resolve(['CN=All Staff,OU=Groups,DC=corp,DC=contoso,DC=com', 'CN=R\\2CD,OU=Groups,DC=corp,DC=contoso,DC=com']),
    },
    graph: {
      user: <T>() => Promise.resolve({ id: 'entra-ada', accountEnabled: true, assignedLicenses: [{ skuId: 'SKU-1' }] } as T),
      memberOfGroups: () => Promise.reject(new Error('Insufficient privileges to complete the operation.')),
      subscribedSkus: () => Promise.resolve([{ skuId: 'sku-1', skuPartNumber: 'EXCHANGESTANDARD' }]),
    },
    finder: { findRecipient: () => (over.findFails ? Promise.reject(over.findFails) : Promise.resolve(over.find ?? { found: 'one', recipient: { name: 'Ada Lovelace', type: 'UserMailbox', primarySmtpAddress: 'ada@contoso.com', isDirSynced: true, isExchangeCloudManaged: false, exoId: 'exo-ada' } })) },
    adHasExchangeSchema: () => Promise.resolve(true),
    audit: (e) => {
      audit.push(e);
      return Promise.resolve();
    },
    log: silentLogger,
  };
  return { svc: new RecipientViewService(deps), audit, calls };
}

describe('RecipientViewService (show and find, ports stood in)', function () {
  it('a part Exchange refuses reads "could not read …"; the rest of the card is read', async function () {
    const { svc } = service({ exoFails: { 'Get-RecipientPermission': new Error('User is not allowed to call Get-RecipientPermission') } });
    const r = await svc.show(ACTOR, 'ada@contoso.com');
    assert.equal(r.found, 'one');
    if (r.found !== 'one') return;
    const v = r.recipient;
    assert.deepEqual(v.sendAs, { ok: false, error: 'could not read Get-RecipientPermission: User is not allowed to call Get-RecipientPermission' });
    assert.deepEqual(v.fullAccess, { ok: true, value: [] }, 'SELF is not a delegate');
    assert.deepEqual(v.licences, { ok: true, value: ['EXCHANGESTANDARD'] });
    assert.deepEqual(v.addresses, ['ada@contoso.com', 'ada.l@contoso.com', 'ada@contoso.onmicrosoft.com'], 'primary first, SMTP only');
    // Entra ID's memberships failed: the part says so (AD's alone would be an incomplete list).
    assert.equal(v.memberOf.ok, false);
    assert.match(v.memberOf.ok ? '' : v.memberOf.error, /^could not read memberOf in AD and memberOf in Entra ID: Insufficient privileges/);
    assert.deepEqual(v.drift, { ok: true, value: { master: 'ad', differences: ['only in AD: ada.extra@contoso.com'] } });
  });

  it('Exchange Online not answering at all: a clear failure, nothing else asked', async function () {
    const { svc, audit, calls } = service({ findFails: new Error('connect ECONNREFUSED') });
    const r = await svc.show(ACTOR, 'ada@contoso.com');
    assert.deepEqual(calls, []);
    assert.deepEqual(r, { found: 'failed', message: "Exchange Online could not be asked for 'ada@contoso.com': connect ECONNREFUSED. Nothing was changed." });
    assert.deepEqual(audit.map((e) => [e.event, e.data]), [['recipient.show', { query: 'ada@contoso.com', outcome: 'failed' }]]);
  });

  it('not in Exchange Online and several AD objects answer: a list with AD’s words, not an error', async function () {
    const ambiguous = Object.assign(new Error("'smith' names 2 objects in Active Directory (A Smith; B Smith); nothing was changed."), { kind: 'ambiguous' });
    const { svc } = service({ find: { found: 'none' }, adThrows: ambiguous });
    const r = await svc.show(ACTOR, 'smith');
    assert.deepEqual(r, { found: 'several', candidates: [], note: ambiguous.message });
  });

  it('wildcards, empty and overlong input change nothing and ask nothing', async function () {
    const { svc, calls, audit } = service();
    for (const bad of ['ada*', '  ', 'a'.repeat(257)]) assert.equal((await svc.show(ACTOR, bad)).found, 'invalid');
    const f = await svc.find(ACTOR, 'a');
    assert.deepEqual(f, { ok: false, message: 'Give at least two characters to find recipients. Nothing was looked up.' });
    assert.deepEqual(calls, []);
    assert.equal(audit.length, 4, 'each refused look-up is audited too');
  });
});
