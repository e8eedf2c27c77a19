/**
 * Kysely: `db.transaction().execute((trx) => …)`; a `Transaction` says `isTransaction === true`.
 * Statements run as a compiled raw query on the transaction's connection, without the
 * instance's plugins (a CamelCasePlugin would rename the columns Herald reads).
 */
import type { Queryable } from '../db.ts';
import { type ClientAdapter, has, port } from './types.ts';

export interface KyselyTransactionLike {
  readonly isTransaction: true;
  executeQuery(query: never): Promise<unknown>;
}

interface Executes {
  executeQuery(query: unknown): Promise<{ rows: Record<string, unknown>[]; numAffectedRows?: bigint }>;
  withoutPlugins?(): Executes;
}

export function kyselyPort(db: object): Queryable {
  const executor = has(db, 'withoutPlugins') ? (db as Required<Executes>).withoutPlugins() : (db as Executes);
  return port('kysely', async (text, values) => {
    // The shape of Kysely's CompiledQuery.raw(text, values), built here so Kysely is not imported.
    const result = await executor.executeQuery({
      sql: text,
      parameters: values,
      query: { kind: 'RawNode', sqlFragments: [text], parameters: [] },
      queryId: { queryId: 'herald' },
    });
    const affected = result.numAffectedRows;
    return { rows: result.rows, rowCount: affected === undefined ? result.rows.length : Number(affected) };
  });
}

const kyselyLike = (v: object) => has(v, 'executeQuery') && has(v, 'getExecutor');

/** A Kysely transaction still open: a ControlledTransaction says when it has ended. */
export const openKyselyTransaction = (v: object): boolean => {
  const t = v as { isTransaction?: unknown; isCommitted?: unknown; isRolledBack?: unknown };
  return kyselyLike(v) && t.isTransaction === true && t.isCommitted !== true && t.isRolledBack !== true;
};

export const kysely: ClientAdapter = {
  client: 'kysely',
  isTransaction: openKyselyTransaction,
  isOutsideTransaction: (v) => kyselyLike(v),
  wrap: kyselyPort,
  isDatabase: (v) => kyselyLike(v) && has(v, 'transaction'),
  database(db) {
    const k = db as unknown as { transaction(): { execute<T>(fn: (tx: object) => Promise<T>): Promise<T> } };
    return {
      client: 'kysely',
      query: kyselyPort(db).query,
      transaction: (fn) => k.transaction().execute((tx) => fn(tx, kyselyPort(tx))),
    };
  },
};
