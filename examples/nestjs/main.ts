// A NestJS service on Drizzle with @nestjs-cls/transactional: OrderService places an order in a
// transaction of the CLS TransactionHost and writes its event with `outbox.add(event)`, no tx
// passed (HeraldModule's `transaction` finds it); ShippingService handles the event with
// @HandleEvent, writing the shipment through the handler's Drizzle transaction. The relay and
// the consumer start and stop with the application.   node examples/nestjs/main.ts
import 'reflect-metadata';
import { Global, Inject, Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClsPluginTransactional, type TransactionalAdapter, TransactionHost } from '@nestjs-cls/transactional';
import { TransactionalAdapterDrizzleOrm } from '@nestjs-cls/transactional-adapter-drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { integer, pgTable, text } from 'drizzle-orm/pg-core';
import { defineEvent, migrate } from 'herald';
import { HandleEvent, HeraldModule, HeraldOutbox } from 'herald/nestjs';
import { postgres } from 'herald/postgres';
import { ClsModule } from 'nestjs-cls';
import pg from 'pg';
import { z } from 'zod';

const base = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `herald_nest_${process.pid}`;
const pool = new pg.Pool({ connectionString: base, options: `-c search_path=${schema}` });
await migrate(pool, { schema });
await pool.query(`CREATE TABLE ${schema}.orders (id text PRIMARY KEY, total integer NOT NULL)`);
await pool.query(`CREATE TABLE ${schema}.shipments (order_id text PRIMARY KEY)`);

const orders = pgTable('orders', { id: text('id').primaryKey(), total: integer('total').notNull() });
const shipments = pgTable('shipments', { orderId: text('order_id').primaryKey() });
const db = drizzle(pool);
type Db = typeof db;
// The Drizzle adapter's class type does not meet its own interface under exactOptionalPropertyTypes:
// the host is typed by the interface.
type Host = TransactionHost<TransactionalAdapter<Db, Db, object>>;

const OrderPlaced = defineEvent({
  type: 'shop.order.placed',
  version: 1,
  destination: 'orders',
  schema: z.object({ orderId: z.string(), total: z.number().int().nonnegative() }),
  key: (p) => p.orderId,
});

// Decorators are applied as calls below, since Node runs this file as it is; with decorator
// syntax they read @Injectable(), @Inject(…), @HandleEvent(OrderPlaced).
// #region services
class OrderService {
  readonly txHost: Host;
  readonly outbox: HeraldOutbox;
  constructor(txHost: Host, outbox: HeraldOutbox) {
    this.txHost = txHost;
    this.outbox = outbox;
  }

  place(orderId: string, total: number) {
    return this.txHost.withTransaction(async () => {
      await this.txHost.tx.insert(orders).values({ id: orderId, total });
      // No tx: the module's `transaction` option finds the CLS transaction.
      await this.outbox.add(OrderPlaced({ orderId, total }));
      if (total > 1000) throw new Error('over the credit limit');
    });
  }
}

class ShippingService {
  async onOrderPlaced(
    event: { payload: { orderId: string } },
    { tx }: { tx: Parameters<Parameters<Db['transaction']>[0]>[0] },
  ) {
    await tx.insert(shipments).values({ orderId: event.payload.orderId });
  }
}
HandleEvent(OrderPlaced, { group: 'shipping' })(ShippingService.prototype, 'onOrderPlaced');

class DbModule {}

class AppModule {}
Module({
  imports: [
    DbModule,
    ClsModule.forRoot({
      global: true,
      plugins: [
        new ClsPluginTransactional({
          imports: [DbModule],
          adapter: new TransactionalAdapterDrizzleOrm({ drizzleInstanceToken: 'DRIZZLE' }),
        }),
      ],
    }),
    HeraldModule.forRootAsync({
      inject: [TransactionHost],
      useFactory: (txHost: TransactionHost) => ({
        transport: postgres({ db: pool, schema, pollIntervalMs: 20 }),
        schema,
        db, // handlers run in Drizzle transactions
        relay: { db: pool, pollIntervalMs: 20 },
        transaction: () => (txHost.isTransactionActive() ? txHost.tx : undefined),
      }),
    }),
  ],
  providers: [OrderService, ShippingService],
})(AppModule);
// #endregion services
Global()(DbModule);
Module({ providers: [{ provide: 'DRIZZLE', useValue: db }], exports: ['DRIZZLE'] })(DbModule);
Injectable()(OrderService);
Inject(TransactionHost)(OrderService, undefined, 0);
Inject(HeraldOutbox)(OrderService, undefined, 1);
Injectable()(ShippingService);

const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
const service = app.get(OrderService);
await service.place('o-1', 42);
await service.place('o-2', 5000).catch((e: Error) => console.log(`o-2 refused: ${e.message}`));
const count = async (table: string) => (await pool.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n;
const deadline = Date.now() + 20_000;
while ((await count('shipments')) < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
await new Promise((r) => setTimeout(r, 300)); // time for a wrong second shipment to show
await app.close();
console.log(
  `nestjs: orders ${await count('orders')}, events ${await count('log')}, shipments ${await count('shipments')}`,
);
await pool.query(`DROP SCHEMA ${schema} CASCADE`);
await pool.end();
