// Prisma 7 with @prisma/adapter-pg: the outbox written in an interactive `$transaction`; a
// consumer whose handler gets the transaction client, typed as Prisma's own.
//   npx prisma generate --config examples/clients/prisma/prisma.config.ts
//   node examples/clients/prisma.ts
import { PrismaPg } from '@prisma/adapter-pg';
import { createConsumer, createOutbox } from 'herald';
import { PrismaClient } from './prisma/generated/client.ts';
import { finish, OrderPlaced, schema, transport } from './setup.ts';

const connectionString = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

// #region prisma
const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString }, { schema }) });
const outbox = createOutbox({ schema });

await prisma.$transaction(async (tx) => {
  await tx.order.create({ data: { id: 'o-1', total: 42 } });
  await outbox.add(tx, OrderPlaced({ orderId: 'o-1', total: 42 }));
});

const consumer = createConsumer({ transport, group: 'shipping', db: prisma, schema });
consumer.on(OrderPlaced, async (event, { tx }) => {
  await tx.shipment.create({ data: { orderId: event.payload.orderId } });
});
// #endregion prisma

await finish('prisma', consumer, () => prisma.$disconnect());
