/**
 * Rejects with `onTimeout()` if `promise` has not settled in `ms`: broker clients can wait
 * forever for an answer from a server that stopped reading. `late` disposes of a result that
 * arrives after the deadline (a connection that opens too late is closed, not leaked).
 */
export function withDeadline<T>(
  promise: Promise<T>,
  ms: number,
  onTimeout: () => Error,
  late?: (value: T) => void,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let expired = false;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      expired = true;
      reject(onTimeout());
    }, ms);
  });
  if (late) void promise.then((value) => expired && late(value)).catch(() => {});
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
