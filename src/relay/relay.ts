import type { Keep } from '../config/keep.ts';
import {
  createDeadLetters,
  type DeadLetterFilter,
  type FailedEvent,
  type RetryResult,
} from '../deadletters/dead-letters.ts';
import { HeraldError } from '../errors.ts';
import type { HealthCheck } from '../observe/http.ts';
import type { Logger } from '../observe/logger.ts';
import type { MetricsRecorder } from '../observe/metrics.ts';
import type { BackoffOptions } from '../retry/backoff.ts';
import { readGauges } from '../status/readings.ts';
import type { StatusThresholds } from '../status/status.ts';
import { type DatabaseOption, openPool, toDatabaseError } from '../store/connect.ts';
import { assertMigrated } from '../store/migrate.ts';
import { scheduleRetention } from '../store/retention.ts';
import { ensureCursors } from '../store/sql/cursors.ts';
import type { Position } from '../store/sql/read-batch.ts';
import type { Transport } from '../transports/transport.ts';
import type { TopicStrategy } from '../wire/topics.ts';
import { createAttempts, relayError } from './attempts.ts';
import { runCdc } from './cdc.ts';
import { createDrainWaiters } from './drain-waiters.ts';
import { type RelayHealth, relayHealth, relayReadiness } from './health.ts';
import { createLeasing, type Leasing } from './leasing.ts';
import { relaySettings } from './options.ts';
import { createRound } from './round.ts';

export interface RelayOptions {
  /** A connection string or a node-postgres Pool (left open on stop); default `DATABASE_URL`. */
  db?: DatabaseOption;
  transport: Transport;
  schema?: string;
  /** Topic for events whose definition names no destination: `<prefix>.<type>`, or the type. */
  topicPrefix?: string;
  /** Or any mapping from event type to topic. */
  topic?: TopicStrategy;
  /** Events read and published per round trip; default 1000. */
  batchSize?: number;
  /**
   * Longest wait between two reads of the log when there is nothing to publish; default 50 ms.
   * The relay polls adaptively: again at once while batches come back full of events, from 1 ms
   * doubling up to this when the log is quiet. (Writers pay for no NOTIFY: see docs/relay.md.)
   */
  pollIntervalMs?: number;
  /**
   * Where events come from: `polling` (default) reads the log's primary key adaptively;
   * `cdc` streams the log's inserts from a logical replication slot (pgoutput, needs
   * `wal_level=logical` and the optional peer `pg-logical-replication`), in commit order, with
   * no polling load. See docs/relay.md.
   */
  source?: 'polling' | 'cdc';
  /**
   * CDC: the connection string of the replication connection (a role with REPLICATION); default
   * the `db` connection string, or the pool's own settings.
   */
  replicationUrl?: string;
  /**
   * How often the cursors (how far publishing has come) are saved while publishing; default
   * 100 ms. They are also saved before leases change hands and at stop. A relay killed between
   * two saves republishes what it sent since the last one: duplicates, never loss.
   */
  cursorIntervalMs?: number;
  backoff?: BackoffOptions;
  /** Attempts for a message the broker refuses (not "unreachable") before it is dead-lettered; default 10. */
  maxAttempts?: number;
  /**
   * What a message that cannot be published does to the ones after it: `dead-letter` (default)
   * records it in the dead-letter table and moves on; `block` retries it until an operator acts,
   * holding back the events behind it.
   */
  onFailure?: 'dead-letter' | 'block';
  /**
   * How long a shard lease lasts without a heartbeat (default 5000 ms): a relay that dies is
   * replaced after about this long. Heartbeats run every fifth of it.
   */
  leaseMs?: number;
  /** This instance's id in the leases table; default a new UUIDv7. */
  instanceId?: string;
  /**
   * Days the log is kept after publishing (default 7); the relay creates daily partitions ahead
   * and drops expired, fully published ones at start and every hour. 0 turns maintenance off.
   */
  retentionDays?: number;
  /**
   * Event types kept past `retentionDays` in the archive (readable by readStream, `herald events`
   * and replay), each for its own days or 'forever'; `'*'` for every other type. Default
   * `HERALD_KEEP`, else none. See docs/retention.md.
   */
  keep?: Keep;
  logger?: Logger;
  /** Where the relay reports its metrics: `await prometheusMetrics()`, `openTelemetryMetrics()`. */
  metrics?: MetricsRecorder;
}

export type RelayState = 'idle' | 'starting' | 'running' | 'retrying' | 'stopping' | 'stopped';

export interface RelayStats {
  state: RelayState;
  published: number;
  batches: number;
  /** How far the log has been published. */
  position: Position;
  /** Consecutive failed attempts of the current operation (0 when healthy). */
  failures: number;
  /** `open` while the broker is unreachable (publishing paused, retried with backoff). */
  circuit: 'closed' | 'open';
  /** Events recorded as dead letters by this relay since it started. */
  deadLettered: number;
  instanceId: string;
  /** The shards this instance holds leases on. */
  shards: number[];
  lastError: { code: string; message: string; at: Date } | null;
}

export interface Relay extends HealthCheck {
  start(): Promise<void>;
  /** Finishes the batch in flight (or abandons it while retrying), then closes what it opened. */
  stop(): Promise<void>;
  stats(): RelayStats;
  /** Resolves when the relay has stopped. */
  readonly done: Promise<void>;
  /**
   * Publishes what is committed now and resolves, with the events published meanwhile: for
   * cron-style runs (`herald relay --once`) and tests. A relay not started is started and
   * stopped again; a running one keeps running. It drains the shards this relay holds (all of
   * them when it runs alone); events held back behind a transaction still open stay for later.
   */
  drain(): Promise<{ published: number }>;
  /** Dead letters, pending by default (seed 002's getFailedEvents). */
  getFailedEvents(filter?: DeadLetterFilter): Promise<FailedEvent[]>;
  /** Publishes a dead letter again and records the outcome (seed 002's retryFailedEvent). */
  retryFailedEvent(id: string): Promise<RetryResult>;
  /** `herald status` for this relay's schema, with the relay's own state: for health probes. */
  health(thresholds?: Partial<StatusThresholds>): Promise<RelayHealth>;
}

export function createRelay(options: RelayOptions): Relay {
  const settings = relaySettings(options);
  const { schema, transport, logger, pollMs, cursorMs, leaseMs, heartbeatMs } = settings;
  const { pool, owned, target } = openPool(settings.db);
  const stopper = new AbortController();

  const stats: RelayStats = {
    state: 'idle',
    published: 0,
    batches: 0,
    position: { xid: '0', seq: '0' },
    failures: 0,
    circuit: 'closed',
    deadLettered: 0,
    instanceId: settings.instanceId,
    shards: [],
    lastError: null,
  };
  const { attempt, failed } = createAttempts({
    stats,
    logger,
    transport,
    backoff: settings.backoff,
    signal: stopper.signal,
    target,
  });
  let leasing!: Leasing;
  let nextRebalance = 0;
  let renewTimer: NodeJS.Timeout | undefined;
  let stopRetention = () => {};
  let round: ReturnType<typeof createRound> | undefined;
  const drains = createDrainWaiters({
    pool,
    schema,
    logger,
    attempt,
    leaseMs,
    snapshots: settings.source !== 'cdc',
    shards: () => leasing.shards(),
    wake: () => wake(),
  });
  const nextCaughtUp = () => Promise.race([drains.next(), done]);
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => {
    resolveDone = r;
  });

  let wake = () => {};
  /** Waits `ms`, or until stop() or drain() wakes it, whichever comes first. */
  const idle = (ms: number) =>
    new Promise<void>((resolve) => {
      if (stopper.signal.aborted) return resolve();
      const timer = setTimeout(finish, ms);
      function finish() {
        clearTimeout(timer);
        stopper.signal.removeEventListener('abort', finish);
        wake = () => {};
        resolve();
      }
      wake = finish;
      stopper.signal.addEventListener('abort', finish, { once: true });
    });

  /** Saves the cursors, then heartbeat and rebalance; false when the relay stopped. */
  const beat = async (r: ReturnType<typeof createRound>): Promise<boolean> => {
    // Saved before leases move, so a shard handed over resumes where this relay got.
    if (!(await r.saveCursors())) return false;
    const outcome = await attempt('lease heartbeat', () => leasing.rebalance());
    if (!outcome.ok) return false;
    nextRebalance = Date.now() + heartbeatMs;
    stats.shards = leasing.shards();
    return true;
  };

  const run = async () => {
    const r = createRound({ ...settings, pool, leasing, stats, attempt });
    round = r;
    if (settings.source === 'cdc') {
      return runCdc({
        ...settings,
        pool,
        connection: replicationConnection(settings.replicationUrl ?? settings.db),
        round: r,
        leasing,
        stats,
        attempt,
        signal: stopper.signal,
        beat: () => beat(r),
        msUntilBeat: () => nextRebalance - Date.now(),
        idle,
        waiting: drains.waiting,
        caughtUp: drains.tell,
        holdsNothing: drains.holdsNothing,
      });
    }
    // Adaptive polling, no NOTIFY: writers' commits never wait on a notification lock. A read that
    // finds nothing costs one probe of the primary key above the cursor; the wait after it doubles
    // from 1 ms to pollIntervalMs, and goes back to 0 as soon as a read finds events.
    let waitMs = 1;
    while (!stopper.signal.aborted) {
      if (Date.now() >= nextRebalance && !(await beat(r))) break;
      const from = leasing.position();
      const untilBeat = Math.max(1, nextRebalance - Date.now());
      if (!from) {
        drains.holdsNothing();
        await idle(untilBeat); // no shard held yet: another relay holds them, or is handing over
        continue;
      }
      drains.holdsSome();
      const waiters = drains.waiting();
      const read = await r.run(from);
      if (read === null) break;
      if (r.unsavedMs() >= cursorMs && !(await r.saveCursors())) break;
      if (read === 0) {
        // Only callers already waiting when this read began, and only once nothing committed before
        // their calls waits above the cursors behind an older open transaction.
        if (waiters > 0 && (await r.saveCursors()) && !(await drains.readNothing(waiters))) break;
        await idle(Math.min(waitMs, untilBeat));
        waitMs = Math.min(waitMs * 2, pollMs);
        continue;
      }
      waitMs = 1;
    }
  };

  const deadLetters = createDeadLetters({ db: pool, schema, transport });
  const snapshot = (): RelayStats => ({ ...stats, position: { ...stats.position }, shards: [...stats.shards] });
  const relay: Relay = {
    done,
    stats: snapshot,
    getFailedEvents: (filter) => deadLetters.list(filter),
    health: (thresholds = {}) => relayHealth(pool, schema, snapshot(), thresholds),
    readiness: () => relayReadiness(pool, transport, snapshot()),
    alive: () => stats.state !== 'stopped',
    async retryFailedEvent(id) {
      const [result] = await deadLetters.retry({ ids: [id], status: 'all' });
      return result ?? { id, ok: false, error: { code: 'HERALD_INVALID_CONFIG', message: `no dead letter ${id}` } };
    },
    async start() {
      if (stats.state !== 'idle') throw new HeraldError('HERALD_INVALID_CONFIG', 'a relay can be started once');
      stats.state = 'starting';
      try {
        await assertMigrated(pool, schema);
        const shardCount = await ensureCursors(pool, schema);
        leasing = createLeasing({
          db: pool,
          schema,
          id: stats.instanceId,
          shardCount,
          leaseMs,
          logger,
          // One slot, one reader: with CDC the first live relay holds every shard.
          exclusive: settings.source === 'cdc',
        });
      } catch (error) {
        stats.state = 'stopped';
        if (owned) await pool.end?.().catch(() => {});
        resolveDone();
        throw toDatabaseError(error, target);
      }
      // A broker that is down at start is not fatal: publishing retries until it is back.
      await transport.connect().catch((error) => failed('broker connection', relayError(error, target)));
      renewTimer = setInterval(() => void leasing.renew().catch(() => {}), heartbeatMs);
      stopRetention = scheduleRetention({
        db: pool,
        schema,
        retentionDays: settings.retentionDays,
        keep: settings.keep,
        logger,
      });
      const unwatch = settings.metrics.watch(schema, readGauges(pool, schema));
      if (stats.state === 'starting') stats.state = 'running';
      logger.info({ schema, instance: stats.instanceId, transport: transport.describe(), leaseMs }, 'relay started');
      run()
        .catch((error) => logger.error({ error }, 'relay loop crashed'))
        .finally(async () => {
          stats.state = 'stopping';
          stopper.abort();
          clearInterval(renewTimer);
          stopRetention();
          unwatch();
          await round?.settle();
          await round?.saveOnStop();
          await leasing.releaseAll().catch(() => {});
          await transport.close().catch(() => {});
          if (owned) await pool.end?.().catch(() => {});
          stats.state = 'stopped';
          logger.info({ published: stats.published, position: stats.position }, 'relay stopped');
          resolveDone();
        });
    },
    async drain() {
      const before = stats.published;
      if (stats.state === 'idle') {
        await relay.start();
        await nextCaughtUp();
        await relay.stop();
        return { published: stats.published - before };
      }
      if (stats.state === 'stopping' || stats.state === 'stopped') return { published: 0 };
      await nextCaughtUp();
      return { published: stats.published - before };
    },
    async stop() {
      if (stats.state === 'idle') {
        stats.state = 'stopped';
        if (owned) await pool.end?.().catch(() => {});
        resolveDone();
      }
      stopper.abort();
      await done;
    },
  };
  return relay;
}

/** node-postgres settings of the CDC source's replication connection. */
function replicationConnection(db: DatabaseOption): Record<string, unknown> {
  if (typeof db === 'string') return { connectionString: db };
  const options = (db as { options?: Record<string, unknown> }).options;
  if (options && typeof options === 'object') {
    const { connectionString, host, port, user, password, database, ssl } = options;
    return Object.fromEntries(
      Object.entries({ connectionString, host, port, user, password, database, ssl }).filter(
        ([, v]) => v !== undefined,
      ),
    );
  }
  throw new HeraldError(
    'HERALD_INVALID_CONFIG',
    "source 'cdc' with a pool that is not node-postgres needs replicationUrl",
    {
      details: { setting: 'replicationUrl' },
    },
  );
}
