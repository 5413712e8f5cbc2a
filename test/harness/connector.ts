import http from 'node:http';
import { AddressInfo } from 'node:net';

/**
 * A Bot Connector stand-in on loopback: records what the bot sends to `activity.serviceUrl` (replies, proactive
 * messages, in-place updates) the way Teams' connector would receive them.
 */
export interface RecordedCall {
  readonly method: string;
  readonly path: string;
  readonly conversationId: string;
  /** The activity: the id the connector gave a new one (POST, a reply too), else the one in the path (PUT: updated). */
  readonly activityId: string | undefined;
  readonly body: Record<string, unknown>;
  /** When the connector received it (ms since the epoch). */
  readonly at: number;
}

export interface Connector {
  readonly serviceUrl: string;
  readonly calls: RecordedCall[];
  /** Resolves with the first call (from `since` on) matching the predicate, or rejects after timeoutMs. */
  waitFor(pred: (c: RecordedCall) => boolean, timeoutMs?: number, since?: number): Promise<RecordedCall>;
  /** Holds the answers to incoming calls (the bot's sends stay in flight) until the returned function is called. */
  hold(): () => void;
  close(): Promise<void>;
}

export async function startConnector(): Promise<Connector> {
  const calls: RecordedCall[] = [];
  const waiters: { pred: (c: RecordedCall) => boolean; since: number; resolve: (c: RecordedCall) => void }[] = [];
  let nextId = 1;
  let held: Promise<void> | undefined;
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://connector');
      const m = /^\/v3\/conversations\/([^/]+)\/activities(?:\/([^/]+))?$/.exec(url.pathname);
      const json = (code: number, body: unknown) => {
        res.writeHead(code, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (!m) return json(404, { error: { code: 'NotFound', message: url.pathname } });
      const call: RecordedCall = {
        method: req.method ?? 'GET',
        path: url.pathname,
        conversationId: decodeURIComponent(m[1] ?? ''),
        activityId: req.method === 'POST' ? `activity-${nextId++}` : m[2] ? decodeURIComponent(m[2]) : undefined,
        body: raw ? (JSON.parse(raw) as Record<string, unknown>) : {},
        at: Date.now(),
      };
      const answer = () => (req.method === 'PUT' ? json(200, { id: call.activityId }) : json(201, { id: call.activityId }));
      calls.push(call);
      const index = calls.length - 1;
      for (const w of [...waiters]) {
        if (index >= w.since && w.pred(call)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(call);
        }
      }
      if (held) void held.then(answer);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    serviceUrl: `http://127.0.0.1:${port}/`,
    calls,
    waitFor(pred, timeoutMs = 5000, since = 0) {
      const hit = calls.slice(since).find(pred);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const w = { pred, since, resolve: (c: RecordedCall) => (clearTimeout(timer), resolve(c)) };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`the connector received no matching call within ${timeoutMs} ms; it got: ${calls.slice(since).map((c) => `${c.method} ${c.path}`).join(', ') || 'nothing'}`));
        }, timeoutMs);
        waiters.push(w);
      });
    },
    hold() {
      let release!: () => void;
      held = new Promise<void>((resolve) => (release = resolve));
      return () => {
        held = undefined;
        release();
      };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A card's markdown text as it reads: CommonMark backslash escapes (`\*`, `\[`, `\\`) show the character alone. */
export const unescaped = (markdown: string): string => markdown.replace(/\\([!-/:-@[-`{-~])/g, '$1');

/**
 * Text of every TextBlock, fact and button (and the plain text) in a recorded activity, for assertions on what a
 * person sees. Card texts are markdown: their escapes are read as the characters they stand for.
 */
export function visibleText(body: Record<string, unknown>): string {
  // waiters read the same recorded calls again and again; a recorded body is never changed
  let text = visibleTexts.get(body);
  if (text === undefined) visibleTexts.set(body, (text = readVisibleText(body)));
  return text;
}

const visibleTexts = new WeakMap<Record<string, unknown>, string>();

function readVisibleText(body: Record<string, unknown>): string {
  const parts: string[] = [];
  if (typeof body.text === 'string') parts.push(body.text);
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (node && typeof node === 'object') {
      const o = node as Record<string, unknown>;
      if (o.type === 'TextBlock' && typeof o.text === 'string') parts.push(unescaped(o.text));
      if (o.type === 'TextRun' && typeof o.text === 'string') parts.push(o.text);
      if (o.type === 'FactSet' && Array.isArray(o.facts)) {
        for (const f of o.facts as { title?: string; value?: string }[]) parts.push(`${unescaped(f.title ?? '')}: ${unescaped(f.value ?? '')}`);
      }
      if (typeof o.title === 'string' && typeof o.type === 'string' && o.type.startsWith('Action.')) parts.push(`[${o.title}]`);
      Object.values(o).forEach(walk);
    }
  };
  walk(body.attachments);
  return parts.join('\n');
}

export interface Person {
  readonly id: string;
  readonly aadObjectId: string;
  readonly name: string;
}

/** Builds Teams-shaped activities for one person in one conversation and posts them to the bot. */
export class TeamsClient {
  private seq = 0;
  constructor(
    private readonly botUrl: string,
    private readonly serviceUrl: string,
    readonly person: Person,
    readonly tenantId: string,
    readonly conversation: { id: string; conversationType: 'personal' | 'groupChat' | 'channel' } = {
      id: `a:personal-${person.id}`,
      conversationType: 'personal',
    },
  ) {}

  activity(extra: Record<string, unknown>): Record<string, unknown> {
    return {
      channelId: 'msteams',
      serviceUrl: this.serviceUrl,
      id: `in-${++this.seq}-${Date.now()}`,
      timestamp: new Date().toISOString(),
      from: { id: `29:${this.person.id}`, name: this.person.name, aadObjectId: this.person.aadObjectId },
      recipient: { id: '28:mailroom', name: 'Mailroom' },
      conversation: { ...this.conversation, tenantId: this.tenantId },
      channelData: { tenant: { id: this.tenantId } },
      locale: 'en-US',
      ...extra,
    };
  }

  async post(extra: Record<string, unknown>): Promise<{ status: number; body: unknown }> {
    const res = await fetch(`${this.botUrl}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(this.activity(extra)),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
  }

  say(text: string) {
    return this.post({ type: 'message', text });
  }

  install() {
    return this.post({ type: 'installationUpdate', action: 'add' });
  }

  /** A button pressed on a card; `replyToId`: the card's activity, as Teams sends it. */
  execute(verb: string, data: Record<string, unknown> = {}, replyToId?: string) {
    return this.post({ type: 'invoke', name: 'adaptiveCard/action', ...(replyToId ? { replyToId } : {}), value: { action: { type: 'Action.Execute', verb, data }, trigger: 'manual' } });
  }
}
