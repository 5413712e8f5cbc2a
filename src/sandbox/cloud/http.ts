/**
 * The small request/response model the emulator's handlers work with, independent of node:http so
 * that Graph `$batch` can dispatch sub-requests through the same code.
 */
import type { IncomingMessage } from 'node:http';

export interface EmulatorRequest {
  method: string;
  url: URL;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body: Buffer;
}

export interface EmulatorResponse {
  status: number;
  headers: Record<string, string>;
  /** A string or Buffer is sent as is; anything else (not undefined) as JSON. */
  body?: unknown;
}

const MAX_BODY_BYTES = 8 * 1024 * 1024;

/** Reads a node request into an {@link EmulatorRequest}. */
export async function readRequest(req: IncomingMessage, baseUrl: string): Promise<EmulatorRequest> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > MAX_BODY_BYTES) throw new Error('request body too large');
    chunks.push(b);
  }
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined) continue;
    headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  }
  return { method: (req.method ?? 'GET').toUpperCase(), url: new URL(req.url ?? '/', baseUrl), headers, body: Buffer.concat(chunks) };
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): EmulatorResponse {
  return { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body };
}

/** Parses a JSON body; returns `undefined` for an empty body and throws SyntaxError for bad JSON. */
export function parseJsonBody(req: EmulatorRequest): unknown {
  const text = req.body.toString('utf8').trim();
  if (text === '') return undefined;
  return JSON.parse(text) as unknown;
}

export function bearerToken(headers: Record<string, string>): string | null {
  const h = headers['authorization'];
  if (!h) return null;
  const m = /^Bearer\s+(.+)$/i.exec(h.trim());
  return m?.[1]?.trim() ?? null;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
