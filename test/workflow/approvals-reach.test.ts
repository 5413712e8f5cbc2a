/**
 * Approvals that reach someone, over HTTP through the bot against the sandbox (its Graph serves Teams' app
 * installation, chats and activity feed): an approver who never opened Mailroom gets the card in the chat Mailroom
 * installs itself into, and a feed notification; a member of a nested group gets the card; a manager stage reaches the
 * requester's manager; a delegate decides and the audit names both; an undecided request is escalated after its
 * reminder; the approvals channel set by `approvals here` gets a copy; nobody reachable is said at once.
 */
import assert from 'node:assert/strict';
import { SANDBOX_COLLEAGUES, SANDBOX_MAIL_DOMAIN, SANDBOX_PEOPLE, SANDBOX_TENANT_ID } from '../../src/sandbox/people';
import { ConformanceSuite, replace } from '../harness/conformance';
import { TeamsClient, visibleText, type Person } from '../harness/connector';
import { QUICK_RUNNER, TestMailroom } from '../harness/mailroom';
import { buttonData, cardOf, cardText, invokeCard } from '../harness/requests';
import { getSharedSandbox } from '../harness/sandbox';
import type { Sandbox } from '../../src/sandbox';

const personOf = (p: { key: string; aadObjectId: string; name: string }): Person => ({ id: p.key, aadObjectId: p.aadObjectId, name: p.name });
const [MEGAN, ISAIAH, PATTI] = SANDBOX_COLLEAGUES.map(personOf) as [Person, Person, Person];
const ARNOLD = personOf(SANDBOX_PEOPLE.approver);
const ADA = personOf(SANDBOX_PEOPLE.admin);
const RITA = personOf(SANDBOX_PEOPLE.requester);
const HOUR = 3_600_000;
/** An approver id no user of the tenant has. */
const GHOST = '0badc0de-0000-4000-8000-00000000dead';
const suffix = Date.now().toString(36).slice(-5);

describe('approvals that reach someone: installation, feed, nested groups, manager, delegation, escalation, channel', function () {
  this.timeout(90_000);
  let sandbox: Sandbox;
  let m: TestMailroom;
  let offset = 0;
  let outer = '';

  before(async function () {
    sandbox = await getSharedSandbox();
    // Isaiah approves contacts through a group inside a group
    const inner = sandbox.tenant.createCloudGroup({ displayName: `Reach inner ${suffix}`, securityEnabled: true });
    const outerGroup = sandbox.tenant.createCloudGroup({ displayName: `Reach outer ${suffix}`, securityEnabled: true });
    sandbox.tenant.addGroupMember(inner.id, ISAIAH.aadObjectId);
    sandbox.tenant.addGroupMember(outerGroup.id, inner.id);
    outer = outerGroup.id;
    // Patti is Rita's manager in Entra ID
    sandbox.tenant.setManager(SANDBOX_PEOPLE.requester.aadObjectId, PATTI.aadObjectId);
    m = await TestMailroom.start({
      sandbox,
      name: 'approvals-reach',
      logVariable: 'APPROVALS_REACH_LOG',
      settings: {
        // contacts: the nested group; mail users: the manager, then Arnold; shared mailboxes: Megan, who never opened Mailroom
        APPROVERS_MAIL_CONTACT: `group:${outer}`,
        APPROVERS_MAIL_USER: 'manager',
        APPROVERS_MAIL_USER_STAGE2: `user:${ARNOLD.aadObjectId}`,
        APPROVERS_SHARED_MAILBOX: `user:${MEGAN.aadObjectId}`,
        // members of a group: its owners
        APPROVERS_GROUP_MEMBER_ADD: 'owners',
        // groups: somebody the tenant does not have, so nobody can be reached
        APPROVERS_DISTRIBUTION_GROUP: `user:${GHOST}`,
        // every other kind: Arnold
        APPROVERS: `user:${ARNOLD.aadObjectId}`,
        APPROVAL_REMIND_AFTER: '4h',
        ROLE_APPROVERS: `user:${ARNOLD.aadObjectId},user:${MEGAN.aadObjectId},user:${ISAIAH.aadObjectId},user:${PATTI.aadObjectId}`,
      },
      options: { ...QUICK_RUNNER, runRequests: false, now: () => new Date(Date.now() + offset) },
    });
  });

  after(async function () {
    await m?.close();
  });

  /** Rita files `command`; resolves with the reference of the request it filed. */
  async function file(command: string, title: string): Promise<string> {
    const since = m.connector.calls.length;
    await m.rita.client.say(command);
    const status = await m.rita.waitFor((c) => new RegExp(`R-\\d+ · ${title}`).test(visibleText(c.body)), since);
    return /(R-\d+)/.exec(visibleText(status.body))?.[1] ?? '';
  }

  /** The approval card of `reference` posted to any conversation from `since` on. */
  const approvalCardIn = (reference: string, title: string, since: number, where?: (conversationId: string) => boolean) =>
    m.connector.waitFor((c) => visibleText(c.body).includes(`${reference} · ${title}`) && buttonData(cardOf(c), 'Approve') !== undefined && (!where || where(c.conversationId)), 15_000, since);

  async function approveAs(p: Person, card: Parameters<typeof cardOf>[0]): Promise<string> {
    const res = await m.chat(p).client.execute('request.approve', buttonData(cardOf(card), 'Approve') ?? {});
    return cardText(invokeCard(res));
  }

  it('an approver who never opened Mailroom: Mailroom installs itself for her, posts the card in that chat and in her activity feed; she approves', async function () {
    assert.equal(sandbox.tenant.teams.isInstalled(MEGAN.aadObjectId, sandbox.endpoints.teams.appCatalogId), false, 'Megan never had Mailroom');
    const since = m.connector.calls.length;
    const reference = await file(`new shared mailbox name="Reach Shared ${suffix}" alias=reach-${suffix}`, 'Shared mailbox');
    const card = await approvalCardIn(reference, 'Shared mailbox', since, (id) => /^19:.*@unq\.gbl\.spaces$/.test(id));
    assert.equal(sandbox.tenant.teams.isInstalled(MEGAN.aadObjectId, sandbox.endpoints.teams.appCatalogId), true, 'installed through Graph');
    const feed = sandbox.tenant.teams.activityNotifications(MEGAN.aadObjectId).filter((n) => n.topic.value === reference);
    assert.equal(feed.length, 1, 'one activity-feed notification');
    assert.equal(feed[0]?.activityType, 'approvalRequested');
    assert.match(feed[0]?.previewText.content ?? '', new RegExp(`Rita Requester asks you to approve ${reference}`));
    assert.match(await approveAs(MEGAN, card), /Approved by Megan Bowen/);
  });

  it('a member of a group inside the approver group gets the card and may decide', async function () {
    const since = m.connector.calls.length;
    const reference = await file(`new contact name="Reach Contact ${suffix}" email=reach.${suffix}@partner.example`, 'Mail contact');
    const card = await approvalCardIn(reference, 'Mail contact', since, (id) => id.includes(ISAIAH.aadObjectId));
    assert.match(await approveAs(ISAIAH, card), /Approved by Isaiah Langer/);
  });

  it('a manager stage reaches the requester\'s manager (Entra ID names Patti), then the second stage goes to Arnold', async function () {
    const since = m.connector.calls.length;
    const reference = await file(`new mail user first=Reach last=Manager${suffix} email=reach.m.${suffix}@partner.example`, 'Mail user');
    const forPatti = await approvalCardIn(reference, 'Mail user', since);
    assert.match(await approveAs(ARNOLD, forPatti), /not an approver|There is no request/, 'Arnold may not decide the manager stage');
    const next = m.connector.calls.length;
    assert.match(await approveAs(PATTI, forPatti), /Approved by Patti Fernandez|stage 2/i);
    const forArnold = await approvalCardIn(reference, 'Mail user', next, (id) => id.includes(ARNOLD.id));
    assert.match(await approveAs(ARNOLD, forArnold), /Approved by Arnold Approver/);
    const resolved = (await m.app.store.audit.list({ requestRef: reference, limit: 50 })).find((e) => e.event === 'request.approvers-resolved');
    assert.match(JSON.stringify(resolved?.data ?? {}), /Patti Fernandez, the requester's manager, decides stage 1/);
  });

  it('a delegate decides for the approver while he is away: she gets the card, her decision and the audit name both', async function () {
    const until = new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 10);
    const said = await m.arnold.sayForCard(`delegate approvals to ${SANDBOX_COLLEAGUES[0]!.upn} until ${until}`, /Delegation|Not delegated/);
    assert.match(cardText(said), /Megan Bowen gets the approval cards you would get/);
    const since = m.connector.calls.length;
    const reference = await file(`new room name="Reach Room ${suffix}"`, 'Room mailbox');
    // Megan's chat: the one Mailroom installed itself into, or the one she has used since
    const forMegan = await approvalCardIn(reference, 'Room mailbox', since, (id) => id.includes(MEGAN.aadObjectId) || id === `a:personal-${MEGAN.id}`);
    assert.match(await approveAs(MEGAN, forMegan), /Approved by Megan Bowen for Arnold Approver/);
    const decided = (await m.app.store.audit.list({ requestRef: reference, limit: 50 })).find((e) => e.event === 'request.decided');
    assert.deepEqual([decided?.actorName, (decided?.data as { onBehalfOf?: string }).onBehalfOf, (decided?.data as { onBehalfOfName?: string }).onBehalfOfName], ['Megan Bowen', ARNOLD.aadObjectId, 'Arnold Approver']);
    const off = await m.arnold.sayForCard('delegate approvals off', /Delegation|Not delegated/);
    assert.match(cardText(off), /no longer go to Megan Bowen/);
    // once it ends, she may not decide for him any more
    const later = m.connector.calls.length;
    const next = await file(`new room name="Reach Room Two ${suffix}"`, 'Room mailbox');
    const forArnold = await approvalCardIn(next, 'Room mailbox', later, (id) => id.includes(ARNOLD.id));
    assert.doesNotMatch(await approveAs(MEGAN, forArnold), /Approved by/);
  });

  it('an approver reassigns a request: the person named gets the card and may decide; a requester may not reassign', async function () {
    const since = m.connector.calls.length;
    const reference = await file(`new room name="Reach Reassign ${suffix}"`, 'Room mailbox');
    await approvalCardIn(reference, 'Room mailbox', since, (id) => id.includes(ARNOLD.id));
    const refused = await m.rita.sayForCard(`reassign ${reference} to ${SANDBOX_COLLEAGUES[1]!.upn}`, /reassign|Unknown|not allowed|role/i);
    assert.doesNotMatch(cardText(refused), /Reassigned/);
    const asked = m.connector.calls.length;
    const done = await m.arnold.sayForCard(`reassign ${reference} to ${SANDBOX_COLLEAGUES[1]!.upn}`, /Reassigned|Not reassigned/);
    assert.match(cardText(done), /Isaiah Langer got the approval card of/);
    const forIsaiah = await approvalCardIn(reference, 'Room mailbox', asked, (id) => id.includes(ISAIAH.aadObjectId) || id === `a:personal-${ISAIAH.id}`);
    assert.match(await approveAs(ISAIAH, forIsaiah), /Approved by Isaiah Langer/);
    const audit = (await m.app.store.audit.list({ requestRef: reference, limit: 50 })).find((e) => e.event === 'approval.reassigned');
    assert.deepEqual([audit?.actorName, (audit?.data as { toName?: string }).toName], ['Arnold Approver', 'Isaiah Langer']);
  });

  it('a membership change goes to the group\'s owners (Exchange Online\'s ManagedBy); a group without owners goes to the admins', async function () {
    const suite = await ConformanceSuite.open(sandbox, 'approvals-reach', { delegated: true });
    try {
      // Megan and Isaiah get mailboxes (an owner must be mail-enabled); Megan owns the group
      for (const p of [SANDBOX_COLLEAGUES[0]!, SANDBOX_COLLEAGUES[1]!]) if (!(await suite.graphUser(p.upn))?.assignedLicenses?.length) await suite.licence(p.upn);
      await suite.mailbox(SANDBOX_COLLEAGUES[0]!.upn);
      const owned = `owned-${suffix}`;
      await suite.exoSet('New-DistributionGroup', { Name: owned, Alias: owned, PrimarySmtpAddress: `${owned}@${SANDBOX_MAIL_DOMAIN}`, ManagedBy: [SANDBOX_COLLEAGUES[0]!.upn] });
      const since = m.connector.calls.length;
      const reference = await file(`add member ${SANDBOX_COLLEAGUES[1]!.upn} to ${owned}@${SANDBOX_MAIL_DOMAIN}`, 'Add group members');
      const forOwner = await approvalCardIn(reference, 'Add group members', since, (id) => id.includes(MEGAN.aadObjectId) || id === `a:personal-${MEGAN.id}`);
      assert.match(await approveAs(MEGAN, forOwner), /Approved by Megan Bowen/);
      const resolved = (await m.app.store.audit.list({ requestRef: reference, limit: 50 })).find((e) => e.event === 'request.approvers-resolved');
      assert.match(JSON.stringify(resolved?.data ?? {}), /The owners of the group \(Megan Bowen\) decide stage 1/);

      const orphan = `orphan-${suffix}`;
      await suite.exoSet('New-DistributionGroup', { Name: orphan, Alias: orphan, PrimarySmtpAddress: `${orphan}@${SANDBOX_MAIL_DOMAIN}` });
      const later = m.connector.calls.length;
      const second = await file(`add member ${SANDBOX_COLLEAGUES[1]!.upn} to ${orphan}@${SANDBOX_MAIL_DOMAIN}`, 'Add group members');
      await approvalCardIn(second, 'Add group members', later, (id) => id.includes(ADA.aadObjectId) || id === `a:personal-${ADA.id}`);
      const told = await m.connector.waitFor((c) => c.conversationId === `a:personal-${SANDBOX_PEOPLE.requester.key}` && visibleText(c.body).includes(`Who decides ${second}`), 10_000, later);
      assert.match(visibleText(told.body), /no owner .*Stage 1 goes to the administrators instead/);

      // a synced group: its owner is AD's managedBy, which Exchange Online shows once synced
      const adOwner = await suite.syncedMailbox('ReachOwn', { displayName: `Olivia Owner ${suffix}` });
      const adMember = await suite.syncedMailbox('ReachMbr');
      const synced = suite.name('ReachGrp');
      const groupDn = await suite.addGroup(synced, { scope: 'universal', security: false, mail: suite.upn(synced) });
      await suite.modify(groupDn, replace('managedBy', [adOwner.dn]));
      await suite.sync();
      const ownerId = (await suite.mustGraphUser(adOwner.mail)).id;
      const third = m.connector.calls.length;
      const fromAd = await file(`add member ${adMember.mail} to ${suite.upn(synced)}`, 'Add group members');
      const resolvedFromAd = (await m.app.store.audit.list({ requestRef: fromAd, limit: 50 })).find((e) => e.event === 'request.approvers-resolved');
      assert.match(JSON.stringify(resolvedFromAd?.data ?? {}), new RegExp(`The owners of the group \\(Olivia Owner ${suffix}\\) decide stage 1`));
      await m.connector.waitFor((c) => c.conversationId.includes(ownerId) && visibleText(c.body).includes(`${fromAd} · Add group members`), 15_000, third);
      assert.equal(sandbox.tenant.teams.isInstalled(ownerId, sandbox.endpoints.teams.appCatalogId), true, 'Mailroom installed itself for the owner AD names');
    } finally {
      await suite.close();
    }
  });

  it('a bulk request of membership changes in two groups: each group\'s owners see, decide and export their rows only; someone who approves none sees no batch', async function () {
    const suite = await ConformanceSuite.open(sandbox, 'approvals-reach', { delegated: true });
    try {
      const megan = SANDBOX_COLLEAGUES[0]!;
      const member = SANDBOX_COLLEAGUES[1]!;
      for (const p of [megan, member]) if (!(await suite.graphUser(p.upn))?.assignedLicenses?.length) await suite.licence(p.upn);
      await suite.mailbox(megan.upn);
      const mine = `bulk-own-${suffix}`;
      const theirs = `bulk-orphan-${suffix}`;
      await suite.exoSet('New-DistributionGroup', { Name: mine, Alias: mine, PrimarySmtpAddress: `${mine}@${SANDBOX_MAIL_DOMAIN}`, ManagedBy: [megan.upn] });
      await suite.exoSet('New-DistributionGroup', { Name: theirs, Alias: theirs, PrimarySmtpAddress: `${theirs}@${SANDBOX_MAIL_DOMAIN}` });
      const since = m.connector.calls.length;
      await m.rita.client.say(['bulk add member', 'group,members', `${theirs}@${SANDBOX_MAIL_DOMAIN},${member.upn}`, `${mine}@${SANDBOX_MAIL_DOMAIN},${member.upn}`].join('\n'));
      const previewCall = await m.rita.waitFor((c) => /B-\d+ · Bulk/.test(visibleText(c.body)), since, 20_000);
      const ref = /(B-\d+)/.exec(visibleText(previewCall.body))?.[1] ?? '';
      const said = async (p: Person, text: string, match: RegExp): Promise<string> => {
        const at = m.connector.calls.length;
        await m.chat(p).client.say(text);
        return visibleText((await m.chat(p).waitFor((c) => c.method === 'POST' && match.test(visibleText(c.body)), at, 20_000)).body);
      };
      assert.match(await said(RITA, `file ${ref}`, /filed|Batch/), new RegExp(`${ref}: 2 Add group members requests filed`));
      const batch = (await m.app.store.batches.get(ref))!;
      const [orphanRow, ownRow] = await m.app.store.requests.listByBatch(batch.id);
      assert.ok(orphanRow && ownRow);

      // Megan owns one of the two groups: she sees that row, and decides it alone
      assert.match(await said(MEGAN, `status ${ref}`, new RegExp(ref)), new RegExp(`${ref} \\(filed\\): the 1 request of it you approve`));
      const plan = await said(MEGAN, `plan ${ref}`, /Plan per row|Line/);
      assert.match(plan, /Rows 1 to 1 of the 1 valid row[\s\S]*\*\*Line 4\*\*\n- Add Isaiah Langer/);
      assert.doesNotMatch(plan, /Line 3/, 'not the other group\'s row');
      const exported = (await said(MEGAN, `export batch ${ref}`, new RegExp(`${ref} as CSV`))).split('\n').slice(2).filter(Boolean);
      assert.deepEqual(exported, [`4,${ownRow.reference},pending-approval,`], 'her row only');
      assert.match(await said(MEGAN, `approve ${ref}`, /approved|Approving|Not decided|no batch/), new RegExp(`1 of 1 request in ${ref} approved\\.$`));
      assert.equal((await m.record(ownRow.reference)).status, 'approved');
      assert.equal((await m.record(orphanRow.reference)).status, 'pending-approval', 'the other group\'s row still waits for its approvers');
      // Isaiah approves neither row: no such batch for him, and nothing changes
      assert.match(await said(ISAIAH, `approve ${ref}`, /no batch/), new RegExp(`There is no batch ${ref} that you may see\\. Nothing was changed\\.`));
      assert.match(await said(ISAIAH, `status ${ref}`, /no batch/), /There is no batch/);
      assert.equal((await m.record(orphanRow.reference)).status, 'pending-approval');
      // the admins decide the group without owners
      assert.match(await said(ADA, `approve ${ref}`, /approved|Not decided/), new RegExp(`1 of 1 request in ${ref} approved`));
      assert.equal((await m.record(orphanRow.reference)).status, 'approved');
    } finally {
      await suite.close();
    }
  });

  it('a request nobody decided is escalated after its reminder: the admins get the card and may decide', async function () {
    const since = m.connector.calls.length;
    const reference = await file(`new equipment name="Reach Late ${suffix}"`, 'Equipment mailbox');
    await approvalCardIn(reference, 'Equipment mailbox', since);
    offset = 4 * HOUR + 60_000;
    const before = m.connector.calls.length;
    const tick = await m.app.workflow!.approvals.tick();
    assert.ok(tick.reminded >= 1);
    const forAda = await approvalCardIn(reference, 'Equipment mailbox', before, (id) => id.includes(ADA.aadObjectId) || id === `a:personal-${ADA.id}`);
    const escalated = (await m.app.store.audit.list({ requestRef: reference, limit: 50 })).find((e) => e.event === 'request.escalated');
    assert.deepEqual((escalated?.data as { to?: string[] }).to, [ADA.aadObjectId]);
    assert.match(await approveAs(ADA, forAda), /Approved by Ada Admin/);
    offset = 0;
  });

  it('nobody can be reached: the requester and the admins are told at once, with why', async function () {
    const since = m.connector.calls.length;
    const reference = await file(`new group name="Reach Group ${suffix}"`, 'Distribution group');
    const told = await m.connector.waitFor((c) => c.conversationId === `a:personal-${SANDBOX_PEOPLE.requester.key}` && visibleText(c.body).startsWith(`Nobody could be told that ${reference} waits for approval`), 15_000, since);
    assert.match(String(told.body.text), /Microsoft Graph did not let Mailroom install itself for them/);
    const toAdmin = m.connector.calls.slice(since).filter((c) => visibleText(c.body).startsWith(`Nobody could be told that ${reference}`)).map((c) => c.conversationId);
    assert.ok(toAdmin.some((id) => id.includes(ADA.aadObjectId) || id === `a:personal-${ADA.id}`), `the admin was told too (${toAdmin.join(', ')})`);
  });

  it('"approvals here" in a channel, by an admin: the channel gets a copy of every approval card, a batch\'s too, decided there; "approvals channel" says so', async function () {
    const channel = new TeamsClient(m.app.url, m.connector.serviceUrl, ADA, SANDBOX_TENANT_ID, { id: `19:approvals-${suffix}@thread.tacv2`, conversationType: 'channel' });
    await channel.install();
    const arnoldThere = new TeamsClient(m.app.url, m.connector.serviceUrl, ARNOLD, SANDBOX_TENANT_ID, channel.conversation);
    const before = m.connector.calls.length;
    await arnoldThere.say('approvals here');
    const refused = await m.connector.waitFor((c) => c.conversationId === channel.conversation.id && /admin/i.test(visibleText(c.body)), 10_000, before);
    assert.ok(refused, 'an approver may not set the channel');
    const since = m.connector.calls.length;
    await channel.say('approvals here');
    await m.connector.waitFor((c) => c.conversationId === channel.conversation.id && /This channel gets a copy of every approval card/.test(visibleText(c.body)), 10_000, since);
    const filed = m.connector.calls.length;
    const reference = await file(`new equipment name="Reach Channel ${suffix}"`, 'Equipment mailbox');
    const channelCard = await approvalCardIn(reference, 'Equipment mailbox', filed, (id) => id === channel.conversation.id);
    const where = await m.arnold.sayForCard('approvals channel', /Approvals channel/);
    assert.match(cardText(where), /Every kind: the channel set by Ada Admin/);

    // Approve pressed on the channel's card: the answer shows it to Arnold, and the card is updated for the channel
    // too (the others there see it; only in a personal chat is the answer enough)
    const pressed = m.connector.calls.length;
    assert.match(cardText(invokeCard(await arnoldThere.execute('request.approve', buttonData(cardOf(channelCard), 'Approve') ?? {}, channelCard.activityId))), /Approved by Arnold Approver/);
    await m.connector.waitFor((c) => c.method === 'PUT' && c.activityId === channelCard.activityId && /Approved by Arnold Approver/.test(visibleText(c.body)), 15_000, pressed);

    // a batch's one approval card goes there too; Approve in the channel decides the batch and Arnold's copy says so
    const previewed = m.connector.calls.length;
    await m.rita.client.say(['bulk new equipment', 'name', `Reach Cart ${suffix}`, `Reach Beamer ${suffix}`].join('\n'));
    const preview = await m.connector.waitFor((c) => /B-\d+/.test(visibleText(c.body)) && visibleText(c.body).includes('File all 2'), 15_000, previewed);
    const batch = /B-\d+/.exec(visibleText(preview.body))![0];
    const filing = m.connector.calls.length;
    await m.rita.client.say(`file ${batch}`);
    const inChannel = await m.connector.waitFor((c) => c.conversationId === channel.conversation.id && visibleText(c.body).includes(batch) && buttonData(cardOf(c), 'Approve') !== undefined, 15_000, filing);
    const inArnolds = await m.connector.waitFor((c) => c.conversationId !== channel.conversation.id && c.method === 'POST' && visibleText(c.body).includes(batch) && buttonData(cardOf(c), 'Approve') !== undefined && c.conversationId.includes(ARNOLD.id), 15_000, filing);
    const decided = m.connector.calls.length;
    const answer = await arnoldThere.execute('batch.approve', buttonData(cardOf(inChannel), 'Approve') ?? {});
    assert.match(cardText(invokeCard(answer)), /Approved by Arnold Approver/);
    await m.connector.waitFor((c) => c.method === 'PUT' && c.conversationId === inArnolds.conversationId && /Approved by Arnold Approver/.test(visibleText(c.body)), 15_000, decided);
  });
});
