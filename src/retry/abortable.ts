/** What `orAborted` gives when the signal fired first. */
export const aborted: unique symbol = Symbol('aborted');

/**
 * The promise's outcome, or `aborted` as soon as the signal fires. Unlike racing against a
 * promise that settles at stop, nothing is left behind once the promise settles: a race against a
 * long-lived promise adds a reaction to it per call, which holds every value raced (a consumer's
 * every delivery) until stop.
 */
export function orAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | typeof aborted> {
  if (signal.aborted) return Promise.resolve(aborted);
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve(aborted);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
