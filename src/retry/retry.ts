import { type BackoffOptions, backoffDelay, defaultBackoff, sleep } from './backoff.ts';
import { classifyError, type ErrorKind } from './classify.ts';

/** Where a retried operation stands after a failure, for logs, stats and metrics. */
export interface RetryState {
  /** The failure's kind (see classifyError). */
  kind: ErrorKind;
  /** Failed attempts that were not outages, so far. */
  failures: number;
  /** Failed attempts that were outages, so far. */
  outages: number;
}

export interface RetryOptions {
  /** Stops retrying (the attempt under way finishes; no new one starts). */
  signal?: AbortSignal;
  backoff?: BackoffOptions;
  /** Failures that are not outages before giving up; default no limit. */
  attempts?: number;
  /** Outages before giving up; default no limit (wait for the service to come back). */
  outages?: number;
  /**
   * Failures that are not the operation's fault and so do not count against `attempts` (say, a
   * lock conflict with other transactions): retried without limit, at the backoff's pace.
   */
  uncounted?: (error: unknown) => boolean;
  /** Retry `permanent` failures too (default false: give up on them at once). */
  retryPermanent?: boolean;
  classify?: (error: unknown) => ErrorKind;
  /** Called after each failed attempt, before the backoff: log, count, reset a client. */
  onError?: (error: unknown, state: RetryState) => void | Promise<void>;
  /** Called when an attempt succeeds after failures. */
  onRecovered?: (state: RetryState) => void;
}

export type RetryOutcome<T> =
  | { ok: true; value: T }
  | { ok: false; stopped: true }
  | ({ ok: false; stopped: false; error: unknown } & RetryState);

/**
 * Runs `fn` until it succeeds, gives up, or the signal stops it: the one retry loop of Herald.
 * Between attempts it waits with exponential backoff and jitter (outages and failures together
 * set the pace, capped), so a service that is down never meets a hot loop. The first attempt runs
 * even when the signal has already fired, so that work in flight at stop can finish.
 */
export async function retry<T>(
  fn: (attempt: number) => Promise<T>,
  options: RetryOptions = {},
): Promise<RetryOutcome<T>> {
  const { signal } = options;
  const classify = options.classify ?? classifyError;
  const maxFailures = options.attempts ?? Number.POSITIVE_INFINITY;
  const maxOutages = options.outages ?? Number.POSITIVE_INFINITY;
  let failures = 0;
  let outages = 0;
  let uncounted = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      const value = await fn(attempt);
      if (failures + outages > 0) options.onRecovered?.({ kind: 'retriable', failures, outages });
      return { ok: true, value };
    } catch (error) {
      const kind = classify(error);
      if (kind === 'outage') outages++;
      else if (kind === 'retriable' && options.uncounted?.(error)) uncounted++;
      else failures++;
      const state: RetryState = { kind, failures, outages };
      await options.onError?.(error, state);
      const giveUp =
        (kind === 'permanent' && !options.retryPermanent) || failures >= maxFailures || outages >= maxOutages;
      if (giveUp) return { ok: false, stopped: false, error, ...state };
      if (signal?.aborted) return { ok: false, stopped: true };
      await sleep(
        backoffDelay(Math.min(failures + outages + uncounted - 1, 10), options.backoff ?? defaultBackoff),
        signal,
      );
      if (signal?.aborted) return { ok: false, stopped: true };
    }
  }
}
