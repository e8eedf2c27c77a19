import {
  createDeadLetters,
  type DeadLetterFilter,
  type FailedEvent,
  type RetryResult,
} from '../deadletters/dead-letters.ts';
import { HeraldError, isHeraldError } from '../errors.ts';
import { uuidv7 } from '../events/uuidv7.ts';
import { createLogger, type Logger } from '../observe/logger.ts';
import type { StatusThresholds } from '../status/status.ts';
import { type DatabaseOption, openPool, toDatabaseError } from '../store/connect.ts';
import { channelName, quoteIdent } from '../store/identifiers.ts';
import { assertMigrated } from '../store/migrate.ts';
import { scheduleRetention } from '../store/retention.ts';
import { advanceCursors, ensureCursors } from '../store/sql/cursors.ts';
import { insertDeadLetter } from '../store/sql/dead-letters.ts';
import { type LogRow, type Position, readBatch } from '../store/sql/read-batch.ts';
import type { OutgoingMessage, Transport } from '../transports/transport.ts';
import { type BackoffOptions, backoffDelay, defaultBackoff, sleep } from './backoff.ts';
import { type RelayHealth, relayHealth } from './health.ts';
import { createLeasing, type Leasing } from './leasing.ts';
import { startListener } from './listener.ts';
import { prefixTopics, type TopicStrategy, toMessage } from './messages.ts';
import { checkOptions } from './options.ts';

export interface RelayOptions {
  /** A connection string or a node-postgres Pool (left open on stop). */
  db: DatabaseOption;
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

export interface Relay {
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
  checkOptions(options);
  const schema = options.schema ?? 'herald';
  quoteIdent(schema);
  const { transport } = options;
  const logger = options.logger ?? createLogger();
  const batchSize = options.batchSize ?? 1000;
  const pollMs = options.pollIntervalMs ?? 1000;
  const backoff = options.backoff ?? defaultBackoff;
  const topicFor = options.topic ?? prefixTopics(options.topicPrefix);
  const maxAttempts = options.maxAttempts ?? 10;
  const onFailure = options.onFailure ?? 'dead-letter';
  const { pool, owned, target } = openPool(options.db);
  const stopper = new AbortController();

  const stats: RelayStats = {
    state: 'idle',
    published: 0,
    batches: 0,
    position: { xid: '0', seq: '0' },
    failures: 0,
    circuit: 'closed',
    deadLettered: 0,
    instanceId: options.instanceId ?? uuidv7(),
    shards: [],
    lastError: null,
  };
  const leaseMs = options.leaseMs ?? 5000;
  const heartbeatMs = Math.max(50, Math.floor(leaseMs / 5));
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

  const asHeraldError = (error: unknown): HeraldError => {
    if (isHeraldError(error)) return error;
    const mapped = toDatabaseError(error, target);
    if (isHeraldError(mapped)) return mapped;
    const message = error instanceof Error ? error.message : String(error);
    return new HeraldError('HERALD_PUBLISH_FAILED', message, { cause: error, retriable: true });
  };
  const failed = (what: string, herald: HeraldError) => {
    const code = herald.code;
    // The circuit opens while the broker is unreachable: attempts continue only at the backoff's
    // pace, and nothing is dead-lettered. One line when failing starts (or changes cause) and
    // one when it ends: a broker down for an hour is two lines.
    if (code === 'HERALD_BROKER_UNAVAILABLE') stats.circuit = 'open';
    if (stats.failures === 0 || stats.lastError?.code !== code) {
      logger.error(
        { code, circuit: stats.circuit, error: herald, transport: transport.describe() },
        `${what} failed; retrying with backoff`,
      );
    }
    stats.failures++;
    stats.state = 'retrying';
    stats.lastError = { code, message: herald.message, at: new Date() };
  };
  const recovered = (what: string) => {
    if (stats.failures > 0) logger.info({ attempts: stats.failures, circuit: 'closed' }, `${what} recovered`);
    stats.circuit = 'closed';
    stats.failures = 0;
    stats.state = 'running';
  };

  type Outcome =
    | { ok: true }
    | { ok: false; stopped: true }
    | { ok: false; stopped: false; error: HeraldError; attempts: number };

  /**
   * Runs `fn` until it succeeds, the relay stops, or `giveUp` says so. "Broker unreachable" never
   * counts as an attempt: that is the circuit breaker's case (retry with backoff, no dead letters).
   */
  const retrying = async (
    what: string,
    fn: () => Promise<void>,
    options: { onFailure?: () => Promise<void>; giveUp?: (error: HeraldError, attempts: number) => boolean } = {},
  ): Promise<Outcome> => {
    let attempts = 0;
    // The first attempt runs even when stopping, so that a batch in flight finishes cleanly.
    for (;;) {
      try {
        await fn();
        recovered(what);
        return { ok: true };
      } catch (caught) {
        const error = asHeraldError(caught);
        if (error.code !== 'HERALD_BROKER_UNAVAILABLE') attempts++;
        failed(what, error);
        await options.onFailure?.().catch(() => {});
        if (options.giveUp?.(error, attempts)) return { ok: false, stopped: false, error, attempts };
        if (stopper.signal.aborted) return { ok: false, stopped: true };
        await sleep(backoffDelay(stats.failures - 1, backoff), stopper.signal);
        if (stopper.signal.aborted) return { ok: false, stopped: true };
      }
    }
  };
  const closeTransport = () => transport.close();

  /**
   * A message the broker will not take: publish the batch one message at a time, in order; a
   * message that fails for good goes to dead letters and its shard moves on.
   */
  const publishOneByOne = async (rows: LogRow[], messages: OutgoingMessage[], priorAttempts: number) => {
    for (const [i, message] of messages.entries()) {
      const row = rows[i] as LogRow;
      const firstFailedAt = new Date();
      const one = await retrying('publish', () => transport.publish([message]), {
        onFailure: closeTransport,
        giveUp: (e, n) => !e.retriable || n + priorAttempts >= maxAttempts,
      });
      if (one.ok) continue;
      if (one.stopped) return false;
      const { error } = one;
      const attempts = one.attempts + priorAttempts;
      const saved = await retrying('dead letter', () =>
        insertDeadLetter(pool, schema, row, message.topic, error, attempts, firstFailedAt),
      );
      if (!saved.ok) return false;
      stats.deadLettered++;
      stats.failures = 0;
      stats.state = 'running';
      logger.warn(
        { id: row.id, type: row.type, key: row.partition_key, topic: message.topic, code: error.code, attempts },
        'event dead-lettered; its shard moves on (herald dlq list)',
      );
    }
    return true;
  };

  const publish = async (rows: LogRow[]) => {
    // After a takeover, reading starts at the lowest cursor held: rows of other shards up to
    // their own cursors were published already and are skipped.
    const fresh = rows.filter((row) => leasing.isNew(row.shard, row));
    const messages = fresh.map((row) => toMessage(row, topicFor));
    // A batch publishes whole or is retried whole: duplicates are possible, loss is not. With the
    // dead-letter policy, an error that is not "broker unreachable" is retried a few times, then
    // the batch is taken apart to find the message at fault.
    if (messages.length > 0) {
      const whole = await retrying('publish', () => transport.publish(messages), {
        onFailure: closeTransport,
        ...(onFailure === 'dead-letter'
          ? { giveUp: (e: HeraldError, n: number) => !e.retriable || n >= Math.min(3, maxAttempts) }
          : {}),
      });
      if (!whole.ok && (whole.stopped || !(await publishOneByOne(fresh, messages, whole.attempts)))) return false;
    }
    const last = rows[rows.length - 1] as LogRow;
    const to = { xid: last.xid, seq: last.seq };
    // The cursors move only after every message of the batch was acknowledged (or dead-lettered),
    // and only for shards whose lease is still ours.
    let lost: number[] = [];
    const saved = await retrying('cursor update', async () => {
      lost = await advanceCursors(pool, schema, stats.instanceId, leasing.leases(), to);
    });
    if (saved.ok) {
      leasing.advanced(to, lost);
      stats.position = leasing.position() ?? to;
      stats.published += fresh.length;
      stats.batches++;
    }
    return saved.ok;
  };

  const run = async () => {
    let quietMs = 5;
    while (!stopper.signal.aborted) {
      woken = false;
      if (Date.now() >= nextRebalance) {
        const beat = await retrying('lease heartbeat', () => leasing.rebalance());
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
      stats.position = from;
      let rows: LogRow[] = [];
      const read = await retrying('read', async () => {
        rows = await readBatch(pool, schema, from, batchSize, leasing.holdsAll() ? null : stats.shards);
      });
      if (!read.ok) break;
      if (rows.length === 0) {
        // After a NOTIFY, rows can be held back briefly by an older transaction still open;
        // look again soon, backing off to the poll interval.
        await idle(Math.min(quietMs, pollMs, untilBeat));
        quietMs = woken ? 5 : Math.min(quietMs * 2, pollMs);
        continue;
      }
      quietMs = 5;
      if (!(await publish(rows))) break;
    }
  };

  const deadLetters = createDeadLetters({ db: pool, schema, transport });
  return {
    done,
    stats: () => ({ ...stats, position: { ...stats.position }, shards: [...stats.shards] }),
    getFailedEvents: (filter) => deadLetters.list(filter),
    health: (thresholds = {}) =>
      relayHealth(pool, schema, { ...stats, position: { ...stats.position }, shards: [...stats.shards] }, thresholds),
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
      await transport.connect().catch((error) => failed('broker connection', asHeraldError(error)));
      if (options.listen !== false) {
        const db = typeof options.db === 'string' ? options.db : pool;
        listener = startListener({ db, channel: channelName(schema), onWake, logger, signal: stopper.signal });
      }
      renewTimer = setInterval(() => void leasing.renew().catch(() => {}), heartbeatMs);
      stopRetention = scheduleRetention({ db: pool, schema, retentionDays: options.retentionDays ?? 7, logger });
      if (stats.state === 'starting') stats.state = 'running';
      logger.info({ schema, instance: stats.instanceId, transport: transport.describe(), leaseMs }, 'relay started');
      run()
        .catch((error) => logger.error({ error }, 'relay loop crashed'))
        .finally(async () => {
          stats.state = 'stopping';
          stopper.abort();
          clearInterval(renewTimer);
          stopRetention();
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
