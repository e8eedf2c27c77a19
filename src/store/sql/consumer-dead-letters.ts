import type { Queryable } from '../db.ts';
import { quoteIdent } from '../identifiers.ts';
import { type DeadLetterSelection, type FailureRow, selectionWhere } from './filter.ts';
import { storableHeaders, storableNullable, storableText } from './text.ts';

export type ConsumerDeadLetterStatus = 'pending' | 'retrying' | 'retried' | 'discarded';

export interface ConsumerDeadLetterRow extends FailureRow<ConsumerDeadLetterStatus> {
  consumer_group: string;
  message_id: string;
  event_type: string | null;
  topic: string;
  partition: string;
  position: string;
  partition_key: string | null;
  headers: Record<string, string>;
  body: Buffer;
}

export interface ConsumerDeadLetterInput {
  group: string;
  messageId: string;
  eventType: string | null;
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  headers: Record<string, string>;
  body: Buffer;
  error: { code: string; message: string };
  attempts: number;
}

/** Records a message a group gave up on; a second failure of the same message updates it. */
export async function insertConsumerDeadLetter(
  db: Queryable,
  schema: string,
  d: ConsumerDeadLetterInput,
): Promise<void> {
  await db.query(
    `INSERT INTO ${quoteIdent(schema)}.consumer_dead_letters (consumer_group, message_id, event_type, topic, partition,
  position, partition_key, headers, body, error_code, error_message, attempts)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, $11, $12)
ON CONFLICT (consumer_group, message_id) DO UPDATE SET event_type = EXCLUDED.event_type, topic = EXCLUDED.topic,
  partition = EXCLUDED.partition, position = EXCLUDED.position, partition_key = EXCLUDED.partition_key,
  headers = EXCLUDED.headers, body = EXCLUDED.body, error_code = EXCLUDED.error_code,
  error_message = EXCLUDED.error_message, attempts = consumer_dead_letters.attempts + EXCLUDED.attempts,
  failed_at = now(), status = 'pending', resolved_at = NULL, retry_error = NULL, claimed_until = NULL`,
    // Whatever bytes the message carried (a NUL in a header, a key or the error text made from
    // the body), the row can be written: a database error about the data must not stall the group.
    [
      d.group,
      storableText(d.messageId, 2000),
      storableNullable(d.eventType, 2000),
      storableText(d.topic, 2000),
      String(d.partition),
      d.offset,
      storableNullable(d.key, 100_000),
      storableHeaders(d.headers),
      d.body,
      d.error.code,
      storableText(d.error.message, 8_000),
      d.attempts,
    ],
  );
}

export interface ConsumerDeadLetterFilter extends DeadLetterSelection {
  groups?: string[];
  status?: ConsumerDeadLetterStatus | 'all';
}

const where = (filter: ConsumerDeadLetterFilter) =>
  selectionWhere(filter, { id: 'message_id', idType: 'text', type: 'event_type', key: 'partition_key' });

export async function listConsumerDeadLetters(
  db: Queryable,
  schema: string,
  filter: ConsumerDeadLetterFilter,
): Promise<ConsumerDeadLetterRow[]> {
  const w = where(filter);
  w.values.push(filter.limit ?? 100);
  const result = await db.query<ConsumerDeadLetterRow>(
    `SELECT * FROM ${quoteIdent(schema)}.consumer_dead_letters ${w.sql}
ORDER BY failed_at, consumer_group, message_id LIMIT $${w.values.length}`,
    w.values,
  );
  return result.rows;
}

/**
 * Sets the status of the dead letters a filter selects and returns how many changed: `retrying`
 * asks the group's running consumers to handle them again, `discarded` closes them.
 */
export async function setConsumerDeadLetterStatus(
  db: Queryable,
  schema: string,
  filter: ConsumerDeadLetterFilter,
  status: 'retrying' | 'discarded',
): Promise<number> {
  const s = quoteIdent(schema);
  const w = where({ ...filter, status: filter.status ?? 'pending' });
  w.values.push(filter.limit ?? 10_000, status);
  const limit = `$${w.values.length - 1}`;
  const next = `$${w.values.length}`;
  const result = await db.query(
    `UPDATE ${s}.consumer_dead_letters d SET status = ${next}, claimed_until = NULL,
  resolved_at = CASE WHEN ${next} = 'discarded' THEN now() END
FROM (SELECT consumer_group, message_id FROM ${s}.consumer_dead_letters ${w.sql}
  ORDER BY failed_at LIMIT ${limit}) chosen
WHERE d.consumer_group = chosen.consumer_group AND d.message_id = chosen.message_id`,
    w.values,
  );
  return result.rowCount ?? 0;
}

/**
 * Takes up to `limit` of a group's dead letters marked for retry that no other member holds, and
 * holds them for `holdMs`: two members never re-deliver the same one at once.
 */
export async function claimRetries(
  db: Queryable,
  schema: string,
  group: string,
  limit: number,
  holdMs: number,
): Promise<ConsumerDeadLetterRow[]> {
  const s = quoteIdent(schema);
  const result = await db.query<ConsumerDeadLetterRow>(
    `UPDATE ${s}.consumer_dead_letters d SET claimed_until = now() + $3 * interval '1 millisecond'
FROM (SELECT consumer_group, message_id FROM ${s}.consumer_dead_letters
  WHERE consumer_group = $1 AND status = 'retrying' AND (claimed_until IS NULL OR claimed_until < now())
  ORDER BY failed_at LIMIT $2 FOR UPDATE SKIP LOCKED) chosen
WHERE d.consumer_group = chosen.consumer_group AND d.message_id = chosen.message_id
RETURNING d.*`,
    [group, limit, holdMs],
  );
  return result.rows;
}

/** What a consumer does with a dead letter it was asked to retry. */
export async function resolveConsumerDeadLetter(
  db: Queryable,
  schema: string,
  group: string,
  messageId: string,
  outcome: { retried: true } | { retryError: string; attempts: number },
): Promise<void> {
  const s = quoteIdent(schema);
  if ('retried' in outcome) {
    await db.query(
      `UPDATE ${s}.consumer_dead_letters SET status = 'retried', resolved_at = now(), retry_error = NULL,
  claimed_until = NULL WHERE consumer_group = $1 AND message_id = $2 AND status = 'retrying'`,
      [group, messageId],
    );
    return;
  }
  await db.query(
    `UPDATE ${s}.consumer_dead_letters SET status = 'pending', retry_error = $3, failed_at = now(),
  attempts = attempts + $4, claimed_until = NULL WHERE consumer_group = $1 AND message_id = $2 AND status = 'retrying'`,
    [group, messageId, storableText(outcome.retryError, 8_000), outcome.attempts],
  );
}
