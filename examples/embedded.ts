// Herald with no server at all: PGlite (PostgreSQL in-process) is the database, and the
// PostgreSQL transport is the broker. Writes an order with its event, relays it, and handles it
// once in a consumer, all in this one process.
//   node examples/embedded.ts            (add HERALD_DATA_DIR=./data to keep the database)
import { createConsumer, createOutbox, createRelay, defineEvent, migrate, silentLogger } from 'herald';
import { pglite } from 'herald/pglite';
import { postgres } from 'herald/postgres';
import { z } from 'zod';

// #region embedded
const db = await pglite(process.env.HERALD_DATA_DIR ? { dataDir: process.env.HERALD_DATA_DIR } : {});
await migrate(db);
await db.query('CREATE TABLE IF NOT EXISTS orders (id text PRIMARY KEY, total integer NOT NULL)');
await db.query('CREATE TABLE IF NOT EXISTS invoices (order_id text PRIMARY KEY, total integer NOT NULL)');

const OrderPlaced = defineEvent({
  type: 'order.placed',
  version: 1,
  destination: 'orders',
  schema: z.object({ orderId: z.string(), total: z.number().int() }),
  key: (p) => p.orderId,
});

const transport = postgres({ db });
const relay = createRelay({ db, transport, logger: silentLogger });
const consumer = createConsumer({ transport, group: 'billing', db });
consumer.on(OrderPlaced, async (event, { tx }) => {
  await tx.query('INSERT INTO invoices VALUES ($1, $2)', [event.payload.orderId, event.payload.total]);
});
await relay.start();
await consumer.start();

// The order and its event commit together, on the one connection PGlite has.
const outbox = createOutbox();
const tx = await db.connect();
await tx.query('BEGIN');
await tx.query('INSERT INTO orders VALUES ($1, $2)', ['o-1', 4200]);
await outbox.add(tx, OrderPlaced({ orderId: 'o-1', total: 4200 }));
await tx.query('COMMIT');
tx.release();
// #endregion embedded

while (consumer.stats().handled === 0) await new Promise((r) => setTimeout(r, 10));
const { rows } = await db.query<{ order_id: string; total: number }>('SELECT order_id, total FROM invoices');
console.log(`invoiced ${rows.map((r) => `${r.order_id}=${r.total}`).join(', ')} with no server`);

await consumer.stop();
await relay.stop();
await db.end();
