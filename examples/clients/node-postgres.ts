// node-postgres: the outbox written on a PoolClient in a transaction (withTransaction does the
// BEGIN and COMMIT); the handler's tx is the PoolClient of its transaction.
//   node examples/clients/node-postgres.ts
import { createConsumer, createOutbox, withTransaction } from 'herald';
import pg from 'pg';
import { databaseUrl, finish, OrderPlaced, schema, transport } from './setup.ts';

// #region node-postgres
const pool = new pg.Pool({ connectionString: databaseUrl });
const outbox = createOutbox({ schema });

await withTransaction(pool, async (tx) => {
  await tx.query('INSERT INTO orders (id, total) VALUES ($1, $2)', ['o-1', 42]);
  // No tx needed: inside withTransaction the transaction is ambient.
  await outbox.add(OrderPlaced({ orderId: 'o-1', total: 42 }));
});

const consumer = createConsumer({ transport, group: 'shipping', db: pool, schema });
consumer.on(OrderPlaced, async (event, { tx }) => {
  await tx.query('INSERT INTO shipments (order_id) VALUES ($1)', [event.payload.orderId]);
});
// #endregion node-postgres

await finish('node-postgres', consumer, () => pool.end());
