/**
 * The cards (and notices) the request handlers and the notifications send: each built from a RequestView or
 * the workflow's answer, through the templates in `cards/`.
 */
import { keptLine, type RollbackPlan } from '../plans';
import { KINDS, type FieldError, type KindId } from '../requests';
import { notVisibleMessage } from '../workflow/approval-access';
import type { RequestView } from '../workflow/request-view';
import type { SweepReport } from '../workflow/sweep';
import type { CardRenderer, NoticeData } from './cards';
import type { Markdown } from './markdown';

type Card = Record<string, unknown>;
type Tone = NonNullable<NoticeData['tone']>;

/** A kind's form, with the values typed so far and the problems found in them (per field and in general). */
export function formCard(cards: CardRenderer, kind: KindId, values: Record<string, unknown>, errors: readonly FieldError[]): Card {
  const def = KINDS[kind];
  const byField = new Map<string, string[]>();
  for (const e of errors) byField.set(e.field, [...(byField.get(e.field) ?? []), e.message]);
  const known = new Set(def.fields.map((f) => f.id));
  const general = errors.filter((e) => !known.has(e.field)).map((e) => e.message);
  const fields = def.fields.map((f) => {
    const v = values[f.id];
    const value = typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : f.type === 'toggle' ? (f.default ?? 'false') : (f.default ?? '');
    return {
      id: f.id,
      label: f.label,
      type: f.type,
      required: f.required,
      placeholder: f.placeholder ?? '',
      help: f.help ?? '',
      maxLength: f.maxLength ?? 256,
      choices: f.choices ?? [],
      value,
      error: (byField.get(f.id) ?? []).join(' '),
    };
  });
  const n = errors.length;
  return cards.render('request-form', {
    kind,
    title: `New request: ${def.title}`,
    description: def.description,
    errors,
    summary: n ? `${n} problem${n === 1 ? '' : 's'} — nothing was requested. ${general.join(' ')}`.trim() : '',
    fields,
  });
}

/** The approvers' card: Approve and Reject while the request waits for a decision. */
export function approvalCard(cards: CardRenderer, view: RequestView, notice = ''): Card {
  return cards.render('request-approval', { ...view, canDecide: view.approvalStatus === 'pending', notice });
}

/** The requester's card: where the request stands, with a notice or the generated password when there is one. */
export function statusCard(cards: CardRenderer, view: RequestView, notice = '', extra: { canReveal?: boolean; secret?: string } = {}): Card {
  return cards.render('request-status', {
    ...view,
    notice,
    canReveal: extra.canReveal ?? (view.status === 'done' && (view.kind === 'user-mailbox' || view.kind === 'mail-user') && !extra.secret),
    secret: extra.secret ?? '',
  });
}

/**
 * The confirmation of a roll back: exactly what will be removed (in order) and what stays, with "Roll back now"
 * (carrying the version and a fingerprint of that list) and "Keep".
 */
export function rollbackCard(cards: CardRenderer, view: RequestView, plan: RollbackPlan | undefined, digest: string, notice = ''): Card {
  return cards.render('request-rollback', {
    reference: view.reference,
    kindTitle: view.kindTitle,
    version: view.version,
    statusText: view.statusText,
    notice,
    remove: (plan?.steps ?? []).map((s, i) => ({ n: i + 1, summary: s.summary })),
    kept: (plan?.kept ?? []).map((k) => ({ text: keptLine(k) })),
    notes: (plan?.notes ?? []).map((text) => ({ text })),
    canConfirm: (plan?.steps.length ?? 0) > 0 && digest !== '',
    digest,
  });
}

/** The sweep's report as a card for admins. */
export function sweepCard(cards: CardRenderer, report: SweepReport): Card {
  const lines = [
    ...report.changed.map((c) => ({ title: 'made cloud-managed', value: `${c.name} <${c.address}>` })),
    ...report.failed.map((f) => ({ title: 'failed', value: `${f.name} <${f.address}>: ${f.error}` })),
  ].slice(0, 40);
  return cards.render('notice', {
    title: 'Cloud-managed sweep',
    text: `${report.checked} mailboxes checked: ${report.changed.length} made cloud-managed, ${report.failed.length} failed, ${report.alreadyCloudManaged} were cloud-managed already.${report.changed.length ? ' From now on, edit their Exchange attributes in Exchange Online: AD changes no longer reach them, except mail.' : ''}`,
    tone: report.failed.length ? 'warning' : 'good',
    facts: lines,
  });
}

/** A notice card, as a card verb answers with it (it replaces the clicked card). */
export function noticeCard(cards: CardRenderer, title: string, text: string | Markdown, tone: Tone): Card {
  return cards.render('notice', { title, text, tone, facts: [] });
}

/** A notice as a chat message, as a command answers. */
export function noticeReply(cards: CardRenderer, title: string, text: string | Markdown, tone: Tone = 'info') {
  return { attachments: [cards.notice({ title, text, tone })] };
}

/** The answer to a reference the actor may not see, or that does not exist: the same words for both. */
export function notFoundReply(cards: CardRenderer, reference: string) {
  return noticeReply(cards, 'Not found', notVisibleMessage(reference), 'warning');
}

/** {@link notFoundReply} as a card verb answers (it replaces the clicked card). */
export function notFoundCard(cards: CardRenderer, reference: string): Card {
  return noticeCard(cards, 'Not found', notVisibleMessage(reference), 'warning');
}

/** A refused action on a card: the request's status card with the reason when the actor may see it, else a notice. */
export function refusalCard(cards: CardRenderer, refusal: { readonly message: string; readonly view?: RequestView }, title: string): Card {
  return refusal.view ? statusCard(cards, refusal.view, refusal.message) : noticeCard(cards, title, refusal.message, 'warning');
}

/** The answer to the sweep and drift commands when Exchange Online is not configured. */
export function notAvailableReply(cards: CardRenderer) {
  return noticeReply(cards, 'Not available', 'Exchange Online is not configured.', 'warning');
}
