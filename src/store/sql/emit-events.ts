import { HeraldError } from '../../errors.ts';
import { encodeWalEvent, type WalEvent, walPrefix } from '../../wire/wal-event.ts';
import { type Queryable, runQuery } from '../db.ts';
import { replicationNames } from '../replication.ts';
import type { LogRecord } from './insert-events.ts';

/**
 * A record as a table-less event: its fields that are not null. Headers are always written, `{}`
 * when there are none: a relay of an earlier release reads a missing `headers` as undefined, and
 * its dead letter (headers NOT NULL) would then fail and hold the stream.
 */
function walEvent(r: LogRecord): WalEvent {
  const e: WalEvent = {
    v: 1,
    id: r.id,
    type: r.type,
    version: r.version,
    source: r.source,
    partitionKey: r.partitionKey,
    headers: r.headers,
    time: r.time.toISOString(),
  };
  if (r.subject !== null) e.subject = r.subject;
  if (r.destination !== null) e.destination = r.destination;
  if (r.correlationId !== null) e.correlationId = r.correlationId;
  if (r.causationId !== null) e.causationId = r.causationId;
  if (r.userId !== null) e.userId = r.userId;
  if (r.sessionId !== null) e.sessionId = r.sessionId;
  if (r.tags !== null) e.tags = r.tags;
  if (r.traceparent !== null) e.traceparent = r.traceparent;
  if (r.tracestate !== null) e.tracestate = r.tracestate;
  return e;
}

/**
 * Schemas whose replication slot this process has seen (a slot, once made, is the relay's to
 * keep). By schema name alone: a process writing table-less events to two databases checks the
 * first one only.
 */
const slotSeen = new Set<string>();

/**
 * A table-less event is read only through the schema's slot, from the moment the slot exists:
 * one written before is in no slot and would be lost without a trace. So the first write of a
 * process to a schema checks that the slot is there (one catalog query), and refuses otherwise.
 */
async function requireSlot(db: Queryable, schema: string): Promise<void> {
  if (slotSeen.has(schema)) return;
  const { slot } = replicationNames(schema);
  // Slot names are the server's, not the database's: the slot must be this database's, logical,
  // and not invalidated (its WAL removed).
  const found = await db.query(
    `SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND database = current_database()
  AND slot_type = 'logical' AND wal_status IS DISTINCT FROM 'lost'`,
    [slot],
  );
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
  const texts = records.map((r) => encodeWalEvent(walEvent(r), r.payload));
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
