import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { redact } from './logger.ts';
import type { Scrape } from './prometheus.ts';

/** Whether one part (a relay, a consumer) can do its work now, and why not. */
export interface Readiness {
  name: string;
  ready: boolean;
  /** One sentence per reason it is not ready; empty when ready. */
  reasons: string[];
  /** What it saw: its state, the shards it holds, the messages in flight… */
  details?: Record<string, unknown>;
}

/** What `/readyz` and `/healthz` ask: a relay and a consumer are both. */
export interface HealthCheck {
  readiness(): Promise<Readiness>;
  /** False once it has stopped for good: `/healthz` fails, so the process is restarted. */
  alive?(): boolean;
}

export interface HttpHandlerOptions {
  /** The relays and consumers `/readyz` asks (all must be ready) and `/healthz` watches. */
  checks?: readonly HealthCheck[];
  /** What `/metrics` serves: `await prometheusMetrics()`, or anything with `scrape()`. */
  metrics?: { scrape(): Promise<Scrape> };
  /**
   * Where the endpoints are, e.g. `/ops` for `/ops/readyz`; default the root. Leave it out where
   * the framework strips the mount path (Express `app.use('/ops', handler)`).
   */
  basePath?: string;
  /** When set, every request must carry `Authorization: Bearer <token>`. */
  token?: string;
  /** How long `/readyz` waits for a check before counting it not ready; default 5 000 ms. */
  timeoutMs?: number;
  /**
   * More routes on the same server, asked in order after the health endpoints, each with its own
   * authorisation (the token above is the health endpoints'): `createAdminHandler()`'s admin API
   * and dashboard are one.
   */
  routes?: readonly HttpRoutes[];
}

/** A request as `HttpRoutes` see it, whichever framework it came through. */
export interface HttpRequest {
  method: string;
  /** The path below the base path, e.g. `/api/status`. */
  path: string;
  query: URLSearchParams;
  /** A request header by its lower-case name, or null. */
  header(name: string): string | null;
  /** The body as text, '' when there is none; at most 1 MiB (a larger one is answered 413). */
  text(): Promise<string>;
  /** The client's address where the framework tells it (node:http, Express, Fastify); null with `fetch`. */
  remoteAddress: string | null;
}

export interface HttpAnswer {
  status: number;
  contentType: string;
  body: string | Uint8Array;
  headers?: Record<string, string>;
}

/** Routes served beside /healthz, /readyz and /metrics. */
export interface HttpRoutes {
  /** The answer, or null when the path is not one of its own. */
  answer(request: HttpRequest): Promise<HttpAnswer | null>;
}

/** A body larger than the handler reads: answered 413. */
export class BodyTooLarge extends Error {}
const maxBody = 1 << 20;

/** A node:http request listener (and Express middleware), with `fetch` for Fetch-API frameworks (Hono). */
export interface HttpHandler {
  (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void): void;
  fetch(request: Request): Promise<Response>;
}

type Answer = HttpAnswer;

const json = (status: number, value: unknown, headers?: Record<string, string>): Answer => ({
  status,
  contentType: 'application/json; charset=utf-8',
  body: `${JSON.stringify(value)}\n`,
  ...(headers ? { headers } : {}),
});

const digest = (text: string) => createHash('sha256').update(text).digest();

const withTimeout = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    promise.then(resolve, reject).finally(() => clearTimeout(timer));
  });

/**
 * `/healthz` (the process answers and nothing it watches has stopped), `/readyz` (every relay and
 * consumer is ready: 200, else 503 with the reasons) and `/metrics` (Prometheus' text format),
 * for `herald relay --http` and for relays and consumers inside your own service. Mounts in
 * node:http, Express, Fastify (`reply.hijack()`, then `handler(req.raw, reply.raw)`) and Hono
 * (`handler.fetch(c.req.raw)`). Reasons never carry credentials.
 */
export function createHttpHandler(options: HttpHandlerOptions = {}): HttpHandler {
  const checks = options.checks ?? [];
  // '/ops', 'ops' and '/ops/' are one base path; '' and '/' the root.
  const trimmed = (options.basePath ?? '').replace(/^\/+|\/+$/g, '');
  const base = trimmed === '' ? '' : `/${trimmed}`;
  const token = options.token ? digest(options.token) : null;
  const timeoutMs = options.timeoutMs ?? 5_000;

  const authorized = (authorization: string | null) => {
    if (!token) return true;
    const match = /^Bearer\s+(.+)$/i.exec(authorization ?? '');
    return match !== null && timingSafeEqual(digest(match[1] as string), token);
  };

  const readiness = async () => {
    const results = await Promise.all(
      checks.map((c, i) =>
        withTimeout(c.readiness(), timeoutMs, `check ${i + 1}`).catch(
          (error: unknown): Readiness => ({
            name: `check ${i + 1}`,
            ready: false,
            reasons: [error instanceof Error ? error.message : String(error)],
          }),
        ),
      ),
    );
    const safe = results.map((r) => ({ ...r, reasons: r.reasons.map((reason) => redact(reason) as string) }));
    return { ready: safe.every((r) => r.ready), checks: safe };
  };

  const routes = options.routes ?? [];

  /** The answer for a path below the base path, or null when the path is not ours. */
  const answer = async (request: Omit<HttpRequest, 'path'> & { path: string }): Promise<Answer | null> => {
    const { method, path } = request;
    if (base !== '' && path !== base && !path.startsWith(`${base}/`)) return null;
    const endpoint = path === `${base}/healthz` || path === `${base}/readyz` || path === `${base}/metrics`;
    if (!endpoint) {
      const below = { ...request, path: path.slice(base.length) || '/' };
      for (const r of routes) {
        const a = await r.answer(below);
        if (a) return a;
      }
      return null;
    }
    const authorization = request.header('authorization');
    if (method !== 'GET' && method !== 'HEAD') return json(405, { error: 'GET only' }, { allow: 'GET, HEAD' });
    if (!authorized(authorization)) {
      return json(401, { error: 'a bearer token is required' }, { 'www-authenticate': 'Bearer' });
    }
    const name = path.slice(base.length);
    if (name === '/healthz') {
      const stopped = checks.filter((c) => c.alive && !c.alive()).length;
      return stopped === 0 ? json(200, { alive: true }) : json(503, { alive: false, stopped });
    }
    if (name === '/readyz') {
      const ready = await readiness();
      return json(ready.ready ? 200 : 503, ready);
    }
    if (!options.metrics) return json(404, { error: 'no metrics: pass `metrics: await prometheusMetrics()`' });
    const scrape = await options.metrics.scrape();
    return { status: 200, contentType: scrape.contentType, body: scrape.body };
  };

  const pathOf = (url: string) => {
    const q = url.indexOf('?');
    return q === -1 ? url : url.slice(0, q);
  };

  const handler = ((req, res, next) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    answer({
      method: req.method ?? 'GET',
      path: pathOf(url),
      query: new URLSearchParams(q === -1 ? '' : url.slice(q + 1)),
      header: (name) => {
        const v = req.headers[name];
        return Array.isArray(v) ? v.join(', ') : (v ?? null);
      },
      text: () => readBody(req),
      remoteAddress: req.socket?.remoteAddress ?? null,
    })
      .then((a) => {
        if (!a) {
          if (next) return next();
          return send(res, json(404, { error: 'not found' }), req.method === 'HEAD');
        }
        send(res, a, req.method === 'HEAD');
      })
      .catch((error: unknown) => send(res, failure(error), false));
  }) as HttpHandler;

  handler.fetch = async (request) => {
    let a: Answer | null;
    const url = new URL(request.url);
    try {
      a = await answer({
        method: request.method,
        path: url.pathname,
        query: url.searchParams,
        header: (name) => request.headers.get(name),
        text: async () => {
          const text = await request.text();
          if (Buffer.byteLength(text) > maxBody) throw new BodyTooLarge();
          return text;
        },
        remoteAddress: null,
      });
    } catch (error) {
      a = failure(error);
    }
    a ??= json(404, { error: 'not found' });
    return new Response(request.method === 'HEAD' ? null : a.body, {
      status: a.status,
      headers: { 'content-type': a.contentType, 'cache-control': 'no-store', ...a.headers },
    });
  };
  return handler;
}

function failure(error: unknown): Answer {
  if (error instanceof BodyTooLarge) return json(413, { error: `the body is larger than ${maxBody} bytes` });
  return json(500, { error: redact(error instanceof Error ? error.message : String(error)) });
}

/** The request body: what a body parser already read (Express' req.body), else the stream. */
async function readBody(req: IncomingMessage): Promise<string> {
  const parsed = (req as IncomingMessage & { body?: unknown }).body;
  if (typeof parsed === 'string') return parsed;
  if (parsed !== undefined && parsed !== null && !(parsed instanceof Uint8Array)) return JSON.stringify(parsed);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBody) throw new BodyTooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, a: Answer, head: boolean): void {
  if (res.headersSent) return;
  res.writeHead(a.status, { 'content-type': a.contentType, 'cache-control': 'no-store', ...a.headers });
  res.end(head ? undefined : a.body);
}
