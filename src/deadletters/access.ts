import { invalidSetting } from '../config/check.ts';
import type { DatabaseOption } from '../store/connect.ts';
import type { Queryable } from '../store/db.ts';
import { openDatabase } from '../store/open.ts';
import { type DeadLetterSelection, type FailureRow, hasSelection } from '../store/sql/filter.ts';

/** The database side of a dead-letter API: a pool (or the caller's client) and error mapping. */
export function openDeadLetterStore(option: DatabaseOption | Queryable | undefined, schemaOption: string | undefined) {
  return {
    ...openDatabase(option, schemaOption),
    /** Retry and discard need ids or a filter: never everything by accident. */
    requireSelection(what: string, filter: DeadLetterSelection) {
      if (!hasSelection(filter)) {
        throw invalidSetting('filter', `${what} needs ids or a filter (type, key, error, since, until)`);
      }
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
