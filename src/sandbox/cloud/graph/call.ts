/**
 * What every Graph route shares: one call (from HTTP or a `$batch` item), its reply, the path split into segments,
 * Graph's OData error body, and the answers for a bad method, segment or body.
 */
import type { EmulatorContext } from '../context';
import { GraphError } from '../errors';
import { isRecord } from '../http';
import type { AccessClaims } from '../oauth';
import type { Tenant } from '../tenant';

export const ODATA_JSON = 'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8';

/** One Graph call, from HTTP or from a `$batch` item. */
export interface GraphCall {
  method: string;
  /** Path below `/v1.0`, e.g. `/users/abc`. */
  path: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  body: unknown;
  claims: AccessClaims;
  /** Set for the sub-requests of a `$batch`. */
  inBatch?: boolean;
}

export interface GraphReply {
  status: number;
  headers: Record<string, string>;
  body?: unknown;
}

/** A call routed by its path, `/{root}/{key}/{sub}/{subKey}/{subSub}…` (segments decoded), with what every route needs. */
export interface Route {
  ctx: EmulatorContext;
  call: GraphCall;
  t: Tenant;
  /** The method. */
  m: string;
  seg: string[];
  root: string | undefined;
  key: string | undefined;
  sub: string | undefined;
  subKey: string | undefined;
  subSub: string | undefined;
  /** `{baseUrl}/v1.0/$metadata`, the base of `@odata.context`. */
  meta: string;
}

function graphDate(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, '');
}

/** Graph's error body. */
export function graphErrorBody(code: string, message: string, requestId: string, clientRequestId: string, nowMs: number): unknown {
  return { error: { code, message, innerError: { date: graphDate(nowMs), 'request-id': requestId, 'client-request-id': clientRequestId } } };
}

export function reply(status: number, body?: unknown, headers: Record<string, string> = {}): GraphReply {
  return { status, headers: body === undefined ? headers : { 'content-type': ODATA_JSON, ...headers }, body };
}

export function bodyObject(call: GraphCall): Record<string, unknown> {
  if (!isRecord(call.body)) throw new GraphError(400, 'BadRequest', 'Empty Payload. JSON content expected.');
  return call.body;
}

export function licenceList(v: unknown): { skuId: string; disabledPlans?: string[] }[] {
  if (!Array.isArray(v)) return [];
  return v.filter(isRecord).map((x) => ({
    skuId: typeof x.skuId === 'string' ? x.skuId : '',
    disabledPlans: Array.isArray(x.disabledPlans) ? x.disabledPlans.filter((p): p is string => typeof p === 'string') : [],
  }));
}

export function methodNotAllowed(): GraphReply {
  throw new GraphError(405, 'Request_BadRequest', 'Specified HTTP method is not allowed for the request target.');
}

export function segmentNotFound(segment: string): GraphReply {
  throw new GraphError(400, 'BadRequest', `Resource not found for the segment '${segment}'.`);
}
