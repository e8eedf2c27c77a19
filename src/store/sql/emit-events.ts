import { HeraldError } from '../../errors.ts';
import { encodeWalEvent, walPrefix } from '../../wire/wal-event.ts';
import { type Queryable, runQuery } from '../db.ts';
import { replicationNames } from '../replication.ts';
import type { LogRecord } from './insert-events.ts';

/** Schemas whose replication slot this process has seen (a slot, once made, is the relay's to keep). */
const slotSeen = new Set<string>();

/**
 * A table-less event is read only through the schema's slot, from the moment the slot exists:
 * one written before is in no slot and would be lost without a trace. So the first write of a
 * process to a schema checks that the slot is there (one catalog query), and refuses otherwise.
 */
async function requireSlot(db: Queryable, schema: string): Promise<void> {
  if (slotSeen.has(schema)) return;
  const { slot } = replicationNames(schema);
  const found = await db.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [slot]);
  if (found.rows.length === 0) {
    throw new HeraldError(
      'HERALD_NO_REPLICATION_SLOT',
      `table-less mode: schema "${schema}" has no replication slot (${slot}) yet, so events written now would be read by no relay; start a relay with source 'cdc' once (it makes the slot), then write`,
      { details: { schema, slot } },
    );
  }
  slotSeen.add(schema);
}

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
  await requireSlot(db, schema);
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
