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

/** Runs the asks as few `$batch` requests as possible. */
export async function lookUpInEntra(graph: GraphBatchPort, asks: readonly GraphAsk[], log: Logger): Promise<GraphAnswers> {
  const out: GraphAnswers = new Map();
  for (const part of chunk(subRequests(asks), BATCH_SIZE)) {
    let responses: GraphBatchResponse[];
    try {
      responses = await graph.batch(part.map((s) => s.req));
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
