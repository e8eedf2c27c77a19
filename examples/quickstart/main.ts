// Herald's first path, end to end: migrate, write events in business transactions (some roll
// back), relay them to Kafka, read them back with a plain Kafka consumer, and check the books.
//   DATABASE_URL=postgres://... KAFKA_BROKERS=127.0.0.1:9092 node examples/quickstart/main.ts
import { Consumer } from '@platformatic/kafka';
import { createOutbox, createRelay, defineEvent, migrate } from 'herald';
import { kafka } from 'herald/kafka';
import pg from 'pg';
import { z } from 'zod';

const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const orders = Number(process.env.QUICKSTART_ORDERS ?? 500);
const schema = 'herald_quickstart';
const topic = `quickstart.orders.${Date.now()}`;

// 1. Declare the event once: type, version, schema, partition key.
const OrderPlaced = defineEvent({
  type: 'shop.order.placed',
  version: 1,
  destination: topic,
  schema: z.object({ orderId: z.string(), customerId: z.string(), totalCents: z.number().int().nonnegative() }),
  key: (order) => order.customerId, // one customer's orders stay in order
  aggregate: (order) => ({ type: 'order', id: order.orderId }),
});

const pool = new pg.Pool({ connectionString: databaseUrl });
await migrate(pool, { schema });
await pool.query(
  `CREATE TABLE IF NOT EXISTS ${schema}.orders (id text PRIMARY KEY, customer_id text, total_cents int)`,
);
const outbox = createOutbox({ schema, source: '/quickstart/shop' });

// 2. Run the relay embedded in this process (or as its own: `herald relay`).
// #region relay
const relay = createRelay({
  db: pool, // a pg Pool, or a connection string
  schema,
  transport: kafka({ brokers, clientId: 'quickstart-relay' }),
});
await relay.start(); // resolves once it is publishing; relay.stop() finishes the batch in flight
// #endregion relay

// 3. Write each order and its event in one transaction; every tenth one rolls back.
const committed = new Map<string, number>();
let rolledBack = 0;
for (let i = 0; i < orders; i++) {
  const order = { orderId: `o-${Date.now()}-${i}`, customerId: `c-${i % 20}`, totalCents: 100 + i };
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`INSERT INTO ${schema}.orders VALUES ($1, $2, $3)`, [
      order.orderId,
      order.customerId,
      order.totalCents,
    ]);
    const [event] = await outbox.add(client, OrderPlaced(order, { correlationId: order.orderId }));
    if (i % 10 === 9) {
      await client.query('ROLLBACK');
      rolledBack++;
    } else {
      await client.query('COMMIT');
      committed.set(event?.id ?? '', Date.now());
    }
  } finally {
    client.release();
  }
}

// 4. Read the topic back with a plain Kafka consumer, as any other service would.
const consumer = new Consumer({
  groupId: `quickstart-${Date.now()}`,
  clientId: 'quickstart',
  bootstrapBrokers: brokers,
});
const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false });
const seen = new Map<string, number>();
const stop = setTimeout(() => void stream.close(), 30_000);
for await (const message of stream) {
  // CloudEvents binary mode: the event id is the ce_id header (header names arrive as Buffers).
  const id = [...message.headers].find(([name]) => name.toString() === 'ce_id')?.[1].toString() ?? '';
  seen.set(id, (seen.get(id) ?? 0) + 1);
  if ([...committed.keys()].every((k) => seen.has(k))) break;
}
clearTimeout(stop);
await stream.close();
await consumer.close(true);
await relay.stop();
await pool.end();

const lost = [...committed.keys()].filter((id) => !seen.has(id)).length;
const leaked = [...seen.keys()].filter((id) => !committed.has(id)).length;
console.log(`orders written:      ${orders} (${rolledBack} rolled back)`);
console.log(`events committed:    ${committed.size}`);
console.log(`events in Kafka:     ${seen.size} on topic ${topic}`);
console.log(`lost: ${lost}, published after rollback: ${leaked}`);
process.exitCode = lost === 0 && leaked === 0 ? 0 : 1;
