/**
 * PGlite (PostgreSQL compiled to WebAssembly, in-process) as Herald's store: no server at all.
 * One connection serves everything, so this pool hands it out one holder at a time: a client
 * taken with `connect()` (a transaction) has it to itself until `release()`, and plain queries
 * wait their turn. Values come back as node-postgres gives them (int8 and numeric as strings,
 * bytea as Buffer), so the same code runs on both.
 */
import type { PGlite, PGliteOptions } from '@electric-sql/pglite';
import { HeraldError } from '../errors.ts';
import { loadOptional } from '../optional.ts';
import type { PoolClientLike, PoolLike } from './connect.ts';
import type { QueryResultLike } from './db.ts';

const INT8 = 20;
const BYTEA = 17;

export interface PglitePool extends PoolLike {
  /** The PGlite instance, for what the pool does not cover. */
  readonly db: PGlite;
  /** LISTEN in-process: the relay's wake-up on NOTIFY works as on a server. */
  listen(channel: string, onNotify: () => void): Promise<() => Promise<void>>;
  end(): Promise<void>;
}

type QueryArg = string | { text: string; values?: unknown[] };

/** As node-postgres: the rows a query returned (PGlite says 0 affected for a SELECT), or the rows a write changed. */
const rowCount = (r: { rows: unknown[]; fields: unknown[]; affectedRows?: number }) =>
  r.fields.length > 0 ? r.rows.length : (r.affectedRows ?? 0);

function lock() {
  let tail = Promise.resolve();
  return (): Promise<() => void> => {
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const turn = tail.then(() => release);
    tail = tail.then(() => held);
    return turn;
  };
}

/** Opens PGlite: a missing package and a database that will not open are told apart. */
async function open(dataDir: string | undefined, parsers: NonNullable<PGliteOptions['parsers']>): Promise<PGlite> {
  const { PGlite } = await loadOptional(
    () => import('@electric-sql/pglite'),
    '@electric-sql/pglite',
    'the embedded store',
  );
  try {
    return await PGlite.create(dataDir, { parsers });
  } catch (error) {
    throw new HeraldError(
      'HERALD_DATABASE_UNAVAILABLE',
      `PGlite could not open ${dataDir ? `its data directory ${dataDir}` : 'an in-memory database'}: ${(error as Error).message ?? error}`,
      { cause: error },
    );
  }
}

/**
 * Opens PGlite (in memory, or in `dataDir` to keep data across runs) or wraps an instance you
 * made, as a pool for `migrate`, `createOutbox`, `createRelay`, `createConsumer` and the
 * PostgreSQL transport.
 */
export async function pglite(options: { dataDir?: string } | PGlite = {}): Promise<PglitePool> {
  const parsers: PGliteOptions['parsers'] = {
    [INT8]: (v: string) => v,
    [BYTEA]: (v: string) => Buffer.from(v.startsWith('\\x') ? v.slice(2) : v, 'hex'),
  };
  const owned = !('query' in options);
  const db: PGlite = owned ? await open((options as { dataDir?: string }).dataDir, parsers) : (options as PGlite);
  const acquire = lock();
  const run = async <R>(arg: QueryArg, values?: unknown[]): Promise<QueryResultLike<R>> => {
    const text = typeof arg === 'string' ? arg : arg.text;
    const params = typeof arg === 'string' ? values : arg.values;
    const options = owned ? undefined : { parsers };
    if (!params || params.length === 0) {
      // Without parameters, the simple protocol, which also runs several statements (migrations).
      const results = await db.exec(text, options);
      const last = results.at(-1);
      return { rows: (last?.rows ?? []) as R[], rowCount: last ? rowCount(last) : 0 };
    }
    const result = await db.query<R>(text, params, options);
    return { rows: result.rows, rowCount: rowCount(result) };
  };
  const query = (async (arg: QueryArg, values?: unknown[]) => {
    const release = await acquire();
    try {
      return await run(arg, values);
    } finally {
      release();
    }
  }) as PoolLike['query'];
  return {
    db,
    query,
    async connect(): Promise<PoolClientLike> {
      const release = await acquire();
      let released = false;
      return {
        query: ((arg: QueryArg, values?: unknown[]) => run(arg, values)) as PoolClientLike['query'],
        release() {
          if (released) return;
          released = true;
          release();
        },
      };
    },
    async listen(channel, onNotify) {
      const release = await acquire();
      try {
        const unlisten = await db.listen(channel, () => onNotify());
        return async () => {
          const again = await acquire();
          try {
            await unlisten();
          } finally {
            again();
          }
        };
      } finally {
        release();
      }
    },
    async end() {
      if (owned) await db.close();
    },
  };
}
