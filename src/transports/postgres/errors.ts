import { HeraldError } from '../../errors.ts';
import { isConnectionError, isDataError } from '../../retry/classify.ts';

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
  // A value PostgreSQL cannot store (a NUL in a header or key: text and jsonb refuse it) is
  // refused again on every attempt: not retriable, so the relay dead-letters that message alone.
  const data = isDataError(error);
  return new HeraldError(
    'HERALD_PUBLISH_FAILED',
    `the PostgreSQL broker ${data ? 'cannot store the message' : 'refused'}: ${(error as Error).message}`,
    { cause: error, retriable: !data },
  );
}
