// Kysely: the outbox written in a Kysely transaction; a consumer whose handler gets Kysely's
// own Transaction, typed from the database.   node examples/clients/kysely.ts
import { createConsumer, createOutbox } from 'herald';
import { type Generated, Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { databaseUrl, finish, OrderPlaced, schema, transport } from './setup.ts';

// #region kysely
interface Database {
  orders: { id: string; total: number };
  shipments: { order_id: string; shipped_at: Generated<Date> };
}
const db = new Kysely<Database>({
  dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: databaseUrl }) }),
});
const outbox = createOutbox({ schema });

await db.transaction().execute(async (tx) => {
  await tx.insertInto('orders').values({ id: 'o-1', total: 42 }).execute();
  await outbox.add(tx, OrderPlaced({ orderId: 'o-1', total: 42 }));
});

const consumer = createConsumer({ transport, group: 'shipping', db, schema });
consumer.on(OrderPlaced, async (event, { tx }) => {
  // tx is Kysely's Transaction<Database>: the shipment and the inbox row commit together.
  await tx.insertInto('shipments').values({ order_id: event.payload.orderId }).execute();
});
// #endregion kysely

await finish('kysely', consumer, () => db.destroy());
