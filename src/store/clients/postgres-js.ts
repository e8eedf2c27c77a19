/**
 * postgres.js: `sql.begin((tx) => …)` gives the transaction, a tagged-template function like `sql`
 * itself; only a transaction has `savepoint`. Statements go through `unsafe(text, values)`, which
 * returns the rows as an array (with `count`); postgres.js prepares them itself. A parameter the
 * SQL casts (`$10::jsonb`) is sent as text, so postgres.js does not JSON-encode it again. Array values are
 * sent as PostgreSQL array literals and dates as ISO text: Drizzle turns postgres.js' own
 * serializers off for `timestamptz`, `timestamptz[]` and the like, and text reads the same either way.
 */
import type { Queryable } from '../db.ts';
import { type ClientAdapter, has, port } from './types.ts';

export interface PostgresJsLike {
  unsafe(query: string, parameters?: never[]): PromiseLike<unknown>;
  readonly begin: unknown;
}
export interface PostgresJsTransactionLike {
  unsafe(query: string, parameters?: never[]): PromiseLike<unknown>;
  /** Only a transaction has it. */
  readonly savepoint: unknown;
}

type Unsafe = (
  text: string,
  values: unknown[],
  options: { prepare: boolean },
) => PromiseLike<Record<string, unknown>[] & { count?: number }>;
type Typed = (value: unknown, oid: number) => unknown;

const TEXT = 25;

/** The parameters written with an explicit cast (`$3::jsonb`): those are sent as text. */
const castParameters = (text: string): Set<number> =>
  new Set([...text.matchAll(/\$(\d+)::/g)].map((m) => Number(m[1])));

const sqlLike = (v: object) => typeof v === 'function' && has(v, 'unsafe');

const element = (v: unknown): string => {
  if (v === null || v === undefined) return 'NULL';
  const text = v instanceof Date ? v.toISOString() : String(v);
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
};

/** A one-dimensional array as PostgreSQL's text form, `{"a","b",NULL}`. */
export const arrayLiteral = (values: readonly unknown[]): string => `{${values.map(element).join(',')}}`;

export function postgresJsPort(sql: object): Queryable {
  const { unsafe, typed, options } = sql as { unsafe: Unsafe; typed?: Typed; options?: { prepare?: boolean } };
  // unsafe() does not prepare unless told: Herald's statements are prepared as named ones are on
  // node-postgres (a short run here: outbox.add's overhead on a 1 KB business insert went from
  // about 55 % unprepared to about 30 %), unless the
  // instance was made with `prepare: false` (behind a transaction-mode pooler).
  const canPrepare = options?.prepare !== false;
  return port('postgres.js', async (text, values, prepared) => {
    const cast = castParameters(text);
    const params = values.map((v, i) => {
      const value = Array.isArray(v) ? arrayLiteral(v) : v instanceof Date ? v.toISOString() : v;
      // postgres.js would serialise a string bound to a jsonb parameter with JSON.stringify (a
      // JSON string, not the object): declared text, the SQL's own cast reads it.
      return typed && typeof value === 'string' && cast.has(i + 1) ? typed.call(sql, value, TEXT) : value;
    });
    const result = await unsafe.call(sql, text, params, { prepare: prepared && canPrepare });
    return { rows: [...result], rowCount: result.count ?? result.length };
  });
}

export const postgresJs: ClientAdapter = {
  client: 'postgres.js',
  isTransaction: (v) => sqlLike(v) && has(v, 'savepoint'),
  isOutsideTransaction: (v) => sqlLike(v) && has(v, 'begin'),
  wrap: postgresJsPort,
  isDatabase: (v) => sqlLike(v) && has(v, 'begin'),
  database(db) {
    const sql = db as unknown as { begin<T>(fn: (tx: object) => Promise<T>): Promise<T> };
    return {
      client: 'postgres.js',
      query: postgresJsPort(db).query,
      transaction: (fn) => sql.begin((tx) => fn(tx, postgresJsPort(tx))),
    };
  },
};
