import type pg from 'pg';

/** One event as the writers of releases before migration 0008 stored it. */
export interface LegacyEvent {
  id: string;
  type: string;
  key: string;
  payload: unknown;
  destination: string;
}

/**
 * Inserts events with the statement writers used before migration 0008: the shard from a
 * sub-select on `settings`, and the log's NOTIFY trigger still in place. For upgrade tests: an
 * application still running the old release while the schema moves.
 */
export async function legacyAdd(tx: pg.PoolClient | pg.Pool, schema: string, events: LegacyEvent[]): Promise<void> {
  for (const e of events) {
    await tx.query(
      `INSERT INTO "${schema}".log (id, type, version, source, partition_key, destination, payload, correlation_id, shard)
SELECT $1::uuid, $2, 1, '/legacy', $3, $4, $5::jsonb, $1::text,
  ((hashtextextended($3, 0) % st.shard_count + st.shard_count) % st.shard_count)::int
FROM "${schema}".settings st`,
      [e.id, e.type, e.key, e.destination, JSON.stringify(e.payload)],
    );
  }
}
