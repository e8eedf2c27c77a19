import { HeraldError, isHeraldError } from '../errors.ts';
import type { Logger } from '../observe/logger.ts';
import type { BackoffOptions } from '../retry/backoff.ts';
import { type RetryOptions, retry } from '../retry/retry.ts';
import { toDatabaseError } from '../store/connect.ts';
import type { Transport } from '../transports/transport.ts';
import type { RelayStats } from './relay.ts';

/**
 * Every failure the relay meets as a HeraldError: the transports' own, a database that cannot be
 * reached as HERALD_DATABASE_UNAVAILABLE, anything else as a refused publish (retriable).
 */
export function relayError(error: unknown, target: string): HeraldError {
  if (isHeraldError(error)) return error;
  const mapped = toDatabaseError(error, target);
  if (isHeraldError(mapped)) return mapped;
  const message = error instanceof Error ? error.message : String(error);
  return new HeraldError('HERALD_PUBLISH_FAILED', message, { cause: error, retriable: true });
}

export type AttemptOutcome =
  | { ok: true }
  | { ok: false; stopped: true }
  | { ok: false; stopped: false; error: HeraldError; failures: number };

export type Attempt = (
  what: string,
  fn: () => Promise<void>,
  options?: Pick<RetryOptions, 'attempts'> & { onError?: () => Promise<void> },
) => Promise<AttemptOutcome>;

/**
 * The relay's use of the one retry loop: every operation (lease heartbeat, read, publish, cursor
 * update, dead letter) is retried with backoff until it succeeds or the relay stops; publishing
 * gives up after `attempts` so that a message the broker refuses goes to dead letters. Outages
 * (broker or database unreachable) never count as attempts: the circuit opens and the relay waits.
 * One log line when failing starts (or changes cause) and one when it ends: a broker down for an
 * hour is two lines. The stats show the state, failures, circuit and last error.
 */
export function createAttempts(deps: {
  stats: RelayStats;
  logger: Logger;
  transport: Transport;
  backoff: BackoffOptions;
  signal: AbortSignal;
  target: string;
}): { attempt: Attempt; failed: (what: string, error: HeraldError) => void } {
  const { stats, logger, transport } = deps;
  const failed = (what: string, herald: HeraldError) => {
    const { code } = herald;
    if (code === 'HERALD_BROKER_UNAVAILABLE') stats.circuit = 'open';
    if (stats.failures === 0 || stats.lastError?.code !== code) {
      logger.error(
        { code, circuit: stats.circuit, error: herald, transport: transport.describe() },
        `${what} failed; retrying with backoff`,
      );
    }
    stats.failures++;
    stats.state = 'retrying';
    stats.lastError = { code, message: herald.message, at: new Date() };
  };
  const recovered = (what: string) => {
    if (stats.failures > 0) logger.info({ attempts: stats.failures, circuit: 'closed' }, `${what} recovered`);
    stats.circuit = 'closed';
    stats.failures = 0;
    stats.state = 'running';
  };
  const attempt: Attempt = async (what, fn, options = {}) => {
    const outcome = await retry(
      async () => {
        try {
          await fn();
        } catch (error) {
          throw relayError(error, deps.target);
        }
      },
      {
        signal: deps.signal,
        backoff: deps.backoff,
        // Reading, leasing and cursor updates retry whatever fails; publishing gives up when told.
        retryPermanent: options.attempts === undefined,
        ...(options.attempts === undefined ? {} : { attempts: options.attempts }),
        onError: async (error) => {
          failed(what, error as HeraldError);
          await options.onError?.().catch(() => {});
        },
      },
    );
    if (outcome.ok) {
      recovered(what);
      return { ok: true };
    }
    if (outcome.stopped) return outcome;
    return { ok: false, stopped: false, error: relayError(outcome.error, deps.target), failures: outcome.failures };
  };
  return { attempt, failed };
}
