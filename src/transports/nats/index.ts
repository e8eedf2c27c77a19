import { transportOf } from '../adapter.ts';
import type { Transport } from '../transport.ts';
import { type NatsOptions, natsSettings } from './options.ts';
import { createPublisher } from './publish.ts';
import { createSubscriber } from './subscribe.ts';

export type { NatsOptions } from './options.ts';

/**
 * NATS JetStream through @nats-io/transport-node and @nats-io/jetstream. A destination is a
 * stream (`orders.created` -> stream `orders_created`) with one subject per partition
 * (`orders.created.0` ...); a message goes to the partition of its key (FNV-1a), with its event id
 * as Nats-Msg-Id so the server drops a re-publish inside the stream's duplicate window. Each
 * partition is published in order, one PubAck at a time; partitions go side by side. A group is
 * read by the member holding its lease (see lease.ts). See docs/nats.md.
 */
export function nats(options: NatsOptions): Transport {
  const settings = natsSettings(options);
  return transportOf('nats', {
    describe: () => settings.target,
    publisher: createPublisher(settings),
    subscribe: createSubscriber(settings),
  });
}
