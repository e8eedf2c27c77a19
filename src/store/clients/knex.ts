/**
 * Knex: `knex.transaction(async (trx) => …)`; the transaction is a function marked
 * `isTransaction`. Statements go through `trx.raw(sql, bindings)`, whose placeholder is `?`:
 * Herald's `$n` become `?` (with the bindings in the order they appear) and any `?` already in
 * the text is escaped, so a jsonb operator such as `?|` reaches PostgreSQL as written.
 */
import type { Queryable } from '../db.ts';
import { type ClientAdapter, has, port } from './types.ts';

export interface KnexTransactionLike {
  raw(sql: string, bindings?: never): PromiseLike<unknown>;
  isTransaction?: boolean;
}

/** `$1 … $n` as Knex's `?`, with the bindings in order; a literal `?` escaped as `\?`. */
export function toKnexBindings(text: string, values: readonly unknown[]): { sql: string; bindings: unknown[] } {
  const bindings: unknown[] = [];
  const sql = text.replace(/\?|\$(\d+)/g, (match, n: string | undefined) => {
    if (match === '?') return '\\?';
    bindings.push(values[Number(n) - 1]);
    return '?';
  });
  return { sql, bindings };
}

export function knexPort(knex: object): Queryable {
  const raw = (knex as { raw(sql: string, bindings: unknown[]): PromiseLike<unknown> }).raw;
  return port('knex', async (text, values) => {
    const { sql, bindings } = toKnexBindings(text, values);
    // On PostgreSQL, raw() resolves with node-postgres' own result.
    const result = (await raw.call(knex, sql, bindings)) as { rows?: Record<string, unknown>[]; rowCount?: number };
    return { rows: result.rows ?? [], rowCount: result.rowCount ?? null };
  });
}

const knexLike = (v: object) => typeof v === 'function' && has(v, 'raw') && has(v, 'client', 'object');

export const knex: ClientAdapter = {
  client: 'knex',
  isTransaction: (v) => knexLike(v) && (v as { isTransaction?: unknown }).isTransaction === true,
  isOutsideTransaction: knexLike,
  wrap: knexPort,
  isDatabase: (v) => knexLike(v) && has(v, 'transaction'),
  database(db) {
    const k = db as unknown as { transaction<T>(fn: (trx: object) => Promise<T>): Promise<T> };
    return {
      client: 'knex',
      query: knexPort(db).query,
      transaction: (fn) => k.transaction((trx) => fn(trx, knexPort(trx))),
    };
  },
};
