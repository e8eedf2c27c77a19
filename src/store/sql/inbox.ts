import { type Queryable, runQuery } from '../db.ts';
import { quoteIdent } from '../identifiers.ts';

export interface InboxEntry {
  eventId: string;
  eventTime: Date;
  type: string;
}

/**
 * An event's time sent as milliseconds since the epoch, made a timestamptz by the server: numbers
 * cost node-postgres next to nothing to send, where a Date is formatted as local-time text
 * (0.28 µs) and parsed back by the server, on a consumer's every delivery. Exact: whole seconds,
 * then the milliseconds (a float of seconds would lose them in the far future).
 */
const fromMs = (ms: string) => `(to_timestamp(${ms} / 1000) + ${ms} % 1000 * interval '1 millisecond')`;

/**
 * Records events as handled by a group, inside the handler's transaction, and returns the ids
 * that were new: an id already there (a second delivery) is left out and its handler not run.
 * A concurrent insert of the same id waits for the other transaction and then conflicts.
 */
export async function claimInbox(
  tx: Queryable,
  schema: string,
  group: string,
  entries: readonly InboxEntry[],
  prepared: boolean,
): Promise<Set<string>> {
  const s = quoteIdent(schema);
  if (entries.length === 1) {
    const e = entries[0] as InboxEntry;
    const result = await runQuery(
      tx,
      prepared ? `herald_inbox_one_${schema}` : undefined,
      `INSERT INTO ${s}.inbox (consumer_group, event_id, event_time, type) VALUES ($1, $2, ${fromMs('$3::bigint')}, $4)
ON CONFLICT DO NOTHING`,
      [group, e.eventId, e.eventTime.getTime(), e.type],
    );
    return new Set(result.rowCount === 1 ? [e.eventId] : []);
  }
  const result = await runQuery<{ event_id: string }>(
    tx,
    prepared ? `herald_inbox_many_${schema}` : undefined,
    `INSERT INTO ${s}.inbox (consumer_group, event_id, event_time, type)
SELECT $1, id, ${fromMs('ms')}, type FROM unnest($2::text[], $3::bigint[], $4::text[]) AS e(id, ms, type)
ON CONFLICT DO NOTHING RETURNING event_id`,
    [group, entries.map((e) => e.eventId), entries.map((e) => e.eventTime.getTime()), entries.map((e) => e.type)],
  );
  return new Set(result.rows.map((r) => r.event_id));
}

/** An inbox row of one handler: its inbox group (the consumer group, or `group:handler`). */
export interface InboxRow extends InboxEntry {
  group: string;
}

/** The key claimInboxRows returns for a row that was new. */
export const inboxKey = (group: string, eventId: string) => `${group}\u0000${eventId}`;

/**
 * As claimInbox for rows of several inbox groups in one statement (group commit: the handlers of
 * many events, or several handlers of one event): returns the `inboxKey` of each row that was new.
 */
export async function claimInboxRows(
  tx: Queryable,
  schema: string,
  rows: readonly InboxRow[],
  prepared: boolean,
): Promise<Set<string>> {
  const result = await runQuery<{ consumer_group: string; event_id: string }>(
    tx,
    prepared ? `herald_inbox_rows_${schema}` : undefined,
    `INSERT INTO ${quoteIdent(schema)}.inbox (consumer_group, event_id, event_time, type)
SELECT g, id, ${fromMs('ms')}, type FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[]) AS e(g, id, ms, type)
ON CONFLICT DO NOTHING RETURNING consumer_group, event_id`,
    [
      rows.map((r) => r.group),
      rows.map((r) => r.eventId),
      rows.map((r) => r.eventTime.getTime()),
      rows.map((r) => r.type),
    ],
  );
  return new Set(result.rows.map((r) => inboxKey(r.consumer_group, r.event_id)));
}

/**
 * Takes back rows this transaction claimed, for an event whose handler failed inside a group
 * (its savepoint rolled back, the group commits): it is retried alone and claims them again.
 */
export async function unclaimInboxRows(tx: Queryable, schema: string, rows: readonly InboxRow[]): Promise<void> {
  await tx.query(
    `DELETE FROM ${quoteIdent(schema)}.inbox i USING unnest($1::text[], $2::text[], $3::bigint[]) AS r(g, id, ms)
WHERE i.consumer_group = r.g AND i.event_id = r.id AND i.event_time = ${fromMs('r.ms')}`,
    [rows.map((r) => r.group), rows.map((r) => r.eventId), rows.map((r) => r.eventTime.getTime())],
  );
}
