// postgres.js: the outbox written in `sql.begin`; a consumer whose handler gets the transaction's
// `sql`.   node examples/clients/postgres-js.ts
import { createConsumer, createOutbox } from 'herald';
import postgres from 'postgres';
import { databaseUrl, finish, OrderPlaced, schema, transport } from './setup.ts';

// #region postgres-js
const sql = postgres(databaseUrl);
const outbox = createOutbox({ schema });

await sql.begin(async (tx) => {
  await tx`INSERT INTO orders ${tx({ id: 'o-1', total: 42 })}`;
  await outbox.add(tx, OrderPlaced({ orderId: 'o-1', total: 42 }));
});

const consumer = createConsumer({ transport, group: 'shipping', db: sql, schema });
consumer.on(OrderPlaced, async (event, { tx }) => {
  await tx`INSERT INTO shipments (order_id) VALUES (${event.payload.orderId})`;
});
// #endregion postgres-js

await finish('postgres.js', consumer, () => sql.end());
