// A consumer that acts once per event: the inventory service reserves stock for each order.
// The order service writes `order.created` through its outbox, the relay publishes it to Kafka,
// and the consumer's handler updates stock in the same transaction as the inbox row, so a
// second delivery of the same event changes nothing.
//   DATABASE_URL=postgres://... KAFKA_BROKERS=127.0.0.1:9092 node examples/consumer.ts
import {
  createConsumer,
  createOutbox,
  createRelay,
  defineEvent,
  migrate,
  NonRetriableError,
  replayEvents,
  silentLogger,
} from 'herald';
import { kafka } from 'herald/kafka';
import pg from 'pg';
import { z } from 'zod';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' });
const schema = `herald_consumer_example_${process.pid}`;
await migrate(pool, { schema });
await pool.query(
  `CREATE TABLE ${schema}.stock (sku text PRIMARY KEY, available integer NOT NULL CHECK (available >= 0))`,
);
await pool.query(`INSERT INTO ${schema}.stock VALUES ('sku-1', 10)`);
const transport = kafka({ brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',') });
const topic = `orders-${process.pid}`;

// #region events
const OrderCreated = defineEvent({
  type: 'order.created',
  version: 2,
  destination: topic,
  schema: z.object({
    orderId: z.string(),
    items: z.array(z.object({ sku: z.string(), quantity: z.number().int().positive() })),
  }),
  key: (p) => p.orderId,
  // Version 1 had one sku and quantity per order: consumers asking for v2 get it converted.
  upcasters: {
    1: (v1: { orderId: string; sku: string; quantity: number }) => ({
      orderId: v1.orderId,
      items: [{ sku: v1.sku, quantity: v1.quantity }],
    }),
  },
});

const StockReserved = defineEvent({
  type: 'inventory.stock.reserved',
  version: 1,
  destination: `${topic}.inventory`,
  schema: z.object({ orderId: z.string(), sku: z.string(), quantity: z.number().int() }),
  key: (p) => p.sku,
});
// #endregion events

// #region consumer
const consumer = createConsumer({ transport, group: 'inventory', db: pool, schema, concurrency: 16 });

consumer.on(OrderCreated, async (event, { tx, emit }) => {
  for (const item of event.payload.items) {
    const updated = await tx.query(
      `UPDATE ${schema}.stock SET available = available - $2 WHERE sku = $1 AND available >= $2`,
      [item.sku, item.quantity],
    );
    // Retrying cannot create stock: straight to dead letters, with the reason.
    if (updated.rowCount === 0) throw new NonRetriableError(`not enough ${item.sku} for ${event.payload.orderId}`);
    // Same transaction; causation = this event's id, correlation and trace carried over.
    await emit(StockReserved({ orderId: event.payload.orderId, sku: item.sku, quantity: item.quantity }));
  }
});

await consumer.start();
// #endregion consumer

// The order service: one order, committed with its event.
const relay = createRelay({ db: pool, schema, transport, logger: silentLogger });
await relay.start();
const outbox = createOutbox({ schema, source: '/orders' });
const order = OrderCreated({ orderId: 'o-1', items: [{ sku: 'sku-1', quantity: 3 }] });
const tx = await pool.connect();
await tx.query('BEGIN');
await outbox.add(tx, order);
await tx.query('COMMIT');
tx.release();

const waitUntil = async (done: () => boolean) => {
  while (!done()) await new Promise((r) => setTimeout(r, 50));
};
await waitUntil(() => consumer.stats().handled === 1);
await relay.stop();

// The same event delivered again, as a replay (or a crash before the offset commit) would.
await replayEvents({ db: pool, schema, transport, from: new Date(Date.now() - 60_000) });
await waitUntil(() => consumer.stats().duplicates === 1);

const { rows } = await pool.query(`SELECT available FROM ${schema}.stock WHERE sku = 'sku-1'`);
const { handled, duplicates } = consumer.stats();
console.log(`handled ${handled}, skipped ${duplicates} duplicate, available now ${rows[0].available}`);

await consumer.stop();
await transport.close();
await pool.query(`DROP SCHEMA ${schema} CASCADE`);
await pool.end();
