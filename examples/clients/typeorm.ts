// TypeORM: the outbox written in `dataSource.transaction`; a consumer whose handler gets the
// transaction's EntityManager.   node examples/clients/typeorm.ts
import { createConsumer, createOutbox } from 'herald';
import { DataSource, EntitySchema } from 'typeorm';
import { databaseUrl, finish, OrderPlaced, schema, transport } from './setup.ts';

// #region typeorm
const Order = new EntitySchema<{ id: string; total: number }>({
  name: 'Order',
  tableName: 'orders',
  columns: { id: { type: 'text', primary: true }, total: { type: 'int' } },
});
const Shipment = new EntitySchema<{ orderId: string }>({
  name: 'Shipment',
  tableName: 'shipments',
  columns: { orderId: { type: 'text', primary: true, name: 'order_id' } },
});
const dataSource = await new DataSource({
  type: 'postgres',
  url: databaseUrl,
  entities: [Order, Shipment],
}).initialize();
const outbox = createOutbox({ schema });

await dataSource.transaction(async (manager) => {
  await manager.insert(Order, { id: 'o-1', total: 42 });
  await outbox.add(manager, OrderPlaced({ orderId: 'o-1', total: 42 }));
});

const consumer = createConsumer({ transport, group: 'shipping', db: dataSource, schema });
consumer.on(OrderPlaced, async (event, { tx }) => {
  await tx.insert(Shipment, { orderId: event.payload.orderId });
});
// #endregion typeorm

await finish('typeorm', consumer, () => dataSource.destroy());
