import type { ConnectionOptions as TlsOptions } from 'node:tls';
import {
  booleanSetting,
  checkObject,
  hostPortList,
  integerSetting,
  missingSetting,
  oneOf,
  textSetting,
} from '../../config/check.ts';
import { checkDestination } from '../../config/names.ts';
import { settings as cliSettings, settingFromEnv } from '../../config/settings.ts';
import { checkPartitioner, checkPartitionerByType, type Partitioner } from './partitioners.ts';
import { type KafkaSaslOptions, type KafkaTlsOptions, saslSettings, tlsSettings } from './security.ts';

export type { KafkaSaslOptions, KafkaTlsOptions } from './security.ts';

export interface KafkaOptions {
  /** `host:port` strings, or one comma-separated string; default `KAFKA_BROKERS`. */
  brokers?: string[] | string;
  /** Default `HERALD_CLIENT_ID`, else `herald-relay` for the producer and `herald-<group>` for a consumer. */
  clientId?: string;
  /** Per-request timeout in ms, 100-600 000; default 10 000. */
  timeoutMs?: number;
  /** Let the broker create missing topics on first publish (if it allows); default true. */
  autocreateTopics?: boolean;
  /** How record batches are compressed; default none. gzip and zstd by Node's zlib, snappy and lz4 by the client's own WebAssembly: nothing to install. */
  compression?: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
  /** Compression per destination (topic), over `compression`: e.g. `{ 'audit.log': 'zstd' }`. */
  compressionByDestination?: Readonly<Record<string, 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd'>>;
  /**
   * Most bytes sent in one produce request; a larger batch goes out as several requests, one
   * after the other (order kept). Default 900 000, under Kafka's default 1 MB
   * `message.max.bytes`, which applies to the records of one partition in one request.
   */
  maxRequestBytes?: number;
  /**
   * How an event's partition is chosen (see Partitioner): `key-hash` (default; one key's events in
   * order), `round-robin` (no order, even spread) or a function of the event.
   */
  partitioner?: Partitioner;
  /** A partitioner per event type, over `partitioner`: e.g. `{ 'audit.recorded': 'round-robin' }`. */
  partitionerByType?: Readonly<Record<string, Partitioner>>;
  /** Consumers: a member that stops heartbeating leaves its group after this; default 10 000 ms. */
  sessionTimeoutMs?: number;
  /**
   * Consumers: most bytes one fetch brings back, across partitions; default 1 MiB. The client
   * decodes a whole fetch at once, so this bounds a consumer's memory while it catches up a
   * backlog (at 50 MB, the client's own default, one fetch of 1 KB events is ~45,000 decoded
   * records). A single record larger than this still comes, alone.
   */
  fetchMaxBytes?: number;
  /**
   * Connect over TLS: `true` (the system's CAs) or `{ ca, caFile, servername, rejectUnauthorized }`;
   * default `KAFKA_TLS` / `KAFKA_CA_FILE`. See docs/security.md.
   */
  tls?: boolean | KafkaTlsOptions;
  /** Authenticate with SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512); default `KAFKA_SASL_*`. */
  sasl?: KafkaSaslOptions;
}

export interface KafkaSettings {
  brokers: string[];
  /** The brokers, for logs and errors. */
  target: string;
  /** The client id given (option or HERALD_CLIENT_ID); each role has its own default. */
  clientId: string | undefined;
  timeoutMs: number;
  /** How long a call may go unanswered before it fails: the client's timeout, a retry, and room. */
  deadlineMs: number;
  autocreateTopics: boolean;
  compression: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
  compressionByDestination: Readonly<Record<string, 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd'>>;
  maxRequestBytes: number;
  partitioner: Partitioner;
  partitionerByType: Readonly<Record<string, Partitioner>>;
  sessionTimeoutMs: number;
  fetchMaxBytes: number;
  /** What every client of this transport is given to connect: TLS and SASL, when set. */
  connection: { tls?: TlsOptions; sasl?: KafkaSaslOptions };
}

/** Most bytes of one produce request unless `maxRequestBytes` says otherwise. */
export const defaultMaxRequestBytes = 900_000;

/** The producer's client id when none is given: the CLI's default. */
export const producerClientId = cliSettings.clientId.default;

/** HERALD_CLIENT_ID when it is set (its default is the producer's alone: a consumer is `herald-<group>`). */
const clientIdFromEnv = () => (process.env[cliSettings.clientId.env] ? settingFromEnv('clientId') : undefined);

/**
 * Checks every option once, at creation; each error names the option. Brokers and the client id
 * left out are read from KAFKA_BROKERS and HERALD_CLIENT_ID, as `herald relay` reads them.
 */
export function kafkaSettings(options: KafkaOptions): KafkaSettings {
  checkObject(options as unknown);
  const brokers = options.brokers === undefined ? settingFromEnv('brokers') : hostPortList('brokers', options.brokers);
  if (!brokers) throw missingSetting('brokers', 'host:port list, or one comma-separated string (or set KAFKA_BROKERS)');
  const timeoutMs = integerSetting('timeoutMs', options.timeoutMs, 100, 600_000, 10_000);
  return {
    brokers,
    target: brokers.join(','),
    clientId: textSetting('clientId', options.clientId, { max: 255 }) ?? clientIdFromEnv(),
    timeoutMs,
    deadlineMs: timeoutMs * 2 + 1000,
    autocreateTopics: booleanSetting('autocreateTopics', options.autocreateTopics, true),
    compression: oneOf('compression', options.compression, ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const, 'none'),
    compressionByDestination: compressionByDestination(options.compressionByDestination),
    maxRequestBytes: integerSetting(
      'maxRequestBytes',
      options.maxRequestBytes,
      1024,
      104_857_600,
      defaultMaxRequestBytes,
    ),
    partitioner: checkPartitioner('partitioner', options.partitioner),
    partitionerByType: checkPartitionerByType(options.partitionerByType),
    sessionTimeoutMs: integerSetting('sessionTimeoutMs', options.sessionTimeoutMs, 1_000, 3_600_000, 10_000),
    fetchMaxBytes: integerSetting('fetchMaxBytes', options.fetchMaxBytes, 1024, 104_857_600, 1_048_576),
    connection: { ...tlsSettings(options.tls), ...saslSettings(options.sasl) },
  };
}

const compressions = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

function compressionByDestination(value: unknown): KafkaSettings['compressionByDestination'] {
  if (value === undefined) return {};
  checkObject(value, 'compressionByDestination');
  const out: Record<string, (typeof compressions)[number]> = {};
  for (const [topic, codec] of Object.entries(value)) {
    checkDestination(topic, 'compressionByDestination');
    out[topic] = oneOf(`compressionByDestination.${topic}`, codec, compressions, 'none');
  }
  return out;
}
