import { settings, type TransportName } from '../config/settings.ts';
import { HeraldError } from '../errors.ts';
import { kafka } from '../transports/kafka/index.ts';
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
] as const;

export interface TransportSettings {
  transport: TransportName;
  brokers: string[] | undefined;
  brokerUrl: string | undefined;
  groups: string[] | undefined;
  clientId: string;
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

/** The transport the CLI's settings name; each one's own checks name a bad value. */
export function transportFrom(config: TransportSettings): Transport {
  const { brokerUrl, groups } = config;
  switch (config.transport) {
    case 'kafka':
      if (!config.brokers) throw required('brokers', 'kafka');
      return kafka({ brokers: config.brokers, clientId: config.clientId });
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
