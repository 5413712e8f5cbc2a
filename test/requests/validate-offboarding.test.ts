/**
 * Validation of the complete offboarding (leave date, manager's full access, automatic reply, forwarding, the groups
 * the person leaves), of room and equipment booking, and of automatic replies: what is accepted, and the error for
 * each wrong input. A unit test of the pure validator over the in-memory directory (fixtures.ts); the runs against
 * Samba and the emulator are test/workflow/offboarding-runs.test.ts.
 */
import assert from 'node:assert/strict';
import type { FieldError } from '../../src/requests/kinds';
import type { AutoReplyRequest, BookingRequest, OffboardingRequest } from '../../src/requests/request-types';
import { validateRequest } from '../../src/requests/validate';
import { FakeLookup, PROFILE, sampleObjects } from './fixtures';

const lookup = new FakeLookup(sampleObjects());
/** The clock of these tests: 5 December 2026, 12:00 UTC. */
const NOW = new Date('2026-12-05T12:00:00Z');
const ctx = { lookup, profile: PROFILE, now: () => NOW, timeZone: 'Europe/Berlin' };

async function valid<T>(kind: string, values: Record<string, unknown>): Promise<T> {
  const r = await validateRequest(kind, values, ctx);
  assert.ok(r.ok, `expected valid: ${JSON.stringify(r)}`);
  return r.request as unknown as T;
}
async function errors(kind: string, values: Record<string, unknown>): Promise<string> {
  const r = await validateRequest(kind, values, ctx);
  assert.ok(!r.ok, `expected errors: ${JSON.stringify(r)}`);
  return r.errors.map((e: FieldError) => `${e.field}: ${e.message}`).join('\n');
}

describe('validate: complete offboarding', function () {
  it('by default: the manager AD names gets full access, the person leaves the mail-enabled groups AD lists, now', async function () {
    const r = await valid<OffboardingRequest>('offboarding', { identity: 'ada.byron@contoso.example' });
    assert.equal(r.when, undefined);
    assert.deepEqual([r.disableAccount, r.revokeSessions, r.convertToShared, r.hideFromAddressLists, r.removeLicence], [true, true, true, true, true]);
    assert.deepEqual([r.fullAccessFor?.as, r.fullAccessFor?.person.primarySmtpAddress], ['manager', 'grace.hopper@contoso.example']);
    assert.deepEqual(r.removeFromGroups.map((g) => g.primarySmtpAddress), ['allstaff@contoso.example', 'helpdesk@contoso.example']);
    assert.equal(r.autoReply, undefined);
    assert.equal(r.forwarding, undefined);
  });

  it('a leave date is read in the organisation\'s time zone: a date alone means the end of that day', async function () {
    const day = await valid<OffboardingRequest>('offboarding', { identity: 'ada.byron@contoso.example', when: '2026-12-31' });
    assert.deepEqual(day.when, { iso: '2026-12-31T23:00:00.000Z', text: '2027-01-01 00:00 (Europe/Berlin)' });
    const time = await valid<OffboardingRequest>('offboarding', { identity: 'ada.byron@contoso.example', when: '2026-12-18 17:30' });
    assert.deepEqual(time.when, { iso: '2026-12-18T16:30:00.000Z', text: '2026-12-18 17:30 (Europe/Berlin)' });
    assert.equal((await valid<OffboardingRequest>('offboarding', { identity: 'ada.byron@contoso.example', when: 'now' })).when, undefined);
  });

  it('refuses a leave date that has passed, is no date, or lies more than a year ahead', async function () {
    assert.match(await errors('offboarding', { identity: 'ada.byron@contoso.example', when: '2026-12-01' }), /^when: When: 2026-12-02 00:00 \(Europe\/Berlin\) has passed/);
    assert.match(await errors('offboarding', { identity: 'ada.byron@contoso.example', when: 'next friday' }), /"next friday" is not a date; give a date such as 2026-12-31/);
    assert.match(await errors('offboarding', { identity: 'ada.byron@contoso.example', when: '2027-02-30' }), /is not a day of the calendar/);
    assert.match(await errors('offboarding', { identity: 'ada.byron@contoso.example', when: '2028-06-01' }), /more than a year ahead/);
  });

  it('full access for a named person, or nobody; never the person who leaves', async function () {
    const named = await valid<OffboardingRequest>('offboarding', { identity: 'ada.byron@contoso.example', fullAccessFor: 'helpdesk@contoso.example' });
    assert.deepEqual([named.fullAccessFor?.as, named.fullAccessFor?.person.name], ['named', 'Helpdesk']);
    assert.equal((await valid<OffboardingRequest>('offboarding', { identity: 'ada.byron@contoso.example', fullAccessFor: 'none' })).fullAccessFor, undefined);
    assert.match(await errors('offboarding', { identity: 'ada.byron@contoso.example', fullAccessFor: 'ada@contoso.example' }), /is Ada Byron, the person who leaves/);
    assert.match(await errors('offboarding', { identity: 'ada.byron@contoso.example', fullAccessFor: 'allstaff@contoso.example' }), /cannot hold full access/);
    assert.match(await errors('offboarding', { identity: 'ada.byron@contoso.example', fullAccessFor: 'nobody@contoso.example' }), /no recipient "nobody@contoso.example" was found/);
  });

  it('without a manager in AD, nobody gets full access and the request says so', async function () {
    const r = await valid<OffboardingRequest>('offboarding', { identity: 'grace.hopper@contoso.example' });
    assert.equal(r.fullAccessFor, undefined);
    assert.match(r.managerMissing ?? '', /AD names no manager for Grace Hopper/);
    assert.deepEqual(r.removeFromGroups, []);
  });

  it('an automatic reply and forwarding (to a recipient or an outside address)', async function () {
    const r = await valid<OffboardingRequest>('offboarding', { identity: 'ada.byron@contoso.example', autoReply: 'Ada has left.', forwardTo: 'grace.hopper@contoso.example' });
    assert.deepEqual([r.autoReply, r.forwarding?.recipient?.name], ['Ada has left.', 'Grace Hopper']);
    const out = await valid<OffboardingRequest>('offboarding', { identity: 'ada.byron@contoso.example', forwardTo: 'ada@elsewhere.example' });
    assert.deepEqual(out.forwarding, { smtpAddress: 'ada@elsewhere.example' });
    assert.match(await errors('offboarding', { identity: 'ada.byron@contoso.example', forwardTo: 'nobody@contoso.example' }), /no recipient has "nobody@contoso.example"/);
  });
});

describe('validate: room and equipment booking', function () {
  it('changes only what is filled in', async function () {
    const r = await valid<BookingRequest>('booking', { identity: 'boardroom@contoso.example', processing: 'yes', bookingWindow: '90' });
    assert.deepEqual({ processing: r.processing, window: r.bookingWindowInDays, conflicts: r.allowConflicts, bookers: r.bookers }, { processing: 'AutoAccept', window: 90, conflicts: undefined, bookers: undefined });
    const who = await valid<BookingRequest>('booking', { identity: 'boardroom@contoso.example', bookers: 'ada.byron@contoso.example, allstaff@contoso.example', conflicts: 'no' });
    assert.deepEqual([who.allowConflicts, who.bookers === 'everyone' ? [] : who.bookers?.map((b) => b.name)], [false, ['Ada Byron', 'All Staff']]);
    assert.equal((await valid<BookingRequest>('booking', { identity: 'boardroom@contoso.example', bookers: 'Everyone' })).bookers, 'everyone');
  });

  it('refuses what is not a room or equipment, an empty request, out-of-range numbers and unknown bookers', async function () {
    assert.match(await errors('booking', { identity: 'sales@contoso.example', bookingWindow: '10' }), /not a room or equipment mailbox/);
    assert.match(await errors('booking', { identity: 'boardroom@contoso.example' }), /Nothing to change/);
    assert.match(await errors('booking', { identity: 'boardroom@contoso.example', bookingWindow: '2000' }), /not a whole number from 0 to 1080/);
    assert.match(await errors('booking', { identity: 'boardroom@contoso.example', bookers: 'nobody@contoso.example' }), /no recipient found in Exchange Online for "nobody@contoso.example"/);
    assert.match(await errors('booking', { identity: 'boardroom@contoso.example', bookers: 'vera@vendor.example' }), /Vera Vendor \(mail contact\) cannot be allowed to book/);
  });
});

describe('validate: automatic replies', function () {
  it('on until turned off, on for a time (a date alone ends with its day), or off', async function () {
    const on = await valid<AutoReplyRequest>('auto-reply', { identity: 'ada.byron@contoso.example', state: 'on', message: 'Away.' });
    assert.deepEqual([on.enabled, on.message, on.externalAudience, on.start, on.end], [true, 'Away.', 'All', undefined, undefined]);
    const timed = await valid<AutoReplyRequest>('auto-reply', { identity: 'ada.byron@contoso.example', state: 'on', message: 'Away.', start: '2026-12-20', end: '2027-01-03', audience: 'known' });
    assert.deepEqual([timed.start?.iso, timed.end?.iso, timed.externalAudience], ['2026-12-19T23:00:00.000Z', '2027-01-03T23:00:00.000Z', 'Known']);
    const untilOnly = await valid<AutoReplyRequest>('auto-reply', { identity: 'ada.byron@contoso.example', state: 'on', message: 'Away.', end: '2027-01-03' });
    assert.deepEqual([untilOnly.start?.iso, untilOnly.start?.text], [NOW.toISOString(), 'now']);
    assert.deepEqual(await valid<AutoReplyRequest>('auto-reply', { identity: 'ada.byron@contoso.example', state: 'off' }), { kind: 'auto-reply', target: on.target, enabled: false });
  });

  it('refuses on without a reply, a start without an end, an end before the start, off with a reply, and non-mailboxes', async function () {
    assert.match(await errors('auto-reply', { identity: 'ada.byron@contoso.example', state: 'on' }), /is needed to turn automatic replies on/);
    assert.match(await errors('auto-reply', { identity: 'ada.byron@contoso.example', state: 'on', message: 'x', start: '2026-12-20' }), /is needed with a start/);
    assert.match(await errors('auto-reply', { identity: 'ada.byron@contoso.example', state: 'on', message: 'x', start: '2027-01-05', end: '2027-01-03' }), /is not after the start/);
    assert.match(await errors('auto-reply', { identity: 'ada.byron@contoso.example', state: 'off', message: 'x' }), /only used to turn replies on/);
    assert.match(await errors('auto-reply', { identity: 'allstaff@contoso.example', state: 'off' }), /not a mailbox/);
  });
});
