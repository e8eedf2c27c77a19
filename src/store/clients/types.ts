/**
 * What every client adapter gives Herald: its transaction object seen as the tiny DB port
 * (`Queryable`), and its database object seen as a port plus a way to open a transaction of the
 * client (for consumers and `withTransaction`). Adapters are structural: no client is imported at
 * run time, so none becomes a dependency of Herald.
 */
import type { Queryable, QueryResultLike } from '../db.ts';

/** A database of some client: plain statements (autocommit), and transactions of that client. */
export interface ClientDatabase<Tx = unknown> {
  /** The client's name in errors and logs, e.g. `kysely`. */
  readonly client: string;
  /** Statements outside any transaction (Herald's own bookkeeping). */
  readonly query: Queryable['query'];
  /** Runs `fn` in a transaction of the client: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Tx, port: Queryable) => Promise<T>): Promise<T>;
  /** Closes what Herald opened itself (nothing, for a client the application passed). */
  end?(): Promise<void>;
}

/** One client: how to recognise its transaction and its database, and how to wrap them. */
export interface ClientAdapter {
  readonly client: string;
  /** The value is this client's transaction object. */
  isTransaction(value: object): boolean;
  /** The value is this client's handle but not in a transaction (it would autocommit): refused. */
  isOutsideTransaction?(value: object): boolean;
  wrap(tx: object): Queryable;
  /** The value is this client's database object (a pool, a Kysely, a PrismaClient…). */
  isDatabase?(value: object): boolean;
  database?(db: object): ClientDatabase;
}

type QueryArg = string | { text: string; values?: unknown[] };

const portBrand = Symbol.for('herald.port');

/**
 * A port over a client's run function. It takes both call forms of `Queryable.query`, the named
 * (prepared statement) one too: names are node-postgres', so a client gets `prepared` instead,
 * and prepares the statement its own way (postgres.js) or lets its own cache do it.
 */
export function port(
  client: string,
  run: (text: string, values: unknown[], prepared: boolean) => Promise<QueryResultLike<Record<string, unknown>>>,
): Queryable {
  const query = (arg: QueryArg | { text: string; values?: unknown[]; name?: string }, values?: unknown[]) =>
    typeof arg === 'string' ? run(arg, values ?? [], false) : run(arg.text, arg.values ?? [], 'name' in arg);
  return { query: query as Queryable['query'], [portBrand]: client } as Queryable;
}

/** A port made by `port()` (or a wrapper such as `fromKysely`), taken as it is. */
export const isPort = (value: object): value is Queryable => portBrand in value;

/** A function's or object's own property, without touching getters that could throw. */
export const has = (value: object, key: PropertyKey, type: 'function' | 'object' = 'function'): boolean =>
  typeof (value as Record<PropertyKey, unknown>)[key] === type;
