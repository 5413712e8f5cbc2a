/**
 * Two requests for the same new person filed before either has run, end to end over HTTP against the sandbox and
 * Samba: the second picks other names (logon name, sign-in name, address and the AD object's name) because the first
 * holds its names from filing on, and both reach done with two AD users; a name typed while an open request holds it
 * is refused with the request that holds it, and nothing is filed; a request that ended (rejected) holds nothing, so
 * its names can be typed again.
 */
import assert from 'node:assert/strict';
import { visibleText } from '../harness/connector';
import { TestMailroom } from '../harness/mailroom';
import { storedRequest } from '../harness/requests';
import { getSharedSandbox } from '../harness/sandbox';

const suffix = Date.now().toString(36).slice(-5);

describe('names held by open requests: the second request for the same person picks other names', function () {
  this.timeout(120_000);
  let m: TestMailroom;

  before(async function () {
    m = await TestMailroom.start({ sandbox: await getSharedSandbox(), name: 'open-request-names', logVariable: 'NAMES_LOG' });
  });

  after(async function () {
    await m?.close();
  });

  /** Rita types `command`; resolves with what Mailroom answered (the first message after it). */
  async function rita(command: string, answer: RegExp): Promise<string> {
    const since = m.connector.calls.length;
    await m.rita.client.say(command);
    return visibleText((await m.rita.waitFor((c) => c.method === 'POST' && answer.test(visibleText(c.body)), since, 20_000)).body);
  }

  /** Files `command` without deciding it; resolves with the reference and the validated request. */
  async function file(command: string): Promise<{ reference: string; request: Record<string, unknown> }> {
    const said = await rita(command, /R-\d+ · User mailbox|Not requested|problem/);
    const reference = /(R-\d+) · User mailbox/.exec(said)?.[1];
    assert.ok(reference, `filed: ${said}`);
    return { reference, request: (await storedRequest(m.app.store, reference))!.record.request as Record<string, unknown> };
  }

  it('the second picks other names and both run to done; a held name typed is refused; a rejected request lets go', async function () {
    const command = `new mailbox first=Maria last=Held${suffix} department=Research`;
    const a = await file(command);
    const b = await file(command);
    const name = `Maria Held${suffix}`;
    assert.equal(a.request.cn, undefined, 'the first is named as typed');
    assert.notEqual(b.request.samAccountName, a.request.samAccountName);
    assert.notEqual(b.request.userPrincipalName, a.request.userPrincipalName);
    assert.notEqual(b.request.primarySmtpAddress, a.request.primarySmtpAddress);
    assert.notEqual(b.request.alias, a.request.alias);
    assert.equal(b.request.cn, `${name} (${String(b.request.samAccountName)})`, 'the AD object of the second is told apart');

    // typing the logon name the first holds: refused, with the request that holds it; nothing filed
    const before = (await m.app.store.requests.listByStatus(['pending-approval'], { limit: 500 })).length;
    const refused = await rita(`new mailbox first=Maria last=Other${suffix} sam=${String(a.request.samAccountName)}`, /already used/);
    assert.match(refused, new RegExp(`${String(a.request.samAccountName)}.{0,20} is already used by the open request ${a.reference} \\(it takes it when it runs\\)`));
    assert.equal((await m.app.store.requests.listByStatus(['pending-approval'], { limit: 500 })).length, before, 'nothing filed');

    for (const r of [a, b]) {
      const since = m.connector.calls.length;
      await m.arnold.client.say(`approve ${r.reference}`);
      await m.arnold.waitFor((c) => visibleText(c.body).includes(r.reference), since, 20_000);
    }
    await m.untilDone(a.reference, 60_000);
    await m.untilDone(b.reference, 60_000);
    const first = await m.directory.findByIdentity(String(a.request.samAccountName));
    const second = await m.directory.findByIdentity(String(b.request.samAccountName));
    assert.ok(first && second, 'AD has both users');
    assert.match(first.dn, new RegExp(`^CN=${name},`));
    assert.match(second.dn, new RegExp(`^CN=${name} \\(${String(b.request.samAccountName)}\\),`));

    // a rejected request holds nothing: its logon name can be typed again
    const c = await file(`new mailbox first=Lou last=Gone${suffix}`);
    const since = m.connector.calls.length;
    await m.arnold.client.say(`reject ${c.reference} Not needed.`);
    await m.arnold.waitFor((x) => visibleText(x.body).includes(c.reference), since, 20_000);
    assert.equal((await m.record(c.reference)).status, 'rejected');
    const again = await file(`new mailbox first=Lou last=Again${suffix} sam=${String(c.request.samAccountName)}`);
    assert.equal(again.request.samAccountName, c.request.samAccountName);
  });
});
