import { invalidSetting } from '../config/check.ts';
import { type DatabaseOption, openPool, resolveDatabase, toDatabaseError } from '../store/connect.ts';
import type { Queryable } from '../store/db.ts';
import { resolveSchema } from '../store/identifiers.ts';
import { type DeadLetterSelection, type FailureRow, hasSelection } from '../store/sql/filter.ts';

/** The database side of a dead-letter API: a pool (or the caller's client) and error mapping. */
export function openDeadLetterStore(option: DatabaseOption | Queryable | undefined, schemaOption: string | undefined) {
  const schema = resolveSchema(schemaOption).name;
  // A client (in the caller's transaction) is used as it is; otherwise a pool, or DATABASE_URL.
  const db =
    option !== undefined && typeof option !== 'string' && !('connect' in option) ? option : resolveDatabase(option);
  const isPool = typeof db === 'string' || 'connect' in db;
  const { pool, owned, target } = isPool
    ? openPool(db as DatabaseOption, 2)
    : { pool: db as Queryable, owned: false, target: 'the given client' };
  return {
    schema,
    pool,
    async guard<T>(fn: () => Promise<T>): Promise<T> {
      try {
        return await fn();
      } catch (error) {
        throw toDatabaseError(error, target);
      }
    },
    /** Retry and discard need ids or a filter: never everything by accident. */
    requireSelection(what: string, filter: DeadLetterSelection) {
      if (!hasSelection(filter)) {
        throw invalidSetting('filter', `${what} needs ids or a filter (type, key, error, since, until)`);
      }
    },
    async close() {
      if (owned) await (pool as { end?(): Promise<void> }).end?.();
    },
  };
}

/**
 * A dead letter's failure as the dead-letter APIs give it; `status` `retrying` (consumers' dead
 * letters): waiting for a running consumer of the group to handle it again.
 */
export interface Failure<S> {
  error: { code: string; message: string };
  attempts: number;
  firstFailedAt: Date;
  failedAt: Date;
  status: S;
  resolvedAt: Date | null;
  retryError: string | null;
}

export function failureOf<S>(row: FailureRow<S>): Failure<S> {
  return {
    error: { code: row.error_code, message: row.error_message },
    attempts: row.attempts,
    firstFailedAt: row.first_failed_at,
    failedAt: row.failed_at,
    status: row.status,
    resolvedAt: row.resolved_at,
    retryError: row.retry_error,
  };
}
