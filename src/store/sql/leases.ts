import type { Queryable } from '../db.ts';
import { quoteIdent } from '../identifiers.ts';

export interface Lease {
  shard: number;
  epoch: string;
}

/** Records this relay as alive until now + ttl; returns every live relay's id, sorted. */
export async function heartbeat(db: Queryable, schema: string, id: string, ttlMs: number): Promise<string[]> {
  const s = quoteIdent(schema);
  const result = await db.query<{ id: string }>(
    `WITH beat AS (
  INSERT INTO ${s}.relays (id, expires_at) VALUES ($1, now() + $2 * interval '1 millisecond')
  ON CONFLICT (id) DO UPDATE SET heartbeat_at = now(), expires_at = EXCLUDED.expires_at
), gone AS (
  DELETE FROM ${s}.relays WHERE expires_at < now() - interval '1 minute' AND id <> $1
)
SELECT id FROM ${s}.relays WHERE expires_at > now() OR id = $1 ORDER BY id`,
    [id, ttlMs],
  );
  return result.rows.map((r) => r.id);
}

/** Takes the shards that are free, expired or already ours; returns those now held, with epochs. */
export async function acquireLeases(
  db: Queryable,
  schema: string,
  id: string,
  shards: number[],
  ttlMs: number,
): Promise<Lease[]> {
  const s = quoteIdent(schema);
  await db.query(`INSERT INTO ${s}.leases (shard) SELECT unnest($1::int[]) ON CONFLICT (shard) DO NOTHING`, [shards]);
  const result = await db.query<Lease>(
    `UPDATE ${s}.leases l
SET epoch = CASE WHEN l.owner = $1 AND l.expires_at > now() THEN l.epoch ELSE l.epoch + 1 END,
    acquired_at = CASE WHEN l.owner = $1 AND l.expires_at > now() THEN l.acquired_at ELSE now() END,
    owner = $1, expires_at = now() + $3 * interval '1 millisecond'
WHERE l.shard = ANY($2::int[]) AND (l.owner IS NULL OR l.owner = $1 OR l.expires_at <= now())
RETURNING l.shard, l.epoch::text AS epoch`,
    [id, shards, ttlMs],
  );
  return result.rows;
}

/** Extends the leases still ours at the same epoch; returns the shards renewed. */
export async function renewLeases(
  db: Queryable,
  schema: string,
  id: string,
  leases: Lease[],
  ttlMs: number,
): Promise<number[]> {
  if (leases.length === 0) return [];
  const result = await db.query<{ shard: number }>(
    `UPDATE ${quoteIdent(schema)}.leases l SET expires_at = now() + $2 * interval '1 millisecond'
FROM unnest($3::int[], $4::bigint[]) AS mine(shard, epoch)
WHERE l.shard = mine.shard AND l.epoch = mine.epoch AND l.owner = $1 AND l.expires_at > now()
RETURNING l.shard`,
    [id, ttlMs, leases.map((l) => l.shard), leases.map((l) => l.epoch)],
  );
  return result.rows.map((r) => r.shard);
}

/** Gives shards back at once, so that another relay can take them without waiting for expiry. */
export async function releaseLeases(db: Queryable, schema: string, id: string, shards: number[]): Promise<void> {
  if (shards.length === 0) return;
  await db.query(
    `UPDATE ${quoteIdent(schema)}.leases SET owner = NULL, expires_at = '-infinity'
WHERE shard = ANY($2::int[]) AND owner = $1`,
    [id, shards],
  );
}

export async function forgetRelay(db: Queryable, schema: string, id: string): Promise<void> {
  await db.query(`DELETE FROM ${quoteIdent(schema)}.relays WHERE id = $1`, [id]);
}
