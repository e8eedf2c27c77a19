import type { StoredEvent } from '../../wire/outgoing.ts';
import type { Queryable } from '../db.ts';
import { quoteIdent } from '../identifiers.ts';

/** What finds events in the log: every field narrows; values are always bound, never pasted. */
export interface EventSearch {
  ids?: readonly string[];
  keys?: readonly string[];
  types?: readonly string[];
  aggregateType?: string;
  aggregateId?: string;
  /** Written at or after (`created_at`). */
  from?: Date;
  /** Written before. */
  to?: Date;
  limit: number;
}

/** A row of the log as the lookup reads it: the stored event, where it sits, and whether it is out. */
export interface FoundEventRow extends Omit<StoredEvent, 'traceparent' | 'tracestate'> {
  shard: number;
  aggregate_type: string | null;
  aggregate_id: string | null;
  xid: string;
  seq: string;
  /** Whether the relay has published it: at or before its shard's cursor. */
  published: boolean;
}

/**
 * Events of the log, newest first, for an operator looking one up. The (created_at) index serves
 * a time range; a lookup by id or key alone reads every partition still kept, which is what an
 * operator asks for rarely and can narrow with a time range.
 */
export async function findEvents(db: Queryable, schema: string, search: EventSearch): Promise<FoundEventRow[]> {
  const s = quoteIdent(schema);
  const clauses: string[] = [];
  const values: unknown[] = [];
  const add = (clause: (p: string) => string, value: unknown) => {
    values.push(value);
    clauses.push(clause(`$${values.length}`));
  };
  if (search.ids?.length) add((p) => `l.id::text = ANY(${p}::text[])`, [...search.ids]);
  if (search.keys?.length) add((p) => `l.partition_key = ANY(${p}::text[])`, [...search.keys]);
  if (search.types?.length) add((p) => `l.type = ANY(${p}::text[])`, [...search.types]);
  if (search.aggregateType) add((p) => `l.aggregate_type = ${p}`, search.aggregateType);
  if (search.aggregateId) add((p) => `l.aggregate_id = ${p}`, search.aggregateId);
  if (search.from) add((p) => `l.created_at >= ${p}::timestamptz`, search.from);
  if (search.to) add((p) => `l.created_at < ${p}::timestamptz`, search.to);
  values.push(search.limit);
  const result = await db.query<FoundEventRow>(
    `SELECT l.id::text AS id, l.type, l.version, l.source, l.subject, l.partition_key, l.shard, l.destination,
  l.payload::text AS payload, l.headers, l.correlation_id, l.causation_id, l.user_id, l.session_id, l.tags, l.created_at,
  l.aggregate_type, l.aggregate_id, l.xid::text AS xid, l.seq::text AS seq,
  (l.xid, l.seq) <= (coalesce(c.xid, '0'::xid8), coalesce(c.seq, 0)) AS published
FROM ${s}.history l
LEFT JOIN ${s}.cursors c ON c.shard = l.shard
${clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : ''}
ORDER BY l.created_at DESC, l.xid DESC, l.seq DESC
LIMIT $${values.length}`,
    values,
  );
  return result.rows;
}
