import { HeraldError, isHeraldError } from '../errors.ts';
import { createLogger, type Logger } from '../observe/logger.ts';
import { type DatabaseOption, openPool, toDatabaseError } from '../store/connect.ts';
import { channelName, quoteIdent } from '../store/identifiers.ts';
import { assertMigrated } from '../store/migrate.ts';
import { advanceCursors, ensureCursors, lowestCursor } from '../store/sql/cursors.ts';
import { type LogRow, type Position, readBatch } from '../store/sql/read-batch.ts';
import type { Transport } from '../transports/transport.ts';
import { type BackoffOptions, backoffDelay, defaultBackoff, sleep } from './backoff.ts';
import { startListener } from './listener.ts';
import { prefixTopics, type TopicStrategy, toMessage } from './messages.ts';

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
  lastError: { code: string; message: string; at: Date } | null;
}

export interface Relay {
  start(): Promise<void>;
  /** Finishes the batch in flight (or abandons it while retrying), then closes what it opened. */
  stop(): Promise<void>;
  stats(): RelayStats;
  /** Resolves when the relay has stopped. */
  readonly done: Promise<void>;
}

function checkOptions(options: RelayOptions): void {
  const bad = (setting: string, rule: string, value: unknown) =>
    new HeraldError('HERALD_INVALID_CONFIG', `${setting}: ${JSON.stringify(value)} ${rule}`, { details: { setting } });
  const { batchSize, pollIntervalMs } = options;
  if (batchSize !== undefined && !(Number.isInteger(batchSize) && batchSize >= 1 && batchSize <= 100_000)) {
    throw bad('batchSize', 'must be an integer from 1 to 100000', batchSize);
  }
  if (pollIntervalMs !== undefined && !(Number.isFinite(pollIntervalMs) && pollIntervalMs >= 10)) {
    throw bad('pollIntervalMs', 'must be at least 10', pollIntervalMs);
  }
  if (!options.transport || typeof options.transport.publish !== 'function') {
    throw bad('transport', 'must be a Herald transport, e.g. kafka({ brokers })', typeof options.transport);
  }
  if (!options.db) throw bad('db', 'must be a connection string or a pg Pool', options.db);
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
  const { pool, owned, target } = openPool(options.db);
  const stopper = new AbortController();

  const stats: RelayStats = {
    state: 'idle',
    published: 0,
    batches: 0,
    position: { xid: '0', seq: '0' },
    failures: 0,
    lastError: null,
  };
  let shards: number[] = [];
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

  const failed = (what: string, error: unknown) => {
    const herald = isHeraldError(error) ? error : (toDatabaseError(error, target) as Error);
    const code = isHeraldError(herald) ? herald.code : 'UNKNOWN';
    // One line when failing starts and one when it ends: a broker down for an hour is two lines.
    if (stats.failures === 0 || stats.lastError?.code !== code) {
      logger.error({ code, error: herald, transport: transport.describe() }, `${what} failed; retrying with backoff`);
    }
    stats.failures++;
    stats.state = 'retrying';
    stats.lastError = { code, message: herald instanceof Error ? herald.message : String(herald), at: new Date() };
  };
  const recovered = (what: string) => {
    if (stats.failures > 0) logger.info({ attempts: stats.failures }, `${what} recovered`);
    stats.failures = 0;
    stats.state = 'running';
  };

  /** Runs `fn` until it succeeds or the relay stops; returns false if it stopped first. */
  const retrying = async (what: string, fn: () => Promise<void>, onFailure?: () => Promise<void>) => {
    // The first attempt runs even when stopping, so that a batch in flight finishes cleanly.
    for (;;) {
      try {
        await fn();
        recovered(what);
        return true;
      } catch (error) {
        failed(what, error);
        await onFailure?.().catch(() => {});
        if (stopper.signal.aborted) return false;
        await sleep(backoffDelay(stats.failures - 1, backoff), stopper.signal);
        if (stopper.signal.aborted) return false;
      }
    }
  };

  const publish = async (rows: LogRow[]) => {
    const messages = rows.map((row) => toMessage(row, topicFor));
    // A batch either publishes whole or is retried whole: duplicates are possible, loss is not.
    const ok = await retrying(
      'publish',
      () => transport.publish(messages),
      () => transport.close(),
    );
    if (!ok) return false;
    const last = rows[rows.length - 1] as LogRow;
    const to = { xid: last.xid, seq: last.seq };
    // The cursor moves only after every message of the batch was acknowledged.
    const saved = await retrying('cursor update', () => advanceCursors(pool, schema, shards, to));
    if (saved) {
      stats.position = to;
      stats.published += rows.length;
      stats.batches++;
    }
    return saved;
  };

  const run = async () => {
    let quietMs = 5;
    while (!stopper.signal.aborted) {
      woken = false;
      let rows: LogRow[] = [];
      const read = await retrying('read', async () => {
        rows = await readBatch(pool, schema, stats.position, batchSize);
      });
      if (!read) break;
      if (rows.length === 0) {
        // After a NOTIFY, rows can be held back briefly by an older transaction still open;
        // look again soon, backing off to the poll interval.
        await idle(Math.min(quietMs, pollMs));
        quietMs = woken ? 5 : Math.min(quietMs * 2, pollMs);
        continue;
      }
      quietMs = 5;
      if (!(await publish(rows))) break;
    }
  };

  return {
    done,
    stats: () => ({ ...stats, position: { ...stats.position } }),
    async start() {
      if (stats.state !== 'idle') throw new HeraldError('HERALD_INVALID_CONFIG', 'a relay can be started once');
      stats.state = 'starting';
      try {
        await assertMigrated(pool, schema);
        const count = await ensureCursors(pool, schema);
        shards = Array.from({ length: count }, (_, i) => i);
        stats.position = await lowestCursor(pool, schema, shards);
      } catch (error) {
        stats.state = 'stopped';
        if (owned) await pool.end?.().catch(() => {});
        resolveDone();
        throw toDatabaseError(error, target);
      }
      // A broker that is down at start is not fatal: publishing retries until it is back.
      await transport.connect().catch((error) => failed('broker connection', error));
      if (options.listen !== false) {
        const db = typeof options.db === 'string' ? options.db : pool;
        listener = startListener({ db, channel: channelName(schema), onWake, logger, signal: stopper.signal });
      }
      if (stats.state === 'starting') stats.state = 'running';
      logger.info(
        { schema, shards: shards.length, transport: transport.describe(), position: stats.position },
        'relay started',
      );
      run()
        .catch((error) => logger.error({ error }, 'relay loop crashed'))
        .finally(async () => {
          stats.state = 'stopping';
          stopper.abort();
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
