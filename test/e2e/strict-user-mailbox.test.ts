/**
 * A user mailbox through the real Teams client against the strict sandbox: Mailroom in-process against a sandbox of
 * its own started as `npm start` starts it with SANDBOX_REALISM=strict (the knobs read from the environment variables:
 * Cloud Sync on a timer, mailbox provisioning delay, latency, 429/503 faults, the usage-location → licence, advanced
 * query and Entra ID → Exchange Online lags), scaled down by SANDBOX_TIME_SCALE and with no lag turned off. Rita fills
 * in the form in her Agents Playground, Arnold approves on his approval card in the other, and the status card in
 * Rita's Playground moves to Done. The outcome is then read from the services themselves: the AD user over LDAP,
 * the Entra user's usage location and licence through Graph, the mailbox through Exchange Online.
 */
import assert from 'node:assert/strict';
import { EqualityFilter, type Client } from 'ldapts';
import { type Mailroom } from '../../src/app';
import { createCloudClients, type CloudClients } from '../../src/cloud';
import { projectRoot } from '../../src/paths';
import type { UserMailboxRequest } from '../../src/requests';
import { sandboxKnobsFrom, startSandbox, type Sandbox } from '../../src/sandbox';
import { scaledSandboxDelays, STRICT_SANDBOX_KNOBS } from '../../src/sandbox/knobs';
import { type PlaygroundPage } from '../harness/browser';
import { startPlaygroundMailroom, type PlaygroundMailroom } from '../harness/playground-mailroom';
import type { ExoMailbox } from '../harness/conformance';
import { reEscape, storedRequest } from '../harness/requests';
import { onGlobalTeardown } from '../harness/root-hooks';
import { openSandboxLdap } from '../harness/sandbox';

/** As the strict workflow suite: realistic times × 0.05 (Cloud Sync every 6 s, the mailbox 15 s after its licence, Exchange 6 s behind Entra, the licence 1 s after the usage location). */
const TIME_SCALE = '0.05';
const suffix = Date.now().toString(36).slice(-5);
const FORM = { firstName: 'Lin', lastName: `Strict${suffix}`, department: 'Research', jobTitle: 'Analyst', usageLocation: 'GB' };
const TITLE = 'User mailbox';

describe('SANDBOX_REALISM=strict in two Agents Playgrounds: a user mailbox filled in by Rita, approved by Arnold, runs to done', function () {
  this.timeout(6 * 60_000);
  let sandbox: Sandbox;
  let pm: PlaygroundMailroom | undefined;
  let app: Mailroom;
  let cloud: CloudClients;
  let rita: PlaygroundPage;
  let arnold: PlaygroundPage;
  let reference = '';

  before(async function () {
    // The knobs as `npm start` reads them from env/.env.sandbox and the environment.
    const knobs = sandboxKnobsFrom({ SANDBOX_REALISM: 'strict', SANDBOX_TIME_SCALE: TIME_SCALE, SANDBOX_SEED: '12' });
    sandbox = await startSandbox({ rootDir: projectRoot(), ephemeral: true, knobs });
    onGlobalTeardown('strict Playground sandbox', () => sandbox.stop());
    pm = await startPlaygroundMailroom(sandbox, { name: 'strict-playground', options: { runner: { pollMs: 100, waitPollMs: 250, backoffBaseMs: 200, backoffCapMs: 2000 }, waitIntervalMs: 250 } });
    ({ app, rita, arnold } = pm);
    cloud = createCloudClients(pm.config.cloud!, pm.config.extraCaFile);
  });

  after(async function () {
    await pm?.stop();
    cloud?.close();
    await sandbox?.stop();
  });

  it('the sandbox runs the strict profile from SANDBOX_REALISM=strict: every delay, fault and lag on (scaled, none off)', function () {
    const k = sandbox.knobs;
    assert.equal(k.realism, 'strict');
    assert.equal(k.timeScale, Number(TIME_SCALE));
    for (const key of ['syncIntervalMs', 'mailboxDelayMs', 'latencyMs', 'rate429', 'rate503', 'batchItemRate429', 'usageLocationLagS', 'advancedQueryLagS', 'exchangeLagS'] as const) {
      assert.equal(k[key], STRICT_SANDBOX_KNOBS[key], key);
      assert.ok(k[key] > 0, `${key} is on`);
    }
    assert.ok(Object.values(scaledSandboxDelays(k)).every((ms) => ms > 0));
  });

  it('Rita fills in the user mailbox form in her Playground; the status card replaces it, waiting for approval', async function () {
    await rita.page.bringToFront();
    await rita.send('new mailbox');
    const form = await rita.waitForCard(`New request: ${TITLE}`);
    await form.getByRole('textbox', { name: /^First name/ }).fill(FORM.firstName);
    await form.getByRole('textbox', { name: /^Last name/ }).fill(FORM.lastName);
    await form.getByRole('textbox', { name: /^Department/ }).fill(FORM.department);
    await form.getByRole('textbox', { name: /^Job title/ }).fill(FORM.jobTitle);
    const country = form.getByRole('combobox', { name: /^Usage location/ });
    await country.click();
    await rita.page.getByRole('option', { name: 'United Kingdom (GB)' }).first().click();
    assert.equal(await country.inputValue(), 'United Kingdom (GB)');
    await form.getByRole('button', { name: 'Submit request' }).click();
    const status = await rita.waitForCard(new RegExp(`R-\\d+ · ${TITLE}[\\s\\S]*Waiting for approval`), 30_000);
    const text = await status.innerText();
    reference = new RegExp(`(R-\\d+) · ${TITLE}`).exec(text)?.[1] ?? '';
    assert.ok(reference, `the status card names the request:\n${text}`);
    assert.ok(text.includes(`${FORM.firstName} ${FORM.lastName}`), `the status card shows the person:\n${text}`);
    assert.equal(await rita.page.locator('.ac-adaptiveCard', { hasText: `New request: ${TITLE}` }).count(), 0, 'the status card replaced the form');
    const stored = await storedRequest(app.store, reference);
    assert.ok(stored, `the store has ${reference}`);
    for (const [id, value] of Object.entries(FORM)) assert.equal(stored.record.values[id], value, `the form submitted ${id}`);
    await rita.screenshot('strict-01-filed');
  });

  it('Arnold approves on the approval card in his Playground', async function () {
    assert.ok(reference, 'the request was filed');
    await arnold.page.bringToFront();
    const card = await arnold.waitForCard(`${reference} · ${TITLE}`, 30_000);
    await card.getByRole('button', { name: 'Approve' }).waitFor();
    const text = await card.innerText();
    assert.match(text, /Requested by Rita Requester/);
    assert.match(text, /Assign the .+ licence/);
    await card.getByRole('button', { name: 'Approve' }).click();
    const decided = await arnold.waitForCard(new RegExp(`${reEscape(reference)} · ${TITLE}[\\s\\S]*Approved by Arnold Approver at`));
    assert.equal(await decided.getByRole('button', { name: 'Approve' }).count(), 0, 'no buttons once decided');
    await arnold.screenshot('strict-02-approved');
  });

  it("Rita's status card moves to Done with every step ticked, and she is told", async function () {
    assert.ok(reference, 'the request was filed');
    await rita.page.bringToFront();
    // Watches the card, and the store so that a failed run fails the test at once with its error and steps.
    const status = rita.card(new RegExp(`${reEscape(reference)} · ${TITLE}[\\s\\S]*Done at`));
    const end = Date.now() + 4 * 60_000;
    while (!(await status.isVisible())) {
      const r = (await storedRequest(app.store, reference))?.record;
      if (r?.status === 'failed' || Date.now() > end) {
        const steps = r ? (await app.store.runs.listByRequest(r.id)).map((s) => `${s.stepId}:${s.status}`).join(', ') : '';
        const last = await rita.page.locator('.ac-adaptiveCard').last().innerText().catch(() => '(no card)');
        assert.fail(`${reference} did not reach Done in the Playground: it is ${r?.status ?? '?'}${r?.error ? `: ${r.error}` : ''} (steps: ${steps}); the last card reads:\n${last}`);
      }
      await rita.page.waitForTimeout(250);
    }
    const text = await status.innerText();
    assert.match(text, /approved by Arnold Approver/);
    assert.match(text, /✔ 1\./);
    assert.doesNotMatch(text, /[○▶⏳✖] \d\./, 'no step is left pending, running, waiting or failed');
    await rita.page.getByText(new RegExp(`${reEscape(reference)} is done`)).first().waitFor({ timeout: 20_000 });
    await rita.screenshot('strict-03-done');
    const r = (await storedRequest(app.store, reference))?.record;
    assert.ok(r);
    assert.equal(r.status, 'done');
    const steps = await app.store.runs.listByRequest(r.id);
    assert.ok(steps.length > 0 && steps.every((s) => s.status === 'done'), steps.map((s) => `${s.stepId}:${s.status}`).join(', '));
    assert.equal((await app.store.audit.verify()).ok, true);
  });

  it('the outcome: one AD user with the form\'s attributes (LDAP), licensed in Entra ID with the usage location, a UserMailbox in Exchange Online', async function () {
    const r = (await storedRequest(app.store, reference))?.record;
    assert.ok(r, `the store has ${reference}`);
    assert.equal(r.status, 'done', 'the run is done');
    const req = r.request as UserMailboxRequest;
    const upn = req.userPrincipalName;

    let ldap: Client | undefined;
    try {
      ldap = await openSandboxLdap(sandbox);
      const { searchEntries } = await ldap.search(sandbox.endpoints.ldap.baseDn, {
        scope: 'sub',
        filter: new EqualityFilter({ attribute: 'userPrincipalName', value: upn }),
        attributes: ['givenName', 'sn', 'displayName', 'department', 'title', 'mail', 'mailNickname', 'sAMAccountName', 'userAccountControl'],
      });
      assert.equal(searchEntries.length, 1, `exactly one AD object has the UPN ${upn}`);
      const u = searchEntries[0]!;
      const one = (a: string): string => String(u[a] ?? '');
      assert.equal(one('givenName'), FORM.firstName);
      assert.equal(one('sn'), FORM.lastName);
      assert.equal(one('displayName'), req.displayName);
      assert.ok(req.displayName.includes(FORM.lastName), req.displayName);
      assert.equal(one('department'), FORM.department);
      assert.equal(one('title'), FORM.jobTitle);
      assert.equal(one('sAMAccountName').toLowerCase(), req.samAccountName.toLowerCase());
      assert.equal(one('mail').toLowerCase(), req.primarySmtpAddress.toLowerCase());
      assert.equal(one('mailNickname'), req.alias);
      assert.ok(u.dn.toLowerCase().endsWith(sandbox.ous.users.toLowerCase()), `${u.dn} is in Mailroom's users OU`);
      assert.equal(Number(one('userAccountControl')) & 0x2, 0, 'the account is enabled');
    } finally {
      await ldap?.unbind().catch(() => undefined);
    }

    const entra = await cloud.graph.user<{ usageLocation: string | null; assignedLicenses: { skuId: string }[] }>(upn, ['usageLocation', 'assignedLicenses']);
    assert.ok(entra, `Entra ID has ${upn}`);
    assert.equal(entra.usageLocation, FORM.usageLocation);
    assert.deepEqual(entra.assignedLicenses.map((l) => l.skuId), [sandbox.endpoints.skus.exchangeOnline], 'the Exchange Online licence');

    const mailbox = (await cloud.exo.invoke<ExoMailbox>('Get-Mailbox', { Identity: upn })).value;
    assert.equal(mailbox.length, 1, `Exchange Online has one mailbox for ${upn}`);
    assert.equal(mailbox[0]!.RecipientTypeDetails, 'UserMailbox');
    assert.equal(mailbox[0]!.PrimarySmtpAddress.toLowerCase(), req.primarySmtpAddress.toLowerCase());
  });
});
