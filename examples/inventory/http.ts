// A small JSON-over-HTTP router on node:http: routes by method and path pattern, bodies
// validated with zod, errors as `{ error: { code, message, details } }` with their status.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { z } from 'zod';
import { InventoryError } from './errors.ts';

export interface Request {
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: unknown;
}
export type Reply = { status: number; body: unknown };
type Route = { method: string; pattern: RegExp; keys: string[]; handle: (req: Request) => Promise<Reply> };

const maxBody = 1024 * 1024;

export class Router {
  readonly #routes: Route[] = [];

  on(method: string, path: string, handle: (req: Request) => Promise<Reply>): this {
    const keys: string[] = [];
    const source = path.replace(/:(\w+)/g, (_, k: string) => {
      keys.push(k);
      return '([^/]+)';
    });
    this.#routes.push({ method, pattern: new RegExp(`^${source}$`), keys, handle });
    return this;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const matches = this.#routes.filter((r) => r.pattern.test(url.pathname));
    const route = matches.find((r) => r.method === req.method);
    let reply: Reply;
    try {
      if (!route) {
        throw matches.length > 0
          ? new InventoryError(405, 'METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${url.pathname}`)
          : new InventoryError(404, 'NOT_FOUND', `no route ${req.method} ${url.pathname}`);
      }
      const values = route.pattern.exec(url.pathname)?.slice(1) ?? [];
      const params = Object.fromEntries(route.keys.map((k, i) => [k, decodePath(values[i] ?? '')]));
      const body = req.method === 'GET' ? undefined : await readJson(req);
      reply = await route.handle({ params, query: url.searchParams, headers: req.headers, body });
    } catch (error) {
      reply = toReply(error);
    }
    const text = JSON.stringify(reply.body);
    res.writeHead(reply.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  listen(port: number, host = '127.0.0.1'): Promise<{ server: Server; url: string }> {
    const server = createServer((req, res) => void this.handle(req, res));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        const { port: actual } = server.address() as AddressInfo;
        resolve({ server, url: `http://${host}:${actual}` });
      });
    });
  }
}

function decodePath(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new InventoryError(
      400,
      'INVALID_PATH',
      `the path segment ${JSON.stringify(segment)} is not valid percent-encoding`,
    );
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBody) throw new InventoryError(413, 'BODY_TOO_LARGE', `the body is over ${maxBody} bytes`);
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return {};
  const type = req.headers['content-type'] ?? '';
  if (!type.startsWith('application/json')) {
    throw new InventoryError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json');
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (error) {
    throw new InventoryError(400, 'INVALID_JSON', `the body is not JSON: ${(error as Error).message}`);
  }
}

/** Parses a body or query with a zod schema; the 400 lists every issue with its path. */
export function parse<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => ({ path: i.path.join('.') || '(body)', message: i.message }));
  throw new InventoryError(400, 'INVALID_REQUEST', issues.map((i) => `${i.path}: ${i.message}`).join('; '), { issues });
}

function toReply(error: unknown): Reply {
  if (error instanceof InventoryError) {
    return {
      status: error.status,
      body: { error: { code: error.code, message: error.message, details: error.details } },
    };
  }
  const code = (error as { code?: string }).code;
  if (code === 'HERALD_INVALID_PAYLOAD') {
    return { status: 400, body: { error: { code: 'INVALID_EVENT', message: (error as Error).message } } };
  }
  const refuse = (status: number, refusal: string, message: string) => ({
    status,
    body: { error: { code: refusal, message } },
  });
  // A check constraint caught what the code let through: refuse, never go negative.
  if (code === '23514') return refuse(409, 'INSUFFICIENT_STOCK', 'not enough stock');
  if (code === '23505') return refuse(409, 'CONFLICT', (error as Error).message);
  if (code === '22003') return refuse(409, 'OUT_OF_RANGE', 'the result would be beyond the largest stock level');
  // Two transactions waited for each other (or could not be serialized): nothing was written.
  if (code === '40P01' || code === '40001')
    return refuse(503, 'CONFLICT_RETRY', 'a concurrent change got in the way; retry');
  console.error(`inventory: ${(error as Error).stack ?? error}`);
  return { status: 500, body: { error: { code: 'INTERNAL', message: 'internal error' } } };
}
