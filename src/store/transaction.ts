/**
 * The ambient transaction: inside `withTransaction(db, fn)`, and inside a consumer's handler,
 * `outbox.add(events)` finds the transaction without being handed it (AsyncLocalStorage). Outside
 * any, that call is HERALD_NO_TRANSACTION, never a write of its own that would commit alone.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { clientDatabase, noTransaction, type TransactionOf, transactionPort } from './clients/index.ts';
import type { Queryable } from './db.ts';

interface Ambient {
  tx: unknown;
  port: Queryable;
}

const ambient = new AsyncLocalStorage<Ambient>();

/** Runs `fn` with `tx` (and its port) as the ambient transaction. */
export function inTransactionScope<T>(tx: unknown, port: Queryable, fn: () => Promise<T>): Promise<T> {
  return ambient.run({ tx, port }, fn);
}

/**
 * The port of the ambient transaction, else of what `provided` gives (another library's ambient
 * transaction); HERALD_NO_TRANSACTION when there is none.
 */
export function ambientPort(provided?: () => unknown): Queryable {
  const current = ambient.getStore();
  if (current) return current.port;
  const external = provided?.();
  if (external !== undefined && external !== null) return transactionPort(external);
  throw noTransaction(
    'outbox.add(events) was called outside any transaction: run it inside withTransaction(db, fn) or a handler, or pass the transaction: outbox.add(tx, events)',
  );
}

/**
 * Runs `fn` in a transaction of `db` (a pg Pool, PGlite's pool, or the database object of
 * postgres.js, Kysely, Drizzle, Knex, Prisma, TypeORM, MikroORM or Sequelize): committed when
 * `fn` resolves, rolled back when it throws. `fn` receives the client's own transaction object,
 * and `outbox.add(events)` inside it writes in that transaction.
 */
export function withTransaction<D extends object, T>(db: D, fn: (tx: TransactionOf<D>) => Promise<T>): Promise<T> {
  return clientDatabase(db).transaction((tx, port) => inTransactionScope(tx, port, () => fn(tx as TransactionOf<D>)));
}
