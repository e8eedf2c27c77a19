import type { Queryable } from '../db.ts';
import { quoteIdent } from '../identifiers.ts';
import type { Position } from './read-batch.ts';

/** Creates the cursor rows for every shard (idempotent) and returns the shard count. */
export async function ensureCursors(db: Queryable, schema: string): Promise<number> {
  const s = quoteIdent(schema);
  const result = await db.query<{ shard_count: number }>(
    `WITH st AS (SELECT shard_count FROM ${s}.settings),
ins AS (INSERT INTO ${s}.cursors (shard)
  SELECT generate_series(0, st.shard_count - 1) FROM st ON CONFLICT (shard) DO NOTHING)
SELECT shard_count FROM st`,
  );
  return result.rows[0]?.shard_count ?? 0;
}

/** The lowest cursor of the given shards: reading resumes there. */
export async function lowestCursor(db: Queryable, schema: string, shards: number[]): Promise<Position> {
  const result = await db.query<Position>(
    `SELECT c.xid::text AS xid, c.seq::text AS seq FROM ${quoteIdent(schema)}.cursors c
WHERE c.shard = ANY($1::int[]) ORDER BY c.xid, c.seq LIMIT 1`,
    [shards],
  );
  return result.rows[0] ?? { xid: '0', seq: '0' };
}

/**
 * Moves the cursors of the given shards forward to `to`, never back. A relay that reads the
 * whole log in order has published every row of its shards up to `to`.
 */
export async function advanceCursors(db: Queryable, schema: string, shards: number[], to: Position): Promise<void> {
  await db.query(
    `UPDATE ${quoteIdent(schema)}.cursors SET xid = $1::xid8, seq = $2::bigint, updated_at = now()
WHERE shard = ANY($3::int[]) AND (xid, seq) < ($1::xid8, $2::bigint)`,
    [to.xid, to.seq, shards],
  );
}
