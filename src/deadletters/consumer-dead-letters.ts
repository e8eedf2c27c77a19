import type { DatabaseOption } from '../store/connect.ts';
import type { Queryable } from '../store/db.ts';
import {
  type ConsumerDeadLetterFilter,
  type ConsumerDeadLetterRow,
  type ConsumerDeadLetterStatus,
  listConsumerDeadLetters,
  setConsumerDeadLetterStatus,
} from '../store/sql/consumer-dead-letters.ts';
import { type Failure, failureOf, openDeadLetterStore } from './access.ts';

export type { ConsumerDeadLetterFilter, ConsumerDeadLetterStatus } from '../store/sql/consumer-dead-letters.ts';

/** A message a consumer group gave up on, as it arrived, with why. */
export interface ConsumerDeadLetter extends Failure<ConsumerDeadLetterStatus> {
  group: string;
  /** The event id, or `topic/partition/offset` for a message that had none. */
  id: string;
  type: string | null;
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  headers: Record<string, string>;
  /** The body as UTF-8 text (what arrived, even when it was not JSON). */
  body: string;
}

export interface ConsumerDeadLetters {
  list(filter?: ConsumerDeadLetterFilter): Promise<ConsumerDeadLetter[]>;
  get(group: string, id: string): Promise<ConsumerDeadLetter | undefined>;
  /**
   * Marks dead letters for re-delivery to their group: its running consumers pick them up (within
   * `redeliveryPollMs`) and handle them once more, with the inbox. Returns how many were marked.
   */
  retry(filter: ConsumerDeadLetterFilter): Promise<number>;
  discard(filter: ConsumerDeadLetterFilter): Promise<number>;
  close(): Promise<void>;
}

function toDeadLetter(row: ConsumerDeadLetterRow): ConsumerDeadLetter {
  return {
    group: row.consumer_group,
    id: row.message_id,
    type: row.event_type,
    topic: row.topic,
    partition: Number(row.partition),
    offset: row.position,
    key: row.partition_key,
    headers: row.headers,
    body: row.body.toString('utf8'),
    ...failureOf(row),
  };
}

/** Consumers' dead letters, for operators and code: list, inspect, re-deliver and discard. */
export function createConsumerDeadLetters(
  options: {
    /** A connection string, a pool, or a client (in your transaction); default `DATABASE_URL`. */
    db?: DatabaseOption | Queryable;
    schema?: string;
  } = {},
): ConsumerDeadLetters {
  const store = openDeadLetterStore(options.db, options.schema);
  const { schema, pool, guard } = store;
  return {
    list: (filter = {}) => guard(async () => (await listConsumerDeadLetters(pool, schema, filter)).map(toDeadLetter)),
    get: (group, id) =>
      guard(async () => {
        const [row] = await listConsumerDeadLetters(pool, schema, {
          groups: [group],
          ids: [id],
          status: 'all',
          limit: 1,
        });
        return row ? toDeadLetter(row) : undefined;
      }),
    async retry(filter) {
      store.requireSelection('retry', filter);
      return guard(() => setConsumerDeadLetterStatus(pool, schema, filter, 'retrying'));
    },
    async discard(filter) {
      store.requireSelection('discard', filter);
      return guard(() => setConsumerDeadLetterStatus(pool, schema, filter, 'discarded'));
    },
    close: store.close,
  };
}
