import { isHeraldError } from '../errors.ts';
import type { Readiness } from '../observe/http.ts';
import { noMetrics } from '../observe/metrics.ts';
import { loadTracing } from '../observe/tracing.ts';
import type { Outbox } from '../outbox/outbox.ts';
import { backoffDelay, sleep } from '../retry/backoff.ts';
import { retry } from '../retry/retry.ts';
import { readGauges } from '../status/readings.ts';
import { accessError } from '../store/access-error.ts';
import { clientAdapterOf, clientDatabase } from '../store/clients/index.ts';
import { type DatabaseOption, openPool, type PoolLike, poolPipelines } from '../store/connect.ts';
import { assertMigrated } from '../store/migrate.ts';
import { maintainPartitions, scheduleRetention } from '../store/retention.ts';
import { recordLag } from '../store/sql/consumer-lag.ts';
import type { Delivery, PartitionLag, Subscription } from '../transports/transport.ts';
import { createDeadLetterer } from './dead-letter.ts';
import { Unfinished } from './handle-run.ts';
import { consumerReadiness } from './health.ts';
import { rebuildFromHistory } from './history.ts';
import { consumeLoop } from './loop.ts';
import { groupSizes, observedRuns, watchGroupsAtOnce } from './observed.ts';
import type { ConsumerSettings } from './options.ts';
import { createAckTracker, createKeyedRuns } from './ordering.ts';
import { createPipeline } from './pipeline.ts';
import { startRedelivery } from './redeliver.ts';
import { Released } from './released.ts';
import type { Route } from './route.ts';
import type { ConsumerContext, ConsumerStats } from './types.ts';

/** The shortest wait before a held key's run is tried again, whatever the retry policy. */
const holdFloorMs = 50;

/** The consumer's pool is only queried; transactions go through the client's own. */
const noConnect = (): never => {
  throw new Error('a client database has no pool connections; use its transaction');
};

/** A consumer that has started: what createConsumer's stop(), lag() and stats() reach. */
export interface ConsumerRun {
  stop(): Promise<void>;
  lag(): Promise<PartitionLag[]>;
  inFlight(): number;
  /** Group transactions that may run at once now; null without group commit. */
  groupsAtOnce(): number | null;
  readiness(): Promise<Readiness>;
}

/**
 * Starts a consumer: checks the schema, keeps the inbox's partitions, then reads the group's
 * topics in the background. Each delivery runs through the pipeline (decode, upcast, handler and
 * inbox row in one transaction) behind the earlier messages of its key; what cannot be handled
 * goes down the give-up path (dead-letter.ts); acknowledgements follow the finished prefix of
 * each partition.
 */
export async function startConsumer(deps: {
  settings: ConsumerSettings;
  routes: Map<string, Route>;
  topics: string[];
  stats: ConsumerStats;
  outbox: Outbox;
}): Promise<ConsumerRun> {
  const { settings, stats, topics } = deps;
  const { group, schema, logger, transport } = settings;
  const stopper = new AbortController();
  const cleanups: (() => void)[] = [];
  const acks = createAckTracker({
    maxInFlight: settings.maxInFlight,
    // A commit refused in a rebalance: the next owner gets the message again; the inbox skips it.
    onAckError: (error) => logger.debug({ error }, 'acknowledgement not stored; the message may be delivered again'),
  });
  let subscription: Subscription | null = null;

  const onOutage = (failure: unknown) => {
    const error = accessError(failure, 'the database') ?? failure;
    const code = isHeraldError(error) ? error.code : 'HERALD_DATABASE_UNAVAILABLE';
    if (stats.circuit === 'closed')
      logger.error({ error, code }, 'consumer cannot reach a dependency; retrying with backoff');
    stats.circuit = 'open';
    stats.state = 'retrying';
    stats.lastError = { code, message: (error as Error).message, at: new Date() };
  };
  const onRecovered = () => {
    if (stats.circuit === 'open') logger.info({}, 'consumer recovered');
    stats.circuit = 'closed';
    if (stats.state === 'retrying') stats.state = 'running';
  };

  // Another client's database (Kysely, Prisma…): Herald's own statements go through it, and
  // handlers run in its transactions. A connection string or a pool: as it always was.
  const client = clientAdapterOf(settings.db) ? clientDatabase(settings.db) : undefined;
  const pipelined = settings.groupCommit !== false && settings.groupCommit.pipeline;
  const { pool, owned } = client
    ? { pool: { query: client.query, connect: noConnect } as PoolLike, owned: false }
    : openPool(settings.db as DatabaseOption, settings.concurrency + 2, pipelined);
  const database = client ?? clientDatabase(pool);
  try {
    await assertMigrated(pool, schema);
    if (pipelined && !client && !(await poolPipelines(pool))) {
      logger.warn(
        {},
        "groupCommit.pipeline: the pool's connections are not in pipeline mode, so a group's statements still wait for each other; make it with new pg.Pool({ ..., pipeline: true }) (node-postgres 8.23 or later)",
      );
    }
    const retentionDays = settings.inboxRetentionDays;
    if (retentionDays > 0)
      await maintainPartitions(pool, schema, 'inbox', { retentionDays, daysBehind: retentionDays });
  } catch (error) {
    if (owned) await pool.end?.().catch(() => {});
    throw accessError(error, 'the database') ?? error;
  }
  cleanups.push(
    scheduleRetention({ db: pool, schema, retentionDays: settings.inboxRetentionDays, logger, table: 'inbox' }),
  );
  const context: ConsumerContext = {
    pool,
    transaction: database.transaction,
    schema,
    group,
    retry: settings.retry,
    stats,
    logger,
    signal: stopper.signal,
    onOutage,
    onRecovered,
  };
  const pipeline = createPipeline({
    ...context,
    routes: deps.routes,
    onUnknownType: settings.onUnknownType,
    concurrency: settings.concurrency,
    prepared: settings.preparedStatements,
    groupCommit: settings.groupCommit,
    offsets: settings.offsets,
    outbox: deps.outbox,
    ...(settings.metrics === noMetrics ? {} : { onGroup: groupSizes(settings.metrics, group) }),
  });
  const giveUp = createDeadLetterer({ ...context, transport, topic: settings.deadLetterTopic });
  await loadTracing();
  const observation = {
    metrics: settings.metrics,
    group,
    transport: transport.name,
    processSpan: settings.processSpan,
  };
  cleanups.push(settings.metrics.watch(schema, readGauges(pool, schema)));
  cleanups.push(watchGroupsAtOnce(settings.metrics, group, pipeline.groupsAtOnce));
  const unexpected = (error: unknown) => {
    if (!(error instanceof Released))
      logger.error({ error }, 'unexpected consumer error; the message is not done, and is tried again');
  };
  // Each key is handled in order (a message without a key, and every message with positions in
  // the database: its partition), keys side by side, a key's messages in runs: each run after
  // the one before, several messages to a transaction under load. What a run left unfinished
  // (not stopping) holds its key: its later messages must not pass it.
  const handleRun = observedRuns(pipeline.handleRun, observation);
  type Entry = { delivery: Delivery; done: () => void };
  const runs = createKeyedRuns<Entry>({
    // A group's size now: lock conflicts that halve groups shorten runs too.
    max: pipeline.runLimit,
    run: async (entries) => {
      let finished = entries.length;
      try {
        await handleRun(
          entries.map((e) => e.delivery),
          giveUp,
        );
      } catch (error) {
        finished = error instanceof Unfinished ? error.finished : 0;
        unexpected(error instanceof Unfinished ? error.cause : error);
      }
      for (const e of entries.slice(0, finished)) e.done();
      return stopper.signal.aborted ? [] : entries.slice(finished);
    },
    hold: (_key, failures, held) => {
      // Where it is, not its key (which may name a customer): logs carry no payload data.
      const { topic, partition, offset } = (held[0] as Entry).delivery;
      logger.warn(
        { group, topic, partition, offset, failures },
        'messages held: this one could not be handled or given up on; trying again from it',
      );
      return sleep(Math.max(holdFloorMs, backoffDelay(failures, settings.retry)), stopper.signal);
    },
  });
  const byPartition = settings.offsets === 'database';
  const keyOf = (m: Pick<Delivery, 'topic' | 'partition' | 'key'>) =>
    byPartition || m.key === null ? `${m.topic}/${m.partition}` : m.key;
  const dispatch = (delivery: Delivery) => {
    const done = acks.track(delivery);
    runs.add(keyOf(delivery), { delivery, done });
  };
  const idle = () => runs.idle();

  cleanups.push(
    startRedelivery({
      db: pool,
      schema,
      group,
      inOrder: (m, work) => runs.task(keyOf(m), work),
      pipeline,
      logger,
      signal: stopper.signal,
      pollMs: settings.redeliveryPollMs,
    }),
  );
  if (settings.lagIntervalMs > 0) {
    const timer = setInterval(() => {
      if (!subscription) return;
      subscription
        .lag()
        .then((lag) => recordLag(pool, schema, group, lag))
        .catch((error) => logger.debug({ error }, 'lag not measured'));
    }, settings.lagIntervalMs);
    timer.unref();
    cleanups.push(() => clearInterval(timer));
  }

  const readHistory = () =>
    rebuildFromHistory({
      db: pool,
      schema,
      group,
      types: [...deps.routes.keys()],
      topicFor: settings.topicFor,
      dispatch,
      waitForRoom: () => acks.waitForRoom(),
      idle: async () => {
        await pipeline.flushBatches();
        await idle();
      },
      signal: stopper.signal,
      logger,
    });
  const readBroker = () =>
    consumeLoop({
      // A rebuild's group reads the broker from the earliest: what came after its history.
      subscribe: () => transport.subscribe({ group, topics, from: settings.from === 'latest' ? 'latest' : 'earliest' }),
      onSubscribed: (s) => {
        subscription = s;
        logger.info({ group, topics, transport: transport.describe() }, 'consumer subscribed');
        onRecovered();
      },
      dispatch,
      acks,
      signal: stopper.signal,
      onOutage,
      retry: settings.retry,
      // Before the subscription closes: running handlers finish, and what they finished is
      // acknowledged. Whatever had not started (waiting batches too) is released for redelivery.
      drain: async () => {
        subscription = null;
        if (stopper.signal.aborted) {
          await pipeline.flushBatches().catch(() => {});
          await idle();
        }
        await acks.flush();
      },
    });
  const loop = (async () => {
    if (settings.from === 'history') {
      // A database that cannot be reached is an outage here too: retried, never given up.
      await retry(readHistory, {
        signal: stopper.signal,
        backoff: settings.retry,
        retryPermanent: true,
        onError: onOutage,
      });
      onRecovered();
    }
    if (!stopper.signal.aborted) await readBroker();
  })();

  return {
    inFlight: () => acks.inFlight,
    groupsAtOnce: pipeline.groupsAtOnce,
    readiness: () =>
      consumerReadiness({
        group,
        stats: { ...stats, inFlight: acks.inFlight },
        subscribed: subscription !== null,
        assignment: subscription?.assignment?.(),
        stuck: acks.stuck(settings.stuckAfterMs),
        stuckAfterMs: settings.stuckAfterMs,
        pool,
      }),
    lag: async () => (subscription ? subscription.lag() : []),
    async stop() {
      stopper.abort();
      acks.release();
      for (const c of cleanups) c();
      await loop;
      await idle();
      await acks.flush();
      if (owned) await pool.end?.().catch(() => {});
    },
  };
}
