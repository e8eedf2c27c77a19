import { type Queryable, runQuery } from '../db.ts';
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

/** The cursors of the given shards. */
export async function loadCursors(db: Queryable, schema: string, shards: number[]): Promise<Map<number, Position>> {
  const result = await db.query<Position & { shard: number }>(
    `SELECT c.shard, c.xid::text AS xid, c.seq::text AS seq FROM ${quoteIdent(schema)}.cursors c
WHERE c.shard = ANY($1::int[])`,
    [shards],
  );
  return new Map(result.rows.map((r) => [r.shard, { xid: r.xid, seq: r.seq }]));
}

/**
 * Moves the cursors of the shards this relay holds forward to `to`, never back, but only where
 * its lease is still valid at the same epoch (the lease rows are locked so a takeover waits or
 * wins cleanly). Returns the shards whose lease was lost: a relay that was paused past its lease
 * cannot move their cursors, and must stop publishing them.
 */
export async function advanceCursors(
  db: Queryable,
  schema: string,
  owner: string,
  leases: { shard: number; epoch: string }[],
  to: Position,
): Promise<number[]> {
  const s = quoteIdent(schema);
  const result = await runQuery<{ shard: number }>(
    db,
    `herald_advance_${schema}`,
    `WITH mine AS (
  SELECT * FROM unnest($3::int[], $4::bigint[]) AS m(shard, epoch)
), valid AS (
  SELECT l.shard FROM ${s}.leases l JOIN mine m ON m.shard = l.shard AND m.epoch = l.epoch
  WHERE l.owner = $5 AND l.expires_at > now()
  FOR SHARE OF l
), moved AS (
  UPDATE ${s}.cursors c SET xid = $1::xid8, seq = $2::bigint, updated_at = now()
  FROM valid v WHERE c.shard = v.shard AND (c.xid, c.seq) < ($1::xid8, $2::bigint)
  RETURNING c.shard
)
SELECT m.shard FROM mine m WHERE m.shard NOT IN (SELECT shard FROM valid)`,
    [to.xid, to.seq, leases.map((l) => l.shard), leases.map((l) => l.epoch), owner],
  );
  return result.rows.map((r) => r.shard);
}

/** The newest transaction id among the log's committed rows, or null when the log is empty. */
export async function newestLoggedXid(db: Queryable, schema: string): Promise<string | null> {
  const result = await db.query<{ xid: string | null }>(`SELECT max(xid)::text AS xid FROM ${quoteIdent(schema)}.log`);
  return result.rows[0]?.xid ?? null;
}

/**
 * Whether a row of the given shards that had committed in `snapshot` still lies above its shard's
 * saved cursor: not yet published. The relay's read takes rows only below the oldest transaction
 * open in the whole server, so such a row can wait there behind a transaction that began before
 * it and is still open. One range scan above the lowest of the cursors.
 */
export async function committedUnpublished(
  db: Queryable,
  schema: string,
  shards: number[],
  snapshot: string,
): Promise<boolean> {
  const s = quoteIdent(schema);
  const result = await db.query<{ pending: boolean }>(
    `WITH c AS (SELECT shard, xid, seq FROM ${s}.cursors WHERE shard = ANY($1::int[])),
low AS (SELECT xid, seq FROM c ORDER BY xid, seq LIMIT 1)
SELECT EXISTS (
  SELECT 1 FROM low
  JOIN ${s}.log l ON (l.xid, l.seq) > (low.xid, low.seq)
  JOIN c ON c.shard = l.shard AND (l.xid, l.seq) > (c.xid, c.seq)
  WHERE pg_visible_in_snapshot(l.xid, $2::pg_snapshot)
) AS pending`,
    [shards, snapshot],
  );
  return result.rows[0]?.pending === true;
}
