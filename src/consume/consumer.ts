import { invalidSetting } from '../config/check.ts';
import { namePatterns } from '../config/names.ts';
import { HeraldError } from '../errors.ts';
import type { EventDefinition } from '../events/define.ts';
import type { InferOutput, StandardSchemaV1 } from '../events/standard-schema.ts';
import type { HealthCheck } from '../observe/http.ts';
import type { Logger } from '../observe/logger.ts';
import type { MetricsRecorder } from '../observe/metrics.ts';
import { createOutbox } from '../outbox/outbox.ts';
import type { TransactionOf } from '../store/clients/index.ts';
import type { DatabaseOption } from '../store/connect.ts';
import type { Queryable } from '../store/db.ts';
import type { PartitionLag, Transport } from '../transports/transport.ts';
import type { DeadLetterTopic } from './dead-letter.ts';
import { consumerSettings } from './options.ts';
import type { Route } from './route.ts';
import { type ConsumerRun, startConsumer } from './run.ts';
import type { BatchHandler, ConsumerStats, Handler } from './types.ts';

export interface ConsumerOptions<D = DatabaseOption> {
  /** A transport, e.g. kafka({ brokers }): it reads the group's topics and publishes dead letters. */
  transport: Transport;
  /** The consumer group: members share the work, and the inbox is kept per group. */
  group: string;
  /**
   * Connection string, pg Pool, or the database object of your client (postgres.js, Kysely,
   * Drizzle, Knex, Prisma, TypeORM, MikroORM, Sequelize): handlers run in its transactions and
   * get its transaction object as `tx` (docs/clients.md). Default `DATABASE_URL`.
   */
  db?: D;
  /** The herald schema; default `HERALD_SCHEMA`, else `herald`. */
  schema?: string;
  /** Topics to read; default: each handled event's destination, or `<topicPrefix>.<type>`. */
  topics?: string[];
  topicPrefix?: string;
  /**
   * Where a new group starts; default `earliest`, so nothing the broker holds is missed.
   * `history` rebuilds a projection: the group first reads its event types from Herald's log and
   * archive (not the broker), then the broker from the earliest, its inbox skipping what history
   * gave: no gap, no double (docs/consumers.md, "Rebuilding a projection").
   */
  from?: 'earliest' | 'latest' | 'history';
  /** Handler transactions at once, across keys; default 16. One key is always one at a time. */
  concurrency?: number;
  /**
   * Messages fetched but not yet handled; fetching pauses at this many, or at ten times as many not
   * yet acknowledged (handled, waiting for an earlier one of their partition). Default 1 000.
   */
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
  /**
   * Readiness fails when a partition's first unfinished message has been in flight longer than
   * this while others wait behind it (stuck retrying one message); default 60 000 ms.
   */
  stuckAfterMs?: number;
  /**
   * With @opentelemetry/api: the `process` span of each message links to the span that created the
   * event (`link`, the default: a new trace per handling) or continues its trace (`child`).
   */
  processSpan?: 'link' | 'child';
  /**
   * Group commit for `on` handlers: the handlers of several ready events (across keys; one key's
   * events still one after another) run in one transaction with their inbox rows, and commit
   * together. A handler that throws fails its own event only, which is retried (then dead-lettered)
   * alone: the group rolls back and runs again with a savepoint per event, so the events before the
   * thrower run twice, once in effect. Default on, up to 64 events per transaction; `false`: one
   * transaction per event. Handlers that lock shared rows would block each other's groups: a
   * statement in a group waits at most `lockTimeoutMs` (default 100) for a lock, its event then
   * runs alone (not counted as an attempt), and groups shrink while such conflicts last.
   *
   * `pipeline: true` starts the handlers of a group at once instead of one after another, so their
   * statements reach PostgreSQL together (one write, one wait, with a connection in pipeline mode:
   * a node-postgres Pool made with `pipeline: true`, which Herald makes when `db` is a connection
   * string, or postgres.js). The handlers of a group have different keys, but share one
   * transaction, so they are not isolated from each other: only for handlers that do not read
   * what another event's handler may write and then write from what they read (docs/consumers.md).
   */
  groupCommit?: { maxEvents?: number; maxWaitMs?: number; lockTimeoutMs?: number; pipeline?: boolean } | boolean;
  /**
   * `database`: each partition's position is kept in the handler's transaction (table
   * `consumer_offsets`) instead of inbox rows, so a second delivery is skipped by its offset. One
   * partition is then handled in order (keys of a partition no longer run side by side): with group
   * commit, the messages that came while its last run was under way run one after another in one
   * transaction (up to `groupCommit.maxEvents`). Broker offsets are still committed after. Once
   * in effect per message, not per event: an event published twice (a relay's failover sends the
   * batches in flight again) is two messages, and its handler runs twice. Default `broker` (the
   * inbox, by event id).
   */
  offsets?: 'broker' | 'database';
  /** Named prepared statements for the inbox; turn off behind transaction-mode poolers. Default true. */
  preparedStatements?: boolean;
  /** CloudEvents source of events the handlers emit; default `$HERALD_SOURCE` or `/herald`. */
  source?: string;
  /** Default: JSON lines on stderr at `HERALD_LOG_LEVEL` (info), as the relay and the CLI. */
  logger?: Logger;
  /** Where the consumer reports its metrics: `await prometheusMetrics()`, `openTelemetryMetrics()`. */
  metrics?: MetricsRecorder;
}

export interface Consumer<Tx = Queryable> extends HealthCheck {
  /**
   * Handles one event type; the handler asks for the definition's version (older ones are upcast).
   * A type may have several handlers: they run in the order they were registered, in one
   * transaction, each once in effect (its own inbox row). Every one but the first needs a `name`
   * (its inbox rows are kept under it: keep it when you reorder or add handlers).
   */
  on<S extends StandardSchemaV1>(
    definition: EventDefinition<S>,
    handler: Handler<InferOutput<S>, Tx>,
    options?: { name?: string },
  ): Consumer<Tx>;
  /** Handles events of one type in batches, in one transaction per batch. */
  onBatch<S extends StandardSchemaV1>(
    definition: EventDefinition<S>,
    handler: BatchHandler<InferOutput<S>, Tx>,
    options?: { size?: number; maxWaitMs?: number },
  ): Consumer<Tx>;
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

/** A handler's name goes into its inbox rows' group: the characters of a group name. */
function handlerName(name: unknown): string {
  if (typeof name !== 'string' || !namePatterns.group.test(name)) {
    throw invalidSetting('name', 'a handler name must be 1-200 of A-Z a-z 0-9 . _ -', name);
  }
  return name;
}

export function createConsumer<D extends DatabaseOption | object = DatabaseOption>(
  options: ConsumerOptions<D>,
): Consumer<TransactionOf<D>> {
  type Tx = TransactionOf<D>;
  const settings = consumerSettings(options as ConsumerOptions<DatabaseOption | object>);
  const { group } = settings;
  const routes = new Map<string, Route>();
  const stats: ConsumerStats = {
    state: 'idle',
    handled: 0,
    duplicates: 0,
    skipped: 0,
    deadLettered: 0,
    retries: 0,
    inFlight: 0,
    groupsAtOnce: null,
    circuit: 'closed',
    lastError: null,
  };
  let running: ConsumerRun | null = null;

  const topics = () => {
    if (settings.topics) return [...settings.topics];
    return [
      ...new Set([...routes.values()].map((r) => r.definition.destination ?? settings.topicFor(r.definition.type))),
    ];
  };

  const register = (definition: EventDefinition, route: Omit<Route, 'definition'>) => {
    if (stats.state !== 'idle') throw new HeraldError('HERALD_INVALID_CONFIG', 'register handlers before start()');
    const existing = routes.get(definition.type);
    const added = route.handlers?.[0];
    if (existing?.handlers && added) {
      // Another handler of the same type: named, and not a name (or the unnamed slot) taken.
      if (added.name === null) {
        throw new HeraldError(
          'HERALD_INVALID_CONFIG',
          `${definition.type} already has a handler in group ${group}: name the next one, on(Def, handler, { name })`,
        );
      }
      if (existing.handlers.some((h) => h.name === added.name)) {
        throw new HeraldError('HERALD_INVALID_CONFIG', `${definition.type} already has a handler named ${added.name}`);
      }
      existing.handlers.push(added);
      return;
    }
    if (existing) {
      throw new HeraldError('HERALD_INVALID_CONFIG', `${definition.type} already has a handler in group ${group}`);
    }
    routes.set(definition.type, { definition, ...route });
  };

  const consumer: Consumer<Tx> = {
    on(definition, handler, options = {}) {
      const name = options.name === undefined ? null : handlerName(options.name);
      register(definition as unknown as EventDefinition, {
        handlers: [
          {
            name,
            inboxGroup: name === null ? group : `${group}:${name}`,
            handler: handler as Handler<unknown, unknown>,
          },
        ],
      });
      return consumer;
    },
    onBatch(definition, handler, batch = {}) {
      const size = batch.size ?? 100;
      const maxWaitMs = batch.maxWaitMs ?? 50;
      if (!(Number.isInteger(size) && size >= 1) || !(maxWaitMs >= 0)) {
        throw new HeraldError('HERALD_INVALID_CONFIG', 'onBatch: size must be a positive integer and maxWaitMs >= 0');
      }
      register(definition as unknown as EventDefinition, {
        batch: { handler: handler as BatchHandler<unknown, unknown>, size, maxWaitMs },
      });
      return consumer;
    },
    topics,
    stats: () => ({ ...stats, inFlight: running?.inFlight() ?? 0, groupsAtOnce: running?.groupsAtOnce() ?? null }),
    lag: async () => running?.lag() ?? [],
    readiness: async () =>
      running && stats.state !== 'stopped'
        ? running.readiness()
        : { name: `consumer ${group}`, ready: false, reasons: [`consumer is ${stats.state}`] },
    alive: () => stats.state !== 'stopped',
    async start() {
      if (stats.state !== 'idle') throw new HeraldError('HERALD_INVALID_CONFIG', 'a consumer starts once');
      if (routes.size === 0)
        throw new HeraldError('HERALD_INVALID_CONFIG', 'no handlers: call consumer.on() before start()');
      stats.state = 'running';
      try {
        running = await startConsumer({
          settings,
          routes,
          topics: topics(),
          stats,
          outbox: createOutbox({ schema: settings.schema, ...(settings.source ? { source: settings.source } : {}) }),
        });
      } catch (error) {
        stats.state = 'stopped';
        throw error;
      }
    },
    async stop() {
      if (stats.state === 'idle' || stats.state === 'stopped') {
        stats.state = 'stopped';
        return;
      }
      stats.state = 'stopping';
      await running?.stop();
      stats.state = 'stopped';
    },
  };
  return consumer;
}
