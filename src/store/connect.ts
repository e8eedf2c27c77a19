import pg from 'pg';
import { invalidSetting, missingSetting } from '../config/check.ts';
import { settingFromEnv } from '../config/settings.ts';
import { HeraldError } from '../errors.ts';
import { isConnectionError } from '../retry/classify.ts';
import { abortedError } from './aborted.ts';
import { accessError } from './access-error.ts';
import type { Queryable } from './db.ts';

/** A pool of node-postgres connections, or anything that hands out clients the same way. */
export interface PoolLike extends Queryable {
  connect(): Promise<PoolClientLike>;
  end?(): Promise<void>;
  /**
   * Optional capability: calls `onNotify` on each NOTIFY of `channel` without a connection of its
   * own (PGlite listens in-process); resolves with the function that stops listening. A pool
   * without it is listened on through one of its node-postgres clients, held in LISTEN.
   */
  listen?(channel: string, onNotify: () => void): Promise<() => Promise<void>>;
}
export interface PoolClientLike extends Queryable {
  release(error?: Error | boolean): void;
}

export type DatabaseOption = string | PoolLike;

/** Strips the password from a connection string so it can be logged. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable connection string)';
  }
}

export function describeTarget(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname || 'localhost'}:${parsed.port || '5432'}${parsed.pathname}`;
  } catch {
    return '(unparseable connection string)';
  }
}

export function toDatabaseError(error: unknown, target: string): unknown {
  const access = accessError(error, target);
  if (access) return access;
  if (isConnectionError(error)) {
    const reason = error instanceof Error ? error.message : String(error);
    return new HeraldError('HERALD_DATABASE_UNAVAILABLE', `cannot reach PostgreSQL at ${target}: ${reason}`, {
      cause: error,
      retriable: true,
    });
  }
  return error;
}

/**
 * The database an entry point uses: the `db` option (a connection string or a pool), else
 * `DATABASE_URL`, as the CLI reads it.
 */
export function resolveDatabase(option: DatabaseOption | undefined): DatabaseOption {
  if (option !== undefined && option !== null && (typeof option === 'string' ? option !== '' : true)) {
    if (typeof option !== 'string' && typeof (option as Partial<PoolLike>).query !== 'function') {
      throw invalidSetting('db', 'must be a connection string or a pg Pool', option);
    }
    return option;
  }
  const url = settingFromEnv('databaseUrl');
  if (url) return url;
  throw missingSetting('db', 'a connection string or a pg Pool (or set DATABASE_URL)');
}

/** Opens a pool for a connection string, or uses the caller's pool (and leaves it open). */
export function openPool(
  db: DatabaseOption,
  max = 4,
  pipeline = false,
): { pool: PoolLike; owned: boolean; target: string } {
  if (typeof db === 'string') {
    // `pipeline`: statements are sent without waiting for the answers to those before them.
    const pool = new pg.Pool({ connectionString: db, max, connectionTimeoutMillis: 5_000, pipeline });
    // An idle client losing its connection (the server restarted) must not crash the process.
    pool.on('error', () => {});
    heedClientErrors(pool);
    return { pool, owned: true, target: describeTarget(db) };
  }
  heedClientErrors(db);
  return { pool: db, owned: false, target: 'the given pool' };
}

/**
 * Whether the pool's node-postgres clients are in pipeline mode (`new pg.Pool({ pipeline: true })`,
 * node-postgres 8.23 or later; older versions ignore the option): asked of a client it hands out.
 */
export async function poolPipelines(pool: PoolLike): Promise<boolean> {
  const client = await pool.connect();
  try {
    return (client as { pipeline?: unknown }).pipeline === true;
  } finally {
    client.release();
  }
}

const heeded = new WeakSet<object>();
type ClientEvents = { on?(event: 'error', listener: () => void): void };
type PoolEvents = { on?(event: 'connect', listener: (client: ClientEvents) => void): void };

/**
 * Every client a node-postgres pool connects from now on listens for `error` from its first
 * moment, whoever holds it; its next query still fails, and pg-pool drops it when released. A
 * server going down (57P01, a restart) makes node-postgres emit `error` on a client with no
 * query running, which ends the process when nothing listens, and pg-pool leaves a client without
 * a listener from the moment it hands it out until the caller's code runs: when the server's
 * ReadyForQuery and its 57P01 arrive in one packet, a new client fails before anyone holds it
 * (seen in the PostgreSQL transport's conformance test and, likely, the chaos run's consumer;
 * test/store/lost-connection.test.ts). Also for a pool the caller gives: the race is pg-pool's,
 * and only a listener added at connect closes it. Once per pool.
 */
function heedClientErrors(pool: PoolLike): void {
  const events = pool as unknown as PoolEvents;
  if (typeof events.on !== 'function' || heeded.has(pool)) return;
  heeded.add(pool);
  events.on('connect', (client) => client.on?.('error', () => {}));
}

/**
 * Runs `fn` in a transaction on one client of the pool (pg, or `herald/pglite`): BEGIN, COMMIT
 * when it resolves, ROLLBACK when it throws. A client that failed is destroyed, not reused. A
 * statement that failed inside it aborts it even when its error was caught: the COMMIT then rolls
 * back, and this throws HERALD_TRANSACTION_ABORTED rather than pretend it committed.
 * Write your business change and `outbox.add(tx, …)` inside it.
 */
export async function withTransaction<T>(pool: PoolLike, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  const unguard = guardCheckedOut(client);
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    // A COMMIT of a transaction that a failed statement aborted rolls back without an error.
    const committed = await client.query('COMMIT');
    if ((committed as { command?: string } | undefined)?.command === 'ROLLBACK') throw abortedError('the code');
    client.release();
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    client.release(error instanceof Error ? error : true);
    throw error;
  } finally {
    unguard();
  }
}

/**
 * A client checked out of a node-postgres pool has no error listener (the pool removes its own):
 * a connection the server drops between two queries emits 'error' on it, which would end the
 * process. Held across statements, a client gets a listener until the returned function runs.
 */
export function guardCheckedOut(client: PoolClientLike): () => void {
  const held = client as unknown as { on?(e: 'error', f: () => void): void; off?(e: 'error', f: () => void): void };
  const onError = () => {};
  held.on?.('error', onError);
  return () => held.off?.('error', onError);
}
