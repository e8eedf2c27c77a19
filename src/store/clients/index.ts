/**
 * Every database client Herald takes, recognised by shape: node-postgres and PGlite (the port
 * itself), postgres.js, Kysely, Drizzle, Knex, Prisma, TypeORM, MikroORM, Sequelize. `transactionPort` turns the
 * transaction object the application already holds into the port Herald writes through;
 * `clientDatabase` turns its database object into plain statements plus transactions of that
 * client, for consumers and `withTransaction`.
 */
import { HeraldError } from '../../errors.ts';
import { type PoolLike, withTransaction as withPoolTransaction } from '../connect.ts';
import type { Queryable } from '../db.ts';
import { type DrizzleTransactionLike, drizzle } from './drizzle.ts';
import { type KnexTransactionLike, knex } from './knex.ts';
import { type KyselyTransactionLike, kysely } from './kysely.ts';
import { type MikroOrmEntityManagerLike, mikroOrm } from './mikro-orm.ts';
import { type PostgresJsTransactionLike, postgresJs } from './postgres-js.ts';
import { type PrismaTransactionLike, prisma } from './prisma.ts';
import { type SequelizeTransactionLike, sequelize } from './sequelize.ts';
import { type TypeOrmEntityManagerLike, typeorm } from './typeorm.ts';
import { type ClientAdapter, type ClientDatabase, has, isPort } from './types.ts';

export type { ClientDatabase } from './types.ts';

/** Drizzle first: its transaction is also a query builder that other shapes could match. */
const adapters: readonly ClientAdapter[] = [drizzle, kysely, knex, postgresJs, prisma, typeorm, mikroOrm, sequelize];

/** A transaction object of any supported client. */
export type ClientTransaction =
  | Queryable
  | PostgresJsTransactionLike
  | KyselyTransactionLike
  | DrizzleTransactionLike
  | KnexTransactionLike
  | PrismaTransactionLike
  | TypeOrmEntityManagerLike
  | MikroOrmEntityManagerLike
  | SequelizeTransactionLike;

/** Ports made, by transaction object; checked again at each use (a TypeORM QueryRunner outlives its transactions). */
const ports = new WeakMap<object, { adapter: ClientAdapter; port: Queryable }>();

const isObject = (v: unknown): v is object => (typeof v === 'object' || typeof v === 'function') && v !== null;

export function noTransaction(message: string): HeraldError {
  return new HeraldError('HERALD_NO_TRANSACTION', message);
}

/**
 * The port over a transaction of any client. A client's handle that is not in a transaction (a
 * Kysely, a PrismaClient, a Drizzle database…) is refused: writing the outbox there would
 * commit the events alone, whatever becomes of the business change.
 */
export function transactionPort(tx: unknown): Queryable {
  if (!isObject(tx)) throw noTransaction(`outbox.add needs a transaction of your database client, got ${typeof tx}`);
  const known = ports.get(tx);
  if (known?.adapter.isTransaction(tx)) return known.port;
  if (isPort(tx)) return tx;
  for (const adapter of adapters) {
    if (adapter.isTransaction(tx)) {
      const port = adapter.wrap(tx);
      ports.set(tx, { adapter, port });
      return port;
    }
  }
  for (const adapter of adapters) {
    if (adapter.isOutsideTransaction?.(tx)) {
      throw noTransaction(
        `outbox.add was given a ${adapter.client} handle that is not in a transaction; pass the transaction object your client gives inside its transaction`,
      );
    }
  }
  if (has(tx, 'query')) return tx as Queryable;
  throw noTransaction(
    'outbox.add needs a transaction of your database client (pg, postgres.js, Kysely, Drizzle, Knex, Prisma, TypeORM, MikroORM, Sequelize)',
  );
}

/** A node-postgres Pool or anything shaped like one (PGlite's from `herald/pglite`). */
export const isPool = (db: unknown): db is PoolLike => isObject(db) && has(db, 'query') && has(db, 'connect');

/** The database object of a supported client other than a pool, or undefined. */
export function clientAdapterOf(db: unknown): ClientAdapter | undefined {
  if (!isObject(db) || isPool(db)) return undefined;
  return adapters.find((a) => a.isDatabase?.(db) === true);
}

/** Statements and transactions on a pool or on a client's database object. */
export function clientDatabase(db: unknown): ClientDatabase {
  if (isPool(db)) {
    return {
      client: 'pg',
      query: db.query.bind(db),
      transaction: (fn) => withPoolTransaction(db, (tx) => fn(tx, tx)),
    };
  }
  const adapter = clientAdapterOf(db);
  if (!adapter?.database) {
    throw new HeraldError(
      'HERALD_INVALID_CONFIG',
      'db must be a connection string, a pg Pool, or the database object of postgres.js, Kysely, Drizzle, Knex, Prisma, TypeORM, MikroORM or Sequelize',
      { details: { setting: 'db' } },
    );
  }
  return adapter.database(db as object);
}

/*
 * The transaction type each client's database object hands out, read from its own types: the
 * parameter of the first function argument of its transaction method, across two overloads
 * (Knex, TypeORM and postgres.js overload theirs; Prisma's other form takes an array).
 */
// biome-ignore lint/suspicious/noExplicitAny: matching any function signature needs `any`.
type AnyFn = (...args: any[]) => any;
type TxIn<A> = A extends readonly [infer First, ...infer Rest]
  ? First extends AnyFn
    ? Parameters<First>[0]
    : TxIn<Rest>
  : never;
type Signatures<F> = F extends { (...a: infer A1): unknown; (...a: infer A2): unknown }
  ? A1 | A2
  : F extends AnyFn
    ? Parameters<F>
    : never;
type Callback<F> = TxIn<Signatures<F>>;

/** The transaction object of the client `D` (a pg Pool's is its PoolClient-like port). */
export type TransactionOf<D> = D extends string | PoolLike
  ? Queryable
  : D extends { $transaction: infer F }
    ? Callback<F>
    : D extends { transaction(): { execute: infer F } }
      ? Callback<F>
      : D extends { begin: infer F; unsafe: unknown }
        ? Callback<F>
        : D extends { transaction: infer F }
          ? Callback<F>
          : D extends { transactional: infer F }
            ? Callback<F>
            : unknown;
