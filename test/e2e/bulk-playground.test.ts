/**
 * A bulk request in the real Teams client: two Microsoft 365 Agents Playgrounds (Rita the requester, Arnold the
 * approver) driven by headless Chromium against Mailroom in-process with runs on and the shared sandbox. Rita types
 * `bulk`, picks the kind on the bulk form and pastes the CSV into its multi-line field (the Playground flattens a
 * typed message's line breaks, so the form is how many lines reach the bot from it), presses Check, sees the preview
 * card naming the invalid row by its line, presses "File the 3 valid ones"; her progress card appears; Arnold approves the batch on
 * its one approval card; every row runs to done and Rita's progress card ends with the final counts in place. The
 * users are read back from AD and Exchange Online. Screenshots: test-output/screenshots/bulk-*.png.
 */
import assert from 'node:assert/strict';
import { type Mailroom } from '../../src/app';
import { type PlaygroundPage } from '../harness/browser';
import { startPlaygroundMailroom, type PlaygroundMailroom } from '../harness/playground-mailroom';
import { ConformanceSuite } from '../harness/conformance';
import { QUICK_RUNNER } from '../harness/mailroom';
import { choose, newCard } from '../harness/card-forms';
import { getSharedSandbox } from '../harness/sandbox';

const suffix = Date.now().toString(36).slice(-5);

describe('a bulk request in two Agents Playgrounds: preview, file the valid rows, one approval, the progress card to the end', function () {
  this.timeout(4 * 60_000);
  let suite: ConformanceSuite | undefined;
  let pm: PlaygroundMailroom | undefined;
  let app: Mailroom;
  let rita: PlaygroundPage;
  let arnold: PlaygroundPage;
  let reference = '';

  before(async function () {
    this.timeout(5 * 60_000);
    const sandbox = await getSharedSandbox();
    suite = await ConformanceSuite.open(sandbox, 'bulk-playground');
    pm = await startPlaygroundMailroom(sandbox, { name: 'bulk-playground', logVariable: 'BULK_PLAYGROUND_LOG', options: QUICK_RUNNER });
    ({ app, rita, arnold } = pm);
  });

  after(async function () {
    await pm?.stop();
    await suite?.close();
  });

  it('the bulk form with the pasted CSV gives the preview card: 3 of 4 rows valid, line 4 named with why, and no plain File button', async function () {
    await rita.page.bringToFront();
    const form = await newCard(rita, /Bulk request/, () => rita.send('bulk'));
    await choose(form, /^Kind/, 'User mailbox');
    await form.getByRole('textbox', { name: /^CSV lines/ }).fill(['first,last,usage', `Pia,Wave${suffix},DE`, `Quinn,Wave${suffix},DE`, `Rhea,Wave${suffix},XX`, `Sol,Wave${suffix},GB`].join('\n'));
    await rita.screenshot('bulk-00-form');
    const preview = await newCard(rita, /File the 3 valid ones/, () => form.getByRole('button', { name: 'Check' }).click(), 30_000);
    const text = await preview.innerText();
    reference = /B-\d+/.exec(text)?.[0] ?? '';
    assert.ok(reference, `the preview names its batch: ${text}`);
    assert.match(text, /Line 4: .*XX/, 'the invalid row by its line in the pasted lines (the header is line 1) and the bad value');
    assert.equal(await preview.getByRole('button', { name: /^File all/ }).count(), 0, 'nothing is filed while a row is invalid unless chosen');
    await rita.screenshot('bulk-01-preview');
  });

  it('"File the 3 valid ones" files them: the preview says so in place and the progress card appears', async function () {
    const preview = rita.card(/File the 3 valid ones/);
    const progress = await newCard(rita, new RegExp(`${reference}[\\s\\S]*(waiting|approval)`, 'i'), () => preview.getByRole('button', { name: 'File the 3 valid ones' }).click(), 30_000);
    assert.match(await progress.innerText(), /3/);
    await rita.page.getByText(/Filed by Rita Requester: 3 requests/).first().waitFor({ timeout: 20_000 });
    await rita.screenshot('bulk-02-filed-progress');
  });

  it('Arnold gets one approval card for the batch and approves it; every copy says so', async function () {
    await arnold.page.bringToFront();
    const card = await arnold.waitForCard(new RegExp(`${reference}[\\s\\S]*Approve`), 30_000);
    const text = await card.innerText();
    assert.match(text, /Rita Requester/);
    assert.match(text, /3/);
    await arnold.screenshot('bulk-03-approval-card');
    await card.getByRole('button', { name: 'Approve' }).click();
    await arnold.waitForCard(/Approved by Arnold Approver/, 30_000);
    await arnold.screenshot('bulk-04-approved');
    const cards = await arnold.page.locator('.ac-adaptiveCard', { hasText: reference }).count();
    assert.equal(cards, 1, 'one approval card for the batch, not one per row');
  });

  it('the rows run to done: the progress card ends with the final counts in place, and the users exist in AD and Exchange Online', async function () {
    await rita.page.bringToFront();
    await rita.waitForCard(new RegExp(`${reference}[\\s\\S]*Finished: 3 done`), 120_000);
    await rita.page.getByText(new RegExp(`${reference} has finished`)).first().waitFor({ timeout: 30_000 });
    await rita.screenshot('bulk-05-progress-done');
    const rows = await app.store.requests.listByBatch(Number(reference.slice(2)));
    assert.deepEqual(rows.map((r) => r.status), ['done', 'done', 'done']);
    for (const r of rows) {
      const upn = (r.request as { userPrincipalName?: string }).userPrincipalName ?? '';
      assert.match(upn, /@/);
      assert.equal((await suite!.findInAd(upn)).length, 1, `${upn} is in AD`);
      assert.equal((await suite!.mailbox(upn)).RecipientTypeDetails, 'UserMailbox', `${upn} has a user mailbox`);
    }
  });
});
