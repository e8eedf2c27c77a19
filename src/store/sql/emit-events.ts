import { encodeWalEvent, walPrefix } from '../../wire/wal-event.ts';
import { type Queryable, runQuery } from '../db.ts';
import type { LogRecord } from './insert-events.ts';

/**
 * The table-less outbox (`mode: 'wal'`): each event a transactional logical decoding message,
 * written to the WAL with the caller's transaction and decoded by the relay's CDC source only if
 * it commits. No row, no index, no table: the cost floor of an outbox in PostgreSQL. One
 * statement for any number of events, in order.
 */
export async function emitEvents(
  db: Queryable,
  schema: string,
  records: LogRecord[],
  prepared: boolean,
): Promise<void> {
  const texts = records.map((r) =>
    encodeWalEvent(
      {
        v: 1,
        id: r.id,
        type: r.type,
        version: r.version,
        source: r.source,
        subject: r.subject,
        partitionKey: r.partitionKey,
        destination: r.destination,
        headers: r.headers,
        correlationId: r.correlationId,
        causationId: r.causationId,
        userId: r.userId,
        sessionId: r.sessionId,
        tags: r.tags,
        traceparent: r.traceparent,
        tracestate: r.tracestate,
        time: r.time.toISOString(),
      },
      r.payload,
    ),
  );
  if (texts.length === 1) {
    await runQuery(db, prepared ? 'herald_emit_one' : undefined, 'SELECT pg_logical_emit_message(true, $1, $2)', [
      walPrefix(schema),
      texts[0],
    ]);
    return;
  }
  await runQuery(
    db,
    prepared ? 'herald_emit_many' : undefined,
    // A function scan returns the array in order, and the messages are emitted as it does.
    'SELECT pg_logical_emit_message(true, $1, e.text) FROM unnest($2::text[]) AS e(text)',
    [walPrefix(schema), texts],
  );
}
