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

/** A connection that can be told of NOTIFYs: the relay's wake-up path. Optional capability. */
export interface Listener {
  listen(channel: string, onNotify: () => void): Promise<void>;
  close(): Promise<void>;
}
