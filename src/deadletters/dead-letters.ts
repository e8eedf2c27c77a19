import { HeraldError, isHeraldError } from '../errors.ts';
import type { DatabaseOption } from '../store/connect.ts';
import type { Queryable } from '../store/db.ts';
import {
  type DeadLetterFilter,
  type DeadLetterRow,
  type DeadLetterStatus,
  listDeadLetters,
  resolveDeadLetter,
} from '../store/sql/dead-letters.ts';
import type { Transport } from '../transports/transport.ts';
import { toMessage } from '../wire/outgoing.ts';
import { type Failure, failureOf, openDeadLetterStore } from './access.ts';

export type { DeadLetterFilter, DeadLetterStatus } from '../store/sql/dead-letters.ts';

/** An event the relay gave up on, with why (seed 002's FailedEvent). */
export interface FailedEvent extends Failure<DeadLetterStatus> {
  id: string;
  type: string;
  version: number;
  partitionKey: string;
  destination: string;
  payload: unknown;
  headers: Record<string, string>;
  correlationId: string | null;
  causationId: string | null;
  createdAt: Date;
}

export interface RetryResult {
  id: string;
  ok: boolean;
  /** Why it failed again, when it did; the dead letter stays pending. */
  error?: { code: string; message: string };
}

export interface DeadLetters {
  list(filter?: DeadLetterFilter): Promise<FailedEvent[]>;
  get(id: string): Promise<FailedEvent | undefined>;
  /** Publishes dead letters again, one at a time in log order, and records each outcome. */
  retry(filter: DeadLetterFilter): Promise<RetryResult[]>;
  discard(filter: DeadLetterFilter): Promise<number>;
  close(): Promise<void>;
}

export interface DeadLettersOptions {
  /** A connection string, a pool, or a client (in your transaction); default `DATABASE_URL`. */
  db?: DatabaseOption | Queryable;
  schema?: string;
  /** Needed only to retry. */
  transport?: Transport;
}

function toFailedEvent(row: DeadLetterRow): FailedEvent {
  return {
    id: row.id,
    type: row.type,
    version: row.version,
    partitionKey: row.partition_key,
    destination: row.destination,
    payload: JSON.parse(row.payload),
    headers: row.headers,
    correlationId: row.correlation_id,
    causationId: row.causation_id,
    createdAt: row.created_at,
    ...failureOf(row),
  };
}

/**
 * Dead letters, for operators and code: list, inspect, retry (publish again) and discard.
 * Retrying or discarding needs ids or a filter: never everything by accident.
 */
export function createDeadLetters(options: DeadLettersOptions = {}): DeadLetters {
  const store = openDeadLetterStore(options.db, options.schema);
  const { schema, pool, guard } = store;
  const requireTarget = store.requireSelection;

  return {
    list: (filter = {}) => guard(async () => (await listDeadLetters(pool, schema, filter)).map(toFailedEvent)),
    get: (id) =>
      guard(async () => {
        const [row] = await listDeadLetters(pool, schema, { ids: [id], status: 'all', limit: 1 });
        return row ? toFailedEvent(row) : undefined;
      }),
    async retry(filter) {
      requireTarget('retry', filter);
      const transport = options.transport;
      if (!transport) throw new HeraldError('HERALD_INVALID_CONFIG', 'retry needs a transport to publish with');
      const rows = await guard(() => listDeadLetters(pool, schema, { ...filter, limit: filter.limit ?? 10_000 }));
      const results: RetryResult[] = [];
      for (const row of rows) {
        try {
          await transport.publish([toMessage(row, () => row.destination)]);
          await guard(() => resolveDeadLetter(pool, schema, row.id, { status: 'retried' }));
          results.push({ id: row.id, ok: true });
        } catch (error) {
          if (!isHeraldError(error)) throw error;
          await guard(() => resolveDeadLetter(pool, schema, row.id, { retryError: `${error.code}: ${error.message}` }));
          results.push({ id: row.id, ok: false, error: { code: error.code, message: error.message } });
        }
      }
      return results;
    },
    async discard(filter) {
      requireTarget('discard', filter);
      const rows = await guard(() => listDeadLetters(pool, schema, { ...filter, limit: filter.limit ?? 10_000 }));
      for (const row of rows) await guard(() => resolveDeadLetter(pool, schema, row.id, { status: 'discarded' }));
      return rows.length;
    },
    // The transport is the caller's: it is not closed here.
    close: store.close,
  };
}
