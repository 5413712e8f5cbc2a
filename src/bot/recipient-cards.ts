/**
 * The recipient card (`show`) and the recipient list (`find`, and `show` of a name several recipients have). The
 * workflow's RecipientView becomes facts and buttons here; the card renderer escapes every value.
 */
import { isKindId, type KindId } from '../requests';
import type { RecipientListItem, RecipientView, Section } from '../workflow/recipient-view';
import { FIND_AT_MOST } from '../workflow/recipient-view';
import type { CardRenderer } from './cards';

type Card = Record<string, unknown>;

const yesNo = (b: boolean): string => (b ? 'yes' : 'no');
const listOr = (items: readonly string[], none: string): string => (items.length ? items.join(', ') : none);

/** A section's value as text, or its "could not read …". */
function sectionText<T>(s: Section<T>, show: (value: T) => string): string {
  return s.ok ? show(s.value) : s.error;
}

/** The buttons a recipient card offers, by row: each opens a change form pre-filled with the recipient. */
const ACTIONS: readonly { readonly kind: string; readonly title: string; readonly when: (v: RecipientView) => boolean }[][] = [
  [
    { kind: 'secondary-address-add', title: 'Add address', when: (v) => v.primarySmtpAddress !== null },
    { kind: 'secondary-address-remove', title: 'Remove address', when: (v) => v.addresses.length > 1 },
    { kind: 'primary-address', title: 'Change primary', when: (v) => v.primarySmtpAddress !== null },
  ],
  [
    { kind: 'mailbox-permission-grant', title: 'Grant access', when: (v) => v.mailboxType !== null },
    { kind: 'mailbox-permission-revoke', title: 'Revoke access', when: (v) => v.mailboxType !== null },
    { kind: 'group-member-add', title: 'Add member', when: (v) => v.members !== null },
    { kind: 'group-member-remove', title: 'Remove member', when: (v) => v.members !== null },
  ],
  [
    { kind: 'mailbox-type', title: 'Convert', when: (v) => v.mailboxType !== null },
    { kind: 'cloud-managed', title: 'Cloud-managed', when: (v) => v.mailboxType !== null && v.isDirSynced },
    { kind: 'offboarding', title: 'Offboard', when: (v) => v.recipientTypeDetails === 'UserMailbox' },
    { kind: 'address-list-visibility', title: 'Address lists', when: (v) => v.mailboxType !== null },
  ],
  [
    { kind: 'forwarding-set', title: 'Forward', when: (v) => v.mailboxType !== null },
    { kind: 'auto-reply', title: 'Automatic replies', when: (v) => v.mailboxType !== null },
    { kind: 'booking', title: 'Booking', when: (v) => v.recipientTypeDetails === 'RoomMailbox' || v.recipientTypeDetails === 'EquipmentMailbox' },
  ],
];

/** The change forms a requester may open from this card (only kinds Mailroom has). */
export function recipientActions(view: RecipientView): { kind: KindId; title: string }[][] {
  return ACTIONS.map((row) => row.filter((a): a is typeof a & { kind: KindId } => isKindId(a.kind) && a.when(view)).map((a) => ({ kind: a.kind, title: a.title }))).filter((row) => row.length > 0);
}

/** The card's facts, in the order a helpdesk reads them. */
export function recipientFacts(v: RecipientView): { title: string; value: string }[] {
  const facts: { title: string; value: string }[] = [];
  const add = (title: string, value: string | null | undefined) => {
    if (value !== null && value !== undefined) facts.push({ title, value });
  };
  add('Kind', v.recipientTypeDetails && v.kind !== v.recipientTypeDetails ? `${v.kind} (${v.recipientTypeDetails})` : v.kind);
  add('Addresses', v.addresses.length ? v.addresses.map((a, i) => (i === 0 && v.primarySmtpAddress ? `${a} (primary)` : a)).join(', ') : 'none');
  add('UPN', v.userPrincipalName);
  add('AD DN', v.adDn ?? (v.isDirSynced ? 'not found in AD' : 'none (not synced from AD)'));
  add('Source of authority', v.authority);
  if (v.isExchangeCloudManaged !== null) add('IsExchangeCloudManaged', v.isExchangeCloudManaged ? 'True' : 'False');
  if (v.accountEnabled !== null) add('Account', v.accountEnabled ? 'enabled' : 'disabled');
  if (v.licences) add('Licences', sectionText(v.licences, (l) => listOr(l, 'none')));
  add('Mailbox type', v.mailboxType);
  if (v.hidden !== null) add('Hidden from address lists', yesNo(v.hidden));
  if (v.forwarding) add('Forwarding', sectionText(v.forwarding, (f) => f ?? 'none'));
  if (v.fullAccess) add('Full access', sectionText(v.fullAccess, (l) => listOr(l, 'nobody else')));
  if (v.sendAs) add('Send as', sectionText(v.sendAs, (l) => listOr(l, 'nobody else')));
  if (v.sendOnBehalf) add('Send on behalf', sectionText(v.sendOnBehalf, (l) => listOr(l, 'nobody')));
  if (v.managedBy) add('Owners (ManagedBy)', listOr(v.managedBy, 'none'));
  if (v.members) add('Members', sectionText(v.members, (m) => (m.count === 0 ? 'none' : `${m.more ? `more than ${m.count}` : m.count}: ${m.names.join(', ')}${m.count > m.names.length ? ', …' : ''}`)));
  add('Member of', sectionText(v.memberOf, (l) => listOr(l, 'no groups')));
  if (v.drift) {
    add(
      'AD and Exchange',
      sectionText(v.drift, (d) => {
        const master = d.master === 'ad' ? 'AD masters the Exchange attributes' : 'Exchange Online masters the Exchange attributes (AD keeps only mail and the identity)';
        return d.differences.length ? `${master}; they differ: ${d.differences.join('; ')}` : `${master}; AD and Exchange Online agree`;
      }),
    );
  }
  return facts;
}

/** The parts that could not be read, named once above the facts (a partial answer says so). */
function partialNotice(v: RecipientView): string {
  const failed = [v.licences, v.forwarding, v.fullAccess, v.sendAs, v.sendOnBehalf, v.members, v.memberOf, v.drift].filter((s): s is { ok: false; error: string } => !!s && !s.ok);
  return failed.length ? `Part of this card could not be read (${failed.length} ${failed.length === 1 ? 'part' : 'parts'}, marked "could not read"); the rest is current.` : '';
}

/** Facts whose values are long (lists, DNs, sentences): shown each on its own lines below the short ones. */
const LONG_FACTS = new Set(['Addresses', 'AD DN', 'Source of authority', 'Member of', 'Members', 'AD and Exchange']);

/** The recipient card: facts, and for requesters the buttons that open change forms pre-filled with it. */
export function recipientCard(cards: CardRenderer, v: RecipientView, canRequest: boolean): Card {
  const rows = canRequest ? recipientActions(v) : [];
  const facts = recipientFacts(v);
  return cards.render('recipient', {
    name: v.name,
    kind: v.kind,
    partial: partialNotice(v),
    facts: facts.filter((f) => !LONG_FACTS.has(f.title)),
    details: facts.filter((f) => LONG_FACTS.has(f.title)),
    hint: canRequest ? (rows.length ? 'The buttons open a change request for this recipient; it is approved and run like any other.' : '') : 'Changes need the requester role.',
    actionRows: rows.map((buttons) => ({ buttons: buttons.map((b) => ({ ...b, identity: v.identity })) })),
  });
}

/** A list of recipients (at most FIND_AT_MOST; `more` says when there were more). */
export function recipientListCard(cards: CardRenderer, title: string, text: string, items: readonly RecipientListItem[], footer: string): Card {
  return cards.render('recipient-list', { title, text, items: items.slice(0, FIND_AT_MOST).map((i) => ({ name: i.name, detail: i.kind ? `· ${i.kind}` : '', address: i.address })), footer });
}
