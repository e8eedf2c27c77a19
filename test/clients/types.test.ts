/**
 * The handler's `tx` is the transaction type of the user's own client, inferred from the `db`
 * given to createConsumer (checked by the compiler: `npm run typecheck`), and a consumer over a
 * client refuses what is not a database object of a supported client.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EntityManager as MikroEntityManager } from '@mikro-orm/postgresql';
import type { Knex } from 'knex';
import type { Kysely, Transaction } from 'kysely';
import type pg from 'pg';
import type { Sql, TransactionSql } from 'postgres';
import type { Sequelize, Transaction as SequelizeTransaction } from 'sequelize';
import type { DataSource, EntityManager } from 'typeorm';
import { type Consumer, createConsumer, type Queryable, type TransactionOf } from '../../src/index.ts';
import type { Transport } from '../../src/transports/transport.ts';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const expect = <T extends true>(): T => true as T;

interface Db {
  orders: { id: string };
}

/** Never called: the compiler checks that a handler's `tx` is the client's transaction. */
export function typedHandlers(transport: Transport, db: Kysely<Db>): Consumer<Transaction<Db>> {
  return createConsumer({ transport, group: 'g', db }).on({} as never, async (_event, { tx }) => {
    expect<Equal<typeof tx, Transaction<Db>>>();
    await tx.selectFrom('orders').select('id').execute();
  });
}

describe('the transaction type of each client', () => {
  it('is inferred from the database object', async () => {
    expect<Equal<TransactionOf<pg.Pool>, Queryable>>();
    expect<Equal<TransactionOf<string>, Queryable>>();
    expect<Equal<TransactionOf<Kysely<Db>>, Transaction<Db>>>();
    expect<Equal<TransactionOf<Sql>, TransactionSql>>();
    expect<Equal<TransactionOf<Knex>, Knex.Transaction>>();
    expect<Equal<TransactionOf<DataSource>, EntityManager>>();
    expect<Equal<TransactionOf<Sequelize>, SequelizeTransaction>>();
    expect<Equal<TransactionOf<MikroEntityManager>, MikroEntityManager>>();
    const { drizzle } = await import('drizzle-orm/node-postgres');
    const db = drizzle('postgres://unused');
    type DrizzleTx = Parameters<Parameters<typeof db.transaction>[0]>[0];
    expect<Equal<TransactionOf<typeof db>, DrizzleTx>>();
    assert.ok(true);
  });
});
