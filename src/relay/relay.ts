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
import { channelName } from '../store/identifiers.ts';
import { startListener } from '../store/listener.ts';
import { assertMigrated } from '../store/migrate.ts';
import { scheduleRetention } from '../store/retention.ts';
import { ensureCursors } from '../store/sql/cursors.ts';
import type { Position } from '../store/sql/read-batch.ts';
import type { Transport } from '../transports/transport.ts';
import type { TopicStrategy } from '../wire/topics.ts';
import { createAttempts, relayError } from './attempts.ts';
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
  /** Backstop poll when no NOTIFY arrives; default 1000 ms. */
  pollIntervalMs?: number;
  /** Wake on NOTIFY (default true); polling alone otherwise. */
  listen?: boolean;
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
  /** Dead letters, pending by default (seed 002's getFailedEvents). */
  getFailedEvents(filter?: DeadLetterFilter): Promise<FailedEvent[]>;
  /** Publishes a dead letter again and records the outcome (seed 002's retryFailedEvent). */
  retryFailedEvent(id: string): Promise<RetryResult>;
  /** `herald status` for this relay's schema, with the relay's own state: for health probes. */
  health(thresholds?: Partial<StatusThresholds>): Promise<RelayHealth>;
}

export function createRelay(options: RelayOptions): Relay {
  const settings = relaySettings(options);
  const { schema, transport, logger, pollMs, leaseMs, heartbeatMs } = settings;
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
  let wake: (() => void) | null = null;
  let woken = false;
  let listener: Promise<void> = Promise.resolve();
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => {
    resolveDone = r;
  });

  const onWake = () => {
    woken = true;
    wake?.();
  };

  /** Waits for a NOTIFY, the poll timer or stop(), whichever comes first. */
  const idle = (ms: number) =>
    new Promise<void>((resolve) => {
      if (woken || stopper.signal.aborted) return resolve();
      const timer = setTimeout(finish, ms);
      function finish() {
        clearTimeout(timer);
        wake = null;
        resolve();
      }
      wake = finish;
      stopper.signal.addEventListener('abort', finish, { once: true });
    });

  const run = async () => {
    const round = createRound({ ...settings, pool, leasing, stats, attempt });
    let quietMs = 5;
    while (!stopper.signal.aborted) {
      woken = false;
      if (Date.now() >= nextRebalance) {
        const beat = await attempt('lease heartbeat', () => leasing.rebalance());
        if (!beat.ok) break;
        nextRebalance = Date.now() + heartbeatMs;
        stats.shards = leasing.shards();
      }
      const from = leasing.position();
      const untilBeat = Math.max(5, nextRebalance - Date.now());
      if (!from) {
        await idle(untilBeat); // no shard held yet: another relay holds them, or is handing over
        continue;
      }
      const read = await round.run(from);
      if (read === null) break;
      if (read === 0) {
        // After a NOTIFY, rows can be held back briefly by an older transaction still open;
        // look again soon, backing off to the poll interval.
        await idle(Math.min(quietMs, pollMs, untilBeat));
        quietMs = woken ? 5 : Math.min(quietMs * 2, pollMs);
        continue;
      }
      quietMs = 5;
    }
  };

  const deadLetters = createDeadLetters({ db: pool, schema, transport });
  const snapshot = (): RelayStats => ({ ...stats, position: { ...stats.position }, shards: [...stats.shards] });
  return {
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
        leasing = createLeasing({ db: pool, schema, id: stats.instanceId, shardCount, leaseMs, logger });
      } catch (error) {
        stats.state = 'stopped';
        if (owned) await pool.end?.().catch(() => {});
        resolveDone();
        throw toDatabaseError(error, target);
      }
      // A broker that is down at start is not fatal: publishing retries until it is back.
      await transport.connect().catch((error) => failed('broker connection', relayError(error, target)));
      if (settings.listen) {
        listener = startListener({
          db: settings.db,
          channel: channelName(schema),
          onWake,
          logger,
          signal: stopper.signal,
        });
      }
      renewTimer = setInterval(() => void leasing.renew().catch(() => {}), heartbeatMs);
      stopRetention = scheduleRetention({ db: pool, schema, retentionDays: settings.retentionDays, logger });
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
          await leasing.releaseAll().catch(() => {});
          await listener.catch(() => {});
          await transport.close().catch(() => {});
          if (owned) await pool.end?.().catch(() => {});
          stats.state = 'stopped';
          logger.info({ published: stats.published, position: stats.position }, 'relay stopped');
          resolveDone();
        });
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
}
