import assert from 'node:assert/strict';
import type { Mailroom } from '../../src/app';
import type { Sandbox } from '../../src/sandbox';
import type { PlaygroundPage } from '../harness/browser';
import { startPlaygroundMailroom, type PlaygroundMailroom } from '../harness/playground-mailroom';
import { getSharedSandbox } from '../harness/sandbox';


describe('two people in two Agents Playgrounds: a shared mailbox is requested by form and approved', function () {
  this.timeout(180000);
  let sandbox: Sandbox;
  let pm: PlaygroundMailroom | undefined;
  let app: Mailroom;
  let requester: PlaygroundPage;
  let approver: PlaygroundPage;
  const suffix = Date.now().toString(36).slice(-5);
  const name = `Team Marketing ${suffix}`;

  before(async function () {
    sandbox = await getSharedSandbox();
    pm = await startPlaygroundMailroom(sandbox, { name: 'journey', options: { runner: { pollMs: 200, waitPollMs: 300 }, waitIntervalMs: 300 } });
    ({ app, rita: requester, arnold: approver } = pm);
  });

  after(async function () {
    await pm?.stop();
  });

  it('the requester gets the form, a bad value comes back beside its field with her input kept', async function () {
    await requester.page.bringToFront();
    await requester.send('new shared mailbox');
    const form = await requester.waitForCard('New request: Shared mailbox');
    await form.getByRole('textbox', { name: /^Name/ }).fill(name);
    await form.getByRole('textbox', { name: /^Alias/ }).fill('bad alias!');
    await form.getByRole('button', { name: 'Submit request' }).click();
    const again = await requester.waitForCard(/problem.*nothing was requested/i);
    assert.match(await again.innerText(), /Alias/);
    assert.equal(await again.getByRole('textbox', { name: /^Name/ }).inputValue(), name, 'the typed name is kept');
    await requester.screenshot('journey-01-form-error');
  });

  it('the corrected form files the request; the status card replaces the form', async function () {
    const form = requester.card(/problem.*nothing was requested/i);
    await form.getByRole('textbox', { name: /^Alias/ }).fill(`marketing-${suffix}`);
    await form.getByRole('button', { name: 'Submit request' }).click();
    const status = await requester.waitForCard(/R-\d+ · Shared mailbox/);
    assert.match(await status.innerText(), /Waiting for approval/);
    await requester.screenshot('journey-02-filed');
  });

  it('the approver sees the plan proactively and approves', async function () {
    await approver.page.bringToFront();
    const card = await approver.waitForCard(new RegExp(`Shared mailbox[\\s\\S]*${name}`), 30000);
    const text = await card.innerText();
    assert.match(text, /Requested by Rita Requester/);
    assert.match(text, /Plan/);
    assert.match(text, /disabled/i);
    await approver.screenshot('journey-03-approval-card');
    await card.getByRole('button', { name: 'Approve' }).click();
    await approver.waitForCard(/Approved by Arnold Approver at/);
    assert.equal(await approver.card(/Approved by Arnold Approver at/).getByRole('button', { name: 'Approve' }).count(), 0);
    await approver.screenshot('journey-04-approved');
  });

  it("the requester's status card changed in place and she was told", async function () {
    await requester.page.bringToFront();
    await requester.page.getByText(/was approved by Arnold Approver/).first().waitFor({ timeout: 20000 });
    await requester.screenshot('journey-05-requester-sees-decision');
  });

  it('the run carries it out and the status card visibly moves to Done, every step ticked', async function () {
    const status = await requester.waitForCard(/R-\d+ · Shared mailbox[\s\S]*Done at/, 60000);
    const text = await status.innerText();
    assert.doesNotMatch(text, /Waiting for approval/);
    assert.match(text, /approved by Arnold Approver/);
    assert.match(text, /✔ 1\./);
    assert.doesNotMatch(text, /[○▶⏳✖] \d\./, 'no step is left pending, running, waiting or failed');
    await requester.page.getByText(/R-\d+ is done/).first().waitFor({ timeout: 20000 });
    await requester.screenshot('journey-06-done');
    const reference = /R-\d+/.exec(text)?.[0] ?? '';
    const events = (await app.store.audit.list({ requestRef: reference, limit: 200 })).map((e) => e.event);
    assert.deepEqual(events.slice(0, 3), ['request.created', 'request.decided', 'run.queued']);
    assert.equal(events[events.length - 1], 'run.done');
    assert.equal((await app.store.audit.verify()).ok, true);
  });
});
