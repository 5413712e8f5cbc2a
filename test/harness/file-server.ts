/**
 * A loopback HTTP server standing in for the SharePoint download links Teams hands a bot for attached files: each path
 * answers with a fixed status, headers and body; bodies are sent in chunks without a Content-Length unless asked, so a
 * reader must count what it receives. Every request is recorded (path and query).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ServedFile {
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Buffer | string;
  /** Send a Content-Length header (default: chunked, no length). */
  readonly withLength?: boolean;
}

export interface FileServer {
  readonly url: string;
  /** Every request's path with its query, in order. */
  readonly hits: string[];
  serve(path: string, file: ServedFile): void;
  close(): Promise<void>;
}

export async function startFileServer(): Promise<FileServer> {
  const files = new Map<string, ServedFile>();
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    const target = req.url ?? '/';
    hits.push(target);
    const file = files.get(target.split('?')[0] ?? '');
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    const body = typeof file.body === 'string' ? Buffer.from(file.body, 'utf8') : (file.body ?? Buffer.alloc(0));
    res.writeHead(file.status ?? 200, { 'content-type': 'text/csv', ...(file.withLength ? { 'content-length': String(body.length) } : {}), ...file.headers });
    for (let i = 0; i < body.length; i += 16 * 1024) res.write(body.subarray(i, i + 16 * 1024));
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    serve: (path, file) => void files.set(path, file),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
