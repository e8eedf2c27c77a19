import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Scrape } from './prometheus.ts';
import { redact } from './redact.ts';

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
}

/** A node:http request listener (and Express middleware), with `fetch` for Fetch-API frameworks (Hono). */
export interface HttpHandler {
  (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void): void;
  fetch(request: Request): Promise<Response>;
}

interface Answer {
  status: number;
  contentType: string;
  body: string;
  headers?: Record<string, string>;
}

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

  /** The answer for a path below the base path, or null when the path is not ours. */
  const answer = async (method: string, path: string, authorization: string | null): Promise<Answer | null> => {
    const endpoint = path === `${base}/healthz` || path === `${base}/readyz` || path === `${base}/metrics`;
    if (!endpoint) return null;
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
    answer(req.method ?? 'GET', pathOf(req.url ?? '/'), req.headers.authorization ?? null)
      .then((a) => {
        if (!a) {
          if (next) return next();
          return send(res, json(404, { error: 'not found' }), req.method === 'HEAD');
        }
        send(res, a, req.method === 'HEAD');
      })
      .catch((error: unknown) => {
        send(res, json(500, { error: redact(error instanceof Error ? error.message : String(error)) }), false);
      });
  }) as HttpHandler;

  handler.fetch = async (request) => {
    let a: Answer | null;
    try {
      a = await answer(request.method, new URL(request.url).pathname, request.headers.get('authorization'));
    } catch (error) {
      a = json(500, { error: redact(error instanceof Error ? error.message : String(error)) });
    }
    a ??= json(404, { error: 'not found' });
    return new Response(request.method === 'HEAD' ? null : a.body, {
      status: a.status,
      headers: { 'content-type': a.contentType, 'cache-control': 'no-store', ...a.headers },
    });
  };
  return handler;
}

function send(res: ServerResponse, a: Answer, head: boolean): void {
  if (res.headersSent) return;
  res.writeHead(a.status, { 'content-type': a.contentType, 'cache-control': 'no-store', ...a.headers });
  res.end(head ? undefined : a.body);
}
