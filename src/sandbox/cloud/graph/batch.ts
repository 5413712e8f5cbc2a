/**
 * `POST /$batch`: up to 20 items, dependsOn, per-item throttling (knobs) and the item headers as Graph spells them.
 */
import { randomUUID } from 'node:crypto';
import type { EmulatorContext } from '../context';
import { GraphError } from '../errors';
import { isRecord } from '../http';
import { Prng } from '../prng';
import { graphErrorBody, ODATA_JSON, reply, type GraphCall, type GraphReply } from './call';

const MAX_BATCH = 20;

/** `POST /$batch`: runs the items in order with `runCall`, honouring dependsOn. */
export async function batch(ctx: EmulatorContext, call: GraphCall, runCall: (ctx: EmulatorContext, call: GraphCall) => Promise<GraphReply>): Promise<GraphReply> {
  const b = call.body;
  if (!isRecord(b) || !Array.isArray(b.requests)) {
    throw new GraphError(400, 'BadRequest', 'Invalid batch payload format.');
  }
  const requests = b.requests;
  if (requests.length > MAX_BATCH) {
    throw new GraphError(400, 'BadRequest', `Number of batch requests exceeds the limit of ${MAX_BATCH}.`);
  }
  const ids = new Set<string>();
  for (const r of requests) {
    if (!isRecord(r) || typeof r.id !== 'string' || typeof r.method !== 'string' || typeof r.url !== 'string') {
      throw new GraphError(400, 'BadRequest', "Invalid batch payload format: every request needs 'id', 'method' and 'url'.");
    }
    if (ids.has(r.id)) throw new GraphError(400, 'BadRequest', `Batch request ids must be unique: '${r.id}' is repeated.`);
    if (Array.isArray(r.dependsOn)) {
      for (const d of r.dependsOn) {
        if (typeof d !== 'string' || !ids.has(d)) throw new GraphError(400, 'BadRequest', `Invalid dependency for request Id : ${r.id}`);
      }
    }
    ids.add(r.id);
  }
  const results = new Map<string, GraphReply>();
  const responses: unknown[] = [];
  for (const raw of requests as Record<string, unknown>[]) {
    const id = raw.id as string;
    const headers: Record<string, string> = {};
    if (isRecord(raw.headers)) for (const [k, v] of Object.entries(raw.headers)) if (typeof v === 'string') headers[k.toLowerCase()] = v;
    const deps = Array.isArray(raw.dependsOn) ? (raw.dependsOn as string[]) : [];
    const failedDep = deps.find((d) => {
      const r = results.get(d);
      return !r || r.status < 200 || r.status >= 300;
    });
    let res: GraphReply;
    const throttled = failedDep === undefined ? batchItemThrottle(ctx, headers) : null;
    if (failedDep !== undefined) {
      res = reply(424, graphErrorBody('FailedDependency', 'Failed dependency.', randomUUID(), headers['client-request-id'] ?? randomUUID(), ctx.realClock.now()));
    } else if (throttled) {
      res = throttled;
    } else if (raw.body !== undefined && !headers['content-type']) {
      res = reply(400, graphErrorBody('BadRequest', `Write request id : ${id} does not contain Content-Type header or body.`, randomUUID(), randomUUID(), ctx.realClock.now()));
    } else {
      let url = raw.url as string;
      url = url.replace(/^https?:\/\/[^/]+/i, '');
      if (!url.startsWith('/')) url = `/${url}`;
      url = url.replace(/^\/v1\.0(?=\/|$|\?)/i, '');
      const u = new URL(url, 'https://batch.invalid');
      const sub: GraphCall = { method: (raw.method as string).toUpperCase(), path: u.pathname, query: u.searchParams, headers, body: raw.body, claims: call.claims, inBatch: true };
      res = await runCall(ctx, sub);
    }
    results.set(id, res);
    const item: Record<string, unknown> = { id, status: res.status, headers: batchItemHeaders(res) };
    if (res.body !== undefined) item.body = res.body;
    responses.push(item);
  }
  return reply(200, { responses });
}

/** Per emulator: the generator that picks which `$batch` items are throttled (seeded like the other faults). */
const batchPrngs = new WeakMap<EmulatorContext, { seed: number; prng: Prng }>();

/**
 * A `$batch` item answered 429 (knobs `batchItemFaults`, `batchItemThrottleRate`), or null. "Requests in a batch are
 * evaluated individually against throttling limits and if any request exceeds the limits, it fails with a status of
 * 429 … You should retry each failed request from the batch using the value provided in the retry-after response
 * header from the JSON content" (Microsoft Graph throttling guidance, "Throttling and batching"); the batch itself
 * answers 200, and the SDKs do not retry such items by themselves.
 */
function batchItemThrottle(ctx: EmulatorContext, headers: Record<string, string>): GraphReply | null {
  const k = ctx.knobs;
  let hit = false;
  if ((k.batchItemFaults ?? 0) > 0) {
    k.batchItemFaults = (k.batchItemFaults ?? 0) - 1;
    hit = true;
  } else if ((k.batchItemThrottleRate ?? 0) > 0) {
    const seed = (k.seed ?? 1) + 0x5eed;
    let g = batchPrngs.get(ctx);
    if (!g || g.seed !== seed) batchPrngs.set(ctx, (g = { seed, prng: new Prng(seed) }));
    hit = g.prng.chance(k.batchItemThrottleRate ?? 0);
  }
  if (!hit) return null;
  const requestId = randomUUID();
  return reply(
    429,
    graphErrorBody('TooManyRequests', 'Too many requests. Retry after the interval in the Retry-After header.', requestId, headers['client-request-id'] ?? randomUUID(), ctx.realClock.now()),
    { 'retry-after': String(k.retryAfterSeconds ?? 1), 'request-id': requestId },
  );
}

/**
 * Headers of a `$batch` item, spelled as Graph spells them there ("Content-Type", not "content-type"):
 * the Graph SDK's BatchResponseContent only re-serialises JSON bodies when it finds "Content-Type".
 */
function batchItemHeaders(res: GraphReply): Record<string, string> {
  const out: Record<string, string> = {};
  if (res.body !== undefined) {
    out['Cache-Control'] = 'no-cache';
    out['OData-Version'] = '4.0';
    out['Content-Type'] = res.headers['content-type'] ?? ODATA_JSON;
  }
  if (res.headers['retry-after']) out['Retry-After'] = res.headers['retry-after'];
  if (res.headers['location']) out['Location'] = res.headers['location'];
  return out;
}
