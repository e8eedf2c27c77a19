import type { Queryable } from '../store/db.ts';
import { quoteIdent } from '../store/identifiers.ts';

// The read-only queries behind `getStatus`. They run in one REPEATABLE READ, READ ONLY
// transaction, so every statement sees the same snapshot (and the same `now()`): the held-back
// count and the transaction found holding it back come from one moment. A read-only transaction
// takes no transaction id, so it never holds back the relay itself.
//
// Ages are seconds as float8, NULL when there is nothing to age (GREATEST would turn that into
// 0); the caller clamps clock differences below zero.
//
// Tables are always aliased and columns qualified: in ORDER BY a bare `xid` would mean a text
// output column, which sorts '1000' before '999'.

export interface ShardRow {
  shard: number;
  cursor_xid: string;
  cursor_seq: string;
  cursor_updated_at: Date | null;
  events: number;
  held_back: number;
  oldest_age_seconds: number | null;
  held_back_oldest_age_seconds: number | null;
  snapshot_xmin: string;
  at: Date;
}

/**
 * Per shard: the committed events after its cursor, how many of them sit at or above the
 * snapshot's xmin (the relay reads only below it, so they wait for the oldest open transaction),
 * and the age of the oldest. Every shard of `settings.shard_count` is listed, with cursor 0/0 when
 * no relay has created its cursor yet. One range scan of the primary key above the lowest cursor
 * (the log has no shard index since migration 0008: writers no longer pay for one), each row
 * kept when it lies after its own shard's cursor.
 */
export async function readShards(db: Queryable, schema: string): Promise<ShardRow[]> {
  const s = quoteIdent(schema);
  const result = await db.query<ShardRow>(
    `WITH snap AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin),
sh AS (
  SELECT g.shard, coalesce(c.xid, '0'::xid8) AS xid, coalesce(c.seq, 0) AS seq, c.updated_at
  FROM ${s}.settings st
  CROSS JOIN LATERAL generate_series(0, st.shard_count - 1) AS g(shard)
  LEFT JOIN ${s}.cursors c ON c.shard = g.shard
),
low AS (SELECT sh.xid, sh.seq FROM sh ORDER BY sh.xid, sh.seq LIMIT 1),
b AS (
  SELECT l.shard, count(*)::float8 AS events,
    count(*) FILTER (WHERE l.xid >= snap.xmin)::float8 AS held_back,
    min(l.created_at) AS oldest,
    min(l.created_at) FILTER (WHERE l.xid >= snap.xmin) AS held_back_oldest
  FROM low
  CROSS JOIN snap
  JOIN ${s}.log l ON (l.xid, l.seq) > (low.xid, low.seq)
  JOIN sh ON sh.shard = l.shard AND (l.xid, l.seq) > (sh.xid, sh.seq)
  GROUP BY l.shard
)
SELECT sh.shard, sh.xid::text AS cursor_xid, sh.seq::text AS cursor_seq, sh.updated_at AS cursor_updated_at,
  coalesce(b.events, 0) AS events, coalesce(b.held_back, 0) AS held_back,
  extract(epoch FROM clock_timestamp() - b.oldest)::float8 AS oldest_age_seconds,
  extract(epoch FROM clock_timestamp() - b.held_back_oldest)::float8 AS held_back_oldest_age_seconds,
  snap.xmin::text AS snapshot_xmin, clock_timestamp() AS at
FROM sh
CROSS JOIN snap
LEFT JOIN b ON b.shard = sh.shard
ORDER BY sh.shard`,
  );
  return result.rows;
}

export interface RateRow {
  written: number;
  published: number;
}

/**
 * Events whose `created_at` lies in the last `windowSeconds`: all of them (written), and those at
 * or before their shard's cursor (published). An approximation: `created_at` is the event's time,
 * not its commit or publish time.
 */
export async function readRates(db: Queryable, schema: string, windowSeconds: number): Promise<RateRow> {
  const s = quoteIdent(schema);
  const result = await db.query<RateRow>(
    `SELECT count(*)::float8 AS written,
  count(*) FILTER (WHERE (l.xid, l.seq) <= (coalesce(c.xid, '0'::xid8), coalesce(c.seq, 0)))::float8 AS published
FROM ${s}.log l
LEFT JOIN ${s}.cursors c ON c.shard = l.shard
WHERE l.created_at > now() - make_interval(secs => $1::float8)`,
    [windowSeconds],
  );
  return result.rows[0] ?? { written: 0, published: 0 };
}

export interface DeadLetterRow {
  type: string;
  error_code: string;
  count: number;
  /** Over every pending dead letter, repeated on each row. */
  pending: number;
  oldest_age_seconds: number | null;
}

/** Pending dead letters: the total, the age of the oldest, and the largest (type, error code) groups. */
export async function readDeadLetters(db: Queryable, schema: string, top: number): Promise<DeadLetterRow[]> {
  const s = quoteIdent(schema);
  const result = await db.query<DeadLetterRow>(
    `WITH g AS (
  SELECT d.type, d.error_code, count(*)::float8 AS count, min(d.first_failed_at) AS oldest
  FROM ${s}.dead_letters d
  WHERE d.status = 'pending'
  GROUP BY d.type, d.error_code
),
t AS (SELECT sum(g.count)::float8 AS pending, min(g.oldest) AS oldest FROM g)
SELECT g.type, g.error_code, g.count, t.pending,
  extract(epoch FROM clock_timestamp() - t.oldest)::float8 AS oldest_age_seconds
FROM g CROSS JOIN t
ORDER BY g.count DESC, g.type, g.error_code
LIMIT $1`,
    [top],
  );
  return result.rows;
}

export interface BlockerRow {
  pid: number;
  xid: string;
  database: string | null;
  user_name: string | null;
  application_name: string | null;
  state: string | null;
  xact_start: Date | null;
  query_start: Date | null;
  age_seconds: number | null;
  query: string | null;
}

/**
 * The session whose transaction id is the snapshot's xmin: the oldest transaction still running
 * anywhere in the cluster, which every event committed after it waits for. Only the start of its
 * query text is read (pg_stat_activity never holds bind parameters). None when that transaction
 * is not visible here: it ended meanwhile, it is a prepared (two-phase) transaction, or this role
 * may not see other roles' sessions (grant pg_read_all_stats).
 */
export async function readBlocker(db: Queryable, queryChars: number): Promise<BlockerRow | null> {
  const result = await db.query<BlockerRow>(
    `SELECT a.pid, a.backend_xid::text AS xid, a.datname AS database, a.usename AS user_name, a.application_name,
  a.state, a.xact_start, a.query_start,
  extract(epoch FROM clock_timestamp() - a.xact_start)::float8 AS age_seconds,
  left(a.query, $1) AS query
FROM pg_stat_activity a
WHERE a.backend_xid = pg_snapshot_xmin(pg_current_snapshot())::xid AND a.pid <> pg_backend_pid()
LIMIT 1`,
    [queryChars],
  );
  return result.rows[0] ?? null;
}

export interface RelayLeaseRow {
  id: string;
  started_at: Date;
  heartbeat_age_seconds: number;
  alive: boolean;
  shards: number[];
}

/** Every relay instance known to the leases table, with the shards it holds a valid lease on. */
export async function readRelays(
  db: Queryable,
  schema: string,
): Promise<{ relays: RelayLeaseRow[]; unheld: number[] }> {
  const s = quoteIdent(schema);
  const relays = await db.query<RelayLeaseRow>(
    `SELECT r.id, r.started_at, extract(epoch FROM now() - r.heartbeat_at)::float8 AS heartbeat_age_seconds,
  r.expires_at > now() AS alive,
  coalesce(array_agg(l.shard ORDER BY l.shard) FILTER (WHERE l.shard IS NOT NULL), '{}') AS shards
FROM ${s}.relays r LEFT JOIN ${s}.leases l ON l.owner = r.id AND l.expires_at > now()
GROUP BY r.id ORDER BY r.id`,
  );
  const unheld = await db.query<{ shard: number }>(
    `SELECT c.shard FROM ${s}.cursors c LEFT JOIN ${s}.leases l ON l.shard = c.shard AND l.expires_at > now()
WHERE l.shard IS NULL ORDER BY c.shard`,
  );
  return { relays: relays.rows, unheld: unheld.rows.map((r) => r.shard) };
}

export interface ConsumerDeadLetterCountRow {
  consumer_group: string;
  pending: number;
  retrying: number;
  /** Since the oldest pending one first failed; null when none is pending. */
  oldest_age_seconds: number | null;
}

/** Per consumer group, its dead letters waiting for an operator (pending) or for a consumer (retrying). */
export async function readConsumerDeadLetters(db: Queryable, schema: string): Promise<ConsumerDeadLetterCountRow[]> {
  const s = quoteIdent(schema);
  const result = await db.query<ConsumerDeadLetterCountRow>(
    `SELECT d.consumer_group,
  count(*) FILTER (WHERE d.status = 'pending')::float8 AS pending,
  count(*) FILTER (WHERE d.status = 'retrying')::float8 AS retrying,
  extract(epoch FROM clock_timestamp() - min(d.first_failed_at) FILTER (WHERE d.status = 'pending'))::float8
    AS oldest_age_seconds
FROM ${s}.consumer_dead_letters d
WHERE d.status IN ('pending', 'retrying')
GROUP BY d.consumer_group
ORDER BY d.consumer_group`,
  );
  return result.rows;
}
