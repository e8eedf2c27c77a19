import { hostPortList, invalidSetting, missingSetting } from './check.ts';
import { parseKeep } from './keep.ts';
import { checkGroup, checkIdentifier, checkTopicPrefix } from './names.ts';

/**
 * Every setting of Herald with its CLI flag and environment variable. The CLI reads flags, then
 * the variables; the factories (`createRelay`, `createConsumer`, `kafka()`, …) read the same
 * variables for what their options leave out (`settingFromEnv`), so a service configured by its
 * environment behaves as `herald relay` does. The CLI reference in docs/cli.md is generated from
 * this table (`npm run docs`), so it cannot drift.
 */
export const transportNames = ['kafka', 'rabbitmq', 'nats', 'sqs', 'postgres'] as const;
export type TransportName = (typeof transportNames)[number];
export const kafkaSaslMechanisms = ['SCRAM-SHA-256', 'SCRAM-SHA-512', 'PLAIN'] as const;
export type KafkaSaslMechanism = (typeof kafkaSaslMechanisms)[number];

export interface Setting<T> {
  flag: string;
  env: string;
  description: string;
  required?: boolean;
  default?: T;
  parse(raw: string, name: string): T;
}

const invalid = (name: string, raw: string, rule: string) => invalidSetting(name, rule, raw);

const text = (raw: string) => raw;
const integer = (min: number, max: number) => (raw: string, name: string) => {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || n < min || n > max)
    throw invalid(name, raw, `must be an integer from ${min} to ${max}`);
  return n;
};
const postgresUrl = (raw: string, name: string) => {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalidSetting(name, 'is not a URL like postgres://user@host:5432/db');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw invalid(name, `${url.protocol}//…`, 'must start with postgres:// or postgresql://');
  }
  return raw;
};

export const settings = {
  databaseUrl: {
    flag: 'database-url',
    env: 'DATABASE_URL',
    required: true,
    description: 'PostgreSQL connection string',
    parse: postgresUrl,
  },
  schema: {
    flag: 'schema',
    env: 'HERALD_SCHEMA',
    default: 'herald',
    description: "Schema that holds Herald's tables",
    parse: (raw: string, name: string) => {
      try {
        return checkIdentifier(raw);
      } catch {
        throw invalid(name, raw, 'must be a lower-case SQL identifier');
      }
    },
  },
  transport: {
    flag: 'transport',
    env: 'HERALD_TRANSPORT',
    default: 'kafka' as const,
    description: 'Broker to publish to: kafka, rabbitmq, nats, sqs or postgres',
    parse: (raw: string, name: string) => {
      if (!transportNames.includes(raw as TransportName)) {
        throw invalid(name, raw, `must be one of ${transportNames.join(', ')}`);
      }
      return raw as TransportName;
    },
  },
  brokers: {
    flag: 'brokers',
    env: 'KAFKA_BROKERS',
    description: 'Kafka bootstrap brokers, host:port[,host:port] (required with --transport kafka)',
    parse: (raw: string, name: string) => hostPortList(name, raw),
  },
  brokerUrl: {
    flag: 'broker-url',
    env: 'HERALD_BROKER_URL',
    description:
      'Where the broker is for the other transports: amqp://… (rabbitmq), host:port[,host:port] (nats), http://… (sqs endpoint), postgres://… (postgres; default --database-url)',
    parse: text,
  },
  groups: {
    flag: 'groups',
    env: 'HERALD_GROUPS',
    description: 'Consumer groups whose queues the publisher declares (rabbitmq, sqs), comma-separated',
    parse: (raw: string, name: string) =>
      raw
        .split(',')
        .map((g) => g.trim())
        .filter(Boolean)
        .map((g) => checkGroup(g, name)),
  },
  topicPrefix: {
    flag: 'topic-prefix',
    env: 'HERALD_TOPIC_PREFIX',
    description: 'Topic for events without a destination: <prefix>.<type> (the type alone if unset)',
    parse: (raw: string, name: string) => {
      try {
        return checkTopicPrefix(raw, name) as string;
      } catch {
        throw invalid(name, raw, 'must be 1-249 of A-Z a-z 0-9 . _ -');
      }
    },
  },
  batchSize: {
    flag: 'batch-size',
    env: 'HERALD_BATCH_SIZE',
    default: 1000,
    description: 'Events read and published per round trip',
    parse: integer(1, 100_000),
  },
  pollIntervalMs: {
    flag: 'poll-interval-ms',
    env: 'HERALD_POLL_INTERVAL_MS',
    default: 50,
    description: 'Longest wait between reads of the log when idle (polls back off from 1 ms to this)',
    parse: integer(1, 3_600_000),
  },
  source: {
    flag: 'source',
    env: 'HERALD_RELAY_SOURCE',
    default: 'polling' as const,
    description: 'polling (reads the log) or cdc (streams it from a logical replication slot; wal_level=logical)',
    parse: (raw: string, name: string) => {
      if (raw !== 'polling' && raw !== 'cdc') throw invalid(name, raw, 'must be polling or cdc');
      return raw as 'polling' | 'cdc';
    },
  },
  replicationUrl: {
    flag: 'replication-url',
    env: 'HERALD_REPLICATION_URL',
    description: 'With --source cdc: the replication connection (a role with REPLICATION); default the database URL',
    parse: postgresUrl,
  },
  cursorIntervalMs: {
    flag: 'cursor-interval-ms',
    env: 'HERALD_CURSOR_INTERVAL_MS',
    default: 100,
    description:
      "How often positions are saved while publishing: the cursors, and the CDC slot's acknowledgement (also before leases move and at stop)",
    parse: integer(0, 60_000),
  },
  maxAttempts: {
    flag: 'max-attempts',
    env: 'HERALD_MAX_ATTEMPTS',
    default: 10,
    description: 'Attempts for an event the broker refuses before it is dead-lettered',
    parse: integer(1, 1_000),
  },
  onFailure: {
    flag: 'on-failure',
    env: 'HERALD_ON_FAILURE',
    default: 'dead-letter' as const,
    description: 'dead-letter (record it and move on) or block (retry until an operator acts)',
    parse: (raw: string, name: string) => {
      if (raw !== 'dead-letter' && raw !== 'block') throw invalid(name, raw, 'must be dead-letter or block');
      return raw as 'dead-letter' | 'block';
    },
  },
  leaseMs: {
    flag: 'lease-ms',
    env: 'HERALD_LEASE_MS',
    default: 5000,
    description: 'Shard lease length: a relay that dies is replaced after about this long',
    parse: integer(250, 600_000),
  },
  retentionDays: {
    flag: 'retention-days',
    env: 'HERALD_RETENTION_DAYS',
    default: 7,
    description:
      'Days the log is kept for replay; daily partitions older than that are dropped once published (0: never)',
    parse: integer(0, 3650),
  },
  keep: {
    flag: 'keep',
    env: 'HERALD_KEEP',
    description:
      "Event types kept past retention in the archive: type=days or type=forever, comma-separated ('*': every other type)",
    parse: parseKeep,
  },
  kafkaTls: {
    flag: 'kafka-tls',
    env: 'KAFKA_TLS',
    description: 'Connect to Kafka over TLS: true or false (true when --kafka-ca-file is given)',
    parse: (raw: string, name: string) => {
      if (raw !== 'true' && raw !== 'false') throw invalid(name, raw, 'must be true or false');
      return raw === 'true';
    },
  },
  kafkaCaFile: {
    flag: 'kafka-ca-file',
    env: 'KAFKA_CA_FILE',
    description: "PEM file of the CA(s) that signed the Kafka brokers' certificates (default: the system's)",
    parse: text,
  },
  kafkaSaslMechanism: {
    flag: 'kafka-sasl-mechanism',
    env: 'KAFKA_SASL_MECHANISM',
    description: 'SASL mechanism for Kafka: SCRAM-SHA-256, SCRAM-SHA-512 or PLAIN (PLAIN only over TLS)',
    parse: (raw: string, name: string) => {
      if (!kafkaSaslMechanisms.includes(raw as KafkaSaslMechanism)) {
        throw invalid(name, raw, `must be one of ${kafkaSaslMechanisms.join(', ')}`);
      }
      return raw as KafkaSaslMechanism;
    },
  },
  kafkaSaslUsername: {
    flag: 'kafka-sasl-username',
    env: 'KAFKA_SASL_USERNAME',
    description: 'SASL user name for Kafka',
    parse: text,
  },
  kafkaSaslPassword: {
    flag: 'kafka-sasl-password',
    env: 'KAFKA_SASL_PASSWORD',
    description: 'SASL password for Kafka (prefer the variable: flags show in ps)',
    parse: text,
  },
  clientId: {
    flag: 'client-id',
    env: 'HERALD_CLIENT_ID',
    default: 'herald-relay',
    description: 'Kafka client id',
    parse: text,
  },
  http: {
    flag: 'http',
    env: 'HERALD_HTTP',
    description: 'Serve /healthz, /readyz and /metrics on HOST:PORT (metrics with prom-client installed)',
    parse: (raw: string, name: string) => {
      const [address] = hostPortList(name, raw);
      if (raw.includes(',')) throw invalid(name, raw, 'must be one host:port');
      const colon = (address as string).lastIndexOf(':');
      const port = Number((address as string).slice(colon + 1));
      if (port > 65_535) throw invalid(name, raw, 'must have a port from 0 to 65535');
      return { host: (address as string).slice(0, colon).replace(/^\[|\]$/g, ''), port };
    },
  },
  httpToken: {
    flag: 'http-token',
    env: 'HERALD_HTTP_TOKEN',
    description: 'Bearer token the --http endpoints require (none when unset)',
    parse: text,
  },
  adminToken: {
    flag: 'admin-token',
    env: 'HERALD_ADMIN_TOKEN',
    description:
      'Bearer token of the admin API (/api/) with the admin role: also retries, discards, replays (8+ characters; prefer the variable, flags show in ps)',
    parse: text,
  },
  readToken: {
    flag: 'read-token',
    env: 'HERALD_READ_TOKEN',
    description: 'Bearer token of the admin API with the read-only role (8+ characters)',
    parse: text,
  },
  logLevel: {
    flag: 'log-level',
    env: 'HERALD_LOG_LEVEL',
    default: 'info' as const,
    description: 'debug, info, warn, error or silent',
    parse: (raw: string, name: string) => {
      if (!['debug', 'info', 'warn', 'error', 'silent'].includes(raw))
        throw invalid(name, raw, 'must be debug, info, warn, error or silent');
      return raw as 'debug' | 'info' | 'warn' | 'error' | 'silent';
    },
  },
} satisfies Record<string, Setting<unknown>>;

type Settings = typeof settings;
export type Resolved<K extends keyof Settings> = {
  [P in K]:
    | ReturnType<Settings[P]['parse']>
    | (Settings[P] extends { required: true } ? never : Settings[P] extends { default: infer D } ? D : undefined);
};

/** Flags win over environment variables; the error names the flag and the variable. */
export function resolveSettings<K extends keyof Settings>(
  keys: readonly K[],
  flags: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
): Resolved<K> {
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const s = settings[key] as Setting<unknown>;
    const fromFlag = flags[s.flag];
    const raw = typeof fromFlag === 'string' ? fromFlag : env[s.env];
    const name = `--${s.flag} / ${s.env}`;
    if (raw === undefined || raw === '') {
      if (s.required) {
        throw missingSetting(name, s.description);
      }
      out[key] = s.default;
      continue;
    }
    out[key] = s.parse(raw, name);
  }
  return out as Resolved<K>;
}

/**
 * A setting from its environment variable (parsed and checked as the CLI does), else its default;
 * undefined when neither is there. How a factory fills an option its caller left out.
 */
export function settingFromEnv<K extends keyof Settings>(
  key: K,
  env: NodeJS.ProcessEnv = process.env,
): Resolved<K>[K] | undefined {
  const s = settings[key] as Setting<unknown>;
  const raw = env[s.env];
  if (raw === undefined || raw === '') return s.default as Resolved<K>[K] | undefined;
  return s.parse(raw, s.env) as Resolved<K>[K];
}
