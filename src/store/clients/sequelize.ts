/**
 * Sequelize 6: `sequelize.transaction(async (t) => …)`, the managed form. A transaction holds the
 * node-postgres client it runs on (`t.connection`, from the moment it began), so Herald's
 * statements run there as on node-postgres, named prepared statements too. Outside a
 * transaction, a connection of Sequelize's pool, taken and given back around each statement.
 */
import type { Queryable, QueryResultLike } from '../db.ts';
import { type ClientAdapter, has } from './types.ts';

export interface SequelizeTransactionLike {
  commit(): Promise<void>;
  rollback(): Promise<void>;
  afterCommit(fn: never): void;
}

interface SequelizeLike {
  transaction<T>(fn: (t: object) => Promise<T>): Promise<T>;
  connectionManager: {
    getConnection(options?: object): Promise<Queryable>;
    releaseConnection(c: Queryable): Promise<void>;
  };
}

const txLike = (v: object) => has(v, 'commit') && has(v, 'rollback') && has(v, 'sequelize', 'object');
const connectionOf = (v: object): Queryable | undefined => {
  const c = (v as { connection?: unknown }).connection;
  return typeof c === 'object' && c !== null && has(c, 'query') ? (c as Queryable) : undefined;
};
const sequelizeLike = (v: object) =>
  has(v, 'transaction') && has(v, 'getDialect') && has(v, 'connectionManager', 'object');

export const sequelize: ClientAdapter = {
  client: 'sequelize',
  // `finished` is set ('commit', 'rollback') when the transaction ends.
  isTransaction: (v) => txLike(v) && !(v as { finished?: unknown }).finished && connectionOf(v) !== undefined,
  isOutsideTransaction: (v) => txLike(v) || sequelizeLike(v),
  wrap: (t) => connectionOf(t) as Queryable,
  isDatabase: sequelizeLike,
  database(db) {
    const s = db as unknown as SequelizeLike;
    const query = async (text: string, values?: unknown[]): Promise<QueryResultLike> => {
      const connection = await s.connectionManager.getConnection({ type: 'write' });
      try {
        return await connection.query(text, values);
      } finally {
        await s.connectionManager.releaseConnection(connection);
      }
    };
    return {
      client: 'sequelize',
      query: query as Queryable['query'],
      transaction: (fn) => s.transaction((t) => fn(t, sequelize.wrap(t))),
    };
  },
};
