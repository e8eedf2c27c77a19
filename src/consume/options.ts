import { HeraldError } from '../errors.ts';
import { quoteIdent } from '../store/identifiers.ts';
import { groupPattern } from '../transports/transport.ts';
import type { ConsumerOptions } from './consumer.ts';

/** Validates a consumer's options once, at creation; the error names the option. */
export function checkConsumerOptions(options: ConsumerOptions): void {
  const bad = (setting: string, rule: string, value: unknown) =>
    new HeraldError('HERALD_INVALID_CONFIG', `${setting}: ${JSON.stringify(value)} ${rule}`, { details: { setting } });
  if (!options.transport || typeof options.transport.subscribe !== 'function') {
    throw bad(
      'transport',
      'must be a Herald transport that can consume, e.g. kafka({ brokers })',
      typeof options.transport,
    );
  }
  if (typeof options.group !== 'string' || !groupPattern.test(options.group)) {
    throw bad('group', 'must be 1-200 of A-Z a-z 0-9 . _ -', options.group);
  }
  if (!options.db) throw bad('db', 'must be a connection string or a pg Pool', options.db);
  if (options.schema !== undefined) quoteIdent(options.schema);
  const positive = (setting: keyof ConsumerOptions, max: number) => {
    const v = options[setting];
    if (v !== undefined && !(Number.isInteger(v) && (v as number) >= 1 && (v as number) <= max)) {
      throw bad(setting, `must be an integer from 1 to ${max}`, v);
    }
  };
  positive('concurrency', 1_000);
  positive('maxInFlight', 1_000_000);
  const { retry } = options;
  if (retry?.attempts !== undefined && !(Number.isInteger(retry.attempts) && retry.attempts >= 1)) {
    throw bad('retry.attempts', 'must be a positive integer', retry.attempts);
  }
  for (const k of ['initialMs', 'maxMs'] as const) {
    const v = retry?.[k];
    if (v !== undefined && !(Number.isFinite(v) && v >= 0)) throw bad(`retry.${k}`, 'must be a number of ms >= 0', v);
  }
  const { onUnknownType, from, inboxRetentionDays } = options;
  if (onUnknownType !== undefined && onUnknownType !== 'skip' && onUnknownType !== 'dead-letter') {
    throw bad('onUnknownType', "must be 'skip' or 'dead-letter'", onUnknownType);
  }
  if (from !== undefined && from !== 'earliest' && from !== 'latest')
    throw bad('from', "must be 'earliest' or 'latest'", from);
  if (inboxRetentionDays !== undefined && !(Number.isInteger(inboxRetentionDays) && inboxRetentionDays >= 0)) {
    throw bad('inboxRetentionDays', 'must be a whole number of days (0 keeps the inbox forever)', inboxRetentionDays);
  }
  const { deadLetterTopic } = options;
  if (deadLetterTopic !== undefined && deadLetterTopic !== false && typeof deadLetterTopic !== 'function') {
    throw bad('deadLetterTopic', 'must be a function of the topic, or false', typeof deadLetterTopic);
  }
}
