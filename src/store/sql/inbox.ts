import { type Queryable, runQuery } from '../db.ts';
import { quoteIdent } from '../identifiers.ts';

export interface InboxEntry {
  eventId: string;
  eventTime: Date;
  type: string;
}

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
      `INSERT INTO ${s}.inbox (consumer_group, event_id, event_time, type) VALUES ($1, $2, $3, $4)
ON CONFLICT DO NOTHING`,
      [group, e.eventId, e.eventTime, e.type],
    );
    return new Set(result.rowCount === 1 ? [e.eventId] : []);
  }
  const result = await runQuery<{ event_id: string }>(
    tx,
    prepared ? `herald_inbox_many_${schema}` : undefined,
    `INSERT INTO ${s}.inbox (consumer_group, event_id, event_time, type)
SELECT $1, * FROM unnest($2::text[], $3::timestamptz[], $4::text[])
ON CONFLICT DO NOTHING RETURNING event_id`,
    [group, entries.map((e) => e.eventId), entries.map((e) => e.eventTime), entries.map((e) => e.type)],
  );
  return new Set(result.rows.map((r) => r.event_id));
}
