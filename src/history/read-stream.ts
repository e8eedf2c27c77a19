import { integerSetting, textSetting } from '../config/check.ts';
import { HeraldError } from '../errors.ts';
import { type DatabaseOption, openPool, resolveDatabase, toDatabaseError } from '../store/connect.ts';
import { quoteIdent, resolveSchema } from '../store/identifiers.ts';
import { assertMigrated } from '../store/migrate.ts';

/** Whose events: one aggregate (type and id), or one partition key. */
export type StreamSelector = { aggregateType: string; aggregateId: string } | { key: string };

export interface ReadStreamOptions {
  /** A connection string (a pool is opened and closed) or a node-postgres Pool (left open); default `DATABASE_URL`. */
  db?: DatabaseOption;
  schema?: string;
  /** Events after this position (the `next` of the previous page); from the first when absent. */
  after?: string | undefined;
  /** Events per page, 1–10,000; default 100. */
  limit?: number;
}

/** An event of an entity's history, as it was written. */
export interface HistoryEvent {
  id: string;
  type: string;
  version: number;
  source: string;
  subject: string | null;
  aggregateType: string | null;
  aggregateId: string | null;
  key: string;
  payload: unknown;
  headers: Record<string, string>;
  correlationId: string | null;
  causationId: string | null;
  userId: string | null;
  sessionId: string | null;
  tags: string[];
  time: Date;
  /** Where it sits in the log (`xid:seq`), the order it is read in; pass as `after` to page on. */
  position: string;
}

export interface StreamPage {
  events: HistoryEvent[];
  /** The position to read on from, or null when this page is the last. */
  next: string | null;
}

const positionPattern = /^(\d{1,20}):(\d{1,20})$/;

function required(setting: string, value: unknown, max: number): string {
  const text = textSetting(setting, value, { max });
  if (text === undefined) {
    throw new HeraldError('HERALD_INVALID_CONFIG', 'readStream needs { aggregateType, aggregateId } or { key }', {
      details: { setting },
    });
  }
  return text;
}

function selectorOf(selector: StreamSelector): { column: string; values: string[] } {
  if (selector !== null && typeof selector === 'object' && 'key' in selector) {
    return { column: 'l.partition_key = $1', values: [required('key', selector.key, 1000)] };
  }
  const { aggregateType, aggregateId } = (selector ?? {}) as Partial<{ aggregateType: unknown; aggregateId: unknown }>;
  return {
    column: 'l.aggregate_type = $1 AND l.aggregate_id = $2',
    values: [required('aggregateType', aggregateType, 200), required('aggregateId', aggregateId, 1000)],
  };
}

/**
 * One entity's events in the order they were written (the log's order, which per aggregate is
 * commit order when writers serialise on the aggregate, as per-key order needs anyway), a page
 * at a time: seed 003 rebuilds an entity's state this way. Reads the log, which keeps events for
 * `retentionDays` (docs/retention.md), and the archive, which keeps the types told for longer. Without an index on the aggregate a page scans the log's
 * partitions: see docs/history.md for the index to add when histories are read often.
 */
export async function readStream(selector: StreamSelector, options: ReadStreamOptions = {}): Promise<StreamPage> {
  const schema = resolveSchema(options.schema).name;
  const limit = integerSetting('limit', options.limit, 1, 10_000) ?? 100;
  const { column, values } = selectorOf(selector);
  let after = ['0', '0'];
  if (options.after !== undefined) {
    const m = positionPattern.exec(String(options.after));
    if (!m) {
      throw new HeraldError(
        'HERALD_INVALID_CONFIG',
        `after: ${JSON.stringify(options.after)} is not a position (xid:seq)`,
        {
          details: { setting: 'after' },
        },
      );
    }
    after = [m[1] as string, m[2] as string];
  }
  const n = values.length;
  const { pool, owned, target } = openPool(resolveDatabase(options.db), 1);
  try {
    await assertMigrated(pool, schema);
    const result = await pool.query<HistoryEvent & { more: boolean }>(
      `SELECT l.id, l.type, l.version, l.source, l.subject, l.aggregate_type AS "aggregateType",
  l.aggregate_id AS "aggregateId", l.partition_key AS key, l.payload, l.headers,
  l.correlation_id AS "correlationId", l.causation_id AS "causationId", l.user_id AS "userId",
  l.session_id AS "sessionId", coalesce(l.tags, '{}') AS tags, l.created_at AS time,
  l.xid::text || ':' || l.seq::text AS position
FROM ${quoteIdent(schema)}.history l
WHERE ${column} AND (l.xid, l.seq) > ($${n + 1}::xid8, $${n + 2}::bigint)
ORDER BY l.xid, l.seq
LIMIT $${n + 3}`,
      [...values, after[0], after[1], limit + 1],
    );
    const events = result.rows.slice(0, limit);
    const more = result.rows.length > limit;
    return { events, next: more ? (events[events.length - 1]?.position ?? null) : null };
  } catch (error) {
    throw toDatabaseError(error, target);
  } finally {
    if (owned) await pool.end?.().catch(() => {});
  }
}
