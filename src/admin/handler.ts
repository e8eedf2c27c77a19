import { readFileSync } from 'node:fs';
import { createConsumerDeadLetters } from '../deadletters/consumer-dead-letters.ts';
import { createDeadLetters } from '../deadletters/dead-letters.ts';
import { HeraldError, isHeraldError } from '../errors.ts';
import {
  createHttpHandler,
  type HttpAnswer,
  type HttpHandler,
  type HttpHandlerOptions,
  type HttpRequest,
  type HttpRoutes,
} from '../observe/http.ts';
import { createLogger, type Logger, redact } from '../observe/logger.ts';
import { replayEvents } from '../replay/replay.ts';
import { type DatabaseOption, openPool, resolveDatabase } from '../store/connect.ts';
import { resolveSchema } from '../store/identifiers.ts';
import type { Transport } from '../transports/transport.ts';
import type { TopicStrategy } from '../wire/topics.ts';
import { type AdminAuthOptions, createAuth } from './auth.ts';
import { BadInput, fromBody, fromQuery } from './input.ts';
import { openApiDocument } from './openapi.ts';
import { createReplayJobs } from './replays.ts';
import { type AdminContext, Refusal, type Route } from './route.ts';
import { deadLetterRoutes } from './routes-dead-letters.ts';
import { replayRoutes } from './routes-replays.ts';
import { statusRoutes } from './routes-status.ts';
import { createStaticFiles } from './static.ts';
import { createStatusReader } from './status-reader.ts';

/** Every route of the admin API, in the order the OpenAPI document lists them. */
export const adminRoutes: readonly Route[] = [...statusRoutes, ...deadLetterRoutes, ...replayRoutes];

export interface AdminHandlerOptions extends AdminAuthOptions, Omit<HttpHandlerOptions, 'routes' | 'token'> {
  /** A connection string (a pool is opened, closed by `close()`) or your pool; default `DATABASE_URL`. */
  db?: DatabaseOption;
  schema?: string;
  /**
   * What retries publish and replays publish with, e.g. `kafka({ brokers })`; left open. Without
   * it the API still lists, discards and dry-runs, and marks consumer groups' dead letters.
   */
  transport?: Transport;
  /** For replayed events stored without a destination, as the relay's option; default `HERALD_TOPIC_PREFIX`. */
  topicPrefix?: string;
  /** Or any mapping from event type to topic, as the relay's `topic` option. */
  topic?: TopicStrategy;
  /** The bearer token of /healthz, /readyz and /metrics; they need none when unset. */
  healthToken?: string;
  /** Serve the web UI under /dashboard/; default true. */
  dashboard?: boolean;
  logger?: Logger;
}

/** The admin API and dashboard as routes for `createHttpHandler`, with the health endpoints when served alone. */
export interface AdminHandler extends HttpHandler, HttpRoutes {
  /** Stops running replays and closes the pool it opened (never your pool or transport). */
  close(): Promise<void>;
}

const json = (status: number, value: unknown, headers?: Record<string, string>): HttpAnswer => ({
  status,
  contentType: 'application/json; charset=utf-8',
  body: `${JSON.stringify(value)}\n`,
  ...(headers ? { headers } : {}),
});

const version = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string })
      .version;
  } catch {
    return '0.0.0';
  }
})();

/** A route's path as a pattern: `{id}` matches one segment. */
function matcher(path: string): (p: string) => Record<string, string> | null {
  const names: string[] = [];
  const pattern = new RegExp(
    `^${path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)\}/g, (_m, name: string) => {
      names.push(name);
      return '([^/]+)';
    })}$`,
  );
  return (p) => {
    const m = pattern.exec(p);
    if (!m) return null;
    const params: Record<string, string> = {};
    for (const [i, name] of names.entries()) params[name] = decodeURIComponent(m[i + 1] as string);
    return params;
  };
}

/**
 * The admin API under `/api/` and the dashboard under `/dashboard/`, beside `/healthz`, `/readyz`
 * and `/metrics`: one handler for node:http, Express, Fastify and Hono as `createHttpHandler`'s.
 * Callers need a bearer token (admin or read-only role) or basic auth; with none configured the
 * API is off, unless `open` (loopback clients only). Pass it as `routes: [admin]` to your own
 * `createHttpHandler` instead if you build that yourself.
 */
export function createAdminHandler(options: AdminHandlerOptions = {}): AdminHandler {
  const auth = createAuth(options);
  const schema = resolveSchema(options.schema).name;
  const logger = options.logger ?? createLogger();
  const { pool, owned } = openPool(resolveDatabase(options.db), 4);
  const deadLetters = createDeadLetters({
    db: pool,
    schema,
    ...(options.transport ? { transport: options.transport } : {}),
  });
  const consumerDeadLetters = createConsumerDeadLetters({ db: pool, schema });
  const replays = createReplayJobs(
    (o) =>
      replayEvents({
        ...o,
        db: pool,
        schema,
        ...(options.transport ? { transport: options.transport } : {}),
        ...(options.topicPrefix ? { topicPrefix: options.topicPrefix } : {}),
        ...(options.topic ? { topic: options.topic } : {}),
      }),
    logger,
  );
  const serveDashboard = options.dashboard !== false;
  const files = createStaticFiles();
  const routes = adminRoutes.map((r) => ({ route: r, match: matcher(r.path), literal: !r.path.includes('{') }));
  // Literal paths first: /api/dead-letters/groups is not the dead letter "groups".
  routes.sort((a, b) => Number(b.literal) - Number(a.literal));
  let document: string | undefined;

  const { status, history, settled } = createStatusReader(pool, schema);

  /** The API's answer; null for a path that is none of its routes (your app's own /api/… then). */
  const api = async (request: HttpRequest): Promise<HttpAnswer | null> => {
    const method = request.method === 'HEAD' ? 'GET' : request.method;
    const found = routes.map((r) => ({ ...r, params: r.match(request.path) })).filter((r) => r.params !== null);
    if (found.length === 0 && request.path !== '/api/openapi.json') return null;
    const who = auth.check(request.header('authorization'), request.remoteAddress);
    if (!who.ok) {
      return json(
        who.status,
        { error: who.reason },
        who.challenge ? { 'www-authenticate': 'Bearer, Basic realm="herald"' } : undefined,
      );
    }
    if (request.path === '/api/openapi.json') {
      if (method !== 'GET') return json(405, { error: 'GET only' }, { allow: 'GET, HEAD' });
      document ??= JSON.stringify(openApiDocument(adminRoutes, version));
      return { status: 200, contentType: 'application/json; charset=utf-8', body: document };
    }
    const chosen = found.find((r) => r.route.method === method);
    if (!chosen) {
      const allow = [...new Set(found.map((r) => r.route.method))].join(', ');
      return json(405, { error: `${request.method} is not allowed here (${allow})` }, { allow });
    }
    const r = chosen.route;
    if (r.role === 'admin' && who.role !== 'admin') {
      return json(403, { error: 'this needs the admin role; the credentials given are read-only' });
    }
    if (
      r.method === 'POST' &&
      request.header('content-type') &&
      !/^application\/json\b/i.test(request.header('content-type') ?? '')
    ) {
      return json(415, { error: 'the body must be application/json' });
    }
    try {
      const query = fromQuery(r.query ?? {}, request.query);
      const body = r.body ? fromBody(r.body, await request.text()) : {};
      const context: AdminContext = {
        pool,
        schema,
        status,
        history,
        deadLetters,
        consumerDeadLetters,
        canPublish: options.transport !== undefined,
        replays,
        role: who.role,
      };
      const reply = await r.run({ params: chosen.params ?? {}, query, body }, context);
      if (r.role === 'admin') logger.info({ method: r.method, path: request.path, role: who.role }, 'admin action');
      return json(reply.status ?? 200, reply.body);
    } catch (error) {
      return failure(error, logger, request.path);
    }
  };

  const answer = async (request: HttpRequest): Promise<HttpAnswer | null> => {
    const { path } = request;
    if (path === '/api' || path.startsWith('/api/')) return api(request);
    if (!serveDashboard) return null;
    if (path === '/dashboard') {
      return { status: 302, contentType: 'text/plain; charset=utf-8', body: '', headers: { location: 'dashboard/' } };
    }
    if (path.startsWith('/dashboard/') && (request.method === 'GET' || request.method === 'HEAD')) {
      return files(path.slice('/dashboard/'.length));
    }
    return null;
  };

  const routesOnly: HttpRoutes = { answer };
  const { checks, metrics, basePath, timeoutMs } = options;
  const handler = createHttpHandler({
    routes: [routesOnly],
    ...(checks ? { checks } : {}),
    ...(metrics ? { metrics } : {}),
    ...(basePath ? { basePath } : {}),
    ...(timeoutMs ? { timeoutMs } : {}),
    ...(options.healthToken ? { token: options.healthToken } : {}),
  }) as AdminHandler;
  handler.answer = answer;
  handler.close = async () => {
    await replays.close();
    await settled();
    if (owned) await pool.end?.().catch(() => {});
  };
  if (!auth.configured && !auth.open) {
    logger.warn({}, 'admin API off: no credentials configured (HERALD_ADMIN_TOKEN, HERALD_READ_TOKEN or users)');
  }
  return handler;
}

function failure(error: unknown, logger: Logger, path: string): HttpAnswer {
  if (error instanceof BadInput)
    return json(400, { error: error.message, ...(error.field ? { field: error.field } : {}) });
  if (error instanceof Refusal) return json(error.status, { error: error.message });
  const message = redact(error instanceof Error ? error.message : String(error)) as string;
  if (isHeraldError(error)) {
    if (error.code === 'HERALD_INVALID_CONFIG') {
      const field = (error.details as { setting?: string } | undefined)?.setting;
      return json(400, { error: message, ...(field ? { field } : {}) });
    }
    if (error.code === 'HERALD_DATABASE_UNAVAILABLE' || error.code === 'HERALD_NOT_MIGRATED') {
      return json(503, { error: message, code: error.code });
    }
  }
  logger.error({ path, error }, 'admin API failed');
  return json(500, { error: message, ...(error instanceof HeraldError ? { code: error.code } : {}) });
}
