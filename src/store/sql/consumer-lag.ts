import type { Queryable } from '../db.ts';
import { quoteIdent } from '../identifiers.ts';

/**
 * Messages not yet handled by a group on one partition of its topics, as a transport measures it
 * (Subscription.lag()). Brokers with positions (Kafka, NATS, PostgreSQL) give them; brokers that
 * only count (RabbitMQ, SQS) give `lag` alone.
 */
export interface PartitionLag {
  topic: string;
  partition: number;
  /** The group's stored position, or null when it has none; absent where the broker only counts. */
  committed?: string | null;
  /** The position after the last message in the partition; absent where the broker only counts. */
  end?: string;
  lag: number;
}

/**
 * Stores the lag a group measured, for `herald status`: one row per partition, replaced; rows of
 * partitions the group no longer reads are removed.
 */
export async function recordLag(
  db: Queryable,
  schema: string,
  group: string,
  lag: readonly PartitionLag[],
): Promise<void> {
  if (lag.length === 0) return;
  await db.query(
    `DELETE FROM ${quoteIdent(schema)}.consumer_lag WHERE consumer_group = $1
  AND (topic, partition) NOT IN (SELECT * FROM unnest($2::text[], $3::int[]))`,
    [group, lag.map((l) => l.topic), lag.map((l) => l.partition)],
  );
  await db.query(
    `INSERT INTO ${quoteIdent(schema)}.consumer_lag (consumer_group, topic, partition, committed, end_offset, lag)
SELECT $1, * FROM unnest($2::text[], $3::int[], $4::text[], $5::text[], $6::bigint[])
ON CONFLICT (consumer_group, topic, partition) DO UPDATE SET committed = EXCLUDED.committed,
  end_offset = EXCLUDED.end_offset, lag = EXCLUDED.lag, measured_at = now()`,
    [
      group,
      lag.map((l) => l.topic),
      lag.map((l) => l.partition),
      lag.map((l) => l.committed ?? null),
      lag.map((l) => l.end ?? null),
      lag.map((l) => l.lag),
    ],
  );
}

export interface StoredLag extends PartitionLag {
  group: string;
  measuredAt: Date;
}

export async function readLag(db: Queryable, schema: string): Promise<StoredLag[]> {
  const result = await db.query<{
    consumer_group: string;
    topic: string;
    partition: number;
    committed: string | null;
    end_offset: string | null;
    lag: string;
    measured_at: Date;
  }>(
    `SELECT consumer_group, topic, partition, committed::text, end_offset::text, lag::text, measured_at
FROM ${quoteIdent(schema)}.consumer_lag ORDER BY consumer_group, topic, partition`,
  );
  return result.rows.map((r) => ({
    group: r.consumer_group,
    topic: r.topic,
    partition: r.partition,
    committed: r.committed,
    ...(r.end_offset === null ? {} : { end: r.end_offset }),
    lag: Number(r.lag),
    measuredAt: r.measured_at,
  }));
}
