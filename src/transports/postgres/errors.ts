import { HeraldError } from '../../errors.ts';
import { isConnectionError } from '../../retry/classify.ts';

/** A database error as the broker's: unreachable (retried), or refused. */
export function brokerError(error: unknown, target: string): HeraldError {
  if (error instanceof HeraldError) return error;
  if (isConnectionError(error)) {
    return new HeraldError(
      'HERALD_BROKER_UNAVAILABLE',
      `cannot reach the PostgreSQL broker at ${target}: ${(error as Error).message}`,
      {
        cause: error,
        retriable: true,
      },
    );
  }
  return new HeraldError('HERALD_PUBLISH_FAILED', `the PostgreSQL broker refused: ${(error as Error).message}`, {
    cause: error,
    retriable: true,
  });
}
