// The whole inventory system of one run, in this process: the inventory service (HTTP API,
// consumer, expiry job, purchasing), the order service and its saga, the payment step, a relay
// per service, and the monitor. Services share a database here only for convenience: each has its
// own schema, outbox and inbox, and they talk through the broker alone.
import { createRelay, type Logger, type Relay, silentLogger } from 'herald';
import type { Stack } from '../db.ts';
import { topicOf } from '../events.ts';
import { inventoryApi } from '../inventory/api.ts';
import { inventoryConsumer } from '../inventory/consumer.ts';
import { type ExpiryJob, startExpiry } from '../inventory/expiry.ts';
import { purchasingConsumer } from '../inventory/purchasing.ts';
import { orderSaga } from '../orders/saga.ts';
import { orderService } from '../orders/service.ts';
import { paymentConsumer } from '../payments/consumer.ts';
import { createSchemas, type Schemas, schemasFor } from '../schema.ts';
import { type Monitor, monitorConsumer } from './monitor.ts';

export interface SystemOptions {
  /** Names the run's schemas (`<prefix>_inventory`, …); they are dropped and made again. */
  prefix: string;
  /** Names the run's topics and consumer groups; new per run, so a broker's old messages stay out. */
  runId: string;
  reservationTtlMs: number;
  expiryIntervalMs: number;
  /** HTTP port of the inventory API; 0 picks a free one. */
  port: number;
  logger?: Logger;
}

export type System = Awaited<ReturnType<typeof startSystem>>;

export async function startSystem(stack: Stack, o: SystemOptions) {
  const schemas: Schemas = schemasFor(o.prefix);
  await createSchemas(stack.db, schemas);
  const topicPrefix = `${o.prefix}.${o.runId}`;
  const topic = (segment: string) => `${topicPrefix}.${segment}`;
  const group = (name: string) => `${o.prefix}.${o.runId}.${name}`;
  const { db, transport } = stack;
  const logger = o.logger ?? silentLogger;

  const relays: Relay[] = [schemas.inventory, schemas.orders, schemas.payments].map((schema) =>
    createRelay({ db, schema, transport, topic: topicOf(topicPrefix), logger, pollIntervalMs: 50 }),
  );
  const common = { db, transport };
  const monitor: Monitor = monitorConsumer({
    ...common,
    schema: schemas.monitor,
    group: group('monitor'),
    topics: ['order', 'inventory', 'payment', 'item', 'warehouse'].map(topic),
  });
  const consumers = {
    inventory: inventoryConsumer({
      ...common,
      schema: schemas.inventory,
      group: group('inventory'),
      topics: [topic('order')],
      reservationTtlMs: o.reservationTtlMs,
    }),
    purchasing: purchasingConsumer({
      ...common,
      schema: schemas.inventory,
      group: group('purchasing'),
      topics: [topic('inventory')],
      multiple: 4,
    }),
    orders: orderSaga({
      ...common,
      schema: schemas.orders,
      group: group('orders'),
      topics: [topic('inventory'), topic('payment')],
    }),
    payments: paymentConsumer({
      ...common,
      schema: schemas.payments,
      group: group('payments'),
      topics: [topic('payment'), topic('order')],
    }),
    monitor: monitor.consumer,
  };
  for (const relay of relays) await relay.start();
  for (const consumer of Object.values(consumers)) await consumer.start();
  const expiry: ExpiryJob = startExpiry(db, schemas.inventory, o.expiryIntervalMs, (e) =>
    logger.warn({ error: e }, 'expiry job failed; it runs again'),
  );
  const api = await inventoryApi(db, schemas.inventory).listen(o.port);
  const orders = orderService(db, schemas.orders);

  let stopped = false;
  return {
    schemas,
    groups: {
      inventory: group('inventory'),
      purchasing: group('purchasing'),
      orders: group('orders'),
      payments: group('payments'),
      monitor: group('monitor'),
    },
    relays,
    /** The topic of each event type, as the relays publish it. */
    topicOf: topicOf(topicPrefix),
    consumers,
    monitor,
    expiry,
    orders,
    apiUrl: api.url,
    /** Stops taking work, lets what runs finish, and closes the HTTP server. The stack stays open. */
    async stop() {
      if (stopped) return;
      stopped = true;
      await new Promise<void>((resolve) => api.server.close(() => resolve()));
      api.server.closeAllConnections();
      await expiry.stop();
      for (const consumer of Object.values(consumers)) await consumer.stop();
      for (const relay of relays) await relay.stop();
    },
  };
}
