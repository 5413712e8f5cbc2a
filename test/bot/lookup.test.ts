/**
 * `show` and `find` over HTTP as Teams sends them, against the sandbox: recipients made in AD (Samba, over LDAP) and
 * synced, licensed and changed through Graph and Exchange Online; the card's facts are compared with what the test
 * reads back itself from AD and Exchange Online. Also: a name several recipients have lists them, a missing one gets
 * a clear answer, a person without a role is refused, `find` says when there are more than twenty, each look-up is
 * audited without what it showed, and the card's buttons open change forms pre-filled with the recipient.
 */
import assert from 'node:assert/strict';
import { SANDBOX_COLLEAGUES } from '../../src/sandbox/people';
import { ConformanceSuite, MAIL_DOMAIN, add, type ExoMailbox } from '../harness/conformance';
import { unescaped, visibleText, type Person } from '../harness/connector';
import { TestMailroom } from '../harness/mailroom';
import { actionsOf, buttonData, formInputs, type Card } from '../harness/requests';
import { getSharedSandbox } from '../harness/sandbox';

const MEGAN: Person = { id: SANDBOX_COLLEAGUES[0]!.key, aadObjectId: SANDBOX_COLLEAGUES[0]!.aadObjectId, name: SANDBOX_COLLEAGUES[0]!.name };

/**
 * The facts of a card as a person reads them (markdown escapes undone), by title: the FactSet's, and the long ones
 * shown below it as a bold title line and a value line.
 */
function factsOf(card: Card): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (n: unknown): void => {
    if (!n || typeof n !== 'object') return;
    if (Array.isArray(n)) return n.forEach(walk);
    const o = n as Record<string, unknown>;
    if (o.type === 'FactSet' && Array.isArray(o.facts)) for (const f of o.facts as { title: string; value: string }[]) out.set(unescaped(f.title), unescaped(f.value));
    const items = o.type === 'Container' && Array.isArray(o.items) ? (o.items as { type?: string; text?: string }[]) : [];
    const title = items.length === 2 && items.every((i) => i.type === 'TextBlock') ? /^\*\*(.+)\*\*$/.exec(items[0]!.text ?? '') : null;
    if (title) out.set(unescaped(title[1]!), unescaped(items[1]!.text ?? ''));
    Object.values(o).forEach(walk);
  };
  walk(card);
  return out;
}

/** EmailAddresses' SMTP addresses as the card lists them: the primary first, marked, then the others in Exchange's order. */
function expectedAddresses(emailAddresses: readonly string[]): string {
  const primary = emailAddresses.find((a) => a.startsWith('SMTP:'))!.slice(5);
  const rest = emailAddresses.filter((a) => a.startsWith('smtp:')).map((a) => a.slice(5));
  return [`${primary} (primary)`, ...rest].join(', ');
}

describe('show and find: one recipient across AD, Entra ID and Exchange Online, over HTTP', function () {
  this.timeout(120_000);
  let m: TestMailroom;
  let suite: ConformanceSuite;
  let lic: string;
  const n = {} as Record<'user' | 'shared' | 'cloud' | 'contact' | 'group' | 'amb1' | 'amb2' | 'many', string>;
  const dn = {} as Record<'user' | 'shared' | 'cloud' | 'contact' | 'group', string>;
  const addr = (name: string) => `${name}.mail@${MAIL_DOMAIN}`;
  const second = (name: string) => `${name}.second@${MAIL_DOMAIN}`;

  before(async function () {
    const sandbox = await getSharedSandbox();
    m = await TestMailroom.start({ sandbox, name: 'lookup', logVariable: 'LOOKUP_LOG' });
    await m.chat(MEGAN).client.install();
    suite = await ConformanceSuite.open(sandbox, 'lookup');
    for (const k of ['user', 'shared', 'cloud', 'contact', 'group', 'amb1', 'amb2', 'many'] as const) n[k] = suite.name(`lk${k}`);

    dn.user = await suite.addUser(n.user, { displayName: `Lena Lookup ${n.user}`, mail: addr(n.user), mailNickname: n.user, proxyAddresses: [`SMTP:${addr(n.user)}`, `smtp:${second(n.user)}`] });
    dn.shared = await suite.addUser(n.shared, { displayName: `Shared Desk ${n.shared}`, mail: addr(n.shared), mailNickname: n.shared, disabled: true });
    dn.cloud = await suite.addUser(n.cloud, { displayName: `Cleo Cloud ${n.cloud}`, mail: addr(n.cloud), mailNickname: n.cloud, proxyAddresses: [`SMTP:${addr(n.cloud)}`] });
    dn.contact = await suite.addContact(n.contact, { displayName: `Carl Contact ${n.contact}`, mail: `${n.contact}@partner.example` });
    dn.group = await suite.addGroup(n.group, { scope: 'universal', security: false, mail: addr(n.group), members: [dn.user, dn.contact] });
    // Two recipients answer to n.amb1: one by its name, the other by its alias.
    await suite.addContact(n.amb1, { displayName: `Amb One ${n.amb1}`, mail: `${n.amb1}@partner.example` });
    const amb2 = await suite.addContact(n.amb2, { displayName: `Amb Two ${n.amb2}`, mail: `${n.amb2}@partner.example` });
    await suite.modify(amb2, add('mailNickname', [n.amb1]));
    // More than twenty recipients whose names start alike.
    for (let i = 0; i < 22; i++) await suite.addContact(`${n.many}x${i}`, { displayName: `${n.many} Many ${String(i).padStart(2, '0')}`, mail: `${n.many}.${i}@partner.example` });
    await suite.sync();

    for (const k of ['user', 'shared', 'cloud'] as const) await suite.licence(suite.upn(n[k]));
    const skus = await m.cloud.graph.subscribedSkus();
    lic = skus.find((s) => s.skuId === suite.exchangeSku)!.skuPartNumber;

    // The shared mailbox: converted, licence removed; the user holds FullAccess and Send As on it.
    await suite.exoSet('Set-Mailbox', { Identity: addr(n.shared), Type: 'Shared' });
    await suite.unlicence(suite.upn(n.shared));
    await suite.exoSet('Add-MailboxPermission', { Identity: addr(n.shared), User: suite.upn(n.user), AccessRights: ['FullAccess'] });
    await suite.exoSet('Add-RecipientPermission', { Identity: addr(n.shared), Trustee: suite.upn(n.user), AccessRights: ['SendAs'] });
    // The user's mail is forwarded (Exchange's own setting, taken on a synced mailbox too).
    await suite.exoSet('Set-Mailbox', { Identity: addr(n.user), ForwardingSmtpAddress: `smtp:${n.user}@partner.example`, DeliverToMailboxAndForward: true });
    // The cloud-managed mailbox: Exchange masters it; the user may send on its behalf; AD gets an address Exchange does not.
    await suite.exoSet('Set-Mailbox', { Identity: addr(n.cloud), IsExchangeCloudManaged: true });
    await suite.exoSet('Set-Mailbox', { Identity: addr(n.cloud), GrantSendOnBehalfTo: [suite.upn(n.user)] });
    await suite.modify(dn.cloud, add('proxyAddresses', [`smtp:${n.cloud}.extra@${MAIL_DOMAIN}`]));
    await suite.sync();
  });

  after(async function () {
    await m?.close();
    await suite?.close();
  });

  async function show(identity: string, who = m.rita): Promise<Card> {
    return who.sayForCard(`show ${identity}`, /./);
  }

  it('a user mailbox: kind, DN, addresses primary first, authority, licence, forwarding, groups and drift as AD, Entra ID and Exchange read them', async function () {
    const card = await show(addr(n.user));
    const f = factsOf(card);
    const mbx = (await suite.mailbox(addr(n.user))) as ExoMailbox & { ForwardingSmtpAddress: string };
    assert.equal(visibleText({ attachments: [{ content: card }] }).split('\n')[0], mbx.DisplayName);
    assert.equal(f.get('Kind'), 'User mailbox (UserMailbox)');
    assert.equal(f.get('Addresses'), expectedAddresses(mbx.EmailAddresses));
    assert.ok(f.get('Addresses')!.startsWith(`${addr(n.user)} (primary), `), 'primary first');
    assert.equal(f.get('UPN'), mbx.UserPrincipalName);
    assert.equal(f.get('AD DN')?.toLowerCase(), dn.user.toLowerCase());
    assert.match(f.get('Source of authority') ?? '', /^AD masters it \(synced, IsExchangeCloudManaged = False\)/);
    assert.equal(f.get('IsExchangeCloudManaged'), String(mbx.IsExchangeCloudManaged === true ? 'True' : 'False'));
    assert.equal(f.get('Account'), 'enabled');
    assert.equal(f.get('Licences'), lic);
    assert.equal(f.get('Mailbox type'), 'Regular');
    assert.equal(f.get('Hidden from address lists'), mbx.HiddenFromAddressListsEnabled ? 'yes' : 'no');
    assert.equal(f.get('Forwarding'), `to ${mbx.ForwardingSmtpAddress.replace(/^smtp:/i, '')}, keeping a copy in the mailbox`);
    assert.equal(f.get('Full access'), 'nobody else');
    assert.equal(f.get('Send as'), 'nobody else');
    assert.equal(f.get('Send on behalf'), 'nobody');
    const memberOf = (await suite.readAd(dn.user, 'memberOf')).map((d) => /^CN=([^,]+)/.exec(d)![1]);
    assert.deepEqual(memberOf, [n.group], 'AD says so too');
    assert.equal(f.get('Member of'), n.group);
    assert.equal(f.get('AD and Exchange'), 'AD masters the Exchange attributes; AD and Exchange Online agree');
    assert.ok(![...f.values()].some((v) => v.startsWith('could not read')), JSON.stringify([...f]));
  });

  it('its buttons open the change forms pre-filled with the recipient (requesters only)', async function () {
    const card = await show(addr(n.user));
    const titles = actionsOf(card).map((a) => a.title);
    for (const t of ['Add address', 'Remove address', 'Change primary', 'Convert', 'Cloud-managed', 'Offboard']) assert.ok(titles.includes(t), `a ${t} button: ${titles.join(', ')}`);
    assert.ok(actionsOf(card).every((a) => a.verb === 'request.form'));
    const form = await m.rita.press('request.form', buttonData(card, 'Add address')!);
    assert.match(visibleText({ attachments: [{ content: form }] }), /Add a secondary address/);
    assert.equal(formInputs(form).get('identity')?.value, addr(n.user));
    const convert = await m.rita.press('request.form', buttonData(card, 'Convert')!);
    assert.equal(formInputs(convert).get('identity')?.value, addr(n.user));

    // Arnold approves but does not request: the same facts, no buttons.
    const arnold = await show(addr(n.user), m.arnold);
    assert.equal(factsOf(arnold).get('Addresses'), factsOf(card).get('Addresses'));
    assert.deepEqual(actionsOf(arnold), []);
    assert.match(visibleText({ attachments: [{ content: arnold }] }), /Changes need the requester role\./);
  });

  it('a shared mailbox: who holds FullAccess and Send As, as Exchange Online lists them', async function () {
    const f = factsOf(await show(addr(n.shared)));
    const { value: perms } = await suite.exo.invoke<{ User: string; AccessRights: string[] }>('Get-MailboxPermission', { Identity: addr(n.shared) });
    const { value: sendAs } = await suite.exo.invoke<{ Trustee: string }>('Get-RecipientPermission', { Identity: addr(n.shared) });
    assert.deepEqual(perms.filter((p) => p.User === suite.upn(n.user)).map((p) => p.AccessRights), [['FullAccess']]);
    assert.ok(sendAs.some((p) => p.Trustee === suite.upn(n.user)));
    assert.equal(f.get('Kind'), 'Shared mailbox (SharedMailbox)');
    assert.equal(f.get('Mailbox type'), 'Shared');
    assert.equal(f.get('Account'), 'disabled');
    assert.equal(f.get('Licences'), 'none');
    assert.equal(f.get('Full access'), suite.upn(n.user));
    assert.equal(f.get('Send as'), suite.upn(n.user));
    assert.equal(f.get('Forwarding'), 'none');
  });

  it('a cloud-managed mailbox: Exchange masters it, send on behalf, and what AD has that Exchange has not', async function () {
    const f = factsOf(await show(suite.upn(n.cloud)));
    const mbx = (await suite.mailbox(addr(n.cloud))) as ExoMailbox & { GrantSendOnBehalfTo: string[] };
    assert.equal(mbx.IsExchangeCloudManaged, true);
    assert.equal(f.get('IsExchangeCloudManaged'), 'True');
    assert.match(f.get('Source of authority') ?? '', /Exchange Online masters the Exchange attributes/);
    assert.equal(f.get('Send on behalf'), mbx.GrantSendOnBehalfTo.join(', '));
    assert.ok(mbx.GrantSendOnBehalfTo.length === 1);
    assert.ok(!mbx.EmailAddresses.some((a) => a.toLowerCase() === `smtp:${n.cloud}.extra@${MAIL_DOMAIN}`.toLowerCase()), 'AD’s new address did not reach the cloud-managed mailbox');
    assert.equal(
      f.get('AD and Exchange'),
      `Exchange Online masters the Exchange attributes (AD keeps only mail and the identity); they differ: only in AD: ${n.cloud}.extra@${MAIL_DOMAIN}`.replace(n.cloud, n.cloud.toLowerCase()),
    );
  });

  it('a contact: its external address, its DN, its group; no mailbox parts', async function () {
    const card = await show(`${n.contact}@partner.example`);
    const f = factsOf(card);
    const row = (await suite.exo.invoke<{ EmailAddresses: string[]; DisplayName: string }>('Get-MailContact', { Identity: n.contact })).value[0]!;
    assert.equal(f.get('Kind'), 'Mail contact (MailContact)');
    assert.equal(f.get('Addresses'), expectedAddresses(row.EmailAddresses));
    assert.equal(f.get('AD DN')?.toLowerCase(), dn.contact.toLowerCase());
    assert.equal(f.get('Member of'), n.group);
    for (const absent of ['Licences', 'Mailbox type', 'Full access', 'Forwarding', 'IsExchangeCloudManaged']) assert.ok(!f.has(absent), `no ${absent}`);
    assert.deepEqual(actionsOf(card).map((a) => a.title).filter((t) => /Convert|Offboard|Cloud-managed/.test(t)), []);
  });

  it('a group: its members as Exchange Online lists them, owners, Send As', async function () {
    const card = await show(addr(n.group));
    const f = factsOf(card);
    const members = (await suite.exo.invoke<{ DisplayName: string }>('Get-DistributionGroupMember', { Identity: addr(n.group) })).value.map((r) => r.DisplayName).sort();
    assert.equal(members.length, 2);
    assert.equal(f.get('Kind'), 'Distribution group (MailUniversalDistributionGroup)');
    assert.equal(f.get('Members'), `2: ${members.join(', ')}`);
    assert.equal(f.get('Owners (ManagedBy)'), 'none');
    assert.equal(f.get('Send as'), 'nobody else');
    assert.match(f.get('Source of authority') ?? '', /^AD masters it \(synced\)/);
  });

  it('a name several recipients answer to: both listed, none shown', async function () {
    const card = await show(n.amb1);
    const text = visibleText({ attachments: [{ content: card }] });
    assert.match(text, new RegExp(`"${n.amb1}" names 2 recipients`));
    assert.ok(text.includes(`Amb One ${n.amb1}`) && text.includes(`${n.amb1}@partner.example`), text);
    assert.ok(text.includes(`Amb Two ${n.amb2}`) && text.includes(`${n.amb2}@partner.example`), text);
    assert.equal(factsOf(card).size, 0, 'no recipient card');
  });

  it('a recipient nobody has: a clear "no recipient"; a wildcard is refused', async function () {
    const missing = `nobody-${n.user}@${MAIL_DOMAIN}`;
    const text = visibleText({ attachments: [{ content: await show(missing) }] });
    assert.match(text, /No recipient/);
    assert.ok(text.includes(`No recipient in Exchange Online or Active Directory has the address, UPN, alias or name "${missing}". Nothing was changed.`), text);
    const wild = visibleText({ attachments: [{ content: await show(`${n.user}*`) }] });
    assert.match(wild, /does not take wildcards/);
  });

  it('a person without a role is refused; each look-up is audited with what was asked, not what was shown', async function () {
    await show(addr(n.user));
    const refused = visibleText({ attachments: [{ content: await m.chat(MEGAN).sayForCard(`show ${addr(n.user)}`, /./) }] });
    assert.match(refused, /\*\*show\*\* needs the requester or approver or admin role/);
    assert.ok(!refused.includes(addr(n.group)));
    const findRefused = visibleText({ attachments: [{ content: await m.chat(MEGAN).sayForCard(`find ${n.many}`, /./) }] });
    assert.match(findRefused, /\*\*find\*\* needs the requester or approver or admin role/);

    const events = (await m.app.store.audit.list({ limit: 1000 })).filter((e) => e.event === 'recipient.show' || e.event === 'recipient.find');
    assert.ok(!events.some((e) => e.actorAadObjectId === MEGAN.aadObjectId), 'a refused look-up is not a look-up');
    const mine = events.find((e) => e.event === 'recipient.show' && e.actorAadObjectId === m.rita.person.aadObjectId && (e.data as { query?: string }).query === addr(n.user));
    assert.ok(mine, 'Rita’s show is audited with the identity she asked for');
    assert.equal((mine.data as { outcome?: string }).outcome, 'one');
    assert.ok(!JSON.stringify(mine.data).includes(n.group), 'the audit line holds no card data');
  });

  it('find lists at most twenty matches and says when there are more', async function () {
    const card = await m.rita.sayForCard(`find ${n.many}`, /./);
    const text = visibleText({ attachments: [{ content: card }] });
    assert.match(text, new RegExp(`More than 20 recipients start with "${n.many}"`));
    assert.match(text, /The first 20 are listed/);
    const listed = [...text.matchAll(new RegExp(`${n.many} Many \\d\\d`, 'g'))].map((x) => x[0]);
    assert.equal(listed.length, 20);
    assert.deepEqual(listed, [...listed].sort());

    const one = visibleText({ attachments: [{ content: await m.rita.sayForCard(`find Lena Lookup ${n.user}`, /./) }] });
    assert.match(one, /1 recipient starts with/);
    assert.ok(one.includes(addr(n.user)) && one.includes('User mailbox'), one);
    const events = (await m.app.store.audit.list({ limit: 1000 })).filter((e) => e.event === 'recipient.find' && (e.data as { query?: string }).query === n.many);
    assert.deepEqual(events.map((e) => [(e.data as { matches?: number }).matches, (e.data as { more?: boolean }).more]), [[20, true]]);
  });
});
