/**
 * An identity names one recipient. Over HTTP as Teams sends it, against the sandbox: two real recipients answer to
 * the same identity (one's name is the other's alias), and the request is refused with an error that lists both
 * by name and primary address (a name with markdown in it reads literally); an identity with a wildcard is refused
 * naming the character. Nothing is stored either way.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startMailroom, type Mailroom } from '../../src/app';
import { loadConfig } from '../../src/config/config';
import { silentLogger } from '../../src/log';
import { projectRoot } from '../../src/paths';
import type { Sandbox } from '../../src/sandbox';
import type { ExoRecipient } from '../../src/sandbox/cloud/tenant-model';
import { sandboxOverrides } from '../../src/sandbox/overrides';
import { CardPage } from '../harness/card-render';
import { startConnector, visibleText, type Connector } from '../harness/connector';
import { ADA, ARNOLD, cardOf, Chat, formInputs, formSubmission, RITA } from '../harness/requests';
import { getSharedSandbox } from '../harness/sandbox';

const suffix = Date.now().toString(36).slice(-5);
const IDENTITY = `amb-${suffix}`;

describe('identities over HTTP: several matches and wildcards are refused, nothing is stored', function () {
  this.timeout(180_000);
  let sandbox: Sandbox;
  let connector: Connector;
  let app: Mailroom;
  let dataDir: string;
  let page: CardPage;
  let rita: Chat;
  const made: ExoRecipient[] = [];

  before(async function () {
    sandbox = await getSharedSandbox();
    connector = await startConnector();
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'mailroom-identity-'));
    const config = loadConfig({ rootDir: projectRoot(), envName: 'sandbox', env: {}, overrides: { ...sandboxOverrides(sandbox.endpoints), PORT: '0', DATA_DIR: dataDir } });
    app = await startMailroom(config, silentLogger, { runRequests: false });
    rita = new Chat(app.url, connector, RITA);
    for (const p of [RITA, ARNOLD, ADA]) await new Chat(app.url, connector, p).client.install();
    page = await CardPage.open();
    const tenant = sandbox.cloud.tenant;
    // The shared mailbox is named IDENTITY; the contact has IDENTITY as its alias. Get-Recipient -Identity matches both.
    made.push(tenant.createCloudMailbox({ type: 'SharedMailbox', name: IDENTITY, alias: `ambbox${suffix}`, displayName: `[Pick me](https://evil.example/amb) **${suffix}**` }));
    made.push(tenant.createCloudMailContact({ name: `Amb contact ${suffix}`, alias: IDENTITY, externalEmailAddress: `amb-${suffix}@partner.example` }));
  });

  after(async function () {
    for (const r of made) sandbox.cloud.tenant.removeCloudRecipient(r.guid);
    await page?.close();
    await app?.stop();
    await connector?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const requestCount = async () => (await app.store.requests.listByRequester(RITA.aadObjectId, { limit: 1000 })).length;

  it('a change whose identity two recipients answer to: the error lists both, by name and primary address', async function () {
    const mailbox = made[0]!;
    const before = await requestCount();
    const posted = await rita.say(`convert ${IDENTITY} to shared`);
    const notice = posted.find((c) => visibleText(c.body).includes('Nothing was requested'));
    assert.ok(notice, `no refusal: ${posted.map((c) => visibleText(c.body)).join('\n---\n')}`);
    const text = visibleText(notice.body);
    assert.ok(text.includes(`Recipient: "${IDENTITY}" matches 2 recipients: `), text);
    assert.ok(text.includes(`"[Pick me](https://evil.example/amb) **${suffix}**" (${mailbox.primarySmtpAddress})`), text);
    assert.ok(text.includes(`"Amb contact ${suffix}" (amb-${suffix}@partner.example)`), text);
    assert.match(text, /Use the exact primary email address of the one you mean\./);
    assert.equal(await requestCount(), before, 'nothing was stored');

    // The listed display name is a value: it reads literally, no link.
    const seen = await page.render(cardOf(notice));
    assert.deepEqual(seen.links, []);
    assert.ok(seen.text.includes(`[Pick me](https://evil.example/amb) **${suffix}**`), seen.text);

    // Each one by its primary address is found (the error's advice works).
    const byAddress = await rita.say(`convert ${mailbox.primarySmtpAddress} to shared`);
    assert.ok(!byAddress.some((c) => /matches \d+ recipients/.test(visibleText(c.body))), byAddress.map((c) => visibleText(c.body)).join('\n---\n'));
  });

  it('the same on the form: the error beside the identity, the typed identity kept', async function () {
    const before = await requestCount();
    const form = await rita.press('request.form', { kind: 'offboarding' });
    const back = await rita.press('request.submit', formSubmission(form, { identity: IDENTITY }), 'identity-form-1');
    const identity = formInputs(back).get('identity');
    assert.equal(identity?.value, IDENTITY);
    assert.match(identity?.error ?? '', new RegExp(`"${IDENTITY}" matches 2 recipients: .*\\(amb-${suffix}@partner\\.example\\)`));
    assert.equal(await requestCount(), before, 'nothing was stored');
  });

  for (const wild of [`amb-${suffix}*`, `amb?${suffix}`]) {
    it(`a wildcard in the identity (${wild}) is refused naming the character, with nothing stored`, async function () {
      const before = await requestCount();
      const posted = await rita.say(`convert ${wild} to shared`);
      const text = posted.map((c) => visibleText(c.body)).find((t) => t.includes('Nothing was requested')) ?? '';
      const ch = wild.includes('*') ? '*' : '?';
      assert.ok(text.includes(`Recipient: "${wild}" contains "${ch}", which Exchange reads as a wildcard that can match other recipients.`), text);
      assert.equal(await requestCount(), before, 'nothing was stored');
    });
  }
});
