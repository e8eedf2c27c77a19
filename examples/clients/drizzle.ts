// Drizzle, on node-postgres (or on postgres.js: `drizzle(postgres(url))`, the same code): the
// outbox written in `db.transaction`; a consumer whose handler gets Drizzle's transaction.
//   node examples/clients/drizzle.ts [postgres-js]
import { drizzle } from 'drizzle-orm/node-postgres';
import { integer, pgTable, text } from 'drizzle-orm/pg-core';
import { drizzle as onPostgresJs } from 'drizzle-orm/postgres-js';
import { createConsumer, createOutbox } from 'herald';
import postgres from 'postgres';
import { databaseUrl, finish, OrderPlaced, schema, transport } from './setup.ts';

const viaPostgresJs = process.argv[2] === 'postgres-js';
const sql = viaPostgresJs ? postgres(databaseUrl) : undefined;

// #region drizzle
const orders = pgTable('orders', { id: text('id').primaryKey(), total: integer('total').notNull() });
const shipments = pgTable('shipments', { orderId: text('order_id').primaryKey() });

const db = sql ? onPostgresJs(sql) : drizzle(databaseUrl);
const outbox = createOutbox({ schema });

await db.transaction(async (tx) => {
  await tx.insert(orders).values({ id: 'o-1', total: 42 });
  await outbox.add(tx, OrderPlaced({ orderId: 'o-1', total: 42 }));
});

const consumer = createConsumer({ transport, group: 'shipping', db, schema });
consumer.on(OrderPlaced, async (event, { tx }) => {
  await tx.insert(shipments).values({ orderId: event.payload.orderId });
});
// #endregion drizzle

await finish(viaPostgresJs ? 'drizzle on postgres.js' : 'drizzle on node-postgres', consumer, async () => {
  if (sql) await sql.end();
  else await (db.$client as { end(): Promise<void> }).end();
});
