import { isHeraldError } from '../errors.ts';
import { isOutage } from '../retry/classify.ts';
import { retry } from '../retry/retry.ts';
import { insertConsumerDeadLetter } from '../store/sql/consumer-dead-letters.ts';
import type { IncomingMessage, OutgoingMessage, Transport } from '../transports/transport.ts';
import type { ConsumedEvent } from '../wire/incoming.ts';
import { Released } from './released.ts';
import type { ConsumerContext } from './types.ts';

/** Where a topic's dead letters are published; false: recorded in the database only. */
export type DeadLetterTopic = ((topic: string) => string) | false;

export const defaultDeadLetterTopic = (topic: string) => `${topic}.dlq`;

/** The id a dead letter is kept under: the event id, or where the message was when it has none. */
export function messageId(m: IncomingMessage, eventId: string | null): string {
  return eventId ?? `${m.topic}/${m.partition}/${m.offset}`;
}

export function errorOf(error: unknown): { code: string; message: string } {
  if (isHeraldError(error)) return { code: error.code, message: error.message };
  const e = error instanceof Error ? error : new Error(String(error));
  return { code: 'HERALD_HANDLER_FAILED', message: `${e.name}: ${e.message}` };
}

/** Header values travel on every broker: one line of printable text, bounded. */
const headerValue = (v: string) => v.replace(/[\u0000-\u001f\u007f]+/g, ' ').slice(0, 2000);

/**
 * The message as it arrived, with why it failed: `herald_error_code`, `herald_error_message`,
 * `herald_attempts`, `herald_consumer_group`, `herald_failed_at` and the original topic,
 * partition and offset.
 */
export function deadLetterMessage(
  m: IncomingMessage,
  id: string,
  topic: string,
  group: string,
  error: { code: string; message: string },
  attempts: number,
): OutgoingMessage {
  return {
    id,
    topic,
    key: m.key ?? '',
    value: m.value,
    headers: {
      ...m.headers,
      herald_error_code: error.code,
      herald_error_message: headerValue(error.message),
      herald_attempts: String(attempts),
      herald_consumer_group: group,
      herald_failed_at: new Date().toISOString(),
      herald_original_topic: m.topic,
      herald_original_partition: String(m.partition),
      herald_original_offset: m.offset,
    },
  };
}

/** What the consumer does with a message it gives up on. */
export type GiveUp = (
  m: IncomingMessage,
  error: unknown,
  attempts: number,
  event: ConsumedEvent | null,
) => Promise<void>;

/**
 * The group's give-up path: records the message in `consumer_dead_letters` (whatever bytes it
 * carries: see store/sql/text.ts), then publishes it to the dead-letter topic. Both are
 * idempotent (an upsert, a message with the same id), so they are retried together until they
 * succeed before the message is acknowledged: an outage (database or broker away) without limit,
 * anything else a few times. If the record still cannot be written, it is written without the
 * message's headers; if the dead-letter topic refuses the message for good, the record stands
 * alone and the refusal is logged. Either way the group moves on: one bad message never stalls
 * the others. A record the database refuses even without headers throws Released: the message is
 * not done, and its key (with positions in the database, its partition) waits for it and tries it
 * again (run.ts).
 */
export function createDeadLetterer(deps: ConsumerContext & { transport: Transport; topic: DeadLetterTopic }): GiveUp {
  const { group, logger, signal } = deps;
  const persistently = async (what: string, fn: () => Promise<void>): Promise<boolean> => {
    const outcome = await retry(fn, {
      signal,
      backoff: deps.retry,
      attempts: 3,
      onError: (error) => {
        if (isOutage(error)) deps.onOutage(error);
        else logger.warn({ error, group }, `${what} failed; retrying`);
      },
      onRecovered: deps.onRecovered,
    });
    if (outcome.ok) return true;
    if (outcome.stopped) throw new Released();
    logger.error({ error: outcome.error, group }, `${what} failed`);
    return false;
  };

  return async (m, failure, attempts, event) => {
    const error = errorOf(failure);
    // A message that could not be decoded may still name its event in its headers; not when that
    // id was not UTF-8 (U+FFFD in it): two such messages could read as one, so by position.
    const named = m.headers.ce_id;
    const id = messageId(m, event?.id ?? (named?.includes('\uFFFD') ? null : named) ?? null);
    const record = {
      group,
      messageId: id,
      eventType: event?.type ?? m.headers.ce_type ?? null,
      topic: m.topic,
      partition: m.partition,
      offset: m.offset,
      key: m.key,
      headers: m.headers,
      body: m.value,
      error,
      attempts,
    };
    const stored =
      (await persistently('recording a dead letter', () => insertConsumerDeadLetter(deps.pool, deps.schema, record))) ||
      (await persistently('recording a dead letter without its headers', () =>
        insertConsumerDeadLetter(deps.pool, deps.schema, { ...record, headers: {} }),
      ));
    // Not recorded (the database refuses even that): the message is not acknowledged, so the
    // broker keeps it; the next member or restart tries again.
    if (!stored) throw new Released();
    const { topic } = deps;
    if (topic) {
      const dead = deadLetterMessage(m, id, topic(m.topic), group, error, attempts);
      const published = await persistently('publishing a dead letter', () => deps.transport.publish([dead]));
      if (!published) logger.error({ group, id, topic: dead.topic }, 'dead letter recorded but not published');
    }
    deps.stats.deadLettered++;
    logger.warn({ error: failure, attempts, group, eventId: event?.id, type: event?.type }, 'message dead-lettered');
  };
}
