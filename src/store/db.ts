/**
 * The database port. It is deliberately tiny: anything with `query(text, values)` that returns
 * `{ rows }` fits, which is what node-postgres' Pool, PoolClient and Client already are. Other
 * clients (postgres.js, Drizzle, Kysely, PGlite) plug in through a few-line adapter.
 */
export interface QueryResultLike<R = Record<string, unknown>> {
  rows: R[];
  rowCount?: number | null;
}

export interface Queryable {
  query<R = Record<string, unknown>>(text: string, values?: unknown[]): Promise<QueryResultLike<R>>;
}

/**
 * Runs a statement, named (prepared once per connection) when `name` is given. Named statements
 * use node-postgres' `query({ name, text, values })` form, which pg's Pool, PoolClient and
 * Client accept; adapters for other clients take the object form too, or are used with
 * prepared statements off.
 */
export function runQuery<R = Record<string, unknown>>(
  db: Queryable,
  name: string | undefined,
  text: string,
  values: unknown[],
): Promise<QueryResultLike<R>> {
  if (name === undefined) return db.query<R>(text, values);
  const named = db as unknown as {
    query(config: { name: string; text: string; values: unknown[] }): Promise<QueryResultLike<R>>;
  };
  return named.query({ name, text, values });
}
