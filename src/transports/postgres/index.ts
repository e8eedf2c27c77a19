import { transportOf } from '../adapter.ts';
import type { Transport } from '../transport.ts';
import { createBrokerClient } from './client.ts';
import { type PostgresTransportOptions, postgresSettings } from './options.ts';
import { createPublisher } from './publish.ts';
import { createSubscriber } from './subscribe.ts';

export type { PostgresTransportOptions } from './options.ts';

/**
 * PostgreSQL as the broker: topics of ordered partitions in a table of the herald schema, each
 * consumer group's position per partition beside it. With the PGlite store from `herald/pglite`
 * it needs no server at all (the embedded default). Headers keep Kafka's `ce_` names. See
 * docs/postgres.md.
 */
export function postgres(options: PostgresTransportOptions = {}): Transport {
  const settings = postgresSettings(options);
  const client = createBrokerClient(settings);
  const publisher = createPublisher(settings, client);
  const subscriber = createSubscriber(settings, client);
  return transportOf('postgres', {
    describe: () => `postgres:${client.open().target}/${settings.schema}`,
    publisher,
    subscribe: (subscription) => subscriber.subscribe(subscription),
    async close() {
      subscriber.close();
      await publisher.close();
    },
  });
}
