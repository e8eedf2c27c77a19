/**
 * HeraldModule with @nestjs-cls/transactional over Prisma, TypeORM and Drizzle: inside
 * `txHost.withTransaction`, `outbox.add(event)` (no tx) writes in the transaction the adapter
 * opened, with the business row written through `txHost.tx`; a throw rolls both back; outside
 * any transaction the call is refused.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Global, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClsPluginTransactional, type TransactionalAdapter, TransactionHost } from '@nestjs-cls/transactional';
import { TransactionalAdapterDrizzleOrm } from '@nestjs-cls/transactional-adapter-drizzle-orm';
import { TransactionalAdapterPrisma } from '@nestjs-cls/transactional-adapter-prisma';
import { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import { ClsModule } from 'nestjs-cls';
import pg from 'pg';
import { migrate } from '../../src/index.ts';
import { HeraldModule, HeraldOutbox } from '../../src/nestjs/index.ts';
import { postgres } from '../../src/transports/postgres/index.ts';
import { drizzleNodePostgres, effectsTable, type OpenClient, prisma, typeorm } from '../clients/harness.ts';
import { OrderPlaced } from '../clients/suite.ts';
import { databaseUrl, uniqueName } from '../support/env.ts';

const TOKEN = 'CLIENT';
// The adapters' class types do not meet nestjs-cls' own interface under exactOptionalPropertyTypes.
const loose = (adapter: object) => adapter as TransactionalAdapter<unknown, unknown, object>;
const cases = [
  { fixture: prisma, adapter: () => loose(new TransactionalAdapterPrisma({ prismaInjectionToken: TOKEN })) },
  { fixture: typeorm, adapter: () => loose(new TransactionalAdapterTypeOrm({ dataSourceToken: TOKEN })) },
  {
    fixture: drizzleNodePostgres,
    adapter: () => loose(new TransactionalAdapterDrizzleOrm({ drizzleInstanceToken: TOKEN })),
  },
];

for (const { fixture, adapter } of cases) {
  describe(`HeraldModule with @nestjs-cls/transactional on ${fixture.name}`, () => {
    const schema = uniqueName('herald_cls');
    const admin = new pg.Pool({ connectionString: databaseUrl, max: 2 });
    let client: OpenClient;
    let app: Awaited<ReturnType<typeof NestFactory.createApplicationContext>>;
    before(async () => {
      await migrate(admin, { schema });
      await admin.query(effectsTable(schema));
      client = await fixture.open(schema);
      class ClientModule {}
      Global()(ClientModule);
      Module({ providers: [{ provide: TOKEN, useValue: client.db }], exports: [TOKEN] })(ClientModule);
      class AppModule {}
      Module({
        imports: [
          ClientModule,
          ClsModule.forRoot({
            global: true,
            plugins: [new ClsPluginTransactional({ imports: [ClientModule], adapter: adapter() })],
          }),
          HeraldModule.forRootAsync({
            inject: [TransactionHost],
            useFactory: (txHost: TransactionHost) => ({
              transport: postgres({ db: admin, schema }),
              schema,
              relay: false,
              transaction: () => (txHost.isTransactionActive() ? txHost.tx : undefined),
            }),
          }),
        ],
      })(AppModule);
      app = await NestFactory.createApplicationContext(AppModule, { logger: false });
    });
    after(async () => {
      await app?.close();
      await client?.close();
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.end();
    });

    const xidsOf = async (id: string) => ({
      log: (
        await admin.query(`SELECT (xid::text::bigint & 4294967295)::text AS x FROM "${schema}".log WHERE id = $1`, [id])
      ).rows,
      effect: (await admin.query(`SELECT xmin::text AS x FROM "${schema}".effects WHERE event_id = $1`, [id])).rows,
    });

    it('outbox.add(event) writes in the transaction the adapter opened; a throw rolls both back', async () => {
      const txHost = app.get(TransactionHost) as TransactionHost<TransactionalAdapter<unknown, unknown, object>>;
      const outbox = app.get(HeraldOutbox);
      const kept = OrderPlaced({ orderId: uniqueName('o'), total: 1 });
      await txHost.withTransaction(async () => {
        await client.insertEffect(txHost.tx, kept.id, 'cls');
        await outbox.add(kept);
      });
      const { log, effect } = await xidsOf(kept.id);
      assert.equal(log.length, 1);
      assert.deepEqual(effect, log, 'the event and the business row in one transaction');

      const undone = OrderPlaced({ orderId: uniqueName('o'), total: 2 });
      await assert.rejects(
        txHost.withTransaction(async () => {
          await client.insertEffect(txHost.tx, undone.id, 'cls');
          await outbox.add(undone);
          throw new Error('undo');
        }),
        /undo/,
      );
      assert.deepEqual(await xidsOf(undone.id), { log: [], effect: [] });
      await assert.rejects(outbox.add(OrderPlaced({ orderId: 'o', total: 3 })), { code: 'HERALD_NO_TRANSACTION' });
    });
  });
}
