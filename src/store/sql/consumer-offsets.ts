import { type Queryable, runQuery } from '../db.ts';
import { quoteIdent } from '../identifiers.ts';

export const positionKey = (p: { topic: string; partition: number }) => `${p.topic}\u0000${p.partition}`;

/**
 * A run of consecutive messages of one partition, `first` to `last` (one message: both its offset),
 * claimed together: the position moves past `last` only if it had not passed `first`.
 */
export interface PositionRun {
  topic: string;
  partition: number;
  first: string;
  last: string;
}

/**
 * Moves the group's stored position of each run's partition past its last message, inside the
 * handlers' transaction, and returns the partitions where it moved (`positionKey`). A position
 * already past the run's first message (handled before, all or part of it: a second delivery)
 * stays, and the run is left out. The row stays locked until the transaction ends, so another
 * member handling the same messages waits and then finds them handled. One run per partition per
 * call.
 */
export async function claimPositions(
  tx: Queryable,
  schema: string,
  group: string,
  runs: readonly PositionRun[],
  prepared: boolean,
): Promise<Set<string>> {
  const result = await runQuery<{ topic: string; partition: number }>(
    tx,
    prepared ? `herald_offsets_claim_${schema}` : undefined,
    `INSERT INTO ${quoteIdent(schema)}.consumer_offsets AS o (consumer_group, topic, partition, next_offset)
SELECT $1, t, p, l + 1 FROM unnest($2::text[], $3::int[], $5::bigint[]) AS m(t, p, l)
ON CONFLICT (consumer_group, topic, partition)
DO UPDATE SET next_offset = EXCLUDED.next_offset, updated_at = now()
WHERE o.next_offset <= (SELECT f FROM unnest($2::text[], $3::int[], $4::bigint[]) AS r(t, p, f) WHERE r.t = o.topic AND r.p = o.partition)
RETURNING topic, partition`,
    [group, runs.map((r) => r.topic), runs.map((r) => r.partition), runs.map((r) => r.first), runs.map((r) => r.last)],
  );
  return new Set(result.rows.map((r) => positionKey(r)));
}

/**
 * Takes a claim back inside the same transaction (the run's handlers failed in a group and its
 * savepoint rolled back): the partition's messages before the run are all done, the run is not.
 */
export async function unclaimPosition(tx: Queryable, schema: string, group: string, run: PositionRun): Promise<void> {
  await tx.query(
    `UPDATE ${quoteIdent(schema)}.consumer_offsets SET next_offset = $4
WHERE consumer_group = $1 AND topic = $2 AND partition = $3 AND next_offset = $5::bigint + 1`,
    [group, run.topic, run.partition, run.first, run.last],
  );
}

/** The group's stored position (next offset to handle) in one partition; null when it has none. */
export async function readPosition(
  db: Queryable,
  schema: string,
  group: string,
  p: { topic: string; partition: number },
): Promise<bigint | null> {
  const { rows } = await db.query<{ next_offset: string }>(
    `SELECT next_offset::text FROM ${quoteIdent(schema)}.consumer_offsets
WHERE consumer_group = $1 AND topic = $2 AND partition = $3`,
    [group, p.topic, p.partition],
  );
  return rows[0] ? BigInt(rows[0].next_offset) : null;
}
