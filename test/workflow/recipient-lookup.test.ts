/**
 * HybridRecipientLookup.findRecipient never picks one of several recipients: Exchange's "matches multiple entries"
 * and an answer with several rows both become the list of candidates. A unit test of the module: Exchange and AD
 * are stand-ins that answer as Exchange Online does (the sandbox test in test/security/identity-ambiguity.test.ts
 * drives the real emulator).
 */
import assert from 'node:assert/strict';
import { ExoCommandError } from '../../src/cloud/exo';
import { HybridRecipientLookup, type AdLookupPort, type ExoPort } from '../../src/workflow/recipient-lookup';

const AD: AdLookupPort = {
  whoHas: () => Promise.resolve([]),
  findByIdentity: () => Promise.resolve(null),
  get: () => Promise.resolve(null),
  memberOf: () => Promise.resolve(null),
  managerOf: () => Promise.resolve(null),
};

type Row = Record<string, unknown>;

/** Exchange as a function of (cmdlet, parameters); records the calls. */
function exo(answer: (cmdlet: string, p: Record<string, unknown>) => Row[]): ExoPort & { calls: [string, Record<string, unknown>][] } {
  const calls: [string, Record<string, unknown>][] = [];
  return {
    calls,
    invoke<T>(cmdlet: string, parameters: Record<string, unknown> = {}) {
      calls.push([cmdlet, parameters]);
      try {
        return Promise.resolve({ value: answer(cmdlet, parameters) as T[] });
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
    },
  };
}

const ambiguous = (identity: string) =>
  new ExoCommandError('Get-Recipient', 400, 'BadRequest', 'Microsoft.Exchange.Configuration.Tasks.ManagementObjectAmbiguousException', `The operation couldn't be performed because '${identity}' matches multiple entries.`);

const TEAM = { Name: 'Team Sales', DisplayName: 'Team Sales', PrimarySmtpAddress: 'sales@contoso.example', RecipientTypeDetails: 'SharedMailbox', ExchangeObjectId: 'a1' };
const CONTACT = { Name: 'sales', DisplayName: 'Sales Partner', PrimarySmtpAddress: 'sales@partner.example', RecipientTypeDetails: 'MailContact', ExchangeObjectId: 'b2' };

describe('HybridRecipientLookup: an identity that matches several recipients', function () {
  it('"matches multiple entries": lists the recipients with that name, alias, DN or address, and picks none', async function () {
    const port = exo((cmdlet, p) => {
      if (cmdlet === 'Get-Recipient' && p.Identity !== undefined) throw ambiguous(JSON.stringify(p.Identity));
      if (cmdlet === 'Get-Recipient' && p.Filter !== undefined) return [TEAM, CONTACT, TEAM];
      return [];
    });
    const match = await new HybridRecipientLookup(AD, port).findRecipient("o'sales");
    assert.deepEqual(match, {
      found: 'several',
      candidates: [
        { name: 'Team Sales', primarySmtpAddress: 'sales@contoso.example' },
        { name: 'Sales Partner', primarySmtpAddress: 'sales@partner.example' },
      ],
    });
    const filter = port.calls.find(([c, p]) => c === 'Get-Recipient' && p.Filter !== undefined)?.[1].Filter;
    assert.equal(filter, "(Name -eq 'o''sales') -or (Alias -eq 'o''sales') -or (DistinguishedName -eq 'o''sales') -or (EmailAddresses -eq 'smtp:o''sales')");
    assert.ok(!port.calls.some(([c]) => c === 'Get-Mailbox'), 'no further look-up of any of them');
  });

  it('an address also lists the users whose UPN it is', async function () {
    const port = exo((cmdlet, p) => {
      if (p.Identity !== undefined) throw ambiguous(JSON.stringify(p.Identity));
      if (cmdlet === 'Get-Recipient') return [TEAM];
      if (cmdlet === 'Get-User') return [{ Name: 'upn-holder', DisplayName: 'UPN Holder', UserPrincipalName: 'sales@contoso.example', WindowsEmailAddress: 'holder@contoso.example', Guid: 'c3' }];
      return [];
    });
    const match = await new HybridRecipientLookup(AD, port).findRecipient('sales@contoso.example');
    assert.deepEqual(match, {
      found: 'several',
      candidates: [
        { name: 'Team Sales', primarySmtpAddress: 'sales@contoso.example' },
        { name: 'UPN Holder', primarySmtpAddress: 'holder@contoso.example' },
      ],
    });
  });

  it('several rows for one identity are several recipients, not the first of them', async function () {
    const port = exo((cmdlet) => (cmdlet === 'Get-Recipient' ? [CONTACT, TEAM] : []));
    const match = await new HybridRecipientLookup(AD, port).findRecipient('sales');
    assert.equal(match.found, 'several');
    assert.deepEqual(match.found === 'several' ? match.candidates.map((c) => c.name) : [], ['Sales Partner', 'Team Sales']);
  });

  it('one row is the recipient; not found is none; any other failure rejects', async function () {
    const one = await new HybridRecipientLookup(AD, exo((cmdlet) => (cmdlet === 'Get-Recipient' ? [CONTACT] : []))).findRecipient('sales@partner.example');
    assert.deepEqual(one.found === 'one' ? [one.recipient.name, one.recipient.primarySmtpAddress] : one, ['Sales Partner', 'sales@partner.example']);
    const notFound = new ExoCommandError('Get-Recipient', 404, 'NotFound', 'Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException', "couldn't be found");
    assert.deepEqual(await new HybridRecipientLookup(AD, exo(() => { throw notFound; })).findRecipient('x'), { found: 'none' });
    const down = new ExoCommandError('Get-Recipient', 503, 'ServiceUnavailable', '', 'try later');
    await assert.rejects(new HybridRecipientLookup(AD, exo(() => { throw down; })).findRecipient('x'), /try later/);
  });
});
