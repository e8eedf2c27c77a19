import { type Queryable, runQuery } from '../db.ts';
import { quoteIdent } from '../identifiers.ts';

/** A message's place: its partition and offset. */
export interface Position {
  topic: string;
  partition: number;
  offset: string;
}

export const positionKey = (p: { topic: string; partition: number }) => `${p.topic}\u0000${p.partition}`;

/**
 * Moves the group's stored position of each message's partition past it, inside the handler's
 * transaction, and returns the partitions where it moved (`positionKey`): a message below the
 * stored position was handled before and is left out. The row stays locked until the
 * transaction ends, so another member handling the same message waits and then finds it handled.
 * One message per partition per call.
 */
export async function claimPositions(
  tx: Queryable,
  schema: string,
  group: string,
  positions: readonly Position[],
  prepared: boolean,
): Promise<Set<string>> {
  const result = await runQuery<{ topic: string; partition: number }>(
    tx,
    prepared ? `herald_offsets_claim_${schema}` : undefined,
    `INSERT INTO ${quoteIdent(schema)}.consumer_offsets AS o (consumer_group, topic, partition, next_offset)
SELECT $1, t, p, n + 1 FROM unnest($2::text[], $3::int[], $4::bigint[]) AS m(t, p, n)
ON CONFLICT (consumer_group, topic, partition)
DO UPDATE SET next_offset = EXCLUDED.next_offset, updated_at = now() WHERE o.next_offset < EXCLUDED.next_offset
RETURNING topic, partition`,
    [group, positions.map((p) => p.topic), positions.map((p) => p.partition), positions.map((p) => p.offset)],
  );
  return new Set(result.rows.map((r) => positionKey(r)));
}

/**
 * Takes a claim back inside the same transaction (the handler failed in a group and its
 * savepoint rolled back): the partition's messages before it are all done, it is not.
 */
export async function unclaimPosition(tx: Queryable, schema: string, group: string, p: Position): Promise<void> {
  await tx.query(
    `UPDATE ${quoteIdent(schema)}.consumer_offsets SET next_offset = $4
WHERE consumer_group = $1 AND topic = $2 AND partition = $3 AND next_offset = $4::bigint + 1`,
    [group, p.topic, p.partition, p.offset],
  );
}

/** The group's stored positions (next offset to handle) per partition of these topics. */
export async function readPositions(
  db: Queryable,
  schema: string,
  group: string,
  topics: readonly string[],
): Promise<{ topic: string; partition: number; nextOffset: string }[]> {
  const { rows } = await db.query<{ topic: string; partition: number; next_offset: string }>(
    `SELECT topic, partition, next_offset::text FROM ${quoteIdent(schema)}.consumer_offsets
WHERE consumer_group = $1 AND topic = ANY($2) ORDER BY topic, partition`,
    [group, topics],
  );
  return rows.map((r) => ({ topic: r.topic, partition: r.partition, nextOffset: r.next_offset }));
}
