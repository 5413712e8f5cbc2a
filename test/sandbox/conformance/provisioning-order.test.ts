/**
 * Conformance: hybrid-behaviour.md § "The recommended provisioning order (mailbox users)", as one sequence
 * per variant, against the conformance files' shared sandbox (Cloud Sync): AD over LDAPS, sync through Graph's real
 * provisionOnDemand endpoint, outcomes through Graph and Exchange Online.
 */
import assert from 'node:assert/strict';
import { hashtable } from '../../../src/cloud';
import type { Sandbox } from '../../../src/sandbox';
import { ConformanceSuite, getConformanceSandbox, type ExoMailUser, type ExoRecipientRow, type GraphUser } from '../../harness/conformance';
import { onDemandAnswer, provisionOnDemand, resetProvisionOnDemandLimit, type HttpResult } from '../../harness/sandbox';

interface OnDemandValue {
  statusInfo: { status: string; reason: string | null; errorCode: string | null };
}

interface LicenceState {
  skuId: string;
  assignedByGroup: string | null;
  state: string;
}

describe('conformance: the recommended provisioning order (hybrid-behaviour.md § The recommended provisioning order)', function () {
  let sandbox: Sandbox;
  let s: ConformanceSuite;

  before(async function () {
    this.timeout(15 * 60_000);
    sandbox = await getConformanceSandbox();
    s = await ConformanceSuite.open(sandbox, 'provisioning-order');
  });

  // provisionOnDemand allows 5 calls per 10 s per job (tenant clock): every test starts with a fresh window.
  beforeEach(function () {
    resetProvisionOnDemandLimit(sandbox);
  });

  after(async function () {
    if (sandbox) resetProvisionOnDemandLimit(sandbox);
    await s?.close();
  });

  /** Graph's provisionOnDemand for one AD object, asserting a 200 answer with status Success. */
  async function syncNow(dn: string, objectTypeName: 'user' | 'group' = 'user'): Promise<void> {
    const res: HttpResult = await provisionOnDemand(sandbox, dn, objectTypeName);
    assert.equal(res.status, 200, res.text);
    const { key, value } = onDemandAnswer(res);
    assert.equal(key.result, 'Success', res.text);
    // A group's record is "{}" (Graph's provisionOnDemand, Example 3); a user's has statusInfo.
    if (objectTypeName === 'group') assert.deepEqual(value, {});
    else assert.equal((value as OnDemandValue).statusInfo.status, 'Success', JSON.stringify(value));
  }

  it('mailbox user: "1. AD: create the user and set mail; 2. wait until sync has created the user in Entra ID; 3. assign the Exchange Online plan, wait for the mailbox; 4. optionally set IsExchangeCloudManaged=True, then manage further addresses in EXO"', async function () {
    // 1. AD: the user with mail.
    const name = s.name('OrdMbx');
    const upn = s.upn(name);
    const mail = `${name}.mail@contoso.example`;
    const dn = await s.addUser(name, { mail });
    assert.deepEqual(await s.readAd(dn, 'mail'), [mail]);
    assert.equal(await s.graphUser(upn), null, 'not in Entra ID before sync');

    // 2. Sync (Cloud Sync on demand) → the user is in Entra ID.
    await syncNow(dn);
    const user = await s.mustGraphUser(upn);
    assert.equal(user.onPremisesSyncEnabled, true);
    assert.equal(user.mail, mail);
    assert.equal(await s.exoGet('Get-Mailbox', upn), null, 'no mailbox before the plan');

    // 3. The Exchange Online plan (usageLocation first) → the mailbox, primary = mail.
    await s.licence(upn);
    const mb = await s.mailbox(upn);
    assert.equal(mb.RecipientTypeDetails, 'UserMailbox');
    assert.equal(mb.PrimarySmtpAddress, mail);

    // 4. Cloud-managed, then further addresses in EXO.
    await s.exoSet('Set-Mailbox', { Identity: upn, IsExchangeCloudManaged: true });
    const extra = `${name}.extra@contoso.example`;
    await s.exoSet('Set-Mailbox', { Identity: upn, EmailAddresses: hashtable({ Add: `smtp:${extra}` }) });
    await syncNow(dn); // a later sync of the user keeps what EXO manages
    const managed = await s.mailbox(upn);
    assert.equal(managed.IsExchangeCloudManaged, true);
    assert.ok(managed.EmailAddresses.includes(`smtp:${extra}`), managed.EmailAddresses.join(', '));
    assert.equal(managed.PrimarySmtpAddress, mail);
  });

  it('"1. AD: create the user and set mail (otherwise EXO uses the UPN)"', async function () {
    const name = s.name('OrdNoMail');
    const upn = s.upn(name);
    const dn = await s.addUser(name);
    await syncNow(dn);
    await s.licence(upn);
    assert.equal((await s.mailbox(upn)).PrimarySmtpAddress, upn);
  });

  it('mail user: "for mail users also mailNickname and targetAddress" — after sync it is a MailUser, with no plan', async function () {
    const name = s.name('OrdMu');
    const external = `${name}@partner.example`;
    const dn = await s.addUser(name, { mail: external, mailNickname: name, targetAddress: `SMTP:${external}` });
    await syncNow(dn);
    assert.ok(await s.graphUser(s.upn(name)), 'in Entra ID');
    const r = await s.exoGet<ExoRecipientRow>('Get-Recipient', external);
    assert.equal(r?.RecipientTypeDetails, 'MailUser');
    assert.equal((await s.exoGet<ExoMailUser>('Get-MailUser', external))?.ExternalEmailAddress, `SMTP:${external}`);
  });

  it('"3. Assign the Exchange Online plan (directly or through a licensing group)": a synced group with the plan gives its AD member a mailbox', async function () {
    const name = s.name('OrdGrpLic');
    const upn = s.upn(name);
    const mail = `${name}.mail@contoso.example`;
    const userDn = await s.addUser(name, { mail });
    const groupName = s.name('OrdLicGrp');
    const groupDn = await s.addGroup(groupName, { scope: 'global', security: true, members: [userDn] });
    await syncNow(userDn);
    await syncNow(groupDn, 'group');
    const [group] = await s.graphGroupsBySam(groupName);
    assert.ok(group, 'the licensing group is in Entra ID');
    assert.equal((await s.mustGraphUser(upn)).usageLocation, null);

    const res = await s.graph('POST', `/groups/${group.id}/assignLicense`, { addLicenses: [{ skuId: s.exchangeSku, disabledPlans: [] }], removeLicenses: [] });
    assert.equal(res.status, 202, res.text);
    const states = await s.graph<GraphUser & { licenseAssignmentStates: LicenceState[] }>('GET', `/users/${encodeURIComponent(upn)}?$select=usageLocation,licenseAssignmentStates`);
    assert.equal(states.status, 200, states.text);
    assert.deepEqual(
      states.json.licenseAssignmentStates.map((l) => [l.skuId, l.assignedByGroup, l.state]),
      [[s.exchangeSku, group.id, 'Active']],
      'the plan comes through the group',
    );
    assert.equal(states.json.usageLocation, 'DE', "group licensing gives a member without usageLocation the tenant's country");
    const mb = await s.mailbox(upn);
    assert.equal(mb.PrimarySmtpAddress, mail);
  });
});
