/**
 * What the edge checks before an activity reaches the CloudAdapter: its shape (so a malformed activity gets a 400 that
 * says what is wrong, not a 500 from deep inside the SDK) and, without a bot registration (local mode, nothing is
 * authenticated), that the request comes from this machine and is answered on this machine.
 */

export type EdgeRefusal = { status: 400 | 401 | 403; reason: string; error: string };

const NOTHING = 'Nothing was processed.';

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function nonEmptyString(v: unknown): v is string {
  return typeof v === 'string' && v.trim() !== '';
}

/**
 * The activity fields Mailroom and botbuilder read, with the type each must have. Teams always sends `type`,
 * `channelId`, `serviceUrl`, `from.id`, `recipient.id` and `conversation.id`; the rest are optional, but when present
 * must have their type (botbuilder calls `.some` on `membersAdded`, iterates `entities`, …).
 */
export function checkActivityShape(body: Json): EdgeRefusal | undefined {
  const problems: string[] = [];
  const required = (path: string, v: unknown) => {
    if (!nonEmptyString(v)) problems.push(`${path} is missing or not a text`);
  };
  const optional = (path: string, v: unknown, kind: 'string' | 'object' | 'array') => {
    if (v === undefined || v === null) return;
    const ok = kind === 'string' ? typeof v === 'string' : kind === 'array' ? Array.isArray(v) && v.every((x) => isObject(x)) : isObject(v);
    if (!ok) problems.push(`${path} must be ${kind === 'string' ? 'a text' : kind === 'array' ? 'a list of objects' : 'an object'}`);
  };
  const objectWithId = (path: string, v: unknown) => {
    if (!isObject(v)) problems.push(`${path} is missing or not an object`);
    else required(`${path}.id`, v.id);
  };

  required('type', body.type);
  required('channelId', body.channelId);
  required('serviceUrl', body.serviceUrl);
  objectWithId('conversation', body.conversation);
  objectWithId('from', body.from);
  objectWithId('recipient', body.recipient);
  if (isObject(body.conversation)) {
    optional('conversation.tenantId', body.conversation.tenantId, 'string');
    optional('conversation.conversationType', body.conversation.conversationType, 'string');
  }
  if (isObject(body.from)) {
    optional('from.aadObjectId', body.from.aadObjectId, 'string');
    optional('from.name', body.from.name, 'string');
  }
  for (const key of ['id', 'text', 'name', 'action', 'locale', 'replyToId', 'textFormat'] as const) optional(key, body[key], 'string');
  for (const key of ['entities', 'attachments', 'membersAdded', 'membersRemoved'] as const) optional(key, body[key], 'array');
  optional('channelData', body.channelData, 'object');
  if (isObject(body.channelData)) {
    optional('channelData.tenant', body.channelData.tenant, 'object');
    if (isObject(body.channelData.tenant)) optional('channelData.tenant.id', body.channelData.tenant.id, 'string');
  }
  if (body.type === 'invoke' && body.name === 'adaptiveCard/action') {
    if (!isObject(body.value) || !isObject(body.value.action)) problems.push('value.action is missing or not an object');
    else {
      optional('value.action.verb', body.value.action.verb, 'string');
      optional('value.action.data', body.value.action.data, 'object');
    }
  }
  if (problems.length === 0) return undefined;
  const shown = problems.slice(0, 5).join('; ') + (problems.length > 5 ? `; and ${problems.length - 5} more` : '');
  return { status: 400, reason: 'malformed-activity', error: `The activity is malformed: ${shown}. ${NOTHING}` };
}

/** localhost, 127.0.0.0/8 or ::1 (as a URL's hostname or a Host header's host, with or without brackets). */
export function isLoopbackHostname(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** An http(s) URL on a loopback host, any port. */
export function isLoopbackUrl(raw: string): boolean {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return false;
  }
  return (url.protocol === 'http:' || url.protocol === 'https:') && isLoopbackHostname(url.hostname);
}

/** The host of a Host header value (`name`, `name:port`, `[v6]`, `[v6]:port`). */
function hostOfHeader(value: string): string {
  const v = value.trim();
  if (v.startsWith('[')) return v.slice(0, v.indexOf(']') + 1);
  const colon = v.lastIndexOf(':');
  return colon >= 0 && v.indexOf(':') === colon ? v.slice(0, colon) : v;
}

/**
 * Local mode (no bot registration, so nothing is authenticated): only this machine may talk to the bot. A web page
 * cannot reach it through the browser (a foreign Origin is refused; DNS rebinding shows as a foreign Host), and the
 * bot only calls back a loopback serviceUrl.
 */
export function checkLocalRequest(headers: Record<string, string | string[] | undefined>, body: Json): EdgeRefusal | undefined {
  const host = headers.host;
  if (typeof host !== 'string' || !isLoopbackHostname(hostOfHeader(host))) {
    return { status: 403, reason: 'host', error: `Without a bot registration Mailroom only answers requests addressed to a loopback Host (localhost, 127.0.0.1 or [::1]). ${NOTHING}` };
  }
  const origin = headers.origin;
  if (origin !== undefined && (typeof origin !== 'string' || !isLoopbackUrl(origin))) {
    return { status: 403, reason: 'origin', error: `Without a bot registration Mailroom only answers requests from a loopback Origin (or none); web pages cannot talk to it. ${NOTHING}` };
  }
  if (typeof body.serviceUrl === 'string' && !isLoopbackUrl(body.serviceUrl)) {
    return { status: 403, reason: 'service-url', error: `Without a bot registration Mailroom only answers to a loopback serviceUrl (http://localhost, 127.0.0.1 or [::1], any port). ${NOTHING}` };
  }
  return undefined;
}

/**
 * With a bot registration every activity carries a Bot Framework token; one without any is refused here, before the
 * CloudAdapter spends a look-up of signing keys on it (the adapter validates the token itself).
 */
export function checkBearer(authorization: string | undefined): EdgeRefusal | undefined {
  if (typeof authorization === 'string' && /^Bearer \S+$/i.test(authorization.trim())) return undefined;
  return { status: 401, reason: 'no-token', error: `The request is not authenticated: a Bot Framework token for this bot is required. ${NOTHING}` };
}
