/**
 * Drizzle on node-postgres or on postgres.js: `db.transaction(async (tx) => …)`. Drizzle's
 * `execute` takes only its own `sql` tag for parameters (a bare array would expand), so Herald
 * does not go through it: every Drizzle object names its class under the global symbol
 * `drizzle:entityKind`, and a transaction's session holds the driver's connection, a
 * node-postgres client (named prepared statements work as usual) or a postgres.js transaction.
 */
import type { Queryable } from '../db.ts';
import { postgresJsPort } from './postgres-js.ts';
import { type ClientAdapter, has } from './types.ts';

export interface DrizzleTransactionLike {
  rollback(): never;
  execute(query: never): PromiseLike<unknown>;
}

const entityKind = Symbol.for('drizzle:entityKind');

const kindOf = (v: object): string | undefined => {
  const kind = (v.constructor as unknown as Record<symbol, unknown> | undefined)?.[entityKind];
  return typeof kind === 'string' ? kind : undefined;
};

/** The driver's client: a node-postgres Pool or PoolClient, or a postgres.js `sql` or transaction. */
function driverPort(client: unknown): Queryable {
  if (typeof client === 'function' && has(client, 'unsafe')) return postgresJsPort(client);
  return client as Queryable;
}

export function drizzlePort(tx: object): Queryable {
  return driverPort((tx as { session?: { client?: unknown } }).session?.client);
}

export const drizzle: ClientAdapter = {
  client: 'drizzle',
  isTransaction: (v) => {
    const kind = kindOf(v);
    const client = (v as { session?: { client?: unknown } }).session?.client;
    return (
      kind?.endsWith('Transaction') === true &&
      (typeof client === 'function' || typeof client === 'object') &&
      client !== null &&
      (has(client, 'unsafe') || has(client, 'query'))
    );
  },
  isOutsideTransaction: (v) => kindOf(v)?.endsWith('Database') === true,
  wrap: drizzlePort,
  isDatabase: (v) => (kindOf(v) === 'NodePgDatabase' || kindOf(v) === 'PostgresJsDatabase') && '$client' in v,
  database(db) {
    const d = db as unknown as { $client: unknown; transaction<T>(fn: (tx: object) => Promise<T>): Promise<T> };
    return {
      client: 'drizzle',
      query: driverPort(d.$client).query.bind(d.$client),
      transaction: (fn) => d.transaction((tx) => fn(tx, drizzlePort(tx))),
    };
  },
};
