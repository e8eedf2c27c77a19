import { type KafkaSaslMechanism, settings, type TransportName } from '../config/settings.ts';
import { HeraldError } from '../errors.ts';
import { type KafkaOptions, type KafkaSaslOptions, kafka } from '../transports/kafka/index.ts';
import { nats } from '../transports/nats/index.ts';
import { postgres } from '../transports/postgres/index.ts';
import { rabbitmq } from '../transports/rabbitmq/index.ts';
import { sqs } from '../transports/sqs/index.ts';
import type { Transport } from '../transports/transport.ts';

/** The settings `transportFrom` reads: every command that publishes takes these. */
export const transportKeys = [
  'databaseUrl',
  'schema',
  'transport',
  'brokers',
  'brokerUrl',
  'groups',
  'clientId',
  'kafkaTls',
  'kafkaCaFile',
  'kafkaSaslMechanism',
  'kafkaSaslUsername',
  'kafkaSaslPassword',
] as const;

export interface TransportSettings {
  transport: TransportName;
  brokers: string[] | undefined;
  brokerUrl: string | undefined;
  groups: string[] | undefined;
  clientId: string;
  kafkaTls?: boolean | undefined;
  kafkaCaFile?: string | undefined;
  kafkaSaslMechanism?: KafkaSaslMechanism | undefined;
  kafkaSaslUsername?: string | undefined;
  kafkaSaslPassword?: string | undefined;
  databaseUrl: string;
  schema: string;
}

const required = (key: 'brokers' | 'brokerUrl', transport: string) => {
  const s = settings[key];
  return new HeraldError(
    'HERALD_INVALID_CONFIG',
    `--${s.flag} / ${s.env} is required with --transport ${transport}: ${s.description}`,
    { details: { setting: s.env } },
  );
};

/** TLS and SASL from the flags (each falls back to its variable, as resolveSettings reads them). */
function kafkaSecurity(config: TransportSettings): Pick<KafkaOptions, 'tls' | 'sasl'> {
  const { kafkaTls, kafkaCaFile, kafkaSaslMechanism: mechanism } = config;
  const tls = kafkaCaFile ? { caFile: kafkaCaFile } : kafkaTls;
  // A user name or password left out is named by kafka()'s own check.
  const sasl = mechanism && { mechanism, username: config.kafkaSaslUsername, password: config.kafkaSaslPassword };
  return { ...(tls === undefined ? {} : { tls }), ...(sasl ? { sasl: sasl as KafkaSaslOptions } : {}) };
}

/** The transport the CLI's settings name; each one's own checks name a bad value. */
export function transportFrom(config: TransportSettings): Transport {
  const { brokerUrl, groups } = config;
  switch (config.transport) {
    case 'kafka':
      if (!config.brokers) throw required('brokers', 'kafka');
      return kafka({ brokers: config.brokers, clientId: config.clientId, ...kafkaSecurity(config) });
    case 'rabbitmq':
      if (!brokerUrl) throw required('brokerUrl', 'rabbitmq');
      return rabbitmq({ url: brokerUrl, ...(groups ? { groups } : {}) });
    case 'nats':
      if (!brokerUrl) throw required('brokerUrl', 'nats');
      return nats({ servers: brokerUrl });
    case 'sqs':
      if (!brokerUrl) throw required('brokerUrl', 'sqs');
      return sqs({ endpoint: brokerUrl, ...(groups ? { groups } : {}) });
    case 'postgres':
      return postgres({ db: brokerUrl ?? config.databaseUrl, schema: config.schema });
  }
}
