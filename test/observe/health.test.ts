import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { z } from 'zod';
import {
  createConsumer,
  createHttpHandler,
  createOutbox,
  createRelay,
  defineEvent,
  type HttpHandler,
  prometheusMetrics,
  silentLogger,
} from '../../src/index.ts';
import { kafka } from '../../src/transports/kafka/index.ts';
import { eventMessage } from '../support/consumer.ts';
import { brokers, freshSchema, inTransaction, type TestSchema, uniqueName } from '../support/env.ts';
import { createTopic } from '../support/kafka.ts';
import { spawnRelay, waitFor } from '../support/relay-process.ts';

/** Serves a handler on a free port of 127.0.0.1 (as node:http users mount it); `url` names a path. */
async function serve(
  handler: Parameters<typeof createServer>[1],
): Promise<{ url(path: string): string; server: Server }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: (path) => `http://127.0.0.1:${port}${path}` };
}

const close = (server: Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

async function get(url: string, token?: string) {
  const response = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  const text = await response.text();
  return { status: response.status, type: response.headers.get('content-type') ?? '', text };
}

describe('health endpoints: /healthz, /readyz, /metrics', () => {
  let db: TestSchema;
  before(async () => {
    db = await freshSchema();
  });
  after(() => db.drop());

  it('a relay is ready when running with Kafka and PostgreSQL reachable, not when the broker is away', async () => {
    const registry = new Registry();
    const metrics = await prometheusMetrics({ registry });
    const relay = createRelay({
      db: db.pool,
      schema: db.schema,
      transport: kafka({ brokers }),
      metrics,
      logger: silentLogger,
    });
    const away = createRelay({
      db: db.pool,
      schema: db.schema,
      transport: kafka({ brokers: ['127.0.0.1:1'], timeoutMs: 300 }),
      logger: silentLogger,
      backoff: { initialMs: 50, maxMs: 200 },
    });
    const ops = await serve(createHttpHandler({ checks: [relay], metrics, basePath: '/ops/' }));
    const both = await serve(createHttpHandler({ checks: [relay, away] }));
    try {
      const before = await get(ops.url('/ops/readyz'));
      assert.equal(before.status, 503, 'not started, not ready');
      assert.match(before.text, /relay is idle/);

      await relay.start();
      await waitFor('the relay ready', async () => (await get(ops.url('/ops/readyz'))).status === 200);
      await waitFor('its leases', () => relay.stats().shards.length === 64);
      const ready = JSON.parse((await get(ops.url('/ops/readyz'))).text);
      assert.equal(ready.ready, true);
      assert.equal(ready.checks[0].details.shards, 64);
      assert.equal((await get(ops.url('/ops/healthz'))).status, 200);
      assert.equal((await get(ops.url('/readyz'))).status, 404, 'only under the base path');
      const scraped = await get(ops.url('/ops/metrics'));
      assert.equal(scraped.status, 200);
      assert.match(scraped.type, /^text\/plain/);
      assert.match(scraped.text, /^herald_relay_shard_leases\{state="held"\} 64$/m);

      await away.start();
      await waitFor('the broker found away', async () => {
        const r = await get(both.url('/readyz'));
        return r.status === 503 && /broker unreachable/.test(r.text) && /ready":true/.test(r.text);
      });
      const answer = JSON.parse((await get(both.url('/readyz'))).text);
      assert.deepEqual(
        answer.checks.map((c: { ready: boolean }) => c.ready),
        [true, false],
      );
      assert.match(answer.checks[1].reasons.join('\n'), /cannot reach Kafka at 127\.0\.0\.1:1/);
      await away.stop();
      await relay.stop();
      // Stopped for good: not alive, so an orchestrator restarts the process.
      assert.equal((await get(ops.url('/ops/healthz'))).status, 503);
    } finally {
      await away.stop();
      await relay.stop();
      await close(ops.server);
      await close(both.server);
    }
  });

  it('asks for the token when one is set, and mounts as middleware and as a fetch handler', async () => {
    const handler: HttpHandler = createHttpHandler({ token: 's3cret', basePath: 'ops' });
    const app = await serve((req, res) =>
      handler(req, res, () => {
        res.end('the next middleware');
      }),
    );
    try {
      const denied = await get(app.url('/ops/healthz'));
      assert.equal(denied.status, 401);
      assert.equal((await get(app.url('/ops/healthz'), 'wrong')).status, 401);
      assert.equal((await get(app.url('/ops/healthz'), 's3cret')).status, 200);
      assert.equal((await get(app.url('/ops/metrics'), 's3cret')).status, 404, 'no metrics given');
      assert.equal((await get(app.url('/orders'))).text, 'the next middleware');
      const posted = await fetch(app.url('/ops/readyz'), {
        method: 'POST',
        headers: { authorization: 'Bearer s3cret' },
      });
      assert.equal(posted.status, 405);
    } finally {
      await close(app.server);
    }
    const viaFetch = await handler.fetch(
      new Request('http://service/ops/readyz', { headers: { authorization: 'Bearer s3cret' } }),
    );
    assert.equal(viaFetch.status, 200, 'nothing to check: ready');
    assert.deepEqual(await viaFetch.json(), { ready: true, checks: [] });
    assert.equal((await handler.fetch(new Request('http://service/ops/readyz'))).status, 401);
  });

  it('a consumer is ready once subscribed, and not while one message is retried with others waiting behind it', async () => {
    const topic = await createTopic(1);
    const Noted = defineEvent({
      type: 'noted',
      version: 1,
      destination: topic,
      schema: z.object({ n: z.number() }),
      key: (p) => String(p.n),
    });
    const transport = kafka({ brokers });
    let failing = true;
    const consumer = createConsumer({
      transport,
      group: uniqueName('g'),
      db: db.pool,
      schema: db.schema,
      logger: silentLogger,
      retry: { attempts: 1_000, initialMs: 10, maxMs: 50 },
      stuckAfterMs: 300,
    });
    consumer.on(Noted, (event) => {
      if (event.payload.n === 1 && failing) throw new Error('the warehouse API is down');
    });
    const { server, url } = await serve(createHttpHandler({ checks: [consumer] }));
    try {
      await consumer.start();
      await waitFor('the consumer ready', async () => (await get(url('/readyz'))).status === 200);
      await transport.publish([1, 2, 3].map((n) => eventMessage(topic, Noted.type, { n }, { key: String(n) })));
      await waitFor('the consumer stuck', async () => (await get(url('/readyz'))).status === 503);
      const stuck = JSON.parse((await get(url('/readyz'))).text);
      assert.match(
        stuck.checks[0].reasons[0],
        new RegExp(`^${topic}\\[0\\]@0 unfinished for .* with 2 messages waiting`),
      );
      failing = false;
      await waitFor('ready again', async () => (await get(url('/readyz'))).status === 200);
      assert.equal(consumer.stats().handled, 3);
    } finally {
      await consumer.stop();
      await transport.close();
      await close(server);
    }
  });

  it('herald relay --http serves the endpoints, with the token, and its metrics', async () => {
    const topic = await createTopic(1);
    const Noted = defineEvent({ type: 'noted', version: 1, destination: topic, schema: z.object({}), key: () => 'k' });
    await inTransaction(db.pool, (tx) => createOutbox({ schema: db.schema }).add(tx, Noted({})));
    const relay = spawnRelay(db.schema, { HERALD_HTTP: '127.0.0.1:0', HERALD_HTTP_TOKEN: 'cli-token' });
    try {
      await waitFor('the endpoints listening', () => relay.logs().includes('http endpoints listening'));
      const line = relay
        .logs()
        .split('\n')
        .find((l) => l.includes('http endpoints listening')) as string;
      const base = `http://127.0.0.1:${JSON.parse(line).port}`;
      assert.equal((await get(`${base}/readyz`)).status, 401);
      await waitFor('ready', async () => (await get(`${base}/readyz`, 'cli-token')).status === 200);
      await waitFor('the event published', async () =>
        /herald_relay_published_events_total\{[^}]*outcome="published"\} 1/.test(
          (await get(`${base}/metrics`, 'cli-token')).text,
        ),
      );
    } finally {
      relay.child.kill('SIGTERM');
      assert.equal((await relay.exited).code, 0);
    }
    assert.doesNotMatch(relay.logs(), /cli-token/);
  });
});
