/**
 * Entra ID look-ups for many waiting steps at once, through Graph `$batch`: one sub-request per 15 values
 * (`in (…)` filters; advanced queries carry `ConsistencyLevel: eventual` and `$count=true`), 20 sub-requests per
 * batch, so up to 300 waiting objects cost one HTTP request per polling cycle.
 */
import type { Logger } from '../../log';
import { errorText, isTransient } from './cloud-errors';
import { StepError } from './types';

export interface GraphBatchRequest {
  readonly id: string;
  readonly method: 'GET';
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface GraphBatchResponse {
  readonly id: string;
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: unknown;
}

/** The Graph call of the look-ups (`GraphDirectory` implements it). */
export interface GraphBatchPort {
  /** POST /$batch with ≤ 20 sub-requests; answers in the order asked. */
  batch(requests: readonly GraphBatchRequest[]): Promise<GraphBatchResponse[]>;
}

type Entity = 'users' | 'groups' | 'contacts';

/** One question to Entra ID: objects of `entity` whose `property` is `value`. `key` names the asking step. */
export interface GraphAsk {
  readonly key: string;
  readonly entity: Entity;
  readonly property: string;
  readonly value: string;
}

export type GraphRow = Record<string, unknown>;

/** Per ask key: the rows found, `unknown` when the query failed for now, or a StepError when it was refused. */
export type GraphAnswers = Map<string, GraphRow[] | 'unknown' | StepError>;

const SELECT: Record<Entity, string> = {
  // usage location and licences too: the Entra steps after the wait start from this look instead of asking again
  users: 'id,userPrincipalName,accountEnabled,onPremisesSamAccountName,onPremisesDistinguishedName,onPremisesSyncEnabled,usageLocation,assignedLicenses,licenseAssignmentStates',
  groups: 'id,displayName,mail,onPremisesSamAccountName,onPremisesSyncEnabled',
  contacts: 'id,displayName,mail,onPremisesSyncEnabled',
};

/** Properties Graph filters only in advanced queries (ConsistencyLevel: eventual + $count=true). */
const ADVANCED = new Set(['onPremisesSamAccountName']);
const VALUES_PER_FILTER = 15;
const BATCH_SIZE = 20;

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** OData string literal: single quotes doubled. */
function odataString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** The sub-requests for the asks: one per entity, property and 15 values, with the asks each answers. */
function subRequests(asks: readonly GraphAsk[]): { req: GraphBatchRequest; asks: GraphAsk[] }[] {
  const groups = new Map<string, GraphAsk[]>();
  for (const a of asks) {
    const g = `${a.entity}|${a.property}`;
    groups.set(g, [...(groups.get(g) ?? []), a]);
  }
  const subs: { req: GraphBatchRequest; asks: GraphAsk[] }[] = [];
  for (const list of groups.values()) {
    const first = list[0]!;
    const values = [...new Map(list.map((a) => [a.value.toLowerCase(), a.value])).values()];
    for (const part of chunk(values, VALUES_PER_FILTER)) {
      const filter = part.length === 1 ? `${first.property} eq ${odataString(part[0]!)}` : `${first.property} in (${part.map(odataString).join(',')})`;
      const advanced = ADVANCED.has(first.property);
      const url = `/${first.entity}?$filter=${encodeURIComponent(filter)}&$select=${SELECT[first.entity]}&$top=999${advanced ? '&$count=true' : ''}`;
      const lower = new Set(part.map((v) => v.toLowerCase()));
      subs.push({
        req: { id: String(subs.length + 1), method: 'GET', url, ...(advanced ? { headers: { ConsistencyLevel: 'eventual' } } : {}) },
        asks: list.filter((a) => lower.has(a.value.toLowerCase())),
      });
    }
  }
  return subs;
}

function rowsOf(body: unknown): GraphRow[] {
  const v = (body as { value?: unknown } | undefined)?.value;
  return Array.isArray(v) ? v.filter((x): x is GraphRow => typeof x === 'object' && x !== null) : [];
}

/** How throttled `$batch` items are retried. */
export interface BatchRetryOptions {
  /** Rounds of retries of throttled items within one look-up. Default 2. */
  readonly maxRetries?: number;
  /** The longest Retry-After waited for within a look-up (ms); longer ones leave the items for the next cycle. Default 10 000. */
  readonly maxWaitMs?: number;
  /** Default: setTimeout. */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** The Retry-After of a `$batch` item (seconds, as Graph sends it), in ms; undefined without one. */
function itemRetryAfterMs(res: GraphBatchResponse | undefined): number | undefined {
  const headers = res?.headers ?? {};
  const name = Object.keys(headers).find((k) => k.toLowerCase() === 'retry-after');
  const raw = name ? headers[name] : undefined;
  if (raw === undefined || raw === '') return undefined;
  const s = Number(raw);
  if (Number.isFinite(s) && s >= 0) return Math.round(s * 1000);
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Sends the sub-requests as one `$batch`, then again only those Graph throttled one by one (429 inside the 200), after
 * the longest of their Retry-After values: "Requests in a batch are evaluated individually against throttling limits
 * … You should retry each failed request from the batch using the value provided in the retry-after response header
 * … You may retry all the failed requests in a new batch after the longest retry-after value" (Microsoft Graph
 * throttling guidance); the SDK does not retry batch items itself. What is still throttled after `maxRetries` rounds,
 * or asks for a longer wait than `maxWaitMs`, is answered 429 (its steps wait for the next cycle). A failure of the
 * whole batch is thrown.
 */
async function batchWithItemRetries(graph: GraphBatchPort, reqs: readonly GraphBatchRequest[], retry: BatchRetryOptions, log: Logger): Promise<(GraphBatchResponse | undefined)[]> {
  const out: (GraphBatchResponse | undefined)[] = reqs.map(() => undefined);
  let todo = reqs.map((req, i) => ({ req, i }));
  const maxRetries = retry.maxRetries ?? 2;
  for (let round = 0; ; round++) {
    const answers = await graph.batch(todo.map((t) => t.req));
    todo.forEach((t, j) => (out[t.i] = answers[j]));
    const throttled = todo.filter((_, j) => answers[j]?.status === 429);
    if (throttled.length === 0) return out;
    const waits = throttled.map((t) => itemRetryAfterMs(out[t.i]));
    // Without Retry-After: back off exponentially (1 s, 2 s …).
    const wait = Math.max(...waits.map((w) => w ?? 1000 * 2 ** round));
    if (round >= maxRetries || wait > (retry.maxWaitMs ?? 10_000)) {
      log.warn('Graph throttled Entra ID look-ups in a $batch; their steps wait for the next cycle', { throttled: throttled.length, retryAfterMs: wait });
      return out;
    }
    await (retry.sleep ?? realSleep)(wait);
    todo = throttled;
  }
}

/** Runs the asks as few `$batch` requests as possible; items Graph throttles are retried (see {@link BatchRetryOptions}). */
export async function lookUpInEntra(graph: GraphBatchPort, asks: readonly GraphAsk[], log: Logger, retry: BatchRetryOptions = {}): Promise<GraphAnswers> {
  const out: GraphAnswers = new Map();
  for (const part of chunk(subRequests(asks), BATCH_SIZE)) {
    let responses: (GraphBatchResponse | undefined)[];
    try {
      responses = await batchWithItemRetries(graph, part.map((s) => s.req), retry, log);
    } catch (err) {
      if (isTransient(err)) {
        log.warn('Entra ID lookup failed for now; the steps stay waiting', { error: errorText(err) });
        for (const s of part) for (const a of s.asks) out.set(a.key, 'unknown');
      } else {
        const e = new StepError(
          `Mailroom could not look up objects in Entra ID (${errorText(err)}). Nothing was changed. Check that Mailroom's app has the Graph permissions User.Read.All, Group.Read.All and OrgContact.Read.All, then press Retry.`,
          false,
          undefined,
          { error: errorText(err) },
        );
        for (const s of part) for (const a of s.asks) out.set(a.key, e);
      }
      continue;
    }
    part.forEach((s, i) => {
      const res = responses[i];
      const status = res?.status ?? 0;
      if (status >= 200 && status < 300) {
        const rows = rowsOf(res?.body);
        for (const a of s.asks) out.set(a.key, rows);
      } else if (status === 0 || status === 408 || status === 429 || status >= 500) {
        for (const a of s.asks) out.set(a.key, 'unknown');
      } else {
        const m = (res?.body as { error?: { code?: string; message?: string } } | undefined)?.error;
        const e = new StepError(
          `Entra ID refused Mailroom's lookup (HTTP ${status}${m?.code ? `, ${m.code}` : ''}: ${m?.message ?? 'no message'}). Nothing was changed. Check Mailroom's Graph permissions, then press Retry.`,
          false,
          undefined,
          { status, code: m?.code ?? null },
        );
        for (const a of s.asks) out.set(a.key, e);
      }
    });
  }
  return out;
}
