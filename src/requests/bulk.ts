/**
 * Bulk requests: many requests of one kind from a CSV text, as a message (`bulk new mailbox` on the first line,
 * the CSV below it) or an attached file. Parsing turns the CSV into the same raw values the form card and the
 * one-line command produce (field id → text), so each row is validated by validateRequest like any single
 * request; on top of that, rows of one file must not collide with each other (two new mailboxes with the same
 * alias, the same change twice), which the validation of one row cannot see.
 *
 * CSV as RFC 4180 describes it, with what spreadsheets really write: comma or semicolon separator (Excel in
 * German locales writes `;`), quoted fields with "" escapes that may hold separators and line breaks, CRLF or LF,
 * a UTF-8 BOM, blank lines. Lines are numbered as the person sees them (a quoted field over two lines counts both).
 */
import { keysOf } from './command-line';
import { KIND_IDS, KINDS, REQUEST_FIELD, type FieldDef, type FieldError, type KindId, type RecipientRequest } from './kinds';
import { closest, show } from './text';
import { validateRequest, type ValidationContext } from './validate';

/** At most this many rows (not counting the header) in one bulk request. */
export const BULK_MAX_ROWS = 1000;
/** At most this many bytes (UTF-8) of CSV text in one bulk request: 512 KiB. */
export const BULK_MAX_BYTES = 512 * 1024;
/** At most this many parse errors are listed (the rest are counted). */
const MAX_PARSE_ERRORS = 20;

const NOTHING_FILED = 'Nothing was filed.';

export interface BulkRow {
  /** The line the row starts on, as the person sees it in their file or message. */
  readonly line: number;
  /** Field id → the text in that column (empty cells are left out); the phrase's implied values included. */
  readonly values: Record<string, string>;
}

export interface BulkError {
  readonly line?: number;
  readonly message: string;
}

export type BulkParse =
  | { readonly ok: true; readonly kind: KindId; readonly rows: BulkRow[]; readonly implied: Record<string, string> }
  | { readonly ok: false; readonly errors: BulkError[] };

export interface BulkValidation {
  readonly valid: { readonly line: number; readonly request: RecipientRequest }[];
  readonly invalid: { readonly line: number; readonly errors: FieldError[] }[];
}

// ---------------------------------------------------------------------------------------------
// The kind phrase
// ---------------------------------------------------------------------------------------------

/** The kind a phrase names (its id or any of its command phrases, any case and spacing), with the values the phrase implies. */
export function bulkKindOf(phrase: string): { kind: KindId; implied: Record<string, string> } | undefined {
  const p = phrase.trim().toLowerCase().split(/\s+/u).join(' ');
  for (const kind of KIND_IDS) {
    const def = KINDS[kind];
    if (p === kind) return { kind, implied: {} };
    if (def.command.phrases.includes(p)) return { kind, implied: { ...(def.command.implies?.[p] ?? {}) } };
  }
  return undefined;
}

function kindPhrases(): string {
  return KIND_IDS.map((k) => KINDS[k].command.phrases[0] ?? k).join(', ');
}

// ---------------------------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------------------------

interface Cell {
  readonly value: string;
  readonly quoted: boolean;
}

interface Rec {
  readonly line: number;
  readonly cells: Cell[];
}

type Records = { records: Rec[] } | { error: BulkError };

function utf8Length(s: string): number {
  let n = 0;
  for (const c of s) {
    const code = c.codePointAt(0) ?? 0;
    n += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
  }
  return n;
}

function isBreak(c: string | undefined): boolean {
  return c === '\n' || c === '\r';
}

/** Length of the line break at i (CRLF: 2), or 0. */
function breakAt(s: string, i: number): number {
  if (s[i] === '\r') return s[i + 1] === '\n' ? 2 : 1;
  return s[i] === '\n' ? 1 : 0;
}

/** `;` when the header line (outside quotes) has more semicolons than commas, else `,`. */
function detectSeparator(s: string, from: number): string {
  let commas = 0;
  let semicolons = 0;
  let quoted = false;
  for (let i = from; i < s.length; i++) {
    const c = s[i];
    if (c === '"') quoted = !quoted;
    else if (!quoted && isBreak(c)) break;
    else if (!quoted && c === ',') commas++;
    else if (!quoted && c === ';') semicolons++;
  }
  return semicolons > commas ? ';' : ',';
}

/** Splits CSV text into records; `firstLine` is the number of the text's first line. */
function readRecords(text: string, firstLine: number): Records {
  const s = text;
  let i = 0;
  let line = firstLine;
  // Skip blank lines before the header to find the separator on the header line.
  let headerStart = 0;
  {
    let j = 0;
    let l = firstLine;
    for (;;) {
      let k = j;
      while (k < s.length && (s[k] === ' ' || s[k] === '\t')) k++;
      const b = breakAt(s, k);
      if (b === 0) break;
      j = k + b;
      l++;
    }
    headerStart = j;
    i = j;
    line = l;
  }
  const sep = detectSeparator(s, headerStart);
  const records: Rec[] = [];
  while (i < s.length) {
    const recLine = line;
    const cells: Cell[] = [];
    for (;;) {
      // One cell: skip leading spaces, then a quoted or a plain value.
      while (s[i] === ' ' || s[i] === '\t') i++;
      if (s[i] === '"') {
        const openLine = line;
        let value = '';
        i++;
        for (;;) {
          if (i >= s.length) {
            return { error: { line: openLine, message: `Line ${openLine}: a quote (") is not closed${value ? ` after ${show(value)}` : ''}. Close it with " (and write a quote inside a value as ""). ${NOTHING_FILED}` } };
          }
          const c = s[i];
          if (c === '"') {
            if (s[i + 1] === '"') {
              value += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          const b = breakAt(s, i);
          if (b > 0) {
            value += '\n';
            i += b;
            line++;
            continue;
          }
          value += c;
          i++;
        }
        while (s[i] === ' ' || s[i] === '\t') i++;
        if (i < s.length && s[i] !== sep && !isBreak(s[i])) {
          return { error: { line, message: `Line ${line}: text after the closing quote of ${show(value)}. Put the whole value inside the quotes. ${NOTHING_FILED}` } };
        }
        cells.push({ value: value.trim(), quoted: true });
      } else {
        let j = i;
        while (j < s.length && s[j] !== sep && !isBreak(s[j])) j++;
        cells.push({ value: s.slice(i, j).trim(), quoted: false });
        i = j;
      }
      if (s[i] === sep) {
        i++;
        continue;
      }
      break;
    }
    const b = breakAt(s, i);
    if (b > 0) {
      i += b;
      line++;
    }
    if (cells.some((c) => c.value !== '' || c.quoted)) records.push({ line: recLine, cells });
  }
  return { records };
}

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

function fail(errors: BulkError[]): BulkParse {
  if (errors.length > MAX_PARSE_ERRORS) {
    const more = errors.length - MAX_PARSE_ERRORS;
    errors.splice(MAX_PARSE_ERRORS, more, { message: `… and ${more} more problem${more === 1 ? '' : 's'} in the file. ${NOTHING_FILED}` });
  }
  return { ok: false, errors };
}

function count(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/gu, ',');
}

function acceptedColumns(kind: KindId, implied: Readonly<Record<string, string>>): string {
  return KINDS[kind].fields.filter((f) => !(f.id in implied)).map((f) => f.keys[0] ?? f.id).join(', ');
}

function parseRows(kind: KindId, text: string, firstLine: number, implied: Readonly<Record<string, string>>): BulkParse {
  const def = KINDS[kind];
  const bytes = utf8Length(text);
  if (bytes > BULK_MAX_BYTES) {
    return fail([{ message: `The CSV is ${count(Math.ceil(bytes / 1024))} KiB (${count(bytes)} bytes); a bulk request may have at most ${count(BULK_MAX_BYTES / 1024)} KiB. Split it into smaller files. ${NOTHING_FILED}` }]);
  }
  const read = readRecords(text.replace(/^\ufeff/u, ''), firstLine);
  if ('error' in read) return fail([read.error]);
  const [header, ...data] = read.records;
  if (!header) {
    return fail([{ message: `There is no CSV: put a header line (${acceptedColumns(kind, implied)}) and one line per ${def.title.toLowerCase()} below it. ${NOTHING_FILED}` }]);
  }

  // The header: each column a field, by any of its command keys or its id.
  const errors: BulkError[] = [];
  const columns: (FieldDef | null)[] = [];
  const seen = new Map<string, string>();
  for (const [n, cell] of header.cells.entries()) {
    const name = cell.value;
    if (name === '') {
      columns.push(null);
      continue;
    }
    const key = name.toLowerCase();
    const field = def.fields.find((f) => keysOf(f).includes(key));
    if (!field) {
      const guess = closest(key, def.fields.flatMap(keysOf));
      errors.push({
        line: header.line,
        message: `Line ${header.line}: unknown column ${show(name)} for ${def.title}.${guess ? ` Did you mean ${guess}?` : ''} Accepted columns: ${acceptedColumns(kind, implied)} (or the other names the one-line command accepts). ${NOTHING_FILED}`,
      });
    } else if (field.id in implied) {
      errors.push({
        line: header.line,
        message: `Line ${header.line}: column ${show(name)} gives ${field.label}, which the first line already says (${Object.entries(implied).map(([k, v]) => `${k}=${v}`).join(', ')}). Remove the column, or name the kind without it. ${NOTHING_FILED}`,
      });
    } else if (seen.has(field.id)) {
      errors.push({ line: header.line, message: `Line ${header.line}: columns ${show(seen.get(field.id) ?? '')} and ${show(name)} both give ${field.label}. Keep one of them. ${NOTHING_FILED}` });
    } else {
      seen.set(field.id, name);
    }
    columns[n] = field ?? null;
  }
  if (errors.length) return fail(errors);

  if (data.length === 0) {
    return fail([{ line: header.line, message: `There are no rows below the header (line ${header.line}): put one line per ${def.title.toLowerCase()}. ${NOTHING_FILED}` }]);
  }
  if (data.length > BULK_MAX_ROWS) {
    return fail([{ message: `The CSV has ${count(data.length)} rows; a bulk request may have at most ${count(BULK_MAX_ROWS)}. Split it into smaller files. ${NOTHING_FILED}` }]);
  }

  const rows: BulkRow[] = [];
  for (const rec of data) {
    const values: Record<string, string> = { ...implied };
    const extra = rec.cells.slice(columns.length).filter((c) => c.value !== '');
    if (extra.length) {
      errors.push({
        line: rec.line,
        message: `Line ${rec.line}: ${rec.cells.length} values, but the header has ${columns.length} columns (${show(extra[0]?.value ?? '')} has no column). Quote values that contain the separator. ${NOTHING_FILED}`,
      });
      continue;
    }
    for (const [n, cell] of rec.cells.entries()) {
      const field = columns[n];
      if (n >= columns.length || cell.value === '') continue;
      if (!field) {
        errors.push({ line: rec.line, message: `Line ${rec.line}: ${show(cell.value)} is in column ${n + 1}, which has no name in the header. Name the column or remove the value. ${NOTHING_FILED}` });
        continue;
      }
      values[field.id] = cell.value;
    }
    rows.push({ line: rec.line, values });
  }
  if (errors.length) return fail(errors);
  return { ok: true, kind, rows, implied: { ...implied } };
}

/** An attached CSV file for a kind (header = line 1). */
export function parseCsv(kind: KindId, csvText: string): BulkParse {
  return parseRows(kind, csvText, 1, {});
}

/** How the lines of a bulk text are numbered. */
export interface BulkTextOptions {
  /**
   * The CSV came from an attached file or the bulk form's field, below a `bulk <kind>` line of its own: its lines are
   * numbered from its header (line 1), as the person's spreadsheet or the field shows them.
   */
  readonly numberFromHeader?: boolean;
}

/**
 * A message: `bulk <kind phrase>` on the first line, the CSV (header first) on the next ones. Lines are numbered
 * as in the message (the `bulk` line is line 1, so the header is usually line 2), or from the header (options).
 */
export function parseBulkText(text: string, options: BulkTextOptions = {}): BulkParse {
  const s = text.replace(/^\ufeff/u, '');
  const m = /^[ \t]*(?:\r\n?|\n)/u;
  let rest = s;
  let line = 1;
  for (let x = m.exec(rest); x; x = m.exec(rest)) {
    rest = rest.slice(x[0].length);
    line++;
  }
  const eol = rest.search(/\r\n?|\n/u);
  const first = (eol < 0 ? rest : rest.slice(0, eol)).trim();
  const after = eol < 0 ? '' : rest.slice(eol + (rest[eol] === '\r' && rest[eol + 1] === '\n' ? 2 : 1));
  const words = first.split(/\s+/u);
  if ((words[0] ?? '').toLowerCase() !== 'bulk') {
    return fail([{ line, message: `Line ${line}: a bulk request starts with "bulk" and the kind, e.g. "bulk new mailbox", with the CSV on the next lines. ${NOTHING_FILED}` }]);
  }
  const phrase = words.slice(1).join(' ');
  if (phrase === '') {
    return fail([{ line, message: `Line ${line}: say which kind after "bulk", e.g. "bulk new mailbox". Kinds: ${kindPhrases()}. ${NOTHING_FILED}` }]);
  }
  const found = bulkKindOf(phrase);
  if (!found) {
    const guess = closest(phrase.toLowerCase(), KIND_IDS.flatMap((k) => [k, ...KINDS[k].command.phrases]));
    return fail([{ line, message: `Line ${line}: ${show(phrase)} is not a request kind.${guess ? ` Did you mean "${guess}"?` : ''} Kinds: ${kindPhrases()}. ${NOTHING_FILED}` }]);
  }
  return parseRows(found.kind, after, options.numberFromHeader ? 1 : line + 1, found.implied);
}

// ---------------------------------------------------------------------------------------------
// Template
// ---------------------------------------------------------------------------------------------

function csvValue(v: string): string {
  return /[",;\r\n]|^\s|\s$/u.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/**
 * A CSV header (the canonical command key of every field, required ones first) and one example row from the
 * kind's placeholders. With `domain`, example addresses use it instead of contoso.com (the tenant's mail domain).
 */
export function bulkTemplate(kind: KindId, domain?: string): string {
  const fields = [...KINDS[kind].fields].sort((a, b) => Number(b.required) - Number(a.required));
  const example = (f: FieldDef): string => {
    const v = f.placeholder ?? f.default ?? f.choices?.[0]?.value ?? '';
    return domain ? v.replace(/@contoso\.com\b/gu, `@${domain}`) : v;
  };
  return [fields.map((f) => csvValue(f.keys[0] ?? f.id)).join(','), fields.map((f) => csvValue(example(f))).join(',')].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

/** The names a created object claims that must be unique: field id (for the error), label, value. */
function claimedNames(request: RecipientRequest): { field: string; label: string; value: string }[] {
  const out: { field: string; label: string; value: string }[] = [];
  const r = request as unknown as Readonly<Record<string, unknown>>;
  const add = (key: string, field: string, label: string): void => {
    const v = r[key];
    if (typeof v === 'string' && v !== '') out.push({ field, label, value: v });
  };
  add('alias', 'alias', 'alias');
  add('samAccountName', 'samAccountName', 'logon name (sAMAccountName)');
  add('userPrincipalName', 'userPrincipalName', 'sign-in name (UPN)');
  add('primarySmtpAddress', 'emailAddress', 'email address');
  add('externalAddress', 'externalAddress', 'external email address');
  return out;
}

/** A change request as a comparable text: recipients by primary address, lists as sets, text ignoring case. */
function signature(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(signature).sort().join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const o = v as Readonly<Record<string, unknown>>;
    if (typeof o.primarySmtpAddress === 'string') return `<${o.primarySmtpAddress.toLowerCase()}>`;
    return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${k}:${signature(o[k])}`).join(',')}}`;
  }
  if (typeof v === 'string') return JSON.stringify(v.toLowerCase());
  return JSON.stringify(v) ?? 'undefined';
}

/**
 * Validates each row (in order) with validateRequest, then checks the rows against each other: new objects
 * must not share an alias, logon name, UPN or address (also when the naming policy filled them in), and a change
 * must not be asked for twice. The second and later colliding rows are invalid, naming the line of the first.
 * A look-up outage rejects (LookupUnavailableError), as validateRequest does.
 */
export async function validateBulk(kind: KindId, rows: readonly BulkRow[], ctx: ValidationContext): Promise<BulkValidation> {
  const valid: { line: number; request: RecipientRequest }[] = [];
  const invalid: { line: number; errors: FieldError[] }[] = [];
  const creates = KINDS[kind].creates;
  /** "field:value" (lower case) → first line that claims it. */
  const claimed = new Map<string, number>();
  /** Change signature → first line. */
  const changes = new Map<string, number>();
  for (const row of rows) {
    const r = await validateRequest(kind, row.values, ctx);
    if (!r.ok) {
      invalid.push({ line: row.line, errors: r.errors });
      continue;
    }
    const errors: FieldError[] = [];
    if (creates) {
      const names = claimedNames(r.request);
      for (const n of names) {
        const first = claimed.get(`${n.field}:${n.value.toLowerCase()}`);
        if (first === undefined) continue;
        const generated = row.values[n.field] === undefined || row.values[n.field] === '';
        errors.push({
          field: n.field,
          message: `The ${n.label} ${show(n.value)}${generated ? ' (from the naming policy)' : ''} is the same as on line ${first}: two rows cannot create the same ${n.label}. Give this row its own ${n.label}, or remove the duplicate row.`,
        });
      }
      if (errors.length === 0) for (const n of names) claimed.set(`${n.field}:${n.value.toLowerCase()}`, row.line);
    } else {
      const sig = signature(r.request);
      const first = changes.get(sig);
      if (first !== undefined) {
        errors.push({ field: REQUEST_FIELD, message: `This row asks for exactly the same as line ${first}. Remove one of them.` });
      } else {
        changes.set(sig, row.line);
      }
    }
    if (errors.length) invalid.push({ line: row.line, errors });
    else valid.push({ line: row.line, request: r.request });
  }
  return { valid, invalid };
}

// ---------------------------------------------------------------------------------------------
// Summary
// ---------------------------------------------------------------------------------------------

/** What a row creates or changes, as people know it: the new object's address, or the recipient changed. */
function shownAddress(request: RecipientRequest): string | undefined {
  if ('primarySmtpAddress' in request) return request.primarySmtpAddress;
  if ('externalAddress' in request) return request.externalAddress;
  if ('target' in request) return request.target.primarySmtpAddress;
  return undefined;
}

function plural(title: string, n: number): string {
  const t = title.charAt(0).toLowerCase() + title.slice(1);
  if (n === 1) return t;
  return /(?:x|s|sh|ch)$/u.test(t) ? `${t}es` : `${t}s`;
}

/**
 * A short plan summary in words: "3 user mailboxes: a@x, b@x, c@x." for creating kinds (the first 10 addresses
 * and "and N more"), "2 × Grant mailbox permissions: on a@x, b@x." for changes.
 */
export function bulkSummary(kind: KindId, valid: readonly { readonly request: RecipientRequest }[]): string {
  const def = KINDS[kind];
  const n = valid.length;
  if (n === 0) return `No ${plural(def.title, 2)} to file.`;
  const addresses = [...new Set(valid.map((v) => shownAddress(v.request)).filter((a): a is string => a !== undefined))];
  const shown = addresses.slice(0, 10).join(', ');
  const more = addresses.length > 10 ? ` and ${addresses.length - 10} more` : '';
  const head = def.creates ? `${n} ${plural(def.title, n)}` : `${n} × ${def.title}`;
  const list = def.creates ? `${shown}${more}` : `on ${shown}${more}`;
  return addresses.length ? `${head}: ${list}.` : `${head}.`;
}
