/**
 * Conformance: hybrid-behaviour.md § "Contacts", against the conformance files' shared sandbox. AD contacts over LDAPS,
 * outcomes through Exchange Online.
 */
import assert from 'node:assert/strict';
import type { Sandbox } from '../../../src/sandbox';
import { ConformanceSuite, getConformanceSandbox, remove, replace, type ExoRecipientRow } from '../../harness/conformance';
import { ExoCommandError } from '../../../src/cloud';

interface ExoContact extends ExoRecipientRow {
  ExternalEmailAddress: string;
}

describe('conformance: contacts (hybrid-behaviour.md § Contacts)', function () {
  let sandbox: Sandbox;
  let s: ConformanceSuite;

  before(async function () {
    this.timeout(15 * 60_000);
    sandbox = await getConformanceSandbox();
    s = await ConformanceSuite.open(sandbox, 'contacts');
  });

  after(async function () {
    sandbox?.cloud.setKnobs({ syncedContactWrites: 'error' });
    await s?.close();
  });

  const external = (name: string): string => `${name}@partner.example`;

  it('"AD contact mail empty → EXO Get-Contact: no"', async function () {
    const name = s.name('CtNoMail');
    await s.addContact(name);
    await s.sync();
    assert.equal(await s.exoGet('Get-Contact', name), null);
    assert.equal(await s.exoGet('Get-Recipient', name), null);
  });

  it('"AD contact mail set → EXO Get-Contact: yes, type MailContact"', async function () {
    const name = s.name('CtMail');
    await s.addContact(name, { mail: external(name) });
    await s.sync();
    const c = await s.exoGet<ExoContact>('Get-Contact', external(name));
    assert.ok(c, 'Get-Contact finds it');
    assert.equal(c.RecipientTypeDetails, 'MailContact');
    assert.equal(c.IsDirSynced, true);
    assert.equal(c.PrimarySmtpAddress, external(name));
    assert.equal((await s.exoGet<ExoContact>('Get-MailContact', external(name)))?.ExternalEmailAddress, `SMTP:${external(name)}`);
  });

  it('"Synced contacts can only be changed in AD": a change of mail in AD reaches EXO; mail removed in AD takes it out of EXO', async function () {
    const name = s.name('CtChange');
    const dn = await s.addContact(name, { mail: external(name) });
    await s.sync();
    const moved = `${name}.moved@partner.example`;
    await s.modify(dn, replace('mail', [moved]), replace('displayName', [`${name} renamed`]));
    await s.sync();
    const c = await s.exoGet<ExoContact>('Get-MailContact', moved);
    assert.equal(c?.PrimarySmtpAddress, moved);
    assert.equal(c?.ExternalEmailAddress, `SMTP:${moved}`);
    assert.equal(c?.DisplayName, `${name} renamed`);

    await s.modify(dn, remove('mail'));
    await s.sync();
    assert.equal(await s.exoGet('Get-Contact', moved), null, 'without mail the contact is no longer in EXO');
  });

  /**
   * Set-MailContact on a synced contact, then reads the contact back: 'refused' (an error), 'ignored'
   * (success reported, nothing written) or 'written'.
   */
  async function checkedWrite(identity: string, displayName: string): Promise<'refused' | 'ignored' | 'written'> {
    const before = await s.exoGet<ExoContact>('Get-MailContact', identity);
    assert.ok(before);
    let refused = false;
    try {
      await s.exoSet('Set-MailContact', { Identity: identity, DisplayName: displayName, HiddenFromAddressListsEnabled: true, CustomAttribute1: 'x' });
    } catch (err) {
      if (!(err instanceof ExoCommandError)) throw err;
      assert.match(err.detail, /synchroni[sz]ed from your on-premises organization/, err.message);
      refused = true;
    }
    const after = await s.exoGet<ExoContact>('Get-MailContact', identity);
    const written = after?.DisplayName !== before.DisplayName || after?.HiddenFromAddressListsEnabled !== before.HiddenFromAddressListsEnabled || after?.CustomAttribute1 !== before.CustomAttribute1;
    if (written) return 'written';
    return refused ? 'refused' : 'ignored';
  }

  it('"EXO Set-MailContact on a synced contact fails" (the sandbox\'s default variant) — and the result is checked, not the call', async function () {
    const name = s.name('CtSetErr');
    await s.addContact(name, { mail: external(name) });
    await s.sync();
    assert.equal(await checkedWrite(external(name), 'changed in EXO'), 'refused');
  });

  it('"in one observation it reported success and wrote nothing: check the result, never trust the call alone" (variant syncedContactWrites=silent)', async function () {
    const name = s.name('CtSetSil');
    await s.addContact(name, { mail: external(name) });
    await s.sync();
    sandbox.cloud.setKnobs({ syncedContactWrites: 'silent' });
    try {
      assert.equal(await checkedWrite(external(name), 'changed in EXO'), 'ignored', 'the call succeeds, the contact is unchanged');
    } finally {
      sandbox.cloud.setKnobs({ syncedContactWrites: 'error' });
    }
  });
});
