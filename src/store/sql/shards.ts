import { HeraldError } from '../../errors.ts';
import type { Queryable } from '../db.ts';
import { quoteIdent } from '../identifiers.ts';

/**
 * Sets the number of shards of a schema. Only while the log is empty and no relay has run: an
 * event's shard is fixed when it is written, and cursors and leases are per shard. Returns the
 * count in force.
 */
export async function setShardCount(db: Queryable, schema: string, count: number): Promise<number> {
  if (!Number.isInteger(count) || count < 1 || count > 4096) {
    throw new HeraldError('HERALD_INVALID_CONFIG', `--shards: ${count} must be an integer from 1 to 4096`, {
      details: { setting: 'shards' },
    });
  }
  const s = quoteIdent(schema);
  const current = await db.query<{ shard_count: number; used: boolean }>(
    `SELECT st.shard_count, (EXISTS (SELECT 1 FROM ${s}.log) OR EXISTS (SELECT 1 FROM ${s}.cursors)) AS used
FROM ${s}.settings st`,
  );
  const row = current.rows[0];
  if (row?.shard_count === count) return count;
  if (row?.used) {
    throw new HeraldError(
      'HERALD_INVALID_CONFIG',
      `--shards: schema "${schema}" already has ${row.shard_count} shards and events or cursors; the count can only be set before the first event`,
      { details: { setting: 'shards', current: row.shard_count } },
    );
  }
  await db.query(`UPDATE ${s}.settings SET shard_count = $1`, [count]);
  // Writers compute the shard with shard_of (migration 0008), the count written into its body so
  // PostgreSQL inlines it; `count` is an integer checked above, never text from outside.
  await db.query(
    `CREATE OR REPLACE FUNCTION ${s}.shard_of(key text) RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN ((hashtextextended(key, 0) % ${count} + ${count}) % ${count})::integer`,
  );
  return count;
}
