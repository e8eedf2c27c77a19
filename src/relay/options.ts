import { HeraldError } from '../errors.ts';
import type { RelayOptions } from './relay.ts';

/** Validates a relay's options once, at creation; the error names the option. */
export function checkOptions(options: RelayOptions): void {
  const bad = (setting: string, rule: string, value: unknown) =>
    new HeraldError('HERALD_INVALID_CONFIG', `${setting}: ${JSON.stringify(value)} ${rule}`, { details: { setting } });
  const { batchSize, pollIntervalMs, maxAttempts, onFailure } = options;
  if (maxAttempts !== undefined && !(Number.isInteger(maxAttempts) && maxAttempts >= 1)) {
    throw bad('maxAttempts', 'must be a positive integer', maxAttempts);
  }
  const { retentionDays } = options;
  if (retentionDays !== undefined && !(Number.isInteger(retentionDays) && retentionDays >= 0)) {
    throw bad('retentionDays', 'must be a whole number of days (0 turns maintenance off)', retentionDays);
  }
  if (options.leaseMs !== undefined && !(Number.isInteger(options.leaseMs) && options.leaseMs >= 250)) {
    throw bad('leaseMs', 'must be an integer of at least 250', options.leaseMs);
  }
  if (onFailure !== undefined && onFailure !== 'dead-letter' && onFailure !== 'block') {
    throw bad('onFailure', "must be 'dead-letter' or 'block'", onFailure);
  }
  if (batchSize !== undefined && !(Number.isInteger(batchSize) && batchSize >= 1 && batchSize <= 100_000)) {
    throw bad('batchSize', 'must be an integer from 1 to 100000', batchSize);
  }
  if (pollIntervalMs !== undefined && !(Number.isFinite(pollIntervalMs) && pollIntervalMs >= 10)) {
    throw bad('pollIntervalMs', 'must be at least 10', pollIntervalMs);
  }
  if (!options.transport || typeof options.transport.publish !== 'function') {
    throw bad('transport', 'must be a Herald transport, e.g. kafka({ brokers })', typeof options.transport);
  }
  if (!options.db) throw bad('db', 'must be a connection string or a pg Pool', options.db);
}
