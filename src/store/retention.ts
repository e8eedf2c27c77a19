import type { Logger } from '../observe/logger.ts';
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

/**
 * Keeps a table's daily partitions: creates the days ahead (and behind), and drops whole
 * partitions whose day ended more than `retentionDays` ago, unless `holdsPending` says the
 * partition still holds rows that are needed. Dropping a partition is instant and leaves no dead
 * rows behind, unlike DELETE.
 */
export async function maintainPartitions(
  db: Queryable,
  schema: string,
  table: 'log' | 'inbox',
  options: RetentionOptions = {},
  holdsPending?: (partition: string) => Promise<string | null>,
): Promise<RetentionResult> {
  const s = quoteIdent(schema);
  const now = (options.now ?? new Date()).getTime();
  const retentionDays = options.retentionDays ?? 7;
  const daysAhead = options.daysAhead ?? 7;
  const daysBehind = Math.min(options.daysBehind ?? 0, retentionDays);
  const result: RetentionResult = { created: [], dropped: [], swept: 0, kept: [] };
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
    await db.query(`DROP TABLE IF EXISTS ${part}`); // another process may have dropped it first
    result.dropped.push(p.name);
  }
  result.swept = await sweepDefault(db, schema, table, new Date(cutoff));
  return result;
}

const sweepChunk = 10_000;

/** Deletes the default partition's rows past retention, in chunks; for the log, published ones only. */
async function sweepDefault(db: Queryable, schema: string, table: 'log' | 'inbox', cutoff: Date): Promise<number> {
  const s = quoteIdent(schema);
  const old =
    table === 'log'
      ? `SELECT ctid FROM ${s}.log_default l WHERE l.logged_at < $1 AND EXISTS (
           SELECT 1 FROM ${s}.cursors c WHERE c.shard = l.shard AND (l.xid, l.seq) <= (c.xid, c.seq)) LIMIT ${sweepChunk}`
      : `SELECT ctid FROM ${s}.inbox_default WHERE event_time < $1 LIMIT ${sweepChunk}`;
  let swept = 0;
  for (;;) {
    const { rowCount } = await db.query(`DELETE FROM ${s}.${table}_default WHERE ctid IN (${old})`, [cutoff]);
    swept += rowCount ?? 0;
    if ((rowCount ?? 0) < sweepChunk) return swept;
  }
}

/** The log's partitions: one is dropped only once every event in it is published. */
export function maintainLog(db: Queryable, schema: string, options: RetentionOptions = {}): Promise<RetentionResult> {
  const s = quoteIdent(schema);
  return maintainPartitions(db, schema, 'log', options, async (part) => {
    const pending = await db.query<{ unpublished: boolean }>(
      // A shard with no cursor row has never been published: its rows count as unpublished.
      `SELECT EXISTS (SELECT 1 FROM ${part} l LEFT JOIN ${s}.cursors c ON c.shard = l.shard
  WHERE c.shard IS NULL OR (l.xid, l.seq) > (c.xid, c.seq)) AS unpublished`,
    );
    return pending.rows[0]?.unpublished ? 'holds events not yet published' : null;
  });
}

/**
 * Runs the maintenance of the log's (or the inbox's) partitions now and every hour until the
 * returned function is called; 0 days: never.
 */
export function scheduleRetention(options: {
  db: Queryable;
  schema: string;
  retentionDays: number;
  logger: Logger;
  table?: 'log' | 'inbox';
}): () => void {
  const { db, schema, retentionDays, logger } = options;
  const table = options.table ?? 'log';
  if (retentionDays <= 0) return () => {};
  const run = async () => {
    try {
      const r =
        table === 'log'
          ? await maintainLog(db, schema, { retentionDays })
          : await maintainPartitions(db, schema, table, { retentionDays, daysBehind: retentionDays });
      if (r.created.length > 0 || r.dropped.length > 0 || r.kept.length > 0 || r.swept > 0) {
        logger.info(
          { created: r.created, dropped: r.dropped, swept: r.swept, kept: r.kept },
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
