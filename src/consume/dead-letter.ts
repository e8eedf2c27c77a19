import { isHeraldError } from '../errors.ts';
import type { Queryable } from '../store/db.ts';
import { insertConsumerDeadLetter } from '../store/sql/consumer-dead-letters.ts';
import type { IncomingMessage, OutgoingMessage, Transport } from '../transports/transport.ts';

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

/** Header values travel on every broker: one line, bounded. */
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

/**
 * Records a message the group gives up on, then publishes it to the dead-letter topic. Both are
 * idempotent (an upsert, a message with the same id), so the caller retries the pair until it
 * succeeds before acknowledging the message.
 */
export async function writeDeadLetter(
  target: { db: Queryable; schema: string; group: string; transport: Transport; topic: DeadLetterTopic },
  m: IncomingMessage,
  meta: { eventId: string | null; eventType: string | null },
  failure: unknown,
  attempts: number,
): Promise<void> {
  const error = errorOf(failure);
  // A message that could not be decoded may still name its event in its headers.
  const id = messageId(m, meta.eventId ?? m.headers.ce_id ?? null);
  await insertConsumerDeadLetter(target.db, target.schema, {
    group: target.group,
    messageId: id,
    eventType: meta.eventType ?? m.headers.ce_type ?? null,
    topic: m.topic,
    partition: m.partition,
    offset: m.offset,
    key: m.key,
    headers: m.headers,
    body: m.value,
    error,
    attempts,
  });
  if (target.topic) {
    await target.transport.publish([deadLetterMessage(m, id, target.topic(m.topic), target.group, error, attempts)]);
  }
}
