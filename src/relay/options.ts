import { checkObject, integerSetting, invalidSetting, numberSetting, oneOf, textSetting } from '../config/check.ts';
import { checkKeep, type Keep } from '../config/keep.ts';
import { checkTopicPrefix } from '../config/names.ts';
import { settingFromEnv } from '../config/settings.ts';
import { uuidv7 } from '../events/uuidv7.ts';
import { createLogger, type Logger } from '../observe/logger.ts';
import { type MetricsRecorder, noMetrics } from '../observe/metrics.ts';
import { type BackoffOptions, defaultBackoff } from '../retry/backoff.ts';
import { type DatabaseOption, resolveDatabase } from '../store/connect.ts';
import { resolveSchema } from '../store/identifiers.ts';
import type { Transport } from '../transports/transport.ts';
import { prefixTopics, type TopicStrategy } from '../wire/topics.ts';
import { observedTransport } from './observed.ts';
import type { RelayOptions } from './relay.ts';

/** A relay's options checked once, at creation, with every default filled in. */
export interface RelaySettings {
  db: DatabaseOption;
  transport: Transport;
  schema: string;
  topicFor: TopicStrategy;
  batchSize: number;
  pollMs: number;
  cursorMs: number;
  source: 'polling' | 'cdc';
  replicationUrl: string | undefined;
  backoff: BackoffOptions;
  maxAttempts: number;
  onFailure: 'dead-letter' | 'block';
  leaseMs: number;
  heartbeatMs: number;
  instanceId: string;
  retentionDays: number;
  keep: Keep;
  logger: Logger;
  metrics: MetricsRecorder;
}

/**
 * Checks a relay's options and fills in the rest: from the environment variables `herald relay`
 * reads (HERALD_BATCH_SIZE, HERALD_LEASE_MS, …; see docs/cli.md), then the defaults. The error
 * names the option.
 */
export function relaySettings(options: RelayOptions): RelaySettings {
  checkObject(options);
  const { transport } = options;
  if (!transport || typeof transport.publish !== 'function') {
    throw invalidSetting('transport', 'must be a Herald transport, e.g. kafka({ brokers })', typeof transport);
  }
  if (options.topic !== undefined && typeof options.topic !== 'function') {
    throw invalidSetting('topic', 'must be a function from event type to topic', options.topic);
  }
  const topicPrefix = checkTopicPrefix(options.topicPrefix) ?? settingFromEnv('topicPrefix');
  const leaseMs = integerSetting('leaseMs', options.leaseMs, 250, 600_000) ?? (settingFromEnv('leaseMs') as number);
  const backoff = options.backoff ?? defaultBackoff;
  const metrics = options.metrics ?? noMetrics;
  numberSetting('backoff.initialMs', backoff.initialMs, 1);
  numberSetting('backoff.maxMs', backoff.maxMs, backoff.initialMs);
  return {
    db: resolveDatabase(options.db),
    transport: observedTransport(transport, metrics),
    schema: resolveSchema(options.schema).name,
    topicFor: options.topic ?? prefixTopics(topicPrefix),
    batchSize: integerSetting('batchSize', options.batchSize, 1, 100_000) ?? (settingFromEnv('batchSize') as number),
    pollMs: numberSetting('pollIntervalMs', options.pollIntervalMs, 1) ?? (settingFromEnv('pollIntervalMs') as number),
    source:
      oneOf('source', options.source, ['polling', 'cdc'] as const) ?? (settingFromEnv('source') as 'polling' | 'cdc'),
    replicationUrl:
      textSetting('replicationUrl', options.replicationUrl, { secret: true }) ??
      (settingFromEnv('replicationUrl') as string | undefined),
    cursorMs:
      numberSetting('cursorIntervalMs', options.cursorIntervalMs, 0) ?? (settingFromEnv('cursorIntervalMs') as number),
    backoff,
    maxAttempts:
      integerSetting('maxAttempts', options.maxAttempts, 1, 1_000) ?? (settingFromEnv('maxAttempts') as number),
    onFailure:
      oneOf('onFailure', options.onFailure, ['dead-letter', 'block'] as const) ??
      (settingFromEnv('onFailure') as 'dead-letter' | 'block'),
    leaseMs,
    heartbeatMs: Math.max(50, Math.floor(leaseMs / 5)),
    instanceId: textSetting('instanceId', options.instanceId, { max: 200 }) ?? uuidv7(),
    retentionDays:
      integerSetting('retentionDays', options.retentionDays, 0, 3650) ?? (settingFromEnv('retentionDays') as number),
    keep: options.keep === undefined ? ((settingFromEnv('keep') as Keep | undefined) ?? {}) : checkKeep(options.keep),
    logger: options.logger ?? createLogger(),
    metrics,
  };
}
