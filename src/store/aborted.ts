import { HeraldError } from '../errors.ts';
import type { Queryable } from './db.ts';

/**
 * PostgreSQL aborts a transaction at a failed statement even when the handler catches the error,
 * and a COMMIT then rolls it back without an error: the handler would pass for handled, the
 * message be acknowledged, and its effect (and inbox row) be gone. These find that state.
 */
export const abortedError = (who = 'the handler') =>
  new HeraldError(
    'HERALD_TRANSACTION_ABORTED',
    `a statement in the transaction failed and ${who} caught the error: PostgreSQL aborted the transaction, so nothing of it commits; let the error through, or run the statement in a savepoint`,
    { retriable: true },
  );

type PgClient = { getTransactionStatus?: () => string | null; readyForQuery?: boolean };

/**
 * node-postgres knows the transaction's state from the server's last ReadyForQuery: 'E' is failed.
 * A caught error can reach the handler before that message is read, so the state counts only
 * once the client is ready again.
 */
function knownState(...clients: unknown[]): string | undefined {
  for (const c of clients) {
    const client = c as PgClient | null;
    const status = client?.getTransactionStatus?.();
    if (typeof status === 'string' && client?.readyForQuery === true) return status;
  }
  return undefined;
}

/** Throws when the client says the transaction failed; free, and silent where it cannot say. */
export function throwIfKnownAborted(native: unknown, port: Queryable): void {
  if (knownState(port, native) === 'E') throw abortedError();
}

/**
 * Throws when the transaction failed, before Herald commits it: the client's own word where it
 * has one, otherwise a statement that PostgreSQL refuses in a failed transaction (SQLSTATE 25P02).
 */
export async function throwIfAborted(native: unknown, port: Queryable): Promise<void> {
  const state = knownState(port, native);
  if (state !== undefined) {
    if (state === 'E') throw abortedError();
    return;
  }
  try {
    await port.query('SELECT 1');
  } catch (error) {
    if ((error as { code?: unknown } | null)?.code === '25P02') throw abortedError();
    throw error;
  }
}
