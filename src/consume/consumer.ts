import { HeraldError, isHeraldError } from '../errors.ts';
import type { EventDefinition } from '../events/define.ts';
import type { InferOutput, StandardSchemaV1 } from '../events/standard-schema.ts';
import { type Logger, silentLogger } from '../observe/logger.ts';
import { createOutbox } from '../outbox/outbox.ts';
import { backoffDelay, sleep } from '../relay/backoff.ts';
import { type DatabaseOption, openPool } from '../store/connect.ts';
import { assertMigrated } from '../store/migrate.ts';
import { maintainPartitions, scheduleRetention } from '../store/retention.ts';
import { recordLag } from '../store/sql/consumer-lag.ts';
import type { Delivery, IncomingMessage, PartitionLag, Subscription, Transport } from '../transports/transport.ts';
import { type DeadLetterTopic, defaultDeadLetterTopic, writeDeadLetter } from './dead-letter.ts';
import type { ConsumedEvent } from './decode.ts';
import { consumeLoop } from './loop.ts';
import { checkConsumerOptions } from './options.ts';
import { createAckTracker, createKeyedRunner } from './ordering.ts';
import { createPipeline, Released, type Route } from './pipeline.ts';
import { startRedelivery } from './redeliver.ts';
import type { BatchHandler, ConsumerStats, Handler } from './types.ts';

export interface ConsumerOptions {
  /** A transport that can subscribe, e.g. kafka({ brokers }). It also publishes dead letters. */
  transport: Transport;
  /** The consumer group: members share the work, and the inbox is kept per group. */
  group: string;
  /** Connection string or pg Pool; handlers' transactions run on it. */
  db: DatabaseOption;
  /** The herald schema; default `herald`. */
  schema?: string;
  /** Topics to read; default: each handled event's destination, or `<topicPrefix>.<type>`. */
  topics?: string[];
  topicPrefix?: string;
  /** Where a new group starts; default `earliest`, so nothing written before it is missed. */
  from?: 'earliest' | 'latest';
  /** Handler transactions at once, across keys; default 16. One key is always one at a time. */
  concurrency?: number;
  /** Messages fetched but not yet acknowledged; fetching pauses at this many. Default 1 000. */
  maxInFlight?: number;
  /** Attempts before a message is dead-lettered, and the backoff between them. */
  retry?: { attempts?: number; initialMs?: number; maxMs?: number };
  /** Dead-letter topic per source topic; default `<topic>.dlq`. `false`: database only. */
  deadLetterTopic?: DeadLetterTopic;
  /** Event types with no handler: skipped (default) or dead-lettered. */
  onUnknownType?: 'skip' | 'dead-letter';
  /** Days the inbox remembers an event (by the event's time); default 7, 0 keeps it forever. */
  inboxRetentionDays?: number;
  /** How often lag is measured and stored for `herald status`; default 5 000 ms, 0 never. */
  lagIntervalMs?: number;
  /** How often dead letters marked for retry (`herald dlq retry --group`) are picked up; default 1 000 ms. */
  redeliveryPollMs?: number;
  /** Named prepared statements for the inbox; turn off behind transaction-mode poolers. Default true. */
  preparedStatements?: boolean;
  /** CloudEvents source of events the handlers emit; default `$HERALD_SOURCE` or `/herald`. */
  source?: string;
  logger?: Logger;
}

export interface Consumer {
  /** Handles one event type; the handler asks for the definition's version (older ones are upcast). */
  on<S extends StandardSchemaV1>(definition: EventDefinition<S>, handler: Handler<InferOutput<S>>): Consumer;
  /** Handles events of one type in batches, in one transaction per batch. */
  onBatch<S extends StandardSchemaV1>(
    definition: EventDefinition<S>,
    handler: BatchHandler<InferOutput<S>>,
    options?: { size?: number; maxWaitMs?: number },
  ): Consumer;
  /** Checks the schema, then consumes in the background until stop(). */
  start(): Promise<void>;
  /** Stops fetching, finishes the handlers running, releases the rest, and leaves the group. */
  stop(): Promise<void>;
  stats(): ConsumerStats;
  /** Unhandled messages per partition of the group's topics. */
  lag(): Promise<PartitionLag[]>;
  /** The topics the consumer reads. */
  topics(): string[];
}

export function createConsumer(options: ConsumerOptions): Consumer {
  checkConsumerOptions(options);
  const schema = options.schema ?? process.env.HERALD_SCHEMA ?? 'herald';
  const { group, transport } = options;
  const logger = options.logger ?? silentLogger;
  const concurrency = options.concurrency ?? 16;
  const routes = new Map<string, Route>();
  const stats: ConsumerStats = {
    state: 'idle',
    handled: 0,
    duplicates: 0,
    skipped: 0,
    deadLettered: 0,
    retries: 0,
    inFlight: 0,
    circuit: 'closed',
    lastError: null,
  };
  const stopper = new AbortController();
  let pool: ReturnType<typeof openPool> | null = null;
  let subscription: Subscription | null = null;
  let loop: Promise<void> | null = null;
  const cleanups: (() => void)[] = [];
  const runner = createKeyedRunner();
  const acks = createAckTracker({
    maxInFlight: options.maxInFlight ?? 1000,
    // A commit refused in a rebalance: the next owner gets the message again; the inbox skips it.
    onAckError: (error) => logger.debug({ error }, 'acknowledgement not stored; the message may be delivered again'),
  });

  const topics = () => {
    if (options.topics) return [...options.topics];
    const strategy = (type: string) => (options.topicPrefix ? `${options.topicPrefix}.${type}` : type);
    return [...new Set([...routes.values()].map((r) => r.definition.destination ?? strategy(r.definition.type)))];
  };

  const onOutage = (error: unknown) => {
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

  const register = (definition: EventDefinition, route: Omit<Route, 'definition'>) => {
    if (stats.state !== 'idle') throw new HeraldError('HERALD_INVALID_CONFIG', 'register handlers before start()');
    if (routes.has(definition.type)) {
      throw new HeraldError('HERALD_INVALID_CONFIG', `${definition.type} already has a handler in group ${group}`);
    }
    routes.set(definition.type, { definition, ...route });
  };

  const consumer: Consumer = {
    on(definition, handler) {
      register(definition as unknown as EventDefinition, { handler: handler as Handler<unknown> });
      return consumer;
    },
    onBatch(definition, handler, batch = {}) {
      const size = batch.size ?? 100;
      const maxWaitMs = batch.maxWaitMs ?? 50;
      if (!(Number.isInteger(size) && size >= 1) || !(maxWaitMs >= 0)) {
        throw new HeraldError('HERALD_INVALID_CONFIG', 'onBatch: size must be a positive integer and maxWaitMs >= 0');
      }
      register(definition as unknown as EventDefinition, {
        batch: { handler: handler as BatchHandler<unknown>, size, maxWaitMs },
      });
      return consumer;
    },
    topics,
    stats: () => ({ ...stats, inFlight: acks.inFlight }),
    async lag() {
      if (!subscription) return [];
      return subscription.lag();
    },
    async start() {
      if (stats.state !== 'idle') throw new HeraldError('HERALD_INVALID_CONFIG', 'a consumer starts once');
      if (routes.size === 0)
        throw new HeraldError('HERALD_INVALID_CONFIG', 'no handlers: call consumer.on() before start()');
      if (!transport.subscribe) {
        throw new HeraldError('HERALD_INVALID_CONFIG', `transport ${transport.name} cannot consume`);
      }
      stats.state = 'running';
      pool = openPool(options.db, concurrency + 2);
      const db = pool.pool;
      try {
        await assertMigrated(db, schema);
        const retentionDays = options.inboxRetentionDays ?? 7;
        if (retentionDays > 0)
          await maintainPartitions(db, schema, 'inbox', { retentionDays, daysBehind: retentionDays });
      } catch (error) {
        stats.state = 'stopped';
        if (pool.owned) await pool.pool.end?.().catch(() => {});
        throw error;
      }
      cleanups.push(
        scheduleRetention({ db, schema, retentionDays: options.inboxRetentionDays ?? 7, logger, table: 'inbox' }),
      );
      const retry = { attempts: 5, initialMs: 100, maxMs: 5_000, ...options.retry };
      const pipeline = createPipeline({
        pool: db,
        schema,
        group,
        routes,
        onUnknownType: options.onUnknownType ?? 'skip',
        retry,
        concurrency,
        prepared: options.preparedStatements ?? true,
        outbox: createOutbox({ schema, ...(options.source ? { source: options.source } : {}) }),
        stats,
        logger,
        signal: stopper.signal,
        onOutage,
        onRecovered,
      });
      const deadLetterTarget = {
        db,
        schema,
        group,
        transport,
        topic: options.deadLetterTopic ?? defaultDeadLetterTopic,
      };
      const dispatch = (delivery: Delivery) => {
        const done = acks.track(delivery);
        const key = delivery.key ?? `${delivery.topic}/${delivery.partition}`;
        void runner.run(key, async () => {
          try {
            await pipeline.handle(delivery, (error, attempts, event) =>
              deadLetterFor(delivery, error, attempts, event),
            );
            done();
          } catch (error) {
            if (!(error instanceof Released))
              logger.error({ error }, 'unexpected consumer error; message left for redelivery');
          }
        });
      };
      const deadLetterFor = async (
        m: IncomingMessage,
        error: unknown,
        attempts: number,
        event: ConsumedEvent | null,
      ) => {
        for (let outage = 0; ; outage++) {
          try {
            await writeDeadLetter(
              deadLetterTarget,
              m,
              { eventId: event?.id ?? null, eventType: event?.type ?? null },
              error,
              attempts,
            );
            stats.deadLettered++;
            logger.warn({ error, attempts, group, eventId: event?.id, type: event?.type }, 'message dead-lettered');
            return;
          } catch (failure) {
            if (stopper.signal.aborted) throw new Released();
            onOutage(failure);
            await sleep(backoffDelay(Math.min(outage, 10), retry), stopper.signal);
          }
        }
      };

      cleanups.push(
        startRedelivery({
          db,
          schema,
          group,
          runner,
          pipeline,
          logger,
          signal: stopper.signal,
          pollMs: options.redeliveryPollMs ?? 1_000,
        }),
      );
      const lagMs = options.lagIntervalMs ?? 5_000;
      if (lagMs > 0) {
        const timer = setInterval(() => {
          if (!subscription) return;
          subscription
            .lag()
            .then((lag) => recordLag(db, schema, group, lag))
            .catch((error) => logger.debug({ error }, 'lag not measured'));
        }, lagMs);
        timer.unref();
        cleanups.push(() => clearInterval(timer));
      }

      loop = consumeLoop({
        subscribe: () =>
          (transport.subscribe as NonNullable<Transport['subscribe']>)({
            group,
            topics: topics(),
            from: options.from ?? 'earliest',
          }),
        onSubscribed: (s) => {
          subscription = s;
          logger.info({ group, topics: topics(), transport: transport.describe() }, 'consumer subscribed');
          onRecovered();
        },
        dispatch,
        acks,
        signal: stopper.signal,
        onOutage,
        retry,
        // Before the subscription closes: running handlers finish, and what they finished is
        // acknowledged. Whatever had not started (waiting batches too) is released for redelivery.
        drain: async () => {
          subscription = null;
          if (stopper.signal.aborted) {
            await pipeline.flushBatches().catch(() => {});
            await runner.idle();
          }
          await acks.flush();
        },
      });
    },
    async stop() {
      if (stats.state === 'idle' || stats.state === 'stopped') {
        stats.state = 'stopped';
        return;
      }
      stats.state = 'stopping';
      stopper.abort();
      acks.release();
      for (const c of cleanups) c();
      await loop;
      await runner.idle();
      await acks.flush();
      if (pool?.owned) await pool.pool.end?.().catch(() => {});
      stats.state = 'stopped';
    },
  };
  return consumer;
}
