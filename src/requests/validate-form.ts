/**
 * The form a request's raw values are read through: the generic rules of every field (type, characters, length,
 * required, choices), and the context every validator works in (the recipient look-up and the tenant profile).
 */
import { countryCodeFrom } from './countries';
import { REQUEST_FIELD, type FieldDef, type FieldError, type KindDef } from './kinds';
import type { RecipientLookup } from './lookup';
import type { TenantProfile } from './tenant-profile';
import { lengthOf, show, unusableCharacters } from './text';

export interface ValidationContext {
  readonly lookup: RecipientLookup;
  readonly profile: TenantProfile;
  /** The clock typed dates are checked against (a leave date must lie ahead). Default: the system clock. */
  readonly now?: () => Date;
  /** The organisation's time zone typed dates are read in (IANA). Default UTC. */
  readonly timeZone?: string;
}

const TRUE_WORDS = ['yes', 'y', 'true', '1', 'on'];
const FALSE_WORDS = ['no', 'n', 'false', '0', 'off'];

/** Reads and checks the generic rules of every field (type, characters, length, required, choices). */
export class Form {
  readonly errors: FieldError[] = [];
  private readonly text = new Map<string, string>();
  private readonly bad = new Set<string>();

  constructor(
    readonly def: KindDef,
    raw: Readonly<Record<string, unknown>>,
    private readonly optionalAfterAll: ReadonlySet<string> = new Set(),
  ) {
    const unknown = Object.keys(raw).filter((key) => !def.fields.some((f) => f.id === key));
    if (unknown.length) {
      const named = unknown.slice(0, 3).map((k) => show(k)).join(', ') + (unknown.length > 3 ? ` and ${unknown.length - 3} more` : '');
      this.errors.push({ field: REQUEST_FIELD, message: `Unknown field${unknown.length === 1 ? '' : 's'} ${named} for ${def.title}. Fields: ${def.fields.map((f) => f.id).join(', ')}.` });
    }
    for (const f of def.fields) this.read(f, Object.prototype.hasOwnProperty.call(raw, f.id) ? raw[f.id] : undefined);
  }

  private fail(f: FieldDef | string, message: string): void {
    const id = typeof f === 'string' ? f : f.id;
    this.bad.add(id);
    this.errors.push({ field: id, message });
  }

  /** Adds an error for a field (by id) with its label in front. */
  error(id: string, message: string): void {
    const f = this.def.fields.find((x) => x.id === id);
    this.fail(id, f ? `${f.label}: ${message}` : message);
  }

  private read(f: FieldDef, v: unknown): void {
    let s: string;
    if (v === undefined || v === null) s = '';
    else if (typeof v === 'string') s = v;
    else if (typeof v === 'boolean' && f.type === 'toggle') s = String(v);
    else if (typeof v === 'number' && f.type === 'number' && Number.isFinite(v)) s = String(v);
    else {
      this.fail(f, `${f.label}: must be text, not ${Array.isArray(v) ? 'a list' : typeof v}.`);
      return;
    }
    s = s.trim();
    const unusable = unusableCharacters(s);
    if (unusable) return this.fail(f, `${f.label}: ${show(s)} ${unusable}. Type it again without it.`);
    if (f.maxLength !== undefined && lengthOf(s) > f.maxLength) {
      return this.fail(f, `${f.label}: ${show(s)} is ${lengthOf(s)} characters long; at most ${f.maxLength}.`);
    }
    if (s === '') {
      if (f.required && !this.optionalAfterAll.has(f.id)) this.fail(f, `${f.label} is required${f.placeholder ? `, e.g. ${f.placeholder}` : ''}.`);
      return;
    }
    this.text.set(f.id, s);
    if (f.type === 'toggle') {
      const w = s.toLowerCase();
      if (!TRUE_WORDS.includes(w) && !FALSE_WORDS.includes(w)) this.fail(f, `${f.label}: ${show(s)} is not yes or no. Use yes or no.`);
    } else if (f.type === 'number') {
      const n = /^\d{1,9}$/.test(s) ? Number(s) : NaN;
      if (!Number.isInteger(n) || (f.min !== undefined && n < f.min) || (f.max !== undefined && n > f.max)) {
        this.fail(f, `${f.label}: ${show(s)} is not a whole number from ${f.min ?? 0} to ${f.max ?? 'any'}. Use digits only, e.g. ${f.placeholder ?? '1'}.`);
      }
    } else if (f.type === 'choice') {
      if (this.matchChoice(f, s) === undefined) {
        const list = f.id === 'usageLocation' ? 'a two-letter ISO country code such as DE, GB, US' : (f.choices ?? []).map((c) => c.value).join(', ');
        this.fail(f, `${f.label}: ${show(s)} is not one of the choices. Use ${list}.`);
      }
    }
  }

  private matchChoice(f: FieldDef, s: string): string | undefined {
    const w = s.toLowerCase();
    if (f.id === 'usageLocation') return countryCodeFrom(w);
    if (f.id === 'permission') {
      const bare = w.replace(/[^a-z]/g, '');
      if (bare === 'fullaccess' || bare === 'full') return 'FullAccess';
      if (bare === 'sendas') return 'SendAs';
      if (bare === 'sendonbehalf' || bare === 'onbehalf' || bare === 'sendonbehalfof' || bare === 'grantsendonbehalfto') return 'SendOnBehalf';
    }
    if (f.id === 'processing') {
      if (TRUE_WORDS.includes(w) || w === 'auto' || w === 'autoaccept') return 'accept';
      if (w === 'autoupdate' || w === 'delegate') return 'delegates';
    }
    if (f.id === 'conflicts') {
      if (TRUE_WORDS.includes(w) || w === 'allowed') return 'allow';
      if (FALSE_WORDS.includes(w) || w === 'declined') return 'decline';
    }
    if (f.id === 'state') {
      if (TRUE_WORDS.includes(w) || w === 'enable' || w === 'enabled') return 'on';
      if (FALSE_WORDS.includes(w) || w === 'disable' || w === 'disabled') return 'off';
    }
    return (f.choices ?? []).find((c) => c.value.toLowerCase() === w || c.title.toLowerCase() === w)?.value;
  }

  isBad(id: string): boolean {
    return this.bad.has(id);
  }

  /** The trimmed value of a field that passed the generic checks, or undefined when empty or bad. */
  get(id: string): string | undefined {
    return this.bad.has(id) ? undefined : this.text.get(id);
  }

  /** Raw trimmed text, even if it failed (for examples). */
  typed(id: string): string | undefined {
    return this.text.get(id);
  }

  toggle(id: string): boolean {
    const f = this.def.fields.find((x) => x.id === id);
    const v = (this.get(id) ?? f?.default ?? 'false').toLowerCase();
    return TRUE_WORDS.includes(v);
  }

  choice(id: string): string | undefined {
    const f = this.def.fields.find((x) => x.id === id);
    const v = this.get(id) ?? f?.default;
    return f && v !== undefined ? this.matchChoice(f, v) : undefined;
  }

  number(id: string): number | undefined {
    const v = this.get(id);
    return v === undefined ? undefined : Number(v);
  }
}
