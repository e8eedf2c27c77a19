import type { Logger } from '../observe/logger.ts';
import { archiveColumns, expireArchive, type Keep, keepsAny, keptTypes } from './archive.ts';
import { type PoolLike, withTransaction } from './connect.ts';
import type { Queryable } from './db.ts';
import { quoteIdent } from './identifiers.ts';

export interface RetentionOptions {
  /** Days a partition is kept after its day ends; default 7. */
  retentionDays?: number;
  /** Daily partitions kept ready ahead of today; default 7. */
  daysAhead?: number;
  /** Daily partitions made for days already past (events written earlier); default 0. */
  daysBehind?: number;
  /** The clock; a test moves it. Default now. */
  now?: Date;
}

export interface LogRetentionOptions extends RetentionOptions {
  /**
   * Event types kept past `retentionDays` in the archive, with their own days or 'forever'
   * (`'*'`: every other type); default none: a dropped partition takes its events with it.
   */
  keep?: Keep;
}

export interface RetentionResult {
  created: string[];
  dropped: string[];
  /**
   * Rows deleted from the default partition (rows written when no day partition was ready): it
   * is never dropped, so its rows past retention (for the log, published ones) go by DELETE.
   */
  swept: number;
  /** Partitions old enough to drop but kept, and why. */
  kept: { partition: string; reason: string }[];
  /** Events copied into the archive before their partition was dropped (or swept). */
  archived: number;
  /** Archived events deleted past their type's days. */
  expired: number;
}

const dayMs = 86_400_000;
const utcDay = (t: number) => Math.floor(t / dayMs) * dayMs;
const dayName = (table: string, t: number) => `${table}_p${new Date(t).toISOString().slice(0, 10).replaceAll('-', '')}`;

interface Partition {
  name: string;
  /** Upper bound in ms; null for the default partition. */
  until: number | null;
  from: number | null;
}

async function partitions(db: Queryable, schema: string, table: string): Promise<Partition[]> {
  const result = await db.query<{ name: string; bound: string }>(
    `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = to_regclass($1)`,
    [`${quoteIdent(schema)}.${quoteIdent(table)}`],
  );
  return result.rows.map((r) => {
    const to = /TO \('([^']+)'\)/.exec(r.bound)?.[1];
    const from = /FROM \('([^']+)'\)/.exec(r.bound)?.[1];
    return { name: r.name, until: to ? Date.parse(to) : null, from: from ? Date.parse(from) : null };
  });
}

/** Where a dropped partition's rows of the kept types go first: the log's archive. */
interface ArchiveRule {
  /** The archive's columns, quoted and joined: both sides of the copy name them. */
  columns: string;
  all: boolean;
  types: string[];
}

/**
 * Keeps a table's daily partitions: creates the days ahead (and behind), and drops whole
 * partitions whose day ended more than `retentionDays` ago, unless `guard.holdsPending` says the
 * partition still holds rows that are needed. Dropping a partition is instant and leaves no dead
 * rows behind, unlike DELETE. With `guard.archive` (the log only), the kept types' rows are
 * copied into `log_archive` in the dropping transaction.
 */
export async function maintainPartitions(
  db: PoolLike,
  schema: string,
  table: 'log' | 'inbox',
  options: RetentionOptions = {},
  guard: { holdsPending?: (partition: string) => Promise<string | null>; archive?: ArchiveRule | undefined } = {},
): Promise<RetentionResult> {
  const { holdsPending, archive } = guard;
  const s = quoteIdent(schema);
  const now = (options.now ?? new Date()).getTime();
  const retentionDays = options.retentionDays ?? 7;
  const daysAhead = options.daysAhead ?? 7;
  const daysBehind = Math.min(options.daysBehind ?? 0, retentionDays);
  const result: RetentionResult = { created: [], dropped: [], swept: 0, kept: [], archived: 0, expired: 0 };
  const existing = await partitions(db, schema, table);
  const covered = (day: number) =>
    existing.some((p) => p.until !== null && p.until > day && (p.from === null || p.from <= day));

  for (let d = -daysBehind; d <= daysAhead; d++) {
    const day = utcDay(now) + d * dayMs;
    if (covered(day)) continue;
    const name = dayName(table, day);
    try {
      // Bounds are ISO strings this code made from numbers; DDL takes no parameters.
      await db.query(
        `CREATE TABLE IF NOT EXISTS ${s}.${quoteIdent(name, 'partition')} PARTITION OF ${s}.${quoteIdent(table)}
FOR VALUES FROM ('${new Date(day).toISOString()}') TO ('${new Date(day + dayMs).toISOString()}')`,
      );
      result.created.push(name);
    } catch (error) {
      // Rows for that day already sit in the default partition (none was ready): they stay there.
      result.kept.push({ partition: name, reason: `not created: ${(error as Error).message}` });
    }
  }

  const cutoff = now - retentionDays * dayMs;
  for (const p of existing) {
    if (p.until === null || p.until > cutoff) continue;
    const part = `${s}.${quoteIdent(p.name, 'partition')}`;
    const reason = holdsPending ? await holdsPending(part) : null;
    if (reason !== null) {
      result.kept.push({ partition: p.name, reason });
      continue;
    }
    // Another process may have dropped it first: IF EXISTS, and the copy skips rows it made.
    if (archive) {
      result.archived += await withTransaction(db, async (tx) => {
        const copied = await tx.query(
          `INSERT INTO ${s}.log_archive (${archive.columns}) SELECT ${archive.columns} FROM ${part}
WHERE $1 OR type = ANY($2::text[]) ON CONFLICT DO NOTHING`,
          [archive.all, archive.types],
        );
        await tx.query(`DROP TABLE IF EXISTS ${part}`);
        return copied.rowCount ?? 0;
      });
    } else {
      await db.query(`DROP TABLE IF EXISTS ${part}`);
    }
    result.dropped.push(p.name);
  }
  const swept = await sweepDefault(db, schema, table, new Date(cutoff), archive);
  result.swept = swept.swept;
  result.archived += swept.archived;
  return result;
}

const sweepChunk = 10_000;

/**
 * Deletes the default partition's rows past retention, in chunks; for the log, published ones
 * only, the kept types' rows moving to the archive in the same statement.
 */
async function sweepDefault(
  db: Queryable,
  schema: string,
  table: 'log' | 'inbox',
  cutoff: Date,
  archive?: ArchiveRule,
): Promise<{ swept: number; archived: number }> {
  const s = quoteIdent(schema);
  const old =
    table === 'log'
      ? `SELECT ctid FROM ${s}.log_default l WHERE l.logged_at < $1 AND EXISTS (
           SELECT 1 FROM ${s}.cursors c WHERE c.shard = l.shard AND (l.xid, l.seq) <= (c.xid, c.seq)) LIMIT ${sweepChunk}`
      : `SELECT ctid FROM ${s}.inbox_default WHERE event_time < $1 LIMIT ${sweepChunk}`;
  const sql = archive
    ? `WITH gone AS (DELETE FROM ${s}.log_default WHERE ctid IN (${old}) RETURNING *),
  copied AS (INSERT INTO ${s}.log_archive (${archive.columns}) SELECT ${archive.columns} FROM gone
    WHERE $2 OR type = ANY($3::text[]) ON CONFLICT DO NOTHING RETURNING 1)
SELECT (SELECT count(*) FROM gone)::int AS swept, (SELECT count(*) FROM copied)::int AS archived`
    : `WITH gone AS (DELETE FROM ${s}.${table}_default WHERE ctid IN (${old}) RETURNING 1)
SELECT count(*)::int AS swept, 0 AS archived FROM gone`;
  const values = archive ? [cutoff, archive.all, archive.types] : [cutoff];
  const total = { swept: 0, archived: 0 };
  for (;;) {
    const { rows } = await db.query<{ swept: number; archived: number }>(sql, values);
    const chunk = rows[0] ?? { swept: 0, archived: 0 };
    total.swept += chunk.swept;
    total.archived += chunk.archived;
    if (chunk.swept < sweepChunk) return total;
  }
}

/**
 * The log's partitions: one is dropped only once every event in it is published; with `keep`,
 * the kept types' events move to the archive as their partition is dropped, and archived events
 * past their type's days are deleted (docs/retention.md).
 */
export async function maintainLog(
  db: PoolLike,
  schema: string,
  options: LogRetentionOptions = {},
): Promise<RetentionResult> {
  const s = quoteIdent(schema);
  const keep = options.keep ?? {};
  const holdsPending = async (part: string) => {
    const pending = await db.query<{ unpublished: boolean }>(
      // A shard with no cursor row has never been published: its rows count as unpublished.
      `SELECT EXISTS (SELECT 1 FROM ${part} l LEFT JOIN ${s}.cursors c ON c.shard = l.shard
  WHERE c.shard IS NULL OR (l.xid, l.seq) > (c.xid, c.seq)) AS unpublished`,
    );
    return pending.rows[0]?.unpublished ? 'holds events not yet published' : null;
  };
  const archive = keepsAny(keep) ? { columns: await archiveColumns(db, schema), ...keptTypes(keep) } : undefined;
  const result = await maintainPartitions(db, schema, 'log', options, { holdsPending, archive });
  result.expired = await expireArchive(db, schema, keep, options.now ?? new Date());
  return result;
}

/**
 * Runs the maintenance of the log's (or the inbox's) partitions now and every hour until the
 * returned function is called; 0 days: never.
 */
export function scheduleRetention(options: {
  db: PoolLike;
  schema: string;
  retentionDays: number;
  keep?: Keep;
  logger: Logger;
  table?: 'log' | 'inbox';
}): () => void {
  const { db, schema, retentionDays, logger, keep } = options;
  const table = options.table ?? 'log';
  if (retentionDays <= 0) return () => {};
  const run = async () => {
    try {
      const r =
        table === 'log'
          ? await maintainLog(db, schema, { retentionDays, ...(keep ? { keep } : {}) })
          : await maintainPartitions(db, schema, table, { retentionDays, daysBehind: retentionDays });
      if (r.created.length > 0 || r.dropped.length > 0 || r.kept.length > 0 || r.swept > 0 || r.expired > 0) {
        logger.info(
          {
            created: r.created,
            dropped: r.dropped,
            swept: r.swept,
            kept: r.kept,
            archived: r.archived,
            expired: r.expired,
          },
          `${table} partitions maintained`,
        );
      }
    } catch (error) {
      logger.warn({ error }, `${table} partition maintenance failed; retrying in an hour`);
    }
  };
  void run();
  const timer = setInterval(() => void run(), 3_600_000);
  timer.unref();
  return () => clearInterval(timer);
}
