import { integerSetting } from '../config/check.ts';
import { type DatabaseOption, openPool, resolveDatabase, toDatabaseError } from '../store/connect.ts';
import { quoteIdent, resolveSchema } from '../store/identifiers.ts';
import { assertMigrated } from '../store/migrate.ts';

export interface UnpublishedOptions {
  /** A connection string (a pool is opened and closed) or a node-postgres Pool (left open); default `DATABASE_URL`. */
  db?: DatabaseOption;
  schema?: string;
  /** At most this many, oldest first; default 100. */
  limit?: number;
}

/** An event in the log that no relay has published yet (after its shard's cursor). */
export interface UnpublishedEvent {
  id: string;
  type: string;
  key: string;
  shard: number;
  destination: string | null;
  createdAt: Date;
  payload: unknown;
}

/**
 * The events committed and not yet published, in log order (seed 001's unpublished list): for
 * tests and for looking into a backlog. Includes events held back by an open transaction.
 */
export async function listUnpublished(options: UnpublishedOptions = {}): Promise<UnpublishedEvent[]> {
  const schema = resolveSchema(options.schema).name;
  const limit = integerSetting('limit', options.limit, 1, 100_000) ?? 100;
  const { pool, owned, target } = openPool(resolveDatabase(options.db), 1);
  try {
    await assertMigrated(pool, schema);
    const s = quoteIdent(schema);
    const result = await pool.query<UnpublishedEvent>(
      `SELECT l.id, l.type, l.partition_key AS key, l.shard, l.destination, l.created_at AS "createdAt", l.payload
FROM ${s}.log l
LEFT JOIN ${s}.cursors c ON c.shard = l.shard
WHERE (l.xid, l.seq) > (coalesce(c.xid, '0'::xid8), coalesce(c.seq, 0))
ORDER BY l.xid, l.seq
LIMIT $1`,
      [limit],
    );
    return result.rows;
  } catch (error) {
    throw toDatabaseError(error, target);
  } finally {
    if (owned) await pool.end?.().catch(() => {});
  }
}
