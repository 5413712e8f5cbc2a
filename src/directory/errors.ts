/**
 * One error class for everything the AD adapter reports, mapped from LDAP result codes and from the diagnostic
 * prefixes Samba and Windows put in front of their messages (`00002071:`, `0000052D:`, `data 52e` …), with a
 * message a helpdesk person can act on: what happened, what was not changed, and what to do next.
 */
import { ResultCodeError } from 'ldapts';

export type DirectoryErrorKind =
  /** The service account's bind was refused (wrong password, disabled, locked, expired …). */
  | 'invalid-credentials'
  /** The operation ran on a connection that is not signed in (e.g. the DC dropped the session). */
  | 'not-bound'
  /** An attribute Mailroom writes is not in this AD's schema (e.g. `mailNickname` without Exchange's schema). */
  | 'schema-missing-attribute'
  /** A value to remove (address, member) is not on the object. */
  | 'no-such-value'
  /** A constraint other than the password policy and uniqueness (e.g. an invalid character in sAMAccountName). */
  | 'constraint'
  /** The password was refused by the domain's password policy. */
  | 'password-policy'
  /** Another object already has this DN, sAMAccountName or userPrincipalName. */
  | 'already-exists'
  /** The value is already there (a member, an address), or a single-valued attribute got several values. */
  | 'value-exists'
  /** A value has the wrong format or length for its attribute. */
  | 'invalid-syntax'
  /** A DN that is not a valid distinguished name. */
  | 'invalid-dn'
  /** The attribute is not allowed on this kind of object. */
  | 'wrong-object-class'
  /** This kind of object cannot be created in that container. */
  | 'naming-violation'
  /** The object (or the OU to create it in, or a member) does not exist. */
  | 'no-such-object'
  /** The object still has children. */
  | 'not-allowed-on-non-leaf'
  /** The DC refuses the operation as such. */
  | 'unwilling-to-perform'
  /** The service account lacks the right. */
  | 'insufficient-rights'
  /** The DC requires a stronger (signed/encrypted) connection. */
  | 'strong-auth-required'
  /** The DC cannot be reached (refused, unreachable, unknown host) or said it is unavailable. */
  | 'unavailable'
  /** The DC said it is busy. */
  | 'busy'
  /** Connecting or an operation took longer than the configured time. */
  | 'timeout'
  /** The connection broke while an operation was in flight. */
  | 'connection-lost'
  /** The DC's certificate could not be verified, or TLS failed. */
  | 'tls'
  /** Mailroom's own configuration or call is wrong (e.g. an ldap:// URL). */
  | 'configuration'
  /** An identity matched more than one AD object. */
  | 'ambiguous'
  /** The DirectoryClient was closed. */
  | 'closed'
  /** Anything else; the server's text is in `serverMessage`. */
  | 'other';

/** What the failed call left behind in AD. */
export type ChangeOutcome =
  /** Nothing was changed. */
  | 'unchanged'
  /** The request may or may not have been applied (connection lost or timed out during a write): look before retrying. */
  | 'unknown'
  /** Part of a multi-step operation was applied and could not be undone; the message says what. */
  | 'partial';

/** Client-side result codes (as in the OpenLDAP C API) for failures that never got an LDAP result. */
const CLIENT_CODES = {
  serverDown: 81,
  timeout: 85,
  paramError: 89,
  connectError: 91,
} as const;

export interface DirectoryErrorInit {
  readonly code: number;
  readonly kind: DirectoryErrorKind;
  readonly transient: boolean;
  readonly outcome: ChangeOutcome;
  readonly message: string;
  readonly serverMessage?: string;
  readonly dn?: string;
  readonly cause?: unknown;
}

export class DirectoryError extends Error {
  /** The LDAP result code (or a client-side code from `CLIENT_CODES`). */
  readonly code: number;
  readonly kind: DirectoryErrorKind;
  /** True when trying again later may succeed (busy, unavailable, timeouts, connection loss). */
  readonly transient: boolean;
  readonly outcome: ChangeOutcome;
  /** The DC's own diagnostic text, for logs and admins (never contains a password). */
  readonly serverMessage?: string;
  readonly dn?: string;

  constructor(init: DirectoryErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'DirectoryError';
    this.code = init.code;
    this.kind = init.kind;
    this.transient = init.transient;
    this.outcome = init.outcome;
    if (init.serverMessage !== undefined) this.serverMessage = init.serverMessage;
    if (init.dn !== undefined) this.dn = init.dn;
  }

  /** Fields for a structured log line. */
  toLog(): Record<string, unknown> {
    return {
      kind: this.kind,
      code: this.code,
      transient: this.transient,
      outcome: this.outcome,
      dn: this.dn,
      serverMessage: this.serverMessage,
    };
  }
}

export type OperationAction = 'connect' | 'read' | 'create' | 'modify' | 'delete';

/** What Mailroom was doing when an error happened: the error message is built from it. */
export interface OperationContext {
  readonly action: OperationAction;
  /** The object as a person names it, e.g. `the user 'Ada Lovelace' (ada)`. Default: its DN. */
  readonly target?: string;
  readonly dn?: string;
  /** Create only: the container the object was to be created in. */
  readonly parentDn?: string;
  /** Values sent, by attribute name (never secrets): named in messages about duplicates and bad values. */
  readonly values?: Readonly<Record<string, unknown>>;
  /** The DC as named in messages, e.g. `ldaps://dc1.corp.example:636`. */
  readonly server?: string;
  readonly bindDn?: string;
  readonly timeoutMs?: number;
  readonly connectTimeoutMs?: number;
  /** Replaces the default "nothing was created/changed/deleted" (e.g. after a roll-back): used whatever the outcome. */
  readonly unchanged?: string;
  /** With `unchanged`: what the call left behind (default `unchanged`). */
  readonly outcome?: ChangeOutcome;
}

const ATTRIBUTE_NAMES: Record<string, string> = {
  samaccountname: 'sAMAccountName',
  userprincipalname: 'userPrincipalName',
  mailnickname: 'mailNickname',
  proxyaddresses: 'proxyAddresses',
  targetaddress: 'targetAddress',
  displayname: 'displayName',
  useraccountcontrol: 'userAccountControl',
  unicodepwd: 'unicodePwd',
  grouptype: 'groupType',
  givenname: 'givenName',
  serviceprincipalname: 'servicePrincipalName',
};

function attributeName(name: string): string {
  return ATTRIBUTE_NAMES[name.toLowerCase()] ?? name;
}

function contextValue(ctx: OperationContext, attribute: string): string | undefined {
  const wanted = attribute.toLowerCase();
  for (const [k, v] of Object.entries(ctx.values ?? {})) {
    if (k.toLowerCase() !== wanted || v === undefined || v === null) continue;
    if (Array.isArray(v)) return v.map(String).join(', ');
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  }
  return undefined;
}

function quote(value: string, max = 80): string {
  const v = value.length > max ? `${value.slice(0, max)}…` : value;
  return `'${v}'`;
}

function target(ctx: OperationContext): string {
  return ctx.target ?? (ctx.dn ? `'${ctx.dn}'` : 'the object');
}

function upperFirst(s: string): string {
  return s.length ? s[0]!.toUpperCase() + s.slice(1) : s;
}

/** "nothing was created" etc. */
function unchangedPhrase(ctx: OperationContext): string {
  if (ctx.unchanged) return ctx.unchanged;
  switch (ctx.action) {
    case 'create':
      return 'nothing was created';
    case 'modify':
      return `nothing was changed on ${target(ctx)}`;
    case 'delete':
      return 'nothing was deleted';
    default:
      return 'nothing was changed';
  }
}

function unknownPhrase(ctx: OperationContext): string {
  if (ctx.unchanged) return ctx.unchanged;
  switch (ctx.action) {
    case 'create':
      return `it is not known whether ${target(ctx)} was created, so look it up in AD before trying again`;
    case 'modify':
      return `it is not known whether the change to ${target(ctx)} was made, so look at it in AD before trying again`;
    case 'delete':
      return `it is not known whether ${target(ctx)} was deleted, so look it up in AD before trying again`;
    default:
      return 'nothing was changed';
  }
}

const isWrite = (ctx: OperationContext): boolean => ctx.action === 'create' || ctx.action === 'modify' || ctx.action === 'delete';

function verb(ctx: OperationContext): string {
  switch (ctx.action) {
    case 'create':
      return `create ${target(ctx)}`;
    case 'modify':
      return `change ${target(ctx)}`;
    case 'delete':
      return `delete ${target(ctx)}`;
    case 'read':
      return `read ${target(ctx)}`;
    default:
      return 'connect';
  }
}

const BIND_REASONS: Record<string, string> = {
  '525': 'the account does not exist',
  '52e': 'the user name or password is wrong',
  '530': 'the account may not sign in at this time of day',
  '531': 'the account may not sign in from this computer',
  '532': 'its password has expired',
  '533': 'the account is disabled',
  '568': 'it has too many security groups',
  '701': 'the account has expired',
  '773': 'its password must be changed before it can sign in',
  '775': 'the account is locked out',
};

/** The server's diagnostic text without ldapts' trailing " Code: 0xNN". */
function serverText(err: ResultCodeError): string {
  return err.message.replace(/\s*Code: 0x[0-9a-f]+\s*$/i, '').trim();
}

/** The Windows/Samba diagnostic prefix, e.g. `0000052D`, upper-cased; undefined if absent. */
function prefix(text: string): string | undefined {
  return /^([0-9A-Fa-f]{8}):/.exec(text)?.[1]?.toUpperCase();
}

interface Mapped {
  kind: DirectoryErrorKind;
  transient: boolean;
  message: string;
  outcome?: ChangeOutcome;
}

function mapResultCode(code: number, text: string, ctx: OperationContext): Mapped {
  const pre = prefix(text);
  const unchanged = unchangedPhrase(ctx);
  const quotedAttr = /attribute '([^']+)'/i.exec(text)?.[1];
  switch (code) {
    case 49: {
      const data = /data ([0-9a-f]{3,8})/i.exec(text)?.[1]?.toLowerCase();
      const reason = (data && BIND_REASONS[data]) ?? 'the user name or password is wrong, or the account cannot sign in';
      return {
        kind: 'invalid-credentials',
        transient: false,
        message:
          `Mailroom's service account${ctx.bindDn ? ` '${ctx.bindDn}'` : ''} could not sign in to Active Directory: ${reason}; ` +
          `${unchanged}. An administrator must fix the service account or its password in Mailroom's configuration.`,
      };
    }
    case 1:
      if (pre === '00002020' || pre === '000004DC' || /without authentication|successful bind must be completed/i.test(text)) {
        return {
          kind: 'not-bound',
          transient: true,
          message: `Mailroom's connection to Active Directory was no longer signed in, so AD refused to ${verb(ctx)}; ${unchanged}. Mailroom will sign in again and retry.`,
        };
      }
      return { kind: 'other', transient: false, message: `Active Directory could not ${verb(ctx)} (${text}); ${unchanged}.` };
    case 3:
      return {
        kind: 'timeout',
        transient: true,
        message: `Active Directory took too long to ${verb(ctx)}; ${unchanged}. Mailroom will try again.`,
      };
    case 8:
    case 13:
      return {
        kind: 'strong-auth-required',
        transient: false,
        message: `Active Directory requires a stronger or encrypted connection to ${verb(ctx)}; ${unchanged}. Check that Mailroom connects with ldaps:// and that the DC accepts simple binds over TLS.`,
      };
    case 16:
    case 17:
      if (code === 17 || pre === '0000200A' || /not found in the schema/i.test(text)) {
        const attr = quotedAttr ? attributeName(quotedAttr) : 'an attribute Mailroom writes';
        return {
          kind: 'schema-missing-attribute',
          transient: false,
          message:
            `This Active Directory's schema has no attribute ${quotedAttr ? `'${attr}'` : attr}, so AD could not ${verb(ctx)}; ${unchanged}. ` +
            'An AD administrator must extend the schema (for the Exchange attributes: Exchange\'s schema preparation), or Mailroom must be configured not to write it.',
        };
      }
      return {
        kind: 'no-such-value',
        transient: false,
        message: `${upperFirst(target(ctx))} does not have the ${quotedAttr ? `${attributeName(quotedAttr)} value` : 'value'} to remove; ${unchanged}.`,
      };
    case 19: {
      if (pre === '0000052D' || /check_password_restrictions|password/i.test(text)) {
        return { kind: 'password-policy', transient: false, message: `The password was refused by the domain's password policy: ${passwordReason(text)}; ${unchanged}.` };
      }
      const inUse = /(\w+) '([^']*)' (?:is )?already in use/i.exec(text);
      if (inUse) return alreadyExists(attributeName(inUse[1] ?? ''), inUse[2] ?? '', unchanged);
      if (pre === '000021C7') return alreadyExists('userPrincipalName', contextValue(ctx, 'userPrincipalName') ?? '', unchanged);
      if (pre === '000021C8') return alreadyExists('servicePrincipalName', contextValue(ctx, 'servicePrincipalName') ?? '', unchanged);
      const invalidChar = /(\w+) contains invalid '(.+)' character/i.exec(text);
      if (invalidChar) {
        return {
          kind: 'constraint',
          transient: false,
          message: `The ${attributeName(invalidChar[1] ?? '')} contains the character '${invalidChar[2] ?? ''}', which AD does not allow there; ${unchanged}.`,
        };
      }
      return { kind: 'constraint', transient: false, message: `Active Directory refused to ${verb(ctx)} because a value breaks one of its rules (${text}); ${unchanged}.` };
    }
    case 20: {
      const single = /SINGLE-VALUE attribute (\S+)/i.exec(text);
      if (single) {
        return {
          kind: 'value-exists',
          transient: false,
          message: `The attribute '${attributeName(single[1] ?? '')}' holds one value, but more than one was given; ${unchanged}.`,
        };
      }
      return {
        kind: 'value-exists',
        transient: false,
        message: `${upperFirst(target(ctx))} already has the ${quotedAttr ? `${attributeName(quotedAttr)} value` : 'value'} being added; ${unchanged}.`,
      };
    }
    case 21: {
      const attr = quotedAttr ? attributeName(quotedAttr) : undefined;
      const value = attr ? contextValue(ctx, attr) : undefined;
      return {
        kind: 'invalid-syntax',
        transient: false,
        message: `${attr ? `The value ${value !== undefined ? `${quote(value)} ` : ''}for '${attr}'` : 'A value'} has the wrong format or is too long for Active Directory; ${unchanged}.`,
      };
    }
    case 32: {
      if (ctx.action === 'create' && ctx.parentDn && (/parent does not exist/i.test(text) || pre === '0000208D')) {
        return {
          kind: 'no-such-object',
          transient: false,
          message: `The container '${ctx.parentDn}' to create ${target(ctx)} in does not exist in Active Directory; ${unchanged}. Check the OU in Mailroom's configuration.`,
        };
      }
      if (pre === '00000525' || /specified dn doesn't exist/i.test(text)) {
        return { kind: 'no-such-object', transient: false, message: `One of the objects named as a member does not exist in Active Directory; ${unchanged}.` };
      }
      return {
        kind: 'no-such-object',
        transient: false,
        message: `${upperFirst(target(ctx))} does not exist in Active Directory (it may have been deleted, moved or renamed); ${unchanged}.`,
      };
    }
    case 34:
      return { kind: 'invalid-dn', transient: false, message: `Active Directory did not accept the name of ${target(ctx)} as a distinguished name; ${unchanged}.` };
    case 50:
      return {
        kind: 'insufficient-rights',
        transient: false,
        message: `Mailroom's service account is not allowed to ${verb(ctx)}; ${unchanged}. An AD administrator must delegate this right to the service account on the OU.`,
      };
    case 51:
      return { kind: 'busy', transient: true, message: `Active Directory was too busy to ${verb(ctx)}; ${unchanged}. Mailroom will try again.` };
    case 52:
      return { kind: 'unavailable', transient: true, message: `Active Directory was unavailable and could not ${verb(ctx)}; ${unchanged}. Mailroom will try again.` };
    case 53:
      if (pre === '00002035' || /NT hash password directly/i.test(text)) {
        return {
          kind: 'unwilling-to-perform',
          transient: false,
          message: `Active Directory refused the password because it was not sent in the form AD expects; ${unchanged}. This is a fault in Mailroom.`,
        };
      }
      if (/doesn't exist for target/i.test(text) || pre === '00000561') {
        return { kind: 'no-such-value', transient: false, message: `The object to remove is not a member of ${target(ctx)}; ${unchanged}.` };
      }
      if (pre === '0000001F' && ctx.values && 'unicodePwd' in ctx.values) {
        return {
          kind: 'strong-auth-required',
          transient: false,
          message: `Active Directory only accepts passwords over an encrypted connection; ${unchanged}.`,
        };
      }
      return { kind: 'unwilling-to-perform', transient: false, message: `Active Directory refused to ${verb(ctx)} (${text}); ${unchanged}.` };
    case 64:
      return {
        kind: 'naming-violation',
        transient: false,
        message: `${upperFirst(target(ctx))} cannot be created in '${ctx.parentDn ?? 'that container'}': AD does not allow this kind of object there; ${unchanged}.`,
      };
    case 65: {
      const cls = /specified objectclasses/i.test(text) && quotedAttr;
      return {
        kind: 'wrong-object-class',
        transient: false,
        message: cls
          ? `The attribute '${attributeName(quotedAttr)}' cannot be set on this kind of object; ${unchanged}.`
          : `Active Directory refused to ${verb(ctx)} because an attribute does not fit the kind of object (${text}); ${unchanged}.`,
      };
    }
    case 66:
      return {
        kind: 'not-allowed-on-non-leaf',
        transient: false,
        message: `${upperFirst(target(ctx))} still contains other objects, so Active Directory did not delete it; ${unchanged}.`,
      };
    case 68: {
      const inUse = /(\w+) '([^']*)' (?:is )?already in use/i.exec(text);
      if (inUse) return alreadyExists(attributeName(inUse[1] ?? ''), inUse[2] ?? '', unchanged);
      if (pre === '00000524') return alreadyExists('sAMAccountName', contextValue(ctx, 'sAMAccountName') ?? '', unchanged);
      if (/Attribute member already exists/i.test(text) || pre === '00000562') {
        return { kind: 'value-exists', transient: false, message: `The object is already a member of ${target(ctx)}; ${unchanged}.` };
      }
      return {
        kind: 'already-exists',
        transient: false,
        message: `An object named ${ctx.dn ? quote(leafName(ctx.dn)) : 'like this'} already exists in '${ctx.parentDn ?? 'that container'}'; ${unchanged}.`,
      };
    }
    case 80:
      return { kind: 'other', transient: false, message: `Active Directory could not ${verb(ctx)} (${text}); ${unchanged}.` };
    default:
      return { kind: 'other', transient: false, message: `Active Directory refused to ${verb(ctx)} (LDAP result ${code}: ${text}); ${unchanged}.` };
  }
}

function leafName(dnString: string): string {
  // The first RDN value, unescaped roughly: only for messages (the real parser lives in dn.ts, which imports us).
  const m = /^[^=]+=((?:\\.|[^,+\\])*)/.exec(dnString);
  return (m?.[1] ?? dnString).replace(/\\([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))).replace(/\\(.)/g, '$1');
}

function alreadyExists(attribute: string, value: string, unchanged: string): Mapped {
  const what = value ? `The ${attribute} ${quote(value)}` : `That ${attribute}`;
  return { kind: 'already-exists', transient: false, message: `${what} is already used by another AD account; ${unchanged}.` };
}

function passwordReason(text: string): string {
  const min = /longer than (\d+) characters/i.exec(text)?.[1];
  if (min) return `it is too short (the domain requires at least ${min} characters)`;
  if (/too short/i.test(text)) return 'it is too short';
  if (/complexity/i.test(text)) {
    return 'it is not complex enough (the domain requires three of: capital letters, small letters, digits, symbols, and no part of the account name)';
  }
  if (/history/i.test(text)) return 'it was used before';
  if (/too young|minimum password age/i.test(text)) return 'the password was changed too recently';
  if (/too long/i.test(text)) return 'it is too long';
  return "it does not meet the domain's rules for length, complexity or history";
}

const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL', 'ECONNABORTED', 'EHOSTDOWN', 'ENETDOWN']);
const LOST_CODES = new Set(['ECONNRESET', 'EPIPE', 'ERR_STREAM_DESTROYED', 'ERR_SOCKET_CLOSED', 'ERR_STREAM_WRITE_AFTER_END']);
const TLS_CODE = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|DEPTH_ZERO|HOSTNAME|ALTNAME|ERR_TLS|ERR_SSL|EPROTO/;

function nodeCode(err: unknown): string | undefined {
  const c = (err as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : undefined;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** True when the error means the connection itself broke (the operation never got an answer). */
export function isConnectionLoss(err: unknown): boolean {
  if (err instanceof DirectoryError) return err.kind === 'connection-lost' || err.kind === 'not-bound';
  if (err instanceof ResultCodeError) return err.code === 1 && /^0000(2020|04DC):/i.test(serverText(err));
  const code = nodeCode(err);
  if (code && LOST_CODES.has(code)) return true;
  return /^(Connection closed before message response was received|Socket error\.|Socket connection not established)/.test(errorMessage(err));
}

/** Map anything thrown by ldapts or the network to a DirectoryError for the given operation. */
export function toDirectoryError(err: unknown, ctx: OperationContext): DirectoryError {
  if (err instanceof DirectoryError) return err;
  const mapped = mapError(err, ctx);
  if (ctx.unchanged === undefined) return mapped;
  return new DirectoryError({
    code: mapped.code,
    kind: mapped.kind,
    transient: mapped.transient,
    outcome: ctx.outcome ?? 'unchanged',
    message: mapped.message,
    serverMessage: mapped.serverMessage,
    dn: mapped.dn,
    cause: err,
  });
}

function mapError(err: unknown, ctx: OperationContext): DirectoryError {
  const base = { dn: ctx.dn, cause: err };
  if (err instanceof ResultCodeError) {
    const text = serverText(err);
    const mapped = mapResultCode(err.code, text, ctx);
    return new DirectoryError({ ...base, code: err.code, serverMessage: text, outcome: mapped.outcome ?? 'unchanged', ...mapped });
  }
  const message = errorMessage(err);
  const code = nodeCode(err);
  const server = ctx.server ? ` at ${ctx.server}` : '';
  const connecting = ctx.action === 'connect';
  if (code && TLS_CODE.test(code)) {
    return new DirectoryError({
      ...base,
      code: CLIENT_CODES.connectError,
      kind: 'tls',
      transient: false,
      outcome: 'unchanged',
      serverMessage: `${code}: ${message}`,
      message:
        `Mailroom could not verify the TLS certificate of the domain controller${server} (${message}), so it did not sign in; ${unchangedPhrase(ctx)}. ` +
        "Configure the CA that issued the DC's LDAPS certificate (and a host name the certificate names) in Mailroom's configuration.",
    });
  }
  if (message === 'Connection timeout' || code === 'ETIMEDOUT') {
    return new DirectoryError({
      ...base,
      code: CLIENT_CODES.timeout,
      kind: 'timeout',
      transient: true,
      outcome: 'unchanged',
      serverMessage: message,
      message: `The domain controller${server} did not accept a connection within ${seconds(ctx.connectTimeoutMs)}; ${unchangedPhrase(ctx)}. Mailroom will try again.`,
    });
  }
  if (/Operation timed out$/.test(message)) {
    const write = isWrite(ctx);
    return new DirectoryError({
      ...base,
      code: CLIENT_CODES.timeout,
      kind: 'timeout',
      transient: true,
      outcome: write ? 'unknown' : 'unchanged',
      serverMessage: message,
      message: `Active Directory${server} did not answer within ${seconds(ctx.timeoutMs)} when asked to ${verb(ctx)}; ${write ? unknownPhrase(ctx) : unchangedPhrase(ctx)}. Mailroom will try again.`,
    });
  }
  if (connecting && (code === undefined || UNAVAILABLE_CODES.has(code) || LOST_CODES.has(code) || isConnectionLoss(err))) {
    return new DirectoryError({
      ...base,
      code: CLIENT_CODES.serverDown,
      kind: 'unavailable',
      transient: true,
      outcome: 'unchanged',
      serverMessage: code ? `${code}: ${message}` : message,
      message: `Mailroom could not reach Active Directory${server} (${code ?? message}); ${unchangedPhrase(ctx)}. Mailroom will try again.`,
    });
  }
  if ((code && UNAVAILABLE_CODES.has(code)) || isConnectionLoss(err)) {
    const write = isWrite(ctx);
    const lostMidway = !(code && UNAVAILABLE_CODES.has(code));
    return new DirectoryError({
      ...base,
      code: CLIENT_CODES.serverDown,
      kind: lostMidway ? 'connection-lost' : 'unavailable',
      transient: true,
      outcome: write && lostMidway ? 'unknown' : 'unchanged',
      serverMessage: code ? `${code}: ${message}` : message,
      message: lostMidway
        ? `The connection to Active Directory${server} broke while Mailroom tried to ${verb(ctx)}; ${write ? unknownPhrase(ctx) : unchangedPhrase(ctx)}. Mailroom will try again.`
        : `Mailroom could not reach Active Directory${server} (${code}); ${unchangedPhrase(ctx)}. Mailroom will try again.`,
    });
  }
  return new DirectoryError({
    ...base,
    code: CLIENT_CODES.paramError,
    kind: 'other',
    transient: false,
    outcome: isWrite(ctx) ? 'unknown' : 'unchanged',
    serverMessage: message,
    message: `Mailroom could not ${verb(ctx)} in Active Directory (${message}); ${isWrite(ctx) ? unknownPhrase(ctx) : unchangedPhrase(ctx)}.`,
  });
}

function seconds(ms: number | undefined): string {
  if (ms === undefined) return 'the configured time';
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

/** A DirectoryError for a wrong call or configuration (never transient). */
export function configurationError(message: string): DirectoryError {
  return new DirectoryError({ code: CLIENT_CODES.paramError, kind: 'configuration', transient: false, outcome: 'unchanged', message });
}
