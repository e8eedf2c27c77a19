// Sequelize 6: the outbox written in a managed `sequelize.transaction`; a consumer whose handler
// gets the Sequelize Transaction.   node examples/clients/sequelize.ts
import { createConsumer, createOutbox } from 'herald';
import { DataTypes, Sequelize } from 'sequelize';
import { databaseUrl, finish, OrderPlaced, schema, transport } from './setup.ts';

// #region sequelize
const sequelize = new Sequelize(databaseUrl, { logging: false });
const options = { timestamps: false } as const;
const Order = sequelize.define(
  'Order',
  { id: { type: DataTypes.TEXT, primaryKey: true }, total: DataTypes.INTEGER },
  {
    ...options,
    tableName: 'orders',
  },
);
const Shipment = sequelize.define(
  'Shipment',
  { orderId: { type: DataTypes.TEXT, primaryKey: true, field: 'order_id' } },
  {
    ...options,
    tableName: 'shipments',
  },
);
const outbox = createOutbox({ schema });

await sequelize.transaction(async (transaction) => {
  await Order.create({ id: 'o-1', total: 42 }, { transaction });
  await outbox.add(transaction, OrderPlaced({ orderId: 'o-1', total: 42 }));
});

const consumer = createConsumer({ transport, group: 'shipping', db: sequelize, schema });
consumer.on(OrderPlaced, async (event, { tx }) => {
  await Shipment.create({ orderId: event.payload.orderId }, { transaction: tx });
});
// #endregion sequelize

await finish('sequelize', consumer, () => sequelize.close());
