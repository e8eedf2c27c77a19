import {
  booleanSetting,
  checkObject,
  integerSetting,
  invalidSetting,
  numberSetting,
  oneOf,
  textSetting,
} from '../config/check.ts';
import { checkDestination, checkGroup, checkTopicPrefix } from '../config/names.ts';
import { settingFromEnv } from '../config/settings.ts';
import { createLogger, type Logger } from '../observe/logger.ts';
import { type MetricsRecorder, noMetrics } from '../observe/metrics.ts';
import { clientAdapterOf } from '../store/clients/index.ts';
import { type DatabaseOption, resolveDatabase } from '../store/connect.ts';
import { resolveSchema } from '../store/identifiers.ts';
import type { Transport } from '../transports/transport.ts';
import { prefixTopics, type TopicStrategy } from '../wire/topics.ts';
import type { ConsumerOptions } from './consumer.ts';
import { type DeadLetterTopic, defaultDeadLetterTopic } from './dead-letter.ts';
import type { RetryPolicy } from './pipeline.ts';

/** A consumer's options checked once, at creation, with every default filled in. */
export interface ConsumerSettings {
  transport: Transport;
  group: string;
  /** A connection string or pool, or the database object of another client (docs/clients.md). */
  db: DatabaseOption | object;
  schema: string;
  topics: string[] | undefined;
  topicFor: TopicStrategy;
  from: 'earliest' | 'latest' | 'history';
  concurrency: number;
  maxInFlight: number;
  retry: RetryPolicy;
  deadLetterTopic: DeadLetterTopic;
  onUnknownType: 'skip' | 'dead-letter';
  inboxRetentionDays: number;
  lagIntervalMs: number;
  redeliveryPollMs: number;
  stuckAfterMs: number;
  processSpan: 'link' | 'child';
  preparedStatements: boolean;
  groupCommit: { maxEvents: number; maxWaitMs: number; lockTimeoutMs: number; pipeline: boolean } | false;
  offsets: 'broker' | 'database';
  source: string | undefined;
  logger: Logger;
  metrics: MetricsRecorder;
}

/**
 * Checks a consumer's options and fills in the rest: from the environment variables the CLI reads
 * (DATABASE_URL, HERALD_SCHEMA, HERALD_TOPIC_PREFIX, HERALD_LOG_LEVEL), then the defaults. The
 * error names the option.
 */
export function consumerSettings(options: ConsumerOptions<DatabaseOption | object>): ConsumerSettings {
  checkObject(options);
  const { transport } = options;
  if (!transport || typeof transport.subscribe !== 'function') {
    throw invalidSetting(
      'transport',
      'must be a Herald transport that can consume, e.g. kafka({ brokers })',
      typeof transport,
    );
  }
  checkGroup(options.group);
  const { topics } = options;
  if (topics !== undefined) {
    if (!Array.isArray(topics)) throw invalidSetting('topics', 'must be a list of topic names', topics);
    for (const [i, topic] of topics.entries()) checkDestination(topic, `topics[${i}]`);
  }
  const retry = options.retry ?? {};
  const initialMs = numberSetting('retry.initialMs', retry.initialMs, 0, 100);
  const { deadLetterTopic } = options;
  if (deadLetterTopic !== undefined && deadLetterTopic !== false && typeof deadLetterTopic !== 'function') {
    throw invalidSetting('deadLetterTopic', 'must be a function of the topic, or false', typeof deadLetterTopic);
  }
  const topicPrefix = checkTopicPrefix(options.topicPrefix) ?? settingFromEnv('topicPrefix');
  return {
    transport,
    group: options.group,
    db: clientAdapterOf(options.db)
      ? (options.db as object)
      : resolveDatabase(options.db as DatabaseOption | undefined),
    schema: resolveSchema(options.schema).name,
    topics,
    topicFor: prefixTopics(topicPrefix),
    from: fromSetting(options.from, options.offsets),
    concurrency: integerSetting('concurrency', options.concurrency, 1, 1_000, 16),
    maxInFlight: integerSetting('maxInFlight', options.maxInFlight, 1, 1_000_000, 1000),
    retry: {
      attempts: integerSetting('retry.attempts', retry.attempts, 1, 1_000, 5),
      initialMs,
      maxMs: numberSetting('retry.maxMs', retry.maxMs, 0, Math.max(initialMs, 5_000)),
    },
    deadLetterTopic: deadLetterTopic ?? defaultDeadLetterTopic,
    onUnknownType: oneOf('onUnknownType', options.onUnknownType, ['skip', 'dead-letter'] as const, 'skip'),
    inboxRetentionDays: integerSetting('inboxRetentionDays', options.inboxRetentionDays, 0, 3650, 7),
    lagIntervalMs: numberSetting('lagIntervalMs', options.lagIntervalMs, 0, 5_000),
    redeliveryPollMs: numberSetting('redeliveryPollMs', options.redeliveryPollMs, 10, 1_000),
    stuckAfterMs: numberSetting('stuckAfterMs', options.stuckAfterMs, 0, 60_000),
    processSpan: oneOf('processSpan', options.processSpan, ['link', 'child'] as const, 'link'),
    preparedStatements: booleanSetting('preparedStatements', options.preparedStatements, true),
    groupCommit: groupCommitSetting(options.groupCommit, options.db),
    offsets: oneOf('offsets', options.offsets, ['broker', 'database'] as const, 'broker'),
    source: textSetting('source', options.source),
    logger: options.logger ?? createLogger(),
    metrics: options.metrics ?? noMetrics,
  };
}

/**
 * Where a new group starts: `history` rebuilds from the log (and archive) first, then reads the
 * broker from the earliest, its inbox skipping what history gave; with positions in the database
 * there is no inbox to skip with, so the two are refused together.
 */
function fromSetting(value: unknown, offsets: unknown): ConsumerSettings['from'] {
  const from = oneOf('from', value, ['earliest', 'latest', 'history'] as const, 'earliest');
  if (from === 'history' && offsets === 'database') {
    throw invalidSetting('from', "cannot be 'history' with offsets: 'database' (a rebuild needs the inbox)", value);
  }
  return from;
}

/**
 * Group commit: on unless `false`; `maxEvents` events per transaction at most (default 64: past
 * 64 subtransactions that wrote, PostgreSQL's snapshots of every session get slower), and
 * `maxWaitMs` a group waits for more once a slot is free (default 0: it takes what is ready), and
 * `lockTimeoutMs` a statement in a group may wait for a lock (default 100; 0: no limit) before
 * its event leaves the group to run alone; `pipeline` runs a group's handlers side by side
 * (default false), refused for clients with a unit of work (Prisma, TypeORM, MikroORM, Sequelize).
 */
function groupCommitSetting(value: unknown, db: unknown): ConsumerSettings['groupCommit'] {
  if (value === false) return false;
  if (value === undefined || value === true)
    return { maxEvents: 64, maxWaitMs: 0, lockTimeoutMs: 100, pipeline: false };
  checkObject(value, 'groupCommit');
  const pipeline = booleanSetting('groupCommit.pipeline', value.pipeline, false);
  const client = clientAdapterOf(db)?.client;
  if (pipeline && client !== undefined && !pipelineClients.includes(client)) {
    throw invalidSetting(
      'groupCommit.pipeline',
      `runs a group's handlers side by side on one transaction, which ${client}'s transactions are not made for; use it with node-postgres, postgres.js, Kysely, Drizzle or Knex`,
      value.pipeline,
    );
  }
  return {
    maxEvents: integerSetting('groupCommit.maxEvents', value.maxEvents, 1, 10_000, 64),
    maxWaitMs: numberSetting('groupCommit.maxWaitMs', value.maxWaitMs, 0, 0),
    lockTimeoutMs: integerSetting('groupCommit.lockTimeoutMs', value.lockTimeoutMs, 0, 3_600_000, 100),
    pipeline,
  };
}

/** Clients whose transaction is a connection that statements are sent through, in any order. */
const pipelineClients = ['postgres.js', 'kysely', 'drizzle', 'knex'];
