import type { Queryable } from '../db.ts';
import { quoteIdent } from '../identifiers.ts';
import type { LogRow, Position } from './read-batch.ts';

/**
 * A slice of the log: rows written in `[from, to)` (by `created_at`), optionally of some types
 * and partition keys, and only rows of transactions committed when the slice was opened: those
 * its `snapshot` saw committed, or without one, those below `horizon` (the oldest transaction
 * then running, `pg_snapshot_xmin`). Either is taken once, so the slice is fixed: no row can join
 * it later, and counting it and then reading it page by page see the same rows.
 */
export interface RangeFilter {
  /** An xid8 as text, from `openSlice()`. */
  horizon: string;
  /**
   * The snapshot as text, from `openSlice()`: the slice then also holds rows above the horizon
   * that had committed (an older transaction open anywhere in the server, even idle, would
   * otherwise keep every later one out).
   */
  snapshot?: string | null;
  from: Date;
  to: Date;
  /** Only these types; every type when absent or empty. */
  types?: readonly string[];
  /** Only these partition keys; every key when absent or empty. */
  keys?: readonly string[];
  /** Only events of these aggregate types; every event when absent or empty. */
  aggregateTypes?: readonly string[];
}

/** One group of the slice: the events of one type to one stored destination. */
export interface RangeGroup {
  type: string;
  /** The destination stored with the events; null when the topic strategy decides. */
  destination: string | null;
  count: number;
  first: Date;
  last: Date;
}

/**
 * What fixes a slice as it opens: the snapshot now, and its horizon, the oldest transaction still
 * running (everything below it has committed or rolled back).
 */
export async function openSlice(db: Queryable): Promise<{ horizon: string; snapshot: string }> {
  const result = await db.query<{ horizon: string; snapshot: string }>(
    'SELECT pg_snapshot_xmin(s)::text AS horizon, s::text AS snapshot FROM pg_current_snapshot() s',
  );
  return result.rows[0] as { horizon: string; snapshot: string };
}

/** The WHERE clause of a slice and its parameters, numbered from `$<first>`. */
function where(filter: RangeFilter, first: number): { sql: string; values: unknown[] } {
  const snapshot = filter.snapshot ?? null;
  const values: unknown[] = [snapshot ?? filter.horizon, filter.from, filter.to];
  const clauses = [
    snapshot === null ? `l.xid < $${first}::xid8` : `pg_visible_in_snapshot(l.xid, $${first}::pg_snapshot)`,
    `l.created_at >= $${first + 1}::timestamptz`,
    `l.created_at < $${first + 2}::timestamptz`,
  ];
  if (filter.types !== undefined && filter.types.length > 0) {
    values.push([...filter.types]);
    clauses.push(`l.type = ANY($${first + values.length - 1}::text[])`);
  }
  if (filter.keys !== undefined && filter.keys.length > 0) {
    values.push([...filter.keys]);
    clauses.push(`l.partition_key = ANY($${first + values.length - 1}::text[])`);
  }
  if (filter.aggregateTypes !== undefined && filter.aggregateTypes.length > 0) {
    values.push([...filter.aggregateTypes]);
    clauses.push(`l.aggregate_type = ANY($${first + values.length - 1}::text[])`);
  }
  return { sql: clauses.join('\n  AND '), values };
}

/** Counts per type and stored destination, with the earliest and latest `created_at`: one query. */
export async function summarizeRange(db: Queryable, schema: string, filter: RangeFilter): Promise<RangeGroup[]> {
  const w = where(filter, 1);
  const result = await db.query<{ type: string; destination: string | null; count: string; first: Date; last: Date }>(
    `SELECT l.type, l.destination, count(*)::text AS count, min(l.created_at) AS first, max(l.created_at) AS last
FROM ${quoteIdent(schema)}.history l
WHERE ${w.sql}
GROUP BY l.type, l.destination
ORDER BY l.type, l.destination`,
    w.values,
  );
  return result.rows.map((r) => ({
    type: r.type,
    destination: r.destination,
    count: Number(r.count),
    first: r.first,
    last: r.last,
  }));
}

/**
 * The next page of the slice after `after`, in `(xid, seq)` order: per key, the order writers
 * committed in (see read-batch.ts). Keyset pagination on the primary key.
 */
export async function readRange(
  db: Queryable,
  schema: string,
  filter: RangeFilter,
  after: Position,
  limit: number,
): Promise<LogRow[]> {
  const w = where(filter, 4);
  // Qualified names in ORDER BY: a bare `xid` would be the text output column ('1000' < '999').
  const result = await db.query<LogRow>(
    `SELECT l.xid::text AS xid, l.seq::text AS seq, l.id, l.type, l.version, l.source, l.subject,
  l.partition_key, l.shard, l.destination, l.payload::text AS payload, l.headers, l.correlation_id,
  l.causation_id, l.user_id, l.session_id, l.tags, l.traceparent, l.tracestate, l.created_at
FROM ${quoteIdent(schema)}.history l
WHERE (l.xid, l.seq) > ($1::xid8, $2::bigint)
  AND ${w.sql}
ORDER BY l.xid, l.seq
LIMIT $3`,
    [after.xid, after.seq, limit, ...w.values],
  );
  return result.rows;
}
