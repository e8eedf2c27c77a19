// Knex: the outbox written in `knex.transaction`; a consumer whose handler gets the Knex
// transaction.   node examples/clients/knex.ts
import { createConsumer, createOutbox } from 'herald';
import Knex from 'knex';
import { databaseUrl, finish, OrderPlaced, schema, transport } from './setup.ts';

// #region knex
const knex = Knex({ client: 'pg', connection: databaseUrl });
const outbox = createOutbox({ schema });

await knex.transaction(async (trx) => {
  await trx('orders').insert({ id: 'o-1', total: 42 });
  await outbox.add(trx, OrderPlaced({ orderId: 'o-1', total: 42 }));
});

const consumer = createConsumer({ transport, group: 'shipping', db: knex, schema });
consumer.on(OrderPlaced, async (event, { tx }) => {
  await tx('shipments').insert({ order_id: event.payload.orderId });
});
// #endregion knex

await finish('knex', consumer, () => knex.destroy());
