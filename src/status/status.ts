import { numberSetting } from '../config/check.ts';
import {
  type DatabaseOption,
  openPool,
  type PoolLike,
  resolveDatabase,
  toDatabaseError,
  withTransaction,
} from '../store/connect.ts';
import type { Queryable } from '../store/db.ts';
import { resolveSchema } from '../store/identifiers.ts';
import { assertMigrated } from '../store/migrate.ts';
import { type SlotInfo, slotInfo } from '../store/replication.ts';
import type { Position } from '../store/sql/read-batch.ts';
import {
  type ConsumerGroupStatus,
  consumerGroups,
  consumerLagProblems,
  deadLetterProblem,
  readConsumers,
} from './consumers.ts';
import { formatCount, formatSeconds, pendingConsumerDeadLetters } from './format.ts';
import { readBlocker, readDeadLetters, readRates, readRelays, readShards } from './queries.ts';

/** When `healthy` turns false: a value above its threshold (at the limit is still healthy). */
export interface StatusThresholds {
  /** The oldest unpublished event may be this old; default 60 s. */
  maxLagSeconds: number;
  /** Pending dead letters allowed, the relay's and consumer groups' together; default 0. */
  maxDeadLetters: number;
  /**
   * An open transaction holding back events may be this old; default 5 s. Also the age beyond
   * which the oldest open transaction is reported when it holds nothing back (yet).
   */
  maxTransactionSeconds: number;
  /** Messages a consumer group may be behind, over its partitions, as it last measured; default null: not checked. */
  maxConsumerLag: number | null;
}

export const defaultThresholds: StatusThresholds = {
  maxLagSeconds: 60,
  maxDeadLetters: 0,
  maxTransactionSeconds: 5,
  maxConsumerLag: null,
};

export interface StatusOptions {
  /** A connection string (a pool is opened and closed) or a node-postgres Pool (left open); default `DATABASE_URL`. */
  db?: DatabaseOption;
  /** The herald schema; default `herald`. */
  schema?: string;
  maxLagSeconds?: number;
  maxDeadLetters?: number;
  maxTransactionSeconds?: number;
  /** null or absent: consumer lag is shown but not judged. */
  maxConsumerLag?: number | null;
}

export interface ShardStatus {
  shard: number;
  /** Committed events after this shard's cursor. */
  events: number;
  /** Of those, the ones waiting for an older transaction still open (not yet readable). */
  heldBack: number;
  /** Age of the oldest of `events`, by its `created_at`; null when there are none. */
  oldestAgeSeconds: number | null;
  /** How far this shard has been published; 0/0 and `updatedAt: null` before a relay ever ran. */
  cursor: Position & { updatedAt: Date | null };
  /** The relay instance holding this shard's lease, if any. */
  heldBy: string | null;
}

export interface RelayInstanceStatus {
  id: string;
  startedAt: Date;
  /** Seconds since its last heartbeat. */
  heartbeatAgeSeconds: number;
  /** Whether its heartbeat is recent enough for it to count in the shard split. */
  alive: boolean;
  shards: number[];
}

export interface BacklogStatus {
  /** Committed events not yet published, over every shard. */
  events: number;
  /** Of those, the events at or above the snapshot's xmin: they wait for `openTransaction`. */
  heldBack: number;
  shardsWithBacklog: number;
  /** Age of the oldest unpublished event; null when nothing is unpublished. */
  oldestAgeSeconds: number | null;
  /** Age of the oldest held-back event; null when none is held back. */
  heldBackOldestAgeSeconds: number | null;
  /** `pg_snapshot_xmin(pg_current_snapshot())`: the relay reads only transaction ids below it. */
  snapshotXmin: string;
  /** Every shard, in order, including those with nothing waiting. */
  shards: ShardStatus[];
}

export interface RateStatus {
  windowSeconds: number;
  /** Events with `created_at` in the window, per second. */
  writtenPerSecond: number;
  /** Events with `created_at` in the window that are at or before their shard's cursor, per second. */
  publishedPerSecond: number;
}

export interface DeadLetterGroup {
  type: string;
  errorCode: string;
  count: number;
}

export interface DeadLetterSummary {
  /** Dead letters with status `pending`, waiting for an operator. */
  pending: number;
  /** Since the oldest pending dead letter first failed; null when none is pending. */
  oldestAgeSeconds: number | null;
  /** The largest (type, error code) groups of pending dead letters, largest first (at most 5). */
  top: DeadLetterGroup[];
}

/** A session with an open transaction that is (or will be) holding back publishing. */
export interface OpenTransaction {
  pid: number;
  /** Its transaction id: the snapshot's xmin. */
  xid: string;
  database: string | null;
  user: string | null;
  applicationName: string | null;
  /** e.g. `idle in transaction`, `active`. */
  state: string | null;
  /** How long the transaction has been open. */
  ageSeconds: number | null;
  transactionStart: Date | null;
  queryStart: Date | null;
  /** The first 120 characters of its current or last statement, as PostgreSQL shows it. */
  query: string | null;
  /** Committed events waiting for it to end (the same as `backlog.heldBack`). */
  heldBack: number;
}

export interface HeraldStatus {
  schema: string;
  /** The database server's clock when the status was read. */
  at: Date;
  /** False when any threshold is exceeded; `problems` says which. */
  healthy: boolean;
  /** One sentence per exceeded threshold, worst first; empty when healthy. */
  problems: string[];
  thresholds: StatusThresholds;
  backlog: BacklogStatus;
  rates: RateStatus;
  deadLetters: DeadLetterSummary;
  /**
   * The oldest open transaction in the cluster, when it holds back committed events or has been
   * open longer than `maxTransactionSeconds`; null otherwise.
   */
  openTransaction: OpenTransaction | null;
  /** Relay instances and the shards each holds a lease on. */
  relays: RelayInstanceStatus[];
  /**
   * The CDC source's replication slot (`source: 'cdc'`): whether a relay streams it and the WAL
   * it keeps from being recycled. Null when the schema has no slot (the polling source).
   */
  replication: SlotInfo | null;
  /** Shards no relay holds a valid lease on: nobody publishes them. */
  unheldShards: number[];
  /**
   * Consumer groups, by name: the lag their consumers last stored and their dead letters. A group
   * appears once a consumer of it stored its lag or a message of it was dead-lettered.
   */
  consumers: ConsumerGroupStatus[];
}

const rateWindowSeconds = 60;
const topDeadLetterGroups = 5;
const queryChars = 120;

const round = (n: number, digits: number) => {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
};
const roundAge = (n: number | null) => (n === null ? null : round(Math.max(0, n), 3));

function thresholdsOf(options: StatusOptions): StatusThresholds {
  const out: Record<string, number | null> = { ...defaultThresholds };
  for (const key of Object.keys(defaultThresholds) as (keyof StatusThresholds)[]) {
    const value = options[key];
    // null turns off a threshold that is off by default (maxConsumerLag), the same as leaving it out.
    if (value === undefined || (value === null && defaultThresholds[key] === null)) continue;
    out[key] = numberSetting(key, value, 0) ?? null;
  }
  return out as unknown as StatusThresholds;
}

/**
 * Why the status is not healthy, worst first. Pure: the relay (or anything holding a status)
 * can re-assess it against other thresholds.
 */
export function assessStatus(
  status: Pick<HeraldStatus, 'backlog' | 'deadLetters' | 'openTransaction'> & Partial<Pick<HeraldStatus, 'consumers'>>,
  thresholds: Partial<StatusThresholds> = defaultThresholds,
): string[] {
  const problems: string[] = [];
  const { backlog, deadLetters, openTransaction: tx } = status;
  const consumers = status.consumers ?? [];
  const limits = { ...defaultThresholds, ...thresholds };
  if (tx !== null && tx.heldBack > 0 && (tx.ageSeconds ?? 0) > limits.maxTransactionSeconds) {
    problems.push(
      `transaction pid ${tx.pid} open for ${formatSeconds(tx.ageSeconds ?? 0)} holds back ${formatCount(tx.heldBack, 'event')}`,
    );
  } else if (tx === null && backlog.heldBack > 0) {
    // The holder is not visible: ended meanwhile, a prepared transaction, or no pg_read_all_stats.
    if ((backlog.heldBackOldestAgeSeconds ?? 0) > limits.maxTransactionSeconds) {
      problems.push(
        `${formatCount(backlog.heldBack, 'event')} held back by transaction xid ${backlog.snapshotXmin}, which pg_stat_activity does not show (a prepared transaction, or this role lacks pg_read_all_stats)`,
      );
    }
  }
  if (backlog.oldestAgeSeconds !== null && backlog.oldestAgeSeconds > limits.maxLagSeconds) {
    problems.push(
      `oldest unpublished event is ${formatSeconds(backlog.oldestAgeSeconds)} old (${formatCount(backlog.events, 'event')} unpublished)`,
    );
  }
  if (deadLetters.pending + pendingConsumerDeadLetters(consumers) > limits.maxDeadLetters) {
    problems.push(deadLetterProblem(deadLetters.pending, consumers));
  }
  problems.push(...consumerLagProblems(consumers, limits.maxConsumerLag));
  return problems;
}

/**
 * Runs the status queries in one snapshot: every statement sees the same moment; read-only, so
 * the transaction takes no id of its own and never holds the relay back.
 */
export function inStatusSnapshot<T>(pool: PoolLike, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  return withTransaction(pool, async (tx) => {
    await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    // The planner cannot estimate generate_series over settings.shard_count, overestimates by
    // orders of magnitude and compiles the query (about 300 ms) for a few milliseconds of work.
    await tx.query('SET LOCAL jit = off');
    return fn(tx);
  });
}

/**
 * What an operator needs to know about publishing, read from the database alone (no relay
 * needed): the backlog per shard, the age of the oldest unpublished event, events per second,
 * pending dead letters, the open transaction holding publishing back, if any, and each consumer
 * group's stored lag and dead letters.
 *
 * Throws HERALD_NOT_MIGRATED for a schema that lacks migrations and HERALD_DATABASE_UNAVAILABLE
 * when PostgreSQL cannot be reached.
 */
export async function getStatus(options: StatusOptions = {}): Promise<HeraldStatus> {
  const schema = resolveSchema(options.schema).name;
  const thresholds = thresholdsOf(options);
  const { pool, owned, target } = openPool(resolveDatabase(options.db), 1);
  try {
    await assertMigrated(pool, schema);
    const read = await inStatusSnapshot(pool, async (tx) => {
      const shards = await readShards(tx, schema);
      const blocker = await readBlocker(tx, queryChars);
      const rates = await readRates(tx, schema, rateWindowSeconds);
      const deadLetters = await readDeadLetters(tx, schema, topDeadLetterGroups);
      const leases = await readRelays(tx, schema);
      const consumers = await readConsumers(tx, schema);
      const replication = await slotInfo(tx, schema);
      return { shards, blocker, rates, deadLetters, leases, consumers, replication };
    });

    const shards: ShardStatus[] = read.shards.map((r) => ({
      shard: r.shard,
      events: r.events,
      heldBack: r.held_back,
      oldestAgeSeconds: roundAge(r.oldest_age_seconds),
      cursor: { xid: r.cursor_xid, seq: r.cursor_seq, updatedAt: r.cursor_updated_at },
      heldBy: read.leases.relays.find((relay) => relay.shards.includes(r.shard))?.id ?? null,
    }));
    const relays: RelayInstanceStatus[] = read.leases.relays.map((r) => ({
      id: r.id,
      startedAt: r.started_at,
      heartbeatAgeSeconds: round(Math.max(0, r.heartbeat_age_seconds), 3),
      alive: r.alive,
      shards: r.shards,
    }));
    const maxAge = (values: (number | null)[]) => {
      const known = values.filter((v): v is number => v !== null);
      return known.length === 0 ? null : roundAge(Math.max(...known));
    };
    const backlog: BacklogStatus = {
      events: shards.reduce((n, s) => n + s.events, 0),
      heldBack: shards.reduce((n, s) => n + s.heldBack, 0),
      shardsWithBacklog: shards.filter((s) => s.events > 0).length,
      oldestAgeSeconds: maxAge(shards.map((s) => s.oldestAgeSeconds)),
      heldBackOldestAgeSeconds: maxAge(read.shards.map((r) => r.held_back_oldest_age_seconds)),
      snapshotXmin: read.shards[0]?.snapshot_xmin ?? '0',
      shards,
    };

    const b = read.blocker;
    const openTransaction: OpenTransaction | null =
      b !== null && (backlog.heldBack > 0 || (b.age_seconds ?? 0) > thresholds.maxTransactionSeconds)
        ? {
            pid: b.pid,
            xid: b.xid,
            database: b.database,
            user: b.user_name,
            applicationName: b.application_name || null,
            state: b.state,
            ageSeconds: roundAge(b.age_seconds),
            transactionStart: b.xact_start,
            queryStart: b.query_start,
            query: b.query,
            heldBack: backlog.heldBack,
          }
        : null;

    const first = read.deadLetters[0];
    const deadLetters: DeadLetterSummary = {
      pending: first?.pending ?? 0,
      oldestAgeSeconds: roundAge(first?.oldest_age_seconds ?? null),
      top: read.deadLetters.map((r) => ({ type: r.type, errorCode: r.error_code, count: r.count })),
    };

    const rates: RateStatus = {
      windowSeconds: rateWindowSeconds,
      writtenPerSecond: round(read.rates.written / rateWindowSeconds, 2),
      publishedPerSecond: round(read.rates.published / rateWindowSeconds, 2),
    };

    const unheldShards = read.leases.unheld;
    const at = read.shards[0]?.at ?? new Date();
    const consumers = consumerGroups(read.consumers, at);
    const problems = assessStatus({ backlog, deadLetters, openTransaction, consumers }, thresholds);
    // Shards no relay holds are shown, not judged: a backlog they leave behind shows up as lag.
    return {
      relays,
      replication: read.replication,
      unheldShards,
      schema,
      at,
      healthy: problems.length === 0,
      problems,
      thresholds,
      backlog,
      rates,
      deadLetters,
      openTransaction,
      consumers,
    };
  } catch (error) {
    throw toDatabaseError(error, target);
  } finally {
    if (owned) await pool.end?.().catch(() => {});
  }
}
