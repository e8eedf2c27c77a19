import { type Queryable, runQuery } from '../../store/db.ts';
import { quoteIdent } from '../../store/identifiers.ts';

export interface BrokerRow {
  partition: number;
  xid: string;
  seq: string;
  id: string;
  key: string | null;
  value: Buffer;
  headers: Record<string, string>;
}

/** A topic's partition count: the one stored, or `partitions` for a new topic. */
export async function topicPartitions(
  db: Queryable,
  schema: string,
  topic: string,
  partitions: number,
): Promise<number> {
  const s = quoteIdent(schema);
  const result = await db.query<{ partitions: number }>(
    `WITH made AS (INSERT INTO ${s}.broker_topics (topic, partitions) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING partitions)
SELECT partitions FROM made UNION ALL SELECT partitions FROM ${s}.broker_topics WHERE topic = $1`,
    [topic, partitions],
  );
  return result.rows[0]?.partitions ?? partitions;
}

/** Appends messages in the order given: `seq` follows the order of the rows. */
export async function appendMessages(
  db: Queryable,
  schema: string,
  rows: { topic: string; partition: number; id: string; key: string; value: Buffer; headers: Record<string, string> }[],
): Promise<void> {
  await db.query(
    `INSERT INTO ${quoteIdent(schema)}.broker_messages (topic, partition, id, key, value, headers)
SELECT topic, partition, id, key, value, headers FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::bytea[], $6::jsonb[])
  WITH ORDINALITY AS m(topic, partition, id, key, value, headers, n) ORDER BY n`,
    [
      rows.map((r) => r.topic),
      rows.map((r) => r.partition),
      rows.map((r) => r.id),
      rows.map((r) => r.key),
      rows.map((r) => r.value),
      rows.map((r) => JSON.stringify(r.headers)),
    ],
  );
}

/** The next messages of one partition after a position, only below the oldest open transaction. */
export async function readPartition(
  db: Queryable,
  schema: string,
  topic: string,
  partition: number,
  after: { xid: string; seq: string },
  limit: number,
  prepared: boolean,
): Promise<BrokerRow[]> {
  const result = await runQuery<BrokerRow>(
    db,
    prepared ? `herald_broker_read_${schema}` : undefined,
    // Ordered by the columns (b.xid, b.seq), not the text aliases of the same names.
    `SELECT b.partition, b.xid::text AS xid, b.seq::text AS seq, b.id, b.key, b.value, b.headers
FROM ${quoteIdent(schema)}.broker_messages b
WHERE b.topic = $1 AND b.partition = $2 AND (b.xid, b.seq) > ($3::xid8, $4::bigint)
  AND b.xid < pg_snapshot_xmin(pg_current_snapshot())
ORDER BY b.xid, b.seq LIMIT $5`,
    [topic, partition, after.xid, after.seq, limit],
  );
  return result.rows;
}

export interface Held {
  topic: string;
  partition: number;
  xid: string;
  seq: string;
}

/**
 * One heartbeat of a group member: makes the group's offset rows, renews its leases, takes free
 * or expired partitions up to its fair share of the live members, and lets go of any beyond it.
 * Returns the partitions it holds, with their stored positions.
 */
export async function heartbeat(
  db: Queryable,
  schema: string,
  group: string,
  member: string,
  topics: { topic: string; partitions: number }[],
  leaseMs: number,
  fromLatest: boolean,
): Promise<Held[]> {
  const s = quoteIdent(schema);
  const names = topics.flatMap((t) => Array.from({ length: t.partitions }, () => t.topic));
  const parts = topics.flatMap((t) => Array.from({ length: t.partitions }, (_, p) => p));
  // A new group starts at the beginning, or (from latest) after the last message of each partition.
  await db.query(
    `INSERT INTO ${s}.broker_offsets (consumer_group, topic, partition, xid, seq)
SELECT $1, p.topic, p.partition, coalesce(last.xid, '0'::xid8), coalesce(last.seq, 0)
FROM unnest($2::text[], $3::int[]) AS p(topic, partition)
LEFT JOIN LATERAL (SELECT m.xid, m.seq FROM ${s}.broker_messages m
  WHERE $4 AND m.topic = p.topic AND m.partition = p.partition ORDER BY m.xid DESC, m.seq DESC LIMIT 1) last ON true
ON CONFLICT DO NOTHING`,
    [group, names, parts, fromLatest],
  );
  await db.query(
    `UPDATE ${s}.broker_offsets SET lease_until = now() + $3 * interval '1 millisecond'
WHERE consumer_group = $1 AND owner = $2 AND topic = ANY($4::text[])`,
    [group, member, leaseMs, topics.map((t) => t.topic)],
  );
  const live = await db.query<{ members: string; mine: string }>(
    `SELECT count(DISTINCT owner) FILTER (WHERE owner <> $2) AS members, count(*) FILTER (WHERE owner = $2) AS mine
FROM ${s}.broker_offsets WHERE consumer_group = $1 AND topic = ANY($3::text[]) AND lease_until > now()`,
    [group, member, topics.map((t) => t.topic)],
  );
  const others = Number(live.rows[0]?.members ?? 0);
  const mine = Number(live.rows[0]?.mine ?? 0);
  const fair = Math.ceil(names.length / (others + 1));
  if (mine < fair) {
    await db.query(
      `UPDATE ${s}.broker_offsets o SET owner = $2, lease_until = now() + $3 * interval '1 millisecond'
FROM (SELECT topic, partition FROM ${s}.broker_offsets
  WHERE consumer_group = $1 AND topic = ANY($5::text[]) AND (owner IS NULL OR lease_until IS NULL OR lease_until <= now())
  ORDER BY topic, partition LIMIT $4 FOR UPDATE SKIP LOCKED) free
WHERE o.consumer_group = $1 AND o.topic = free.topic AND o.partition = free.partition`,
      [group, member, leaseMs, fair - mine, topics.map((t) => t.topic)],
    );
  } else if (mine > fair) {
    await db.query(
      `UPDATE ${s}.broker_offsets o SET owner = NULL, lease_until = NULL
FROM (SELECT topic, partition FROM ${s}.broker_offsets WHERE consumer_group = $1 AND owner = $2
  ORDER BY topic DESC, partition DESC LIMIT $3) extra
WHERE o.consumer_group = $1 AND o.topic = extra.topic AND o.partition = extra.partition`,
      [group, member, mine - fair],
    );
  }
  const held = await db.query<Held>(
    `SELECT topic, partition, xid::text AS xid, seq::text AS seq FROM ${s}.broker_offsets
WHERE consumer_group = $1 AND owner = $2 AND lease_until > now() ORDER BY topic, partition`,
    [group, member],
  );
  return held.rows;
}

/** Stores positions (only forward, only where this member still holds the partition). */
export async function commitOffsets(
  db: Queryable,
  schema: string,
  group: string,
  member: string,
  positions: Held[],
): Promise<void> {
  await db.query(
    `UPDATE ${quoteIdent(schema)}.broker_offsets o SET xid = p.xid, seq = p.seq, updated_at = now()
FROM unnest($3::text[], $4::int[], $5::xid8[], $6::bigint[]) AS p(topic, partition, xid, seq)
WHERE o.consumer_group = $1 AND o.owner = $2 AND o.topic = p.topic AND o.partition = p.partition
  AND (o.xid, o.seq) < (p.xid, p.seq)`,
    [
      group,
      member,
      positions.map((p) => p.topic),
      positions.map((p) => p.partition),
      positions.map((p) => p.xid),
      positions.map((p) => p.seq),
    ],
  );
}

/** Gives up a member's partitions at once (a clean stop), so the others take them without waiting. */
export async function leaveGroup(db: Queryable, schema: string, group: string, member: string): Promise<void> {
  await db.query(
    `UPDATE ${quoteIdent(schema)}.broker_offsets SET owner = NULL, lease_until = NULL WHERE consumer_group = $1 AND owner = $2`,
    [group, member],
  );
}

export async function partitionLag(
  db: Queryable,
  schema: string,
  group: string,
  topics: string[],
): Promise<{ topic: string; partition: number; committed: string; end: string; lag: string }[]> {
  const s = quoteIdent(schema);
  const result = await db.query<{ topic: string; partition: number; committed: string; end: string; lag: string }>(
    `SELECT o.topic, o.partition, o.xid::text || ':' || o.seq AS committed,
  coalesce((array_agg(m.xid::text || ':' || m.seq ORDER BY m.xid DESC, m.seq DESC))[1], '0:0') AS end,
  count(m.seq) FILTER (WHERE (m.xid, m.seq) > (o.xid, o.seq))::text AS lag
FROM ${s}.broker_offsets o LEFT JOIN ${s}.broker_messages m ON m.topic = o.topic AND m.partition = o.partition
WHERE o.consumer_group = $1 AND o.topic = ANY($2::text[])
GROUP BY o.topic, o.partition, o.xid, o.seq ORDER BY o.topic, o.partition`,
    [group, topics],
  );
  return result.rows;
}

/** Drops messages older than the retention, like a broker's retention time. */
export async function expireMessages(db: Queryable, schema: string, retentionDays: number): Promise<number> {
  const result = await db.query(
    `DELETE FROM ${quoteIdent(schema)}.broker_messages WHERE published_at < now() - $1 * interval '1 day'`,
    [retentionDays],
  );
  return result.rowCount ?? 0;
}
