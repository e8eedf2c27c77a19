/**
 * MikroORM 7 (PostgreSQL driver): `em.transactional(async (em) => …)` gives a forked
 * EntityManager whose `getTransactionContext()` is the Kysely transaction MikroORM runs its own
 * statements on. Herald's statements run on it with bound parameters (MikroORM's own `execute`
 * would inline the values into the SQL text). Outside a transaction, the connection's Kysely.
 */
import { kyselyPort, openKyselyTransaction } from './kysely.ts';
import { type ClientAdapter, has } from './types.ts';

export interface MikroOrmEntityManagerLike {
  getTransactionContext(): unknown;
  isInTransaction(): boolean;
}

interface EntityManagerLike extends MikroOrmEntityManagerLike {
  getTransactionContext(): object | undefined;
  getConnection(): { getClient(): object };
  transactional<T>(fn: (em: object) => Promise<T>): Promise<T>;
}

const emLike = (v: object) =>
  has(v, 'getTransactionContext') && has(v, 'isInTransaction') && has(v, 'getConnection') && has(v, 'transactional');

export const mikroOrm: ClientAdapter = {
  client: 'mikro-orm',
  isTransaction: (v) => {
    if (!emLike(v) || !(v as EntityManagerLike).isInTransaction()) return false;
    // A forked EntityManager keeps its context after the commit: the Kysely transaction says.
    const context = (v as EntityManagerLike).getTransactionContext();
    return context !== undefined && openKyselyTransaction(context);
  },
  isOutsideTransaction: emLike,
  wrap: (em) => kyselyPort((em as EntityManagerLike).getTransactionContext() as object),
  isDatabase: emLike,
  database(db) {
    const em = db as EntityManagerLike;
    return {
      client: 'mikro-orm',
      query: kyselyPort(em.getConnection().getClient()).query,
      transaction: (fn) => em.transactional((tx) => fn(tx, mikroOrm.wrap(tx))),
    };
  },
};
