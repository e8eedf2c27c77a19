import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import {
  type AdminHandler,
  type AdminHandlerOptions,
  createAdminHandler,
  createOutbox,
  createRelay,
  defineEvent,
  type Relay,
  silentLogger,
  type Transport,
} from '../../src/index.ts';
import { insertConsumerDeadLetter } from '../../src/store/sql/consumer-dead-letters.ts';
import { kafka } from '../../src/transports/kafka/index.ts';
import { brokers, freshSchema, inTransaction, type TestSchema } from '../support/env.ts';
import { createTopic } from '../support/kafka.ts';
import { waitFor } from '../support/relay-process.ts';

export const adminToken = 'admin-token-0123456789';
export const readToken = 'read-token-0123456789';

export const Shipped = defineEvent({
  type: 'admin.shipped',
  version: 1,
  schema: z.object({ n: z.number().int(), pad: z.string().default('') }),
  key: (p) => `order-${p.n}`,
  aggregate: (p) => ({ type: 'order', id: `o-${p.n}` }),
});

/** Serves a handler on a free port of 127.0.0.1, as node:http users mount it. */
export async function serve(handler: Parameters<typeof createServer>[1]): Promise<{ base: string; server: Server }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, base: `http://127.0.0.1:${port}` };
}

export const close = (server: Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

/**
 * A schema with events published to Kafka by a running relay, one event the broker refused as
 * too large (a relay dead letter on a 4 kB topic) and two consumer-group dead letters; the admin
 * handler on node:http with an admin and a read-only token.
 */
export async function adminFixture(extra: Partial<AdminHandlerOptions> = {}) {
  const db: TestSchema = await freshSchema();
  const topic = await createTopic(1, 'herald-admin', { 'max.message.bytes': '4096' });
  const transport: Transport = kafka({ brokers });
  const relay: Relay = createRelay({
    db: db.pool,
    schema: db.schema,
    transport: kafka({ brokers }),
    topic: () => topic,
    logger: silentLogger,
    maxAttempts: 1,
    backoff: { initialMs: 20, maxMs: 100 },
  });
  await relay.start();
  const outbox = createOutbox({ schema: db.schema });
  const events = [Shipped({ n: 1 }), Shipped({ n: 2, pad: 'x'.repeat(6000) }), Shipped({ n: 3 }), Shipped({ n: 4 })];
  await inTransaction(db.pool, (tx) => outbox.add(tx, events));
  await waitFor('the batch settled', () => relay.stats().published === 4, 60_000);
  for (const [id, offset] of [
    ['m-1', '17'],
    ['m-2', '18'],
  ] as const) {
    await insertConsumerDeadLetter(db.pool, db.schema, {
      group: 'billing',
      messageId: id,
      eventType: 'admin.shipped',
      topic,
      partition: 0,
      offset,
      key: 'order-9',
      headers: { ce_id: id },
      body: Buffer.from('{"n":9}'),
      error: { code: 'HERALD_HANDLER_FAILED', message: `no customer ${offset} for order "o-${offset}"` },
      attempts: 3,
    });
  }
  const admin: AdminHandler = createAdminHandler({
    db: db.pool,
    schema: db.schema,
    transport,
    adminToken,
    readToken,
    users: [{ user: 'ops', password: 'ops-password', role: 'read' }],
    logger: silentLogger,
    ...extra,
  });
  const http = await serve(admin);
  return {
    db,
    topic,
    relay,
    events,
    admin,
    base: http.base,
    async close() {
      await close(http.server);
      await admin.close();
      await relay.stop();
      await transport.close();
      await db.drop();
    },
  };
}

/** A call of the API: status and parsed JSON body. */
export async function call(
  base: string,
  method: string,
  path: string,
  options: { token?: string | null; body?: unknown; headers?: Record<string, string> } = {},
  // biome-ignore lint/suspicious/noExplicitAny: the tests read the answers' nested JSON field by field
): Promise<{ status: number; body: any; headers: Headers }> {
  const token = options.token === undefined ? adminToken : options.token;
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...options.headers,
    },
    ...(options.body !== undefined
      ? { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }
      : {}),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: response.status, body, headers: response.headers };
}
