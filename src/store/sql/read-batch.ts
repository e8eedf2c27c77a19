import type { Queryable } from '../db.ts';
import { quoteIdent } from '../identifiers.ts';

/** A position in the log: the writer's transaction id and the row's sequence within it. */
export interface Position {
  xid: string;
  seq: string;
}

export interface LogRow {
  xid: string;
  seq: string;
  id: string;
  type: string;
  version: number;
  source: string;
  subject: string | null;
  partition_key: string;
  shard: number;
  destination: string | null;
  payload: string;
  headers: Record<string, string>;
  correlation_id: string | null;
  causation_id: string | null;
  traceparent: string | null;
  tracestate: string | null;
  created_at: Date;
}

const statements = new Map<string, string>();

/**
 * The gapless read. Rows are taken only below the snapshot's xmin, the oldest transaction still
 * running: every transaction with a smaller id has ended, so no row can later appear behind the
 * position we advance to. Ordered by (xid, seq): per key, the order writers committed in when
 * they serialise on the key before their first write.
 */
function readSql(schema: string): string {
  let sql = statements.get(schema);
  if (sql === undefined) {
    sql = `SELECT xid::text AS xid, seq::text AS seq, id, type, version, source, subject, partition_key,
  shard, destination, payload::text AS payload, headers, correlation_id, causation_id,
  traceparent, tracestate, created_at
FROM ${quoteIdent(schema)}.log
WHERE (xid, seq) > ($1::xid8, $2::bigint)
  AND xid < pg_snapshot_xmin(pg_current_snapshot())
ORDER BY xid, seq
LIMIT $3`;
    statements.set(schema, sql);
  }
  return sql;
}

export async function readBatch(db: Queryable, schema: string, after: Position, limit: number): Promise<LogRow[]> {
  const result = await db.query<LogRow>(readSql(schema), [after.xid, after.seq, limit]);
  return result.rows;
}
