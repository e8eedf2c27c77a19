// MikroORM 7: the outbox written in `em.transactional`; a consumer whose handler gets the
// transaction's forked EntityManager.   node examples/clients/mikro-orm.ts
import { EntitySchema, MikroORM } from '@mikro-orm/postgresql';
import { createConsumer, createOutbox } from 'herald';
import { databaseUrl, finish, OrderPlaced, schema, transport } from './setup.ts';

// #region mikro-orm
const Order = new EntitySchema<{ id: string; total: number }>({
  name: 'Order',
  tableName: 'orders',
  properties: { id: { type: 'string', primary: true }, total: { type: 'integer' } },
});
const Shipment = new EntitySchema<{ orderId: string }>({
  name: 'Shipment',
  tableName: 'shipments',
  properties: { orderId: { type: 'string', primary: true, fieldName: 'order_id' } },
});
// MikroORM reads the schema from its own option, not from the connection string's search_path.
const orm = await MikroORM.init({ clientUrl: databaseUrl, schema, entities: [Order, Shipment] });
const outbox = createOutbox({ schema });

await orm.em.transactional(async (em) => {
  em.create(Order, { id: 'o-1', total: 42 });
  await outbox.add(em, OrderPlaced({ orderId: 'o-1', total: 42 }));
});

const consumer = createConsumer({ transport, group: 'shipping', db: orm.em, schema });
consumer.on(OrderPlaced, async (event, { tx }) => {
  // Flushed by MikroORM when the handler returns, in the transaction of the inbox row.
  tx.create(Shipment, { orderId: event.payload.orderId });
});
// #endregion mikro-orm

await finish('mikro-orm', consumer, () => orm.close());
