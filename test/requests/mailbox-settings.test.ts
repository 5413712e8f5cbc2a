/**
 * Hide from / show in address lists: the one-line commands (the phrase says hide or show), the form's values, and
 * validation against the sample directory (mailboxes only; the source of authority decides nothing is refused here).
 */
import assert from 'node:assert/strict';
import { formatCommand, parseCommand } from '../../src/requests/command-line';
import type { RecipientRequest } from '../../src/requests/kinds';
import { validateRequest } from '../../src/requests/validate';
import { FakeLookup, PROFILE, sampleObjects } from './fixtures';

const ctx = { lookup: new FakeLookup(sampleObjects()), profile: PROFILE };

async function valid(values: Record<string, string>): Promise<RecipientRequest> {
  const r = await validateRequest('address-list-visibility', values, ctx);
  assert.ok(r.ok, JSON.stringify(r));
  return r.request;
}

async function errors(values: Record<string, string>): Promise<string> {
  const r = await validateRequest('address-list-visibility', values, ctx);
  assert.ok(!r.ok, `accepted: ${JSON.stringify(r)}`);
  return r.errors.map((e) => `${e.field}: ${e.message}`).join('\n');
}

describe('address lists: the one-line commands', function () {
  it('reads "hide from address lists <mailbox>" and "show in address lists <mailbox>"', function () {
    assert.deepEqual(parseCommand('hide from address lists ada.byron@contoso.example'), { ok: true, kind: 'address-list-visibility', values: { visibility: 'hidden', identity: 'ada.byron@contoso.example' } });
    assert.deepEqual(parseCommand('show in address lists ada'), { ok: true, kind: 'address-list-visibility', values: { visibility: 'shown', identity: 'ada' } });
    assert.deepEqual(parseCommand('unhide from address lists ada'), { ok: true, kind: 'address-list-visibility', values: { visibility: 'shown', identity: 'ada' } });
    assert.deepEqual(parseCommand('address lists ada hidden'), { ok: true, kind: 'address-list-visibility', values: { identity: 'ada', visibility: 'hidden' } });
  });

  it('refuses hide or show given twice (by the phrase and by a key)', function () {
    const r = parseCommand('hide from address lists ada visibility=shown');
    assert.ok(!r.ok);
    assert.match(r.errors[0]?.message ?? '', /given twice/);
  });

  it('formats back to a command that parses to the same values', function () {
    for (const values of [{ identity: 'ada', visibility: 'hidden' }, { identity: 'sales@contoso.example', visibility: 'shown' }]) {
      const line = formatCommand('address-list-visibility', values);
      const back = parseCommand(line);
      assert.ok(back.ok, line);
      assert.equal(back.kind, 'address-list-visibility');
      assert.deepEqual(back.values, values, line);
    }
  });
});

describe('address lists: validation', function () {
  it('accepts a mailbox (synced, cloud-managed or shared) with hidden or shown', async function () {
    const hide = await valid({ identity: 'ada.byron@contoso.example', visibility: 'hidden' });
    assert.ok(hide.kind === 'address-list-visibility');
    assert.equal(hide.hidden, true);
    assert.equal(hide.target.primarySmtpAddress, 'ada.byron@contoso.example');
    const show = await valid({ identity: 'sales', visibility: 'shown' });
    assert.ok(show.kind === 'address-list-visibility');
    assert.equal(show.hidden, false);
    assert.equal(show.target.type, 'SharedMailbox');
  });

  it('refuses what is not a mailbox, an unknown recipient, a missing or wrong choice, each named', async function () {
    assert.match(await errors({ identity: 'allstaff@contoso.example', visibility: 'hidden' }), /identity: Mailbox: All Staff \(distribution group\) is not a mailbox; Mailroom hides and shows/);
    assert.match(await errors({ identity: 'nobody@contoso.example', visibility: 'hidden' }), /identity: Mailbox: no recipient "nobody@contoso\.example" was found in Exchange Online/);
    assert.match(await errors({ identity: 'ada.byron@contoso.example' }), /visibility: Address lists is required/);
    assert.match(await errors({ identity: 'ada.byron@contoso.example', visibility: 'maybe' }), /visibility: /);
  });
});

async function forwarding(kind: 'forwarding-set' | 'forwarding-off', values: Record<string, string>): Promise<{ ok: true; request: RecipientRequest } | { ok: false; text: string }> {
  const r = await validateRequest(kind, values, ctx);
  return r.ok ? { ok: true, request: r.request } : { ok: false, text: r.errors.map((e) => `${e.field}: ${e.message}`).join('\n') };
}

describe('forwarding: the one-line commands and validation', function () {
  it('reads "forward <mailbox> to <where>" with keepcopy, and "stop forwarding <mailbox>"', function () {
    assert.deepEqual(parseCommand('forward ada.byron@contoso.example to grace@contoso.example keepcopy=no'), {
      ok: true, kind: 'forwarding-set', values: { identity: 'ada.byron@contoso.example', forwardTo: 'grace@contoso.example', keepCopy: 'no' },
    });
    assert.deepEqual(parseCommand('stop forwarding ada'), { ok: true, kind: 'forwarding-off', values: { identity: 'ada' } });
    const line = formatCommand('forwarding-set', { identity: 'ada', forwardTo: 'pat@partner.example', keepCopy: 'false' });
    const back = parseCommand(line);
    assert.ok(back.ok && back.kind === 'forwarding-set', line);
    assert.deepEqual(back.values, { identity: 'ada', forwardTo: 'pat@partner.example', keepCopy: 'false' });
  });

  it('a recipient of the organisation becomes ForwardingAddress; keep a copy is on unless switched off', async function () {
    const r = await forwarding('forwarding-set', { identity: 'ada.byron@contoso.example', forwardTo: 'grace@contoso.example' });
    assert.ok(r.ok && r.request.kind === 'forwarding-set', JSON.stringify(r));
    assert.equal(r.request.recipient?.primarySmtpAddress, 'grace.hopper@contoso.example');
    assert.equal(r.request.smtpAddress, undefined);
    assert.equal(r.request.keepCopy, true);
    const off = await forwarding('forwarding-set', { identity: 'ada.byron@contoso.example', forwardTo: 'allstaff@contoso.example', keepCopy: 'no' });
    assert.ok(off.ok && off.request.kind === 'forwarding-set');
    assert.equal(off.request.keepCopy, false);
  });

  it('an outside address becomes ForwardingSmtpAddress', async function () {
    const r = await forwarding('forwarding-set', { identity: 'sales@contoso.example', forwardTo: 'Ada@Elsewhere.example' });
    assert.ok(r.ok && r.request.kind === 'forwarding-set', JSON.stringify(r));
    assert.equal(r.request.smtpAddress, 'ada@elsewhere.example');
    assert.equal(r.request.recipient, undefined);
  });

  it('refuses the mailbox itself, an unknown address in an own domain, a wildcard, a non-address, and a target that is no mailbox', async function () {
    const text = async (kind: 'forwarding-set' | 'forwarding-off', values: Record<string, string>): Promise<string> => {
      const r = await forwarding(kind, values);
      assert.ok(!r.ok, `accepted: ${JSON.stringify(r)}`);
      return r.text;
    };
    assert.match(await text('forwarding-set', { identity: 'ada.byron@contoso.example', forwardTo: 'ada@contoso.example' }), /forwardTo: Forward to: "ada@contoso\.example" is the mailbox Ada Byron itself; mail would loop/);
    assert.match(await text('forwarding-set', { identity: 'ada.byron@contoso.example', forwardTo: 'nobody@contoso.example' }), /no recipient has "nobody@contoso\.example", which is in contoso\.example, one of this tenant's own domains/);
    assert.match(await text('forwarding-set', { identity: 'ada.byron@contoso.example', forwardTo: 'gr*@contoso.example' }), /contains a wildcard/);
    assert.match(await text('forwarding-set', { identity: 'ada.byron@contoso.example', forwardTo: 'nobody' }), /no recipient "nobody" was found in Exchange Online, and as an outside address/);
    assert.match(await text('forwarding-off', { identity: 'allstaff@contoso.example' }), /All Staff \(distribution group\) is not a mailbox; only mailboxes forward their mail/);
  });
});
