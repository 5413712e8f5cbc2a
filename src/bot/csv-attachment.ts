/**
 * A CSV file attached to a bulk request in the personal chat. Teams uploads a file a person sends to a bot to their
 * OneDrive for Business and hands the bot an attachment of type `application/vnd.microsoft.teams.file.download.info`:
 * the file's name and `content.downloadUrl`, a pre-authenticated link into SharePoint Online (anyone holding it can read
 * the file for a while). The manifest must say `supportsFiles: true`; Teams does this in personal chats only.
 *
 * Mailroom downloads such a link only from SharePoint Online over https (with a bot registration), or only from this
 * machine (the sandbox, which runs without one), follows no redirect, gives up after a timeout and stops reading past
 * the bulk byte limit. The file must be UTF-8 (with or without a byte order mark). The link is a secret: it is never
 * logged nor shown, only the file's name and size are.
 */
import type { Activity, TurnContext } from 'botbuilder';
import type { Logger } from '../log';
import { BULK_MAX_BYTES, BULK_MAX_ROWS, type BulkTextOptions } from '../requests';
import { isLoopbackUrl } from './activity-guard';
import type { NoticeData } from './cards';
import type { CardRenderer } from './cards';
import { md } from './markdown';
import { noticeReply } from './request-cards';

/** The attachment Teams sends for a file a person attached in the personal chat. */
export const FILE_DOWNLOAD_INFO = 'application/vnd.microsoft.teams.file.download.info';

/** How long a download may take, all of it. */
export const CSV_DOWNLOAD_TIMEOUT_MS = 15_000;

/** The most bytes read from a file: the bulk limit, and a byte order mark. */
const MAX_FILE_BYTES = BULK_MAX_BYTES + 3;

const NOTHING = 'Nothing was checked or filed.';
const KIB = (BULK_MAX_BYTES / 1024).toLocaleString('en-US');
const SAVE_AS = 'in Excel, File › Save As › "CSV UTF-8 (Comma delimited) (*.csv)"';

/**
 * Where an attached file may be downloaded from. `tenant`: SharePoint Online in the commercial cloud (and GCC, which
 * uses the same hosts), https on the default port: `https://<tenant>-my.sharepoint.com/…` is where a file sent to a
 * bot lands. Teams does not hand files to bots in GCC High, DoD or the clouds operated by 21Vianet (Microsoft: "Send
 * and receive files using bot"), so .sharepoint.us and .sharepoint.cn are not needed; .sharepoint.de (Microsoft
 * Cloud Deutschland) was shut down. `sandbox`: only this machine (no bot registration: nothing is authenticated).
 */
export type FileSourceMode = 'sandbox' | 'tenant';

export interface AttachedFile {
  /** The name as Teams shows it (clipped for messages). */
  readonly name: string;
  readonly fileType: string;
  /** Pre-authenticated: a secret. */
  readonly downloadUrl: string;
}

export type CsvDownload = { readonly ok: true; readonly text: string; readonly bytes: number } | { readonly ok: false; readonly reason: string; readonly message: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A text from the attachment as a message may show it: no control characters, at most `max` characters. */
function shown(text: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, '').trim();
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

/** The files attached to a message (file download infos only; the HTML copy of the message Teams adds is not one). */
export function attachedFiles(activity: Partial<Activity>): AttachedFile[] {
  const out: AttachedFile[] = [];
  for (const a of activity.attachments ?? []) {
    if (!isObject(a) || a.contentType !== FILE_DOWNLOAD_INFO) continue;
    const content = isObject(a.content) ? a.content : {};
    out.push({
      name: shown(typeof a.name === 'string' ? a.name : '', 80) || 'unnamed file',
      fileType: typeof content.fileType === 'string' ? shown(content.fileType, 20).toLowerCase() : '',
      downloadUrl: typeof content.downloadUrl === 'string' ? content.downloadUrl : '',
    });
  }
  return out;
}

/** A CSV file: its type says csv, or its name ends in .csv. */
export function isCsvFile(f: AttachedFile): boolean {
  return f.fileType === 'csv' || /\.csv$/i.test(f.name);
}

/** The host rule for a download link; undefined when Mailroom may download it, else why not (for the person). */
export function downloadUrlRefusal(raw: string, mode: FileSourceMode): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'The attachment has no valid download link.';
  }
  if (url.username || url.password) return 'The file\'s download link carries a user name or password; Mailroom does not download it.';
  if (mode === 'sandbox') {
    return isLoopbackUrl(raw) ? undefined : 'Without a bot registration (the sandbox) Mailroom only downloads files from this machine (http://localhost, 127.0.0.1 or [::1]); the file\'s link points elsewhere.';
  }
  const host = url.hostname.toLowerCase();
  const sharePoint = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.sharepoint\.com$/.test(host);
  if (url.protocol !== 'https:' || url.port !== '' || !sharePoint) {
    return 'The file\'s download link does not point to SharePoint Online (https://<tenant>.sharepoint.com), where Teams keeps the files sent to a bot; Mailroom does not download it.';
  }
  return undefined;
}

/**
 * The mode a turn runs in: a turn the adapter authenticated carries the Bot Framework token's claims; without a bot
 * registration (only the sandbox runs so: configuration requires BOT_ID with a tenant) the turn's identity has none.
 * Anything else (no identity at all) counts as a tenant, the narrower rule for where files come from.
 */
export function fileSourceModeOf(ctx: TurnContext): FileSourceMode {
  const identity = ctx.turnState.get<{ claims?: unknown } | undefined>(ctx.adapter.BotIdentityKey);
  return identity && Array.isArray(identity.claims) && identity.claims.length === 0 ? 'sandbox' : 'tenant';
}

function refused(reason: string, message: string): CsvDownload {
  return { ok: false, reason, message: `${message} ${NOTHING}` };
}

/**
 * Downloads an attached CSV file: only from where `mode` allows, no redirect, at most CSV_DOWNLOAD_TIMEOUT_MS, at most
 * the bulk byte limit (reading stops beyond it), UTF-8 only. Never throws; every failure is a message for the person.
 */
export async function downloadCsv(file: AttachedFile, mode: FileSourceMode, opts: { timeoutMs?: number; maxBytes?: number } = {}): Promise<CsvDownload> {
  const name = `"${file.name}"`;
  const hostRefusal = downloadUrlRefusal(file.downloadUrl, mode);
  if (hostRefusal) return refused('host', hostRefusal);
  const maxBytes = opts.maxBytes ?? MAX_FILE_BYTES;
  const timeoutMs = opts.timeoutMs ?? CSV_DOWNLOAD_TIMEOUT_MS;
  const tooLarge = () => refused('too-large', `${name} is larger than ${KIB} KiB, the most a bulk request may have. Split it into files of at most ${BULK_MAX_ROWS.toLocaleString('en-US')} rows and ${KIB} KiB.`);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const res = await fetch(file.downloadUrl, { redirect: 'manual', signal: controller.signal, headers: { accept: 'text/csv, text/plain, */*' } });
    if (res.status >= 300 && res.status < 400) {
      await res.body?.cancel();
      return refused('redirect', `The download link of ${name} answered with a redirect (HTTP ${res.status}); Mailroom follows no redirect for files. Attach the file again.`);
    }
    if (!res.ok) {
      await res.body?.cancel();
      return refused('http', `${name} could not be downloaded (HTTP ${res.status}). A file's download link is valid only for a while: attach the file again.`);
    }
    const declared = Number(res.headers.get('content-length'));
    if (Number.isFinite(declared) && declared > maxBytes) {
      await res.body?.cancel();
      return tooLarge();
    }
    const chunks: Uint8Array[] = [];
    let bytes = 0;
    if (res.body) {
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        bytes += value.byteLength;
        if (bytes > maxBytes) {
          await reader.cancel();
          return tooLarge();
        }
        chunks.push(value);
      }
    }
    const all = Buffer.concat(chunks);
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(all);
    } catch {
      return refused('not-utf8', `${name} is not UTF-8 text. Excel's plain "CSV (Comma delimited)" writes Windows-1252: save the file as CSV UTF-8 (${SAVE_AS}) and attach it again.`);
    }
    if (text.includes('\u0000')) {
      return refused('not-utf8', `${name} is not UTF-8 text (it looks like UTF-16, Excel's "Unicode Text"): save the file as CSV UTF-8 (${SAVE_AS}) and attach it again.`);
    }
    return { ok: true, text, bytes };
  } catch {
    if (controller.signal.aborted) return refused('timeout', `${name} did not download within ${Math.round(timeoutMs / 1000)} seconds. Try again in a moment.`);
    return refused('network', `${name} could not be downloaded (the connection failed). Try again in a moment.`);
  } finally {
    clearTimeout(timer);
  }
}

/** `bulk <kind>` (the only message an attached file belongs to): checked on the message text without the bot's mention. */
export function takesAttachedFile(text: string): boolean {
  return /^bulk\s+(?!template\b)\S/i.test(text);
}

/** What Mailroom answers to a message with files it has no use for (no `bulk <kind>` with them); undefined when there are none. */
export function unexpectedFileNotice(activity: Partial<Activity>, text: string): NoticeData | undefined {
  const files = attachedFiles(activity);
  const first = files[0];
  if (!first || takesAttachedFile(text)) return undefined;
  const csv = files.every(isCsvFile);
  return {
    title: csv ? 'What should I do with this file?' : 'Mailroom reads CSV files only',
    text: md`${csv ? '' : `"${first.name}" is not a CSV file. `}To check a CSV file as a bulk request, attach it to a message that says **bulk** and the kind, e.g. **bulk new mailbox**; the file's first line is the header (**bulk template new mailbox** gives one). ${csv ? '' : `For an Excel sheet, ${SAVE_AS}. `}${NOTHING}`,
    tone: 'info',
  };
}

/** Where the bulk form's Check puts the text it read from the form (`bulk <kind>` and the lines) for the `bulk` command. */
export const BULK_FORM_TEXT = Symbol('mailroom.bulkFormText');

/** A bulk request's text for the preview, and how its lines are numbered. */
export interface BulkInput {
  readonly text: string;
  readonly options: BulkTextOptions;
}

/**
 * The text of a bulk request as the preview reads it: the bulk form's (when its Check runs the command), the pasted
 * lines, or `bulk <kind>` and the attached CSV file's lines. A file's and the form's lines are numbered from their
 * header (line 1), as the person sees them; pasted lines as in the message. When a file cannot be used, says why in
 * the chat and resolves undefined.
 */
export async function bulkRequestText(ctx: TurnContext, pasted: string, deps: { readonly cards: CardRenderer; readonly log: Logger }): Promise<BulkInput | undefined> {
  const fromForm: unknown = ctx.turnState.get(BULK_FORM_TEXT);
  if (typeof fromForm === 'string') return { text: fromForm, options: { numberFromHeader: true } };
  const files = attachedFiles(ctx.activity);
  const file = files[0];
  if (!file) return { text: pasted, options: {} };
  const refuse = async (reason: string, message: string) => {
    deps.log.warn('attached CSV refused', { file: file.name, files: files.length, reason });
    await ctx.sendActivity(noticeReply(deps.cards, 'Nothing was checked', message, 'warning'));
    return undefined;
  };
  if (files.length > 1) return refuse('several', `The message has ${files.length} files attached; a bulk request reads one CSV file. Attach one file per message. ${NOTHING}`);
  if (!isCsvFile(file)) {
    return refuse('not-csv', `"${file.name}" is not a CSV file${file.fileType ? ` (it is ${file.fileType})` : ''}. Mailroom reads bulk requests from .csv files: ${SAVE_AS}, and attach that file. ${NOTHING}`);
  }
  const lines = pasted.replace(/^\s+/, '').split(/\r\n?|\n/);
  const first = (lines[0] ?? '').trim();
  if (lines.slice(1).some((l) => l.trim() !== '')) {
    return refuse('pasted-and-file', `The message has CSV lines and an attached file; send one of them: "${first.slice(0, 60)}" with the file attached, or the lines pasted without a file. ${NOTHING}`);
  }
  const got = await downloadCsv(file, fileSourceModeOf(ctx));
  if (!got.ok) return refuse(got.reason, got.message);
  deps.log.info('attached CSV read', { file: file.name, bytes: got.bytes });
  return { text: `${first}\n${got.text}`, options: { numberFromHeader: true } };
}
